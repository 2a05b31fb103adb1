"""A question parsed once. Every stage reads what it needs from here: its language (detected once,
so stems everywhere are the question's language's), its period and whether it asks for the latest
(dates.py), its content terms, the words that choose the bold sentence, the kind of answer it
wants (cues.py) and the names and figures an answering extract must hold (abstain.py)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..text.languages import detect
from ..text.terms import query_terms
from .abstain import question_names
from .cues import AnswerType, answer_type
from .dates import QuestionDates, question_dates
from .dates_ru_uk import question_dates_ru_uk
from .records import Period


@dataclass(frozen=True)
class Question:
    text: str                       # as asked (the reader reads it so, its year included)
    language: str                   # its terms meet only chunks of its own language (text/terms.py)
    dates: QuestionDates            # period, "latest", news, and the text without its time expression
    terms: tuple[str, ...]          # content stems of `rest`, each once, in order
    focus: str | None               # a follow-up's own words, asked with the previous question
    focus_terms: tuple[str, ...]    # the stems of the words that choose the bold sentence
    kind: AnswerType                # the kind of answer `focus` asks for (an amount, a date, ...)
    names: tuple[str, ...]          # names and figures of `rest`: "May 2019" is the period, not a name

    @property
    def period(self) -> Period | None:
        return self.dates.period

    @property
    def rest(self) -> str:
        return self.dates.rest

    @property
    def focus_text(self) -> str:
        """The words that choose the bold sentence: a follow-up's own, else the question's."""
        return self.focus or self.dates.rest


def parse_question(text: str, now: dt.date | None = None, focus: str | None = None) -> Question:
    """`focus`: for a follow-up asked together with the previous question, the follow-up's own
    words, which then choose the bold sentence. `now`: what "last week" is relative to."""
    language = detect(text)
    dates = question_dates_ru_uk(text, now, language) if language in ("ru", "uk") else question_dates(text, now)
    terms = tuple(query_terms(dates.rest, language))
    focus_terms = tuple(query_terms(focus, language)) if focus else terms
    return Question(text, language, dates, terms, focus or None, focus_terms, answer_type(focus or dates.rest),
                    tuple(question_names(dates.rest)))
