"""Extracts: whole sentences around the best one, verbatim, within a length budget, never across a
place where cleaning dropped something; and one extract per stretch of an article."""
from __future__ import annotations

from typing import Callable, Sequence

Span = tuple[int, int]


def window(best: Span, spans: Sequence[Span], budget: int, gaps: Sequence[int] = ()) -> Span:
    """Whole sentences around `best`, alternately before and after, while the extract stays within
    `budget` characters, bounded by the gaps either side of it (the quote never splices)."""
    lo_gap = max((g for g in gaps if g <= best[0]), default=0)
    hi_gap = min((g for g in gaps if g > best[0]), default=float("inf"))
    spans = sorted({sp for sp in spans if lo_gap <= sp[0] < hi_gap} | {best})
    b = spans.index(best)
    lo = hi = b
    grew = True
    while grew:
        grew = False
        for j in (lo - 1, hi + 1):
            if 0 <= j < len(spans):
                new_lo, new_hi = min(lo, j), max(hi, j)
                if spans[new_hi][1] - spans[new_lo][0] <= budget:
                    lo, hi, grew = new_lo, new_hi, True
    return spans[lo][0], spans[hi][1]


def overlaps(span: Span, shown: Sequence[Span]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in shown)


def is_cut(text: str, start: int, end: int) -> tuple[bool, bool]:
    """Whether the extract starts or ends inside a paragraph (shown with "…")."""
    return (start > 0 and not text[:start].endswith("\n"),
            end < len(text) and not text[end:].startswith("\n"))


def lead_sentence(text: str, spans: Sequence[Span], subject: Callable[[str], bool]) -> Span:
    """For "the latest on X": the article's first sentence about the subject, else its first
    sentence. A news story states its news first, but may open with a notice or a dateline."""
    ordered = sorted(spans)
    return next((sp for sp in ordered if subject(text[sp[0]:sp[1]])), ordered[0])
