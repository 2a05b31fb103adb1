"""From what a user typed (a path or a URL) to a recorded source, and from a recorded source to
the object that reads it: one implementation per kind."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

from .base import Kind, ProblemHandler, Source, SourceSpec, now_iso
from .feeds import FEED_ACCEPT, FeedSource, looks_like_feed
from .addresses import FetchError, is_url, normalize_url
from .fetch import PAGE_TYPES, Fetcher, Response
from .files import FileSource, spec_for_path
from .pages import PageSource


# each kind of source: one module, one line here
SOURCES = {Kind.FOLDER: FileSource, Kind.FILE: FileSource, Kind.FEED: FeedSource, Kind.PAGE: PageSource}


def open_source(spec: SourceSpec, prefetched: Response | None = None) -> Source:
    kind = SOURCES.get(spec.kind)
    if kind is None:
        raise ValueError(f"unknown source kind {spec.kind!r}")
    return kind(spec, prefetched)


def source_key(target: str) -> str:
    """The key a typed path or URL is recorded under. Raises FetchError for a malformed URL."""
    return normalize_url(target) if is_url(target) else os.path.abspath(target)


@dataclass
class Resolved:
    specs: list[SourceSpec] = field(default_factory=list)
    prefetched: dict[str, Response] = field(default_factory=dict)  # a probe's answer, not asked for twice
    failed: list[str] = field(default_factory=list)  # the targets that could not be resolved


def resolve(targets: list[str], recorded: list[SourceSpec], fetcher: Callable[[], Fetcher],
            on_problem: ProblemHandler) -> Resolved:
    """Each target as a source: a recorded one as recorded; a new path by what it is; a new URL
    by what its server returns (RSS/Atom → feed, HTML → page). A URL that cannot be reached or
    is neither is reported and left out. `fetcher`: gives the Fetcher, made only when needed."""
    known = {s.location: s for s in recorded}
    out = Resolved()
    seen: set[str] = set()
    for target in targets:
        target = str(target)
        try:
            key = source_key(target)
        except FetchError as e:
            on_problem(f"{target}: {e}, skipped")
            out.failed.append(target)
            continue
        if key in seen:
            continue
        seen.add(key)
        if key in known:
            out.specs.append(known[key])
        elif not is_url(target):
            spec = spec_for_path(target)
            spec.added = now_iso()
            out.specs.append(spec)
        else:
            try:
                resp = fetcher().get(key, FEED_ACCEPT | PAGE_TYPES)
            except FetchError as e:
                on_problem(f"{key}: {e}, skipped")
                out.failed.append(target)
                continue
            kind = Kind.FEED if looks_like_feed(resp) else Kind.PAGE if resp.media_type in PAGE_TYPES else None
            if kind is None:
                on_problem(f"{key}: not a web page or an RSS/Atom feed (content type {resp.media_type or 'not given'}), skipped")
                out.failed.append(target)
                continue
            out.specs.append(SourceSpec(kind, key, added=now_iso()))
            out.prefetched[key] = resp
    return out
