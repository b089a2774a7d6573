"""Microsoft Forms (XLSX) and Google Forms (CSV) response exports.

Microsoft Forms: ``ID, Start time, Completion time, Email, Name`` (and, in newer
exports, ``Last modified time``), then one column per question, headed by its text (a
Likert question gives one column per statement). Anonymous forms write ``anonymous``
as the e-mail: those responses cannot be linked and are left out.

Google Forms: ``Timestamp`` (``2025/03/14 9:15:22 AM GMT+1``; the time-zone suffix is
dropped), ``Email Address``, then the questions; a grid question gives one column per
row, headed ``Title [Row]``.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.intake.importers.common import email_column, identifying, index_of
from analysis.intake.importers.survey import SurveyLayout
from analysis.intake.importers.wording import normalize_text

MS_METADATA = ("ID", "Start time", "Last modified time", "Total points", "Quiz feedback")


def matches_microsoft(rows: Sequence[Sequence[str]]) -> bool:
    """A Microsoft Forms export: ID, Start time and Completion time on the first row."""
    first = {normalize_text(c) for c in rows[0]} if rows else set()
    return {"id", "start time", "completion time"} <= first


def matches_google(rows: Sequence[Sequence[str]]) -> bool:
    """A Google Forms export: Timestamp first, then the questions."""
    return bool(rows) and bool(rows[0]) and normalize_text(rows[0][0]) in (
        "timestamp", "marca temporal", "horodateur", "zeitstempel")


def _describe(source: str, rows: Sequence[Sequence[str]], file_name: str,
              date_names: Sequence[str], metadata: Sequence[str]) -> SurveyLayout:
    headers = list(rows[0])
    data = [r for r in rows[1:] if any(c.strip() for c in r)]
    email = email_column(headers, data, ("Email", "Email Address", "Email address"))
    date = index_of(headers, *date_names)
    dropped: dict[int, str] = {}
    for index, header in enumerate(headers):
        if index in (email, date):
            continue
        if header.strip() in metadata:
            dropped[index] = "form metadata"
        elif why := identifying(header):
            dropped[index] = why
    texts = [h[h.rfind("[") + 1:h.rfind("]")] if h.rstrip().endswith("]") else h
             for h in headers]
    return SurveyLayout(source=source, file_name=file_name, headers=headers, texts=texts,
                        rows=data, email=email, date=date, dropped=dropped)


def layout_microsoft(rows: Sequence[Sequence[str]], file_name: str) -> SurveyLayout:
    """Describe a Microsoft Forms export for :func:`~.survey.build_survey`."""
    return _describe("a Microsoft Forms export", rows, file_name, ("Completion time",),
                     MS_METADATA)


def layout_google(rows: Sequence[Sequence[str]], file_name: str) -> SurveyLayout:
    """Describe a Google Forms export for :func:`~.survey.build_survey`."""
    return _describe("a Google Forms export", rows, file_name, (rows[0][0],), ())
