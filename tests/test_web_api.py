"""`citebot serve`'s API and page through an ASGI test client: the same answers as `citebot ask
--json`, an API key on every route, hostile input rendered inert or refused in one line, the
security headers, the rate limit, and --explain naming the stage that decided."""
from __future__ import annotations

import base64
import json
import re
import shutil

import pytest

from conftest import SAMPLES, write_articles

pytest.importorskip("starlette", reason="the [web] extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

DEMO = ["Why was the Wend bridge closed?", "How much will the Wendford tram line cost?",
        "What is the boiling point of liquid nitrogen?"]  # the README's (and `make run`'s) questions
NEAR_MISS = "Who designed the old Wend bridge?"  # its article is indexed; who designed it is not said
HOSTILE_TITLE = '<img src=x onerror="alert(1)">Wend <b>ferry</b> & "quotes"'
HOSTILE_ARTICLE = {"id": "hostile-1", "title": HOSTILE_TITLE, "source": "<script>alert('src')</script>",
                   "url": "javascript:alert(1)", "published": "2025-03-10",
                   "text": "The Wend ferry carried <script>alert('x')</script> 412 passengers on its first "
                           "weekend back in service. Its new engine was built in Tallinn."}
KEY = "test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    from citebot.index.building import build
    from citebot.index.config import IndexConfig
    from citebot.index.encoders.factory import load_encoder

    root = tmp_path_factory.mktemp("web")
    shutil.copytree(SAMPLES, root / "articles")
    write_articles(root / "articles", {"hostile.json": HOSTILE_ARTICLE})
    cfg = IndexConfig(index_dir=root / "index")
    build([root / "articles"], cfg, load_encoder(), on_problem=print)
    return cfg.index_dir


@pytest.fixture(scope="module")
def retriever(index_dir):
    from citebot.bot.answering import make_retriever
    from citebot.bot.settings import load_settings

    return make_retriever(load_settings(index_dir=index_dir))


def client_for(index_dir, retriever, api_key=None, **settings):
    from citebot.bot.settings import load_settings
    from citebot.bot.web.app import create_app

    return TestClient(create_app(load_settings(index_dir=index_dir, **settings), retriever, api_key=api_key))


@pytest.fixture(scope="module")
def client(index_dir, retriever):
    with client_for(index_dir, retriever, web_rate_per_minute=0) as c:
        yield c


@pytest.mark.parametrize("question", DEMO)
def test_api_answers_as_ask_json(client, cli, index_dir, question):
    code, out, _ = cli("ask", question, "--json", env={"CITEBOT_INDEX_DIR": str(index_dir)})
    assert code == 0
    got = client.get("/api/ask", params={"q": question})
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    assert got.json() == json.loads(out)


@pytest.mark.parametrize("question", DEMO)
def test_page_shows_the_same_answer(client, question):
    from html import escape, unescape

    api = client.get("/api/ask", params={"q": question}).json()
    page = client.get("/", params={"q": question})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    bold = [" ".join(unescape(b).split()) for b in re.findall(r'<strong class="answer">(.*?)</strong>', page.text, re.S)]
    assert bold == [" ".join(r["highlight"].split()) for r in api["results"]]  # every extract, in order
    for r in api["results"]:
        assert escape(r["title"], quote=True) in page.text and escape(r["source"] or "", quote=True) in page.text
    if not api["answer_found"]:
        assert escape(api["message"], quote=True) in page.text
    assert "How this answer was reached" in page.text  # the explain disclosure


def test_page_says_not_found(client):
    page = client.get("/", params={"q": DEMO[2]})
    assert page.status_code == 200
    assert "Not found: nothing in the indexed articles answers that." in page.text
    assert "<ol" not in page.text


def test_page_more_is_a_form_that_works_without_script(client):
    page = client.get("/", params={"q": "What happened in Wendford?", "k": 1})
    assert 'id="more"' in page.text and 'name="offset" value="1"' in page.text
    second = client.get("/", params={"q": "What happened in Wendford?", "k": 1, "offset": 1})
    assert second.status_code == 200 and '<ol id="results" start="2">' in second.text


def test_russian_question_gets_russian_page_words(client):
    page = client.get("/", params={"q": "Сколько стоит новая трамвайная линия?"})
    assert 'lang="ru"' in page.text and "Ваш вопрос" in page.text


def test_article_route_gives_the_text_around_a_cited_span(client):
    top = client.get("/api/ask", params={"q": DEMO[0]}).json()["results"][0]
    start = top["extract_start"]
    got = client.get(f"/api/articles/{top['article_id']}",
                     params={"start": start, "end": start + len(top["extract"]), "around": 100})
    assert got.status_code == 200
    body = got.json()
    assert body["text"] == top["extract"] and body["title"] == top["title"] and body["url"] == top["url"]
    assert len(body["before"]) <= 100 and len(body["after"]) <= 100
    assert client.get("/api/articles/no/such/article").status_code == 404


def test_status_and_health(client, cli, index_dir):
    code, out, _ = cli("index", "status", "--json", env={"CITEBOT_INDEX_DIR": str(index_dir)})
    status = client.get("/api/status").json()
    assert status["articles"] == json.loads(out)["articles"] and status["chunks"] == json.loads(out)["chunks"]
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["ok"] is True


def test_no_route_changes_anything(client):
    for path in ("/", "/api/ask", "/api/status", "/api/articles/x", "/healthz"):
        assert client.post(path).status_code == 405
        assert client.delete(path).status_code == 405


def test_every_route_needs_the_key_when_set(index_dir, retriever):
    with client_for(index_dir, retriever, api_key=KEY) as c:
        for path in ("/", "/?q=bridge", "/api/ask?q=bridge", "/api/status", "/api/articles/x", "/healthz",
                     "/static/page.css", "/nowhere"):
            got = c.get(path)
            assert got.status_code == 401, path
            assert set(got.json()) == {"error"} and "\n" not in got.json()["error"]
            assert KEY not in got.text
        assert c.get("/", params={"q": "bridge"}).headers["www-authenticate"].startswith("Basic")
        assert c.get("/api/ask?q=bridge", headers={"Authorization": "Bearer wrong-key-0123456789"}).status_code == 401
        assert c.get("/api/ask?q=bridge", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        assert c.get("/api/status", headers={"X-API-Key": KEY}).status_code == 200
        basic = base64.b64encode(f"anyone:{KEY}".encode()).decode()
        assert c.get("/", headers={"Authorization": f"Basic {basic}"}).status_code == 200


@pytest.mark.parametrize("params, fragment", [
    ({"q": "x" * 10_000}, "characters long"),
    ({"q": "bridge", "k": 10**6}, "k must be from 1 to 20"),
    ({"q": "bridge", "k": "lots"}, "k must be a whole number"),
    ({"q": "bridge", "offset": -1}, "offset must be from"),
    ({"q": "bridge", "as_of": "yesterday-ish"}, "as_of takes a date"),
    ({"q": "   "}, "Ask a question in words"),
    ({}, "Ask a question in words"),
])
def test_bad_requests_are_one_line_errors(client, params, fragment):
    got = client.get("/api/ask", params=params)
    assert got.status_code == 400
    message = got.json()["error"]
    assert fragment in message and "\n" not in message and len(message) < 300
    page = client.get("/", params=params or {"q": ""})
    assert page.status_code == 400 and 'role="alert"' in page.text


def test_hostile_text_is_inert(client):
    question = '<script>alert("q")</script> Wend ferry passengers'
    page = client.get("/", params={"q": question})
    assert page.status_code == 200
    body = page.text
    assert "<script>alert" not in body
    assert "<img src=x" not in body and "&lt;img src=x onerror=" in body  # the hostile title, as text
    assert "javascript:alert" not in body  # a javascript: URL never becomes a link
    assert body.count("<script") == 1  # the page's own file, nothing else
    api = client.get("/api/ask", params={"q": question}).json()
    assert api["results"] and api["results"][0]["title"] == HOSTILE_TITLE  # the API returns it as data


def test_security_headers(client):
    for path in ("/", "/api/ask?q=bridge", "/api/ask", "/static/page.js", "/nowhere"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"


def test_rate_limit_per_client(index_dir, retriever):
    with client_for(index_dir, retriever, web_rate_per_minute=3) as c:
        codes = [c.get("/api/ask", params={"q": "bridge"}).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = c.get("/api/status")
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert "at most 3 a minute" in limited.json()["error"]
        assert c.get("/healthz").status_code == 200  # a monitor's probe is not a question


def test_explain_names_the_deciding_stage(client):
    not_found = client.get("/api/ask", params={"q": DEMO[2], "explain": 1}).json()["explain"]
    assert not_found["stage"] in ("abstain", "reader") and "under the threshold" in not_found["why"]
    assert not_found["decision"]["found"] is False
    assert not_found["decision"]["confidence"] < not_found["decision"]["threshold"]
    assert not_found["question"]["language"] == "en" and "nitrogen" in " ".join(not_found["question"]["terms"])
    first = not_found["candidates"][0]
    for key in ("dense", "bm25", "fused", "sentence_cos", "relevance", "reader", "dense_rank", "bm25_rank"):
        assert key in first

    near = client.get("/api/ask", params={"q": NEAR_MISS, "explain": 1}).json()
    expl = near["explain"]
    assert expl["stage"] in ("abstain", "reader") and "threshold" in expl["why"]
    assert expl["decision"]["found"] is near["answer_found"]
    assert any("Wend bridge" in c["title"] for c in expl["candidates"][:3])

    period = client.get("/api/ask", params={"q": "What happened to the Wend bridge in 1850?", "explain": 1}).json()
    assert period["explain"]["stage"] == "dates" and "1850" in period["explain"]["why"]


def test_ask_explain_on_the_command_line(cli, index_dir):
    code, out, _ = cli("ask", DEMO[2], "--explain", env={"CITEBOT_INDEX_DIR": str(index_dir)})
    assert code == 0
    assert out.startswith("Not found")
    assert "decided by: abstain: the abstention model's probability" in out and "candidates (first" in out
    code, out, _ = cli("ask", NEAR_MISS, "--json", "--explain", env={"CITEBOT_INDEX_DIR": str(index_dir)})
    assert json.loads(out)["explain"]["stage"] in ("abstain", "reader")


def test_serve_refuses_a_key_too_short_to_guard(cli, index_dir):
    code, out, err = cli("serve", env={"CITEBOT_INDEX_DIR": str(index_dir), "CITEBOT_WEB_API_KEY": "abc123"})
    assert code == 2 and "at least 16 characters" in err and "abc123" not in err + out


def test_a_rebuilt_index_is_served_without_a_restart(tmp_path, encoder):
    from citebot.bot.answering import make_retriever
    from citebot.bot.settings import load_settings
    from citebot.index.building import add, build
    from citebot.index.config import IndexConfig

    cfg = IndexConfig(index_dir=tmp_path / "index")
    first = write_articles(tmp_path / "first", {"tram.json": {
        "id": "tram", "title": "Tram line approved", "text": "Wendford council approved the tram line on Monday."}})
    build([first], cfg, encoder, on_problem=print)
    settings = load_settings(index_dir=cfg.index_dir, web_rate_per_minute=0)
    question = "How many passengers did the Quay ferry carry?"
    with client_for(cfg.index_dir, make_retriever(settings), web_rate_per_minute=0) as c:
        assert c.get("/api/ask", params={"q": question}).json()["answer_found"] is False
        served = c.get("/healthz").json()["served"]
        later = write_articles(tmp_path / "later", {"ferry.json": {
            "id": "ferry", "title": "Quay ferry returns",
            "text": "The Quay ferry carried 412 passengers on its first weekend back in service."}})
        add([later], cfg, encoder, on_problem=print)  # another process would do the same: a new generation
        got = c.get("/api/ask", params={"q": question}).json()
        assert got["answer_found"] is True and got["results"][0]["article_id"] == "ferry"
        assert c.get("/healthz").json()["served"] != served
        assert c.get("/api/articles/ferry").json()["title"] == "Quay ferry returns"  # the new version's articles
