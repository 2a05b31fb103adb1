"""Feeds, pages and recorded sources, against a small web site on 127.0.0.1 that the tests write:
a feed that changes between refreshes, 304 answers, a 404, a slow page, an oversized page, a
non-HTML URL, a robots.txt that disallows a path, an item leaving its feed, retention, removal,
and a refresh killed half-way."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from citebot.index.stores.local.generations import current_generation
from citebot.index.stores.local.reader import open_current

from conftest import REPO, write_articles, counts_of
from local_site import LocalSite, page, rss

FERRY = page("Winter ferry timetable cuts crossings to four a day", [
    "The Marrow Bay ferry will run four crossings a day from November, down from seven, the operator said on Monday.",
    "Bay Sound Ferries blamed the cost of fuel and a shortage of deck crew for the cut, which will last until March.",
    "Commuters who cross to the mainland for work said the first sailing, now at 7.40am, would leave them late for "
    "their shifts. The operator promised to review the timetable after a month."], date="2026-03-01",
    author="Ada Penhale")
LIFEBOAT = page("Lifeboat crew brings two kayakers ashore in a gale", [
    "Volunteers from Marrow Bay lifeboat station rescued two kayakers who had been swept beyond the harbour mouth on "
    "Saturday afternoon.",
    "The pair, both in their twenties, had clung to an upturned kayak for forty minutes before a walker on the cliff "
    "path raised the alarm.",
    "The coxswain said the crew reached them eleven minutes after launching and that both were wearing buoyancy aids, "
    "which had saved their lives."])
HARBOUR = page("Harbour wall repairs will begin in April", [
    "Repairs to the storm-damaged harbour wall at Marrow Bay will begin in April and take about nine months, the "
    "council confirmed.",
    "The work, costing 2.3 million pounds, will close the outer pier to anglers and pleasure boats while a crane "
    "works from a barge.",
    "Fishing boats will keep their moorings inside the inner basin, the harbour master said, and the slipway will "
    "stay open at high tide."], date="2026-03-04")
LIBRARY = page("Town library opens on Sunday afternoons", [
    "Marrow Bay library will open from noon to four on Sundays from next month, after a petition signed by more "
    "than eight hundred residents.",
    "The extra hours are paid for by the town council, which found the money by ending the lease on an empty "
    "storage unit.",
    "Librarians said Sunday was the only free day for many families, and that the children's corner would host a "
    "story hour each week."], date="2026-03-02")
SCHOOL = page("Storm-damaged school roof repaired before term", [
    "The roof of Marrow Bay primary school, torn open by the February storm, has been repaired in time for the "
    "start of term.",
    "Roofers worked through two weekends to replace the slates and the lead flashing over the hall, the head "
    "teacher said.",
    "Pupils had been taught in the church hall for three weeks while buckets caught the rain in their classrooms."],
    date="2026-02-27")

RFC_DATES = {"ferry": "Mon, 02 Mar 2026 08:00:00 GMT", "lifeboat": "Tue, 03 Mar 2026 09:30:00 GMT",
             "harbour": "Wed, 04 Mar 2026 12:00:00 GMT"}


@pytest.fixture
def site():
    s = LocalSite().start()
    s.put("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    yield s
    s.stop()


@pytest.fixture
def fetching(monkeypatch):
    """The tests' site is on 127.0.0.1, which citebot refuses unless told otherwise."""
    monkeypatch.setenv("CITEBOT_FETCH_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("CITEBOT_FETCH_TIMEOUT", "1.5")


def _articles(index_dir) -> dict:
    reader = open_current(index_dir)
    try:
        return {aid: reader.article(st.rowid) for aid, st in reader.articles().items()}
    finally:
        reader.close()


def _feed(site: LocalSite, names: list[str], etag: str) -> str:
    items = [{"title": n.title(), "link": site.url(f"/news/{n}.html"), "date": RFC_DATES.get(n)} for n in names]
    return site.put("/feed.xml", rss("Marrow Bay Courier", site.url("/"), items),
                    content_type="application/rss+xml", etag=etag)


def test_a_feed_is_indexed_then_refreshed_politely_and_items_that_leave_it_stay(cli, tmp_path, site, fetching):
    site.put("/news/ferry.html", FERRY, etag='"f1"')
    site.put("/news/lifeboat.html", LIFEBOAT, etag='"l1"')
    site.put("/news/harbour.html", HARBOUR, etag='"h1"')
    feed = _feed(site, ["ferry", "lifeboat"], etag='"v1"')

    code, out, err = cli("index", "add", feed, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["added"] == 2 and report["sources"][0]["kind"] == "feed"
    assert report["sources"][0]["title"] == "Marrow Bay Courier"
    arts = _articles(tmp_path / "index")
    ferry, lifeboat = arts[site.url("/news/ferry.html")], arts[site.url("/news/lifeboat.html")]
    assert ferry.url == site.url("/news/ferry.html") and "four crossings a day" in ferry.text
    assert ferry.published == "2026-03-01"  # the page's own date wins over the feed's (2 March)
    assert lifeboat.published == "2026-03-03"  # no date on the page: the feed's
    assert ferry.source == "Marrow Bay Courier" and ferry.author == "Ada Penhale"

    # the feed changes: the ferry item leaves it, the harbour item arrives
    _feed(site, ["lifeboat", "harbour"], etag='"v2"')
    site.forget()
    code, out, err = cli("index", "update", "--json")
    assert code == 0, err
    assert counts_of(out) == {"added": 1, "changed": 0, "removed": 0, "unchanged": 2, "chunks_embedded": 1}
    assert set(_articles(tmp_path / "index")) == {site.url(f"/news/{n}.html") for n in ("ferry", "lifeboat", "harbour")}
    assert site.hits("/feed.xml")[0].headers.get("if-none-match") == '"v1"'  # a conditional request
    assert not site.hits("/news/lifeboat.html"), "an unchanged item's page is not downloaded again"
    assert not site.hits("/news/ferry.html")
    assert "citebot" in site.hits("/news/harbour.html")[0].headers["user-agent"]

    # nothing new: the feed answers 304 and no page is asked for
    site.forget()
    code, out, err = cli("index", "update", "--json")
    assert code == 0, err
    assert json.loads(out)["added"] == 0
    assert [r.path for r in site.requests] == ["/robots.txt", "/feed.xml"]
    assert site.hits("/feed.xml")[0].headers.get("if-none-match") == '"v2"'

    code, out, _ = cli("index", "sources", "--json")
    (source,) = json.loads(out)
    assert source["kind"] == "feed" and source["articles"] == 3 and source["last_error"] is None
    assert source["policy"] == "append" and source["newest"] == "2026-03-04"
    code, out, _ = cli("ask", "How many ferry crossings a day will there be in winter?", "--json")
    top = json.loads(out)["results"][0]
    assert top["url"] == site.url("/news/ferry.html") and top["published"] == "2026-03-01"


def test_each_failing_page_or_source_is_one_line_and_the_rest_completes(cli, tmp_path, site, fetching, monkeypatch):
    monkeypatch.setenv("CITEBOT_FETCH_MAX_MB", "0.05")
    site.put("/news/library.html", LIBRARY)
    site.put("/news/slow.html", LIBRARY.replace("library", "museum"), delay=4)
    site.put("/news/huge.html", page("Huge", ["word " * 20_000]), send_length=False)
    site.put("/news/photo.png", b"\x89PNG\r\n\x1a\n" + bytes(300), content_type="image/png")
    site.put("/private/secret.html", LIBRARY.replace("library", "vault"))
    names = ["library.html", "gone.html", "slow.html", "huge.html", "photo.png"]
    items = [{"title": n, "link": site.url(f"/news/{n}")} for n in names]
    items.append({"title": "secret", "link": site.url("/private/secret.html")})
    feed = site.put("/feed.xml", rss("Courier", site.url("/"), items), content_type="application/rss+xml")
    school = site.put("/school.html", SCHOOL)

    code, out, err = cli("index", "add", feed, school)
    assert code == 0, err
    assert "Traceback" not in err
    reasons = {"gone.html": "HTTP 404", "slow.html": "timed out", "huge.html": "over the size limit",
               "photo.png": "not a web page", "secret.html": "robots.txt"}
    lines = err.strip().splitlines()
    for name, reason in reasons.items():
        (line,) = [ln for ln in lines if name in ln]
        assert reason in line, line
    assert "page " + school in out and "Storm-damaged school roof" in out and "27 Feb 2026" in out
    assert set(_articles(tmp_path / "index")) == {site.url("/news/library.html"), school}

    # the page now fails and the feed is gone: both named, nothing indexed is lost
    site.put("/school.html", "oops", status=500)
    del site.routes["/feed.xml"]
    code, out, err = cli("index", "update")
    assert code == 0, err
    assert f"{school}: HTTP 500, skipped (its 1 indexed article(s) kept)" in err
    assert f"{feed}: HTTP 404, skipped (its 1 indexed article(s) kept)" in err
    assert set(_articles(tmp_path / "index")) == {site.url("/news/library.html"), school}
    code, out, _ = cli("index", "sources", "--json")
    errors = {s["location"]: s["last_error"] for s in json.loads(out)}
    assert errors == {feed: "HTTP 404", school: "HTTP 500"}
    code, out, _ = cli("index", "sources")
    assert "failing: HTTP 500" in out


def test_loopback_and_private_addresses_are_refused_unless_allowed(cli, tmp_path, site):
    url = site.put("/school.html", SCHOOL)
    code, out, err = cli("index", "add", url)
    assert code != 0 and "Traceback" not in err
    assert "127.0.0.1 is a loopback, private or local address" in err and "CITEBOT_FETCH_ALLOW_PRIVATE=1" in err
    assert not site.requests and current_generation(tmp_path / "index") is None


def test_retention_by_age_for_files_and_feed_items(cli, tmp_path, site, fetching):
    today = dt.date.today().isoformat()
    src = write_articles(tmp_path / "src", {
        "old.json": {"id": "old", "title": "Pier opened", "published": "2019-05-01",
                     "text": "The new pier at Marrow Bay opened to walkers on a sunny May morning."},
        "new.json": {"id": "new", "title": "Pier painted", "published": today,
                     "text": "The pier at Marrow Bay was painted blue and white this week by volunteers."}})
    code, out, err = cli("index", "build", str(src), "--keep-days", "30", "--json")
    assert code == 0, err
    assert set(_articles(tmp_path / "index")) == {"new"}
    code, out, err = cli("index", "update", "--keep-days", "0", "--json")
    assert json.loads(out)["added"] == 1 and set(_articles(tmp_path / "index")) == {"old", "new"}

    site.put("/news/ferry.html", FERRY)
    feed = _feed(site, ["ferry"], etag='"x"')  # dated March 2026, before the last 30 days
    code, out, err = cli("index", "add", feed, "--keep-days", "30", "--json")
    assert code == 0, err
    assert json.loads(out)["removed"] == 1  # "old", past retention now
    assert not site.hits("/news/ferry.html"), "an item past retention by its feed date is not fetched"
    assert set(_articles(tmp_path / "index")) == {"new"}
    code, out, err = cli("index", "update", "--json", env={"CITEBOT_KEEP_DAYS": "30"})
    assert set(_articles(tmp_path / "index")) == {"new"}


def test_remove_drops_a_source_or_one_article_for_good(cli, tmp_path, site, fetching):
    src = write_articles(tmp_path / "src", {f"{i}.json": {
        "id": f"art-{i}", "title": f"Harbour note {i}", "text": f"Note {i}: the harbour board met and agreed {i} moorings."}
        for i in range(3)})
    school = site.put("/school.html", SCHOOL)
    assert cli("index", "add", str(src), school)[0] == 0
    code, out, err = cli("index", "remove", school, "art-1")
    assert code == 0, err
    assert "removed 2 article(s); 2 remain" in out
    code, out, _ = cli("index", "sources", "--json")
    assert [s["location"] for s in json.loads(out)] == [str(src)]
    (src / "2.json").unlink()  # files mirror: a deleted file's article goes
    code, out, err = cli("index", "update", "--json")
    assert json.loads(out)["removed"] == 1
    assert set(_articles(tmp_path / "index")) == {"art-0"}, "a removed article is not indexed again"
    code, out, err = cli("index", "remove", "art-9", str(tmp_path / "nowhere"))
    assert code != 0 and "not a recorded source or an indexed article: art-9" in err and "nothing was removed" in err
    assert len(err.strip().splitlines()) == 1


def test_a_refresh_killed_while_fetching_leaves_the_index_serving(cli, tmp_path, site, fetching):
    site.put("/news/ferry.html", FERRY)
    feed = _feed(site, ["ferry"], etag='"a"')
    assert cli("index", "add", feed)[0] == 0
    before = current_generation(tmp_path / "index")
    site.put("/news/lifeboat.html", LIFEBOAT, delay=20)
    _feed(site, ["ferry", "lifeboat"], etag='"b"')
    env = {**os.environ, "CITEBOT_INDEX_DIR": str(tmp_path / "index"), "CITEBOT_FETCH_TIMEOUT": "30"}
    proc = subprocess.Popen([sys.executable, "-m", "citebot", "index", "update"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not site.hits("/news/lifeboat.html") and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert site.hits("/news/lifeboat.html"), "the refresh never reached the slow page"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert current_generation(tmp_path / "index") == before
    assert set(_articles(tmp_path / "index")) == {site.url("/news/ferry.html")}
    site.routes["/news/lifeboat.html"].delay = 0
    code, out, err = cli("index", "update", "--no-wait", "--json")  # the lock went with the killed process
    assert code == 0, err
    assert json.loads(out)["added"] == 1


def test_build_takes_urls_and_update_of_one_source_leaves_the_others_alone(cli, tmp_path, site, fetching):
    src = write_articles(tmp_path / "src", {"0.json": {"id": "art-0", "title": "Harbour note",
                                                       "text": "The harbour board met and agreed new moorings."}})
    school = site.put("/school.html", SCHOOL)
    code, out, err = cli("index", "build", school, str(src))
    assert code == 0, err
    assert set(_articles(tmp_path / "index")) == {school, "art-0"}
    site.forget()
    code, out, err = cli("index", "update", str(src), "--json")
    assert code == 0, err
    assert counts_of(out) == {"added": 0, "changed": 0, "removed": 0, "unchanged": 2, "chunks_embedded": 0}
    assert not site.requests  # the page was not refreshed: only the folder was named
    shutil.rmtree(src)
    code, out, err = cli("index", "update", "--json")  # a recorded folder that is gone keeps its articles
    assert code == 0 and "no such file or folder" in err and "index remove" in err
    assert set(_articles(tmp_path / "index")) == {school, "art-0"}
