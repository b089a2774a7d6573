"""From meeting reports and sign-in sheets to attendance contract rows: the shared step.

Each attendance importer reads its report into :class:`AttendanceRows` (one entry per
row of the report that names a person: a join, a reconnect, a signature), and
:func:`build_attendance` turns any number of them (several reports, a folder, a zip)
into one session per person per meeting date: reconnects and repeated joins collapse,
their minutes are added up. Rows without an e-mail address (guests) are counted and
left out; people are linked by e-mail, trimmed and lower-cased.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from analysis.intake.importers.dates import iso_dates
from analysis.intake.importers.model import Conversion, normalize_email, problem
from analysis.intake.problems import Problem

HEADER = ("respondent_id", "session_date", "session_type", "duration_minutes")


@dataclass(frozen=True)
class AttendanceRows:
    """One report's attended rows, before they become sessions.

    Attributes
    ----------
    source : str
        What the report is ("a Zoom participant report").
    file_name : str
    emails, dates : sequence of str
        Per row: the e-mail as written (blank for a guest) and the date as written.
    minutes : sequence of float or None
        Per row: minutes attended, when the report says.
    session_type : str
        Stored as ``session_type`` ("online", "in person").
    date_header : str
        Header of the date column (a day-first statement in it is obeyed).
    left_out : tuple of (str, int)
        Rows left out by the importer (waiting room …), by reason.
    dropped : tuple of (str, str)
        Columns never passed on (names …), with why.
    """

    source: str
    file_name: str
    emails: Sequence[str]
    dates: Sequence[str]
    minutes: Sequence[float | None]
    session_type: str
    date_header: str = ""
    left_out: tuple[tuple[str, int], ...] = ()
    dropped: tuple[tuple[str, str], ...] = ()
    problems: tuple[Problem, ...] = field(default_factory=tuple)


def minutes_of(text: str) -> float | None:
    """Minutes from ``63``, ``63.5``, ``1h 1m 5s``, ``52m 10s``, ``1:02:45``; else None.

    Examples
    --------
    >>> minutes_of("1h 1m 30s"), minutes_of("45"), minutes_of("0:52:30")
    (61.5, 45.0, 52.5)
    """
    value = str(text or "").strip().lower()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    if ":" in value:
        parts = value.split(":")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            return None
        while len(numbers) < 3:
            numbers.insert(0, 0.0)
        return numbers[0] * 60 + numbers[1] + numbers[2] / 60
    total, found = 0.0, False
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([hms])", value):
        total += float(number) * {"h": 60, "m": 1, "s": 1 / 60}[unit]
        found = True
    return total if found else None


def build_attendance(parts: Sequence[AttendanceRows]) -> Conversion:
    """One session per person and meeting date from any number of reports."""
    sessions: dict[tuple[str, str], list] = {}
    left: dict[str, int] = {}
    problems: list[Problem] = []
    dropped: list[tuple[str, str]] = []
    by_source: dict[str, list[AttendanceRows]] = {}
    for part in parts:
        by_source.setdefault(part.source, []).append(part)
        problems.extend(part.problems)
        for why, n in part.left_out:
            left[why] = left.get(why, 0) + n
        dropped += [d for d in part.dropped if d not in dropped]
    for group in by_source.values():
        # One source's reports share a locale: decide day-first over all their dates.
        all_dates = [d for p in group for d in p.dates]
        iso = iso_dates(all_dates, group[0].date_header)
        at = 0
        for part in group:
            for email_text, when, minutes in zip(part.emails, iso[at:at + len(part.dates)],
                                                  part.minutes):
                email = normalize_email(email_text)
                if not email:
                    key = "guests without an e-mail address"
                    left[key] = left.get(key, 0) + 1
                    continue
                entry = sessions.setdefault((email, when), [part.session_type, 0.0, False])
                if minutes is not None:
                    entry[1] += minutes
                    entry[2] = True
            at += len(part.dates)
    rows = tuple((email, when, kind, _minutes(total) if known else "")
                 for (email, when), (kind, total, known) in sorted(sessions.items()))
    sources = sorted({p.source for p in parts})
    names = ", ".join(p.file_name for p in parts)
    source = " and ".join(sources) if len(parts) == 1 else \
        f"{len(parts)} reports ({' and '.join(sources)})"
    if not parts:
        problems.append(problem("attendance", "No attendance report was found.",
                                "a Zoom or Teams report or a sign-in sheet"))
    return Conversion(
        "attendance", source, names, HEADER, rows,
        recognised=(("respondent_id", "e-mail"), ("session_date", "join or sign-in date"),
                    ("duration_minutes", "minutes attended, reconnects added up")),
        dropped=tuple(dropped), left_out=tuple(left.items()), problems=tuple(problems))


def _minutes(total: float) -> str:
    return f"{total:g}" if total > 0 else ""
