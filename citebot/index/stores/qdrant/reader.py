"""Reading one collection: what the answer path and a build or update read (the StoreReader
protocol of stores/base.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from ...duplicates import Copy, Neighbour, Signature, other_copies
from ..base import ArticleState, ChunkRow
from .periods import PeriodChunks
from .points import (ARTICLE, CHUNK, CHUNK_DTYPE, CHUNK_PAYLOAD, DENSE, SENTENCE_DTYPE, SPARSE, from_datetime,
                     kind_is, term_point, to_datetime, unb64, chunks_of, kind_filter, term_index)

if TYPE_CHECKING:
    from .store import QdrantStore

SCROLL_PAGE = 1000
CACHED_CHUNKS = 512
HNSW_EF = 128  # candidates a server's HNSW search keeps (at least twice k): recall near exact at k <= 80


class QdrantReader:
    """Read access to one collection (the one the alias named when it was opened). Safe to share
    between threads."""

    def __init__(self, store: "QdrantStore", collection: str, manifest: dict):
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

        return self.call("counting points", "count", self.collection, count_filter=m.Filter(must=[kind_is(kind)]),
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
        by_point = {term_point(i): i for i in indices}
        found = self.call("reading term counts", "retrieve", self.collection, list(by_point), with_payload=["df"])
        return {by_point[int(p.id)]: int(p.payload.get("df", 0)) for p in found}

    def chunks_in_period(self, start: str, end: str, years: Sequence[int] = ()) -> PeriodChunks:
        from qdrant_client import models as m

        dated = m.FieldCondition(key="dated", range=m.DatetimeRange(gte=to_datetime(start), lte=to_datetime(end)))
        should: list = [dated]
        if years:
            should.append(m.Filter(must=[m.IsEmptyCondition(is_empty=m.PayloadField(key="dated")),
                                         m.FieldCondition(key="years", match=m.MatchAny(any=[int(y) for y in years]))]))
        return PeriodChunks(self, m.Filter(must=[kind_is(CHUNK)], should=should))

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
                                from_datetime(d.get("published")), d.get("url"), d.get("path"),
                                from_datetime(d.get("dated")))
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
            blob = unb64(p.payload.get("sentence_vectors"))
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

        flt = m.Filter(must=[kind_is(ARTICLE)], must_not=[m.IsEmptyCondition(is_empty=m.PayloadField(key=field))])
        for p in self.scroll(flt, payload=[field], order_by=m.OrderBy(key=field, direction=direction), limit=1):
            return from_datetime(p.payload.get(field))
        return None

    def date_range(self) -> tuple[str | None, str | None]:
        from qdrant_client import models as m

        return self._edge("dated", m.Direction.ASC), self._edge("dated", m.Direction.DESC)

    def latest_published(self) -> str | None:
        from qdrant_client import models as m

        return self._edge("published", m.Direction.DESC)

    def articles(self) -> dict[str, ArticleState]:
        """Every served article. Where an interrupted write left two versions of one (local mode
        only: a server applies each request whole), one is reported and the other is deleted by
        the next write (stale_rowids); if the one kept is the old one, that update reads the
        article's source again and writes the new one."""
        fields = ["article_id", "content_hash", "origin", "stamp", "source_key", "dated", "added"]
        out: dict[str, ArticleState] = {}
        self._stale = set()
        for p in self.scroll(kind_filter(ARTICLE), payload=fields):
            d = p.payload
            state = ArticleState(int(p.id), d["content_hash"], d.get("origin"), d.get("stamp"), d.get("source_key"),
                                 from_datetime(d.get("dated")), d.get("added"))
            was = out.get(d["article_id"])
            if was is not None:
                older = min(was, state, key=lambda s: (s.added or "", s.rowid))
                self._stale.add(older.rowid)
                state = was if older is state else state
            out[d["article_id"]] = state
        return out

    def stale_rowids(self) -> set[int]:
        return set(self._stale)

    def lsh_candidates(self, keys: Sequence[int], skip: set[int] = frozenset()) -> list[Neighbour]:
        from qdrant_client import models as m

        if not keys:
            return []
        flt = m.Filter(must=[kind_is(ARTICLE), m.FieldCondition(key="lsh", match=m.MatchAny(any=[int(k) for k in keys]))])
        out = []
        for p in self.scroll(flt, payload=["article_id", "dup_group", "signature"]):
            sig = unb64(p.payload.get("signature"))
            if sig and int(p.id) not in skip:
                aid = p.payload["article_id"]
                out.append(Neighbour(aid, p.payload.get("dup_group") or aid, Signature.from_bytes(sig)))
        return out

    def copies(self, article_ids: Sequence[str]) -> dict[str, list[Copy]]:
        from qdrant_client import models as m

        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return {}
        flt = m.Filter(must=[kind_is(ARTICLE), m.FieldCondition(key="article_id", match=m.MatchAny(any=ids))])
        groups = {p.payload["article_id"]: p.payload["dup_group"]
                  for p in self.scroll(flt, payload=["article_id", "dup_group"]) if p.payload.get("dup_group")}
        if not groups:
            return {}
        flt = m.Filter(must=[kind_is(ARTICLE), m.FieldCondition(key="dup_group",
                                                              match=m.MatchAny(any=sorted(set(groups.values()))))])
        members: dict[str, list[Copy]] = {}
        for p in self.scroll(flt, payload=["dup_group", "article_id", "title", "source", "url", "published", "dated"]):
            d = p.payload
            members.setdefault(d["dup_group"], []).append(
                Copy(d["article_id"], d["title"], d.get("source"), d.get("url"), from_datetime(d.get("published")),
                     from_datetime(d.get("dated"))))
        return other_copies(groups, members)


