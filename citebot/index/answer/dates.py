"""The period a question names ("in August 2024", "last week", "yesterday", "in 2004", "this
year", "since March") and whether it wants the newest news ("latest", "recent").

Relative expressions are resolved against `now` (injectable, so tests and evaluations are
repeatable). dateparser reads a date out of a known date string well but does not spot "last
week" or "since Monday" inside a sentence (measured: see README), and a question is mostly not
a date, so the few forms news questions use are matched here; weeks run Monday to Sunday.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from .records import Period

MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
MONTHS["sept"] = 9
WEEKDAYS = {d.lower(): i for i, d in enumerate(calendar.day_name)}
UNITS = {"day": 1, "week": 7, "month": 30, "year": 365, "fortnight": 14}
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "couple of": 2, "few": 3}

_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_NUM = r"(?P<n>\d{1,3}|" + "|".join(sorted(NUMBERS, key=len, reverse=True)) + ")"
_UNIT = r"(?P<unit>day|week|fortnight|month|year)s?"
_YEAR = r"(?P<year>1[5-9]\d\d|20\d\d)"
_RECENCY = re.compile(r"\b(latest|most recent|newest|recent(ly)?|current(ly)?|up to date)\b", re.IGNORECASE)
# "the latest news on X", "most recent developments around X", "what's new with X": no one fact is
# asked for but the newest story, whose own news is in its first sentence
_NEWS = re.compile(r"\b(?:(?:latest|most recent|newest|recent)\s+(?:news|updates?|developments?|information|info|"
                   r"fallout|stories|story|headlines?|reports?|on|from|about|with)|what'?s new)\b", re.IGNORECASE)


@dataclass(frozen=True)
class QuestionDates:
    period: Period | None = None
    recency: bool = False     # newest first among relevant hits
    rest: str = ""            # the question without its time expression (for word matching)
    news: bool = False        # asks for the newest story itself, not one fact: its lead is quoted


def _d(day: dt.date) -> str:
    return day.isoformat()


def _fmt(day: dt.date) -> str:
    return f"{day.day} {calendar.month_abbr[day.month]} {day.year}"


def _month_period(year: int, month: int, label: str | None = None) -> Period:
    last = calendar.monthrange(year, month)[1]
    return Period(_d(dt.date(year, month, 1)), _d(dt.date(year, month, last)),
                  label or f"{calendar.month_name[month]} {year}", years=(year,))


def _year_period(year: int, label: str | None = None) -> Period:
    return Period(f"{year}-01-01", f"{year}-12-31", label or str(year), years=(year,))


def _week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    start = day - dt.timedelta(days=day.weekday())
    return start, start + dt.timedelta(days=6)


def _relative(start: dt.date, end: dt.date, label: str) -> Period:
    return Period(_d(start), _d(end), f"{label} ({_fmt(start)} – {_fmt(end)})" if start != end
                  else f"{label} ({_fmt(start)})", relative=True)


def _count(text: str) -> int:
    text = text.lower()
    return int(text) if text.isdigit() else NUMBERS[text]


# Each rule: a pattern and how its match becomes a period, given now. Order matters: longer first.
def _rules(now: dt.date):
    def ago(m):
        n, unit = _count(m["n"]), m["unit"].lower()
        if unit == "day":
            day = now - dt.timedelta(days=n)
            return _relative(day, day, m.group(0))
        if unit in ("week", "fortnight"):
            s, e = _week_of(now - dt.timedelta(days=UNITS[unit] * n))
            return _relative(s, e, m.group(0))
        if unit == "month":
            y, mo = now.year, now.month - n
            while mo < 1:
                y, mo = y - 1, mo + 12
            p = _month_period(y, mo)
            return Period(p.start, p.end, f"{m.group(0)} ({p.label})", relative=True)
        year = now.year - n
        return Period(f"{year}-01-01", f"{year}-12-31", f"{m.group(0)} ({year})", relative=True, years=(year,))

    def past(m):
        n = _count(m["n"]) if m["n"] else 1
        days = UNITS[m["unit"].lower()] * n
        return _relative(now - dt.timedelta(days=days), now, m.group(0).strip())

    def this_or_last(m):
        which, unit = m["which"].lower(), m["unit"].lower()
        back = which in ("last", "previous", "past")
        if unit == "week":
            s, e = _week_of(now - dt.timedelta(days=7 if back else 0))
            return _relative(s, e, f"{which} week")
        if unit == "month":
            y, mo = (now.year, now.month - 1) if back else (now.year, now.month)
            if mo < 1:
                y, mo = y - 1, 12
            p = _month_period(y, mo)
            return Period(p.start, p.end, f"{which} month ({p.label})", relative=True)
        year = now.year - 1 if back else now.year
        return Period(f"{year}-01-01", f"{year}-12-31", f"{which} year ({year})", relative=True, years=(year,))

    def weekday(m):
        target = WEEKDAYS[m["day"].lower()]
        back = (now.weekday() - target) % 7 or 7
        day = now - dt.timedelta(days=back)
        return _relative(day, day, m.group(0).strip())

    def since(m):
        start = _start_of(m, now)
        if start is None or start > now:
            return None
        return Period(_d(start), _d(now), f"since {_fmt(start)}", relative=True,
                      years=tuple(range(start.year, now.year + 1)))

    def day_month_year(m):
        try:
            day = dt.date(int(m["year"]), MONTHS[m["month"].lower()], int(m["day"]))
        except ValueError:
            return None
        return Period(_d(day), _d(day), _fmt(day), years=(day.year,))

    def month_year(m):
        return _month_period(int(m["year"]), MONTHS[m["month"].lower()])

    def month_alone(m):  # "in March": the latest March up to now
        month = MONTHS[m["month"].lower()]
        year = now.year if month <= now.month else now.year - 1
        p = _month_period(year, month)
        return Period(p.start, p.end, p.label, relative=True, years=(year,))

    def decade(m):
        start = int(m["decade"])
        return Period(f"{start}-01-01", f"{start + 9}-12-31", f"the {start}s", years=tuple(range(start, start + 10)))

    def year(m):
        return _year_period(int(m["year"]))

    def one_day(offset: int, label: str):
        day = now - dt.timedelta(days=offset)
        return lambda m: _relative(day, day, label)

    return [
        (rf"\b{_NUM}\s+{_UNIT}\s+ago\b", ago),
        (rf"\b(?:in|over|during|within)\s+the\s+(?:last|past|previous)\s+(?:{_NUM}\s+)?{_UNIT}\b", past),
        (rf"\b(?:the\s+)?(?:last|past)\s+{_NUM}\s+{_UNIT}\b", past),
        (r"\b(?P<which>this|last|previous|past)\s+(?P<unit>week|month|year)\b", this_or_last),
        (r"\b(?:last|on|this\s+past)\s+(?P<day>" + "|".join(WEEKDAYS) + r")\b", weekday),
        (rf"\bsince\s+(?:(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\s+)?(?:{_MONTH}(?:\s+(?P<day3>\d{{1,2}})(?:st|nd|rd|th)?)?"
         rf"(?:,?\s+(?P<year>1[5-9]\d\d|20\d\d))?|(?P<yearonly>1[5-9]\d\d|20\d\d)|(?P<wday>"
         + "|".join(WEEKDAYS) + r"))\b", since),
        (rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", day_month_year),
        (rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_YEAR}\b", day_month_year),
        (rf"\b{_MONTH},?\s+(?:of\s+)?{_YEAR}\b", month_year),
        (rf"\b(?:in|during|since|last)\s+{_MONTH}\b(?!\s+\d)", month_alone),
        (r"\b(?:in\s+)?the\s+(?P<decade>1[5-9]\d0|20\d0)s\b", decade),
        (rf"(?<![\d,.$£€-]){_YEAR}(?![\d,%])(?!\s*(?:million|billion|people|km|miles|metres|meters|"
         rf"tonnes|kg|dollars|pounds|euros|feet|points|votes|years))", year),
        (r"\bthe\s+day\s+before\s+yesterday\b", one_day(2, "the day before yesterday")),
        (r"\byesterday\b", one_day(1, "yesterday")),
        (r"\b(?:today|tonight|this morning|this afternoon|this evening)\b", one_day(0, "today")),
    ]


def _start_of(m, now: dt.date) -> dt.date | None:
    if m["wday"]:
        back = (now.weekday() - WEEKDAYS[m["wday"].lower()]) % 7 or 7
        return now - dt.timedelta(days=back)
    if m["yearonly"]:
        return dt.date(int(m["yearonly"]), 1, 1)
    month = MONTHS[m["month"].lower()]
    year = int(m["year"]) if m["year"] else (now.year if month <= now.month else now.year - 1)
    day = int(m["day2"] or m["day3"] or 1)
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def question_dates(question: str, now: dt.date | None = None) -> QuestionDates:
    """The first time expression of the question as a period, and whether it asks for the latest."""
    now = now or dt.date.today()
    recency = bool(_RECENCY.search(question))
    news = bool(_NEWS.search(question))
    found = first_period(question, _rules(now))
    if found is not None:
        return QuestionDates(found[0], recency, found[1], news)
    return QuestionDates(None, recency or news, question, news)


def first_period(question: str, rules, wrap: str = "{}") -> tuple[Period, str] | None:
    """The first rule (in order) whose pattern matches and makes a period, and the question
    without the words it matched. `wrap`: how each pattern is searched for ("{}" as it is)."""
    for pattern, make in rules:
        m = re.search(wrap.format(pattern), question, re.IGNORECASE)
        period = make(m) if m else None
        if period is not None:
            return period, (question[:m.start()] + " " + question[m.end():]).strip()
    return None
