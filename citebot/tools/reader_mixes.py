"""The mixes of examples the later training stages learn from (`make reader-data` writes each
under data/reader/<stage>/): which kinds weigh more, which are sampled, which stay out."""
from __future__ import annotations

import random

from .reader_examples import Example

NATURAL_PREFIXES = ("nq", "boolq", "selqa", "timeqa")  # the kinds of example reader_natural makes
READING_KINDS = ("squad", "squad-same-article", "swap", "squad-impossible")  # the older reading-comprehension sets


def news_weighted(examples: list[Example], rng: random.Random) -> list[Example]:
    """The set of the last training stage: news questions weigh more (the rule-made Wikinews
    questions four times, their near misses twice), beside every headline/lead pair, every hard
    negative from the archive and a sample of the rest, so that the reader keeps what it learned
    from the QA sets while it learns that a news passage can answer a question."""
    by = _by_kind(examples)
    out = by.get("wikinews-question", []) * 4
    out += (by.get("wikinews-question-other", []) + by.get("wikinews-question-swap", [])) * 2
    out += by.get("wikinews-lead", []) + by.get("wikinews-swap", []) + by.get("hard-archive", [])
    out += _sample(rng, [e for k in READING_KINDS for e in by.get(k, [])], 9000)
    out += _sample(rng, by.get("hard-lexical", []), 6000)
    rng.shuffle(out)
    return out


def _by_kind(examples: list[Example]) -> dict[str, list[Example]]:
    by: dict[str, list[Example]] = {}
    for e in examples:
        by.setdefault(e.kind, []).append(e)
    return by


def _sample(rng: random.Random, items: list[Example], n: int) -> list[Example]:
    items = list(items)
    rng.shuffle(items)
    return items[:n]


def is_natural(e: Example) -> bool:
    """Made from a natural question set (reader_natural.py): the fourth stage's data only. (By the
    rule that made it: a lexical hard negative may be a natural set's passage for another question.)"""
    return e.kind.split("-", 1)[0] in NATURAL_PREFIXES


def natural_weighted(examples: list[Example], rng: random.Random) -> list[Example]:
    """The set of the natural-questions stage: every example of the natural sets, 8,000 of the
    archive's hard negatives (for natural and SQuAD-style questions alike), the rule-made Wikinews
    questions twice with their near misses, the headline/lead pairs, and samples of the lexical
    hard negatives and of the older reading-comprehension sets (what the reader knew stays; the
    worded-apart questions lead)."""
    by = _by_kind(examples)
    out = [e for e in examples if is_natural(e)] + _sample(rng, by.get("hard-archive", []), 8000)
    out += (by.get("wikinews-question", []) + by.get("wikinews-question-other", [])
            + by.get("wikinews-question-swap", [])) * 2
    out += by.get("wikinews-lead", []) + by.get("wikinews-swap", [])
    out += _sample(rng, [e for k in READING_KINDS for e in by.get(k, [])], 6000)
    out += _sample(rng, by.get("hard-lexical", []), 8000)
    rng.shuffle(out)
    return out
