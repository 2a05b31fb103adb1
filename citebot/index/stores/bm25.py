"""BM25 as both stores compute it: a chunk's term counts (its words, plus its article's title words
at a lower weight), the saturated term frequency stored per chunk, and the idf a question's words
are weighed by. The local store keeps the products as postings (local/lexical.py); the
qdrant store keeps the saturated frequencies as a sparse vector and lets the engine apply the
same idf (its IDF modifier uses this formula).
"""
from __future__ import annotations

import math
from collections import Counter

from ..text.terms import content_stems

K1, B = 1.2, 0.75
TITLE_WEIGHT = 0.3  # a title word counts this much in each of the article's chunks


def idf(n_docs: int, df: int) -> float:
    """BM25's idf, never negative (also used for the rarity of question words when reranking)."""
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


def chunk_term_counts(title: str | None, text: str) -> dict[str, float]:
    """stem → its count in the chunk, title words added at TITLE_WEIGHT."""
    counts: dict[str, float] = Counter(content_stems(text))
    for st in content_stems(title or ""):
        counts[st] = counts.get(st, 0.0) + TITLE_WEIGHT
    return counts


def saturated(tf: float, length: float, avg_length: float) -> float:
    """BM25's term-frequency part for one term of a chunk `length` terms long."""
    norm = K1 * (1 - B + B * length / (avg_length or 1.0))
    return tf * (K1 + 1) / (tf + norm)
