"""The qdrant store keeps the local store's promises. Qdrant's local mode (`QdrantClient(path=...)`,
the same API as a server, in plain Python) stands in for a server: no server runs here."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest

from conftest import REPO, change_remove_add, write_articles, counts_of

pytest.importorskip("qdrant_client")

from citebot.index.config import IndexConfig, QdrantConfig  # noqa: E402
from citebot.index.stores import qdrant  # noqa: E402
from citebot.index.stores.base import StoreUnavailable  # noqa: E402
from citebot.index.stores.qdrant import connection as qdrant_connection  # noqa: E402
from citebot.index.stores.qdrant import reader as qdrant_reader  # noqa: E402
from citebot.index.stores.factory import open_store  # noqa: E402
from citebot.index.text.terms import stem  # noqa: E402

API_KEY = "qk-test-7f3a9c1e5b"
TOWNS = ["Wendford", "Ashcombe", "Brackley", "Carrow", "Dunmere", "Eastling", "Fallow", "Grimsby", "Hythe", "Ixworth"]


def _article(i: int, extra: str = "") -> dict:
    town = TOWNS[i % len(TOWNS)]
    return {"id": f"art-{i}", "title": f"{town} harbour", "published": f"2024-0{1 + i % 9}-15",
            "text": f"The {town} harbour board met on Monday. {extra}"
                    f"The board agreed {i + 2} new moorings for fishing boats. Residents of {town} welcomed it."}


@pytest.fixture(autouse=True)
def qdrant_env(monkeypatch, tmp_path):
    """Every command of a test runs on the qdrant store in a local-mode folder; the folder is let
    go afterwards (local mode lets one process hold it)."""
    monkeypatch.setenv("CITEBOT_STORE", "qdrant")
    monkeypatch.setenv("CITEBOT_QDRANT_PATH", str(tmp_path / "qdrant"))
    yield
    qdrant.close_connections()


def _cfg(tmp_path, collection: str = "citebot", **kw) -> IndexConfig:
    return IndexConfig(index_dir=tmp_path / "index", store="qdrant",
                       qdrant=QdrantConfig(path=tmp_path / "qdrant", collection=collection, **kw))


def _reader(tmp_path, collection: str = "citebot"):
    return open_store(_cfg(tmp_path, collection)).open()


def _snapshot(reader) -> dict:
    """What a reader serves, keyed by content (ids differ between stores, not between equal indexes)."""
    states = reader.articles()
    rows = reader.chunk_rows([cid for cid, _ in reader.dense_search(np.ones(384, dtype=np.float32), 1000)])
    out = {}
    for cid, row in rows.items():
        spans = [span for span, _ in reader.sentences([cid])[cid]]
        out[(row.article_id, row.position)] = (row.text, row.start, row.end, row.published, spans,
                                               reader.sentence_spans_around(row.article_rowid, row.position),
                                               reader.article_text(row.article_rowid),
                                               reader.article_gaps(row.article_rowid))
    return {"articles": {a: s.content_hash for a, s in states.items()}, "chunks": out,
            "bm25_moorings": len(reader.bm25_search([stem("moorings")], 100)),
            "df": reader.doc_freq([stem("moorings"), stem("harbour"), stem("vote")])}


def test_build_ask_and_status(cli, tmp_path):
    src = write_articles(tmp_path / "src", {f"{i}.json": _article(i) for i in range(3)})
    code, out, err = cli("index", "build", str(src))
    assert code == 0, err
    code, out, err = cli("ask", "How many moorings did the Ashcombe harbour board agree?", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["answer_found"] and answer["results"]
    top = answer["results"][0]
    assert top["article_id"] == "art-1" and "3 new moorings" in top["extract"]
    assert top["highlight"] == top["extract"][top["highlight_start"]:top["highlight_end"]]
    assert top["published"] == "2024-02-15"
    code, out, err = cli("index", "status", "--json")
    info = json.loads(out)
    assert info["store"] == "qdrant" and info["collection"] == "citebot" and info["generation"].startswith("citebot-")
    assert info["articles"] == 3 and info["chunks"] >= 3 and info["points"] > info["chunks"] and info["shards"] == 1
    code, out, err = cli("index", "status")
    assert "store:" in out and "qdrant" in out and "points:" in out and "shards:" in out
    code, out, err = cli("index", "check")
    assert code == 0 and "matches its manifest" in out, err


def test_the_same_answers_as_the_local_store(cli, tmp_path, encoder, monkeypatch):
    """Candidates, rows, sentences, term counts, periods and dates: what the answer path reads is
    the same on both stores, and so are its answers (asked twice: the reader's caches change nothing)."""
    from citebot.index.answer import Retriever

    src = write_articles(tmp_path / "src", {f"{i}.json": _article(i) for i in range(4)})
    assert cli("index", "build", str(src))[0] == 0
    assert cli("index", "build", str(src), env={"CITEBOT_STORE": "local"})[0] == 0
    q = _reader(tmp_path)
    local = open_store(IndexConfig(index_dir=tmp_path / "index")).open()
    assert _snapshot(q) == _snapshot(local)
    monkeypatch.setattr(qdrant_reader, "CACHED_CHUNKS", 1)
    fresh = _reader(tmp_path)
    ids = [cid for cid, _ in fresh.dense_search(np.ones(384, dtype=np.float32), 5)]
    assert len(fresh.chunk_rows(ids[:2])) == 2 and len(fresh.chunk_rows(ids)) == len(ids) == 4  # a full cache drops none
    retrievers = [Retriever(tmp_path / "index", encoder, store=open_store(cfg))
                  for cfg in (_cfg(tmp_path), IndexConfig(index_dir=tmp_path / "index"))]
    for question in ["How many moorings did the Ashcombe harbour board agree?", "Who welcomed it in Carrow?"] * 2:
        a, b = (r.answer(question) for r in retrievers)
        assert [(h.article_id, h.extract, h.highlight) for h in a.hits] == \
            [(h.article_id, h.extract, h.highlight) for h in b.hits]
        assert a.confidence == pytest.approx(b.confidence, abs=1e-6)
    terms = [stem("moorings"), stem("ashcombe"), stem("harbour")]
    scores = []
    for reader in (q, local):
        hits = reader.bm25_search(terms, 10)
        rows = reader.chunk_rows([cid for cid, _ in hits])
        scores.append({rows[cid].article_id: score for cid, score in hits})
    assert scores[0].keys() == scores[1].keys() == {"art-0", "art-1", "art-2", "art-3"}
    assert max(scores[0], key=scores[0].get) == max(scores[1], key=scores[1].get) == "art-1"
    for article_id, score in scores[0].items():
        assert score == pytest.approx(scores[1][article_id], rel=1e-3)
    for reader in (q, local):
        march = reader.chunks_in_period("2024-03-01", "2024-03-31")
        assert len(march) == 1
        assert {row.article_id for row in reader.chunk_rows(np.asarray(march)).values()} == {"art-2"}
        rowid = reader.articles()["art-2"].rowid
        assert [r[1:] for r in reader.article_chunks(rowid)] == [r[1:] for r in local.article_chunks(
            local.articles()["art-2"].rowid)]
        hits = reader.dense_search(np.ones(384, dtype=np.float32), 5, march)
        assert {reader.chunk_rows([cid])[cid].article_id for cid, _ in hits} == {"art-2"}
        assert not reader.dense_search(np.ones(384, dtype=np.float32), 5, reader.chunks_in_period("2023-01-01",
                                                                                                  "2023-12-31"))
    assert q.date_range() == local.date_range() == ("2024-01-15", "2024-04-15")
    assert q.copies(["art-0"]) == local.copies(["art-0"]) == {}
    assert q.latest_published() == local.latest_published() == "2024-04-15"


def test_update_one_changed_one_removed_one_added_equals_a_rebuild(cli, tmp_path):
    src = write_articles(tmp_path / "src", {f"{i}.json": _article(i) for i in range(3)})
    assert cli("index", "build", str(src))[0] == 0
    before = open_store(_cfg(tmp_path)).pointer()
    change_remove_add(src, _article)
    code, out, err = cli("index", "update", str(src), "--json")
    assert code == 0, err
    counts = json.loads(out)
    assert counts["added"] == counts["changed"] == counts["removed"] == counts["unchanged"] == 1
    after = open_store(_cfg(tmp_path)).pointer()
    assert after != before and after.split("#")[0] == before.split("#")[0]  # same collection: readers reopen
    assert cli("index", "build", str(src), env={"CITEBOT_QDRANT_COLLECTION": "fresh"})[0] == 0
    updated, rebuilt = _snapshot(_reader(tmp_path)), _snapshot(_reader(tmp_path, "fresh"))
    assert updated == rebuilt
    assert set(updated["articles"]) == {"art-0", "art-2", "art-9"}
    assert updated["bm25_moorings"] == 3 and updated["df"][stem("vote")] >= 1
    code, out, err = cli("index", "check")
    assert code == 0, err


KILLER = """
import os, signal, sys
from citebot.index.stores import qdrant
target, after = sys.argv[1], int(sys.argv[2])
calls = []
if target == "switch":
    qdrant.QdrantStore._switch = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
else:
    from citebot.index.stores.qdrant.writing import Writer
    apply = Writer.apply
    def dying(self, ops):
        if len(calls) == after:
            os.kill(os.getpid(), signal.SIGKILL)
        calls.append(1)
        apply(self, ops)
    Writer.apply = dying
from citebot.bot.cli import main
sys.argv = ["citebot", "index"] + sys.argv[3:]
main()
"""


def _killed(tmp_path, target: str, after: int, *args: str, env: dict | None = None) -> int:
    """Run `citebot index ARGS` in another process that kills itself (SIGKILL) at `target`."""
    qdrant.close_connections()  # local mode: one process holds the folder
    environ = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    proc = subprocess.run([sys.executable, "-c", KILLER, target, str(after), *args], env=environ, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    return proc.returncode


def _served(tmp_path) -> str:
    """The collection the alias names (a pointer is the collection and its revision)."""
    return open_store(_cfg(tmp_path)).pointer().split("#")[0]


def _collections(tmp_path) -> set[str]:
    store = open_store(_cfg(tmp_path))
    return set(store.collections())


def test_a_killed_build_leaves_the_alias_and_the_next_build_drops_the_orphan(cli, tmp_path):
    old = write_articles(tmp_path / "old", {f"{i}.json": _article(i) for i in range(2)})
    new = write_articles(tmp_path / "new", {"7.json": _article(7)})
    assert cli("index", "build", str(old))[0] == 0
    served = _served(tmp_path)
    assert _killed(tmp_path, "switch", 0, "build", str(new)) == -signal.SIGKILL
    assert _served(tmp_path) == served
    assert len(_collections(tmp_path)) == 2  # the served one and the orphan
    assert set(_reader(tmp_path).articles()) == {"art-0", "art-1"}
    code, out, err = cli("ask", "How many moorings did the Ashcombe harbour board agree?", "--json")
    assert code == 0 and json.loads(out)["results"][0]["article_id"] == "art-1"
    assert cli("index", "build", str(new))[0] == 0
    now = _served(tmp_path)
    assert now != served and _collections(tmp_path) == {served, now}  # the orphan went; the previous stays
    assert set(_reader(tmp_path).articles()) == {"art-7"}


def test_a_killed_update_leaves_each_article_whole_and_a_rerun_completes_it(cli, tmp_path):
    src = write_articles(tmp_path / "src", {f"{i}.json": _article(i) for i in range(3)})
    assert cli("index", "build", str(src))[0] == 0
    change_remove_add(src, _article)
    # one article per request; killed after the first (art-0's new version) went in
    small = {"CITEBOT_QDRANT_BATCH_SIZE": "1"}
    assert _killed(tmp_path, "apply", 1, "update", str(src), env=small) == -signal.SIGKILL
    reader = _reader(tmp_path)
    states = reader.articles()
    assert set(states) == {"art-0", "art-1", "art-2"}  # art-9 not yet, art-1 not yet gone
    for article_id, state in states.items():  # each article wholly one version: its chunks and its text
        chunks = [p.payload for p in reader.scroll(qdrant.chunks_of([state.rowid]), payload=["article_id", "text"])]
        assert chunks and all(c["article_id"] == article_id for c in chunks)
        assert all(c["text"] in reader.article_text(state.rowid) for c in chunks)
        others = [p for p in reader.scroll(qdrant.kind_filter(qdrant.CHUNK), payload=["article_id", "article_rowid"])
                  if p.payload["article_id"] == article_id and p.payload["article_rowid"] != state.rowid]
        assert not others
    assert "The vote was close." in reader.article_text(states["art-0"].rowid)
    code, out, err = cli("index", "update", str(src), "--json", env=small)
    assert code == 0, err
    counts = json.loads(out)
    assert (counts["added"], counts["changed"], counts["removed"], counts["unchanged"]) == (1, 0, 1, 2)
    assert set(_reader(tmp_path).articles()) == {"art-0", "art-2", "art-9"}
    code, out, err = cli("index", "check")
    assert code == 0, err


def test_an_alias_switch_while_a_reader_asks(tmp_path, encoder):
    """Every answer comes whole from the old collection or the new one, never a mix or an error."""
    from citebot.index.answer import AnswerConfig, Retriever
    from citebot.index.building import build

    versions = {
        "old": {f"{i}.json": _article(i) for i in range(3)},
        "new": {f"{i}.json": _article(i, extra="Harbour dues doubled after the vote. ") for i in range(3)},
    }
    texts = {}
    for name, files in versions.items():
        write_articles(tmp_path / name, files)
        texts[name] = [f["text"] for f in files.values()]
    cfg = _cfg(tmp_path)
    build([tmp_path / "old"], cfg, encoder, on_problem=lambda m: None)
    retriever = Retriever(cfg.index_dir, encoder, config=AnswerConfig(k=3), store=open_store(cfg))
    seen: list[set[str]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                answer = retriever.answer("How many moorings did the harbour board agree?")
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
                return
            seen.append({name for h in answer.hits for name in texts
                         if any(h.extract.strip() in t for t in texts[name])
                         and not any(h.extract.strip() in t for other in texts if other != name for t in texts[other])})

    asker = threading.Thread(target=ask)
    asker.start()
    try:
        build([tmp_path / "new"], cfg, encoder, on_problem=lambda m: None)
        while not any(s == {"new"} for s in seen) and asker.is_alive():
            stop.wait(0.05)
    finally:
        stop.set()
        asker.join(60)
    assert not errors, errors
    assert seen and all(len(s) <= 1 for s in seen)  # never old and new extracts in one answer
    assert seen[-1] == {"new"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_server_is_one_line_and_the_key_is_never_shown(cli, tmp_path, monkeypatch):
    src = write_articles(tmp_path / "src", {"0.json": _article(0)})
    monkeypatch.delenv("CITEBOT_QDRANT_PATH")
    monkeypatch.setenv("CITEBOT_QDRANT_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("CITEBOT_QDRANT_API_KEY", API_KEY)
    for args in (("index", "build", str(src)), ("ask", "How many moorings?"), ("index", "status"),
                 ("index", "update")):
        code, out, err = cli(*args)
        assert code != 0, args
        assert len(err.strip().splitlines()) == 1, err
        assert "cannot reach the Qdrant server" in err and "CITEBOT_QDRANT_URL" in err and "Traceback" not in err
        assert API_KEY not in out + err
    assert not (tmp_path / "index" / "query-model").exists()  # stopped before any embedding


def test_another_model_is_refused_with_the_fix(cli, tmp_path):
    src = write_articles(tmp_path / "src", {"0.json": _article(0)})
    assert cli("index", "build", str(src))[0] == 0
    code, out, err = cli("ask", "How many moorings?", env={"CITEBOT_EMBEDDING_MODEL": "some-other-model"})
    assert code != 0 and "some-other-model" in err and "index build" in err and len(err.strip().splitlines()) == 1


def test_transient_errors_are_retried_with_backoff_and_then_said_in_one_line(tmp_path, monkeypatch):
    import httpx

    monkeypatch.setattr(qdrant_connection, "BACKOFF_S", 0.001)
    conn = qdrant_connection.connection(QdrantConfig(path=tmp_path / "q", retries=2))
    tries = []

    def flaky():
        tries.append(1)
        if len(tries) < 3:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        return "ok"

    assert conn.call("testing", flaky) == "ok" and len(tries) == 3

    def down():
        tries.append(1)
        raise httpx.ConnectError("[Errno 111] Connection refused")

    tries.clear()
    with pytest.raises(StoreUnavailable, match="Connection refused.*nothing was changed"):
        conn.call("testing", down, write=True)
    assert len(tries) == 3
    with pytest.raises(ZeroDivisionError):  # a bug is not dressed up as the store's fault
        conn.call("testing", lambda: 1 / 0)


def test_copies_of_a_story_and_removal_and_sources(cli, tmp_path):
    """Near-duplicates found across an `index add`, shown once; `index remove` and `index sources`."""
    from dedup_cases import documents

    def doc(name: str) -> str:
        return next(d.text for d in documents() if d.id == f"bridge/{name}")

    src = write_articles(tmp_path / "src", {
        "gazette.json": {"id": "gazette", "title": "Kestrel Bridge shut after crack found", "source": "Aln Gazette",
                         "published": "2026-03-03", "text": doc("boilerplate")},
        "wire.json": {"id": "wire", "title": "Kestrel Bridge closed for six weeks", "source": "Coastwire",
                      "published": "2026-03-02", "text": doc("wire")},
        "own.json": {"id": "own", "title": "Queues on the ring road", "source": "Aln Echo",
                     "published": "2026-03-02", "text": doc("other1")}})
    assert cli("index", "build", str(src))[0] == 0
    later = write_articles(tmp_path / "later", {
        "press.json": {"id": "press", "title": "Bridge closed", "source": "Northern Press", "published": "2026-03-04",
                       "text": doc("trimmed")}})
    code, _, err = cli("index", "add", str(later))
    assert code == 0, err
    copies = _reader(tmp_path).copies(["wire", "own", "press"])
    assert [c.article_id for c in copies["wire"]] == ["gazette", "press"]
    assert [c.article_id for c in copies["press"]] == ["wire", "gazette"] and "own" not in copies
    code, out, err = cli("ask", "How long will the Kestrel Bridge stay closed?", "-k", "5", "--json")
    shown = [r["article_id"] for r in json.loads(out)["results"]]
    assert [a for a in shown if a in ("wire", "gazette", "press")] == ["wire"]

    code, out, err = cli("index", "remove", "gazette", "--json")
    assert code == 0 and counts_of(out, "removed", "articles") == {"removed": 1, "articles": 3}, err
    code, out, err = cli("index", "sources", "--json")
    assert code == 0, err
    assert {r["location"]: r["articles"] for r in json.loads(out)} == {str(src): 2, str(later): 1}
    assert set(_reader(tmp_path).articles()) == {"wire", "own", "press"}


def test_a_refused_key_and_a_missing_collection_are_said_without_retrying(tmp_path):
    import httpx
    from qdrant_client.http.exceptions import UnexpectedResponse

    conn = qdrant_connection.Connection(QdrantConfig(url="https://qdrant.example.org:6333", api_key=API_KEY))
    tries = []

    def answer(status: int):
        def call():
            tries.append(status)
            raise UnexpectedResponse(status, "refused", f'{{"status": {{"error": "no {API_KEY}"}}}}'.encode(),
                                     httpx.Headers())
        return call

    with pytest.raises(StoreUnavailable) as refused:
        conn.call("testing", answer(401))
    assert "CITEBOT_QDRANT_API_KEY" in str(refused.value) and API_KEY not in str(refused.value)
    with pytest.raises(qdrant.CollectionMissing):
        conn.call("testing", answer(404))
    assert tries == [401, 404]  # neither is tried again
