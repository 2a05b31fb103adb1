"""One place that turns the many ways pages write dates into an ISO date."""
from __future__ import annotations

import datetime as dt
import re

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
        parsed = parser.parse(text, dayfirst=True, fuzzy=True, default=dt.datetime(1900, 1, 1))
    except (ValueError, OverflowError):
        return None
    if parsed.year == 1900:
        return None
    return parsed.date().isoformat()
