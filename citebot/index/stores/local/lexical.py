"""BM25 postings of one segment of the local store: per term, the chunks holding it and their BM25
weight, computed when the segment is written, stored contiguously and memory-mapped.

Why not SQLite FTS5 (the first version): FTS5 ranks every row a query word matches, one row at a
time (about 1-3 µs a row). In a million-chunk archive an ordinary question word ("bridge",
"bank") is in 1-3% of the chunks, so a question meant ranking 20-35k rows: 30-120 ms, the slowest
stage of an answer. Here a question costs one slice per word and one sum over the slices (numpy),
a few milliseconds at that size.

Files beside the segment's SQLite database, which holds the vocabulary (`terms`: term → its
document frequency and where its postings start):
    bm25_docs.npy     int32   row of each posting in bm25_chunks.npy, grouped by term
    bm25_weights.npy  float32 the posting's BM25 weight (idf · saturated term frequency)
    bm25_chunks.npy   int64   chunk id of each row
"""
from __future__ import annotations

import sqlite3
from array import array
from pathlib import Path
from typing import Callable, Collection

import numpy as np

from ..bm25 import B, K1, chunk_term_counts

DOCS, WEIGHTS, CHUNKS = "bm25_docs.npy", "bm25_weights.npy", "bm25_chunks.npy"
SCHEMA = "CREATE TABLE terms(term TEXT PRIMARY KEY, df INTEGER NOT NULL, start INTEGER NOT NULL) WITHOUT ROWID;"


class LexicalWriter:
    """Collects term counts chunk by chunk in flat arrays (a million chunks hold tens of millions of
    postings: per-chunk dicts would not fit), and writes the postings sorted by term."""

    def __init__(self) -> None:
        self._term_ids: dict[str, int] = {}
        self._terms: list[str] = []
        self._p_term, self._p_doc, self._p_tf = array("i"), array("i"), array("f")
        self._lengths = array("f")
        self._chunk_ids = array("q")

    def add(self, chunk_id: int, title: str, text: str) -> None:
        counts = chunk_term_counts(title, text)
        doc = len(self._chunk_ids)
        self._chunk_ids.append(chunk_id)
        self._lengths.append(sum(counts.values()))
        ids = self._term_ids
        for st in counts:
            if st not in ids:
                ids[st] = len(self._terms)
                self._terms.append(st)
        self._p_term.extend([ids[st] for st in counts])
        self._p_doc.extend([doc] * len(counts))
        self._p_tf.extend(counts.values())

    def write(self, folder: Path, db: sqlite3.Connection) -> None:
        terms = np.frombuffer(self._p_term, dtype=np.int32)
        docs = np.frombuffer(self._p_doc, dtype=np.int32)
        tf = np.frombuffer(self._p_tf, dtype=np.float32)
        lengths = np.frombuffer(self._lengths, dtype=np.float32)
        n = len(lengths)
        order = np.argsort(terms, kind="stable")  # postings were added doc by doc: docs stay sorted
        terms, docs, tf = terms[order], docs[order], tf[order]
        df = np.bincount(terms, minlength=len(self._terms))
        starts = np.concatenate([[0], np.cumsum(df)[:-1]]) if len(df) else df
        idfs = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = K1 * (1 - B + B * lengths / (float(lengths.mean()) if n else 1.0))
        weights = idfs[terms] * tf * (K1 + 1) / (tf + norm[docs])
        np.save(folder / DOCS, docs.astype(np.int32))
        np.save(folder / WEIGHTS, weights.astype(np.float32))
        np.save(folder / CHUNKS, np.frombuffer(self._chunk_ids, dtype=np.int64))
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO terms(term, df, start) VALUES (?,?,?)",
                       zip(self._terms, df.tolist(), starts.tolist()))


class LexicalIndex:
    """BM25 search in one segment; `connect` gives the calling thread's connection to its database."""

    def __init__(self, folder: Path, connect: Callable[[], sqlite3.Connection]):
        self._connect = connect
        self.docs = np.load(folder / DOCS, mmap_mode="r")
        self.weights = np.load(folder / WEIGHTS, mmap_mode="r")
        self.chunk_ids = np.load(folder / CHUNKS, mmap_mode="r")

    def _postings(self, terms: Collection[str]) -> list[tuple[str, int, int]]:
        if not terms:
            return []
        marks = ",".join("?" * len(terms))
        return self._connect().execute(f"SELECT term, df, start FROM terms WHERE term IN ({marks})",
                                       list(terms)).fetchall()

    def doc_freq(self, terms: Collection[str]) -> dict[str, int]:
        return {t: df for t, df, _ in self._postings(terms)}

    def search(self, terms: Collection[str], k: int, skip: Collection[int] = (),
               allowed: np.ndarray | None = None) -> list[tuple[float, int]]:
        """(BM25 score, chunk id), best first; chunk ids in `skip` (deleted) left out, and with
        `allowed` (a date filter) only those."""
        found = self._postings(terms)
        if not found or k <= 0:
            return []
        docs = np.concatenate([self.docs[s:s + df] for _, df, s in found])
        weights = np.concatenate([self.weights[s:s + df] for _, df, s in found])
        if len(found) == 1:
            rows, scores = docs, weights.astype(np.float64)
        elif len(docs) * 8 < len(self.chunk_ids):  # few postings: sort them rather than touch every row
            rows, inverse = np.unique(docs, return_inverse=True)
            scores = np.bincount(inverse, weights=weights)
        else:
            scores = np.bincount(docs, weights=weights, minlength=len(self.chunk_ids))
            rows = np.arange(len(scores))
        if allowed is not None:
            if 2 * len(allowed) >= len(self.chunk_ids):  # most chunks allowed: check only the best few
                want = min(len(scores), 4 * k + len(skip))
                top = np.argpartition(-scores, want - 1)[:want]
                ok = np.isin(np.asarray(self.chunk_ids)[rows[top]], allowed)
                if ok.sum() >= k + len(skip) or want == len(scores):
                    rows, scores = rows[top[ok]], scores[top[ok]]
                else:
                    scores = np.where(np.isin(np.asarray(self.chunk_ids)[rows], allowed), scores, 0.0)
            else:
                scores = np.where(np.isin(np.asarray(self.chunk_ids)[rows], allowed), scores, 0.0)
        if not len(scores):
            return []
        want = min(len(scores), k + len(skip))
        top = np.argpartition(-scores, want - 1)[:want]
        top = top[np.argsort(-scores[top], kind="stable")]
        hits = [(float(scores[i]), int(self.chunk_ids[rows[i]])) for i in top if scores[i] > 0]
        return [h for h in hits if h[1] not in skip][:k]
