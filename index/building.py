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
from typing import Callable, Iterable

import numpy as np

from .text.chunking import chunk_article, embedding_input
from .config import IndexConfig
from .embedding import Embedder
from .loading import load_changed, missing_sources
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

    def counts(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k in ("added", "changed", "removed", "unchanged", "chunks_embedded")}


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


def build(paths: Iterable[str | Path], cfg: IndexConfig, embedder: Embedder,
          on_problem: Callable[[str], None], progress: Progress | None = None,
          incremental: bool = False, prune: bool = False, wait: bool = True,
          on_wait: Callable[[str], None] | None = None) -> BuildReport:
    """Full rebuild (or, with `incremental`, an update) of the index at cfg.index_dir.

    A named source that does not exist stops it before anything changes (a mistyped folder must
    not read as "all its articles were deleted"), unless `prune` says its articles may go. One
    writer at a time: with `wait` a second one waits for the first (told through `on_wait`),
    without it gets IndexBusy."""
    paths = list(paths)
    missing = missing_sources(paths)
    if missing and not (incremental and prune):
        raise SourceMissing(f"no such file or folder: {', '.join(missing)}; nothing was changed"
                            + (" (to drop its articles from the index, add --prune)" if incremental else ""))
    check_faiss_spec(cfg.faiss_index, embedder.dimension)
    paths = [p for p in paths if str(p) not in missing]
    with writer_lock(cfg.index_dir, wait=wait, on_wait=on_wait):
        try:
            return _build_locked(paths, cfg, embedder, on_problem, progress, incremental)
        except sqlite3.OperationalError as e:
            raise WriteFailed(f"cannot write the index in {cfg.index_dir}: {e}; the previous index still serves") from None
        except OSError as e:
            if e.errno not in _WRITE_ERRNOS:
                raise
            raise WriteFailed(f"cannot write the index in {cfg.index_dir}: {e.strerror}; "
                              "the previous index still serves") from None


_WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EIO}


def _build_locked(paths: list, cfg: IndexConfig, embedder: Embedder, on_problem: Callable[[str], None],
                  progress: Progress | None, incremental: bool) -> BuildReport:
    report = BuildReport()
    t0 = time.perf_counter()

    def problem(msg: str) -> None:
        report.problems.append(msg)
        on_problem(msg)

    with contextlib.ExitStack() as closing:
        old: IndexReader | None = None
        old_articles: dict[str, ArticleState] = {}
        if incremental:
            old = closing.enter_context(contextlib.closing(IndexReader(check_updatable(cfg), mmap=False)))
            old_articles = old.articles()
        indexed: dict[str, tuple[str, list[str]]] = {}
        for art_id, st in old_articles.items():
            if st.file:
                indexed.setdefault(st.file, (st.file_stamp, []))[1].append(art_id)
        loaded = load_changed(paths, problem, indexed)
        vanished = missing_sources(paths)
        if vanished:
            raise SourceMissing(f"{', '.join(vanished)} vanished while it was being read: nothing was changed")
        articles = loaded.articles
        report.seconds["load"] = time.perf_counter() - t0
        loaded_ids = {a.id for a in articles}
        # articles of files not read again (same size and mtime), or that failed to read: carried over as they are
        untouched = sorted(loaded.unchanged | loaded.kept)
        if not articles and not untouched:
            raise NothingToIndex("no readable article in " + ", ".join(str(p) for p in paths)
                                 + ": the index was left as it was")

        fresh: list[Article] = []
        kept: list[Article] = []
        for art in articles:
            prev = old_articles.get(art.id)
            if prev is None:
                report.added += 1
                fresh.append(art)
            elif prev.content_hash != art.content_hash:
                report.changed += 1
                fresh.append(art)
            else:
                report.unchanged += 1
                kept.append(art)
        report.unchanged += len(untouched)
        seen = loaded_ids | set(untouched)
        report.removed = sum(1 for a in old_articles if a not in seen)

        t1 = time.perf_counter()
        chunks = chunk_articles(fresh, embedder, cfg)
        report.seconds["chunk"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        vectors, sentence_vectors = _embed(embedder, fresh, chunks, cfg, progress)
        report.seconds["embed"] = time.perf_counter() - t2
        report.chunks_embedded = sum(len(c) for c in chunks)

        t3 = time.perf_counter()
        clean_stale(cfg.index_dir)
        fresh_ids = {f.id for f in fresh}
        gone = {st.rowid for a, st in old_articles.items() if a not in seen or a in fresh_ids}
        if old is None or _should_compact(old, gone, bool(fresh)):
            kept += [old.article(old_articles[a].rowid) for a in untouched]
            segments, counters = _write_whole(cfg, embedder, old, old_articles, kept, fresh, chunks, vectors,
                                              sentence_vectors)
        else:
            segments, counters = _write_delta(cfg, embedder, old, gone, fresh, chunks, vectors, sentence_vectors)
        if segments is not None:
            published = publish(cfg.index_dir, {**_manifest(cfg, embedder), **counters, "segments": segments})
            manifest = read_manifest(published)
        else:  # nothing changed: the serving generation stays
            manifest = old.manifest
    report.seconds["store"] = time.perf_counter() - t3
    from .query_model import export_query_model

    t4 = time.perf_counter()
    report.query_model_error = export_query_model(embedder, cfg.index_dir)  # once per model; questions then skip torch
    report.seconds["query_model"] = time.perf_counter() - t4
    report.articles, report.chunks = manifest["articles"], manifest["chunks"]
    if not incremental:
        report.added, report.unchanged = len(articles), 0
    return report


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


def _write_whole(cfg, embedder, old, old_articles, kept, fresh, chunks, vectors, sentence_vectors):
    """One segment with every article: unchanged ones carried over (chunk ids, vectors and
    sentence vectors as they were, nothing re-embedded), new and changed ones added."""
    writer = SegmentWriter(Path(cfg.index_dir) / SEGMENTS, embedder.dimension, cfg.faiss_index, *_counters(old))
    try:
        for art in kept:
            rowid = old_articles[art.id].rowid
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


def _write_delta(cfg, embedder, old, gone, fresh, chunks, vectors, sentence_vectors):
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
        writer = SegmentWriter(Path(cfg.index_dir) / SEGMENTS, embedder.dimension, cfg.faiss_index,
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
