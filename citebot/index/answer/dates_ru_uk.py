"""Time words in Russian and Ukrainian questions ("в мае 2025 года", "на прошлой неделе",
"минулого тижня", "три дня назад", "за останні два тижні", "с марта", "последние новости"),
read into the same periods as the English ones in dates.py.

Why a module of its own: month names and relative words inflect ("май", "мая", "мае"; "травень",
"травня", "травні"), so they are matched by stem, and a question is read in one language (its
language is detected once, question.py). Bare years, ISO dates and decades are left to the English
rules, which read digits in any language. Labels are in the question's language (what "nothing
from May 2025" says), dates in them as numbers.
"""
from __future__ import annotations

import datetime as dt
import re

from .dates import QuestionDates, _month_period, _week_of, first_period, question_dates
from .records import Period

# month stems; each must start the word and the rest is an ending (case, or nothing)
_RU_MONTHS = ("январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр", "октябр", "ноябр", "декабр")
_UK_MONTHS = ("січ", "лют", "берез", "квіт", "трав", "черв", "лип", "серп", "верес", "жовт", "листопад", "груд")
_RU_NAMES = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
             "ноябрь", "декабрь")
_UK_NAMES = ("січень", "лютий", "березень", "квітень", "травень", "червень", "липень", "серпень", "вересень",
             "жовтень", "листопад", "грудень")
# the endings a month name takes (nominative, genitive, prepositional; Ukrainian -ень/-ня/-ні, -ий/-ого/-ому)
_ENDINGS = r"(?:ь|я|е|й|а|ень|ня|ні|ий|ого|ому|і)?"
_NUMBERS = {"один": 1, "одну": 1, "одна": 1, "одного": 1, "два": 2, "две": 2, "дві": 2, "двух": 2, "двох": 2,
            "три": 3, "трёх": 3, "трех": 3, "трьох": 3, "четыре": 4, "чотири": 4, "пять": 5, "п'ять": 5, "пʼять": 5,
            "шесть": 6, "шість": 6, "семь": 7, "сім": 7, "десять": 10, "несколько": 3, "кілька": 3, "пару": 2}
_NUM = r"(?P<n>\d{1,3}|" + "|".join(sorted(map(re.escape, _NUMBERS), key=len, reverse=True)) + ")"
# unit stems: день/дней/днів, неделя/тиждень, месяц/місяць, год/лет/рік/років
_UNIT = r"(?P<unit>дн\w*|день|сутк\w*|недел\w*|тиж\w*|месяц\w*|місяц\w*|місяць|год\w*|лет|рік|рок\w*)"
_YEAR = r"(?P<year>1[5-9]\d\d|20\d\d)(?:\s*(?:г\.|года|году|год|р\.|року|рік|році))?"
_LAST = r"(?:прошл\w*|предыдущ\w*|минул\w*|попередн\w*)"
_THIS = r"(?:эт\w*|текущ\w*|ць\w*|цей|цій|поточн\w*|нинішн\w*)"

_RECENCY = re.compile(r"(?<!\w)(?:последн\w*|новейш\w*|свеж\w*|недавн\w*|сейчас|в настоящее время|на данный момент|"
                      r"останн\w*|найновіш\w*|свіж\w*|нещодавн\w*|зараз|наразі)(?!\w)", re.IGNORECASE)
_NEWS = re.compile(r"(?<!\w)(?:(?:последн\w*|свеж\w*|новейш\w*|останн\w*|свіж\w*|найновіш\w*)\s+"
                   r"(?:новост\w*|новин\w*|событи\w*|поді\w*|известия|сообщени\w*|повідомлен\w*)|"
                   r"что нового|що нового)(?!\w)", re.IGNORECASE)


def _months_pattern(stems: tuple[str, ...]) -> str:
    return r"(?P<month>(?:" + "|".join(sorted(stems, key=len, reverse=True)) + r")" + _ENDINGS + r")(?!\w)"


def _relative(start: dt.date, end: dt.date, label: str) -> Period:
    """A period worked out from now, its dates after the words as asked (12.12.2025 – 14.12.2025)."""
    span = f"{start:%d.%m.%Y}" if start == end else f"{start:%d.%m.%Y} – {end:%d.%m.%Y}"
    return Period(start.isoformat(), end.isoformat(), f"{label} ({span})", relative=True)


def _month_number(word: str, stems: tuple[str, ...]) -> int | None:
    word = word.lower()
    # the longest stem that starts the word ("ма" must not take "март")
    best = max(((len(s), i) for i, s in enumerate(stems) if word.startswith(s)), default=None)
    return best[1] + 1 if best else None


def _unit(word: str) -> str:
    w = word.lower()
    if w.startswith(("дн", "день", "сутк")):
        return "day"
    if w.startswith(("недел", "тиж")):
        return "week"
    if w.startswith(("месяц", "місяц")):
        return "month"
    return "year"


def _count(text: str | None) -> int:
    if not text:
        return 1
    return int(text) if text.isdigit() else _NUMBERS.get(text.lower(), 1)


def _in_month(year: int, month: int, language: str, label: str | None = None, relative: bool = False) -> Period:
    names = _UK_NAMES if language == "uk" else _RU_NAMES
    p = _month_period(year, month, label or f"{names[month - 1]} {year}")
    return Period(p.start, p.end, p.label, relative=relative, years=(year,))


def _back_months(now: dt.date, n: int) -> tuple[int, int]:
    y, mo = now.year, now.month - n
    while mo < 1:
        y, mo = y - 1, mo + 12
    return y, mo


def _rules(now: dt.date, language: str):
    stems = _UK_MONTHS if language == "uk" else _RU_MONTHS
    month = _months_pattern(stems)

    def ago(m):
        n, unit = _count(m["n"]), _unit(m["unit"])
        label = m.group(0)
        if unit == "day":
            day = now - dt.timedelta(days=n)
            return _relative(day, day, label)
        if unit == "week":
            s, e = _week_of(now - dt.timedelta(days=7 * n))
            return _relative(s, e, label)
        if unit == "month":
            y, mo = _back_months(now, n)
            return _in_month(y, mo, language, f"{label} ({mo:02d}.{y})", relative=True)
        year = now.year - n
        return Period(f"{year}-01-01", f"{year}-12-31", f"{label} ({year})", relative=True, years=(year,))

    def past(m):
        days = {"day": 1, "week": 7, "month": 30, "year": 365}[_unit(m["unit"])] * _count(m["n"])
        return _relative(now - dt.timedelta(days=days), now, m.group(0).strip())

    def this_or_last(m):
        back, unit, label = m["last"] is not None, _unit(m["unit"]), m.group(0).strip()
        if unit == "week":
            s, e = _week_of(now - dt.timedelta(days=7 if back else 0))
            return _relative(s, e, label)
        if unit == "month":
            y, mo = _back_months(now, 1 if back else 0)
            return _in_month(y, mo, language, f"{label} ({mo:02d}.{y})", relative=True)
        year = now.year - 1 if back else now.year
        return Period(f"{year}-01-01", f"{year}-12-31", f"{label} ({year})", relative=True, years=(year,))

    def last_year(m):
        year = now.year - 1
        return Period(f"{year}-01-01", f"{year}-12-31", f"{m.group(0)} ({year})", relative=True, years=(year,))

    def since(m):
        mo = _month_number(m["month"], stems)
        year = int(m["year"]) if m["year"] else (now.year if mo <= now.month else now.year - 1)
        try:
            start = dt.date(year, mo, int(m["day"] or 1))
        except ValueError:
            return None
        if start > now:
            return None
        return Period(start.isoformat(), now.isoformat(), f"{m.group(0).strip()} ({start:%d.%m.%Y})", relative=True,
                      years=tuple(range(start.year, now.year + 1)))

    def day_month_year(m):
        try:
            day = dt.date(int(m["year"]), _month_number(m["month"], stems), int(m["day"]))
        except ValueError:
            return None
        return Period(day.isoformat(), day.isoformat(), f"{day:%d.%m.%Y}", years=(day.year,))

    def month_year(m):
        return _in_month(int(m["year"]), _month_number(m["month"], stems), language)

    def month_alone(m):  # "в марте": the latest March up to now
        if m["month"][0].isupper():  # months are lower case: "в Мае" is a place
            return None
        mo = _month_number(m["month"], stems)
        year = now.year if mo <= now.month else now.year - 1
        return _in_month(year, mo, language, relative=True)

    def decade(m):
        start = int(m["decade"])
        return Period(f"{start}-01-01", f"{start + 9}-12-31", f"{start}-е" if language == "ru" else f"{start}-ті",
                      years=tuple(range(start, start + 10)))

    def one_day(offset: int):
        day = now - dt.timedelta(days=offset)
        return lambda m: _relative(day, day, m.group(0))

    return [
        (rf"{_NUM}\s+{_UNIT}\s+(?:назад|тому)", ago),
        (rf"(?:за|в течение|протягом|впродовж)\s+(?:последн\w*|прошедш\w*|останн\w*|минул\w*)\s+(?:{_NUM}\s+)?{_UNIT}", past),
        (rf"(?:на|в|у)\s+(?:(?P<last>{_LAST})|{_THIS})\s+(?P<unit>недел\w*|тижн\w*|месяц\w*|місяц\w*|году|році)", this_or_last),
        (rf"(?:(?P<last>{_LAST})|{_THIS})\s+(?P<unit>тижня|місяця|року|недели|месяца|года)", this_or_last),
        (r"(?:торік|в прошлом году)", last_year),
        (rf"(?:с|со|з|із|начиная с|починаючи з)\s+(?:(?P<day>\d{{1,2}})\s+)?{month}(?:\s+{_YEAR})?", since),
        (rf"(?P<day>\d{{1,2}})\s+{month}\s+{_YEAR}", day_month_year),
        (rf"{month}\s+{_YEAR}", month_year),
        (rf"(?:в|во|у|в течение|протягом)\s+{month}(?!\s*\d)", month_alone),
        (r"(?:в|у)?\s*(?P<decade>1[5-9]\d0|20\d0)-?(?:х|е|ті)(?:\s+(?:годах|годы|годов|роках|роки|років))?", decade),
        (r"позавчера|позавчора", one_day(2)),
        (r"вчера|вчора", one_day(1)),
        (r"сегодня|сьогодні|сейчас днём", one_day(0)),
    ]


def question_dates_ru_uk(question: str, now: dt.date | None, language: str) -> QuestionDates:
    """The first Russian or Ukrainian time expression as a period; failing one, the rules every
    language shares (years, decades, dates in digits) from dates.py."""
    now = now or dt.date.today()
    news = bool(_NEWS.search(question))
    found = first_period(question, _rules(now, language), wrap=r"(?<!\w){}(?!\w)")  # whole words only
    if found is not None:
        # "последние"/"останні" inside "за последние три дня" names the period, not "the latest"
        return QuestionDates(found[0], bool(_RECENCY.search(found[1])), found[1], news)
    recency = bool(_RECENCY.search(question))
    shared = question_dates(question, now)
    return QuestionDates(shared.period, shared.recency or recency or (news and shared.period is None), shared.rest, news)
