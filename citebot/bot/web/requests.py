"""A question as the web asks it (`q`, `k`, `offset`, `as_of`, `explain` in the query string),
checked at the door: every bound is a one-line error, before the answer path costs anything."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping

from ..answering import check_question, readable

MAX_K = 20  # as `citebot ask -k`
MAX_OFFSET = 100  # "More" pages: five of twenty, more than anyone reads
AROUND = 600  # characters of an article shown either side of a cited span
MAX_AROUND = 5000


class BadRequest(ValueError):
    """What a client asked for cannot be answered as asked; the message says what to change."""


@dataclass(frozen=True)
class Ask:
    question: str
    k: int
    offset: int = 0
    as_of: dt.date | None = None
    explain: bool = False
    note: str | None = None  # the question held bytes that were not UTF-8 (answering.readable)


def parse_ask(params: Mapping[str, str], default_k: int, max_chars: int) -> Ask:
    question, note = readable(params.get("q", ""))
    hint = check_question(question, max_chars)
    if hint:
        raise BadRequest(hint)
    as_of = None
    if params.get("as_of"):
        try:
            as_of = dt.date.fromisoformat(params["as_of"].strip())
        except ValueError:
            raise BadRequest(f"as_of takes a date as YYYY-MM-DD, not {params['as_of'][:40]!r}") from None
    return Ask(question.strip(), bounded(params, "k", default_k, 1, MAX_K), bounded(params, "offset", 0, 0, MAX_OFFSET),
               as_of, flag(params, "explain"), note)


def bounded(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """The integer parameter `name`, `default` when absent; a BadRequest outside [low, high]."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be from {low} to {high}, not {value}")
    return value


def flag(params: Mapping[str, str], name: str) -> bool:
    return params.get(name, "").lower() in ("1", "true", "yes", "on")
