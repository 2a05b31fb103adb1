"""Writing one segment (segments.py reads it): articles, chunks and sentence vectors into SQLite,
BM25 postings, the chunk vectors and a FAISS index, written in a temporary folder, synced, summed
(size and SHA-256 of every file, for `index check`) and only then renamed into place."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Sequence

import numpy as np

from ...duplicates import Signature, band_keys
from ...records import Article, Chunk
from .lexical import LexicalWriter
from .segments import CHUNK_DTYPE, CHUNK_VECTOR_IDS, CHUNK_VECTORS, DB, SENTENCE_DTYPE, VECTORS

SCHEMA = """
CREATE TABLE articles(
    rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, title TEXT NOT NULL, source TEXT,
    author TEXT, published TEXT, url TEXT, path TEXT, text TEXT NOT NULL, content_hash TEXT NOT NULL,
    origin TEXT, stamp TEXT, gaps TEXT, dated TEXT, years TEXT, source_key TEXT, added TEXT,
    dup_group TEXT, signature BLOB);
CREATE INDEX articles_dated ON articles(dated);
CREATE INDEX articles_group ON articles(dup_group);
CREATE TABLE lsh(key INTEGER NOT NULL, article_rowid INTEGER NOT NULL);
CREATE INDEX lsh_key ON lsh(key);
CREATE TABLE chunks(
    id INTEGER PRIMARY KEY, article_rowid INTEGER NOT NULL REFERENCES articles(rowid),
    position INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX chunks_article ON chunks(article_rowid, position);
CREATE TABLE sentences(
    chunk_id INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, vec BLOB NOT NULL);
CREATE INDEX sentences_chunk ON sentences(chunk_id);
"""


def _sync_and_sum(path: Path) -> dict[str, dict]:
    """Make every file of a finished segment durable, and record its size and SHA-256, so that
    a damaged file can later be named (`citebot index check`) instead of crashing a reader."""
    files = {}
    for f in sorted(path.iterdir()):
        digest = hashlib.sha256()
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        files[f.name] = {"size": f.stat().st_size, "sha256": digest.hexdigest()}
    return files


class SegmentWriter:
    """Writes a segment in a hidden folder; `finish()` moves it into place, `abort()` drops it.
    Article rowids and chunk ids are given from the index-wide counters so that they stay unique
    across segments."""

    def __init__(self, segments_dir: Path, dimension: int, faiss_spec: str,
                 next_chunk_id: int = 1, next_article_rowid: int = 1):
        self.segments_dir = Path(segments_dir)
        self.segments_dir.mkdir(parents=True, exist_ok=True)
        self.name = f"seg-{uuid.uuid4().hex[:12]}"
        self.tmp = self.segments_dir / f".tmp-{self.name}"
        self.tmp.mkdir()
        self.dimension = dimension
        self.faiss_spec = faiss_spec
        self.db = sqlite3.connect(self.tmp / DB)
        self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
        self.lexical = LexicalWriter()
        self._ids: list[np.ndarray] = []
        self._vecs: list[np.ndarray] = []
        self.next_chunk_id = next_chunk_id
        self.next_article_rowid = next_article_rowid
        self.articles = 0
        self.chunks = 0

    def add_article(self, article: Article, chunks: Sequence[Chunk], vectors: np.ndarray,
                    chunk_ids: Sequence[int] | None = None,
                    sentence_vectors: Sequence[np.ndarray] | None = None) -> list[int]:
        """Store one article, its chunks and vectors; chunk ids carried over by an update are kept."""
        art_row = self.next_article_rowid
        self.next_article_rowid += 1
        self.db.execute(
            "INSERT INTO articles(rowid, id, title, source, author, published, url, path, text, content_hash, "
            "origin, stamp, gaps, dated, years, source_key, added, dup_group, signature) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (art_row, article.id, article.title, article.source, article.author, article.published,
             article.url, article.path, article.text, article.content_hash, article.origin, article.stamp,
             json.dumps(article.gaps) if article.gaps else None, article.dated,
             " ".join(map(str, article.years)) or None, article.source_key, article.added, article.dup_group,
             article.signature))
        if article.signature:
            self.db.executemany("INSERT INTO lsh(key, article_rowid) VALUES (?,?)",
                                [(k, art_row) for k in band_keys(Signature.from_bytes(article.signature))])
        if chunk_ids is None:
            chunk_ids = list(range(self.next_chunk_id, self.next_chunk_id + len(chunks)))
        ids = list(chunk_ids)
        if ids:
            self.next_chunk_id = max(self.next_chunk_id, max(ids) + 1)
        self.db.executemany(
            'INSERT INTO chunks(id, article_rowid, position, start, "end", text) VALUES (?,?,?,?,?,?)',
            [(cid, art_row, c.position, c.start, c.end, c.text) for cid, c in zip(ids, chunks)])
        if sentence_vectors is not None:
            self.db.executemany(
                'INSERT INTO sentences(chunk_id, start, "end", vec) VALUES (?,?,?,?)',
                [(cid, s, e, np.asarray(v, dtype=SENTENCE_DTYPE).tobytes())
                 for cid, c, vs in zip(ids, chunks, sentence_vectors) for (s, e), v in zip(c.sentences, vs)])
        for cid, c in zip(ids, chunks):
            self.lexical.add(cid, article.title, c.text)
        self._ids.append(np.asarray(ids, dtype=np.int64))
        self._vecs.append(np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1))
        self.articles += 1
        self.chunks += len(ids)
        return ids

    def finish(self) -> dict:
        """Write the vectors, make everything durable, move the folder into place; the segment's
        entry for a generation manifest."""
        import faiss

        from .vectors import build_faiss

        ids = np.concatenate(self._ids) if self._ids else np.zeros(0, dtype=np.int64)
        vecs = np.concatenate(self._vecs) if self._vecs else np.zeros((0, self.dimension), dtype=np.float32)
        index, kind = build_faiss(vecs, ids, self.faiss_spec)
        faiss.write_index(index, str(self.tmp / VECTORS))
        # The vectors as data of the segment (sorted by chunk id): reranking, compaction and
        # filtered searches read them here, not back out of whichever FAISS index was chosen.
        order = np.argsort(ids, kind="stable")
        np.save(self.tmp / CHUNK_VECTOR_IDS, ids[order])
        np.save(self.tmp / CHUNK_VECTORS, vecs[order].astype(CHUNK_DTYPE))
        self.lexical.write(self.tmp, self.db)
        self.db.commit()
        self.db.execute("PRAGMA optimize")
        self.db.close()
        files = _sync_and_sum(self.tmp)
        os.rename(self.tmp, self.segments_dir / self.name)
        return {"name": self.name, "articles": self.articles, "chunks": self.chunks, "faiss_index": kind,
                "deleted": [], "files": files}

    def abort(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)
