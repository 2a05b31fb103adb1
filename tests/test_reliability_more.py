"""Faults of the second round, each injected for real (servers on 127.0.0.1, links, FIFOs): secrets
echoed in other spellings, escape codes from a feed, a fetch queued behind slow pages, entries that
cannot be read now, IPv6 forms that hide a private address, settings that are wrong but allowed.
Every output of these tests is checked for secrets by `no_leaks` (conftest.py)."""
from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest

from conftest import LEAK_API_KEY, LEAK_PASSWORD, LEAK_TOKEN, REPO, write_articles
from citebot.index.config import FetchConfig
from citebot.index.sources.addresses import AddressRefused, FetchError
from citebot.index.sources.fetch import Fetcher, check_address
from local_site import LocalSite, page, rss

pytestmark = pytest.mark.usefixtures("no_leaks")

ESCAPES = ("\x1b", "\x07", "\x9b", "\x9d", "[2J", "]0;", "]52;")


def _no_escapes(text: str) -> bool:
    return not any(e in text for e in ESCAPES)


@pytest.fixture
def site():
    s = LocalSite().start()
    yield s
    s.stop()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- secrets in every spelling -------------------------------------------------------------------

def test_every_spelling_of_a_secret_is_scrubbed():
    from citebot.bot import redact

    redact.register(LEAK_TOKEN)
    redact.register(LEAK_API_KEY)
    digits, secret = LEAK_TOKEN.split(":")
    for echoed in (LEAK_TOKEN, f"{digits}%3A{secret}", f"{digits}%3a{secret}", f"{digits}%253A{secret}",
                   f"{digits}&#58;{secret}", f"{digits}\\u003a{secret}", quote(LEAK_API_KEY, safe=""),
                   "987654321%3AAAHneverRegisteredButShapedLikeAToken_x"):
        line = redact.scrub(f"Cannot POST /bot{echoed}/getMe")
        assert line == "Cannot POST /bot[secret]/getMe", line
    assert redact.scrub(f"GET http://admin:{LEAK_PASSWORD}@qdrant.local:6333/collections") == \
        "GET http://qdrant.local:6333/collections"
    assert redact.safe_url(f"https://admin:{LEAK_PASSWORD}@proxy.local:8081/bot") == "https://proxy.local:8081/bot"


def test_library_log_records_are_scrubbed_on_the_root_handlers(caplog):
    """python-telegram-bot, httpx or any library logs through the root handlers; the filter there
    scrubs message, arguments and traceback before any formatter sees them."""
    from citebot.bot import redact

    redact.register(LEAK_TOKEN)
    redact.install_filter()  # caplog's handler is on the root logger now
    digits, secret = LEAK_TOKEN.split(":")
    with caplog.at_level(logging.INFO):
        logging.getLogger("telegram.request.BaseRequest").error(
            'Can not load invalid JSON data: "%s"', f"<pre>Cannot POST /bot{digits}%3A{secret}/getUpdates</pre>")
        logging.getLogger("httpx").info("HTTP Request: POST %s", f"http://admin:{LEAK_PASSWORD}@api.local/bot{LEAK_TOKEN}/x")
        try:
            raise RuntimeError(f"boom at /bot{LEAK_TOKEN}/getMe")
        except RuntimeError:
            logging.getLogger("qdrant_client").exception("failed")
    assert caplog.text.count("[secret]") >= 3 and "admin" not in caplog.text


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory):
    from citebot.index.building import build
    from citebot.index.config import IndexConfig
    from citebot.index.encoders.factory import load_encoder

    tmp = tmp_path_factory.mktemp("bot")
    src = write_articles(tmp / "src", {"a.json": {"id": "a", "title": "Kite day", "text": "Kites flew on Sunday."}})
    cfg = IndexConfig(index_dir=tmp / "index")
    build([src], cfg, load_encoder(), on_problem=print)
    return cfg.index_dir


def _bot(index_dir, api_url: str, cwd, **settings) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
    env.update(HF_HUB_OFFLINE="1", CITEBOT_TELEGRAM_TOKEN=LEAK_TOKEN, CITEBOT_TELEGRAM_API_URL=api_url,
               CITEBOT_INDEX_DIR=str(index_dir), PYTHONPATH=str(REPO),
               **{f"CITEBOT_{k.upper()}": v for k, v in settings.items()})
    proc = subprocess.run([sys.executable, "-m", "citebot", "bot"], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


class _EchoingProxy:
    """A proxy in front of the Bot API that answers every call with an HTML page quoting the
    request path percent-encoded, as nginx or Express do ("Cannot POST /bot123%3AAA...")."""

    def __init__(self, status: int):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self) -> None:
                body = f"<html><body><pre>Cannot POST {quote(self.path)}</pre></body></html>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/bot"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _problem_lines(output: str) -> list[str]:
    """What the bot printed beyond its INFO log lines."""
    return [ln for ln in output.splitlines() if ln.strip() and " INFO " not in ln]


@pytest.mark.parametrize("status", [502, 200])
def test_a_bot_api_answering_html_that_echoes_the_token_is_one_line_without_it(tiny_index, tmp_path, no_leaks,
                                                                              status):
    proxy = _EchoingProxy(status)
    try:
        code, output = _bot(tiny_index, proxy.url, tmp_path)
    finally:
        proxy.stop()
    no_leaks.add(output)
    lines = _problem_lines(output)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:"), output
    assert "CITEBOT_TELEGRAM_API_URL" in lines[0] and "Traceback" not in output
    assert "Can not load invalid JSON" not in output and "<html>" not in output


def test_a_password_in_the_bot_api_url_is_never_printed(tiny_index, tmp_path, no_leaks):
    port = _closed_port()
    code, output = _bot(tiny_index, f"http://admin:{LEAK_PASSWORD}@127.0.0.1:{port}/bot", tmp_path)
    no_leaks.add(output)
    assert code == 2 and f"cannot reach the Telegram Bot API at http://127.0.0.1:{port}/bot" in output
    assert "admin" not in output


def test_a_password_in_the_qdrant_url_is_never_printed(cli, no_leaks):
    port = _closed_port()
    env = {"CITEBOT_STORE": "qdrant", "CITEBOT_QDRANT_URL": f"http://admin:{LEAK_PASSWORD}@127.0.0.1:{port}",
           "CITEBOT_QDRANT_API_KEY": LEAK_API_KEY}
    for args in (("index", "status"), ("ask", "When did the kites fly?")):
        code, out, err = cli(*args, env=env)
        assert code != 0 and f"127.0.0.1:{port}" in err and "admin" not in err + out, err
        assert "Traceback" not in err


def test_a_busy_webhook_port_is_one_line_and_leaves_no_pending_task(tiny_index, tmp_path, no_leaks):
    from fake_bot_api import FakeBotAPI

    api = FakeBotAPI(LEAK_TOKEN).start()
    try:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            code, output = _bot(tiny_index, api.base_url, tmp_path, telegram_webhook_url="https://x.invalid/telegram",
                                telegram_webhook_port=str(busy.getsockname()[1]))
    finally:
        api.stop()
    no_leaks.add(output)
    assert code == 2 and "Task was destroyed" not in output and "pending" not in output, output
    assert len(_problem_lines(output)) == 1 and "cannot listen for the webhook" in output


def test_the_webhook_test_waits_for_the_server_to_listen():
    """The race of test_telegram_webhook.py, injected: the server listens only after a while; the
    readiness poll waits for it instead of posting into a refused connection."""
    from test_telegram_webhook import wait_listening

    port = _closed_port()
    late = socket.socket()

    def listen_later() -> None:
        time.sleep(0.5)
        late.bind(("127.0.0.1", port))
        late.listen()

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    t = threading.Thread(target=listen_later)
    t.start()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        wait_listening(port, proc, timeout=10)
    finally:
        proc.kill()
        proc.wait()
        t.join()
        late.close()


# --- control characters from outside -------------------------------------------------------------

def test_escape_sequences_go_whole_and_text_keeps_its_shape():
    from citebot.index.text.controls import one_line, strip_controls

    assert strip_controls("Harbour \x1b[2Jnews") == "Harbour news"
    assert strip_controls("Evil\x1b]0;pwned\x07 Post") == "Evil Post"
    assert strip_controls("clip\x1b]52;c;ZXZpbA==\x1b\\board") == "clipboard"
    assert strip_controls("c1\x9b31mred\x9d0;title\x9c ok\x85") == "c1red ok"
    assert strip_controls("lines\nand\ttabs stay\x00\x7f") == "lines\nand\ttabs stay"
    assert one_line("  a title\n\twith\r breaks ") == "a title with breaks"


def test_escape_codes_in_a_feed_reach_neither_the_index_nor_the_terminal(cli, site, tmp_path):
    from citebot.index.stores.local.reader import open_current

    item = site.put("/harbour.html", page("Harbour \x1b[2Jmoorings", [
        "The harbour board agreed twelve new moorings on Monday, after a long debate.",
        "Work on the moorings starts in the spring, the board said."],
        date="2026-03-02", author="Ann\x1b]52;c;ZXZpbA==\x07 Lee", site="Bay\x9b31m Post"))
    feed = site.put("/feed.xml", rss("Bay \x1b]0;pwned\x07News\x1b[2J", site.url("/"),
                                     [{"title": "Moorings\x1b[31m agreed", "link": item,
                                       "date": "Mon, 02 Mar 2026 09:00:00 GMT"}]).encode(),
                    content_type="application/rss+xml")
    env = {"CITEBOT_FETCH_ALLOW_PRIVATE": "1"}
    code, out, err = cli("index", "add", feed, env=env)
    assert code == 0, err
    assert "Bay News" in out and _no_escapes(out + err), out
    code, out, err = cli("index", "sources", env=env)
    assert code == 0 and "Bay News" in out and _no_escapes(out + err)
    code, out, err = cli("ask", "How many new moorings did the harbour board agree?", "--json", env=env)
    result = json.loads(out)["results"][0]
    assert _no_escapes(json.dumps(result, ensure_ascii=False)) and "twelve" in result["extract"]
    reader = open_current(tmp_path / "index")
    try:
        art = reader.article(next(iter(reader.articles().values())).rowid)
    finally:
        reader.close()
    assert all(_no_escapes(v or "") for v in (art.title, art.author, art.source, art.url)), art


def test_a_server_error_text_loses_its_control_characters(site):
    site.put("/evil", "x", content_type="application/x-\x1b]0;pwned\x07evil")
    with Fetcher(FetchConfig(allow_private=True, timeout_s=5)) as f, pytest.raises(FetchError) as caught:
        f.get(site.url("/evil"), accept=frozenset({"text/html"}))
    assert _no_escapes(str(caught.value))
    assert _no_escapes(str(FetchError("HTTP 500: \x1b[2Jcleared")))


def test_only_http_links_become_links_in_telegram():
    from citebot.bot.telegram.rendering import citation_html
    from citebot.index.records import Hit

    hit = Hit("a", 1, "Moorings \x1b[2Jagreed", "Bay\x1b]0;pwned\x07 Post", "javascript:alert(document.cookie)",
              "2026-03-02", "a.json", 1.0, "The board agreed.", 0, 17)
    line = citation_html(hit)
    assert "<a " not in line and _no_escapes(line) and "Bay Post" in line
    hit.url = "https://bay.example/moorings"
    assert '<a href="https://bay.example/moorings">link</a>' in citation_html(hit)


# --- the fetcher's clocks ------------------------------------------------------------------------

def _fetch_in_thread(fetcher: Fetcher, url: str, results: dict) -> threading.Thread:
    def run() -> None:
        try:
            results[url] = fetcher.get(url).status
        except FetchError as e:
            results[url] = str(e)

    t = threading.Thread(target=run)
    t.start()
    return t


def _wait_until(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_quick_page_queued_behind_slow_ones_is_not_timed_out(site):
    """Two pages of one host that take 1.2 s each hold its only slot; a page answered at once,
    queued behind them for 2.4 s, is within its 2 s timeout: the clock starts with its request."""
    site.put("/robots.txt", "", status=404)
    slow = [site.put(f"/slow{i}.html", page("Slow", ["slow"]), delay=1.2) for i in range(2)]
    quick = site.put("/quick.html", page("Quick", ["quick"]))
    results: dict = {}
    with Fetcher(FetchConfig(allow_private=True, timeout_s=2, per_host=1)) as f:
        threads = [_fetch_in_thread(f, slow[0], results)]
        _wait_until(lambda: site.hits("/slow0.html"))
        threads.append(_fetch_in_thread(f, slow[1], results))
        threads.append(_fetch_in_thread(f, quick, results))
        for t in threads:
            t.join(30)
    assert results == {slow[0]: 200, slow[1]: 200, quick: 200}, results


def test_the_wait_for_a_host_slot_has_its_own_bound(site):
    site.put("/robots.txt", "", status=404)
    slow = site.put("/slow.html", page("Slow", ["slow"]), delay=1.5)
    queued = site.put("/queued.html", page("Queued", ["queued"]))
    results: dict = {}
    with Fetcher(FetchConfig(allow_private=True, timeout_s=5, per_host=1, queue_timeout_s=0.3)) as f:
        first = _fetch_in_thread(f, slow, results)
        _wait_until(lambda: site.hits("/slow.html"))
        second = _fetch_in_thread(f, queued, results)
        second.join(10)
        first.join(10)
    assert results[slow] == 200
    assert "waited over 0.3 s for a free connection" in results[queued] and not site.hits("/queued.html")


# --- addresses -----------------------------------------------------------------------------------

@pytest.mark.parametrize("host", [
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::a9fe:a9fe",  # local-use NAT64 (RFC 8215)
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "::127.0.0.1",  # IPv4-compatible
    "::ffff:0:7f00:1",  # IPv4-translated
    "::ffff:10.1.2.3",  # IPv4-mapped
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
])
def test_ipv6_forms_that_embed_a_private_ipv4_are_refused(host):
    with pytest.raises(AddressRefused):
        check_address(host, 80, allow_private=False)


def test_ipv6_forms_that_embed_a_public_ipv4_pass():
    assert check_address("64:ff9b::808:808", 80, allow_private=False) == ["64:ff9b::808:808"]
    assert check_address("2606:4700:4700::1111", 80, allow_private=False)


def test_the_connection_goes_to_the_address_that_was_checked(site, monkeypatch):
    """DNS rebinding, injected: the name answers the address check with this machine's 127.0.0.1
    (where the site listens) and any later lookup with 127.0.0.2 (where nothing does). The fetch
    works and every lookup was the check's: the connection went to the address that was checked."""
    real = socket.getaddrinfo
    lookups = []

    def rebinding(host, *args, **kw):
        if host == "news.rebind.test":
            by_check = sys._getframe(1).f_code.co_name == "check_address"
            lookups.append(by_check)
            host = "127.0.0.1" if by_check else "127.0.0.2"
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = site.server.server_address[1]
    site.put("/a.html", page("A", ["text"]))
    with Fetcher(FetchConfig(allow_private=True, timeout_s=5)) as f:
        resp = f.get(f"http://news.rebind.test:{port}/a.html")
    assert resp.status == 200 and resp.url == f"http://news.rebind.test:{port}/a.html"
    assert site.hits("/a.html")[0].headers["host"] == f"news.rebind.test:{port}"
    assert lookups == [True, True]  # robots.txt, then the page: the check's lookups only


# --- files that cannot be read now ----------------------------------------------------------------

def _story(i: int) -> dict:
    return {"id": f"s{i}", "title": f"Quay story {i}", "text": f"Story {i}: the quay was repaired on day {i}."}


def _indexed(index_dir) -> set[str]:
    from citebot.index.stores.local.reader import open_current

    reader = open_current(index_dir)
    try:
        return set(reader.articles())
    finally:
        reader.close()


def test_a_folder_of_dangling_links_keeps_its_articles(cli, tmp_path):
    volume = write_articles(tmp_path / "volume", {f"{i}.json": _story(i) for i in range(4)})
    links = tmp_path / "links"
    links.mkdir()
    for i in range(4):
        (links / f"{i}.json").symlink_to(volume / f"{i}.json")
    assert cli("index", "build", str(links))[0] == 0
    volume.rename(tmp_path / "unmounted")  # the links' target volume goes away
    code, out, err = cli("index", "update", str(links), "--json")
    assert code == 0 and json.loads(out)["removed"] == 0, out + err
    warnings = [ln for ln in err.splitlines() if "broken link" in ln]
    assert len(warnings) == 4 and all("indexed article(s) kept" in w for w in warnings)
    assert {f"{i}.json" for i in range(4)} == {w.split(": ")[1].rsplit("/", 1)[-1] for w in warnings}
    assert _indexed(tmp_path / "index") == {"s0", "s1", "s2", "s3"}
    (links / "3.json").unlink()  # a link truly removed: its article goes
    code, out, err = cli("index", "update", str(links), "--json")
    assert code == 0 and json.loads(out)["removed"] == 1 and _indexed(tmp_path / "index") == {"s0", "s1", "s2"}


def test_a_txt_replaced_by_a_fifo_keeps_its_articles(cli, tmp_path):
    src = write_articles(tmp_path / "src", {"a.txt": "Quay works\n\nThe quay was repaired on Monday.",
                                            "b.json": _story(1)})
    assert cli("index", "build", str(src))[0] == 0
    (src / "a.txt").unlink()
    os.mkfifo(src / "a.txt")
    code, out, err = cli("index", "update", str(src), "--json")
    assert code == 0 and json.loads(out)["removed"] == 0, err
    assert err.count("a.txt: not a regular file, skipped (its 1 indexed article(s) kept)") == 1
    assert _indexed(tmp_path / "index") == {"a.txt", "s1"}
    os.mkfifo(src / "new.txt")  # a FIFO that never gave an article is no article file: not a word
    code, out, err = cli("index", "update", str(src), "--json")
    assert code == 0 and "new.txt" not in err


def test_a_permission_error_keeps_its_articles(cli, tmp_path, monkeypatch):
    import citebot.index.sources.files as files

    src = write_articles(tmp_path / "src", {"a.json": _story(0), "b.json": _story(1)})
    assert cli("index", "build", str(src))[0] == 0
    os.utime(src / "a.json", (time.time() + 5, time.time() + 5))
    real = files.read_bytes

    def denied(path, limit=None):
        if os.path.basename(path) == "a.json":
            raise PermissionError(13, "Permission denied")
        return real(path, limit)

    monkeypatch.setattr(files, "read_bytes", denied)
    code, out, err = cli("index", "update", str(src), "--json")
    assert code == 0 and json.loads(out)["removed"] == 0
    assert err.count("a.json: Permission denied, skipped (its 1 indexed article(s) kept)") == 1


def _unlistable(monkeypatch, folder) -> None:
    """os.walk meets `folder` as a folder it may not list (root ignores chmod, so it is injected)."""
    real = os.walk

    def walk(top, onerror=None, **kw):
        for dirpath, dirnames, names in real(top, onerror=onerror, **kw):
            if os.path.abspath(dirpath) == str(folder):
                onerror(PermissionError(13, "Permission denied", str(folder)))
                dirnames[:] = []
                continue
            yield dirpath, dirnames, names

    monkeypatch.setattr(os, "walk", walk)


def test_a_folder_that_cannot_be_listed_keeps_its_articles(cli, tmp_path, monkeypatch):
    src = write_articles(tmp_path / "src", {"a.json": _story(0), "sub/b.json": _story(1), "sub/c.json": _story(2)})
    assert cli("index", "build", str(src))[0] == 0
    _unlistable(monkeypatch, src / "sub")
    code, out, err = cli("index", "update", str(src), "--json")
    assert code == 0 and json.loads(out)["removed"] == 0, err
    assert err.count("cannot list the folder (Permission denied), skipped (its 2 indexed article(s) kept)") == 1
    _unlistable(monkeypatch, src)  # the folder named itself
    code, out, err = cli("index", "update", str(src), "--json")
    assert code == 0 and json.loads(out)["removed"] == 0 and "cannot list the folder" in err
    assert _indexed(tmp_path / "index") == {"s0", "s1", "s2"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file whatever its mode")
def test_a_file_without_read_permission_keeps_its_articles(cli, tmp_path):
    src = write_articles(tmp_path / "src", {"a.json": _story(0), "b.json": _story(1)})
    assert cli("index", "build", str(src))[0] == 0
    (src / "a.json").chmod(0)
    os.utime(src / "a.json", (time.time() + 5, time.time() + 5))
    code, out, err = cli("index", "update", str(src), "--json")
    assert code == 0 and json.loads(out)["removed"] == 0 and "Permission denied" in err


# --- settings that are allowed but wrong ----------------------------------------------------------

def test_a_misspelled_setting_is_named_with_the_closest_one(cli):
    code, out, err = cli("index", "sources", env={"CITEBOT_KEEP_DAY": "5", "CITEBOT_TOPK": "3"})
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning: unknown setting")]
    assert len(warnings) == 1
    assert "CITEBOT_KEEP_DAY (did you mean CITEBOT_KEEP_DAYS?)" in warnings[0]
    assert "CITEBOT_TOPK (did you mean CITEBOT_TOP_K?)" in warnings[0]


def test_a_secret_file_others_can_read_gets_one_warning(cli, tmp_path):
    from citebot.bot.settings import load_settings
    from citebot.bot.telegram import read_token

    env_file = tmp_path / ".env"  # the tests run in tmp_path: this is the .env citebot reads
    env_file.write_text(f"CITEBOT_TELEGRAM_TOKEN={LEAK_TOKEN}\n")
    env_file.chmod(0o666)
    code, out, err = cli("index", "sources")
    assert [ln for ln in err.splitlines() if ".env" in ln] == [
        "warning: the settings file .env holds a secret and other users may read it (mode 0666): `chmod 600 .env`"]
    env_file.chmod(0o600)
    assert ".env" not in cli("index", "sources")[2]
    env_file.unlink()
    token_file = tmp_path / "token"
    token_file.write_text(LEAK_TOKEN)
    token_file.chmod(0o644)
    heard: list[str] = []
    assert read_token(load_settings(telegram_token_file=token_file), on_warning=heard.append) == LEAK_TOKEN
    assert len(heard) == 1 and "mode 0644" in heard[0]
    token_file.chmod(0o600)
    heard.clear()
    read_token(load_settings(telegram_token_file=token_file), on_warning=heard.append)
    assert heard == []


def test_index_add_of_a_url_that_is_not_a_feed_exits_nonzero(cli, site, tmp_path):
    src = write_articles(tmp_path / "src", {"a.json": _story(0)})
    assert cli("index", "build", str(src))[0] == 0
    env = {"CITEBOT_FETCH_ALLOW_PRIVATE": "1"}
    fake_feed = site.put("/rss", "<html><body>Our feed moved</body></html>", content_type="application/rss+xml")
    code, out, err = cli("index", "add", fake_feed, env=env)
    assert code == 1 and "not an RSS or Atom feed" in err and "could not be read" in err
    json_type = site.put("/api", '{"items": []}', content_type="application/json")
    code, out, err = cli("index", "add", json_type, str(src), "--json", env=env)
    assert code == 1 and "not a web page or feed" in err
    assert json.loads(out)["unresolved"] == [json_type]
    code, out, err = cli("index", "sources", "--json")
    assert [s["location"] for s in json.loads(out)] == [str(src)]  # neither was recorded
