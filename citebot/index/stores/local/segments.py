"""One segment of the index: an immutable folder holding some articles, their chunks and sentence
vectors (SQLite), their BM25 postings (lexical.py) and their vectors (FAISS keyed by chunk id).

A full build writes one segment; an update writes a small one with just the new and changed
articles. Segments are never modified once written: a generation's manifest lists which segments
it serves and which of their articles it has deleted (store.py).
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ...records import Article
from ...duplicates import Copy, Neighbour, Signature
from ..base import ArticleState, ChunkRow
from .lexical import LexicalIndex
from .vectors import faiss_selector, is_exact, search_parameters, tune_for_search

DB = "index.sqlite"
VECTORS = "vectors.faiss"
CHUNK_VECTORS, CHUNK_VECTOR_IDS = "chunk_vectors.npy", "chunk_vector_ids.npy"
CHUNK_DTYPE = np.float16  # rerank and filtered search read them; FAISS keeps its own float32 copy to search
EXACT_FILTERED_MAX = 50_000  # an approximate index's filtered search scores up to this many allowed chunks exactly
SENTENCE_DTYPE = np.float16  # sentence vectors only rank sentences inside a few chunks: half size is plenty

class SegmentDamaged(Exception):
    """A segment file is missing, truncated or unreadable; the message names it."""


def verify_files(path: Path, files: dict[str, dict], checksums: bool = False) -> list[str]:
    """What is wrong with a segment's files, one line each: missing, another size, or (with
    `checksums`, which reads every byte) another content than was written."""
    problems = []
    for name, want in files.items():
        f = path / name
        try:
            size = f.stat().st_size
        except OSError as e:
            problems.append(f"{f}: {e.strerror or 'unreadable'}")
            continue
        if size != want["size"]:
            problems.append(f"{f}: {size} bytes, {want['size']} were written")
        elif checksums:
            digest = hashlib.sha256()
            try:
                with open(f, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(block)
            except OSError as e:
                problems.append(f"{f}: {e.strerror or 'unreadable'}")
                continue
            if digest.hexdigest() != want["sha256"]:
                problems.append(f"{f}: its content changed since it was written (checksum differs)")
    return problems


class SegmentReader:
    """Read access to one segment, hiding the articles its generation deleted. Safe to share
    between threads (one SQLite connection each)."""

    def __init__(self, path: Path, deleted: Iterable[int] = (), mmap: bool = True,
                 files: dict[str, dict] | None = None):
        """`files`: sizes recorded at write time; checked first (a stat each), since a truncated
        file would otherwise crash FAISS or numpy in ways that name nothing."""
        problems = verify_files(path, files or {})
        if problems:
            raise SegmentDamaged(problems[0])
        try:
            self._open(path, deleted, mmap)
        except (RuntimeError, ValueError, EOFError, OSError, sqlite3.DatabaseError) as e:
            raise SegmentDamaged(f"{path}: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}") from None

    def _open(self, path: Path, deleted: Iterable[int], mmap: bool) -> None:
        import faiss

        self.path = path
        # Memory-mapped where FAISS can (flat codes): a large archive opens in milliseconds and
        # its vectors stay in the page cache, shared between processes, instead of private memory.
        try:
            self.faiss = faiss.read_index(str(path / VECTORS), faiss.IO_FLAG_MMAP_IFC if mmap else 0)
        except RuntimeError:
            self.faiss = faiss.read_index(str(path / VECTORS))
        tune_for_search(self.faiss)
        self.vector_ids = np.load(path / CHUNK_VECTOR_IDS, mmap_mode="r")
        self.chunk_vectors = np.load(path / CHUNK_VECTORS, mmap_mode="r" if mmap else None)
        self._local = threading.local()
        self._db_uri = f"file:{(path / DB).resolve()}?mode=ro"
        self.lexical = LexicalIndex(path, lambda: self.db)
        self.deleted_articles = set(int(r) for r in deleted)
        self.deleted_chunks: set[int] = set()
        if self.deleted_articles:
            marks = ",".join("?" * len(self.deleted_articles))
            self.deleted_chunks = {r[0] for r in self.db.execute(
                f"SELECT id FROM chunks WHERE article_rowid IN ({marks})", list(self.deleted_articles))}
        row = self.db.execute("SELECT min(rowid), max(rowid) FROM articles").fetchone()
        self.article_range = (row[0] or 0, row[1] or -1)

    @property
    def db(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self._db_uri, uri=True, check_same_thread=False)
            self._local.con = con
        return con

    def owns_article(self, rowid: int) -> bool:
        return self.article_range[0] <= rowid <= self.article_range[1] and rowid not in self.deleted_articles

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    def doc_freq(self, terms: Sequence[str]) -> dict[str, int]:
        return self.lexical.doc_freq(terms)

    def dense_search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[float, int]]:
        """(cosine, chunk id) best first; `allowed`: only these chunk ids (a date filter). When most
        of the segment is allowed, the plain search filtered after; a flat index searches through a
        selector (exact); an approximate one scores a few allowed chunks (EXACT_FILTERED_MAX) exactly,
        since it scans only part of the archive and would miss most of a small set, and more
        through its selector."""
        if not self.faiss.ntotal:
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        if allowed is not None:
            if self.deleted_chunks:
                allowed = np.setdiff1d(allowed, np.fromiter(self.deleted_chunks, np.int64, len(self.deleted_chunks)))
            rows = self._rows(allowed)
            if not len(rows):
                return []
            if len(rows) >= self.faiss.ntotal // 2:
                # most of the segment is allowed (a period covering most of the archive): the plain
                # search with room to spare, filtered after, costs what an unfiltered one does
                scores, ids = self.faiss.search(query, min(self.faiss.ntotal, 4 * k + len(self.deleted_chunks)))
                keep = np.isin(ids[0], allowed) & (ids[0] >= 0)
                if keep.sum() >= k:
                    return [(float(s), int(i)) for s, i in zip(scores[0][keep], ids[0][keep])][:k]
            if len(rows) <= EXACT_FILTERED_MAX and not is_exact(self.faiss):
                scores = np.asarray(self.chunk_vectors[rows], dtype=np.float32) @ query[0]
                top = np.argpartition(-scores, min(k, len(scores)) - 1)[:k]
                top = top[np.argsort(-scores[top], kind="stable")]
                return [(float(scores[i]), int(self.vector_ids[rows[i]])) for i in top]
            params = search_parameters(self.faiss, faiss_selector(allowed))
            scores, ids = self.faiss.search(query, min(k, len(rows)), params=params)
            return [(float(s), int(i)) for s, i in zip(scores[0], ids[0]) if i >= 0]
        want = min(self.faiss.ntotal, k + len(self.deleted_chunks))
        scores, ids = self.faiss.search(query, want)
        return [(float(s), int(i)) for s, i in zip(scores[0], ids[0]) if i >= 0 and i not in self.deleted_chunks][:k]

    def bm25_search(self, terms: Sequence[str], k: int, allowed: np.ndarray | None = None) -> list[tuple[float, int]]:
        return self.lexical.search(terms, k, self.deleted_chunks, allowed)

    def _rows(self, chunk_ids: np.ndarray) -> np.ndarray:
        """Rows of `chunk_vectors` for the chunk ids this segment has."""
        chunk_ids = np.asarray(chunk_ids, dtype=np.int64)
        rows = np.searchsorted(self.vector_ids, chunk_ids)
        rows = np.minimum(rows, max(len(self.vector_ids) - 1, 0))
        return rows[np.asarray(self.vector_ids)[rows] == chunk_ids] if len(self.vector_ids) else rows[:0]

    def chunks_in_period(self, start: str, end: str, years: Sequence[int]) -> np.ndarray:
        """Chunk ids of the articles dated within [start, end], and of undated ones that name one
        of `years` (an article whose date is unknown counts when it names the period itself)."""
        dates, ids = self._dated_chunks()
        inside = ids[np.searchsorted(dates, start, "left"):np.searchsorted(dates, end[:10] + "~", "right")]
        if years:
            sql = ('SELECT c.id, c.article_rowid FROM chunks c JOIN articles a ON a.rowid = c.article_rowid '
                   "WHERE a.dated IS NULL AND (" + " OR ".join(["(' ' || a.years || ' ') LIKE ?"] * len(years)) + ")")
            named = [cid for cid, art in self.db.execute(sql, [f"% {y} %" for y in years])
                     if art not in self.deleted_articles]
            if named:
                inside = np.union1d(inside, np.asarray(named, dtype=np.int64))
        return inside

    def _dated_chunks(self) -> tuple[np.ndarray, np.ndarray]:
        """(dates, chunk ids) of the dated articles' chunks, sorted by date, read once: a period
        question then costs two binary searches, not a scan of every chunk (a period covering a
        million-chunk archive took 1.4 s as a SQL query per question)."""
        cached = getattr(self, "_by_date", None)
        if cached is None:
            rows = self.db.execute("SELECT a.dated, c.id, c.article_rowid FROM chunks c JOIN articles a "
                                   "ON a.rowid = c.article_rowid WHERE a.dated IS NOT NULL ORDER BY a.dated").fetchall()
            rows = [(d[:10], cid) for d, cid, art in rows if art not in self.deleted_articles]
            cached = (np.array([d for d, _ in rows], dtype="U10"), np.array([c for _, c in rows], dtype=np.int64))
            self._by_date = cached
        return cached

    def chunk_rows(self, ids: list[int]) -> dict[int, ChunkRow]:
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f'SELECT c.id, c.article_rowid, c.position, c.start, c."end", c.text, a.id, a.title, '
            f"a.source, a.author, a.published, a.url, a.path, a.dated FROM chunks c "
            f"JOIN articles a ON a.rowid = c.article_rowid WHERE c.id IN ({marks})", ids).fetchall()
        return {r[0]: ChunkRow(*r) for r in rows if r[0] not in self.deleted_chunks}

    def articles(self) -> dict[str, ArticleState]:
        return {r[0]: ArticleState(*r[1:]) for r in self.db.execute(
            "SELECT id, rowid, content_hash, origin, stamp, source_key, dated, added FROM articles")
            if r[1] not in self.deleted_articles}

    def article(self, rowid: int) -> Article:
        r = self.db.execute("SELECT id, title, text, url, published, author, source, path, content_hash, origin, "
                            "stamp, source_key, added, dup_group, signature, gaps, dated, years FROM articles "
                            "WHERE rowid = ?", (rowid,)).fetchone()
        return Article(*r[:-3], gaps=json.loads(r[-3]) if r[-3] else [], dated=r[-2],
                       years=[int(y) for y in (r[-1] or "").split()])

    def lsh_candidates(self, keys: Sequence[int], skip: set[int]) -> list[Neighbour]:
        """Served articles sharing an LSH band key with a new one (`skip`: rowids going away)."""
        marks = ",".join("?" * len(keys))
        rows = self.db.execute(
            f"SELECT DISTINCT a.rowid, a.id, a.dup_group, a.signature FROM lsh l JOIN articles a "
            f"ON a.rowid = l.article_rowid WHERE l.key IN ({marks})", list(keys)).fetchall()
        return [Neighbour(aid, group or aid, Signature.from_bytes(sig)) for rowid, aid, group, sig in rows
                if sig and rowid not in self.deleted_articles and rowid not in skip]

    def groups_of(self, article_ids: Sequence[str]) -> dict[str, str]:
        """article id → its near-duplicate group, for the served ones among `article_ids`."""
        marks = ",".join("?" * len(article_ids))
        return {aid: group for rowid, aid, group in self.db.execute(
            f"SELECT rowid, id, dup_group FROM articles WHERE id IN ({marks})", list(article_ids))
            if group and rowid not in self.deleted_articles}

    def group_members(self, groups: Sequence[str]) -> list[tuple[str, Copy]]:
        """(group, a served copy in it) for every article of these groups."""
        marks = ",".join("?" * len(groups))
        rows = self.db.execute(
            f"SELECT rowid, dup_group, id, title, source, url, published, dated FROM articles "
            f"WHERE dup_group IN ({marks})", list(groups)).fetchall()
        return [(r[1], Copy(*r[2:])) for r in rows if r[0] not in self.deleted_articles]

    def article_text(self, rowid: int) -> tuple[str, list[int]]:
        """The clean text and the offsets where cleaning dropped something (extracts stop there)."""
        text, gaps = self.db.execute("SELECT text, gaps FROM articles WHERE rowid = ?", (rowid,)).fetchone()
        return text, json.loads(gaps) if gaps else []

    def article_chunks(self, rowid: int) -> list[tuple[int, int, int, int, str]]:
        return self.db.execute('SELECT id, position, start, "end", text FROM chunks WHERE article_rowid = ? '
                               "ORDER BY position", (rowid,)).fetchall()

    def sentences(self, ids: list[int]) -> list[tuple[int, int, int, bytes]]:
        marks = ",".join("?" * len(ids))
        return self.db.execute(f'SELECT chunk_id, start, "end", vec FROM sentences WHERE chunk_id IN ({marks}) '
                               f"ORDER BY chunk_id, start", ids).fetchall()

    def sentence_spans_around(self, rowid: int, position: int, reach: int) -> list[tuple[int, int]]:
        rows = self.db.execute(
            'SELECT DISTINCT s.start, s."end" FROM chunks c JOIN sentences s ON s.chunk_id = c.id '
            "WHERE c.article_rowid = ? AND c.position BETWEEN ? AND ? ORDER BY s.start",
            (rowid, position - reach, position + reach)).fetchall()
        return [(int(a), int(b)) for a, b in rows]

    def vectors(self, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """chunk id → its vector (float32), for the ids this segment has."""
        ids = np.asarray(list(chunk_ids), dtype=np.int64)
        rows = self._rows(ids)
        return {int(self.vector_ids[r]): np.asarray(self.chunk_vectors[r], dtype=np.float32) for r in rows}

    def date_range(self) -> tuple[str | None, str | None]:
        lo, hi = self.db.execute("SELECT min(dated), max(dated) FROM articles WHERE dated IS NOT NULL").fetchone()
        return lo, hi

    def latest_published(self) -> str | None:
        for rowid, published in self.db.execute(
                "SELECT rowid, published FROM articles WHERE published IS NOT NULL ORDER BY published DESC"):
            if rowid not in self.deleted_articles:
                return published
        return None
