"""Qualtrics survey exports (CSV, or TSV, which Qualtrics writes as UTF-16).

Layout: three header rows, then one row per response::

    StartDate,EndDate,Status,IPAddress,…,RecordedDate,ResponseId,…,RecipientEmail,…,Q2_1,…
    Start Date,End Date,Response Type,IP Address,…,Please choose … - How often do you feel tired?,…
    {"ImportId":"startDate","timezone":"America/Denver"},…,{"ImportId":"QID2_1"},…

Answers are choice text ("Often") or numeric recode values ("4"), depending on the
export option; both are read. Rows whose Status is a survey preview, a test or spam
(text, or the numeric codes 1, 2, 8, 9, 17) are left out and counted; partial responses
(Finished false) are kept: the scoring rules decide what their answers give.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from analysis.intake.importers.common import email_column, identifying, index_of
from analysis.intake.importers.survey import SurveyLayout

#: Qualtrics' own columns that describe the response, not the respondent's answers.
METADATA = ("StartDate", "EndDate", "Status", "Progress", "Duration (in seconds)",
            "Finished", "RecordedDate", "ResponseId", "DistributionChannel",
            "UserLanguage", "ExternalReference", "Q_RecaptchaScore", "Q_RelevantIDDuplicate",
            "Q_RelevantIDDuplicateScore", "Q_RelevantIDFraudScore", "Q_RelevantIDLastStartDate")
#: Status values that are not real responses (text export, numeric export).
NOT_RESPONSES = {"survey preview", "survey test", "spam", "preview spam", "1", "2", "8", "9",
                 "17"}


def matches(rows: Sequence[Sequence[str]]) -> bool:
    """A Qualtrics export: ImportId JSON on the third row, or its field IDs on the first."""
    if len(rows) >= 3 and rows[2] and rows[2][0].startswith('{"ImportId"'):
        return True
    first = {c.strip() for c in rows[0]} if rows else set()
    return {"ResponseId", "RecordedDate"} <= first or {"ResponseID", "StartDate"} <= first


def _import_ids(row: Sequence[str]) -> list[str]:
    out = []
    for cell in row:
        try:
            out.append(str(json.loads(cell).get("ImportId", "")))
        except (ValueError, AttributeError):
            out.append("")
    return out


def layout(rows: Sequence[Sequence[str]], file_name: str) -> SurveyLayout:
    """Describe a Qualtrics export for :func:`~.survey.build_survey`."""
    ids = list(rows[0])
    texts = list(rows[1]) if len(rows) > 1 else ids
    has_json = len(rows) > 2 and rows[2] and rows[2][0].startswith('{"ImportId"')
    import_ids = _import_ids(rows[2]) if has_json else [""] * len(ids)
    data = [r for r in rows[3 if has_json else 2:] if any(c.strip() for c in r)]
    status = index_of(ids, "Status")
    kept, previews = [], 0
    for row in data:
        value = row[status].strip().lower() if status is not None and status < len(row) else ""
        if value in NOT_RESPONSES:
            previews += 1
        else:
            kept.append(row)
    numeric = status is not None and all(
        (r[status].strip().isdigit() if status < len(r) else True) for r in kept)
    email = email_column(ids, kept, ("RecipientEmail",))
    if email is None:
        email = email_column(texts, kept)
    date = index_of(ids, "RecordedDate", "EndDate")
    dropped: dict[int, str] = {}
    for index, field_id in enumerate(ids):
        if index in (email, date):
            continue
        why = identifying(field_id) or identifying(texts[index] if index < len(texts) else "")
        if field_id.strip() in METADATA:
            why = why or "survey metadata"
        if index < len(import_ids) and import_ids[index].endswith("_TEXT"):
            why = why or "free text"
        if why:
            dropped[index] = why
    headers = [t or i for t, i in zip(texts + [""] * len(ids), ids)]
    return SurveyLayout(
        source="a Qualtrics export (" + ("numeric values" if numeric else "choice text") + ")",
        file_name=file_name, headers=headers, rows=kept, email=email, date=date,
        aliases=[(i, q) for i, q in zip(ids, import_ids + [""] * len(ids))],
        dropped=dropped, left_out={"survey previews, tests or spam": previews})
