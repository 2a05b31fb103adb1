"""Which FAISS index holds the vectors. Exact inner product is the default: at news-site sizes it
answers in milliseconds and needs no training; an approximate index pays only for large archives."""
from __future__ import annotations

import numpy as np

# Exact search reads every vector for every question, so its cost follows memory bandwidth:
# 2.7 ms at 10k chunks, 13 ms at 100k, ~130 ms at 1M on the 2-core benchmark machine
# (bench/bench_scale.py). Above this size an approximate index answers instead.
AUTO_APPROXIMATE_ABOVE = 100_000  # chunks
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
    tune_for_search(index)
    return index, kind


def tune_for_search(index) -> None:
    """Search-time parameters, applied whenever an index is opened, so changing them needs no rebuild."""
    import faiss

    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else faiss.downcast_index(index)
    hnsw = getattr(inner, "hnsw", None)
    if hnsw is not None:
        hnsw.efSearch = HNSW_EF_SEARCH
