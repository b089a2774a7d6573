"""Dates as survey and meeting tools write them, turned into ISO dates.

Survey tools and meeting reports write one moment in many ways::

    2025-03-14 09:15:22            Qualtrics, REDCap (ISO)
    2025-03-14T09:15:22Z           ISO with a time-zone suffix
    2025/03/14 9:15:22 AM GMT+1    Google Forms (year first, AM/PM, zone)
    03/14/2025 09:15:22 AM         SurveyMonkey, Zoom (US month first)
    3/14/25, 9:00:05 AM            Teams (US locale, two-digit year)
    14/03/2025 09:15               day first (UK and European locales)
    Mar 14, 2025 09:00:12 AM       Zoom's newer reports
    45730.3854                     an Excel serial day number

The date kept is the calendar date as written (the respondent's or meeting's own local
date): a time-zone suffix is recognised and dropped, never converted, so that a
session at 23:30 stays on the day it happened.

Whether ``03/04/2025`` is 3 April or 4 March is decided for a whole column at once
(:func:`day_first_of`): a first number above 12 anywhere in the column means day first,
a second number above 12 means month first; when every value is ambiguous the source's
own statement decides (a header such as ``Date (dd/mm/yyyy)``), else month first, the
default of every tool listed above.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

#: Excel's day 0 (serial 1 is 1900-01-01, counting the non-existent 1900-02-29).
EXCEL_EPOCH = date(1899, 12, 30)
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}

_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:$|[ T,])")
_NUMERIC = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})(?:$|[ T,])")
_NAMED = re.compile(r"^([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})(?:$|[ T,])")
_NAMED_DAY_FIRST = re.compile(r"^(\d{1,2}) ([A-Za-z]{3,9})\.?,? (\d{4})(?:$|[ T,])")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_DAY_FIRST_HINT = re.compile(r"\b(dd|d)[/.-](mm|m)\b", re.IGNORECASE)


def says_day_first(header: str) -> bool:
    """Whether a header states a day-first format, e.g. ``Date (dd/mm/yyyy)``.

    Examples
    --------
    >>> says_day_first("Session date (DD/MM/YYYY)"), says_day_first("Date")
    (True, False)
    """
    return bool(_DAY_FIRST_HINT.search(header or ""))


def day_first_of(values: Iterable[str], default: bool = False) -> bool:
    """Decide month-first or day-first for a column of ``n/n/yyyy`` dates.

    Parameters
    ----------
    values : iterable of str
        The column's values (other forms are ignored).
    default : bool
        The answer when no value settles it (True when the source says day first).
    """
    for value in values:
        found = _NUMERIC.match(value.strip())
        if not found:
            continue
        first, second = int(found.group(1)), int(found.group(2))
        if first > 12 >= second:
            return True
        if second > 12 >= first:
            return False
    return default


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(value: str, day_first: bool = False) -> date | None:
    """The calendar date of one value in any of the forms listed above; None if none fits.

    Examples
    --------
    >>> parse_date("2025/03/14 9:15:22 AM GMT+1")
    datetime.date(2025, 3, 14)
    >>> parse_date("04/03/2025 10:00", day_first=True)
    datetime.date(2025, 3, 4)
    >>> parse_date("45730.5")
    datetime.date(2025, 3, 14)
    """
    text = " ".join(str(value or "").split())
    if not text:
        return None
    if _SERIAL.match(text):
        serial = float(text)
        # Days 20000-80000 are 1954-2119: a plausible survey or session date.
        return EXCEL_EPOCH + timedelta(days=int(serial)) if 20000 <= serial <= 80000 else None
    found = _ISO.match(text)
    if found:
        return _make(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    found = _NUMERIC.match(text)
    if found:
        a, b, year = int(found.group(1)), int(found.group(2)), _year(found.group(3))
        return _make(year, b, a) if day_first else _make(year, a, b)
    found = _NAMED.match(text)
    if found and found.group(1)[:3].lower() in _MONTHS:
        return _make(int(found.group(3)), _MONTHS[found.group(1)[:3].lower()],
                     int(found.group(2)))
    found = _NAMED_DAY_FIRST.match(text)
    if found and found.group(2)[:3].lower() in _MONTHS:
        return _make(int(found.group(3)), _MONTHS[found.group(2)[:3].lower()],
                     int(found.group(1)))
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def iso_dates(values: Sequence[str], header: str = "", default_day_first: bool = False
              ) -> list[str]:
    """A column of dates as ISO ``YYYY-MM-DD`` strings.

    A value that is no date in any known form is kept as written, so that validation
    reports it with its row and column; a blank stays blank.

    Parameters
    ----------
    values : sequence of str
    header : str
        The column's header (a day-first statement in it is obeyed).
    default_day_first : bool
        The source's own convention when the values do not settle it.
    """
    day_first = day_first_of(values, default_day_first or says_day_first(header))
    out = []
    for value in values:
        parsed = parse_date(value, day_first)
        out.append(parsed.isoformat() if parsed else str(value or "").strip())
    return out
