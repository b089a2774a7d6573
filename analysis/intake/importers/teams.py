"""Microsoft Teams attendance reports (UTF-16, tab-separated; read by the ingest's reader).

The report has numbered sections::

    1. Summary
    Meeting title   Peer support circle
    Start time      3/14/25, 9:00:05 AM
    …
    2. Participants
    Name   First Join   Last Leave   In-Meeting Duration   Email   Participant ID (UPN)   Role
    …
    3. In-Meeting Activities
    Name   Join Time   Leave Time   Duration   Email   Role
    …

The Participants section gives one row per person (its ``First Join`` dates the
session, ``In-Meeting Duration`` such as ``1h 2m 5s`` its minutes). Older reports
without it list joins (``Join Time``) only; those rows are read instead, and repeated
joins collapse into one session. A guest has no e-mail (``Participant ID (UPN)`` is
used when it is an address) and is counted, then left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.intake.importers.attendance import AttendanceRows, minutes_of
from analysis.intake.importers.common import index_of
from analysis.intake.importers.model import EMAIL
from analysis.intake.importers.wording import normalize_text

SOURCE = "a Microsoft Teams attendance report"


def _header_at(rows: Sequence[Sequence[str]], *needed: str) -> int | None:
    for index, row in enumerate(rows):
        cells = {normalize_text(c) for c in row}
        if all(normalize_text(n) in cells for n in needed):
            return index
    return None


def matches(rows: Sequence[Sequence[str]]) -> bool:
    """A Teams report: a Summary / Participants section or Teams' join-list header."""
    heads = {normalize_text(r[0]) for r in rows[:60] if r}
    if {"1 summary", "meeting summary", "2 participants"} & heads:
        return True
    return _header_at(rows[:60], "Join Time", "Email", "Role") is not None


def read(rows: Sequence[Sequence[str]], file_name: str) -> AttendanceRows:
    """The attended rows of one Teams report."""
    start = _header_at(rows, "First Join", "Email")
    date_name, minutes_name = "First Join", "In-Meeting Duration"
    if start is None:
        start = _header_at(rows, "Join Time", "Email")
        date_name, minutes_name = "Join Time", "Duration"
    emails: list[str] = []
    dates: list[str] = []
    minutes: list[float | None] = []
    if start is not None:
        header = rows[start]
        at = {k: index_of(header, k) for k in (date_name, minutes_name, "Email",
                                                "Participant ID (UPN)")}
        for row in rows[start + 1:]:
            if not any(c.strip() for c in row) or normalize_text(row[0])[:2] in (
                    "3 ", "2 ", "1 "):
                break
            get = _getter(row, at)
            email = get("Email")
            if not email and EMAIL.match(get("Participant ID (UPN)")):
                email = get("Participant ID (UPN)")
            emails.append(email)
            dates.append(get(date_name))
            minutes.append(minutes_of(get(minutes_name)))
    return AttendanceRows(SOURCE, file_name, emails, dates, minutes, "online",
                          date_header=date_name, dropped=(("Name", "name"),))


def _getter(row: Sequence[str], at: dict[str, int | None]):
    def get(key: str) -> str:
        i = at[key]
        return row[i].strip() if i is not None and i < len(row) else ""
    return get
