"""Answer-type cues for choosing the sentence to put in bold: a "how much" question is answered by
a sentence with an amount, a "when" question by one with a date, a "who" question by one naming
someone the question does not. Cosine and word overlap find the sentence *about* the question;
the cue prefers, among those, the one that holds *the answer*."""
from __future__ import annotations

import re
from enum import Enum


class AnswerType(str, Enum):
    NONE = "none"
    AMOUNT = "amount"   # how much / how many / what percentage / how far / how long / how old / cost
    DATE = "date"       # when / what year / what date / which day
    PERSON = "person"   # who / whom / whose
    PLACE = "place"     # where / which city / which country


_TYPES = [
    (AnswerType.AMOUNT, re.compile(
        r"\b(how (much|many|far|long|old|big|large|high|tall|deep|fast|often)|what (percentage|proportion|share|"
        r"number|amount|sum|price|cost|fee|fine|salary|budget|population|temperature|speed|distance|size|"
        r"score|margin|rate|age)|what was the (cost|price|total|figure))\b", re.IGNORECASE)),
    (AnswerType.DATE, re.compile(
        r"^\s*when\b|\b(when (was|were|did|does|do|is|will|had|has)|what (year|date|day|month|time|decade|century)|"
        r"which (year|date|day|month|decade|century)|in what (year|month|decade|century))\b", re.IGNORECASE)),
    (AnswerType.PERSON, re.compile(r"^\s*(who|whom|whose)\b|\b(who (was|is|were|did|had|has|won|led|said|told|"
                                   r"became|founded|wrote|ruled|owns|runs)|which (person|man|woman|player|leader|"
                                   r"minister|president|king|queen|company))\b", re.IGNORECASE)),
    (AnswerType.PLACE, re.compile(r"^\s*where\b|\b(where (was|is|were|did|does|do|will)|which (city|country|town|"
                                  r"region|place|state|county|island|village|port|river))\b", re.IGNORECASE)),
]

_NUMBER = re.compile(r"(?<![A-Za-z])(?:[£$€¥]\s?)?\d[\d,.]*\s?(?:%|per ?cent|percent|million|billion|bn|m\b|km|kg|"
                     r"mph|miles?|metres?|meters?|feet|C\b|°)?|\b(?:one|two|three|four|five|six|seven|eight|nine|"
                     r"ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen|half)\b",
                     re.IGNORECASE)
_MONEY = re.compile(r"[£$€¥]|\b(pounds?|dollars?|euros?|yen|rubles?|roubles?)\b", re.IGNORECASE)
_DATE = re.compile(r"\b(1[0-9]\d\d|20\d\d|\d{1,2}(st|nd|rd|th)|january|february|march|april|may|june|july|"
                   r"august|september|october|november|december|monday|tuesday|wednesday|thursday|friday|"
                   r"saturday|sunday|yesterday|today|century|centuries|decade|\d0s)\b", re.IGNORECASE)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+(?:[A-Z][a-z]+|de|van|von|al|bin))*")
_PLACE = re.compile(r"\b(?:in|at|from|near|to)\s+((?:the\s+)?[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)")


def answer_type(question: str) -> AnswerType:
    for kind, pattern in _TYPES:
        if pattern.search(question):
            return kind
    return AnswerType.NONE


def _new(found: list[str], question_lower: str) -> bool:
    """Something found in the sentence that the question does not already say."""
    return any(f.strip().lower() not in question_lower for f in found if f.strip())


def cue(sentence: str, kind: AnswerType, question: str) -> float:
    """1 when the sentence holds something of the wanted type that the question does not already
    name, else 0."""
    if kind is AnswerType.NONE:
        return 0.0
    q = question.lower()
    if kind is AnswerType.AMOUNT:
        found = _NUMBER.findall(sentence)
        if re.search(r"\b(cost|price|pay|paid|spend|spent|worth|fine|fee|budget|salary)\b", q):
            return 1.0 if _MONEY.search(sentence) and _new(found, q) else 0.5 * _new(found, q)
        return float(_new(found, q))
    if kind is AnswerType.DATE:
        return float(_new([m.group(0) for m in _DATE.finditer(sentence)], q))
    if kind is AnswerType.PERSON:
        return float(_new(_NAME.findall(sentence), q))
    return float(_new(_PLACE.findall(sentence), q))
