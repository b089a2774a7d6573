"""The scoring rules of :mod:`analysis.definitions.instruments` written as DuckDB SQL.

Item answers become integer codes (:func:`item_code_sql`), invalid answers are found
(:func:`item_invalid_sql`), item and scale scores are computed from stored codes
(:func:`item_score_sql`, :func:`scale_score_sql`) and a score is compared with its
cut-off (:func:`is_high_sql`). :func:`~analysis.definitions.instruments.score_items` states
the same scoring rule in plain Python; the tests hold this SQL to it.
"""

from __future__ import annotations

from collections.abc import Callable

from analysis.definitions.instruments import INSTRUMENTS_BY_KEY, Instrument, Scale

__all__ = [
    "collapsed_sql",
    "is_high_sql",
    "item_code_sql",
    "item_invalid_sql",
    "item_score_sql",
    "quote_identifier",
    "scale_score_sql",
    "sql_literal",
]


def quote_identifier(identifier: str) -> str:
    """Quote a SQL identifier (our own canonical names only, never user input)."""
    return '"' + identifier.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    """A SQL string literal (only our own declared labels reach here, never user input)."""
    return "'" + text.replace("'", "''") + "'"


def collapsed_sql(expression: str) -> str:
    """SQL of a text with runs of white space collapsed to one space, trimmed."""
    # Same as str.split() in normalize_label: tabs, newlines and no-break spaces count
    # as spaces (DuckDB's trim() alone removes plain spaces only).
    return f"trim(regexp_replace({expression}, '[\\s\\x{{00A0}}]+', ' ', 'g'))"


def item_code_sql(instrument: Instrument, expression: str) -> str:
    """SQL turning a text item answer into its integer code, NULL when blank or invalid.

    Accepts the numeric code (``"3"``, ``"3.0"``) or a response label, case- and
    space-insensitively (as :func:`~analysis.definitions.instruments.normalize_label`).

    Parameters
    ----------
    instrument : Instrument
    expression : str
        A SQL expression of type VARCHAR (a quoted canonical column name).
    """
    text = collapsed_sql(expression)
    norm = f"replace(replace(lower({text}), ' /', '/'), '/ ', '/')"
    number = f"TRY_CAST({text} AS DOUBLE)"
    whens = " ".join(
        f"WHEN {sql_literal(label)} THEN {code}" for label, code in instrument.labels
    )
    label_case = f"CASE {norm} {whens} ELSE NULL END" if whens else "NULL"
    return (
        f"CASE WHEN {number} IS NOT NULL AND {number} = round({number}) "
        f"AND {number} BETWEEN {instrument.code_min} AND {instrument.code_max} "
        f"THEN CAST({number} AS INTEGER) ELSE {label_case} END"
    )


def item_invalid_sql(instrument: Instrument, expression: str) -> str:
    """SQL that is true when an answer is given but is no code or label of the scale.

    Blank and whitespace-only answers are "not answered", never invalid.
    """
    return (
        f"(nullif({collapsed_sql(expression)}, '') IS NOT NULL "
        f"AND ({item_code_sql(instrument, expression)}) IS NULL)"
    )


def item_score_sql(scale: Scale, number: int, code: str) -> str:
    """SQL of one item's score from its raw code: reversed if needed, then scaled."""
    inst = INSTRUMENTS_BY_KEY[scale.instrument]
    # DOUBLE first: stored codes are TINYINT, and CBI sums (up to 700) overflow it.
    value = f"CAST({code} AS DOUBLE)"
    if number in scale.reversed_items:
        value = f"({inst.code_min + inst.code_max} - {value})"
    if scale.offset:
        value = f"({value} - {float(scale.offset)!r})"
    if scale.multiplier != 1:
        value = f"({value} * {float(scale.multiplier)!r})"
    return value


def scale_score_sql(scale: Scale, column_of: Callable[[str], str] = quote_identifier) -> str:
    """SQL computing a scale score from stored integer item codes.

    The rule is the one :func:`~analysis.definitions.instruments.score_items` states in Python.

    Parameters
    ----------
    scale : Scale
        A scale with items (scored-only scales have nothing to compute).
    column_of : callable
        Maps an item column name to the SQL that reads its integer code.

    Returns
    -------
    str
        A DOUBLE expression, NULL when fewer than ``min_answered`` items are answered.
    """
    if scale.scored_only:
        raise ValueError(f"{scale.key} is accepted only as a scored column")
    scores = []
    answered = []
    for number, column in zip(scale.items, scale.item_columns):
        code = column_of(column)
        scores.append(f"coalesce({item_score_sql(scale, number, code)}, 0)")
        answered.append(f"CAST({code} IS NOT NULL AS INTEGER)")
    total = "(" + " + ".join(scores) + ")"
    count = "(" + " + ".join(answered) + ")"
    # Sums multiply before dividing so that a complete sum is exact.
    value = f"{total} * {len(scale.items)} / {count}" if scale.aggregation == "sum" \
        else f"{total} / {count}"
    return f"CASE WHEN {count} >= {scale.min_answered} THEN CAST({value} AS DOUBLE) END"


def is_high_sql(scale: Scale, expression: str) -> str:
    """SQL that is true when a score is in the adverse range of the scale's cut-off."""
    if scale.cutoff is None:
        return "NULL"
    op = ">=" if scale.cutoff_direction == "high" else "<="
    return f"({expression} {op} {scale.cutoff!r})"
