"""What an operator needs to say which stage caused a wrong answer: the question as parsed, the
first stage's candidates with each list's score, the reader's probability per candidate, the
abstention features and the decision against its threshold, and the one stage that decided.

Built only when asked (`Retriever.answer(explain=True)`): plain dicts, so every front end (the
command's --explain, the API's ?explain=1, the page's disclosure) shows the same figures.
"""
from __future__ import annotations

from typing import Sequence

from .question import Question
from .records import Answer, Candidate, FirstStage

SHOWN = 10  # candidates listed: the decision reads the first; ten show what it was chosen from

# the stage that decided an answer, as the answer path names its own stages
DATES, CANDIDATES, ABSTAIN, READER = "dates", "candidates", "abstain", "reader"


def question_part(q: Question, bm25_terms: Sequence[str] = ()) -> dict:
    """The question as the answer path read it: language, period, the words it searched for."""
    period = q.period
    return {"text": q.text, "language": q.language,
            "period": None if period is None else {"start": period.start, "end": period.end, "label": period.label,
                                                   "relative": period.relative},
            "asks_latest": bool(q.dates.recency), "searched_text": q.rest, "terms": list(q.terms),
            "bm25_terms": list(bm25_terms), "names": list(q.names), "focus": q.focus}


def candidate_rows(cands: Sequence[Candidate], dense: Sequence[tuple[int, float]],
                   lexical: Sequence[tuple[int, float]], limit: int = SHOWN) -> list[dict]:
    """The first `limit` candidates in the answer's order (the reader's, where it orders): each list's score and rank
    (None: not found by that list), the fused score, the best sentence's cosine and word overlap,
    the reranked relevance and the reader's probability (None: not read)."""
    dense_score, bm25_score = dict(dense), dict(lexical)
    read = any(c.reader is not None for c in cands)  # then `score` is the reader's, `first_stage` the relevance
    rows = []
    for i, c in enumerate(cands[:limit], 1):
        rows.append({
            "rank": i, "chunk_id": c.row.id, "article_id": c.row.article_id, "title": c.row.title,
            "published": c.row.published,
            "dense": _round(dense_score.get(c.row.id, c.dense)), "dense_rank": _rank(c.dense_rank),
            "bm25": _round(bm25_score.get(c.row.id)), "bm25_rank": _rank(c.bm25_rank),
            "fused": _round(c.fused), "sentence_cos": _round(c.best_cos), "sentence_words": _round(c.best_lex),
            "relevance": _round(c.first_stage if read else c.score),
            "reader": _round(c.reader),
        })
    return rows


def decision_part(by_reader: bool, confidence: float, threshold: float, sure_at: float, found: bool,
                  tentative: bool, features: dict[str, float]) -> dict:
    return {"decider": READER if by_reader else ABSTAIN, "confidence": _round(confidence), "threshold": _round(threshold),
            "sure_at": _round(sure_at), "found": found, "tentative": tentative,
            "features": {k: _round(v) for k, v in features.items()}}


def verdict(reason: str | None, found: bool, decision: dict | None, period_label: str | None,
            elsewhere: str | None) -> tuple[str, str]:
    """(the stage that decided, one sentence saying how) for an answer's outcome."""
    if reason == "period_empty":
        return DATES, f"the archive holds no article from {period_label}, so nothing was searched"
    if decision is None:
        where = f" from {period_label}" if period_label else ""
        return CANDIDATES, f"the searches found no passage{where} to judge"
    who = READER if decision["decider"] == READER else ABSTAIN
    judge = "the reader's probability" if who == READER else "the abstention model's probability"
    if elsewhere is not None and decision["confidence"] >= decision["threshold"]:
        return DATES, (f"a story from {elsewhere}, outside {period_label}, matches better than anything inside it "
                       f"({judge} for the best passage inside: {decision['confidence']:.3f}, not sure enough)")
    if not found:
        also = f"; the archive's closest story is from {elsewhere}, outside {period_label}" if elsewhere else ""
        return who, f"{judge} {decision['confidence']:.3f} is under the threshold {decision['threshold']:.3f}{also}"
    caution = " (under 'sure' at {:.3f}: shown with a caution)".format(decision["sure_at"]) if decision["tentative"] else ""
    return who, f"{judge} {decision['confidence']:.3f} reaches the threshold {decision['threshold']:.3f}{caution}"


def explanation(q: Question, reason: str | None, found: bool, bm25_terms: Sequence[str] = (),
                candidates: list[dict] | None = None, decision: dict | None = None,
                elsewhere: str | None = None, timings: dict[str, float] | None = None) -> dict:
    stage, why = verdict(reason, found, decision, q.period.label if q.period else None, elsewhere)
    return {"stage": stage, "why": why, "question": question_part(q, bm25_terms), "candidates": candidates or [],
            "decision": decision, "timings_ms": {k: round(v * 1000, 1) for k, v in (timings or {}).items()}}


def explained(answer: Answer, explain: bool, q: Question, got: FirstStage | None = None,
              cands: list[Candidate] | None = None, decision: dict | None = None,
              elsewhere: str | None = None) -> Answer:
    """`answer`, with its explanation attached when one was asked for (`explain`)."""
    if explain:
        rows = candidate_rows(cands or [], got.dense, got.lexical) if got is not None else []
        answer.explanation = explanation(q, answer.reason, answer.answer_found, got.bm25_terms if got is not None else (),
                                         rows, decision, elsewhere, answer.timings)
    return answer


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _rank(r: int | None) -> int | None:
    return None if r is None else r + 1
