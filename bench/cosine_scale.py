"""The anchors of each model's cosine scale (citebot/index/encoders/cosines.py), measured on the
bundled sample articles: the mean cosine of an unrelated question (the reference probes) to a
sample sentence, and the mean cosine of an article's headline to its closest own sentence; then
the affine map taking each model's pair onto the default model's, beside the one citebot uses.

    .venv/bin/python bench/cosine_scale.py [--models all-MiniLM-L6-v2,multilingual-e5-small]
        [--articles examples/articles]
    .venv/bin/python bench/cosine_scale.py --smoke   # the default model alone (the tests run it)

Why these anchors: they come from text of our own that no evaluation set touches, they need no
labels, and they span what ranking must tell apart (a passage about nothing asked, a passage
about the question). The spread of cosines in an archive can be read off them too (printed).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from citebot.index.answer.reference import PROBES_FILE  # noqa: E402
from citebot.index.encoders.cosines import CosineScale, cosine_scale  # noqa: E402
from citebot.index.encoders.factory import load_encoder  # noqa: E402
from citebot.index.encoders.sentence_transformers import DEFAULT_MODEL  # noqa: E402
from citebot.index.loading import load_articles  # noqa: E402
from citebot.index.text.sentences import sentence_spans  # noqa: E402


def sample_sentences(folder: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Headlines, sentences (of at least four words) and each sentence's article."""
    articles = load_articles([folder], lambda *a, **k: None)
    sentences, owner = [], []
    for i, a in enumerate(articles):
        for s, e in sentence_spans(a.text):
            text = a.text[s:e].strip()
            if len(text.split()) >= 4:
                sentences.append(text)
                owner.append(i)
    return [a.title for a in articles], sentences, np.array(owner)


def anchors(model: str, titles: list[str], sentences: list[str], owner: np.ndarray,
            probes: list[str]) -> tuple[float, float, float]:
    """(unrelated mean, related mean, unrelated standard deviation) of `model`'s cosines."""
    enc = load_encoder(model)
    passages, _ = enc.encode_with_sentences(sentences, [[(0, len(s))] for s in sentences])
    unrelated = enc.encode_queries(probes) @ passages.T
    heads = enc.encode_queries(titles)
    related = [float((heads[i] @ passages[owner == i].T).max()) for i in range(len(titles)) if (owner == i).any()]
    return float(unrelated.mean()), float(np.mean(related)), float(unrelated.std())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=f"{DEFAULT_MODEL},multilingual-e5-small")
    ap.add_argument("--articles", type=Path, default=REPO / "examples" / "articles")
    ap.add_argument("--smoke", action="store_true", help="the default model alone (no optional model needed)")
    args = ap.parse_args()
    if args.smoke:
        args.models = DEFAULT_MODEL
    probes = [line.strip() for line in PROBES_FILE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    titles, sentences, owner = sample_sentences(args.articles)
    print(f"{len(titles)} articles, {len(sentences)} sentences, {len(probes)} unrelated questions")
    ref = anchors(DEFAULT_MODEL, titles, sentences, owner, probes)
    for model in args.models.split(","):
        got = ref if model == DEFAULT_MODEL else anchors(model, titles, sentences, owner, probes)
        fit = CosineScale.from_anchors(got[0], got[1], ref[0], ref[1])
        print(f"{model}: unrelated {got[0]:.3f} (sd {got[2]:.3f}), related {got[1]:.3f}; "
              f"map center {fit.center:.4f} scale {fit.scale:.3f}; citebot uses {cosine_scale(model)}")


if __name__ == "__main__":
    main()
