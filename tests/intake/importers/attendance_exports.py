"""Attendance reports written as Zoom, Teams and a sign-in workbook write them, from the
sessions in :mod:`.cohort`, with their nuisances: reconnects, waiting-room rows, guests
without an e-mail address, UTF-16 tab-separated sections, a title row, Excel serial
dates, day-first dates stated in the header."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, time, timedelta

from tests.intake.importers.cohort import MEETINGS, sessions
from tests.intake.importers.survey_exports import to_csv, to_xlsx

TOPIC = "Peer support circle"


def _people(day: date) -> list:
    return [p for p, d in sessions() if d == day]


def _us(moment: datetime) -> str:
    return moment.strftime("%m/%d/%Y %I:%M:%S %p")


def zoom_participants() -> bytes:
    """Per-meeting participant reports of every meeting, pasted one under another."""
    rows: list[list[object]] = []
    for n, day in enumerate(MEETINGS):
        start = datetime.combine(day, time(9, 0, 12))
        people = _people(day)
        rows += [["Meeting ID", "Topic", "Start Time", "End Time", "User Email",
                  "Duration (Minutes)", "Participants"],
                 [f"812 3456 78{n}0", TOPIC, _us(start), _us(start + timedelta(minutes=63)),
                  people[0].email, 63, len(people) + 1],
                 [],
                 ["Name (Original Name)", "User Email", "Join Time", "Leave Time",
                  "Duration (Minutes)", "Guest", "In Waiting Room"]]
        for k, person in enumerate(people):
            joined = start + timedelta(minutes=k % 4)
            if k == 2:  # waiting room first, then admitted
                rows.append([f"Person {person.number}", person.messy_email, _us(joined),
                             _us(joined + timedelta(minutes=1)), 1, "No", "Yes"])
            rows.append([f"Person {person.number}", person.messy_email, _us(joined),
                         _us(joined + timedelta(minutes=30)), 30, "No", "No"])
            if k == 3:  # dropped out and reconnected
                rows.append([f"Person {person.number}", person.messy_email,
                             _us(joined + timedelta(minutes=31)),
                             _us(joined + timedelta(minutes=60)), 29, "No", "No"])
        rows.append(["iPhone (Guest)", "", _us(start), _us(start + timedelta(minutes=20)), 20,
                     "Yes", "No"])
        # Someone left in the waiting room, never admitted: no session.
        rows.append(["Person 45", "clinician45@peer-example.org", _us(start),
                     _us(start + timedelta(minutes=5)), 5, "No", "Yes"])
        rows.append([])
    return to_csv(rows)


def zoom_usage() -> bytes:
    """The usage report's flat layout: meeting and participant columns side by side."""
    header = ["Meeting ID", "Topic", "Start Time", "End Time", "User Email",
              "Duration (Minutes)", "Participants", "Name (Original Name)", "User Email",
              "Join Time", "Leave Time", "Duration (Minutes)", "Guest"]
    rows: list[list[object]] = [header]
    for n, day in enumerate(MEETINGS):
        start = datetime.combine(day, time(18, 30))
        people = _people(day)
        meeting = [f"9{n}1 222 333", TOPIC, _us(start), _us(start + timedelta(minutes=61)),
                   "host@peer-example.org", 61, len(people)]
        for person in people:
            rows.append(meeting + [f"Person {person.number}", person.messy_email, _us(start),
                                   _us(start + timedelta(minutes=58)), 58, "No"])
        rows.append(meeting + ["Guest caller", "", _us(start), _us(start), 3, "Yes"])
    return to_csv(rows)


def _teams_time(moment: datetime) -> str:
    return f"{moment.month}/{moment.day}/{moment:%y}, {moment:%-I:%M:%S %p}"


def teams_report(day: date) -> bytes:
    """One Teams attendance report: UTF-16, tab-separated, three sections."""
    start = datetime.combine(day, time(12, 0, 5))
    people = _people(day)
    lines: list[list[str]] = [
        ["1. Summary"], ["Meeting title", TOPIC], ["Attended participants", str(len(people) + 1)],
        ["Start time", _teams_time(start)],
        ["End time", _teams_time(start + timedelta(minutes=61))],
        ["Meeting duration", "1h 1m 5s"], ["Average attendance time", "52m 10s"], [],
        ["2. Participants"],
        ["Name", "First Join", "Last Leave", "In-Meeting Duration", "Email",
         "Participant ID (UPN)", "Role"]]
    for k, person in enumerate(people):
        lines.append([f"Person {person.number}", _teams_time(start + timedelta(minutes=k % 3)),
                      _teams_time(start + timedelta(minutes=58)), "57m 30s", person.messy_email,
                      person.email, "Organizer" if k == 0 else "Attendee"])
    lines.append(["Visitor (Guest)", _teams_time(start), _teams_time(start), "12m", "", "",
                  "Attendee"])
    lines += [[], ["3. In-Meeting Activities"],
              ["Name", "Join Time", "Leave Time", "Duration", "Email", "Role"]]
    for person in people:
        lines.append([f"Person {person.number}", _teams_time(start),
                      _teams_time(start + timedelta(minutes=30)), "30m", person.email,
                      "Attendee"])
        lines.append([f"Person {person.number}", _teams_time(start + timedelta(minutes=31)),
                      _teams_time(start + timedelta(minutes=58)), "27m 30s", person.email,
                      "Attendee"])
    buffer = io.StringIO()
    csv.writer(buffer, delimiter="\t", lineterminator="\r\n").writerows(lines)
    return buffer.getvalue().encode("utf-16")


def teams_zip() -> bytes:
    """Every meeting's Teams report in one zip archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for day in MEETINGS:
            archive.writestr(f"reports/{TOPIC} - Attendance report {day:%m-%d-%y}.csv",
                             teams_report(day))
    return buffer.getvalue()


def signin_workbook() -> bytes:
    """A sign-in workbook: a title row above the header, day-first text dates stated in
    the header, some dates as Excel serial numbers and some as real dates."""
    rows: list[list[object]] = [["Peer support circle – sign-in sheet, spring 2025"],
                                ["Date (dd/mm/yyyy)", "Name", "E-mail", "Practice",
                                 "Signature"]]
    for n, (person, day) in enumerate(sessions()):
        if n % 3 == 0:
            when: object = (day - date(1899, 12, 30)).days  # an Excel serial number
        elif n % 3 == 1:
            when = datetime.combine(day, time(0, 0))
        else:
            when = day.strftime("%d/%m/%Y")
        rows.append([when, f"Person {person.number}", person.messy_email, person.site, "✓"])
    rows.append([MEETINGS[0].strftime("%d/%m/%Y"), "A visitor", "", "", "✓"])
    return to_xlsx(rows)
