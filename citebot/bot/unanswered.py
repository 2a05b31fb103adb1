"""What the archive lacks (CITEBOT_UNANSWERED_LOG): each question answered "not found", or only
tentatively (with a caution), is appended to a file as one JSON line — when (UTC), the question's
language, why, and the question — so that whoever keeps the archive sees which stories readers
look for in vain. Never who asked: no chat, user, name or token goes in (the question itself is
scrubbed of anything shaped like a secret).

Each line is one write(2) on a file opened O_APPEND: lines from several processes (the bot, a
terminal) never interleave, and no lock is needed. `citebot unanswered` groups the lines by the
question's content-word stems (the index's own analyzer), so rewordings count together."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from citebot.index.text.languages import detect
from citebot.index.text.terms import stems

from . import redact

TENTATIVE = "tentative"  # beside the answer path's reasons: not_relevant, nothing_in_period, period_empty
MAX_QUESTION_CHARS = 4000
log = logging.getLogger("citebot.bot")
_warned: set[str] = set()


def reason_of(answer) -> str | None:
    """Why an answer belongs in the log, or None when it answered."""
    if not answer.answer_found:
        return answer.reason or "not_found"
    return TENTATIVE if answer.tentative else None


def record(path: Path, question: str, answer, now: dt.datetime | None = None) -> None:
    """Append the question when it was not answered (or only tentatively). A log that cannot be
    written is a warning, once per reason: the answer goes out all the same."""
    reason = reason_of(answer)
    if reason is None:
        return
    now = now or dt.datetime.now(dt.timezone.utc)
    text = redact.scrub(" ".join(question.split()))[:MAX_QUESTION_CHARS]
    line = json.dumps({"time": now.isoformat(timespec="seconds"), "language": detect(text), "reason": reason,
                       "question": text}, ensure_ascii=False) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # readers' questions: owner only
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
    except OSError as e:
        why = f"cannot append to CITEBOT_UNANSWERED_LOG {path}: {e.strerror or e}"
        if why not in _warned:
            _warned.add(why)
            log.warning("%s", why)


@dataclass(frozen=True)
class Entry:
    time: dt.datetime
    language: str
    reason: str
    question: str


def read_entries(path: Path, since_days: float | None = None, now: dt.datetime | None = None) -> list[Entry]:
    """The log's lines (a line that does not parse is passed over), the last `since_days` only."""
    now = now or dt.datetime.now(dt.timezone.utc)
    since = now - dt.timedelta(days=since_days) if since_days is not None else None
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            try:
                obj = json.loads(raw)
                when = dt.datetime.fromisoformat(obj["time"])
                entry = Entry(when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc), str(obj["language"]),
                              str(obj["reason"]), str(obj["question"]))
            except (ValueError, KeyError, TypeError):
                continue
            if since is None or entry.time >= since:
                out.append(entry)
    return out


@dataclass
class Group:
    """Questions with the same content-word stems: one wording stands for them all."""
    terms: tuple[str, ...]
    entries: list[Entry] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.entries)

    @property
    def last_asked(self) -> dt.datetime:
        return max(e.time for e in self.entries)

    @property
    def question(self) -> str:
        """The commonest wording; of equally common ones, the latest asked."""
        counts = Counter(e.question for e in self.entries)
        latest = {e.question: e.time for e in sorted(self.entries, key=lambda e: e.time)}
        return max(counts, key=lambda q: (counts[q], latest[q]))

    def to_json(self) -> dict:
        return {"question": self.question, "count": self.count, "last_asked": self.last_asked.isoformat(),
                "language": Counter(e.language for e in self.entries).most_common(1)[0][0],
                "reasons": dict(Counter(e.reason for e in self.entries).most_common()),
                "wordings": len({e.question for e in self.entries}), "terms": list(self.terms)}


def key_of(entry: Entry) -> tuple[str, ...]:
    """The question's content-word stems, in the index's analyzer, as a sorted tuple: word order,
    stop words and inflection do not matter. A question of stop words alone keys on its words."""
    terms = stems(entry.question, entry.language)
    return tuple(sorted(terms)) if terms else ("=" + " ".join(entry.question.casefold().split()),)


def group(entries: list[Entry]) -> list[Group]:
    """Most asked first; of as often asked, the most recent first."""
    groups: dict[tuple[str, ...], Group] = {}
    for e in entries:
        key = key_of(e)
        groups.setdefault(key, Group(key)).entries.append(e)
    return sorted(groups.values(), key=lambda g: (g.count, g.last_asked), reverse=True)
