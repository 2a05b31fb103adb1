"""`index build` and `index update`: articles → chunks → vectors → a new generation, swapped in.

Update re-embeds only new and changed articles and carries the others' chunks and vectors over
from the serving generation, so its result equals a full build of the same sources.
"""
from __future__ import annotations

import contextlib
import errno
import sqlite3
import time
from pathlib import Path
from typing import Callable, Iterable

from .build_records import BuildReport, Mode, SourceReport
from .collecting import LazyFetcher, Refresh, SourceOutcome, SourceVanished
from .config import FetchConfig, IndexConfig
from .duplicates import group_batch
from .embedding import (EncoderLike, LazyEncoder, Progress, check_precision, chunk_articles, embed, manifest_shape,
                        matching_precision)
from .encoders.base import PassageEncoder
from .locking import writer_lock
from .planning import Job, plan
from .records import Article
from .sources import registry
from .sources.base import cutoff, now_iso
from .sources.addresses import is_url
from .sources.files import missing_paths
from .stores.base import ArticleState, Edit, IndexProblem, NoIndex, Store, StoreReader
from .stores.factory import open_store
from .text.terms import ANALYZER


class NothingToIndex(IndexProblem):
    pass


def check_updatable(cfg: IndexConfig, store: Store) -> dict:
    """The served manifest, if an update of it with these settings gives what a build would."""
    if not store.exists():
        raise NoIndex(f"no index in {store.where()} to update: build one with `citebot index build PATH...`")
    manifest = store.manifest(cfg.model)
    for key, value in cfg.chunking().items():
        if manifest.get(key) != value:
            raise IndexProblem(f"the index was built with {key}={manifest.get(key)}, the settings say {value}: "
                              "rebuild it with `citebot index build PATH...`")
    check_precision(manifest, cfg.dtype)
    return manifest


class SourceMissing(IndexProblem):
    pass


class WriteFailed(IndexProblem):
    """The disk refused the new index (full, read-only, permissions); the old one still serves."""


def build(paths: Iterable[str | Path], cfg: IndexConfig, encoder: EncoderLike,
          on_problem: Callable[[str], None], progress: Progress | None = None,
          incremental: bool = False, prune: bool = False, wait: bool = True,
          on_wait: Callable[[str], None] | None = None, *, keep_days: int = 0,
          fetch: FetchConfig | None = None, on_read: Callable[[int], None] | None = None) -> BuildReport:
    """Full rebuild from `paths` (files, folders, feed and page URLs), which become the recorded
    sources; or, with `incremental`, an update of the named sources (none named: every recorded
    source), recording any new ones, the others left as they are.

    A named path that does not exist stops it before anything changes (a mistyped folder must
    not read as "all its articles were deleted"), unless `prune` says its articles may go. One
    writer at a time: with `wait` a second one waits for the first (told through `on_wait`),
    without it gets IndexBusy. `keep_days` > 0: articles older than that go (retention).
    `on_read(n)`: the articles read so far, as they are read (a progress bar's first count)."""
    targets = [str(p) for p in paths]
    missing = missing_paths(t for t in targets if not is_url(t))
    if missing and not (incremental and prune):
        raise SourceMissing(f"no such file or folder: {', '.join(missing)}; nothing was changed"
                            + (" (to drop its articles from the index, add --prune)" if incremental else ""))
    job = Job([t for t in targets if t not in missing], Mode.UPDATE if incremental else Mode.BUILD,
               all_recorded=incremental and not targets, pruned=missing)
    return _locked(job, cfg, LazyEncoder(encoder), on_problem, progress, wait, on_wait, keep_days, fetch, on_read)


def add(targets: Iterable[str | Path], cfg: IndexConfig, encoder: EncoderLike,
        on_problem: Callable[[str], None], progress: Progress | None = None, wait: bool = True,
        on_wait: Callable[[str], None] | None = None, *, keep_days: int = 0,
        fetch: FetchConfig | None = None, on_read: Callable[[int], None] | None = None) -> BuildReport:
    """Record new sources (files, folders, page or feed URLs) and index them, beside what is
    indexed (the first `add` creates the index). Sources already recorded are refreshed."""
    targets = [str(t) for t in targets]
    missing = missing_paths(t for t in targets if not is_url(t))
    if missing:
        raise SourceMissing(f"no such file or folder: {', '.join(missing)}; nothing was changed")
    with open_store(cfg) as store:
        exists = store.exists()
    job = Job(targets, Mode.ADD, index_exists=exists)
    return _locked(job, cfg, LazyEncoder(encoder), on_problem, progress, wait, on_wait, keep_days, fetch, on_read)


def remove(targets: Iterable[str], cfg: IndexConfig, on_problem: Callable[[str], None], wait: bool = True,
           on_wait: Callable[[str], None] | None = None) -> BuildReport:
    """Drop recorded sources with all their articles, or single articles by id, URL or file (which
    a later refresh then does not index again). Anything unknown stops it before a change."""
    def no_model() -> PassageEncoder:
        raise AssertionError("a removal embeds nothing")

    job = Job([str(t) for t in targets], Mode.REMOVE)
    return _locked(job, cfg, LazyEncoder(no_model), on_problem, None, wait, on_wait, 0, None)


def _locked(job: Job, cfg: IndexConfig, model: LazyEncoder, on_problem, progress, wait, on_wait, keep_days,
            fetch, on_read=None) -> BuildReport:
    # the served index is checked once, under the lock: a writer waited for may have changed it
    with open_store(cfg) as store, writer_lock(cfg.index_dir, wait=wait, on_wait=on_wait):
        served = check_updatable(cfg, store) if job.incremental else None
        store.check_settings(int(served["dimension"]) if served else model.get().dimension)
        return _build_guarded(job, cfg, store, model, on_problem, progress, keep_days, fetch, on_read)


def _build_guarded(job: Job, cfg: IndexConfig, store: Store, model: LazyEncoder, on_problem, progress, keep_days,
                   fetch, on_read=None) -> BuildReport:
    """The disk refusing the local side of the index (full, read-only) is one line, not a crash."""
    try:
        return _build_locked(job, cfg, store, model, on_problem, progress, keep_days, fetch, on_read)
    except sqlite3.OperationalError as e:
        raise WriteFailed(f"cannot write the index in {cfg.index_dir}: {e}; the previous index still serves") from None
    except OSError as e:
        if e.errno not in _WRITE_ERRNOS:
            raise
        raise WriteFailed(f"cannot write the index in {cfg.index_dir}: {e.strerror}; "
                          "the previous index still serves") from None


_WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EIO}


def _build_locked(job: Job, cfg: IndexConfig, store: Store, model: LazyEncoder, on_problem: Callable[[str], None],
                  progress: Progress | None, keep_days: int, fetch: FetchConfig | None,
                  on_read: Callable[[int], None] | None = None) -> BuildReport:
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
        run, after, prefetched, drop = plan(job, recorded, old_articles, fetcher, problem)
        refresh = Refresh(run, old_articles, problem, fetcher, prefetched, cutoff(keep_days), drop,
                          cfg.max_article_bytes, on_read)
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
        why = None  # the precision's, when an update keeps the index's own
        if encoder is not None and old is not None:
            encoder, why = matching_precision(encoder, old.manifest, cfg.dtype)
        chunks = chunk_articles(fresh, encoder, cfg) if fresh else []
        report.seconds["chunk"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        vectors, sentence_vectors = embed(encoder, fresh, chunks, cfg, progress) if fresh else ([], [])
        report.seconds["embed"] = time.perf_counter() - t2
        report.chunks_embedded = sum(len(c) for c in chunks)

        t3 = time.perf_counter()
        sources = registry.manifest_entry(after)
        edit = Edit(_shape(cfg, encoder, old, why), sources, sources != before, fresh, chunks, vectors,
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
    report.precision, report.precision_why = manifest.get("precision"), manifest.get("precision_why")
    if not job.incremental:
        report.added, report.unchanged = len(articles), 0
    return report


def _shape(cfg: IndexConfig, encoder: PassageEncoder | None, old: StoreReader | None, why: str | None = None) -> dict:
    """The model's side of the manifest: from the model when it was loaded, else as served."""
    if encoder is not None:
        return manifest_shape(cfg, encoder, why)
    m = old.manifest
    return {"store": cfg.store, "model": m["model"], "dimension": m["dimension"], "max_seq_length": m.get("max_seq_length"),
            "dtype": m.get("dtype"), "precision": m.get("precision"), "precision_why": m.get("precision_why"),
            "faiss": cfg.faiss_index, "analyzer": ANALYZER, **cfg.chunking()}


def _source_report(outcome: SourceOutcome, manifest: dict) -> SourceReport:
    spec = outcome.spec
    items = [{"title": a.title, "published": a.published, "url": a.url, "id": a.id} for a in outcome.read]
    return SourceReport(spec.location, spec.kind.value, spec.title, len(outcome.read), outcome.error,
                        outcome.expired, outcome.failed_items, items[:MAX_REPORTED_ITEMS])


MAX_REPORTED_ITEMS = 20
