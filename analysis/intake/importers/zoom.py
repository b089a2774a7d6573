"""Zoom participant reports.

Two layouts are read, alone or several pasted one under another:

- the per-meeting report: a meeting block (``Meeting ID, Topic, Start Time, …``), a blank
  row, then ``Name (Original Name), User Email, Join Time, Leave Time, Duration (Minutes),
  Guest[, In Waiting Room]`` with one row per join (a reconnect is a second row);
- the usage report's flat layout, one header with the meeting's columns and the
  participant's side by side, so ``User Email`` and ``Duration (Minutes)`` appear twice:
  the host's first, the participant's last.

Rows in the waiting room are left out; names are never passed on.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.intake.importers.attendance import AttendanceRows, minutes_of
from analysis.intake.importers.wording import normalize_text

SOURCE = "a Zoom participant report"


def _is_header(row: Sequence[str]) -> bool:
    cells = {normalize_text(c) for c in row}
    return "join time" in cells and "leave time" in cells


def matches(rows: Sequence[Sequence[str]]) -> bool:
    """A Zoom report: a Join Time / Leave Time header with Zoom's minutes column."""
    return any(_is_header(r) and any(normalize_text(c) == "duration minutes" for c in r)
               for r in rows[:40])


def _last(header: Sequence[str], *names: str) -> int | None:
    wanted = {normalize_text(n) for n in names}
    found = [i for i, c in enumerate(header) if normalize_text(c) in wanted]
    return found[-1] if found else None


def read(rows: Sequence[Sequence[str]], file_name: str) -> AttendanceRows:
    """Every participant row of every block in a Zoom report."""
    emails: list[str] = []
    dates: list[str] = []
    minutes: list[float | None] = []
    waiting = 0
    header: Sequence[str] | None = None
    for row in rows:
        if _is_header(row):
            header = row
            continue
        if not any(c.strip() for c in row) or normalize_text(row[0]) == "meeting id":
            header = None
            continue
        if header is None:
            continue
        get = _getter(row)
        email = _last(header, "User Email", "Email")
        join = _last(header, "Join Time")
        duration = _last(header, "Duration (Minutes)")
        room = _last(header, "In Waiting Room")
        if room is not None and get(room).lower() in ("yes", "true", "1"):
            waiting += 1
            continue
        emails.append(get(email))
        dates.append(get(join))
        minutes.append(minutes_of(get(duration)))
    names = ("Name (Original Name)", "name")
    return AttendanceRows(SOURCE, file_name, emails, dates, minutes, "online",
                          left_out=(("waiting-room rows", waiting),), dropped=(names,))


def _getter(row: Sequence[str]):
    def get(index: int | None) -> str:
        return row[index].strip() if index is not None and index < len(row) else ""
    return get
