"""Which FAISS index holds a segment's vectors. Exact inner product while it is fast enough: it
needs no training and misses nothing; an inverted-file index (IVF) for large segments.

Why IVF rather than HNSW above the threshold (bench/bench_scale.py, 1M chunks, 2 cores): for the
same recall they cost about the same per question (IVF4096 scanning 1/16 of the lists: recall@20
0.962 in 12 ms, 1/8: 0.985 in 21 ms; HNSW32 at efSearch 2048: 0.977 in 19 ms), but an IVF index is memory-mapped
(opened in 0.06 s, its pages shared with every process serving the index and given back under
memory pressure), while an HNSW graph and its vectors must be read into private memory (1.8 GB at
1M chunks) before the first answer.
"""
from __future__ import annotations

import math

import numpy as np

# Exact search reads every vector for every question, so its cost follows memory bandwidth:
# 1.6 ms at 10k chunks, 13 ms at 100k on the 2-core benchmark machine. Above this, IVF.
AUTO_APPROXIMATE_ABOVE = 100_000  # chunks
IVF_SMALLEST = 10_000  # chunks; a segment smaller than this is searched exactly whatever the setting
IVF_PROBE_SHARE = 8  # a search scans at least 1/8 of the lists...
IVF_MIN_SCANNED = 25_000  # ...and at least about this many vectors (recall@20 0.967 -> 0.992 at 100k)
HNSW_EF_SEARCH = 2048  # for an HNSW index asked for by name


MIN_PER_LIST = 40  # training vectors per list that FAISS's k-means needs to place its centroids


def ivf_lists(n: int) -> int:
    """About 4·√n lists, a power of two (1024 at 100k chunks, 4096 at 1M), with enough vectors
    to train each."""
    lists = 2 ** max(4, round(math.log2(4 * math.sqrt(max(n, 1)))))
    while lists > 16 and lists * MIN_PER_LIST > n:
        lists //= 2
    return lists


def choose_kind(spec: str, n: int) -> str:
    spec = (spec or "auto").strip()
    if spec.lower() == "auto":
        return f"IVF{ivf_lists(n)},Flat" if n > AUTO_APPROXIMATE_ABOVE else "Flat"
    if spec.lower() in ("flat", "exact"):
        return "Flat"
    if spec.lower() == "ivf":  # a small segment (an update's) has too little to partition
        return f"IVF{ivf_lists(n)},Flat" if n >= IVF_SMALLEST else "Flat"
    if spec.lower() == "hnsw":
        return "HNSW32,Flat"
    return spec  # any FAISS index_factory string


def check_faiss_spec(spec: str, dimension: int) -> None:
    """Refuse a FAISS factory string FAISS cannot make, before anything is embedded (it used to be
    found only when the vectors were written, after all the embedding work)."""
    import faiss

    from ..base import IndexProblem

    kind = choose_kind(spec, IVF_SMALLEST)
    try:
        faiss.index_factory(dimension, kind, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError:
        raise IndexProblem(f"CITEBOT_FAISS_INDEX: FAISS cannot make an index from '{spec}' (use auto, flat, ivf, hnsw "
                          "or a FAISS index_factory string such as 'IVF1024,Flat')") from None


def build_faiss(vectors: np.ndarray, ids: np.ndarray, spec: str):
    """A FAISS index keyed by chunk id, and the factory string it was made from."""
    import faiss

    dim = vectors.shape[1]
    kind = choose_kind(spec, len(ids))
    inner = faiss.index_factory(dim, kind, faiss.METRIC_INNER_PRODUCT)
    if not inner.is_trained and len(ids) < MIN_PER_LIST * getattr(faiss.try_extract_index_ivf(inner), "nlist", 1):
        kind = "Flat"  # too few vectors to train this index on (a small update's segment): search them exactly
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
    ivf = faiss.try_extract_index_ivf(inner)
    if ivf is not None:
        ivf.nprobe = ivf_probes(ivf.nlist, ivf.ntotal)


def faiss_selector(ids: np.ndarray):
    import faiss

    return faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))


def is_exact(index) -> bool:
    """A flat index: every vector scored, so a filtered search through it is exact too."""
    import faiss

    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else faiss.downcast_index(index)
    return faiss.try_extract_index_ivf(inner) is None and getattr(inner, "hnsw", None) is None


def search_parameters(index, selector):
    """Search parameters carrying a selector, with the index's own probe/ef settings (FAISS
    takes parameters given per search over the index's)."""
    import faiss

    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else faiss.downcast_index(index)
    ivf = faiss.try_extract_index_ivf(inner)
    if ivf is not None:
        return faiss.SearchParametersIVF(sel=selector, nprobe=ivf.nprobe)
    hnsw = getattr(inner, "hnsw", None)
    if hnsw is not None:
        return faiss.SearchParametersHNSW(sel=selector, efSearch=hnsw.efSearch)
    return faiss.SearchParameters(sel=selector)


def ivf_probes(nlist: int, ntotal: int) -> int:
    wanted = max(nlist / IVF_PROBE_SHARE, nlist * IVF_MIN_SCANNED / max(ntotal, 1))
    return max(1, min(nlist, math.ceil(wanted)))
