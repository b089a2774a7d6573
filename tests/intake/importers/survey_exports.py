"""Survey exports written as each tool writes them, from the cohort in :mod:`.cohort`.

Each writer adds the nuisances of its tool: extra header rows, previews, responses
without an e-mail address, names, IP addresses, locations and free text, curly quotes,
matrix prefixes, dates in the tool's own form.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime

from openpyxl import Workbook

from tests.intake.importers.cohort import (
    DEGREE,
    DEGREE_ITEMS,
    FREQUENCY,
    MINIZ,
    SITES,
    UCLA,
    Response,
    wave_responses,
)

#: CBI wording, with the nuisances survey builders add (curly quotes in item 4).
CBI_TEXT = {
    1: "How often do you feel tired?", 2: "How often are you physically exhausted?",
    3: "How often are you emotionally exhausted?",
    4: "How often do you think: “I can’t take it anymore”?",
    5: "How often do you feel worn out?",
    6: "How often do you feel weak and susceptible to illness?",
    7: "Is your work emotionally exhausting?", 8: "Do you feel burnt out because of your work?",
    9: "Does your work frustrate you?",
    10: "Do you feel worn out at the end of the working day?",
    11: "Are you exhausted in the morning at the thought of another day at work?",
    12: "Do you feel that every working hour is tiring for you?",
    13: "Do you have enough energy for family and friends during leisure time?",
    14: "Do you find it hard to work with clients?",
    15: "Do you find it frustrating to work with clients?",
    16: "Does it drain your energy to work with clients?",
    17: "Do you feel that you give more than you get back when you work with clients?",
    18: "Are you tired of working with clients?",
    19: "Do you sometimes wonder how long you will be able to continue working with clients?",
}
UCLA_TEXT = ("How often do you feel that you lack companionship?",
             "How often do you feel left out?", "How often do you feel isolated from others?")
MINIZ_TEXT = "Using your own definition of “burnout”, please select one of the answers below:"
PRACTICE = "Which practice do you work at?"
FREQ_ITEMS = tuple(i for i in range(1, 20) if i not in DEGREE_ITEMS)


def to_csv(rows: Sequence[Sequence[object]], delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def to_xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _anonymous(wave: str) -> Response:
    """A response from an anonymous link: no e-mail, left out by every importer."""
    base = wave_responses(wave)[0]
    return Response(base.clinician.__class__(99, "", SITES[0], "counselor"), wave,
                    base.finished, {i: 5 for i in range(1, 20)}, 5, (3, 3, 3), "")


# ------------------------------------------------------------------------ Qualtrics


def qualtrics(wave: str, numeric: bool = False, tsv: bool = False) -> bytes:
    """Qualtrics CSV (or UTF-16 TSV) of one wave: three header rows, a preview row, an
    anonymous response, a partial one; choice text or numeric recode values."""
    meta = [("StartDate", "Start Date", "startDate"), ("EndDate", "End Date", "endDate"),
            ("Status", "Response Type", "status"), ("IPAddress", "IP Address", "ipAddress"),
            ("Progress", "Progress", "progress"),
            ("Duration (in seconds)", "Duration (in seconds)", "duration"),
            ("Finished", "Finished", "finished"),
            ("RecordedDate", "Recorded Date", "recordedDate"),
            ("ResponseId", "Response ID", "_recordId"),
            ("RecipientLastName", "Recipient Last Name", "recipientLastName"),
            ("RecipientFirstName", "Recipient First Name", "recipientFirstName"),
            ("RecipientEmail", "Recipient Email", "recipientEmail"),
            ("ExternalReference", "External Data Reference", "externalDataReference"),
            ("LocationLatitude", "Location Latitude", "locationLatitude"),
            ("LocationLongitude", "Location Longitude", "locationLongitude"),
            ("DistributionChannel", "Distribution Channel", "distributionChannel"),
            ("UserLanguage", "User Language", "userLanguage")]
    questions = [("Q1", PRACTICE, "QID1")]
    prefix = "In the last four weeks, please choose what fits best - "
    questions += [(f"Q2_{i}", prefix + CBI_TEXT[i], f"QID2_{i}") for i in range(1, 20)]
    questions += [("Q3", MINIZ_TEXT, "QID3")]
    questions += [(f"Q4_{k}", UCLA_TEXT[k - 1], f"QID4_{k}") for k in (1, 2, 3)]
    questions += [("Q5_TEXT", "Anything else you would like to tell us?", "QID5_TEXT")]
    columns = meta + questions
    rows: list[list[object]] = [[c[0] for c in columns], [c[1] for c in columns],
                                [json.dumps({"ImportId": c[2]}) for c in columns]]
    people = wave_responses(wave) + [_anonymous(wave)]
    for n, r in enumerate(people):
        status = ("1" if numeric else "Survey Preview") if n == 0 else ("0" if numeric else
                                                                       "IP Address")
        done = not r.partial
        stamp = r.finished.strftime("%Y-%m-%d %H:%M:%S")
        row = [stamp, stamp, status, f"203.0.113.{n % 250}", "100" if done else "74",
               "412", ("1" if numeric else "True") if done else ("0" if numeric else "False"),
               stamp, f"R_{n:05d}abc", f"Last{n}", f"First{n}", r.clinician.messy_email, "",
               "39.7392", "-104.9903", "email", "EN"]
        row.append(str(SITES.index(r.clinician.site) + 1) if numeric else r.clinician.site)
        row += [(str(r.cbi[i]) if r.cbi[i] else "") if numeric else r.label(i)
                for i in range(1, 20)]
        row.append(str(r.miniz) if numeric else MINIZ[r.miniz - 1])
        row += [str(c) if numeric else UCLA[c - 1] for c in r.ucla]
        row.append(r.comment)
        rows.append(row)
    # The preview is an extra first row, not one of the cohort's responses.
    rows.insert(3, list(rows[3]))
    rows[4][2] = "0" if numeric else "IP Address"
    rows[3][11] = "preview@qualtrics.example"
    if tsv:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter="\t", lineterminator="\r\n").writerows(rows)
        return buffer.getvalue().encode("utf-16")
    return to_csv(rows)


# --------------------------------------------------------------------- SurveyMonkey


def surveymonkey(wave: str, xlsx: bool = False) -> bytes:
    """SurveyMonkey "all individual responses", expanded: two header rows, matrix titles
    over the first column of each block."""
    top = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address",
           "Email Address", "First Name", "Last Name", "Custom Data 1", PRACTICE]
    sub = [""] * 9 + ["Response"]
    freq_title = "How often do the following apply to you?"
    degree_title = "To what degree do the following apply to you?"
    for title, items in ((freq_title, FREQ_ITEMS), (degree_title, DEGREE_ITEMS)):
        top += [title] + [""] * (len(items) - 1)
        sub += [CBI_TEXT[i] for i in items]
    top.append("Anything else you would like to tell us?")
    sub.append("Open-Ended Response")
    rows: list[list[object]] = [top, sub]
    for n, r in enumerate(wave_responses(wave) + [_anonymous(wave)]):
        when = r.finished.strftime("%m/%d/%Y %I:%M:%S %p")
        row = [f"11{n:07d}", "4053", when, when, f"198.51.100.{n % 250}",
               r.clinician.messy_email, f"First{n}", f"Last{n}", "", r.clinician.site]
        row += [r.label(i) for i in FREQ_ITEMS] + [r.label(i) for i in DEGREE_ITEMS]
        row.append(r.comment)
        rows.append(row)
    return to_xlsx(rows) if xlsx else to_csv(rows)


# ------------------------------------------------------------------- Microsoft Forms


def microsoft_forms(wave: str) -> bytes:
    """Microsoft Forms XLSX: ID, Start time, Completion time, Email, Name, questions;
    one anonymous response."""
    header = ["ID", "Start time", "Completion time", "Email", "Name", "Last modified time",
              PRACTICE] + [CBI_TEXT[i] for i in range(1, 20)] + ["Any comments?"]
    rows: list[list[object]] = [header]
    for n, r in enumerate(wave_responses(wave) + [_anonymous(wave)]):
        email = r.clinician.messy_email or "anonymous"
        name = f"Clinician {n}" if r.clinician.email else "anonymous"
        rows.append([n + 1, r.finished, r.finished, email, name, None, r.clinician.site]
                    + [r.label(i) or None for i in range(1, 20)] + [r.comment])
    return to_xlsx(rows)


# ---------------------------------------------------------------------- Google Forms


def google_forms(wave: str) -> bytes:
    """Google Forms CSV: Timestamp with its time-zone suffix, grid headers Title [Row]."""
    header = ["Timestamp", "Email Address", PRACTICE]
    header += [f"Burnout (frequency) [{CBI_TEXT[i]}]" for i in FREQ_ITEMS]
    header += [f"Burnout (degree) [{CBI_TEXT[i]}]" for i in DEGREE_ITEMS]
    header += [f"Connection [{t}]" for t in UCLA_TEXT] + ["Comments"]
    rows: list[list[object]] = [header]
    for r in wave_responses(wave) + [_anonymous(wave)]:
        stamp = r.finished.strftime("%Y/%m/%d %-I:%M:%S %p") + " GMT+1"
        rows.append([stamp, r.clinician.messy_email, r.clinician.site]
                    + [r.label(i) for i in FREQ_ITEMS] + [r.label(i) for i in DEGREE_ITEMS]
                    + [UCLA[c - 1] for c in r.ucla] + [r.comment])
    return to_csv(rows)


# --------------------------------------------------------------------------- REDCap

_EVENTS = {"baseline": ("Baseline (Arm 1: Main)", "baseline_arm_1"),
           "6 months": ("6 months (Arm 1: Main)", "6_months_arm_1")}


def _redcap_rows(raw: bool) -> list[list[object]]:
    """Longitudinal rows: an enrolment event holding the e-mail, then one per wave."""
    from tests.intake.importers.cohort import cohort, responses  # noqa: PLC0415

    out: list[list[object]] = []
    by_person: dict[int, list[Response]] = {}
    for r in responses():
        by_person.setdefault(r.clinician.number, []).append(r)
    blank_items = [""] * 19
    for person in cohort():
        record = person.number + 1
        out.append([record, "enrolment_arm_1" if raw else "Enrolment (Arm 1: Main)", "",
                    "2025-03-01 10:00:00", person.messy_email, "2" if raw else "Complete",
                    "", "", *blank_items, "", "0" if raw else "Incomplete"])
        for r in by_person[person.number]:
            event = _EVENTS[r.wave][1 if raw else 0]
            site = str(SITES.index(person.site) + 1) if raw else person.site
            items = [(str(r.cbi[i] - 1) if r.cbi[i] else "") if raw else r.label(i)
                     for i in range(1, 20)]
            out.append([record, event, "", "", "", "", r.finished.strftime("%Y-%m-%d %H:%M:%S"),
                        site, *items, r.comment, "2" if raw else "Complete"])
    return out


def redcap_labels() -> bytes:
    """REDCap labels export, both waves: label headers, choice labels as answers."""
    header = ["Record ID", "Event Name", "Survey Identifier", "Survey Timestamp", "E-mail",
              "Complete?", "Survey Timestamp", PRACTICE] \
        + [CBI_TEXT[i] for i in range(1, 20)] + ["Comments", "Complete?"]
    return to_csv([header] + _redcap_rows(raw=False))


def redcap_raw() -> tuple[bytes, bytes]:
    """REDCap raw export and its data dictionary; CBI choices coded 0-4 (not 1-5)."""
    items = [f"cbi_{i:02d}" for i in range(1, 20)]
    header = ["record_id", "redcap_event_name", "redcap_survey_identifier",
              "enrolment_timestamp", "email", "enrolment_complete", "wellbeing_timestamp",
              "practice", *items, "comments", "wellbeing_complete"]
    data = to_csv([header] + _redcap_rows(raw=True))
    head = ["Variable / Field Name", "Form Name", "Section Header", "Field Type",
            "Field Label", "Choices, Calculations, OR Slider Labels", "Field Note",
            "Text Validation Type OR Show Slider Number", "Text Validation Min",
            "Text Validation Max", "Identifier?"]
    rows: list[list[object]] = [head,
                                ["record_id", "enrolment", "", "text", "Record ID", "", "", "",
                                 "", "", ""],
                                ["email", "enrolment", "", "text", "E-mail", "", "", "email",
                                 "", "", "y"],
                                ["practice", "wellbeing", "", "radio", PRACTICE,
                                 " | ".join(f"{k + 1}, {s}" for k, s in enumerate(SITES)), "",
                                 "", "", "", ""]]
    for i, name in zip(range(1, 20), items):
        labels = DEGREE if i in DEGREE_ITEMS else FREQUENCY
        rows.append([name, "wellbeing", "", "radio", f"<b>{CBI_TEXT[i]}</b>",
                     " | ".join(f"{k}, {lab}" for k, lab in enumerate(labels)), "", "", "", "",
                     ""])
    rows.append(["comments", "wellbeing", "", "notes", "Comments", "", "", "", "", "", ""])
    return data, to_csv(rows)


def first_lines(data: bytes, n: int = 3) -> list[str]:
    """The first lines of a text export (for debugging a failing test)."""
    return data.decode("utf-8", errors="replace").splitlines()[:n]


__all__ = ["qualtrics", "surveymonkey", "microsoft_forms", "google_forms", "redcap_labels",
           "redcap_raw", "first_lines", "datetime"]
