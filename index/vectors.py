"""Which FAISS index holds the vectors. Exact inner product is the default: at news-site sizes it
answers in milliseconds and needs no training; an approximate index pays only for large archives."""
from __future__ import annotations

import numpy as np

AUTO_APPROXIMATE_ABOVE = 200_000  # chunks; below this exact search stays within the latency budget
HNSW_EF_SEARCH = 128


def choose_kind(spec: str, n: int) -> str:
    spec = (spec or "auto").strip()
    if spec.lower() == "auto":
        return "HNSW32,Flat" if n > AUTO_APPROXIMATE_ABOVE else "Flat"
    if spec.lower() in ("flat", "exact"):
        return "Flat"
    if spec.lower() == "hnsw":
        return "HNSW32,Flat"
    return spec  # any FAISS index_factory string


def build_faiss(vectors: np.ndarray, ids: np.ndarray, spec: str):
    """A FAISS index keyed by chunk id, and the factory string it was made from."""
    import faiss

    dim = vectors.shape[1]
    kind = choose_kind(spec, len(ids))
    inner = faiss.index_factory(dim, kind, faiss.METRIC_INNER_PRODUCT)
    index = faiss.IndexIDMap2(inner)
    if len(ids):
        if not inner.is_trained:
            inner.train(vectors)
        index.add_with_ids(vectors, ids)
    hnsw = getattr(faiss.downcast_index(inner), "hnsw", None)
    if hnsw is not None:
        hnsw.efSearch = HNSW_EF_SEARCH
    return index, kind
