"""The validation rules of an upload, declared as data.

Each :class:`Check` is one rule over one canonical column: the SQL condition that is
true on a failing row, what would have been accepted, the message and how bad it is.
They are built from the data contract's column declarations
(:mod:`analysis.definitions.contract`) and the instruments, so a new column or
instrument needs no new code. The engine that runs them over a staged file is
:mod:`analysis.intake.validate` (pandera's split of schema and backend).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from analysis.definitions.contract import Column, columns_for
from analysis.definitions.instruments import INSTRUMENTS, SCALES, Instrument
from analysis.definitions.scoring_sql import item_invalid_sql
from analysis.definitions.scoring_sql import quote_identifier as q
from analysis.intake.problems import Severity

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
#: "Anna Berg", "Anna-Lena Berg", "Berg, Anna", "Émile Zola": capitalised words of letters.
NAME_PATTERN = (
    r"^\p{Lu}\p{Ll}+(?:[ -]+\p{Lu}\p{Ll}+)+$|^\p{Lu}\p{Ll}+,\s*\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+)*$"
)


@dataclass(frozen=True)
class Check:
    """One rule over one column, declared as data.

    Attributes
    ----------
    rule : str
        Short name of the rule (``item_code``, ``date``, ``blank_required`` ...).
    column : str
        Canonical column the rule reads.
    condition : str
        SQL that is true on a failing row, over the staged view's columns (VARCHAR).
    expected : str
        What would have been accepted.
    message : str
        Template with ``{value}`` (the value found) and ``{expected}``.
    severity : {"error", "warning"}
    """

    rule: str
    column: str
    condition: str
    expected: str
    message: str = "found '{value}', expected {expected}"
    severity: Severity = "error"


def blank_sql(expr: str) -> str:
    """SQL true when a text value is empty or only spaces."""
    return f"nullif(trim({expr}), '') IS NULL"


def given_sql(expr: str) -> str:
    """SQL true when a text value holds more than spaces."""
    return f"nullif(trim({expr}), '') IS NOT NULL"


def number_text(value: float) -> str:
    """A bound as written in a message (``4`` not ``4.0``)."""
    return f"{value:g}"


def item_expected(instrument: Instrument) -> str:
    """What an item of ``instrument`` accepts, e.g. ``a code 1–5 or a label (Never … Always)``."""
    codes = f"a code {instrument.code_min}–{instrument.code_max}"
    if not instrument.labels:
        return codes
    by_code: dict[int, str] = {}
    for label, code in instrument.labels:
        by_code.setdefault(code, label)
    low = by_code.get(instrument.code_min, "")
    high = by_code.get(instrument.code_max, "")
    return f"{codes} or a label ({low[:1].upper() + low[1:]} … {high[:1].upper() + high[1:]})"


def column_checks(column: Column, pseudonymize: bool) -> list[Check]:
    """The checks a declared contract column gets from its declaration."""
    c = q(column.name)
    checks: list[Check] = []
    if column.required:
        checks.append(Check("blank_required", column.name, blank_sql(c), "a value",
                            "this required value is empty"))
    if column.kind == "id" and not pseudonymize:
        checks.append(Check(
            "id_email", column.name, f"regexp_matches(trim({c}), '{EMAIL_PATTERN}')",
            "a pseudonymous code such as P0042",
            "found '{value}', which looks like an e-mail address; IDs must be pseudonymous "
            "codes. Replace the IDs or switch on pseudonymization"))
        checks.append(Check(
            "id_name", column.name, f"regexp_matches(trim({c}), '{NAME_PATTERN}')",
            "a pseudonymous code such as P0042",
            "found '{value}', which looks like a person's name; IDs must be pseudonymous "
            "codes. Replace the IDs or switch on pseudonymization"))
    if column.kind == "date":
        checks.append(Check(
            "date", column.name, f"{given_sql(c)} AND TRY_CAST(trim({c}) AS DATE) IS NULL",
            "a date written as YYYY-MM-DD, e.g. 2025-03-31"))
        checks.append(Check(
            "date_future", column.name,
            f"TRY_CAST(trim({c}) AS DATE) > current_date + INTERVAL 1 DAY",
            "a date that is not in the future",
            "found '{value}', a date in the future; check the year", "warning"))
    if column.kind == "number":
        bound = column.min_value
        checks.append(Check(
            "number", column.name, f"{given_sql(c)} AND TRY_CAST(trim({c}) AS DOUBLE) IS NULL",
            "a number" + (f" above {number_text(bound)}" if bound is not None else "")))
        if bound is not None:
            op = "<=" if column.min_exclusive else "<"
            checks.append(Check(
                "number_range", column.name, f"TRY_CAST(trim({c}) AS DOUBLE) {op} {bound!r}",
                f"a number {'above' if column.min_exclusive else 'at least'} {number_text(bound)}"))
    checks.append(Check(
        "too_long", column.name, f"length({c}) > {column.max_length}",
        f"at most {column.max_length} characters",
        "found a value of more than {expected_length} characters ('{value}'); long text "
        "is not stored".replace("{expected_length}", str(column.max_length))))
    return checks


def outcome_checks(columns: Iterable[str]) -> list[Check]:
    """Checks for the item and scored columns present in a survey file."""
    checks = []
    present = set(columns)
    for inst in INSTRUMENTS:
        expected = item_expected(inst)
        for col in inst.item_columns:
            if col in present:
                checks.append(Check("item_code", col, item_invalid_sql(inst, q(col)), expected))
    for scale in SCALES:
        if scale.key not in present:
            continue
        c = q(scale.key)
        expected = f"a score from {number_text(scale.low)} to {number_text(scale.high)}"
        checks.append(Check(
            "score_number", scale.key, f"{given_sql(c)} AND TRY_CAST(trim({c}) AS DOUBLE) IS NULL",
            expected))
        checks.append(Check(
            "score_range", scale.key,
            f"TRY_CAST(trim({c}) AS DOUBLE) NOT BETWEEN {scale.low!r} AND {scale.high!r}",
            expected))
    return checks


def checks_for(kind: str, columns: Iterable[str], pseudonymize: bool) -> list[Check]:
    """Every row check that applies to the canonical ``columns`` present in a file."""
    present = set(columns)
    checks: list[Check] = []
    for column in columns_for(kind):  # type: ignore[arg-type]
        if column.name in present:
            checks.extend(column_checks(column, pseudonymize))
    if kind == "survey":
        checks.extend(outcome_checks(present))
    return checks
