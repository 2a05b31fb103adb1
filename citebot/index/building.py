"""`index build` and `index update`: articles → chunks → vectors → a new generation, swapped in.

Update re-embeds only new and changed articles and carries the others' chunks and vectors over
from the serving generation, so its result equals a full build of the same sources.
"""
from __future__ import annotations

import contextlib
import errno
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Union

import numpy as np

from .text.chunking import chunk_article, embedding_input
from .text.terms import ANALYZER
from .build_records import BuildReport, Mode, SourceReport
from .config import FetchConfig, IndexConfig
from .encoders.base import PassageEncoder
from .collecting import LazyFetcher, Refresh, SourceOutcome, SourceVanished
from .sources import registry
from .sources.base import SourceSpec, cutoff, now_iso
from .duplicates import group_batch
from .sources.factory import resolve, source_key
from .sources.fetch import FetchError, is_url
from .sources.files import missing_paths
from .locking import writer_lock
from .records import Article, Chunk
from .stores.base import ArticleState, Edit, IndexProblem, NoIndex, Store, StoreReader
from .stores.factory import open_store

Progress = Callable[[int, int], None]  # (done, total)


class NothingToIndex(IndexProblem):
    pass


def chunk_articles(articles: list[Article], encoder: PassageEncoder, cfg: IndexConfig) -> list[list[Chunk]]:
    out = []
    title_counts = encoder.count_tokens([embedding_input(a.title, "") for a in articles])
    for art, title_tokens in zip(articles, title_counts):
        room = encoder.max_tokens - 2 - title_tokens  # [CLS] and [SEP]
        out.append(chunk_article(art, encoder.count_tokens, max(16, min(cfg.chunk_tokens, room)),
                                 cfg.chunk_overlap))
    return out


def _manifest(cfg: IndexConfig, encoder: PassageEncoder) -> dict:
    return {"store": cfg.store, "model": cfg.model, "dimension": encoder.dimension, "max_seq_length": encoder.max_tokens,
            "dtype": encoder.dtype, "faiss": cfg.faiss_index, "analyzer": ANALYZER, **cfg.chunking()}


def _embed(encoder: PassageEncoder, articles: list[Article], chunks: list[list[Chunk]], cfg: IndexConfig,
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

    flat, sent = encoder.encode_with_sentences(texts, spans, batch_size=cfg.batch_size, progress=tick)
    out, out_sent, pos = [], [], 0
    for cs in chunks:
        out.append(flat[pos:pos + len(cs)])
        out_sent.append(sent[pos:pos + len(cs)])
        pos += len(cs)
    return out, out_sent


def check_updatable(cfg: IndexConfig, store: Store) -> dict:
    """The served manifest, if an update of it with these settings gives what a build would."""
    if not store.exists():
        raise NoIndex(f"no index in {store.where()} to update: build one with `citebot index build PATH...`")
    manifest = store.manifest(cfg.model)
    for key, value in cfg.chunking().items():
        if manifest.get(key) != value:
            raise IndexProblem(f"the index was built with {key}={manifest.get(key)}, the settings say {value}: "
                              "rebuild it with `citebot index build PATH...`")
    return manifest


class SourceMissing(IndexProblem):
    pass


class WriteFailed(IndexProblem):
    """The disk refused the new index (full, read-only, permissions); the old one still serves."""


class NotRecorded(IndexProblem):
    """`index remove` named something that is neither a recorded source nor an indexed article."""


class NothingAdded(IndexProblem):
    """None of the sources given to `index add` could be read."""


EncoderLike = Union[PassageEncoder, Callable[[], PassageEncoder]]


class _Model:
    """The embedding model, loaded only when something must be embedded: a refresh that finds
    nothing new (the bot's every quarter hour) or a removal never loads PyTorch."""

    def __init__(self, given: EncoderLike):
        self._given = given
        self.loaded: PassageEncoder | None = None if callable(given) and not hasattr(given, "encode_with_sentences") else given

    def get(self) -> PassageEncoder:
        if self.loaded is None:
            self.loaded = self._given()
        return self.loaded


@dataclass
class _Job:
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


def build(paths: Iterable[str | Path], cfg: IndexConfig, encoder: EncoderLike,
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
    job = _Job([t for t in targets if t not in missing], Mode.UPDATE if incremental else Mode.BUILD,
               all_recorded=incremental and not targets, pruned=missing)
    return _locked(job, cfg, _Model(encoder), on_problem, progress, wait, on_wait, keep_days, fetch)


def add(targets: Iterable[str | Path], cfg: IndexConfig, encoder: EncoderLike,
        on_problem: Callable[[str], None], progress: Progress | None = None, wait: bool = True,
        on_wait: Callable[[str], None] | None = None, *, keep_days: int = 0,
        fetch: FetchConfig | None = None) -> BuildReport:
    """Record new sources (files, folders, page or feed URLs) and index them, beside what is
    indexed (the first `add` creates the index). Sources already recorded are refreshed."""
    targets = [str(t) for t in targets]
    missing = missing_paths(t for t in targets if not is_url(t))
    if missing:
        raise SourceMissing(f"no such file or folder: {', '.join(missing)}; nothing was changed")
    with open_store(cfg) as store:
        exists = store.exists()
    job = _Job(targets, Mode.ADD, index_exists=exists)
    return _locked(job, cfg, _Model(encoder), on_problem, progress, wait, on_wait, keep_days, fetch)


def remove(targets: Iterable[str], cfg: IndexConfig, on_problem: Callable[[str], None], wait: bool = True,
           on_wait: Callable[[str], None] | None = None) -> BuildReport:
    """Drop recorded sources with all their articles, or single articles by id, URL or file (which
    a later refresh then does not index again). Anything unknown stops it before a change."""
    def no_model() -> PassageEncoder:
        raise AssertionError("a removal embeds nothing")

    job = _Job([str(t) for t in targets], Mode.REMOVE)
    return _locked(job, cfg, _Model(no_model), on_problem, None, wait, on_wait, 0, None)


def _locked(job: _Job, cfg: IndexConfig, model: _Model, on_problem, progress, wait, on_wait, keep_days,
            fetch) -> BuildReport:
    # the served index is checked once, under the lock: a writer waited for may have changed it
    with open_store(cfg) as store, writer_lock(cfg.index_dir, wait=wait, on_wait=on_wait):
        served = check_updatable(cfg, store) if job.incremental else None
        store.check_settings(int(served["dimension"]) if served else model.get().dimension)
        return _build_guarded(job, cfg, store, model, on_problem, progress, keep_days, fetch)


def _build_guarded(job: _Job, cfg: IndexConfig, store: Store, model: _Model, on_problem, progress, keep_days,
                   fetch) -> BuildReport:
    """The disk refusing the local side of the index (full, read-only) is one line, not a crash."""
    try:
        return _build_locked(job, cfg, store, model, on_problem, progress, keep_days, fetch)
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


def _build_locked(job: _Job, cfg: IndexConfig, store: Store, model: _Model, on_problem: Callable[[str], None],
                  progress: Progress | None, keep_days: int, fetch: FetchConfig | None) -> BuildReport:
    report = BuildReport()
    t0 = time.perf_counter()

    def problem(msg: str) -> None:
        report.problems.append(msg)
        on_problem(msg)

    fetcher = LazyFetcher(fetch)
    with contextlib.ExitStack() as closing:
        closing.callback(fetcher.close)
        old: StoreReader | None = None
        old_articles: dict[str, ArticleState] = {}
        if job.incremental:  # checked by _locked
            old = closing.enter_context(contextlib.closing(store.open(cfg.model, writing=True)))
            old_articles = old.articles()
        recorded = registry.recorded(old.manifest if old else None)
        before = registry.manifest_entry(recorded)
        run, after, prefetched, drop = _plan(job, recorded, old_articles, fetcher, problem)
        refresh = Refresh(run, old_articles, problem, fetcher, prefetched, cutoff(keep_days), drop)
        try:
            change = refresh.collect()
        except SourceVanished as e:
            raise SourceMissing(f"{e} vanished while it was being read: nothing was changed") from None
        if job.adding:  # a new source whose first read failed is not recorded: `add` reports it as not added
            recorded_keys = {s.location for s in recorded}
            new_failed = {o.spec.location for o in change.outcomes if o.error and o.spec.location not in recorded_keys}
            after = [s for s in after if s.location not in new_failed]
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
        encoder = model.get() if fresh else model.loaded
        chunks = chunk_articles(fresh, encoder, cfg) if fresh else []
        report.seconds["chunk"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        vectors, sentence_vectors = _embed(encoder, fresh, chunks, cfg, progress) if fresh else ([], [])
        report.seconds["embed"] = time.perf_counter() - t2
        report.chunks_embedded = sum(len(c) for c in chunks)

        t3 = time.perf_counter()
        sources = registry.manifest_entry(after)
        edit = Edit(_shape(cfg, encoder, old), sources, sources != before, fresh, chunks, vectors,
                    sentence_vectors, kept, untouched, gone, old_articles)
        manifest = store.write(old, edit) or old.manifest  # None: nothing changed, the served index stays
        registry.write_status(cfg.index_dir, change.status, {s.location for s in after})
    report.seconds["store"] = time.perf_counter() - t3
    report.sources = [_source_report(o, manifest) for o in change.outcomes]
    report.unresolved = list(job.unresolved)
    if encoder is not None:
        from .encoders.onnx_query import export_query_model

        t4 = time.perf_counter()
        report.query_model_error = export_query_model(encoder, cfg.index_dir)  # once per model; questions then skip torch
        report.seconds["query_model"] = time.perf_counter() - t4
    report.articles, report.chunks = manifest["articles"], manifest["chunks"]
    if not job.incremental:
        report.added, report.unchanged = len(articles), 0
    return report


def _shape(cfg: IndexConfig, encoder: PassageEncoder | None, old: StoreReader | None) -> dict:
    """The model's side of the manifest: from the model when it was loaded, else as served."""
    if encoder is not None:
        return _manifest(cfg, encoder)
    m = old.manifest
    return {"store": cfg.store, "model": m["model"], "dimension": m["dimension"], "max_seq_length": m.get("max_seq_length"),
            "dtype": m.get("dtype"), "faiss": cfg.faiss_index, "analyzer": ANALYZER, **cfg.chunking()}


def _source_report(outcome: SourceOutcome, manifest: dict) -> SourceReport:
    spec = outcome.spec
    items = [{"title": a.title, "published": a.published, "url": a.url, "id": a.id} for a in outcome.read]
    return SourceReport(spec.location, spec.kind.value, spec.title, len(outcome.read), outcome.error,
                        outcome.expired, outcome.failed_items, items[:MAX_REPORTED_ITEMS])


MAX_REPORTED_ITEMS = 20


def status(cfg: IndexConfig) -> dict:
    with open_store(cfg) as store:
        info = store.status()
    return {**info, "compatible_with_settings": info.get("model") == cfg.model}


def check(cfg: IndexConfig) -> tuple[str, str, list[str]]:
    """(where the index is, which version is served, every damaged part of it: one line each)."""
    with open_store(cfg) as store:
        return store.where(), store.pointer() or "", store.check()


def list_sources(cfg: IndexConfig) -> list[dict]:
    """Each recorded source with its kind, articles served, newest article date, and how its
    last refresh went (`citebot index sources`, the bot's /sources)."""
    with open_store(cfg) as store:
        if not store.exists():
            raise NoIndex(f"no index in {store.where()}: build one with `citebot index build PATH...` "
                          "or add a source with `citebot index add SOURCE...`")
        with contextlib.closing(store.open()) as reader:
            served = reader.articles()
            specs = registry.recorded(reader.manifest)
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
