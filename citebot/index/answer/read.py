"""The reader stage: after the first-stage rerank, the reader (index/reader/) reads the question
with each of the top candidates, in one of three roles (records.ReaderRole): it decides the order,
the bold sentence and whether the archive answers (decide); only whether it answers (verify); or
only the order of the articles it read (rank, the default: the one role measured no worse than the
first stage alone on every row of `make eval`; the model card says why the others are not).

Why a second stage: the first stage scores question and passage apart (cosines, word overlap). The
reader sees both at once, as extractive QA systems do, which orders answers better; telling an
answer from a near miss it does only as well as the words it was trained on let it (model card)."""
from __future__ import annotations

import math
from typing import Protocol, Sequence

from ..reader.inputs import Passage
from ..reader.model import Reading
from .abstain import logit
from .records import Candidate, ReaderRole


class ReadsPassages(Protocol):
    def read(self, question: str, passages: Sequence[Passage]) -> list[Reading]: ...


def passage_of(c: Candidate) -> Passage:
    """The candidate chunk as the reader sees it: title, date, text and its sentences (relative)."""
    row = c.row
    spans = [(max(0, a - row.start), min(len(row.text), b - row.start)) for a, b in c.sentences
             if a < row.end and b > row.start]
    return Passage(row.title or "", row.text, spans or [(0, len(row.text))], row.dated or row.published)


def read_candidates(reader: ReadsPassages, question: str, cands: list[Candidate], top: int,
                    role: ReaderRole = ReaderRole.DECIDE, rank_weight: float = 2.0) -> list[Candidate]:
    """Reads the first `top` candidates (already ranked by the first stage); each read one gets
    `reader` (its probability) and every one `first_stage` (its first-stage score). By `role`:

    - decide: the read ones reordered by the reader's probability, best first, then the rest as
      they were; a read candidate's `score` becomes its probability and `best` (the bold
      sentence) the reader's where it found one;
    - verify: order, scores and bold sentences stay the first stage's; the first candidate gets
      the best probability of those read (whether anything read answers);
    - rank: the read ones reordered article by article, by the reader's logit + `rank_weight` ×
      the first-stage score of the article's best read passage (the reader corrects the first
      stage's order instead of overruling it); inside an article the first stage's order stands:
      it picks the passage by its sentences, and the reader, shown neighbouring chunks that share a
      sentence, would often promote the neighbour and hide the answer behind it. Scores, bold
      sentences and the verdict (pipeline.py) stay the first stage's. Where the first `top` are
      all passages of one article there is no order to change, and nothing is read."""
    head, tail = cands[:top], cands[top:]
    for c in cands:
        c.first_stage = c.score
    if not head or (role == ReaderRole.RANK and len({c.row.article_rowid for c in head}) == 1):
        return cands  # ranking articles among one article changes nothing: nothing to read
    readings = reader.read(question, [passage_of(c) for c in head])
    for c, r in zip(head, readings):
        c.reader = r.probability
    if role == ReaderRole.VERIFY:
        head[0].reader = max(r.probability for r in readings)
        return cands
    if role == ReaderRole.RANK:  # articles by their best read passage; inside one, the first stage's order
        best_of: dict[int, float] = {}
        for c in head:
            v = logit(c.reader) + rank_weight * c.first_stage
            best_of[c.row.article_rowid] = max(v, best_of.get(c.row.article_rowid, v))
        head.sort(key=lambda c: -best_of[c.row.article_rowid])  # a stable sort: inside an article, the order stands
        return head + tail
    for c, r in zip(head, readings):
        c.score = r.probability
        spans = [(a, b) for a, b in c.sentences if a < c.row.end and b > c.row.start] or c.sentences
        if spans and r.sentences:
            i = max(range(min(len(spans), len(r.sentences))), key=lambda j: r.sentences[j])
            if math.isfinite(r.sentences[i]):
                c.best = spans[i]
    head.sort(key=lambda c: -(c.reader or 0.0))
    for c in tail:  # unread candidates rank below every read one
        c.score = 0.0
    return head + tail


def verdict_basis(cands: list[Candidate], first_order: list[Candidate], rerank: bool, read: bool,
                  decides: bool) -> tuple[Candidate, list[Candidate]]:
    """The candidate whether the archive answers is judged on, and the list its runner-up comes
    from: the answer's own first (the reader's, where it decides) — or, where a reader only
    ranked, the first stage's first in the first stage's order, so that ranking changes no verdict."""
    if read and not decides:
        return (first_order[0] if rerank else max(first_order, key=lambda c: c.score)), first_order
    return (cands[0] if rerank or read else max(cands, key=lambda c: c.score)), cands
