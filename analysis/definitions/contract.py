"""The data contract, declared as data.

Validation, ingest, the upload page and the CLI all read these declarations, so a new
column is an edit to a table here, not to code paths. Item and scored columns come from
:mod:`analysis.definitions.instruments`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnKind = Literal["id", "label", "date", "category", "number"]
FileKind = Literal["survey", "attendance"]


@dataclass(frozen=True)
class Column:
    """One canonical column of an upload.

    Parameters
    ----------
    name : str
        Canonical name (lower case); uploads are matched case- and space-insensitively.
    kind : str
        ``id`` (pseudonymous code), ``label`` (free short label, e.g. a wave), ``date``,
        ``category`` (a declared covariate), or ``number``.
    required : bool
        Whether an upload without it is refused.
    description : str
        What the column means, in the users' words (shown on the upload page).
    min_value : float, optional
        Smallest allowed value for numbers (exclusive when ``min_exclusive``).
    """

    name: str
    kind: ColumnKind
    required: bool
    description: str
    min_value: float | None = None
    min_exclusive: bool = False
    max_length: int = 200


SURVEY_COLUMNS: tuple[Column, ...] = (
    Column("respondent_id", "id", True, "pseudonymous code, the same in both files"),
    Column("wave", "label", True, "wave label, e.g. 2025-Q1, baseline, 1"),
    Column("survey_date", "date", True, "ISO date (or datetime) the response was given"),
    Column("site", "label", True, "practice or site"),
    Column("role", "category", False, "e.g. psychologist, counselor, social worker"),
    Column("years_band", "category", False, "years in practice, banded (e.g. 0-4, 5-9)"),
    Column("caseload_band", "category", False, "caseload, banded (e.g. low, medium, high)"),
)

ATTENDANCE_COLUMNS: tuple[Column, ...] = (
    Column("respondent_id", "id", True, "same pseudonymous code as in the survey"),
    Column("session_date", "date", True, "ISO date of the session"),
    Column("session_type", "category", False, "e.g. group, online, one-to-one"),
    Column(
        "duration_minutes", "number", False, "length of the session in minutes",
        min_value=0.0, min_exclusive=True,
    ),
)

#: Declared covariates: categorical columns used for adjustment and breakdowns.
COVARIATES: tuple[str, ...] = tuple(
    c.name for c in SURVEY_COLUMNS if c.kind == "category"
)

#: Default participation rule: at least this many sessions on or before the survey date.
DEFAULT_MIN_SESSIONS = 1


def columns_for(kind: FileKind) -> tuple[Column, ...]:
    """Return the declared (non-instrument) columns of one file kind.

    Parameters
    ----------
    kind : {"survey", "attendance"}

    Returns
    -------
    tuple of Column
    """
    if kind == "survey":
        return SURVEY_COLUMNS
    if kind == "attendance":
        return ATTENDANCE_COLUMNS
    raise ValueError(f"unknown file kind: {kind!r}")


def normalize_header(header: str) -> str:
    """Canonical form of a header: case- and space-insensitive.

    ``" Respondent ID "`` and ``"respondent_id"`` both become ``"respondent_id"``;
    a byte-order mark left by Excel is dropped.

    Examples
    --------
    >>> normalize_header("\\ufeffSurvey  Date")
    'survey_date'
    """
    text = str(header).replace("\ufeff", "").strip().lower()
    for sep in ("-", "."):
        text = text.replace(sep, " ")
    return "_".join(text.split())
