"""Answer or say "not found", from signals that mean the same in 5 articles and in 50,000.

A raw relevance threshold drifts with archive size: the more articles, the closer the best
unrelated chunk comes to any question. So the decision also looks at what does not drift: whether
the best extract holds the question's rare words and names, how far the best chunk stands above
this question's own background (its 20th dense candidate), and whether dense and lexical search
agree. A logistic model combines them; `bench/fit_abstention.py` fits it on the dev questions at
three archive sizes and writes `abstain_model.json` beside this file.

Cosines mean different things under different models (multilingual-e5-small gives unrelated text
about 0.75–0.8, all-MiniLM-L6-v2 under 0.45), so each embedding model has its own fitted weights:
`abstain_model.<model>.json` where one was fitted, else the default model's.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from ..text.terms import STOP_WORDS, stems
from .reference import NEUTRAL, Reference

MODEL_FILE = Path(__file__).with_name("abstain_model.json")  # fitted for the default embedding model
BACKGROUND_RANK = 20
FEATURES = ("score", "cos", "dense_margin", "coverage", "rare", "names_missing", "agree", "lex", "gap", "support",
            "cos_margin", "score_z", "cos_z", "chunk_z", "cross_lingual")

_NAME = re.compile(r"\b(?:[A-Z][\w'’-]*[A-Za-z]|[A-Z]{2,}|\d[\d,.]*\d|\d)\b")
_QWORDS = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "is", "are", "was", "were",
           "did", "do", "does", "can", "could", "will", "would", "should", "has", "have", "had", "in", "on",
           "the", "a", "an", "of", "according", "tell", "name", "i", "me", "my", "please"}


def question_names(question: str) -> list[str]:
    """Names and numbers a question gives: capitalised words past its first word, and figures.
    An archive that never names the person or the number asked about cannot answer."""
    words = list(_NAME.finditer(question))
    out = []
    for m in words:
        w = m.group(0)
        if m.start() == 0 or w.lower() in _QWORDS or w.lower() in STOP_WORDS:
            continue
        out.append(w)
    return list(dict.fromkeys(out))


def logit(p: float) -> float:
    """A probability's log-odds (clipped away from 0 and 1): what a fitted decision adds up."""
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class Evidence:
    """What the abstention model looks at for one question's best hit."""
    score: float            # the best hit's reranked relevance
    cos: float              # its best sentence's cosine
    dense_margin: float     # its chunk cosine over the question's BACKGROUND_RANK-th dense candidate
    coverage: float         # idf-weighted share of the question's words in its extract and title
    rare: float             # 1 when the question's rarest word is there
    names_missing: float    # the question's names and figures it lacks (capped at 3)
    agree: float            # 1 when dense and lexical search both rank it in their top 10
    lex: float              # its best sentence's word overlap
    gap: float              # its lead over the second hit's relevance
    support: float          # its article's share of the dense candidates (a subject finds several passages)
    cos_margin: float       # its best sentence's cosine over the mean of the top 10 dense candidates
    score_z: float = 0.0    # its relevance, sentence cosine and chunk cosine against what unrelated
    cos_z: float = 0.0      # questions reach in this archive (reference.py), in robust standard
    chunk_z: float = 0.0    # deviations: the signals that would otherwise drift with archive size
    cross_lingual: float = 0.0  # 1 when the extract is in another language than the question: a
                                # multilingual model's cosines run lower across languages

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in FEATURES}


def evidence(question: str, idf: dict[str, float], extract: str, title: str, score: float, cos: float,
             chunk_cos: float, dense_scores: Sequence[float], in_dense_top: bool, in_lexical_top: bool,
             lex: float, second_score: float | None, support: float = 0.0,
             reference: Reference = NEUTRAL, cross_lingual: bool = False, lang: str | None = None,
             names: Sequence[str] | None = None) -> Evidence:
    """`lang`, `names`: the parsed question's language and names (question.py); None: from `question`."""
    have = stems(extract + " " + title, lang)
    total = sum(idf.values())
    coverage = sum(w for t, w in idf.items() if t in have) / total if total else 0.0
    rare = float(max(idf, key=idf.get) in have) if idf else 0.0
    haystack = (extract + " " + title).lower()
    missing = sum(1 for n in (question_names(question) if names is None else names) if n.lower() not in haystack)
    background = dense_scores[min(len(dense_scores), BACKGROUND_RANK) - 1] if dense_scores else 0.0
    top = list(dense_scores[:10])
    return Evidence(score=score, cos=cos, dense_margin=chunk_cos - background, coverage=coverage, rare=rare,
                    names_missing=float(min(missing, 3)), agree=float(in_dense_top and in_lexical_top), lex=lex,
                    gap=score - second_score if second_score is not None else 0.2, support=support,
                    cos_margin=cos - (sum(top) / len(top) if top else 0.0), score_z=reference.score.z(score),
                    cos_z=reference.cos.z(cos), chunk_z=reference.chunk.z(chunk_cos),
                    cross_lingual=float(cross_lingual))


@dataclass(frozen=True)
class AbstentionModel:
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float

    def probability(self, ev: Evidence) -> float:
        x = [(getattr(ev, f) - m) / s for f, m, s in zip(FEATURES, self.mean, self.scale)]
        z = self.bias + sum(w * v for w, v in zip(self.weights, x))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> dict:
        return {"features": list(FEATURES), "weights": list(self.weights), "bias": self.bias,
                "mean": list(self.mean), "scale": list(self.scale), "threshold": self.threshold}


# Before a model is fitted: the old fixed threshold on relevance, as a degenerate model.
FALLBACK = AbstentionModel(weights=(50.0,) + (0.0,) * (len(FEATURES) - 1), bias=0.0,
                           mean=(0.52,) + (0.0,) * (len(FEATURES) - 1), scale=(1.0,) * len(FEATURES),
                           threshold=0.5)


def fitted_file(model: str | None) -> Path:
    """Where the abstention weights fitted for this embedding model live (None: the default model)."""
    from ..encoders.factory import canonical
    from ..encoders.sentence_transformers import DEFAULT_MODEL

    if not model or canonical(model) == canonical(DEFAULT_MODEL):
        return MODEL_FILE
    return MODEL_FILE.with_name(f"abstain_model.{canonical(model)}.json")


def model_file(model: str | None = None) -> Path:
    """The abstention weights fitted for this embedding model, or the default model's."""
    own = fitted_file(model)
    return own if own.exists() else MODEL_FILE


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_FILE) -> AbstentionModel:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return FALLBACK
    unknown = set(data["features"]) - set(FEATURES)
    if unknown:
        raise ValueError(f"{path} was fitted on other features ({', '.join(sorted(unknown))}): "
                         "refit it with bench/fit_abstention.py")
    # a feature added since the file was fitted weighs nothing in it
    fitted = {f: (w, m, s) for f, w, m, s in zip(data["features"], data["weights"], data["mean"], data["scale"])}
    w, m, s = zip(*(fitted.get(f, (0.0, 0.0, 1.0)) for f in FEATURES))
    return AbstentionModel(tuple(w), float(data["bias"]), tuple(m), tuple(s), float(data["threshold"]))
