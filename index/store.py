"""The on-disk index: one folder per generation (manifest + SQLite + FAISS), swapped in atomically.

    INDEX_DIR/CURRENT          name of the generation being served (replaced with os.replace)
    INDEX_DIR/gen-<stamp>/     manifest.json, index.sqlite (articles, chunks, FTS5), vectors.faiss
    INDEX_DIR/.tmp-<stamp>/    a build in progress; never read, removed by the next build

A build writes a whole new generation and only then points CURRENT at it, so a crash, a kill or a
bad input mid-build leaves the previous generation serving, and readers (a running bot) notice the
new CURRENT and reopen.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .records import Article, Chunk

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DB = "index.sqlite"
VECTORS = "vectors.faiss"
CURRENT = "CURRENT"
SENTENCE_DTYPE = np.float16  # sentence vectors only rank sentences inside a few chunks: half size is plenty

SCHEMA = """
CREATE TABLE articles(
    rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, title TEXT NOT NULL, source TEXT,
    author TEXT, published TEXT, url TEXT, path TEXT, text TEXT NOT NULL, content_hash TEXT NOT NULL);
CREATE TABLE chunks(
    id INTEGER PRIMARY KEY, article_rowid INTEGER NOT NULL REFERENCES articles(rowid),
    position INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX chunks_article ON chunks(article_rowid, position);
CREATE TABLE sentences(
    chunk_id INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, vec BLOB NOT NULL);
CREATE INDEX sentences_chunk ON sentences(chunk_id);
CREATE VIRTUAL TABLE chunks_fts USING fts5(title, text, content='', tokenize='porter unicode61');
"""


class IndexError_(RuntimeError):
    """Base of the index problems a user can cause and fix (the message says how)."""


class NoIndex(IndexError_):
    pass


class IncompatibleIndex(IndexError_):
    pass


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def current_generation(index_dir: Path) -> Path | None:
    try:
        name = (index_dir / CURRENT).read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    path = index_dir / name
    return path if name and path.is_dir() else None


def read_manifest(gen: Path) -> dict:
    return json.loads((gen / MANIFEST).read_text())


def check_compatible(manifest: dict, model: str | None) -> None:
    """Refuse an index another citebot format or another embedding model wrote."""
    if manifest.get("format") != FORMAT_VERSION:
        raise IncompatibleIndex(
            f"the index has format {manifest.get('format')}, this citebot reads format {FORMAT_VERSION}: "
            "rebuild it with `citebot index build PATH...`")
    if model is not None and manifest.get("model") != model:
        raise IncompatibleIndex(
            f"the index was built with model '{manifest.get('model')}', the settings name '{model}': "
            "rebuild it with `citebot index build PATH...` (or set CITEBOT_EMBEDDING_MODEL back)")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class IndexWriter:
    """Writes a new generation beside the serving one; `commit()` swaps it in, `abort()` drops it."""

    def __init__(self, index_dir: Path, manifest: dict):
        self.index_dir = Path(index_dir)
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self._clean_stale_tmp()
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        self.name = f"gen-{stamp}-{uuid.uuid4().hex[:6]}"
        self.tmp = self.index_dir / f".tmp-{self.name}"
        self.tmp.mkdir()
        self.manifest = dict(manifest)
        self.db = sqlite3.connect(self.tmp / DB)
        self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
        self._ids: list[np.ndarray] = []
        self._vecs: list[np.ndarray] = []
        self._next_chunk_id = 1
        self.articles = 0
        self.chunks = 0

    def _clean_stale_tmp(self) -> None:
        for p in self.index_dir.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)

    def add_article(self, article: Article, chunks: Sequence[Chunk], vectors: np.ndarray,
                    chunk_ids: Sequence[int] | None = None,
                    sentence_vectors: Sequence[np.ndarray] | None = None) -> list[int]:
        """Store one article, its chunks and their vectors; keeps given chunk ids (updates)."""
        cur = self.db.execute(
            "INSERT INTO articles(id, title, source, author, published, url, path, text, content_hash) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (article.id, article.title, article.source, article.author, article.published,
             article.url, article.path, article.text, article.content_hash))
        art_row = cur.lastrowid
        if chunk_ids is None:
            chunk_ids = list(range(self._next_chunk_id, self._next_chunk_id + len(chunks)))
        ids = list(chunk_ids)
        if ids:
            self._next_chunk_id = max(self._next_chunk_id, max(ids) + 1)
        self.db.executemany(
            'INSERT INTO chunks(id, article_rowid, position, start, "end", text) VALUES (?,?,?,?,?,?)',
            [(cid, art_row, c.position, c.start, c.end, c.text) for cid, c in zip(ids, chunks)])
        if sentence_vectors is not None:
            self.db.executemany(
                'INSERT INTO sentences(chunk_id, start, "end", vec) VALUES (?,?,?,?)',
                [(cid, s, e, np.asarray(v, dtype=SENTENCE_DTYPE).tobytes())
                 for cid, c, vs in zip(ids, chunks, sentence_vectors) for (s, e), v in zip(c.sentences, vs)])
        self.db.executemany("INSERT INTO chunks_fts(rowid, title, text) VALUES (?,?,?)",
                            [(cid, article.title, c.text) for cid, c in zip(ids, chunks)])
        self._ids.append(np.asarray(ids, dtype=np.int64))
        self._vecs.append(np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1))
        self.articles += 1
        self.chunks += len(ids)
        return ids

    def reserve_ids_above(self, max_id: int) -> None:
        self._next_chunk_id = max(self._next_chunk_id, max_id + 1)

    def commit(self) -> Path:
        import faiss

        from .vectors import build_faiss

        dim = int(self.manifest["dimension"])
        ids = np.concatenate(self._ids) if self._ids else np.zeros(0, dtype=np.int64)
        vecs = np.concatenate(self._vecs) if self._vecs else np.zeros((0, dim), dtype=np.float32)
        index, kind = build_faiss(vecs, ids, self.manifest.get("faiss", "auto"))
        faiss.write_index(index, str(self.tmp / VECTORS))
        self.db.commit()
        self.db.execute("PRAGMA optimize")
        self.db.close()
        self.manifest.update(format=FORMAT_VERSION, generation=self.name, articles=self.articles,
                             chunks=self.chunks, built_at=_now(), faiss_index=kind)
        (self.tmp / MANIFEST).write_text(json.dumps(self.manifest, indent=2))
        for f in self.tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        final = self.index_dir / self.name
        os.rename(self.tmp, final)
        pointer = self.index_dir / f".{CURRENT}.{self.name}"
        pointer.write_text(self.name + "\n")
        with open(pointer, "rb") as fh:
            os.fsync(fh.fileno())
        previous = current_generation(self.index_dir)
        os.replace(pointer, self.index_dir / CURRENT)  # the atomic switch
        _fsync_dir(self.index_dir)
        self._collect_garbage(keep={self.name, previous.name if previous else ""})
        return final

    def _collect_garbage(self, keep: set[str]) -> None:
        """Keep the new and the previous generation (a reader may still be on it); drop older ones."""
        for p in self.index_dir.glob("gen-*"):
            if p.name not in keep:
                shutil.rmtree(p, ignore_errors=True)

    def abort(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)


@dataclass
class ChunkRow:
    id: int
    article_rowid: int
    position: int
    start: int
    end: int
    text: str
    article_id: str
    title: str
    source: str | None
    author: str | None
    published: str | None
    url: str | None
    path: str | None


class IndexReader:
    """Read access to one generation. Safe to share between threads (one SQLite connection each)."""

    def __init__(self, gen: Path, mmap: bool = True):
        import faiss

        self.path = gen
        self.manifest = read_manifest(gen)
        # Memory-mapped where FAISS can (flat codes): a large archive opens in milliseconds and
        # its vectors stay in the page cache, shared between processes, instead of private memory.
        try:
            self.faiss = faiss.read_index(str(gen / VECTORS), faiss.IO_FLAG_MMAP_IFC if mmap else 0)
        except RuntimeError:
            self.faiss = faiss.read_index(str(gen / VECTORS))
        self._local = threading.local()
        self._db_uri = f"file:{(gen / DB).resolve()}?mode=ro"
        self._article_cache: dict[int, str] = {}

    @property
    def db(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self._db_uri, uri=True, check_same_thread=False)
            # a per-connection view of FTS5's term statistics (document frequency per term)
            con.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, chunks_fts, 'row')")
            self._local.con = con
        return con

    def doc_freq(self, term: str) -> int:
        row = self.db.execute("SELECT doc FROM temp.vocab WHERE term = ?", (term,)).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    def dense_search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, chunk ids) for each query vector; ids of -1 mark empty slots."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.faiss.d)
        k = max(1, min(k, self.faiss.ntotal or 1))
        return self.faiss.search(vectors, k)

    def bm25_search(self, match: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, score) best first for an FTS5 MATCH expression; higher score is better."""
        if not match:
            return []
        rows = self.db.execute(
            "SELECT rowid, -bm25(chunks_fts, 0.3, 1.0) FROM chunks_fts WHERE chunks_fts MATCH ? "
            "ORDER BY bm25(chunks_fts, 0.3, 1.0) LIMIT ?", (match, k)).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def chunk_rows(self, ids: Iterable[int]) -> dict[int, ChunkRow]:
        ids = [int(i) for i in ids if int(i) >= 0]
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f'SELECT c.id, c.article_rowid, c.position, c.start, c."end", c.text, a.id, a.title, '
            f"a.source, a.author, a.published, a.url, a.path FROM chunks c "
            f"JOIN articles a ON a.rowid = c.article_rowid WHERE c.id IN ({marks})", ids).fetchall()
        return {r[0]: ChunkRow(*r) for r in rows}

    def article_text(self, article_rowid: int) -> str:
        text = self._article_cache.get(article_rowid)
        if text is None:
            text = self.db.execute("SELECT text FROM articles WHERE rowid = ?", (article_rowid,)).fetchone()[0]
            if len(self._article_cache) > 512:
                self._article_cache.clear()
            self._article_cache[article_rowid] = text
        return text

    def articles(self) -> dict[str, tuple[int, str]]:
        """article id → (rowid, content hash)"""
        return {r[0]: (r[1], r[2]) for r in self.db.execute("SELECT id, rowid, content_hash FROM articles")}

    def article_chunks(self, article_rowid: int) -> list[tuple[int, int, int, int, str]]:
        return self.db.execute('SELECT id, position, start, "end", text FROM chunks WHERE article_rowid = ? '
                               "ORDER BY position", (article_rowid,)).fetchall()

    def load_article(self, article_rowid: int) -> Article:
        r = self.db.execute("SELECT id, title, text, url, published, author, source, path, content_hash "
                            "FROM articles WHERE rowid = ?", (article_rowid,)).fetchone()
        return Article(*r)

    def sentences(self, chunk_ids: Sequence[int]) -> dict[int, list[tuple[tuple[int, int], np.ndarray]]]:
        """chunk id → [((start, end) in the article, unit vector)] in text order."""
        ids = [int(i) for i in chunk_ids]
        out: dict[int, list] = {i: [] for i in ids}
        if not ids:
            return out
        marks = ",".join("?" * len(ids))
        for cid, s, e, blob in self.db.execute(
                f'SELECT chunk_id, start, "end", vec FROM sentences WHERE chunk_id IN ({marks}) '
                f"ORDER BY chunk_id, start", ids):
            out[cid].append(((s, e), np.frombuffer(blob, dtype=SENTENCE_DTYPE).astype(np.float32)))
        return out

    def sentence_spans_around(self, article_rowid: int, position: int, reach: int = 1) -> list[tuple[int, int]]:
        """Sentence spans of the chunks within `reach` positions of one chunk, in text order:
        what an extract may grow into beyond its own chunk."""
        rows = self.db.execute(
            'SELECT DISTINCT s.start, s."end" FROM chunks c JOIN sentences s ON s.chunk_id = c.id '
            "WHERE c.article_rowid = ? AND c.position BETWEEN ? AND ? ORDER BY s.start",
            (article_rowid, position - reach, position + reach)).fetchall()
        return [(int(a), int(b)) for a, b in rows]

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        if not len(ids):
            return np.zeros((0, self.faiss.d), dtype=np.float32)
        return np.vstack([self.faiss.reconstruct(int(i)) for i in ids]).astype(np.float32)

    def latest_published(self) -> str | None:
        return self.db.execute("SELECT max(published) FROM articles").fetchone()[0]


def open_current(index_dir: Path, model: str | None = None) -> IndexReader:
    gen = current_generation(Path(index_dir))
    if gen is None:
        raise NoIndex(f"no index in {index_dir}: build one with `citebot index build PATH...`")
    try:
        manifest = read_manifest(gen)
    except (OSError, json.JSONDecodeError):
        raise IncompatibleIndex(f"the index in {index_dir} is unreadable: rebuild it with `citebot index build PATH...`") from None
    check_compatible(manifest, model)
    return IndexReader(gen)
