"""Quality and latency on a SQuAD-format file, as ../shared/eval/README.md describes.

Each `data` entry is one article (its paragraphs joined by blank lines), indexed the way a user's
articles are; each answerable question counts as found at k when a gold answer appears (case- and
whitespace-insensitive) inside the top k extracts. Unanswerable and off-topic questions measure
abstention.
"""
from __future__ import annotations

import hashlib
import json
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .retrieval import Answer, Retriever

KS = (1, 3, 5)


@dataclass
class Question:
    text: str
    answers: list[str]
    title: str
    impossible: bool


def squad_articles(path: Path) -> tuple[list[dict], list[Question]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    articles, questions = [], []
    for entry in data:
        title = entry["title"].replace("_", " ")
        text = "\n\n".join(p["context"].strip() for p in entry["paragraphs"])
        articles.append({"id": entry["title"], "title": title, "text": text})
        for p in entry["paragraphs"]:
            for qa in p["qas"]:
                questions.append(Question(qa["question"], [a["text"] for a in qa.get("answers", [])],
                                          title, bool(qa.get("is_impossible"))))
    return articles, questions


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip().lower()


def corpus_key(*parts: object) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(str(p).encode())
    return h.hexdigest()[:16]


@dataclass
class EvalResult:
    metrics: dict = field(default_factory=dict)
    misses: list[dict] = field(default_factory=list)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def evaluate(retriever: Retriever, questions: list[Question], offtopic: list[str],
             k_max: int = 5, progress: Callable[[int, int], None] | None = None) -> EvalResult:
    answerable = [q for q in questions if not q.impossible and q.answers]
    impossible = [q for q in questions if q.impossible]
    found = {k: 0 for k in KS}
    served = {k: 0 for k in KS}
    art_hit = {1: 0, 5: 0}
    highlight1 = 0
    rr = 0.0
    refused = 0
    latencies: list[float] = []
    extract_lens: list[int] = []
    misses = []
    total = len(answerable) + len(impossible) + len(offtopic)
    done = 0

    def ask(text: str) -> Answer:
        nonlocal done
        t = time.perf_counter()
        ans = retriever.answer(text, k=k_max)
        latencies.append(time.perf_counter() - t)
        done += 1
        if progress:
            progress(done, total)
        return ans

    for q in answerable:
        ans = ask(q.text)
        golds = [_norm(a) for a in q.answers]
        ranked = ans.ranked[:k_max]
        first = next((i for i, h in enumerate(ranked) if any(g in _norm(h.extract) for g in golds)), None)
        for k in KS:
            if first is not None and first < k:
                found[k] += 1
                if first < len(ans.hits):
                    served[k] += 1
        if first is not None:
            rr += 1.0 / (first + 1)
        titles = [h.title for h in ranked]
        art_hit[1] += bool(titles[:1] and titles[0] == q.title)
        art_hit[5] += q.title in titles[:5]
        if ranked and any(g in _norm(ranked[0].highlight) for g in golds):
            highlight1 += 1
        refused += not ans.answer_found
        extract_lens.extend(len(h.extract) for h in ranked[:1])
        if first != 0:
            misses.append({"question": q.text, "answers": q.answers[:2],
                           "top": ranked[0].extract if ranked else None,
                           "highlight": ranked[0].highlight if ranked else None})
    n = max(1, len(answerable))
    abstain_impossible = sum(not ask(q.text).answer_found for q in impossible)
    abstain_offtopic = sum(not ask(q).answer_found for q in offtopic)
    m = {
        "answerable": len(answerable),
        **{f"answer_recall@{k}": found[k] / n for k in KS},
        **{f"served_recall@{k}": served[k] / n for k in KS},
        "article_hit@1": art_hit[1] / n, "article_hit@5": art_hit[5] / n,
        "highlight_recall@1": highlight1 / n,
        "mrr@5": rr / n,
        "mean_extract_chars": statistics.mean(extract_lens) if extract_lens else 0.0,
        "wrongly_refused": refused / n,
        "unanswerable": len(impossible),
        "abstain_unanswerable": abstain_impossible / max(1, len(impossible)),
        "offtopic": len(offtopic),
        "abstain_offtopic": abstain_offtopic / max(1, len(offtopic)),
        "latency_median_ms": 1000 * statistics.median(latencies) if latencies else 0.0,
        "latency_p95_ms": 1000 * _pct(latencies, 0.95),
        "queries": len(latencies),
    }
    return EvalResult(m, misses)
