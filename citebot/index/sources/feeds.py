"""RSS and Atom feeds as a source: each item's page is fetched and indexed (the feed gives its
URL and, as a fallback, its date and title); append policy, since a feed lists only its latest
items and one that leaves it stays indexed.

Politeness: the feed is asked with a conditional request, an item whose entry has not changed
since its page was indexed is not requested at all, and a changed one is asked conditionally.
"""
from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urljoin

from ..extras import MissingExtra, require
from ..records import Article
from ..text.controls import one_line
from .base import Collected, Context, Known, SourceSpec
from .addresses import FetchError, normalize_url
from .fetch import FEED_TYPES, Fetcher, Response
from .pages import PageStamp, fetch_article
from .parsers import ArticleError, Hints

MAX_ITEMS = 200  # items read from one feed per refresh (feeds list their latest 10-100)
MAX_RETRY = 200
FEED_ACCEPT = FEED_TYPES | {"text/plain", "text/html"}  # feeds served with a lazy content type


@dataclass
class Entry:
    link: str
    title: str | None = None
    published: str | None = None  # ISO date
    stamp: str | None = None  # the entry's own updated/published time: changes when the item does
    author: str | None = None


@dataclass
class FeedDoc:
    title: str | None
    entries: list[Entry]


def _iso(parsed) -> str | None:
    if not parsed:
        return None
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(parsed), dt.timezone.utc).date().isoformat()
    except (TypeError, ValueError, OverflowError):
        return None


def looks_like_feed(resp: Response) -> bool:
    """RSS or Atom, told apart from a page by what the server returned, not by the URL."""
    if resp.media_type in FEED_TYPES - {"application/xml", "text/xml"}:
        return True
    head = resp.body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<?xml"):
        head = head[head.find(b"?>") + 2:].lstrip()
    while head.startswith(b"<!--") or head.startswith(b"<?xml-stylesheet"):
        end = head.find(b">")
        head = head[end + 1:].lstrip() if end >= 0 else b""
    return head.startswith((b"<rss", b"<feed", b"<rdf:rdf", b"<rdf"))


def parse_feed(body: bytes, url: str, media_type: str = "") -> FeedDoc:
    try:
        feedparser = require("feedparser", "feeds")
    except MissingExtra as e:  # the source is reported and skipped, like any unreadable one
        raise ArticleError(str(e)) from None

    d = feedparser.parse(body, response_headers={"content-location": url, "content-type": media_type or "application/xml"})
    if not d.get("version") and not d.entries:
        raise ArticleError("not an RSS or Atom feed")
    entries = []
    for e in d.entries[:MAX_ITEMS]:
        link = e.get("link") or next((ln.get("href") for ln in e.get("links", []) if ln.get("href")), None)
        if not link:
            continue
        try:
            link = normalize_url(urljoin(url, link))
        except FetchError:
            continue
        published = _iso(dict.get(e, "published_parsed")) or _iso(dict.get(e, "updated_parsed"))
        raw = dict(e)  # feedparser's own get() maps a missing "updated" to "published", with a warning
        stamp = raw.get("updated") or raw.get("published") or hashlib.sha256(
            f"{e.get('title')}|{e.get('summary')}".encode()).hexdigest()[:16]
        entries.append(Entry(link, one_line(e.get("title")) or None, published, stamp,
                             one_line(e.get("author")) or None))
    return FeedDoc(one_line(d.feed.get("title")) or None, entries)  # titles may hold escape codes


class FeedSource:
    def __init__(self, spec: SourceSpec, prefetched: Response | None = None):
        self.spec = spec
        self.prefetched = prefetched

    def collect(self, known: Known, ctx: Context) -> Collected:
        spec, out = self.spec, Collected(self.spec)
        fetcher: Fetcher = ctx.fetcher
        mine = lambda ids: {i for i in ids if ctx.claims.claim(i, spec.location, spec.location)}  # noqa: E731
        retrying = bool(spec.retry)  # items failed last time: read the feed in full to find them again
        try:
            resp = self.prefetched or fetcher.get(spec.location, FEED_ACCEPT,
                                                  etag=None if retrying else spec.etag,
                                                  last_modified=None if retrying else spec.last_modified)
            digest = hashlib.sha256(resp.body).hexdigest()[:32] if not resp.not_modified else spec.digest
            if resp.not_modified or (digest == spec.digest and not retrying):
                out.unchanged = mine(known.ids)
                return out
            feed = parse_feed(resp.body, resp.url, resp.media_type)
        except (FetchError, ArticleError) as e:
            out.error = str(e)
            out.kept = mine(known.ids)
            return out
        spec.etag, spec.last_modified, spec.digest = resp.headers.get("etag"), resp.headers.get("last-modified"), digest
        spec.title = feed.title or spec.title
        todo: list[tuple[Entry, PageStamp | None, list[str]]] = []
        excluded = set(spec.excluded)
        for entry in feed.entries:
            if entry.link in excluded or entry.link in known.elsewhere:
                continue
            old_stamp, old_ids = known.items.get(entry.link, (None, []))
            old = PageStamp.load(old_stamp)
            if old_ids and old is not None and old.entry == entry.stamp:
                continue  # indexed and its entry unchanged: no request at all
            if not old_ids and ctx.cutoff and entry.published and entry.published < ctx.cutoff:
                out.expired += 1  # past retention by the feed's own date: not fetched
                continue
            todo.append((entry, old, old_ids))
        hints = lambda e: Hints(e.title, e.published, e.author, spec.title)  # noqa: E731
        with ThreadPoolExecutor(max_workers=max(1, fetcher.config.workers)) as pool:
            futures = [pool.submit(_fetch, fetcher, e, old, hints(e)) for e, old, _ in todo]
            results = [f.result() for f in futures]
        retry: list[str] = []
        fetched: set[str] = set()
        for (entry, _, old_ids), (art, problem) in zip(todo, results):
            fetched.update(old_ids)
            if problem is not None:
                out.failed_items += 1
                retry.append(entry.link)
                keep = mine(old_ids)
                out.kept |= keep
                ctx.on_problem(f"{spec.location}: item {entry.link}: {problem}, skipped"
                               + (" (its indexed version kept)" if keep else ""))
            elif art is None:
                out.unchanged |= mine(old_ids)
            elif ctx.claims.claim(art.id, spec.location, entry.link):
                out.articles.append(art)
        out.unchanged |= mine(known.ids - fetched - {a.id for a in out.articles})  # append: what left the feed stays
        spec.retry = retry[:MAX_RETRY]
        return out


def _fetch(fetcher: Fetcher, entry: Entry, old: PageStamp | None, hints: Hints) -> tuple[Article | None, str | None]:
    try:
        return fetch_article(fetcher, entry.link, old, hints, entry=entry.stamp), None
    except (FetchError, ArticleError) as e:
        return None, str(e)
    except Exception as e:  # a parser crashing on a hostile page must not stop the refresh
        return None, f"unreadable ({type(e).__name__}: {str(e)[:200]})"
