"""Sign-in sheets: a workbook (or CSV) with one row per person per session.

A title row ("Peer support group – sign-in") may stand above the header; the header is
the first row with a date column and an e-mail column. Dates may be real dates, text in
any form of :mod:`.dates` (``Date (dd/mm/yyyy)`` in the header makes them day-first) or
Excel serial numbers. Names, signatures and other columns are never passed on.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.intake.importers.attendance import AttendanceRows, minutes_of
from analysis.intake.importers.common import identifying
from analysis.intake.importers.wording import normalize_text

SOURCE = "a sign-in sheet"


def _columns(row: Sequence[str]) -> tuple[int, int, int | None] | None:
    words = [normalize_text(c) for c in row]
    email = next((i for i, w in enumerate(words) if w in ("email", "e mail", "email address",
                                                          "e mail address")), None)
    date = next((i for i, w in enumerate(words) if w == "date"
                 or w.startswith(("date ", "session date")) or w.endswith(" date")), None)
    minutes = next((i for i, w in enumerate(words) if w.startswith(("minutes", "duration"))),
                   None)
    return (email, date, minutes) if email is not None and date is not None else None


def header_row(rows: Sequence[Sequence[str]]) -> int | None:
    """Index of the header row (within the first 15 rows), or None."""
    return next((i for i, r in enumerate(rows[:15]) if _columns(r)), None)


def matches(rows: Sequence[Sequence[str]]) -> bool:
    """A sign-in sheet: a date and an e-mail column, possibly below a title row."""
    return header_row(rows) is not None


def read(rows: Sequence[Sequence[str]], file_name: str) -> AttendanceRows:
    """The signed rows of a sign-in sheet."""
    start = header_row(rows)
    assert start is not None  # matches() said so
    header = rows[start]
    email, date, duration = _columns(header)  # type: ignore[misc]
    emails, dates, minutes = [], [], []
    for row in rows[start + 1:]:
        if not any(c.strip() for c in row):
            continue
        emails.append(_cell(row, email))
        dates.append(_cell(row, date))
        minutes.append(minutes_of(_cell(row, duration)))
    dropped = tuple((h, identifying(h) or "not in the data contract")
                    for i, h in enumerate(header) if i not in (email, date, duration) and h)
    return AttendanceRows(SOURCE, file_name, emails, dates, minutes, "in person",
                          date_header=header[date], dropped=dropped)


def _cell(row: Sequence[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""
