"""Hard negatives for the reader: for each question, the passages of other articles that a lexical
search over the whole pool ranks first (TF-IDF), and those citebot's own answer path ranks first in
the evaluation archive (exactly the confusions of a large archive)."""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Callable

import numpy as np

from .reader_examples import Example


# -- hard negatives ----------------------------------------------------------------------------
def lexical_negatives(examples: list[Example], per_question: int, rng: random.Random) -> list[Example]:
    """For each positive, the passages of other articles a TF-IDF search ranks first."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    pool = {(e.article, e.text): e for e in examples}
    docs = list(pool.values())
    vec = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2, max_df=0.3)
    m = vec.fit_transform([d.title + " " + d.text for d in docs])
    positives = [e for e in examples if e.label == 1]
    q = vec.transform([e.question for e in positives])
    out = []
    step = 500
    for s in range(0, len(positives), step):
        sims = (q[s:s + step] @ m.T).toarray()
        for row, e in zip(sims, positives[s:s + step]):
            taken = 0
            top = np.argpartition(-row, 20)[:20]
            for idx in top[np.argsort(-row[top])]:
                d = docs[idx]
                if d.article == e.article or row[idx] <= 0:
                    continue
                out.append(Example(e.question, d.title, d.text, d.sentences, 0, kind="hard-lexical",
                                   article=d.article, date=d.date))
                taken += 1
                if taken >= per_question:
                    break
    return out


def mine_archive(index_dir: Path, model: str, examples: list[Example], per_question: int, limit: int,
                 allowed: Callable[[str], bool], rng: random.Random, kinds: tuple[str, ...] = ("squad",)
                 ) -> list[Example]:
    """For questions whose answer lies outside the archive, the passages citebot's own answer path
    (reader off) ranks first in it: exactly what a large archive offers in place of an answer.
    `allowed(article_id)`: which archive articles may be trained on (the training split only);
    `kinds`: the positives whose questions are asked (up to `limit` of each kind)."""
    from ..index.answer import AnswerConfig, Retriever
    from ..index.encoders.onnx_query import load_query_encoder

    encoder = load_query_encoder(index_dir, model, "auto", None)
    retriever = Retriever(index_dir, encoder, model, AnswerConfig(reader=False))
    reader = retriever.reader()
    chosen = []
    for kind in kinds:
        of_kind = [e for e in examples if e.label == 1 and e.kind == kind]
        rng.shuffle(of_kind)
        chosen += of_kind[:limit]
    out = []
    for e in chosen:
        ans = retriever.answer(e.question, k=per_question + 2)
        taken = 0
        for hit in ans.ranked:
            if not allowed(hit.article_id):
                continue
            row = reader.chunk_rows([hit.chunk_id]).get(hit.chunk_id)
            if row is None:
                continue
            if e.answer_span and e.text[e.answer_span[0]:e.answer_span[1]].lower() in row.text.lower():
                continue  # the archive may hold the answer too (a news story of the same event)
            spans = [(a - row.start, b - row.start) for (a, b), _ in reader.sentences([row.id]).get(row.id, [])]
            out.append(Example(e.question, row.title, row.text, spans or [(0, len(row.text))], 0,
                               kind="hard-archive", article=row.article_id, date=row.dated))
            taken += 1
            if taken >= per_question:
                break
    return out


def largest_index(folder: Path) -> Path | None:
    """The index with the most articles among `folder`/*/index (make eval's cached archives)."""
    best, most = None, -1
    for gen in Path(folder).glob("*/index"):
        for manifest in gen.glob("gen-*/manifest.json"):
            n = int(json.loads(manifest.read_text()).get("articles") or 0)
            if n > most:
                best, most = gen, n
    return best


def date_question_articles(folder: Path) -> set[str]:
    out: set[str] = set()
    for p in folder.glob("date-questions*.jsonl"):
        out |= {json.loads(line).get("article_id") for line in p.read_text().splitlines() if line.strip()}
    return {a for a in out if a}
