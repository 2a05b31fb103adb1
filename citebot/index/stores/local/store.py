"""The local store: one folder of immutable segments (SQLite + FAISS + BM25 postings) and small
generations naming the segments served (generations.py). A build writes one segment; an update
one small segment of the new and changed articles, marking the replaced ones deleted, and
compacts everything into one segment when updates pile up.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...records import Chunk
from ..base import Closes, Edit, NoIndex
from .generations import (CURRENT, FORMAT_VERSION, SEGMENTS, check_compatible, check_generation, clean_stale,
                          current_generation, generation_size, publish, read_manifest)
from .reader import IndexReader
from .segment_writer import SegmentWriter
from .vectors import check_faiss_spec

MAX_SEGMENTS = 8
MAX_DELETED_SHARE = 0.3


class LocalStore(Closes):
    kind = "local"
    format_version = FORMAT_VERSION

    @classmethod
    def from_config(cls, cfg) -> "LocalStore":
        return cls(cfg.index_dir, cfg.faiss_index)

    def __init__(self, index_dir: Path, faiss_index: str = "auto"):
        self.index_dir = Path(index_dir)
        self.faiss_index = faiss_index

    def where(self) -> str:
        return str(self.index_dir)

    def pointer(self) -> str | None:
        try:
            return (self.index_dir / CURRENT).read_text().strip()
        except OSError:
            return None

    def exists(self) -> bool:
        return current_generation(self.index_dir) is not None

    def _generation(self) -> Path:
        gen = current_generation(self.index_dir)
        if gen is None:
            raise NoIndex(f"no index in {self.index_dir}: build one with `citebot index build PATH...`")
        return gen

    def manifest(self, model: str | None = None) -> dict:
        manifest = read_manifest(self._generation())
        check_compatible(manifest, model)
        return manifest

    def open(self, model: str | None = None, writing: bool = False) -> IndexReader:
        gen = self._generation()
        if not writing:  # a writer has checked the manifest already, with its own message
            check_compatible(read_manifest(gen), model)
        return IndexReader(gen, mmap=not writing)

    def check_settings(self, dimension: int) -> None:
        check_faiss_spec(self.faiss_index, dimension)

    def close(self) -> None:
        pass

    # -- writing ----------------------------------------------------------------------------------
    def write(self, old: IndexReader | None, edit: Edit) -> dict | None:
        clean_stale(self.index_dir)
        dimension = edit.shape["dimension"]
        if old is None or _should_compact(old, edit.gone, bool(edit.fresh)):
            kept = edit.kept + ([old.article(edit.old_articles[a].rowid) for a in edit.untouched]
                                if old is not None else [])
            segments, counters = self._write_whole(dimension, old, edit, kept)
        else:
            segments, counters = self._write_delta(dimension, old, edit)
        if segments is None and edit.sources_changed:  # only the sources' record changed (a feed's validators)
            segments = old.manifest["segments"]
            counters = {k: old.manifest[k] for k in ("next_chunk_id", "next_article_rowid")}
        if segments is None:  # nothing changed: the serving generation stays
            return None
        published = publish(self.index_dir, {**edit.shape, **counters, "segments": segments,
                                             "sources": edit.sources})
        return read_manifest(published)

    def _writer(self, dimension: int, next_chunk: int, next_article: int) -> SegmentWriter:
        return SegmentWriter(self.index_dir / SEGMENTS, dimension, self.faiss_index, next_chunk, next_article)

    def _write_whole(self, dimension, old, edit: Edit, kept):
        """One segment with every article: unchanged ones carried over (chunk ids, vectors and
        sentence vectors as they were, nothing re-embedded), new and changed ones added."""
        writer = self._writer(dimension, *_counters(old))
        try:
            for art in kept:
                rowid = edit.old_articles[art.id].rowid
                if art.signature is None:  # read again unchanged: its grouping stays as indexed
                    was = old.article(rowid)
                    art.signature, art.dup_group, art.added = was.signature, was.dup_group, was.added
                rows = old.article_chunks(rowid)
                ids = [r[0] for r in rows]
                sentences = old.sentences(ids)
                carried = [Chunk(art.id, r[1], r[2], r[3], r[4], r[0], [sp for sp, _ in sentences[r[0]]])
                           for r in rows]
                writer.add_article(art, carried, old.vectors(ids), chunk_ids=ids,
                                   sentence_vectors=[np.array([v for _, v in sentences[i]]) for i in ids])
            _add_fresh(writer, edit)
            entry = writer.finish()
        except BaseException:
            writer.abort()
            raise
        return [entry], {"next_chunk_id": writer.next_chunk_id, "next_article_rowid": writer.next_article_rowid}

    def _write_delta(self, dimension, old, edit: Edit):
        """The old segments as they are, with changed and removed articles marked deleted, plus one
        small segment of new and changed articles: an update's cost follows its size, not the index's."""
        if not edit.gone and not edit.fresh:
            return None, {}
        segments = [dict(s, deleted=list(s.get("deleted", []))) for s in old.manifest["segments"]]
        for entry, seg in zip(segments, old.segments):
            for rowid in sorted(edit.gone):
                if seg.owns_article(rowid):
                    entry["deleted"].append(rowid)
                    entry["deleted_chunks"] = entry.get("deleted_chunks", 0) + len(seg.article_chunks(rowid))
        next_chunk, next_article = _counters(old)
        if edit.fresh:
            writer = self._writer(dimension, next_chunk, next_article)
            try:
                _add_fresh(writer, edit)
                segments.append(writer.finish())
            except BaseException:
                writer.abort()
                raise
            next_chunk, next_article = writer.next_chunk_id, writer.next_article_rowid
        return segments, {"next_chunk_id": next_chunk, "next_article_rowid": next_article}

    # -- inspecting -------------------------------------------------------------------------------
    def status(self) -> dict:
        gen = self._generation()
        m = read_manifest(gen)
        reader = IndexReader(gen)
        try:
            latest = reader.latest_published()
        finally:
            reader.close()
        return {"store": "local", "index_dir": str(self.index_dir), "generation": gen.name,
                "articles": m.get("articles"), "chunks": m.get("chunks"), "model": m.get("model"),
                "dimension": m.get("dimension"), "dtype": m.get("dtype"),
                "precision": m.get("precision") or m.get("dtype"), "precision_why": m.get("precision_why"),
                "faiss_index": ", ".join(sorted({s.get("faiss_index", "?") for s in m.get("segments", [])})),
                "chunk_tokens": m.get("chunk_tokens"), "chunk_overlap": m.get("chunk_overlap"),
                "built_at": m.get("built_at"), "latest_published": latest, "size_bytes": generation_size(gen),
                "segments": len(m.get("segments", [])), "format": m.get("format")}

    def check(self) -> list[str]:
        return check_generation(self._generation())


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


def _add_fresh(writer: SegmentWriter, edit: Edit) -> None:
    for art, cs, vecs, svecs in zip(edit.fresh, edit.chunks, edit.vectors, edit.sentence_vectors):
        writer.add_article(art, cs, vecs, sentence_vectors=svecs)
