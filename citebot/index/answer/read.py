"""The reader stage: after the first-stage rerank, the reader (index/reader/) reads the question
with each of the top candidates. Its verdict decides the order, the bold sentence and whether the
archive answers at all; the first-stage score only chose what it reads.

Why a second stage: the first stage scores question and passage apart (cosines, word overlap), and
in a large archive the best unrelated passage scores like a real answer. The reader sees both at
once, as extractive QA systems do, and so can tell an answer from a near miss (the subject is
there, the asked fact is not)."""
from __future__ import annotations

import math
from typing import Protocol, Sequence

from ..reader.inputs import Passage
from ..reader.model import Reading
from .records import Candidate


class ReadsPassages(Protocol):
    def read(self, question: str, passages: Sequence[Passage]) -> list[Reading]: ...


def passage_of(c: Candidate) -> Passage:
    """The candidate chunk as the reader sees it: title, date, text and its sentences (relative)."""
    row = c.row
    spans = [(max(0, a - row.start), min(len(row.text), b - row.start)) for a, b in c.sentences
             if a < row.end and b > row.start]
    return Passage(row.title or "", row.text, spans or [(0, len(row.text))], row.dated or row.published)


def read_candidates(reader: ReadsPassages, question: str, cands: list[Candidate], top: int,
                    orders: bool = True) -> list[Candidate]:
    """Reads the first `top` candidates (already ranked by the first stage) and returns all of
    them reordered: the read ones by the reader's probability, best first, then the rest as they
    were. Each read candidate gets `reader` (its probability), its `score` set to it, and `best`
    (the bold sentence) where the reader found one.

    With `orders` False the reader only verifies: each read candidate gets its probability, the
    first candidate the best of them (whether anything read answers), and order, scores and bold
    sentences stay the first stage's."""
    head, tail = cands[:top], cands[top:]
    if not head:
        return cands
    readings = reader.read(question, [passage_of(c) for c in head])
    if not orders:
        for c, r in zip(head, readings):
            c.reader = r.probability
            c.first_stage = c.score
        head[0].reader = max(r.probability for r in readings)
        for c in tail:
            c.first_stage = c.score
        return cands
    for c, r in zip(head, readings):
        c.reader = r.probability
        c.first_stage = c.score
        c.score = r.probability
        spans = [(a, b) for a, b in c.sentences if a < c.row.end and b > c.row.start] or c.sentences
        if spans and r.sentences:
            i = max(range(min(len(spans), len(r.sentences))), key=lambda j: r.sentences[j])
            if math.isfinite(r.sentences[i]):
                c.best = spans[i]
    head.sort(key=lambda c: -(c.reader or 0.0))
    for c in tail:  # unread candidates rank below every read one
        c.first_stage = c.score
        c.score = 0.0
    return head + tail
