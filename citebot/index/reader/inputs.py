"""How the reader sees a question and a passage: one place for training and answering, so the
model is asked at answer time exactly what it was taught.

The pair is `question [SEP] title (date). passage`, cut to `max_tokens` from the passage's end.
The title and date are there because a news passage often does not repeat its subject or its year
("the council approved it on Tuesday"); the date lets the reader tell "the 2024 election" from a
2004 story. Each passage token is mapped to the sentence it belongs to, so the per-token outputs
become a score per sentence (which one to put in bold).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

MAX_QUESTION_CHARS = 300  # a longer question is cut: the passage must keep its room


@dataclass(frozen=True)
class Passage:
    """What the reader reads beside the question: `text` with sentence spans relative to it."""
    title: str
    text: str
    sentences: Sequence[tuple[int, int]] = ()
    date: str | None = None  # ISO date, when the article has one


@dataclass
class Encoded:
    """One tokenised pair: ids for the model, and for each token its sentence (-1: question,
    header or special token) and character span in the passage text (for training labels)."""
    ids: list[int]
    type_ids: list[int]
    sentence_of: list[int]
    offsets: list[tuple[int, int]] = field(default_factory=list)  # in passage text; (-1, -1) outside it


def header(p: Passage) -> str:
    date = f" ({p.date[:10]})" if p.date else ""
    return f"{p.title.strip()}{date}. " if p.title.strip() else (f"{date.strip()}. " if date else "")


def encode(tokenizer, question: str, p: Passage, max_tokens: int) -> Encoded:
    """`tokenizer`: a `tokenizers.Tokenizer` (BERT WordPiece, with its pair template)."""
    head = header(p)
    enc = tokenizer.encode(question[:MAX_QUESTION_CHARS], head + p.text)
    ids, type_ids, offsets, seq = enc.ids, enc.type_ids, enc.offsets, enc.sequence_ids
    if len(ids) > max_tokens:  # keep [CLS] question [SEP] and as much passage as fits, then [SEP]
        ids = ids[:max_tokens - 1] + [ids[-1]]
        type_ids = type_ids[:max_tokens - 1] + [type_ids[-1]]
        offsets = offsets[:max_tokens - 1] + [(0, 0)]
        seq = seq[:max_tokens - 1] + [None]
    shift = len(head)
    spans = list(p.sentences) or [(0, len(p.text))]
    sentence_of: list[int] = []
    text_offsets: list[tuple[int, int]] = []
    for s, (a, b) in zip(seq, offsets):
        if s != 1 or b <= shift:
            sentence_of.append(-1)
            text_offsets.append((-1, -1))
            continue
        a, b = max(0, a - shift), b - shift
        text_offsets.append((a, b))
        sentence_of.append(next((i for i, (ss, se) in enumerate(spans) if ss <= a < se), -1))
    return Encoded(list(ids), list(type_ids), sentence_of, text_offsets)


def batch(encoded: Sequence[Encoded]) -> dict[str, np.ndarray]:
    """Pad a batch to its longest pair (the model's three int64 inputs)."""
    width = max(len(e.ids) for e in encoded)
    ids = np.zeros((len(encoded), width), dtype=np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    for i, e in enumerate(encoded):
        n = len(e.ids)
        ids[i, :n], types[i, :n], mask[i, :n] = e.ids, e.type_ids, 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def sentence_scores(token_logits: np.ndarray, sentence_of: Sequence[int], n_sentences: int) -> list[float]:
    """A sentence's score: the mean of its tokens' logits; a sentence cut off the window gets -inf."""
    out = []
    logits = np.asarray(token_logits, dtype=np.float32)
    where = np.asarray(sentence_of[:len(logits)])
    for i in range(n_sentences):
        sel = logits[:len(where)][where == i]
        out.append(float(sel.mean()) if len(sel) else float("-inf"))
    return out
