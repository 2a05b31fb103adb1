"""The qdrant store: the index as one collection on a Qdrant server or cluster (or, for tests and
small set-ups, a local-mode folder), behind an alias named by CITEBOT_QDRANT_COLLECTION.

One point per chunk: its dense vector (`dense`, cosine), a sparse vector of citebot's own BM25
terms (`bm25`: the stems of text/terms.py, each weighted by BM25's saturated term frequency, with
the engine's IDF modifier supplying the same idf as the local store), and a payload with what an
answer is composed from (article id, title, source, url, published and dated as datetimes, author,
position, offsets, text, sentence spans and their vectors). Beside them, points without vectors:
one per article (its clean text, gaps, source record and near-duplicate signature), one per term
(its document frequency, which the answer path weighs question words by) and the manifest.

Promises, as the local store's:
- `index build` fills a new collection and then switches the alias in one operation: readers see
  the old collection or the new one, never a mix; a killed build leaves the alias where it was,
  and the next build drops the half-written collection. The previous collection is kept until
  the next build (a reader may still be answering from it).
- `index update` writes into the served collection, a group of whole articles per request (the
  new version's points, the old version's deletion and the terms' counts together), so that a
  killed update leaves every article wholly old or wholly new, and running it again completes
  the work (ids come from the content, so writing a version twice changes nothing).
- Transient errors (connection refused or reset, timeouts, 429/502/503/504) are retried with
  backoff; what still fails is one line naming the setting to check, never the API key.

Searches run in the engine: dense and sparse, each with the date filter applied there; citebot
fuses the two lists itself (answer/fusion.py), since its abstention weighs each list's own ranks
and scores. `hybrid_search` (prefetch + RRF in the engine) is there for comparison
(bench/bench_qdrant.py).
"""
from __future__ import annotations

import atexit
import base64
import contextlib
import datetime as dt
import hashlib
import json
import re
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from ..config import QdrantConfig
from ..lexical import chunk_term_counts, saturated
from ..records import Article, Chunk
from ..sources.dedup import Candidate, Copy, Signature, band_keys
from .base import (REBUILD, ArticleState, ChunkRow, Edit, IndexDamaged, IndexError_, NoIndex,
                   StoreUnavailable, check_compatible)

FORMAT_VERSION = 1  # the layout of points and payloads below
DENSE, SPARSE = "dense", "bm25"
CHUNK, ARTICLE, TERM, MANIFEST = "chunk", "article", "term", "manifest"
MANIFEST_ID = 1  # hashed ids are >= 2**32, so they never meet it
SENTENCE_DTYPE = np.float16  # as the local store keeps them
CHUNK_DTYPE = np.float16  # what reranking reads, as the local store keeps it (the engine searches float32)
SCROLL_PAGE = 1000
CACHED_CHUNKS = 512
HNSW_EF = 128  # candidates a server's HNSW search keeps (at least twice k): recall near exact at k <= 80
TRANSIENT_STATUS = {429, 500, 502, 503, 504}
BACKOFF_S = 0.25  # first wait before a retry; doubled each time
PAYLOAD_INDEXES = {  # what filters and ordering need indexed on a server (local mode scans)
    "kind": "keyword", "article_id": "keyword", "article_rowid": "integer", "position": "integer",
    "source": "keyword", "source_key": "keyword", "published": "datetime", "dated": "datetime",
    "years": "integer", "dup_group": "keyword", "lsh": "integer",
}
CHUNK_PAYLOAD = ["article_rowid", "article_id", "title", "source", "author", "published", "url", "path", "dated",
                 "position", "start", "end", "text", "sentences", "sentence_vectors"]


# -- ids and values ---------------------------------------------------------------------------------

def _hashed_id(*parts: str) -> int:
    """A 63-bit id (an int64 for numpy, an unsigned id for Qdrant) from the content, at least 2**32."""
    value = int.from_bytes(hashlib.blake2b("\0".join(parts).encode("utf-8"), digest_size=8).digest(), "little")
    return (value & (2**63 - 1)) | 2**32


def article_rowid(article: Article) -> int:
    """Each version of an article has its own id, so a new one can be written before the old goes."""
    return _hashed_id("article", article.id, article.content_hash)


def chunk_id(article: Article, position: int) -> int:
    return _hashed_id("chunk", article.id, article.content_hash, str(position))


def term_index(term: str) -> int:
    """A stem's dimension of the sparse vector (32 bits: two stems rarely share one)."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little")


def _term_point(index: int) -> int:
    return _hashed_id("term", str(index))


def _to_datetime(date: str | None) -> str | None:
    """An ISO date as the RFC 3339 datetime Qdrant's datetime index and range filters take."""
    if not date:
        return None
    try:
        return dt.date.fromisoformat(date[:10]).isoformat() + "T00:00:00Z"
    except ValueError:
        return None


def _from_datetime(value: str | None) -> str | None:
    return value[:10] if value else None


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data else None


def _unb64(text: str | None) -> bytes | None:
    return base64.b64decode(text) if text else None


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


# -- the client: one per place and process, retries, one-line errors -----------------------------

class CollectionMissing(IndexError_):
    """The collection or alias asked for does not exist (HTTP 404)."""


class _Connection:
    """A client and how to call it. Local mode holds its folder for one process, so every store of
    a process shares one client per place; its calls are serialised (it is plain Python)."""

    def __init__(self, cfg: QdrantConfig):
        from qdrant_client import QdrantClient

        self.cfg = cfg
        self.local = cfg.url is None
        self.lock = threading.RLock() if self.local else contextlib.nullcontext()
        if self.local:
            try:
                self.client = QdrantClient(path=str(cfg.path))
            except RuntimeError as e:
                if "already accessed" not in str(e):
                    raise
                raise StoreUnavailable(
                    f"the Qdrant folder {cfg.path} is open in another process (local mode serves one process at a "
                    "time; run a Qdrant server and set CITEBOT_QDRANT_URL to build while a bot serves)") from None
        else:
            with warnings.catch_warnings():  # "Api key is used with an insecure connection": README says use https
                warnings.simplefilter("ignore")
                self.client = QdrantClient(url=cfg.url, api_key=cfg.api_key, timeout=max(1, int(cfg.timeout_s)),
                                           check_compatibility=False)

    def where(self) -> str:
        return f"the Qdrant folder {self.cfg.path}" if self.local else f"the Qdrant server at {self.cfg.url}"

    def call(self, what: str, fn: Callable, *args, write: bool = False, **kwargs):
        """fn(*args, **kwargs), tried again on a transient error (with backoff); anything else, or
        the last try, becomes one line (StoreUnavailable / IndexError_) without the API key."""
        tries = 1 + max(0, self.cfg.retries)
        for attempt in range(tries):
            try:
                with self.lock:
                    return fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - sorted below; a bug still surfaces as itself
                kind, message, transient = self._explain(e)
                if kind is None:
                    raise
                if kind is StoreUnavailable and transient and attempt + 1 < tries:
                    time.sleep(BACKOFF_S * 2**attempt)
                    continue
                tail = "; nothing was changed, the served index stays as it was" if write else ""
                raise kind(self._scrub(f"{message} (while {what}){tail}")) from None

    def _explain(self, e: Exception) -> tuple[type[IndexError_] | None, str, bool]:
        """(the error to raise, the line it says, whether trying again may help); (None, ...) for
        what is not the store's error (a bug: raised as it is)."""
        import httpx
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

        if isinstance(e, ResponseHandlingException):
            e = e.source if isinstance(e.source, Exception) else e
        if isinstance(e, httpx.TimeoutException):
            return StoreUnavailable, (f"{self.where()} did not answer within {self.cfg.timeout_s:g} s: check "
                                      "CITEBOT_QDRANT_URL and the server's load"), True
        if isinstance(e, httpx.TransportError):
            reason = str(e).split("] ")[-1] or type(e).__name__
            return StoreUnavailable, (f"cannot reach {self.where()} ({reason}): check CITEBOT_QDRANT_URL and that "
                                      "the server is running"), True
        if isinstance(e, UnexpectedResponse):
            status = e.status_code or 0
            if status in (401, 403):
                return StoreUnavailable, (f"{self.where()} refused the API key (HTTP {status}): check "
                                          "CITEBOT_QDRANT_API_KEY"), False
            line = f"{self.where()} answered HTTP {status}: {_response_detail(e)}"
            if status == 404:
                return CollectionMissing, line, False
            return (StoreUnavailable if status in TRANSIENT_STATUS else IndexError_), line, status in TRANSIENT_STATUS
        if self.local and isinstance(e, (ValueError, KeyError)) and "not found" in str(e).lower():
            return CollectionMissing, f"{self.where()}: {str(e).splitlines()[0][:200]}", False
        return None, "", False

    def _scrub(self, text: str) -> str:
        key = self.cfg.api_key
        return text.replace(key, "[secret]") if key else text


def _response_detail(e) -> str:
    try:
        return str(e.structured().get("status", {}).get("error") or e.reason_phrase)[:200]
    except (ValueError, AttributeError):
        return (e.reason_phrase or "")[:200]


_connections: dict[tuple, _Connection] = {}
_connections_lock = threading.Lock()


def _connection(cfg: QdrantConfig) -> _Connection:
    key = (cfg.url, str(Path(cfg.path).resolve()) if cfg.path else None, cfg.api_key)
    with _connections_lock:
        conn = _connections.get(key)
        if conn is None:
            if not _connections:  # closed before the interpreter tears modules down (local mode's
                atexit.register(close_connections)  # client otherwise complains on stderr at exit)
            conn = _connections[key] = _Connection(cfg)
        return conn


def close_connections() -> None:
    """Close every client of this process (a local-mode folder is then free for another process)."""
    with _connections_lock:
        for conn in _connections.values():
            with contextlib.suppress(Exception):
                conn.client.close()
        _connections.clear()


# -- the store ---------------------------------------------------------------------------------------

class QdrantStore:
    kind = "qdrant"
    format_version = FORMAT_VERSION

    def __init__(self, cfg: QdrantConfig):
        if bool(cfg.url) == bool(cfg.path):
            raise IndexError_("CITEBOT_STORE=qdrant needs either CITEBOT_QDRANT_URL (a server or cluster) or "
                              "CITEBOT_QDRANT_PATH (a local-mode folder), not both")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", cfg.collection or ""):
            raise IndexError_(f"CITEBOT_QDRANT_COLLECTION: '{cfg.collection}' is not a name of letters, digits, "
                              "'-' and '_'")
        self.cfg = cfg
        self.alias = cfg.collection
        self._conn: _Connection | None = None

    @property
    def conn(self) -> _Connection:
        if self._conn is None:
            self._conn = _connection(self.cfg)
        return self._conn

    def call(self, what: str, fn_name: str, *args, write: bool = False, **kwargs):
        return self.conn.call(what, getattr(self.conn.client, fn_name), *args, write=write, **kwargs)

    def where(self) -> str:
        where = f"folder {self.cfg.path}" if self.cfg.path else self.cfg.url
        return f"Qdrant {where}, collection {self.alias}"

    def close(self) -> None:
        pass  # the connection is shared by the process (close_connections)

    # -- which collection is served ---------------------------------------------------------------
    def pointer(self) -> str | None:
        """The served collection and its revision (each write adds one): one request a question,
        and a reader reopens after a build or an update."""
        manifest = self._served_manifest()
        return None if manifest is None else f"{manifest.get('generation')}#{manifest.get('revision', 1)}"

    def exists(self) -> bool:
        return self._alias_target() is not None

    def _alias_target(self) -> str | None:
        aliases = self.call("reading the aliases", "get_aliases").aliases
        return next((a.collection_name for a in aliases if a.alias_name == self.alias), None)

    def _served(self) -> str:
        target = self._alias_target()
        if target is None:
            raise NoIndex(f"no index in {self.where()}: build one with `citebot index build PATH...`")
        return target

    def _served_manifest(self) -> dict | None:
        """The manifest of the collection the alias names, read through the alias (None: no alias)."""
        try:
            return self._manifest_of(self.alias)
        except CollectionMissing:
            return None

    def _manifest_of(self, collection: str) -> dict:
        found = self.call("reading the manifest", "retrieve", collection, [MANIFEST_ID], with_payload=True)
        if not found or "manifest" not in (found[0].payload or {}):
            raise IndexDamaged(f"the collection {collection} ({self.where()}) has no citebot manifest: {REBUILD}")
        return json.loads(found[0].payload["manifest"])

    def manifest(self, model: str | None = None) -> dict:
        manifest = self._manifest_of(self._served())
        check_compatible(manifest, model, FORMAT_VERSION)
        return manifest

    def open(self, model: str | None = None, writing: bool = False) -> "QdrantReader":
        """A reader of the collection the alias names now (by its own name: a later switch of the
        alias does not change what this reader reads)."""
        manifest = self._served_manifest()
        if manifest is None:
            raise NoIndex(f"no index in {self.where()}: build one with `citebot index build PATH...`")
        if not writing:
            check_compatible(manifest, model, FORMAT_VERSION)
        return QdrantReader(self, manifest["generation"], manifest)

    def check_settings(self, dimension: int) -> None:
        """Before anything is embedded: the server answers, and the alias's name is free for us."""
        names = {c.name for c in self.call("listing the collections", "get_collections").collections}
        if self.alias in names:
            raise IndexError_(f"CITEBOT_QDRANT_COLLECTION: '{self.alias}' names a collection of its own on "
                              f"{self.conn.where()}, and citebot needs the name for an alias: choose another name")
        if self.cfg.shards < 1 or self.cfg.replicas < 1:
            raise IndexError_("CITEBOT_QDRANT_SHARDS and CITEBOT_QDRANT_REPLICAS must be at least 1")

    # -- writing ----------------------------------------------------------------------------------
    def write(self, old: "QdrantReader | None", edit: Edit) -> dict | None:
        if old is None:
            return self._build(edit)
        return self._update(old, edit)

    def _collections(self) -> list[str]:
        pattern = re.compile(rf"{re.escape(self.alias)}-\d{{8}}T\d{{6}}-[0-9a-f]{{6}}")
        names = [c.name for c in self.call("listing the collections", "get_collections").collections]
        return [n for n in names if pattern.fullmatch(n)]

    def _drop_unserved(self, keep: set[str]) -> None:
        """Drop our collections that neither the alias nor the one before it names: what a killed
        build left, and older builds."""
        for name in self._collections():
            if name not in keep:
                self.call(f"dropping the unserved collection {name}", "delete_collection", name, write=True)

    def _kept(self) -> set[str]:
        served = self._alias_target()
        if served is None:
            return set()
        try:
            previous = self._manifest_of(served).get("previous")
        except IndexDamaged:
            previous = None
        return {served, previous} - {None}

    def _build(self, edit: Edit) -> dict:
        from qdrant_client import models as m

        self._drop_unserved(self._kept())
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        name = f"{self.alias}-{stamp}-{uuid.uuid4().hex[:6]}"
        dimension = int(edit.shape["dimension"])
        self.call(f"creating the collection {name}", "create_collection", name, write=True,
                  vectors_config={DENSE: m.VectorParams(size=dimension, distance=m.Distance.COSINE)},
                  sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
                  shard_number=self.cfg.shards, replication_factor=self.cfg.replicas, on_disk_payload=True)
        schema = {"keyword": m.PayloadSchemaType.KEYWORD, "integer": m.PayloadSchemaType.INTEGER,
                  "datetime": m.PayloadSchemaType.DATETIME}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # local mode: "payload indexes have no effect" (it scans)
            for field, kind in PAYLOAD_INDEXES.items():
                self.call(f"indexing {field}", "create_payload_index", name, field, schema[kind], write=True)
        lengths = [sum(chunk_term_counts(a.title, c.text).values()) for a, cs in zip(edit.fresh, edit.chunks)
                   for c in cs]
        avg_length = float(np.mean(lengths)) if lengths else 1.0
        writer = _Writer(self, name, dimension, avg_length)
        df: dict[int, int] = {}
        for group in writer.groups(edit):
            ops, terms = writer.article_ops(group)
            for index in terms:
                df[index] = df.get(index, 0) + 1
            writer.apply(ops)
        writer.put_terms(df)
        served = self._alias_target()
        manifest = {**edit.shape, "store": self.kind, "format": FORMAT_VERSION, "generation": name,
                    "built_at": _now(), "articles": len(edit.fresh), "chunks": sum(len(c) for c in edit.chunks),
                    "sources": edit.sources, "bm25_avg_length": avg_length, "previous": served, "revision": 1}
        writer.put_manifest(manifest)
        self._switch(name, served)
        self._drop_unserved({name, served} - {None})
        return manifest

    def _switch(self, name: str, served: str | None) -> None:
        """The alias moves to `name` in one operation: readers see the old collection or the new one."""
        from qdrant_client import models as m

        ops = []
        if served is not None:
            ops.append(m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=self.alias)))
        ops.append(m.CreateAliasOperation(create_alias=m.CreateAlias(collection_name=name, alias_name=self.alias)))
        self.call("switching the alias", "update_collection_aliases", ops, write=True)

    def _update(self, old: "QdrantReader", edit: Edit) -> dict | None:
        stale = old.stale_rowids()  # what an interrupted earlier write left: settled now
        if not edit.fresh and not edit.gone and not stale and not edit.sources_changed:
            return None
        name = old.collection
        writer = _Writer(self, name, int(old.manifest["dimension"]), float(old.manifest.get("bm25_avg_length") or 1))
        replaced = {edit.old_articles[a.id].rowid for a in edit.fresh if a.id in edit.old_articles}
        removed = sorted((set(edit.gone) - replaced) | stale)
        for group in writer.groups(edit):
            olds = [edit.old_articles[a.id].rowid for a, *_ in group if a.id in edit.old_articles]
            writer.replace(group, olds)
        for start in range(0, len(removed), max(1, self.cfg.batch_size // 8)):
            writer.replace([], removed[start:start + max(1, self.cfg.batch_size // 8)])
        articles = old.count(ARTICLE)
        chunks = old.count(CHUNK)
        manifest = {**old.manifest, **edit.shape, "store": self.kind, "format": FORMAT_VERSION,
                    "updated_at": _now(), "articles": articles, "chunks": chunks, "sources": edit.sources,
                    "revision": int(old.manifest.get("revision", 1)) + 1}
        writer.put_manifest(manifest)
        return manifest

    # -- inspecting -------------------------------------------------------------------------------
    def status(self) -> dict:
        name = self._served()
        manifest = self._manifest_of(name)
        info = self.call("reading the collection", "get_collection", name)
        params = info.config.params
        reader = QdrantReader(self, name, manifest)
        return {"store": "qdrant", "where": self.cfg.url or str(self.cfg.path), "collection": self.alias,
                "generation": name, "points": info.points_count, "articles": manifest.get("articles"),
                "chunks": manifest.get("chunks"), "shards": params.shard_number or 1,
                "replicas": params.replication_factor or 1, "state": getattr(info.status, "value", str(info.status)),
                "model": manifest.get("model"), "dimension": manifest.get("dimension"), "dtype": manifest.get("dtype"),
                "chunk_tokens": manifest.get("chunk_tokens"), "chunk_overlap": manifest.get("chunk_overlap"),
                "built_at": manifest.get("built_at"), "updated_at": manifest.get("updated_at"),
                "latest_published": reader.latest_published(), "format": manifest.get("format")}

    def check(self) -> list[str]:
        """The served collection against its manifest: counts, the vectors' size, the engine's state."""
        name = self._served()
        manifest = self._manifest_of(name)
        reader = QdrantReader(self, name, manifest)
        problems = []
        for kind, key in ((ARTICLE, "articles"), (CHUNK, "chunks")):
            found = reader.count(kind)
            if found != manifest.get(key):
                problems.append(f"{name}: {found} {key}, the manifest says {manifest.get(key)} (an update was "
                                "interrupted: run `citebot index update` again)")
        info = self.call("reading the collection", "get_collection", name)
        vectors = info.config.params.vectors
        size = vectors[DENSE].size if isinstance(vectors, dict) and DENSE in vectors else None
        if size != manifest.get("dimension"):
            problems.append(f"{name}: dense vectors of size {size}, the manifest says {manifest.get('dimension')}")
        state = getattr(info.status, "value", str(info.status))
        if state == "red":
            problems.append(f"{name}: the engine reports the collection red (failed operations): see the server log")
        return problems


# -- writing points ----------------------------------------------------------------------------------

class _Writer:
    """Points for articles, their chunks and terms, sent a group of whole articles per request."""

    def __init__(self, store: QdrantStore, collection: str, dimension: int, avg_length: float):
        self.store = store
        self.collection = collection
        self.dimension = dimension
        self.avg_length = avg_length

    def groups(self, edit: Edit) -> Iterator[list[tuple]]:
        """(article, chunks, vectors, sentence vectors) of the fresh articles, grouped so that a
        request holds about batch_size chunks; an article is never split between requests."""
        group: list[tuple] = []
        size = 0
        for item in zip(edit.fresh, edit.chunks, edit.vectors, edit.sentence_vectors):
            if group and size + len(item[1]) > self.store.cfg.batch_size:
                yield group
                group, size = [], 0
            group.append(item)
            size += len(item[1])
        if group:
            yield group

    def article_ops(self, group: list[tuple]) -> tuple[list, list[int]]:
        """Upserts of the group's article and chunk points; the term index of every chunk's terms
        (once per chunk: the terms' document frequencies)."""
        from qdrant_client import models as m

        points, terms = [], []
        for art, chunks, vectors, sentence_vectors in group:
            rowid = article_rowid(art)
            points.append(m.PointStruct(id=rowid, vector={}, payload=_article_payload(art, rowid, chunks)))
            for chunk, vec, svecs in zip(chunks, vectors, sentence_vectors):
                sparse = self._sparse(art.title, chunk.text)
                terms += sparse.indices
                vector = {DENSE: np.asarray(vec, dtype=np.float32).tolist()}
                if sparse.indices:
                    vector[SPARSE] = sparse
                points.append(m.PointStruct(id=chunk_id(art, chunk.position), vector=vector,
                                            payload=_chunk_payload(art, rowid, chunk, svecs)))
        return [m.UpsertOperation(upsert=m.PointsList(points=points))], terms

    def _sparse(self, title: str, text: str):
        from qdrant_client import models as m

        counts = chunk_term_counts(title, text)
        length = sum(counts.values())
        values: dict[int, float] = {}
        for term, tf in counts.items():
            index = term_index(term)
            values[index] = values.get(index, 0.0) + saturated(tf, length, self.avg_length)
        return m.SparseVector(indices=list(values), values=list(values.values()))

    def replace(self, group: list[tuple], old_rowids: Sequence[int]) -> None:
        """One request: the group's new versions written, the old versions (`old_rowids`, their
        chunks included) deleted, and the document frequencies of the terms both touch set."""
        from qdrant_client import models as m

        ops, added = self.article_ops(group) if group else ([], [])
        delta: dict[int, int] = {}
        for index in added:
            delta[index] = delta.get(index, 0) + 1
        if old_rowids:
            for record in self.store_reader().scroll(chunks_of(old_rowids), payload=False, vectors=[SPARSE]):
                sparse = (record.vector or {}).get(SPARSE)
                for index in (sparse.indices if sparse is not None else ()):
                    delta[index] = delta.get(index, 0) - 1
        if delta:
            now = self.store_reader().term_counts(list(delta))
            counts = {index: now.get(index, 0) + change for index, change in delta.items()}
            ops += self._term_ops(counts)
        if old_rowids:
            ops.append(m.DeleteOperation(delete=m.FilterSelector(filter=m.Filter(must=[
                m.FieldCondition(key="article_rowid", match=m.MatchAny(any=[int(r) for r in old_rowids]))]))))
        if ops:
            self.apply(ops)

    def store_reader(self) -> "QdrantReader":
        return QdrantReader(self.store, self.collection, {"dimension": self.dimension})

    def _term_ops(self, counts: dict[int, int]) -> list:
        from qdrant_client import models as m

        keep = [m.PointStruct(id=_term_point(i), vector={}, payload={"kind": TERM, "df": n})
                for i, n in counts.items() if n > 0]
        drop = [_term_point(i) for i, n in counts.items() if n <= 0]
        ops = [m.UpsertOperation(upsert=m.PointsList(points=keep))] if keep else []
        if drop:
            ops.append(m.DeleteOperation(delete=m.PointIdsList(points=drop)))
        return ops

    def put_terms(self, df: dict[int, int]) -> None:
        items = list(df.items())
        step = max(1, self.store.cfg.batch_size * 8)  # term points are small
        for start in range(0, len(items), step):
            self.apply(self._term_ops(dict(items[start:start + step])))

    def put_manifest(self, manifest: dict) -> None:
        from qdrant_client import models as m

        point = m.PointStruct(id=MANIFEST_ID, vector={}, payload={"kind": MANIFEST, "manifest": json.dumps(manifest)})
        self.apply([m.UpsertOperation(upsert=m.PointsList(points=[point]))])

    def apply(self, ops: list) -> None:
        self.store.call(f"writing to {self.collection}", "batch_update_points", self.collection, ops, wait=True,
                        write=True)


def _article_payload(art: Article, rowid: int, chunks: Sequence[Chunk]) -> dict:
    """Its text, and each chunk's sentence spans by position: what an extract may grow into."""
    signature = Signature.from_bytes(art.signature) if art.signature else None
    return {"kind": ARTICLE, "article_rowid": rowid, "article_id": art.id, "title": art.title, "source": art.source,
            "author": art.author, "url": art.url, "path": art.path, "published": _to_datetime(art.published),
            "dated": _to_datetime(art.dated), "years": list(art.years), "text": art.text,
            "content_hash": art.content_hash, "origin": art.origin, "stamp": art.stamp, "gaps": list(art.gaps),
            "source_key": art.source_key, "added": art.added, "dup_group": art.dup_group,
            "signature": _b64(art.signature), "lsh": [int(k) for k in band_keys(signature)] if signature else [],
            "chunks": len(chunks), "chunk_sentences": _sentences_by_position(chunks)}


def _sentences_by_position(chunks: Sequence[Chunk]) -> list[list[list[int]]]:
    out: list[list[list[int]]] = [[] for _ in range(1 + max((c.position for c in chunks), default=-1))]
    for c in chunks:
        out[c.position] = [[int(s), int(e)] for s, e in c.sentences]
    return out


def _chunk_payload(art: Article, rowid: int, chunk: Chunk, sentence_vectors) -> dict:
    svecs = np.asarray(sentence_vectors, dtype=SENTENCE_DTYPE) if len(chunk.sentences) else None
    return {"kind": CHUNK, "article_rowid": rowid, "article_id": art.id, "title": art.title, "source": art.source,
            "source_key": art.source_key, "author": art.author, "url": art.url, "path": art.path,
            "published": _to_datetime(art.published), "dated": _to_datetime(art.dated), "years": list(art.years),
            "position": chunk.position, "start": chunk.start, "end": chunk.end, "text": chunk.text,
            "sentences": [[int(s), int(e)] for s, e in chunk.sentences],
            "sentence_vectors": _b64(svecs.tobytes()) if svecs is not None else None}


def _kind(kind: str):
    from qdrant_client import models as m

    return m.FieldCondition(key="kind", match=m.MatchValue(value=kind))


def chunks_of(rowids: Sequence[int]):
    from qdrant_client import models as m

    return m.Filter(must=[_kind(CHUNK), m.FieldCondition(key="article_rowid",
                                                         match=m.MatchAny(any=[int(r) for r in rowids]))])


# -- reading -----------------------------------------------------------------------------------------

class PeriodChunks:
    """The chunks of a period, as a filter the engine applies (an archive's period can hold
    millions of chunks: their ids are never listed); len() counts them."""

    def __init__(self, reader: "QdrantReader", flt):
        self.reader = reader
        self.filter = flt
        self._count: int | None = None

    def __len__(self) -> int:
        if self._count is None:
            self._count = self.reader.call("counting a period's chunks", "count", self.reader.collection,
                                           count_filter=self.filter, exact=True).count
        return self._count

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """The ids themselves, for a caller that intersects them with its own (listed page by page)."""
        ids = [int(p.id) for p in self.reader.scroll(self.filter, payload=False)]
        return np.asarray(ids, dtype=dtype or np.int64)


class QdrantReader:
    """Read access to one collection (the one the alias named when it was opened). Safe to share
    between threads."""

    def __init__(self, store: QdrantStore, collection: str, manifest: dict):
        self.store = store
        self.collection = collection
        self.manifest = manifest
        self._records: dict[int, Any] = {}  # chunk id → its point (payload and dense vector), recently read
        self._articles: dict[int, dict] = {}
        self._stale: set[int] = set()

    def call(self, what: str, fn_name: str, *args, **kwargs):
        return self.store.call(what, fn_name, *args, **kwargs)

    def close(self) -> None:
        self._records.clear()
        self._articles.clear()

    @property
    def dimension(self) -> int:
        return int(self.manifest["dimension"])

    def scroll(self, flt, payload: Any = True, vectors: Any = False, order_by=None, limit: int | None = None):
        offset = None
        seen = 0
        while True:
            page = min(SCROLL_PAGE, limit - seen) if limit else SCROLL_PAGE
            points, offset = self.call("reading points", "scroll", self.collection, scroll_filter=flt, limit=page,
                                       offset=offset, with_payload=payload, with_vectors=vectors, order_by=order_by)
            yield from points
            seen += len(points)
            if offset is None or order_by is not None or (limit and seen >= limit):
                return

    def count(self, kind: str) -> int:
        from qdrant_client import models as m

        return self.call("counting points", "count", self.collection, count_filter=m.Filter(must=[_kind(kind)]),
                         exact=True).count

    # -- candidates -------------------------------------------------------------------------------
    def _filter(self, allowed):
        from qdrant_client import models as m

        if allowed is None:
            return None
        if isinstance(allowed, PeriodChunks):
            return allowed.filter
        return m.Filter(must=[m.HasIdCondition(has_id=[int(i) for i in np.asarray(allowed).ravel()])])

    def dense_search(self, vector: np.ndarray, k: int, allowed=None) -> list[tuple[int, float]]:
        from qdrant_client import models as m

        if allowed is not None and not len(allowed):
            return []
        params = None if self.store.conn.local else m.SearchParams(hnsw_ef=max(HNSW_EF, 2 * k))  # local: exact
        found = self.call("searching", "query_points", self.collection,
                          query=np.asarray(vector, dtype=np.float32).ravel().tolist(), using=DENSE, limit=k,
                          query_filter=self._filter(allowed), with_payload=False, search_params=params)
        return [(int(p.id), float(p.score)) for p in found.points]

    def _sparse_query(self, terms: Sequence[str]):
        from qdrant_client import models as m

        indices = sorted({term_index(t) for t in terms})
        return m.SparseVector(indices=indices, values=[1.0] * len(indices))

    def bm25_search(self, terms: Sequence[str], k: int, allowed=None) -> list[tuple[int, float]]:
        if not terms or (allowed is not None and not len(allowed)):
            return []
        found = self.call("searching", "query_points", self.collection, query=self._sparse_query(terms),
                          using=SPARSE, limit=k, query_filter=self._filter(allowed), with_payload=False)
        return [(int(p.id), float(p.score)) for p in found.points if p.score > 0]

    def hybrid_search(self, vector: np.ndarray, terms: Sequence[str], k: int, allowed=None,
                      dense_k: int = 80, sparse_k: int = 40) -> list[tuple[int, float]]:
        """Dense and sparse candidates fused by RRF inside the engine, in one request."""
        from qdrant_client import models as m

        flt = self._filter(allowed)
        prefetch = [m.Prefetch(query=np.asarray(vector, dtype=np.float32).ravel().tolist(), using=DENSE,
                               limit=dense_k, filter=flt)]
        if terms:
            prefetch.append(m.Prefetch(query=self._sparse_query(terms), using=SPARSE, limit=sparse_k, filter=flt))
        found = self.call("searching", "query_points", self.collection, prefetch=prefetch,
                          query=m.FusionQuery(fusion=m.Fusion.RRF), limit=k, with_payload=False)
        return [(int(p.id), float(p.score)) for p in found.points]

    def doc_freq(self, terms: Sequence[str]) -> dict[str, int]:
        counts = self.term_counts([term_index(t) for t in terms])
        return {t: counts.get(term_index(t), 0) for t in terms}

    def term_counts(self, indices: Sequence[int]) -> dict[int, int]:
        if not indices:
            return {}
        by_point = {_term_point(i): i for i in indices}
        found = self.call("reading term counts", "retrieve", self.collection, list(by_point), with_payload=["df"])
        return {by_point[int(p.id)]: int(p.payload.get("df", 0)) for p in found}

    def chunks_in_period(self, start: str, end: str, years: Sequence[int] = ()) -> PeriodChunks:
        from qdrant_client import models as m

        dated = m.FieldCondition(key="dated", range=m.DatetimeRange(gte=_to_datetime(start), lte=_to_datetime(end)))
        should: list = [dated]
        if years:
            should.append(m.Filter(must=[m.IsEmptyCondition(is_empty=m.PayloadField(key="dated")),
                                         m.FieldCondition(key="years", match=m.MatchAny(any=[int(y) for y in years]))]))
        return PeriodChunks(self, m.Filter(must=[_kind(CHUNK)], should=should))

    # -- chunks -----------------------------------------------------------------------------------
    def _fetch(self, ids: Sequence[int]) -> dict[int, Any]:
        """The chunk points of `ids` (payload and dense vector), in one request for those not read
        lately: reranking reads rows, vectors and sentences of the same few chunks."""
        ids = [int(i) for i in ids]
        out = {i: self._records[i] for i in ids if i in self._records}
        missing = [i for i in dict.fromkeys(ids) if i not in out]
        if missing:
            found = self.call("reading chunks", "retrieve", self.collection, missing, with_payload=CHUNK_PAYLOAD,
                              with_vectors=[DENSE])
            if len(self._records) > CACHED_CHUNKS:
                self._records.clear()
            for p in found:
                if (p.payload or {}).get("text") is not None:  # a chunk point, not another kind's
                    out[int(p.id)] = self._records[int(p.id)] = p
        return out

    def chunk_rows(self, ids: Iterable[int]) -> dict[int, ChunkRow]:
        out = {}
        for cid, p in self._fetch([i for i in ids if int(i) >= 0]).items():
            d = p.payload
            out[cid] = ChunkRow(cid, int(d["article_rowid"]), int(d["position"]), int(d["start"]), int(d["end"]),
                                d["text"], d["article_id"], d["title"], d.get("source"), d.get("author"),
                                _from_datetime(d.get("published")), d.get("url"), d.get("path"),
                                _from_datetime(d.get("dated")))
        return out

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """Rounded to float16 as the local store keeps them for reranking, so that both stores give
        the answer path the same numbers (a last-digit difference can swap two near-equal chunks)."""
        found = self._fetch(ids)
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        for row, cid in enumerate(ids):
            p = found.get(int(cid))
            if p is not None and p.vector and DENSE in p.vector:
                out[row] = p.vector[DENSE]
        return out.astype(CHUNK_DTYPE).astype(np.float32)

    def sentences(self, chunk_ids: Sequence[int]) -> dict[int, list[tuple[tuple[int, int], np.ndarray]]]:
        ids = [int(i) for i in chunk_ids]
        found = self._fetch(ids)
        out: dict[int, list] = {i: [] for i in ids}
        for cid in ids:
            p = found.get(cid)
            if p is None:
                continue
            spans = p.payload.get("sentences") or []
            blob = _unb64(p.payload.get("sentence_vectors"))
            vecs = (np.frombuffer(blob, dtype=SENTENCE_DTYPE).reshape(len(spans), -1).astype(np.float32)
                    if blob else np.zeros((len(spans), self.dimension), dtype=np.float32))
            out[cid] = [((int(s), int(e)), v) for (s, e), v in zip(spans, vecs)]
        return out

    def sentence_spans_around(self, article_rowid: int, position: int, reach: int = 1) -> list[tuple[int, int]]:
        """From the article's point (read once for its text): no request of its own."""
        by_chunk = self._article(article_rowid).get("chunk_sentences") or []
        lo, hi = max(0, position - reach), position + reach + 1
        return sorted({(int(s), int(e)) for spans in by_chunk[lo:hi] for s, e in spans})

    def article_chunks(self, article_rowid: int) -> list[tuple[int, int, int, int, str]]:
        """(chunk id, position, start, end, text) of one article's chunks, in text order."""
        flt = chunks_of([article_rowid])
        rows = [(int(p.id), int(p.payload["position"]), int(p.payload["start"]), int(p.payload["end"]),
                 p.payload["text"]) for p in self.scroll(flt, payload=["position", "start", "end", "text"])]
        return sorted(rows, key=lambda r: r[1])

    # -- articles ---------------------------------------------------------------------------------
    def _article(self, rowid: int) -> dict:
        found = self._articles.get(rowid)
        if found is None:
            points = self.call("reading an article", "retrieve", self.collection, [int(rowid)],
                               with_payload=["text", "gaps", "chunk_sentences"])
            if not points:
                raise KeyError(f"article {rowid} is not in {self.collection}")
            found = points[0].payload
            if len(self._articles) > 512:
                self._articles.clear()
            self._articles[rowid] = found
        return found

    def article_text(self, article_rowid: int) -> str:
        return self._article(article_rowid)["text"]

    def article_gaps(self, article_rowid: int) -> list[int]:
        return list(self._article(article_rowid).get("gaps") or [])

    def _edge(self, field: str, direction) -> str | None:
        from qdrant_client import models as m

        flt = m.Filter(must=[_kind(ARTICLE)], must_not=[m.IsEmptyCondition(is_empty=m.PayloadField(key=field))])
        for p in self.scroll(flt, payload=[field], order_by=m.OrderBy(key=field, direction=direction), limit=1):
            return _from_datetime(p.payload.get(field))
        return None

    def date_range(self) -> tuple[str | None, str | None]:
        from qdrant_client import models as m

        return self._edge("dated", m.Direction.ASC), self._edge("dated", m.Direction.DESC)

    def latest_published(self) -> str | None:
        from qdrant_client import models as m

        return self._edge("published", m.Direction.DESC)

    def articles(self) -> dict[str, ArticleState]:
        """Every served article; where an interrupted write left two versions of one, the newest
        is kept and the other is settled by the next write (stale_rowids)."""
        fields = ["article_id", "content_hash", "origin", "stamp", "source_key", "dated", "added"]
        out: dict[str, ArticleState] = {}
        self._stale = set()
        for p in self.scroll(kind_filter(ARTICLE), payload=fields):
            d = p.payload
            state = ArticleState(int(p.id), d["content_hash"], d.get("origin"), d.get("stamp"), d.get("source_key"),
                                 _from_datetime(d.get("dated")), d.get("added"))
            was = out.get(d["article_id"])
            if was is not None:
                older = min(was, state, key=lambda s: (s.added or "", s.rowid))
                self._stale.add(older.rowid)
                state = was if older is state else state
            out[d["article_id"]] = state
        return out

    def stale_rowids(self) -> set[int]:
        return set(self._stale)

    def lsh_candidates(self, keys: Sequence[int], skip: set[int] = frozenset()) -> list[Candidate]:
        from qdrant_client import models as m

        if not keys:
            return []
        flt = m.Filter(must=[_kind(ARTICLE), m.FieldCondition(key="lsh", match=m.MatchAny(any=[int(k) for k in keys]))])
        out = []
        for p in self.scroll(flt, payload=["article_id", "dup_group", "signature"]):
            sig = _unb64(p.payload.get("signature"))
            if sig and int(p.id) not in skip:
                aid = p.payload["article_id"]
                out.append(Candidate(aid, p.payload.get("dup_group") or aid, Signature.from_bytes(sig)))
        return out

    def copies(self, article_ids: Sequence[str]) -> dict[str, list[Copy]]:
        from qdrant_client import models as m

        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return {}
        flt = m.Filter(must=[_kind(ARTICLE), m.FieldCondition(key="article_id", match=m.MatchAny(any=ids))])
        groups = {p.payload["article_id"]: p.payload["dup_group"]
                  for p in self.scroll(flt, payload=["article_id", "dup_group"]) if p.payload.get("dup_group")}
        if not groups:
            return {}
        flt = m.Filter(must=[_kind(ARTICLE), m.FieldCondition(key="dup_group",
                                                              match=m.MatchAny(any=sorted(set(groups.values()))))])
        members: dict[str, list[Copy]] = {}
        for p in self.scroll(flt, payload=["dup_group", "article_id", "title", "source", "url", "published", "dated"]):
            d = p.payload
            members.setdefault(d["dup_group"], []).append(
                Copy(d["article_id"], d["title"], d.get("source"), d.get("url"), _from_datetime(d.get("published")),
                     _from_datetime(d.get("dated"))))
        out = {}
        for aid, group in groups.items():
            others = [c for c in members.get(group, []) if c.article_id != aid]
            if others:
                out[aid] = sorted(others, key=lambda c: (c.published or c.dated or "9999", c.article_id))
        return out


def kind_filter(kind: str):
    from qdrant_client import models as m

    return m.Filter(must=[_kind(kind)])
