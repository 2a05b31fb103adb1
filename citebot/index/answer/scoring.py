"""Sentence and chunk relevance, on vectors and text alone (no store, no model): each sentence of a
candidate chunk scores by its in-context cosine to the question, the rarity-weighted share of the
question's words it holds, and the answer-type cue; a chunk by its own cosine and its best sentence."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..encoders.cosines import IDENTITY, CosineScale
from ..text.terms import stems
from .cues import AnswerType, cue
from .records import AnswerConfig, Candidate, Picker

if TYPE_CHECKING:
    from ..stores.base import StoreReader
    from .question import Question


@dataclass(frozen=True)
class SentenceScore:
    span: tuple[int, int]
    cos: float
    lex: float
    cue: float
    score: float  # what the picker ranks by


def overlap(sentence_stems: set[str], idf: dict[str, float]) -> float:
    """Share of the question's idf mass whose words the sentence holds (0..1)."""
    total = sum(idf.values())
    return sum(w for term, w in idf.items() if term in sentence_stems) / total if total else 0.0


def score_sentences(question: str, qv: np.ndarray, text: str,
                    sentences: Sequence[tuple[tuple[int, int], np.ndarray]], idf: dict[str, float],
                    picker: Picker, kind: AnswerType, lexical_weight: float = 1.0,
                    cue_weight: float = 0.15, lang: str | None = None,
                    cosines: CosineScale = IDENTITY) -> list[SentenceScore]:
    """`lang`: the question's language (its terms are stemmed in it; None tells each sentence's);
    `cosines`: the model's cosines onto the scale the weights were set on (encoders/cosines.py)."""
    out = []
    for pos, (span, vec) in enumerate(sentences):
        sentence = text[span[0]:span[1]]
        cos = float(vec @ qv)
        lex = overlap(stems(sentence, lang), idf)
        c = cue(sentence, kind, question) if cue_weight else 0.0
        if picker is Picker.DENSE:
            s = cos
        elif picker is Picker.LEXICAL:
            s = lex + 1e-3 * cos
        elif picker is Picker.FIRST:
            s = -pos
        else:
            s = cosines(cos) + lexical_weight * lex + cue_weight * c
        out.append(SentenceScore(span, cos, lex, c, s))
    return out


def best_sentence(scores: Sequence[SentenceScore]) -> SentenceScore:
    """The highest-scoring sentence; the earliest among equals."""
    return max(scores, key=lambda s: s.score)


def highlight(scores: Sequence[SentenceScore], extra_cue: float = 0.0) -> SentenceScore:
    """The sentence to put in bold: the best one, with the answer-type cue counting `extra_cue`
    more than when chunks are ranked (the sentence *about* the question ranks a chunk; the one
    that holds the amount, the date or the name it asks for is the answer to show)."""
    return max(scores, key=lambda s: s.score + extra_cue * s.cue)


def chunk_score(dense: float, best: SentenceScore, sentence_weight: float = 2.0, lexical_weight: float = 1.0,
                cue_weight: float = 0.15, cosines: CosineScale = IDENTITY) -> float:
    """A chunk's relevance: its own cosine and, weighted more, its best sentence's."""
    sentence = cosines(best.cos) + lexical_weight * best.lex + cue_weight * best.cue
    return (cosines(dense) + sentence_weight * sentence) / (1 + sentence_weight)


def score_candidates(cfg: AnswerConfig, reader: StoreReader, q: Question, qv: np.ndarray, idf_q: dict[str, float],
                     cands: list[Candidate], cosines: CosineScale = IDENTITY) -> None:
    """Each candidate's relevance and its best sentence (the highlight): its chunk cosine, and its
    sentences scored against the question (cosine, words, the answer-type cue)."""
    if not cands:
        return
    ids = [c.row.id for c in cands]
    chunk_vecs = reader.vectors(ids)
    sents = reader.sentences(ids)
    for c, cv in zip(cands, chunk_vecs):
        c.dense = float(cv @ qv)
        spans = sents.get(c.row.id) or [((c.row.start, c.row.end), cv)]
        c.sentences = [sp for sp, _ in spans]
        text = reader.article_text(c.row.article_rowid)
        scores = score_sentences(q.focus_text, qv, text, spans, idf_q, cfg.picker, q.kind, cfg.lexical_weight,
                                 cfg.cue_weight, q.language, cosines)
        best = best_sentence(scores)
        c.best_cos, c.best_lex, c.best_cue = best.cos, best.lex, best.cue
        c.score = chunk_score(c.dense, best, cfg.sentence_weight, cfg.lexical_weight, cfg.cue_weight, cosines)
        c.best = highlight(scores, cfg.highlight_cue_weight - cfg.cue_weight).span
