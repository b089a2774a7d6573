"""SurveyMonkey "All individual responses" exports (CSV or XLSX), expanded layout.

Two header rows: the first holds the question (a matrix's title stands over the first
column of its block only), the second the row label of a matrix column, ``Response``
for a one-answer question, ``Open-Ended Response`` for a text box::

    Respondent ID,Collector ID,Start Date,End Date,IP Address,Email Address,…,Please say how often … ,,,
    ,,,,,,,…,How often do you feel tired?,How often are you physically exhausted?,…

The completion time is ``End Date`` (US month first, AM/PM); answers are choice text.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.intake.importers.common import email_column, identifying, index_of
from analysis.intake.importers.survey import SurveyLayout
from analysis.intake.importers.wording import normalize_text

METADATA = ("Respondent ID", "Collector ID", "Start Date")
_PLAIN = {"response", "open ended response", "other please specify", ""}


def matches(rows: Sequence[Sequence[str]]) -> bool:
    """A SurveyMonkey export: Respondent ID and Collector ID on the first row."""
    first = {c.strip().lower() for c in rows[0]} if rows else set()
    return {"respondent id", "collector id"} <= first


def layout(rows: Sequence[Sequence[str]], file_name: str) -> SurveyLayout:
    """Describe a SurveyMonkey export for :func:`~.survey.build_survey`."""
    top = list(rows[0])
    sub = list(rows[1]) + [""] * len(top) if len(rows) > 1 else [""] * len(top)
    headers, texts, dropped = [], [], {}
    title = ""
    for index, question in enumerate(top):
        label = sub[index].strip()
        if question.strip():
            title = question.strip()
        plain = normalize_text(label) in _PLAIN
        headers.append(title if plain else f"{title} - {label}")
        texts.append(title if plain else label)
        if normalize_text(label) in ("open ended response", "other please specify"):
            dropped[index] = "free text"
    data = [r for r in rows[2:] if any(c.strip() for c in r)]
    email = email_column(top, data, ("Email Address",))
    date = index_of(top, "End Date")
    for index, header in enumerate(top):
        if index in (email, date) or index in dropped:
            continue
        if header.strip() in METADATA:
            dropped[index] = "survey metadata"
        elif normalize_text(header).startswith("custom data"):
            dropped[index] = "custom data (may identify a person)"
        elif why := identifying(header):
            dropped[index] = why
    return SurveyLayout(source="a SurveyMonkey export", file_name=file_name, headers=headers,
                        texts=texts, aliases=[(t,) for t in texts], rows=data, email=email,
                        date=date, dropped=dropped)
