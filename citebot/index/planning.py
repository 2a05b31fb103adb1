"""What one change to the index reads and records, settled before anything is written: the job a
call asks for, the sources to read now and those recorded after, and what a removal drops."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .build_records import Mode
from .collecting import LazyFetcher
from .sources.base import SourceSpec
from .sources.factory import resolve, source_key
from .sources.addresses import FetchError
from .stores.base import ArticleState, IndexProblem


class NotRecorded(IndexProblem):
    """`index remove` named something that is neither a recorded source nor an indexed article."""


class NothingAdded(IndexProblem):
    """None of the sources given to `index add` could be read."""


@dataclass
class Job:
    """What one call asks for, settled before the writer lock is taken."""
    targets: list[str]  # as typed: paths and URLs
    mode: Mode
    index_exists: bool = True  # an `add` to no index builds one
    all_recorded: bool = False  # `index update` with no SOURCE
    pruned: list[str] = field(default_factory=list)  # named paths that are gone, whose articles go
    unresolved: list[str] = field(default_factory=list)  # set by _plan: targets that could not be resolved

    @property
    def incremental(self) -> bool:
        """Written on top of the served index (else a new one replaces it)."""
        return self.mode is not Mode.BUILD and self.index_exists

    @property
    def adding(self) -> bool:
        return self.mode is Mode.ADD

    @property
    def removing(self) -> bool:
        return self.mode is Mode.REMOVE


def plan(job: Job, recorded: list[SourceSpec], old_articles: dict[str, ArticleState],
          fetcher: LazyFetcher, problem: Callable[[str], None]) -> tuple[list[SourceSpec], list[SourceSpec], dict, set[str]]:
    """(sources to read now, the recorded sources after, probes already answered, article ids that go)."""
    if job.removing:
        after, drop = removal(job.targets, recorded, old_articles)
        return [], after, {}, drop
    if job.all_recorded:
        if not recorded:
            raise NotRecorded("no recorded sources to update: add one with `citebot index add SOURCE...`")
        return list(recorded), list(recorded), {}, set()
    resolved = resolve(job.targets, recorded, fetcher, problem)
    job.unresolved = list(resolved.failed)
    if not resolved.specs:
        if job.adding or resolved.failed:
            raise NothingAdded("none of the sources could be read: nothing was changed")
    pruned = {source_key(p) for p in job.pruned}
    if not job.incremental:  # a rebuild: the sources named are the sources
        return resolved.specs, list(resolved.specs), resolved.prefetched, set()
    names = {s.location for s in resolved.specs}
    after = [s for s in recorded if s.location not in pruned]
    after += [s for s in resolved.specs if s.location not in {r.location for r in recorded}]
    drop = {a for a, st in old_articles.items() if st.source_key in pruned and st.source_key not in names}
    return resolved.specs, after, resolved.prefetched, drop


def removal(targets: list[str], recorded: list[SourceSpec],
             old_articles: dict[str, ArticleState]) -> tuple[list[SourceSpec], set[str]]:
    by_key = {s.location: s for s in recorded}
    by_origin: dict[str, set[str]] = {}
    for art_id, st in old_articles.items():
        if st.origin:
            by_origin.setdefault(st.origin, set()).add(art_id)
    dropped_sources: set[str] = set()
    drop: set[str] = set()
    unknown = []
    for target in targets:
        try:
            key = source_key(target)
        except FetchError:
            key = target
        if key in by_key:
            dropped_sources.add(key)
            drop |= {a for a, st in old_articles.items() if st.source_key == key}
            continue
        ids = {target} & set(old_articles) or {key} & set(old_articles) or by_origin.get(key, set())
        if not ids:
            unknown.append(target)
            continue
        drop |= ids
        for art_id in ids:  # not indexed again by the next refresh of its source
            spec = by_key.get(old_articles[art_id].source_key or "")
            if spec is not None and art_id not in spec.excluded:
                spec.excluded.append(art_id)
    if unknown:
        raise NotRecorded(f"not a recorded source or an indexed article: {', '.join(unknown)}; nothing was removed "
                          "(`citebot index sources` lists the sources)")
    return [s for s in recorded if s.location not in dropped_sources], drop
