"""Which tool wrote an export, told from its shape (header rows and their names).

Survey exports are tried in this order: Qualtrics (ImportId row), SurveyMonkey
(Respondent ID + Collector ID), REDCap raw (``redcap_event_name``), REDCap labels
(Record ID + Event Name), Microsoft Forms (ID, Start time, Completion time), Google Forms
(Timestamp first). Attendance: Zoom (Join Time with Duration (Minutes)), Teams
(Summary / Participants sections), sign-in sheets (a date and an e-mail column). A file
written in the data contract matches none of these shapes (its attendance file has no
e-mail column), so it is read as it always was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from analysis.definitions.contract import normalize_header
from analysis.intake.importers import (
    forms,
    qualtrics,
    redcap,
    signin,
    surveymonkey,
    teams,
    zoom,
)
from analysis.intake.importers.attendance import AttendanceRows
from analysis.intake.importers.survey import SurveyLayout

Rows = Sequence[Sequence[str]]
SurveyReader = Callable[..., SurveyLayout]

#: (name, recognises, describes) for survey exports, tried in order.
SURVEY_FORMATS: tuple[tuple[str, Callable[[Rows], bool], SurveyReader], ...] = (
    ("qualtrics", qualtrics.matches, qualtrics.layout),
    ("surveymonkey", surveymonkey.matches, surveymonkey.layout),
    ("redcap-raw", redcap.matches_raw, redcap.layout),
    ("redcap-labels", redcap.matches_labels, redcap.layout),
    ("microsoft-forms", forms.matches_microsoft, forms.layout_microsoft),
    ("google-forms", forms.matches_google, forms.layout_google),
)
#: (name, recognises, reads) for attendance reports, tried in order.
ATTENDANCE_FORMATS: tuple[tuple[str, Callable[[Rows], bool],
                                Callable[[Rows, str], AttendanceRows]], ...] = (
    ("zoom", zoom.matches, zoom.read),
    ("teams", teams.matches, teams.read),
    ("sign-in", signin.matches, signin.read),
)


def in_contract(rows: Rows) -> bool:
    """Whether the first row already names the contract's ``respondent_id``."""
    return bool(rows) and "respondent_id" in {normalize_header(c) for c in rows[0]}


def survey_format(rows: Rows) -> tuple[str, SurveyReader] | None:
    """The survey export format of ``rows``, or None (contract file or unknown)."""
    if not rows:
        return None
    # No contract check first: SurveyMonkey's "Respondent ID" reads as respondent_id.
    return next(((name, reader) for name, test, reader in SURVEY_FORMATS if test(rows)), None)


def attendance_format(rows: Rows) -> tuple[str, Callable[[Rows, str], AttendanceRows]] | None:
    """The attendance report format of ``rows``, or None (contract file or unknown)."""
    if not rows or in_contract(rows):
        return None
    return next(((name, reader) for name, test, reader in ATTENDANCE_FORMATS if test(rows)),
                None)
