"""One place that turns the many ways pages write dates into an ISO date."""
from __future__ import annotations

import datetime as dt
import re
import warnings

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")


def to_iso_date(value: object) -> str | None:
    """Best-effort ISO date (YYYY-MM-DD); None when the value holds no recognisable date.

    Slash dates are read day first ("28/08/2024"), as news sites outside the US write them.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        try:
            return dt.datetime.fromtimestamp(float(value), tz=dt.timezone.utc).date().isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if _ISO.match(text):
        try:
            return dt.date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            return None
    if not re.search(r"\d", text) or len(text) > 60:
        return None
    from dateutil import parser  # imported here: only dirty inputs need it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "tzname CET identified but not understood": only the date is kept
            parsed = parser.parse(text, dayfirst=True, fuzzy=True, default=dt.datetime(1900, 1, 1))
    except (ValueError, OverflowError):
        return None
    if parsed.year == 1900:
        return None
    return parsed.date().isoformat()


_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_FULL_DATE = re.compile(
    rf"\b(?:(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"  # November 13, 2004
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})\.?,?\s+\d{{4}}"  # 13 November 2004
    rf"|\d{{4}}-\d{{2}}-\d{{2}})\b",  # 2004-11-13
    re.IGNORECASE)
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
LEAD_CHARS = 250


def lead_date(text: str) -> str | None:
    """A full date (day, month and year) in the article's first sentence or line: news often
    dates itself there ("…returned today, November 13, 2004."), which lets a question about a
    period find an article that carries no published date."""
    lead = text[:LEAD_CHARS]
    for sep in (". ", "\n"):
        cut = lead.find(sep, 20)
        if cut > 0:
            lead = lead[:cut + 1]
    m = _FULL_DATE.search(lead)
    return to_iso_date(m.group(0)) if m else None


def years_mentioned(text: str) -> list[int]:
    """The years a text names (1500-2099), each once, sorted: an undated article counts for a
    question about a period only when it names that period itself."""
    return sorted({int(y) for y in _YEAR.findall(text)})
