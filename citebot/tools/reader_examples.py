"""The reader's training examples: the record, chunk-sized passages on sentence boundaries, the
check that no evaluation text is among them, and their JSONL form under data/reader/."""
from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

WINDOW_WORDS = 95  # about the 128 word pieces of a chunk


@dataclass
class Example:
    question: str
    title: str
    text: str
    sentences: list[tuple[int, int]]
    label: int                          # 1: the passage answers the question
    answer_sentence: int = -1           # index in `sentences` of the answering one
    answer_span: tuple[int, int] | None = None  # the answer's characters in `text`
    kind: str = ""                      # which rule made it (for the figures per kind)
    article: str = ""                   # the article it comes from (splits, exclusions)
    date: str | None = None


# -- passages -------------------------------------------------------------------------------
def windows(text: str, spans: list[tuple[int, int]], words: int = WINDOW_WORDS) -> list[tuple[int, int]]:
    """Sentence-aligned windows of about `words` words, each starting at a sentence, as the
    chunker makes them: (first sentence index, last sentence index + 1)."""
    out, i = [], 0
    while i < len(spans):
        j, n = i, 0
        while j < len(spans) and (j == i or n + len(text[spans[j][0]:spans[j][1]].split()) <= words):
            n += len(text[spans[j][0]:spans[j][1]].split())
            j += 1
        out.append((i, j))
        if j >= len(spans):
            break
        i = max(i + 1, j - 1)  # one sentence of overlap
    return out


def passage(text: str, spans: list[tuple[int, int]], first: int, last: int) -> tuple[str, list[tuple[int, int]]]:
    start, end = spans[first][0], spans[last - 1][1]
    return text[start:end], [(a - start, b - start) for a, b in spans[first:last]]


def window_holding(text: str, spans: list[tuple[int, int]], at: int, rng: random.Random
                   ) -> tuple[str, list[tuple[int, int]], int, int] | None:
    """A window holding the character `at`, its start chosen at random among those that hold it:
    the answer is not always in the first sentence. Returns text, spans, sentence index, offset."""
    k = next((i for i, (a, b) in enumerate(spans) if a <= at < b), None)
    if k is None:
        return None
    holding = [(i, j) for i, j in windows(text, spans) if i <= k < j]
    if not holding:
        return None
    i, j = rng.choice(holding)
    t, sp = passage(text, spans, i, j)
    return t, sp, k - i, spans[i][0]


# -- checks and output ----------------------------------------------------------------------------
def eval_paragraphs(shared: Path) -> list[str]:
    """Every paragraph of the evaluation sets (SQuAD dev, XQuAD): never training text."""
    out = []
    for name in ("squad2-dev-5articles.json", "xquad-dev5-en.json", "xquad-dev5-ru.json"):
        p = shared / name
        if p.exists():
            for art in json.loads(p.read_text(encoding="utf-8"))["data"]:
                out += [par["context"] for par in art["paragraphs"]]
    return out


def check_no_eval_text(examples: Iterable[Example], paragraphs: list[str]) -> None:
    """Fails when a training passage is (a piece of) an evaluation paragraph."""
    keys = {re.sub(r"\s+", " ", p[:200]).strip() for p in paragraphs}
    keys |= {re.sub(r"\s+", " ", s).strip() for p in paragraphs for s in re.split(r"(?<=[.!?])\s+", p)
             if len(s) > 60}
    for e in examples:
        t = re.sub(r"\s+", " ", e.text)
        for s in re.split(r"(?<=[.!?])\s+", t):
            if len(s) > 60 and s.strip() in keys:
                raise ValueError(f"evaluation text in the training data ({e.kind}, {e.article}): {s[:80]}…")


def write(examples: list[Example], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for e in examples:
            fh.write(json.dumps(asdict(e), ensure_ascii=False) + "\n")


def read(path: Path) -> list[Example]:
    out = []
    for line in path.open(encoding="utf-8"):
        d = json.loads(line)
        d["sentences"] = [tuple(s) for s in d["sentences"]]
        d["answer_span"] = tuple(d["answer_span"]) if d["answer_span"] else None
        out.append(Example(**d))
    return out
