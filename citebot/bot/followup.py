"""Short follow-ups ("and Belgorod?", "who said that?") read in the light of the chat's previous
question: they are asked together with it, so the retriever sees what "that" refers to."""
from __future__ import annotations

import re

_LEADS = re.compile(r"^\s*(and|also|but|what about|how about|and what about|same for|or)\b[\s,]*", re.IGNORECASE)
_REFERS = re.compile(r"\b(that|this|it|he|she|they|him|her|them|his|their|there|then|those|these)\b", re.IGNORECASE)
MAX_FOLLOWUP_WORDS = 6


def contextualize(question: str, previous: str | None) -> tuple[str, str | None]:
    """(what to search for, what the highlight should answer): a follow-up that leans on the
    previous question is searched together with it, and its own words pick the sentence;
    any other question stands alone (focus None)."""
    if not previous or len(question.split()) > MAX_FOLLOWUP_WORDS:
        return question, None
    if _LEADS.match(question) or _REFERS.search(question):
        return f"{previous} {question}", question
    return question, None
