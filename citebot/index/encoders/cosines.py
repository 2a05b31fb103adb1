"""Each model's cosines on one scale: the default model's (all-MiniLM-L6-v2), on which the answer
path's weights were set.

Models spread their cosines differently. all-MiniLM-L6-v2 gives an unrelated question and passage
about 0.0 and a passage about the question about 0.7; multilingual-e5-small gives them about 0.74
and 0.92. Reranking adds a cosine to word overlap (0..1) and an answer-type cue with fixed weights,
so on e5's compressed scale word overlap outweighed meaning about four times over, and questions
worded apart from the article (the ones a dense model is for) lost: paraphrase-dev recall@5 at
12,641 articles 0.613 under e5 against 0.762 under MiniLM.

A model's `CosineScale` maps its cosines affinely onto the default model's, fixed by two anchors
measured on the bundled sample articles, which no evaluation set touches (`bench/cosine_scale.py`
prints them): the mean cosine of an unrelated question (the reference probes) to a sample
sentence, and the mean cosine of an article's headline to its closest own sentence. Only ranking
uses the mapped value; the abstention evidence keeps each model's raw cosines (its weights are
fitted per model).
"""
from __future__ import annotations

from dataclasses import dataclass

from .factory import canonical


@dataclass(frozen=True)
class CosineScale:
    """cos -> scale * (cos - center): `center` is the cosine this model gives where the default
    model gives 0, `scale` how much wider the default model's cosines spread."""
    center: float = 0.0
    scale: float = 1.0

    def __call__(self, cos: float) -> float:
        return self.scale * (cos - self.center)

    @classmethod
    def from_anchors(cls, unrelated: float, related: float, ref_unrelated: float,
                     ref_related: float) -> "CosineScale":
        """The map taking this model's (unrelated, related) mean cosines onto the reference's."""
        scale = (ref_related - ref_unrelated) / (related - unrelated)
        return cls(center=round(unrelated - ref_unrelated / scale, 4), scale=round(scale, 3))


IDENTITY = CosineScale()

# bench/cosine_scale.py on the bundled sample articles (2026-12-05): all-MiniLM-L6-v2 unrelated
# 0.017, related 0.713; multilingual-e5-small 0.741, 0.916
SCALES = {
    "multilingual-e5-small": CosineScale.from_anchors(0.741, 0.916, 0.017, 0.713),
}


def cosine_scale(model: str) -> CosineScale:
    """The map for `model` (any alias); the identity for the default model and any model not
    measured (its cosines are taken as they come, as before)."""
    return SCALES.get(canonical(model), IDENTITY)
