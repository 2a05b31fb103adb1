"""Writing points: a group of whole articles per request (their article and chunk points, the old
versions' deletion and the terms' counts together), so an interrupted update leaves each article
wholly old or wholly new."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np

from ..bm25 import chunk_term_counts, saturated
from ..base import Edit
from .points import (DENSE, MANIFEST, MANIFEST_ID, SPARSE, TERM, article_payload, chunk_payload, term_point,
                     article_rowid, chunk_id, chunks_of, term_index)
from .reader import QdrantReader

if TYPE_CHECKING:
    from .store import QdrantStore


class Writer:
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
            points.append(m.PointStruct(id=rowid, vector={}, payload=article_payload(art, rowid, chunks)))
            for chunk, vec, svecs in zip(chunks, vectors, sentence_vectors):
                sparse = self._sparse(art.title, chunk.text)
                terms += sparse.indices
                vector = {DENSE: np.asarray(vec, dtype=np.float32).tolist()}
                if sparse.indices:
                    vector[SPARSE] = sparse
                points.append(m.PointStruct(id=chunk_id(art, chunk.position), vector=vector,
                                            payload=chunk_payload(art, rowid, chunk, svecs)))
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

        keep = [m.PointStruct(id=term_point(i), vector={}, payload={"kind": TERM, "df": n})
                for i, n in counts.items() if n > 0]
        drop = [term_point(i) for i, n in counts.items() if n <= 0]
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


