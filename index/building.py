"""`index build` and `index update`: articles → chunks → vectors → a new generation, swapped in.

Update re-embeds only new and changed articles and carries the others' chunks and vectors over
from the serving generation, so its result equals a full build of the same sources.
"""
from __future__ import annotations

import contextlib
import errno
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Union

import numpy as np

from .text.chunking import chunk_article, embedding_input
from .config import FetchConfig, IndexConfig
from .embedding import Embedder
from .collecting import LazyFetcher, Refresh, SourceOutcome, SourceVanished
from .sources import registry
from .sources.base import SourceSpec, cutoff, now_iso
from .sources.dedup import group_batch
from .sources.factory import resolve, source_key
from .sources.fetch import FetchError, is_url
from .sources.files import missing_paths
from .locking import writer_lock
from .records import Article, Chunk
from .vectors import check_faiss_spec
from .segment import ArticleState, SegmentWriter
from .store import (SEGMENTS, IndexError_, IndexReader, NoIndex, check_compatible, clean_stale, current_generation,
                    generation_size, publish, read_manifest)

Progress = Callable[[int, int], None]  # (done, total)


class NothingToIndex(IndexError_):
    pass


@dataclass
class BuildReport:
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    articles: int = 0
    chunks: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    query_model_error: str | None = None  # why questions will need PyTorch, when the export failed
    expired: int = 0  # articles dropped by retention (counted in `removed` when they were indexed)
    sources: list["SourceReport"] = field(default_factory=list)  # each source read, how it went

    def counts(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k in ("added", "changed", "removed", "unchanged", "chunks_embedded")}


@dataclass
class SourceReport:
    location: str
    kind: str
    title: str | None
    read: int  # articles read now (new, changed or the same)
    error: str | None
    expired: int
    failed_items: int
    items: list[dict]  # title, published, url and id of the articles read (the first few)


def chunk_articles(articles: list[Article], embedder: Embedder, cfg: IndexConfig) -> list[list[Chunk]]:
    out = []
    title_counts = embedder.count_tokens([embedding_input(a.title, "") for a in articles])
    for art, title_tokens in zip(articles, title_counts):
        room = embedder.max_tokens - 2 - title_tokens  # [CLS] and [SEP]
        out.append(chunk_article(art, embedder.count_tokens, max(16, min(cfg.chunk_tokens, room)),
                                 cfg.chunk_overlap))
    return out


def _manifest(cfg: IndexConfig, embedder: Embedder) -> dict:
    return {"model": cfg.model, "dimension": embedder.dimension, "max_seq_length": embedder.max_tokens,
            "dtype": embedder.dtype, "faiss": cfg.faiss_index, **cfg.chunking()}


def _embed(embedder: Embedder, articles: list[Article], chunks: list[list[Chunk]], cfg: IndexConfig,
           progress: Progress | None) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Chunk vectors and, per chunk, its sentences' vectors (grouped by article)."""
    texts, spans = [], []
    for a, cs in zip(articles, chunks):
        for c in cs:
            text = embedding_input(a.title, c.text)
            shift = len(text) - len(c.text) - c.start  # article offset → offset in the model's input
            texts.append(text)
            spans.append([(s + shift, e + shift) for s, e in c.sentences])
    total, done = len(texts), 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    flat, sent = embedder.encode_with_sentences(texts, spans, batch_size=cfg.batch_size, progress=tick)
    out, out_sent, pos = [], [], 0
    for cs in chunks:
        out.append(flat[pos:pos + len(cs)])
        out_sent.append(sent[pos:pos + len(cs)])
        pos += len(cs)
    return out, out_sent


def check_updatable(cfg: IndexConfig) -> Path:
    """The serving generation, if an update of it with these settings gives what a build would."""
    gen = current_generation(cfg.index_dir)
    if gen is None:
        raise NoIndex(f"no index in {cfg.index_dir} to update: build one with `citebot index build PATH...`")
    manifest = read_manifest(gen)
    check_compatible(manifest, cfg.model)
    for key, value in cfg.chunking().items():
        if manifest.get(key) != value:
            raise IndexError_(f"the index was built with {key}={manifest.get(key)}, the settings say {value}: "
                              "rebuild it with `citebot index build PATH...`")
    return gen


class SourceMissing(IndexError_):
    pass


class WriteFailed(IndexError_):
    """The disk refused the new index (full, read-only, permissions); the old one still serves."""


class NotRecorded(IndexError_):
    """`index remove` named something that is neither a recorded source nor an indexed article."""


class NothingAdded(IndexError_):
    """None of the sources given to `index add` could be read."""


EmbedderLike = Union[Embedder, Callable[[], Embedder]]


class _Model:
    """The embedding model, loaded only when something must be embedded: a refresh that finds
    nothing new (the bot's every quarter hour) or a removal never loads PyTorch."""

    def __init__(self, given: EmbedderLike):
        self._given = given
        self.loaded: Embedder | None = None if callable(given) and not hasattr(given, "encode_with_sentences") else given

    def get(self) -> Embedder:
        if self.loaded is None:
            self.loaded = self._given()
        return self.loaded


@dataclass
class _Job:
    """What one call asks for, settled before the writer lock is taken."""
    targets: list[str]  # as typed: paths and URLs
    incremental: bool
    all_recorded: bool = False  # `index update` with no SOURCE
    pruned: list[str] = field(default_factory=list)  # named paths that are gone, whose articles go
    adding: bool = False
    removing: bool = False


def build(paths: Iterable[str | Path], cfg: IndexConfig, embedder: EmbedderLike,
          on_problem: Callable[[str], None], progress: Progress | None = None,
          incremental: bool = False, prune: bool = False, wait: bool = True,
          on_wait: Callable[[str], None] | None = None, *, keep_days: int = 0,
          fetch: FetchConfig | None = None) -> BuildReport:
    """Full rebuild from `paths` (files, folders, feed and page URLs), which become the recorded
    sources; or, with `incremental`, an update of the named sources (none named: every recorded
    source), recording any new ones, the others left as they are.

    A named path that does not exist stops it before anything changes (a mistyped folder must
    not read as "all its articles were deleted"), unless `prune` says its articles may go. One
    writer at a time: with `wait` a second one waits for the first (told through `on_wait`),
    without it gets IndexBusy. `keep_days` > 0: articles older than that go (retention)."""
    targets = [str(p) for p in paths]
    missing = missing_paths(t for t in targets if not is_url(t))
    if missing and not (incremental and prune):
        raise SourceMissing(f"no such file or folder: {', '.join(missing)}; nothing was changed"
                            + (" (to drop its articles from the index, add --prune)" if incremental else ""))
    job = _Job([t for t in targets if t not in missing], incremental, all_recorded=incremental and not targets,
               pruned=missing)
    return _locked(job, cfg, _Model(embedder), on_problem, progress, wait, on_wait, keep_days, fetch)


def add(targets: Iterable[str | Path], cfg: IndexConfig, embedder: EmbedderLike,
        on_problem: Callable[[str], None], progress: Progress | None = None, wait: bool = True,
        on_wait: Callable[[str], None] | None = None, *, keep_days: int = 0,
        fetch: FetchConfig | None = None) -> BuildReport:
    """Record new sources (files, folders, page or feed URLs) and index them, beside what is
    indexed (the first `add` creates the index). Sources already recorded are refreshed."""
    targets = [str(t) for t in targets]
    missing = missing_paths(t for t in targets if not is_url(t))
    if missing:
        raise SourceMissing(f"no such file or folder: {', '.join(missing)}; nothing was changed")
    incremental = current_generation(cfg.index_dir) is not None
    job = _Job(targets, incremental, adding=True)
    return _locked(job, cfg, _Model(embedder), on_problem, progress, wait, on_wait, keep_days, fetch)


def remove(targets: Iterable[str], cfg: IndexConfig, on_problem: Callable[[str], None], wait: bool = True,
           on_wait: Callable[[str], None] | None = None) -> BuildReport:
    """Drop recorded sources with all their articles, or single articles by id, URL or file (which
    a later refresh then does not index again). Anything unknown stops it before a change."""
    def no_model() -> Embedder:
        raise AssertionError("a removal embeds nothing")

    job = _Job([str(t) for t in targets], True, removing=True)
    return _locked(job, cfg, _Model(no_model), on_problem, None, wait, on_wait, 0, None)


def _locked(job: _Job, cfg: IndexConfig, model: _Model, on_problem, progress, wait, on_wait, keep_days,
            fetch) -> BuildReport:
    if job.incremental:
        dimension = int(read_manifest(check_updatable(cfg))["dimension"])
    else:
        dimension = model.get().dimension
    check_faiss_spec(cfg.faiss_index, dimension)
    with writer_lock(cfg.index_dir, wait=wait, on_wait=on_wait):
        try:
            return _build_locked(job, cfg, model, on_problem, progress, keep_days, fetch)
        except sqlite3.OperationalError as e:
            raise WriteFailed(f"cannot write the index in {cfg.index_dir}: {e}; the previous index still serves") from None
        except OSError as e:
            if e.errno not in _WRITE_ERRNOS:
                raise
            raise WriteFailed(f"cannot write the index in {cfg.index_dir}: {e.strerror}; "
                              "the previous index still serves") from None


_WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EIO}


def _plan(job: _Job, recorded: list[SourceSpec], old_articles: dict[str, ArticleState],
          fetcher: LazyFetcher, problem: Callable[[str], None]) -> tuple[list[SourceSpec], list[SourceSpec], dict, set[str]]:
    """(sources to read now, the recorded sources after, probes already answered, article ids that go)."""
    if job.removing:
        after, drop = _removal(job.targets, recorded, old_articles)
        return [], after, {}, drop
    if job.all_recorded:
        if not recorded:
            raise NotRecorded("no recorded sources to update: add one with `citebot index add SOURCE...`")
        return list(recorded), list(recorded), {}, set()
    resolved = resolve(job.targets, recorded, fetcher, problem)
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


def _removal(targets: list[str], recorded: list[SourceSpec],
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


def _build_locked(job: _Job, cfg: IndexConfig, model: _Model, on_problem: Callable[[str], None],
                  progress: Progress | None, keep_days: int, fetch: FetchConfig | None) -> BuildReport:
    report = BuildReport()
    t0 = time.perf_counter()

    def problem(msg: str) -> None:
        report.problems.append(msg)
        on_problem(msg)

    fetcher = LazyFetcher(fetch)
    with contextlib.ExitStack() as closing:
        closing.callback(fetcher.close)
        old: IndexReader | None = None
        old_articles: dict[str, ArticleState] = {}
        if job.incremental:
            old = closing.enter_context(contextlib.closing(IndexReader(check_updatable(cfg), mmap=False)))
            old_articles = old.articles()
        recorded = registry.recorded(old.manifest if old else None)
        before = registry.manifest_entry(recorded)
        run, after, prefetched, drop = _plan(job, recorded, old_articles, fetcher, problem)
        refresh = Refresh(run, old_articles, problem, fetcher, prefetched, cutoff(keep_days), drop)
        try:
            change = refresh.collect()
        except SourceVanished as e:
            raise SourceMissing(f"{e} vanished while it was being read: nothing was changed") from None
        articles = change.articles
        report.seconds["load"] = time.perf_counter() - t0
        if not articles and not change.carried and not job.removing:
            raise NothingToIndex("no readable article in " + ", ".join(s.location for s in run)
                                 + ": the index was left as it was")

        now = now_iso()
        fresh: list[Article] = []
        kept: list[Article] = []
        for art in articles:
            prev = old_articles.get(art.id)
            art.added = prev.added if prev is not None and prev.added else now
            if prev is None:
                report.added += 1
                fresh.append(art)
            elif prev.content_hash != art.content_hash:
                report.changed += 1
                fresh.append(art)
            else:
                report.unchanged += 1
                kept.append(art)
        untouched = sorted(change.carried - {a.id for a in articles})
        report.unchanged += len(untouched)
        seen = {a.id for a in articles} | set(untouched)
        report.removed = sum(1 for a in old_articles if a not in seen)
        report.expired = change.expired
        fresh_ids = {f.id for f in fresh}
        gone = {st.rowid for a, st in old_articles.items() if a not in seen or a in fresh_ids}
        group_batch(fresh, (lambda keys: old.lsh_candidates(keys, gone)) if old is not None else None)

        t1 = time.perf_counter()
        embedder = model.get() if fresh else model.loaded
        chunks = chunk_articles(fresh, embedder, cfg) if fresh else []
        report.seconds["chunk"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        vectors, sentence_vectors = _embed(embedder, fresh, chunks, cfg, progress) if fresh else ([], [])
        report.seconds["embed"] = time.perf_counter() - t2
        report.chunks_embedded = sum(len(c) for c in chunks)

        t3 = time.perf_counter()
        clean_stale(cfg.index_dir)
        shape = _shape(cfg, embedder, old)
        if old is None or _should_compact(old, gone, bool(fresh)):
            kept += [old.article(old_articles[a].rowid) for a in untouched] if old is not None else []
            segments, counters = _write_whole(cfg, shape["dimension"], old, old_articles, kept, fresh, chunks,
                                              vectors, sentence_vectors)
        else:
            segments, counters = _write_delta(cfg, shape["dimension"], old, gone, fresh, chunks, vectors,
                                              sentence_vectors)
        sources = registry.manifest_entry(after)
        if segments is None and sources != before:  # only the sources' record changed (a feed's validators)
            segments = old.manifest["segments"]
            counters = {k: old.manifest[k] for k in ("next_chunk_id", "next_article_rowid")}
        if segments is not None:
            published = publish(cfg.index_dir, {**shape, **counters, "segments": segments, "sources": sources})
            manifest = read_manifest(published)
        else:  # nothing changed: the serving generation stays
            manifest = old.manifest
        registry.write_status(cfg.index_dir, change.status, {s.location for s in after})
    report.seconds["store"] = time.perf_counter() - t3
    report.sources = [_source_report(o, manifest) for o in change.outcomes]
    if embedder is not None:
        from .query_model import export_query_model

        t4 = time.perf_counter()
        report.query_model_error = export_query_model(embedder, cfg.index_dir)  # once per model; questions then skip torch
        report.seconds["query_model"] = time.perf_counter() - t4
    report.articles, report.chunks = manifest["articles"], manifest["chunks"]
    if not job.incremental:
        report.added, report.unchanged = len(articles), 0
    return report


def _shape(cfg: IndexConfig, embedder: Embedder | None, old: IndexReader | None) -> dict:
    """The model's side of the manifest: from the model when it was loaded, else as served."""
    if embedder is not None:
        return _manifest(cfg, embedder)
    m = old.manifest
    return {"model": m["model"], "dimension": m["dimension"], "max_seq_length": m.get("max_seq_length"),
            "dtype": m.get("dtype"), "faiss": cfg.faiss_index, **cfg.chunking()}


def _source_report(outcome: SourceOutcome, manifest: dict) -> SourceReport:
    spec = outcome.spec
    items = [{"title": a.title, "published": a.published, "url": a.url, "id": a.id} for a in outcome.read]
    return SourceReport(spec.location, spec.kind.value, spec.title, len(outcome.read), outcome.error,
                        outcome.expired, outcome.failed_items, items[:MAX_REPORTED_ITEMS])


MAX_REPORTED_ITEMS = 20


MAX_SEGMENTS = 8
MAX_DELETED_SHARE = 0.3


def _should_compact(old: IndexReader, gone: set[int], adds_segment: bool) -> bool:
    """Rewrite everything into one segment when updates have piled up: many segments make every
    query fan out further, and deleted chunks still cost search time and disk."""
    if len(old.segments) + adds_segment > MAX_SEGMENTS:
        return True
    total = sum(s["chunks"] for s in old.manifest["segments"]) or 1
    deleted = sum(s.get("deleted_chunks", 0) for s in old.manifest["segments"])
    deleted += sum(len(old.article_chunks(r)) for r in gone)
    return deleted / total > MAX_DELETED_SHARE


def _counters(old: IndexReader | None) -> tuple[int, int]:
    if old is None:
        return 1, 1
    return int(old.manifest["next_chunk_id"]), int(old.manifest["next_article_rowid"])


def _add_fresh(writer: SegmentWriter, fresh, chunks, vectors, sentence_vectors) -> None:
    for art, cs, vecs, svecs in zip(fresh, chunks, vectors, sentence_vectors):
        writer.add_article(art, cs, vecs, sentence_vectors=svecs)


def _write_whole(cfg, dimension, old, old_articles, kept, fresh, chunks, vectors, sentence_vectors):
    """One segment with every article: unchanged ones carried over (chunk ids, vectors and
    sentence vectors as they were, nothing re-embedded), new and changed ones added."""
    writer = SegmentWriter(Path(cfg.index_dir) / SEGMENTS, dimension, cfg.faiss_index, *_counters(old))
    try:
        for art in kept:
            rowid = old_articles[art.id].rowid
            if art.signature is None:  # read again unchanged: its grouping stays as indexed
                was = old.article(rowid)
                art.signature, art.dup_group, art.added = was.signature, was.dup_group, was.added
            rows = old.article_chunks(rowid)
            ids = [r[0] for r in rows]
            sentences = old.sentences(ids)
            carried = [Chunk(art.id, r[1], r[2], r[3], r[4], r[0], [sp for sp, _ in sentences[r[0]]]) for r in rows]
            writer.add_article(art, carried, old.vectors(ids), chunk_ids=ids,
                               sentence_vectors=[np.array([v for _, v in sentences[i]]) for i in ids])
        _add_fresh(writer, fresh, chunks, vectors, sentence_vectors)
        entry = writer.finish()
    except BaseException:
        writer.abort()
        raise
    return [entry], {"next_chunk_id": writer.next_chunk_id, "next_article_rowid": writer.next_article_rowid}


def _write_delta(cfg, dimension, old, gone, fresh, chunks, vectors, sentence_vectors):
    """The old segments as they are, with changed and removed articles marked deleted, plus one
    small segment of new and changed articles: an update's cost follows its size, not the index's."""
    if not gone and not fresh:
        return None, {}
    segments = [dict(s, deleted=list(s.get("deleted", []))) for s in old.manifest["segments"]]
    for entry, seg in zip(segments, old.segments):
        for rowid in sorted(gone):
            if seg.owns_article(rowid):
                entry["deleted"].append(rowid)
                entry["deleted_chunks"] = entry.get("deleted_chunks", 0) + len(seg.article_chunks(rowid))
    next_chunk, next_article = _counters(old)
    if fresh:
        writer = SegmentWriter(Path(cfg.index_dir) / SEGMENTS, dimension, cfg.faiss_index,
                               next_chunk, next_article)
        try:
            _add_fresh(writer, fresh, chunks, vectors, sentence_vectors)
            segments.append(writer.finish())
        except BaseException:
            writer.abort()
            raise
        next_chunk, next_article = writer.next_chunk_id, writer.next_article_rowid
    return segments, {"next_chunk_id": next_chunk, "next_article_rowid": next_article}


def status(cfg: IndexConfig) -> dict:
    gen = current_generation(cfg.index_dir)
    if gen is None:
        raise NoIndex(f"no index in {cfg.index_dir}: build one with `citebot index build PATH...`")
    m = read_manifest(gen)
    reader = IndexReader(gen)
    try:
        latest = reader.latest_published()
    finally:
        reader.close()
    return {"index_dir": str(cfg.index_dir), "generation": gen.name, "articles": m.get("articles"),
            "chunks": m.get("chunks"), "model": m.get("model"), "dimension": m.get("dimension"),
            "dtype": m.get("dtype"),
            "faiss_index": ", ".join(sorted({s.get("faiss_index", "?") for s in m.get("segments", [])})),
            "chunk_tokens": m.get("chunk_tokens"), "chunk_overlap": m.get("chunk_overlap"),
            "built_at": m.get("built_at"), "latest_published": latest, "size_bytes": generation_size(gen), "segments": len(m.get("segments", [])),
            "format": m.get("format"), "compatible_with_settings": m.get("model") == cfg.model}


def list_sources(cfg: IndexConfig) -> list[dict]:
    """Each recorded source with its kind, articles served, newest article date, and how its
    last refresh went (`citebot index sources`, the bot's /sources)."""
    gen = current_generation(cfg.index_dir)
    if gen is None:
        raise NoIndex(f"no index in {cfg.index_dir}: build one with `citebot index build PATH...` "
                      "or add a source with `citebot index add SOURCE...`")
    reader = IndexReader(gen)
    try:
        served = reader.articles()
        specs = registry.recorded(reader.manifest)
    finally:
        reader.close()
    counts: dict[str | None, int] = {}
    newest: dict[str | None, str] = {}
    for st in served.values():
        counts[st.source_key] = counts.get(st.source_key, 0) + 1
        if st.dated and st.dated > newest.get(st.source_key, ""):
            newest[st.source_key] = st.dated
    status = registry.read_status(cfg.index_dir)
    out = []
    for spec in specs:
        st = status.get(spec.location, registry.SourceStatus())
        out.append({"kind": spec.kind.value, "location": spec.location, "title": spec.title,
                    "policy": spec.policy.value, "articles": counts.get(spec.location, 0),
                    "newest": newest.get(spec.location), "added": spec.added, "last_refresh": st.refreshed,
                    "last_ok": st.ok, "last_error": st.error, "failed_items": st.failed_items,
                    "removed_by_hand": len(spec.excluded)})
    return out
