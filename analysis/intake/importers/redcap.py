"""REDCap exports: labels (field labels as headers, choice labels as answers) and raw
(variable names and choice codes, read with the project's data dictionary).

A longitudinal export has one row per record and event::

    Record ID,Event Name,Survey Identifier,Survey Timestamp,E-mail,…,How often do you feel tired?,…
    1,Enrolment (Arm 1: Main),,,ana@clinic.org,…
    1,Baseline (Arm 1: Main),,2025-03-14 09:15:22,,…,Often,…

The wave is the event name without its arm (``Baseline``; raw ``baseline_arm_1`` gives
``baseline``). A record's e-mail address is taken from whichever event holds it and
given to all of that record's rows; rows of events without survey answers (enrolment)
are left out and counted. The survey date is the survey's own timestamp (the
``Survey Timestamp`` or ``<form>_timestamp`` column nearest before the items).

The data dictionary (CSV) gives, per variable: its field label (matched against the
items' wording), its choices (``1, Never/almost never | 2, Seldom | …``, so raw codes
become labels, whatever codes the project used), its validation (``email``) and whether
it is marked as an identifier (never passed on).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from analysis.intake.importers.common import email_column, identifying, index_of
from analysis.intake.importers.model import problem
from analysis.intake.importers.survey import SurveyLayout
from analysis.intake.importers.wording import match_item, normalize_text

METADATA_RAW = ("redcap_repeat_instrument", "redcap_repeat_instance",
                "redcap_survey_identifier")
METADATA_LABELS = ("Repeat Instrument", "Repeat Instance", "Survey Identifier")
_ARM = re.compile(r"\s*\(Arm \d+[^)]*\)\s*$", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


def matches_labels(rows: Sequence[Sequence[str]]) -> bool:
    """A REDCap labels export: Record ID and Event Name headers."""
    first = {normalize_text(c) for c in rows[0]} if rows else set()
    return "event name" in first and ("record id" in first or "participant id" in first)


def matches_raw(rows: Sequence[Sequence[str]]) -> bool:
    """A REDCap raw export: the ``redcap_event_name`` variable."""
    return bool(rows) and "redcap_event_name" in [c.strip() for c in rows[0]]


def wave_of_event(event: str) -> str:
    """The wave label of an event: the arm removed; raw names spelled in words.

    Examples
    --------
    >>> wave_of_event("6 months (Arm 1: Main)"), wave_of_event("6_months_arm_1")
    ('6 months', '6 months')
    """
    text = _ARM.sub("", event.strip())
    raw = re.match(r"^(.*)_arm_\d+$", text)
    return raw.group(1).replace("_", " ") if raw else text


def _dictionary(rows: Sequence[Sequence[str]]) -> dict[str, dict[str, str]]:
    """Variable → {label, type, validation, identifier, choices, form}."""
    if not rows:
        return {}
    head = [normalize_text(h) for h in rows[0]]

    def col(*starts: str) -> int | None:
        return next((i for i, h in enumerate(head) if any(h.startswith(s) for s in starts)),
                    None)

    where = {"name": col("variable"), "form": col("form name"), "type": col("field type"),
             "label": col("field label"), "choices": col("choices"),
             "validation": col("text validation type"), "identifier": col("identifier")}
    out = {}
    for row in rows[1:]:
        get = {k: (row[i].strip() if i is not None and i < len(row) else "")
               for k, i in where.items()}
        if get["name"]:
            get["label"] = " ".join(_TAGS.sub(" ", get["label"]).split())
            out[get["name"]] = get
    return out


def _choices(text: str) -> dict[str, str]:
    """``1, Never | 2, Seldom`` → {"1": "Never", "2": "Seldom"}."""
    out = {}
    for part in text.split("|"):
        code, _, label = part.partition(",")
        if label.strip():
            out[code.strip()] = label.strip()
    return out


def _rows_and_waves(rows: Sequence[list[str]], record: int, event: int,
                    email: int | None, items: Sequence[int]
                    ) -> tuple[list[list[str]], list[str], int]:
    """Rows with survey answers, each with its record's e-mail; their waves; rows left."""
    emails: dict[str, str] = {}
    # The rows themselves (not copies) are kept: their identity gives their row numbers.
    data = [r for r in rows[1:] if any(c.strip() for c in r)]
    if email is not None:
        for row in data:
            if email < len(row) and row[email].strip():
                emails.setdefault(row[record], row[email].strip())
    kept, waves, left = [], [], 0
    for row in data:
        if not any(i < len(row) and row[i].strip() for i in items):
            left += 1
            continue
        if email is not None:
            row.extend([""] * (email + 1 - len(row)))
            row[email] = row[email].strip() or emails.get(row[record], "")
        kept.append(row)
        waves.append(wave_of_event(row[event] if event < len(row) else ""))
    return kept, waves, left


def _timestamp(headers: Sequence[str], first_item: int) -> int | None:
    stamps = [i for i, h in enumerate(headers)
              if normalize_text(h) == "survey timestamp" or h.strip().endswith("_timestamp")]
    before = [i for i in stamps if i < first_item]
    return before[-1] if before else (stamps[0] if stamps else None)


def layout(rows: Sequence[list[str]], file_name: str,
           dictionary: Sequence[Sequence[str]] | None = None) -> SurveyLayout:
    """Describe a REDCap export (labels, or raw with its dictionary)."""
    raw = matches_raw(rows)
    names = list(rows[0])
    meta = _dictionary(dictionary or []) if raw else {}
    headers = [meta.get(n, {}).get("label") or n for n in names] if raw else names
    items = [i for i, h in enumerate(headers) if match_item(h)]
    record = 0
    found_event = index_of(names, "redcap_event_name", "Event Name")
    event = 1 if found_event is None else found_event  # matches() found it; 1 is REDCap's place
    email = None
    if raw:
        email = next((i for i, n in enumerate(names)
                      if meta.get(n, {}).get("validation") == "email"), None)
    if email is None:
        email = email_column(headers, rows[1:], ("E-mail", "Email", "Email address"))
    data, waves, left = _rows_and_waves(rows, record, event, email, items)
    date = _timestamp(names, items[0] if items else len(names))
    dropped: dict[int, str] = {record: "REDCap record number", event: "event (read as the wave)"}
    answer_labels = {}
    for index, name in enumerate(names):
        info = meta.get(name, {})
        if index in (email, date, record, event):
            continue
        if name.strip() in METADATA_RAW + METADATA_LABELS \
                or name.endswith(("_complete", "_timestamp")) \
                or normalize_text(name).endswith("complete") \
                or normalize_text(name) == "survey timestamp":
            dropped[index] = "survey metadata"
        elif info.get("identifier", "").lower() in ("y", "yes"):
            dropped[index] = "marked as an identifier"
        elif info.get("type") == "notes":
            dropped[index] = "free text"
        elif why := identifying(headers[index]):
            dropped[index] = why
        if info.get("choices") and info.get("type") in ("radio", "dropdown"):
            answer_labels[index] = _choices(info["choices"])
    problems = []
    if raw and not meta:
        problems.append(problem(
            file_name, "This is a REDCap raw export (variable names and codes): give the "
            "project's data dictionary too (--dictionary FILE), so that the questions and "
            "answers can be recognised.", "the REDCap data dictionary (CSV)"))
    source = "a REDCap export (" + ("raw, with its data dictionary" if raw else "labels") + ")"
    return SurveyLayout(source=source, file_name=file_name, headers=headers, rows=data,
                        email=email, date=date, aliases=[(n,) for n in names], waves=waves,
                        dropped=dropped, answer_labels=answer_labels,
                        left_out={"event rows without survey answers": left},
                        problems=problems)
