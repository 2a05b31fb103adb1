"""Polite, safe fetching (no model): addresses refused, redirects bounded, content types checked,
conditional requests, robots.txt, and feeds told apart from pages by what the server returns."""
from __future__ import annotations

import time

import pytest

from citebot.index.config import FetchConfig
from citebot.index.sources.feeds import looks_like_feed, parse_feed
from citebot.index.sources.addresses import AddressRefused, FetchError, normalize_url
from citebot.index.sources.fetch import PAGE_TYPES, Fetcher, check_address

from local_site import LocalSite, atom, page


@pytest.fixture
def site():
    s = LocalSite().start()
    yield s
    s.stop()


def _fetcher(**kw) -> Fetcher:
    return Fetcher(FetchConfig(allow_private=True, timeout_s=2, **kw))


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "192.168.0.7", "172.20.0.1", "169.254.169.254",
                                  "::1", "::ffff:127.0.0.1", "0.0.0.0", "100.64.0.1", "localhost"])
def test_loopback_private_and_link_local_addresses_are_refused(host):
    with pytest.raises(AddressRefused, match="CITEBOT_FETCH_ALLOW_PRIVATE=1"):
        check_address(host, 80, allow_private=False)
    check_address(host, 80, allow_private=True)


def test_a_refused_address_is_never_contacted(site):
    site.put("/a.html", page("A", ["text"]))
    with Fetcher(FetchConfig()) as f, pytest.raises(AddressRefused):
        f.get(site.url("/a.html"))
    assert not site.requests


def test_urls_are_spelled_one_way():
    assert normalize_url(" HTTP://Example.ORG:80/news?id=3#top ") == "http://example.org/news?id=3"
    assert normalize_url("https://example.org") == "https://example.org/"
    with pytest.raises(FetchError):
        normalize_url("ftp://example.org/feed")


def test_redirects_are_followed_up_to_five(site):
    site.put("/page.html", page("Moved", ["The page that moved."]))
    for i in range(6):
        site.put(f"/r{i}", "", status=302, location=f"/r{i + 1}" if i < 5 else "/page.html")
    with _fetcher() as f:
        assert f.get(site.url("/r1")).url == site.url("/page.html")  # five hops
        with pytest.raises(FetchError, match="more than 5 redirects"):
            f.get(site.url("/r0"))


def test_content_type_size_and_time_are_limited(site):
    site.put("/photo.png", b"\x89PNG" + bytes(100), content_type="image/png")
    site.put("/big.html", "x" * 5000)
    site.put("/slow.html", "late", delay=4)
    with _fetcher(max_bytes=1000) as f:
        with pytest.raises(FetchError, match=r"not a web page \(content type image/png\)"):
            f.get(site.url("/photo.png"), PAGE_TYPES)
        with pytest.raises(FetchError, match="over the size limit"):
            f.get(site.url("/big.html"))
        started = time.monotonic()
        with pytest.raises(FetchError, match="timed out after 2 s"):
            f.get(site.url("/slow.html"))
        assert time.monotonic() - started < 3.5


def test_conditional_requests_and_the_user_agent(site):
    site.put("/a.html", page("A", ["text"]), etag='"abc"', last_modified="Wed, 04 Mar 2026 10:00:00 GMT")
    with _fetcher() as f:
        first = f.get(site.url("/a.html"))
        assert first.status == 200 and first.headers["etag"] == '"abc"'
        again = f.get(site.url("/a.html"), etag='"abc"')
        assert again.not_modified
    assert "citebot" in site.hits("/a.html")[0].headers["user-agent"]


def test_robots_txt_is_honoured_and_an_unreadable_one_stops_everything(site):
    site.put("/robots.txt", "User-agent: citebot\nDisallow: /drafts/\n", content_type="text/plain")
    site.put("/drafts/x.html", page("X", ["x"]))
    site.put("/news/y.html", page("Y", ["y"]))
    with _fetcher() as f:
        with pytest.raises(FetchError, match="robots.txt of the site disallows it"):
            f.get(site.url("/drafts/x.html"))
        assert f.get(site.url("/news/y.html")).status == 200
    assert not site.hits("/drafts/x.html") and len(site.hits("/robots.txt")) == 1
    site.put("/robots.txt", "down", status=503)
    with _fetcher() as f, pytest.raises(FetchError, match="robots.txt of the site answered HTTP 503"):
        f.get(site.url("/news/y.html"))


def test_feeds_are_told_from_pages_by_their_content(site):
    entries = [{"title": "Ferry", "link": "/news/ferry.html", "updated": "2026-03-02T08:00:00Z"}]
    site.put("/atom", atom("Bay news", entries), content_type="application/xml")
    site.put("/page", page("Page", ["A page."]))
    with _fetcher() as f:
        feed, html = f.get(site.url("/atom")), f.get(site.url("/page"))
    assert looks_like_feed(feed) and not looks_like_feed(html)
    doc = parse_feed(feed.body, feed.url, feed.media_type)
    assert doc.title == "Bay news"
    assert [(e.link, e.published) for e in doc.entries] == [(site.url("/news/ferry.html"), "2026-03-02")]


def test_the_fetch_settings_reach_the_fetcher_and_every_setting_is_documented(monkeypatch):
    from citebot.bot.settings import Settings, SettingsError, load_settings

    from conftest import REPO

    monkeypatch.setenv("CITEBOT_FETCH_MAX_MB", "0.5")
    monkeypatch.setenv("CITEBOT_FETCH_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("CITEBOT_ADMIN_USERS", "7, 8")
    settings = load_settings()
    cfg = settings.fetch_config()
    assert cfg.max_bytes == 2**19 and cfg.allow_private and settings.admin_users == [7, 8]
    monkeypatch.setenv("CITEBOT_REFRESH_MINUTES", "-1")
    with pytest.raises(SettingsError, match="CITEBOT_REFRESH_MINUTES"):
        load_settings()
    example = (REPO / "settings.example.env").read_text()
    assert [n for n in Settings.model_fields if f"CITEBOT_{n.upper()}=" not in example] == []


def test_a_sites_crawl_delay_spaces_the_requests(site):
    site.put("/robots.txt", "User-agent: *\nCrawl-delay: 1\n", content_type="text/plain")
    site.put("/a.html", page("A", ["a"]))
    site.put("/b.html", page("B", ["b"]))
    with _fetcher() as f:
        started = time.monotonic()
        f.get(site.url("/a.html"))
        f.get(site.url("/b.html"))
        assert time.monotonic() - started >= 1.0


def test_a_home_page_with_no_article_points_to_its_feed():
    from citebot.index.sources.pages import alternate_feed

    head = '<html><head><link rel="alternate" type="application/rss+xml" title="News" href="/rss.xml"></head></html>'
    assert alternate_feed(head, "https://example.org/") == "https://example.org/rss.xml"
    assert alternate_feed("<html><head></head></html>", "https://example.org/") is None
