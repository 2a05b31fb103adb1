"""A web page as a source (one article), and the fetch of one page that feeds use for each item.

A page is stamped by its ETag, Last-Modified and a hash of its bytes: a refresh asks with a
conditional request and does not parse a page whose bytes have not changed.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from urllib.parse import urljoin

from ..records import Article
from .base import Collected, Context, Known, SourceSpec
from .addresses import FetchError
from .fetch import PAGE_TYPES, Fetcher, Response
from .parsers import ArticleError, Hints, parse_page, text_of


@dataclass
class PageStamp:
    etag: str | None = None
    last_modified: str | None = None
    sha: str | None = None  # of the page's bytes
    entry: str | None = None  # the feed entry's own date, when a feed listed the page

    def dump(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v}, separators=(",", ":"), sort_keys=True)

    @classmethod
    def load(cls, text: str | None) -> "PageStamp | None":
        try:
            d = json.loads(text or "")
        except ValueError:
            return None
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__}) if isinstance(d, dict) else None


def fetch_article(fetcher: Fetcher, url: str, old: PageStamp | None, hints: Hints | None = None,
                  entry: str | None = None, prefetched: Response | None = None) -> Article | None:
    """The page at `url` as an Article, or None when it has not changed since `old`. Raises
    FetchError or ArticleError with the reason."""
    resp = prefetched or fetcher.get(url, PAGE_TYPES, etag=old.etag if old else None,
                                     last_modified=old.last_modified if old else None)
    if resp.not_modified:
        return None
    sha = hashlib.sha256(resp.body).hexdigest()[:32]
    if old is not None and old.sha == sha:
        return None
    if resp.media_type not in PAGE_TYPES:
        raise ArticleError(f"not a web page (content type {resp.media_type or 'not given'})")
    html = text_of(resp.body, resp.charset)
    try:
        art = parse_page(html, url, resp.url, hints)
    except ArticleError as e:
        feed = alternate_feed(html, resp.url)
        raise ArticleError(f"{e} (the page names a feed, {feed}: add that instead)" if feed else str(e)) from None
    art.origin = url
    art.stamp = PageStamp(resp.headers.get("etag"), resp.headers.get("last-modified"), sha, entry).dump()
    return art


_ALTERNATE = re.compile(r"<link\b[^>]{0,500}>", re.IGNORECASE)


def alternate_feed(html: str, base: str) -> str | None:
    """The RSS/Atom feed a site's page names in its head, if any: someone who pastes a site's home
    page most likely wants its feed."""
    for tag in _ALTERNATE.findall(html[:200_000]):
        low = tag.lower()
        if "alternate" in low and ("application/rss+xml" in low or "application/atom+xml" in low):
            m = re.search(r"""href\s*=\s*["']([^"']+)["']""", tag, re.IGNORECASE)
            if m:
                return urljoin(base, m.group(1))
    return None


class PageSource:
    """One page URL, added by hand or from the chat; append policy: a page that later fails or
    disappears keeps its indexed article (`index remove URL` drops it)."""

    def __init__(self, spec: SourceSpec, prefetched: Response | None = None):
        self.spec = spec
        self.prefetched = prefetched

    def collect(self, known: Known, ctx: Context) -> Collected:
        out = Collected(self.spec)
        url = self.spec.location
        if url in self.spec.excluded or url in known.elsewhere:
            return out
        old_stamp, old_ids = known.items.get(url, (None, []))
        try:
            art = fetch_article(ctx.fetcher, url, PageStamp.load(old_stamp), prefetched=self.prefetched)
        except (FetchError, ArticleError) as e:
            out.error = str(e)
            out.kept.update(i for i in old_ids if ctx.claims.claim(i, url, url))
            return out
        if art is None:
            out.unchanged.update(i for i in old_ids if ctx.claims.claim(i, url, url))
        elif ctx.claims.claim(art.id, url, url):
            out.articles.append(art)
            self.spec.title = art.title
        return out
