"""One candidate list out of the dense and the lexical ones. Every list here is (chunk id, score),
best first."""
from __future__ import annotations

from typing import Sequence

from .records import Fusion

Ranking = Sequence[tuple[int, float]]


def reciprocal_rank_fusion(rankings: Sequence[Ranking], k: int = 60,
                           weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """Σ weight / (k + rank) over the lists each id appears in, best first (ties keep first-seen order)."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, (cid, _) in enumerate(ranking):
            fused[cid] = fused.get(cid, 0.0) + weight / (k + rank + 1)
    return sorted(fused.items(), key=lambda item: -item[1])


def fuse(dense: Ranking, lexical: Ranking, mode: Fusion, rrf_k: int = 60,
         dense_weight: float = 1.0) -> list[tuple[int, float]]:
    """The fused candidate list for a fusion mode (an unknown mode is an error, never an empty list)."""
    mode = Fusion(mode)
    if mode is Fusion.DENSE:
        return list(dense)
    if mode is Fusion.BM25:
        return list(lexical)
    return reciprocal_rank_fusion([dense, lexical], rrf_k, [dense_weight, 1.0])
