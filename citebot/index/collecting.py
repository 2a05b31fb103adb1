"""What a build, update, add or remove reads and decides before anything is written: each source
refreshed under its removal policy, articles past retention dropped, articles removed by hand
dropped, and everything else carried over as indexed.

Nothing indexed is lost by a failure: a source that cannot be read keeps all its articles, an item
that cannot be read keeps its indexed version, and sources not refreshed now are not touched.
"""
from __future__ import annotations

import os
from typing import Callable
from dataclasses import dataclass, field

from .records import Article
from .stores.base import ArticleState
from .sources.base import (MAX_ARTICLE_BYTES, Claims, Context, Known, Policy, ProblemHandler, SourceSpec, is_expired,
                           now_iso)
from .sources.factory import open_source
from .sources.fetch import Fetcher, Response
from .sources.registry import SourceStatus


@dataclass
class SourceOutcome:
    """How one source's refresh went, for the report a person reads."""
    spec: SourceSpec
    read: list[Article] = field(default_factory=list)
    error: str | None = None
    expired: int = 0
    failed_items: int = 0


@dataclass
class Change:
    articles: list[Article] = field(default_factory=list)  # read now: new, changed or the same
    carried: set[str] = field(default_factory=set)  # indexed ids that stay without being read again
    expired: int = 0  # indexed or read articles dropped by retention
    outcomes: list[SourceOutcome] = field(default_factory=list)
    status: dict[str, SourceStatus] = field(default_factory=dict)


class SourceVanished(Exception):
    """A path that existed when the refresh began is gone: nothing may be concluded from it."""


@dataclass
class Refresh:
    """One refresh of `run` (in order) over the served `old` articles. Articles of sources not
    in `run` stay as they are, except those in `drop_ids` (removed by hand or with their source)."""
    run: list[SourceSpec]
    old: dict[str, ArticleState]
    on_problem: ProblemHandler
    fetcher: LazyFetcher
    prefetched: dict[str, Response] = field(default_factory=dict)
    first_kept: str | None = None  # retention: articles dated before it go
    drop_ids: set[str] = field(default_factory=set)
    max_article_bytes: int = MAX_ARTICLE_BYTES
    on_read: Callable[[int], None] | None = None  # articles read so far (a progress bar)
    read_so_far: int = field(default=0, init=False)

    def _count_read(self) -> None:
        self.read_so_far += 1
        if self.on_read is not None:
            self.on_read(self.read_so_far)

    def collect(self) -> Change:
        change = Change()
        run_keys = {s.location for s in self.run}
        claims = Claims(self.on_problem)
        by_source: dict[str | None, dict[str, ArticleState]] = {}
        for art_id, st in self.old.items():
            if art_id in self.drop_ids:
                continue
            by_source.setdefault(st.source_key, {})[art_id] = st
            if st.source_key not in run_keys:  # other sources' articles: held before anything is read
                claims.claim(art_id, st.source_key or "the index", art_id)
                change.carried.add(art_id)
        existed = {s.location for s in self.run if not s.is_url and os.path.lexists(s.location)}
        for spec in self.run:
            change.outcomes.append(self._one(spec, by_source.get(spec.location, {}), claims, change))
        gone = sorted(p for p in existed if not os.path.lexists(p))
        if gone:
            raise SourceVanished(", ".join(gone))
        self._retain(change)
        return change

    def _one(self, spec: SourceSpec, mine: dict[str, ArticleState], claims: Claims, change: Change) -> SourceOutcome:
        known = Known(ids=set(mine), elsewhere=set(self.old) - set(mine))
        for art_id, st in mine.items():
            stamp, ids = known.items.setdefault(st.origin or art_id, (st.stamp, []))
            ids.append(art_id)
        ctx = Context(claims, self.on_problem, self.fetcher() if spec.is_url else None, self.first_kept,
                      self.max_article_bytes, self._count_read)
        source = open_source(spec, self.prefetched.get(spec.location))
        got = source.collect(known, ctx)
        for art in got.articles:
            art.source_key = spec.location
        change.articles += got.articles
        change.carried |= got.unchanged | got.kept
        if got.error is not None or spec.policy is Policy.APPEND:
            change.carried |= known.ids - {a.id for a in got.articles}  # nothing lost by a failure; feeds append
        if got.error is not None:
            extra = f" (its {len(known.ids)} indexed article(s) kept)" if known.ids else ""
            self.on_problem(f"{spec.location}: {got.error}, skipped{extra}")
        now = now_iso()
        change.status[spec.location] = SourceStatus(now, None if got.error else now, got.error, got.failed_items)
        return SourceOutcome(spec, list(got.articles), got.error, got.expired, got.failed_items)

    def _retain(self, change: Change) -> None:
        """Articles older than the retention period go, read now or carried over."""
        if not self.first_kept:
            return
        now = now_iso()
        for art_id in sorted(change.carried):
            st = self.old.get(art_id)
            if st is not None and is_expired(st.dated, st.added, self.first_kept):
                change.carried.discard(art_id)
                change.expired += 1
        expired: set[int] = set()
        for art in change.articles:
            prev = self.old.get(art.id)
            if is_expired(art.dated, prev.added if prev and prev.added else now, self.first_kept):
                expired.add(id(art))
        if not expired:
            return
        change.expired += len(expired)
        change.articles = [a for a in change.articles if id(a) not in expired]
        for outcome in change.outcomes:
            outcome.expired += sum(1 for a in outcome.read if id(a) in expired)
            outcome.read = [a for a in outcome.read if id(a) not in expired]


class LazyFetcher:
    """The Fetcher of one refresh, made on first use: a refresh of files alone opens no client."""

    def __init__(self, config=None):
        self.config = config
        self._fetcher: Fetcher | None = None

    def __call__(self) -> Fetcher:
        if self._fetcher is None:
            self._fetcher = Fetcher(self.config)
        return self._fetcher

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()
