"""The engine that runs the validation rules over a staged upload, as SQL.

The rules themselves are data in :mod:`analysis.intake.rules`; this module runs them:
a single aggregate scan counts the failures of every check, and only checks that fail
are asked for their first rows. A million-row file validates in seconds because nothing
loops over rows in Python. Whole-file problems (required columns missing, no outcome,
no rows) and repeated respondent/wave pairs are found here too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import duckdb

from analysis.definitions.contract import columns_for
from analysis.definitions.instruments import SCALES, instrument_of_item
from analysis.definitions.scoring_sql import quote_identifier as q
from analysis.intake.problems import Problem, shown
from analysis.intake.rules import Check, checks_for, given_sql
from analysis.storage.store import single_value

#: At most this many rows are listed per check and column; one more line counts the rest.
MAX_PER_CHECK = 1000
#: Warnings are listed more briefly.
MAX_WARNINGS_PER_CHECK = 20
#: Columns whose values rarely repeat: checked row by row rather than by distinct value.
DIRECT_COLUMNS = frozenset({"respondent_id"})
#: A column with at most this many distinct values has them handed back by
#: :func:`run_checks` (``values=``), e.g. for coding item answers without another scan.
MAX_LISTED_VALUES = 256

@dataclass(frozen=True)
class FileView:
    """A staged file as validation sees it.

    Attributes
    ----------
    file_name : str
    kind : {"survey", "attendance"}
    relation : str
        SQL relation (our own temporary view) with ``_rid`` (the staged rowid),
        ``_key`` (the respondent ID: NULL when blank, else trimmed, never empty; as it
        will be stored unless ``keyed``) and the canonical columns as text.
    columns : mapping of str to str
        Canonical name to the header as written in the file.
    row_sql : callable
        Maps a rowid SQL expression to its spreadsheet row number expression.
    """

    file_name: str
    kind: str
    relation: str
    columns: Mapping[str, str]
    row_sql: Callable[[str], str]
    unmapped: tuple[str, ...] = field(default_factory=tuple)
    #: Item columns the relation holds as numbers (see :func:`digit_column`).
    split: frozenset[str] = frozenset()
    #: The SQL variable (our own name) listing the answers those numbers code as -1, -2, …
    answers: str = ""
    #: Split items with a cell staged as a negative code (an answer that is no code of
    #: the item); the others hold only codes, stored as they are.
    negative: frozenset[str] = frozenset()
    #: ``_key`` is the ID as written and :data:`analysis.intake.keys.KEY_MAP` gives its
    #: pseudonym (see :func:`analysis.intake.keys.map_keys`).
    keyed: bool = False


#: The answers an item column may be staged as a number for.
DIGITS = frozenset("0123456789")


def digit_column(column: str) -> str:
    """The staged TINYINT column of an item whose answers in the file are all blank, one
    ASCII digit or one of a few listed answers (see
    :func:`analysis.intake.prepare.stage_canonical`): the digit; for the k-th listed
    answer its code in the item's instrument, or ``-k`` when it has none.

    Item answers nearly always are. Kept as numbers, they are grouped for validation and
    stored without a string per cell; ``column`` itself reads each answer back as text:
    a code of the item (a digit, or a label staged as its code) as that code, any other
    answer exactly as it was written.
    """
    return q(f"_d_{column}")


def listed_answer_sql(column: str, answers: str) -> str:
    """The listed answer an item's negative :func:`digit_column` stands for, from the SQL
    variable ``answers`` (NULL for a blank). Only for a negative code: a positive one
    would index the list from its end, so callers take digits first."""
    return f"getvariable('{answers}')[-CAST({digit_column(column)} AS INTEGER)]"


def joined_sql(column: str, answers: str) -> str:
    """An item's answer as the checks read it, from its :func:`digit_column` and the SQL
    variable ``answers`` listing the answers other than one digit: a code as its digits,
    any other answer as written."""
    d = digit_column(column)
    return (f"CASE WHEN {d} >= 0 THEN CAST({d} AS VARCHAR) "
            f"ELSE {listed_answer_sql(column, answers)} END")


def structure_problems(view: FileView, n_rows: int) -> list[Problem]:
    """Whole-file problems: required columns missing, no outcome, no rows, unstored columns."""
    problems: list[Problem] = []
    f = view.file_name
    missing = [c.name for c in columns_for(view.kind) if c.required  # type: ignore[arg-type]
               and c.name not in view.columns]
    for name in missing:
        problems.append(Problem(
            f, None, name, None, f"a column named {name}", "error",
            f"the required column {name} is missing. Add it, or map the column that holds "
            f"it to {name}"))
    if view.kind == "survey":
        outcomes = [c for c in view.columns
                    if instrument_of_item(c) is not None or c in {s.key for s in SCALES}]
        if not outcomes:
            problems.append(Problem(
                f, None, None, None,
                "item columns such as cbi_1 … cbi_19 or scored columns such as cbi_work",
                "error",
                "the file has no outcome columns: no questionnaire items (e.g. cbi_1) and no "
                "scores (e.g. cbi_work, mbi_ee), so there is nothing to measure burnout with"))
    if n_rows == 0:
        problems.append(Problem(
            f, None, None, None, "at least one data row", "error",
            "the file has a header row but no data rows"))
    for header in view.unmapped:
        problems.append(Problem(
            f, None, header, None, "a column of the data contract", "warning",
            "this column is not part of the data contract and will not be stored "
            "(free text is never stored)"))
    return problems


def run_checks(cur: duckdb.DuckDBPyConnection, view: FileView, checks: Sequence[Check],
               limit: int = MAX_PER_CHECK,
               values: dict[str, tuple[str, ...]] | None = None) -> list[Problem]:
    """Run row checks and list the failing rows (capped per check).

    Each column's distinct values are counted once (``GROUP BY``, fast: answers repeat),
    and the checks are evaluated over those values rather than over every row; only a
    check that fails is then asked for its first rows. Identifier columns, whose values
    barely repeat, are checked row by row. All of it is one statement
    (:func:`_failure_counts`).

    ``values``, when given, receives each checked column's distinct non-null values
    (columns with at most :data:`MAX_LISTED_VALUES` of them, identifier columns never).
    """
    counts, listed = _failure_counts(cur, view, checks)
    if values is not None:
        values.update(listed)
    problems: list[Problem] = []
    for check in checks:
        count = counts.get(id(check), 0)
        if not count:
            continue
        cap = limit if check.severity == "error" else min(limit, MAX_WARNINGS_PER_CHECK)
        col = q(check.column)
        rows = cur.execute(
            f"SELECT {view.row_sql('_rid')} AS row_number, {col} FROM "
            f"(SELECT _rid, {col} FROM {view.relation} WHERE {check.condition} "
            f"ORDER BY _rid LIMIT {int(cap)})"
        ).fetchall()
        source = view.columns.get(check.column, check.column)
        for row_number, value in rows:
            problems.append(Problem(
                view.file_name, int(row_number), source, shown(value), check.expected,
                check.severity, check.message.format(value=shown(value),
                                                     expected=check.expected)))
        if count > cap:
            problems.append(Problem(
                view.file_name, None, source, None, check.expected, check.severity,
                f"… and {count - cap:,} more rows with the same problem in this column"))
    return problems


def _failure_counts(cur: duckdb.DuckDBPyConnection, view: FileView,
                    checks: Sequence[Check]
                    ) -> tuple[dict[int, int], dict[str, tuple[str, ...]]]:
    """Failing rows per check (keyed by ``id(check)``), in ONE statement: a ``UNION ALL``
    of one small aggregate per column (its distinct values counted with ``GROUP BY``,
    each check's failures summed over them as a list), plus one row-by-row aggregate for
    :data:`DIRECT_COLUMNS`. The staged table is read once per column, no temporary
    table is written, and the file's size does not change the number of statements.

    Also returns each grouped column's distinct non-null values when there are at most
    :data:`MAX_LISTED_VALUES` of them (the groups are at hand)."""
    by_column: dict[str, list[Check]] = {}
    for check in checks:
        by_column.setdefault(check.column, []).append(check)
    parts: list[str] = []
    order: list[list[Check]] = []
    direct = [c for c in checks if c.column in DIRECT_COLUMNS]
    if direct:
        sql = ", ".join(f"count(*) FILTER (WHERE {c.condition})" for c in direct)
        parts.append(f"SELECT {len(order)} AS _part, [{sql}]::BIGINT[] AS _counts, "
                     f"NULL::VARCHAR[] AS _values FROM {view.relation}")
        order.append(direct)
    # Columns whose checks read the same but for the column's name (the items of one
    # instrument) share one evaluation: their distinct values are stacked under the
    # first column's name and the checks are written once, grouped by column. A
    # statement with 19 copies of an item rule took longer to plan than to run.
    groups: dict[tuple[str, ...], list[str]] = {}
    for column, column_checks_ in by_column.items():
        if column in DIRECT_COLUMNS:
            continue
        shape = tuple(f"{c.rule}\x00{c.severity}\x00" + c.condition.replace(q(column), "\x01")
                      for c in column_checks_)
        groups.setdefault(shape, []).append(column)
    for columns in groups.values():
        first = q(columns[0])
        stacked = " UNION ALL ".join(_grouped(view, i, column, first)
                                     for i, column in enumerate(columns))
        sql = ", ".join(f"coalesce(sum(_n) FILTER (WHERE {c.condition}), 0)"
                        for c in by_column[columns[0]])
        listed = (f"CASE WHEN count(*) <= {MAX_LISTED_VALUES} THEN coalesce(list(CAST("
                  f"{first} AS VARCHAR)) FILTER (WHERE {first} IS NOT NULL), []) END")
        parts.append(f"SELECT {len(order)} + _c AS _part, [{sql}]::BIGINT[] AS _counts, "
                     f"{listed} AS _values FROM ({stacked}) GROUP BY _c")
        order.extend(by_column[column] for column in columns)
    counts: dict[int, int] = {}
    values: dict[str, tuple[str, ...]] = {}
    if not parts:
        return counts, values
    for part, numbers, found in cur.execute(" UNION ALL ".join(parts)).fetchall():
        for check, n in zip(order[part], numbers):
            counts[id(check)] = int(n or 0)
        if found is not None:
            values[order[part][0].column] = tuple(found)
    return counts, values


def untrimmed(values: Sequence[str] | None) -> bool:
    """Whether ``trim`` could change a value of a column whose distinct values are
    ``values`` (None: not listed, so it might). Python's ``strip`` removes every
    whitespace character, a superset of the spaces SQL's ``trim`` removes."""
    return values is None or any(v != v.strip() for v in values)


def _grouped(view: FileView, number: int, column: str, alias: str) -> str:
    """One column's distinct values and their row counts, the values named ``alias``.

    An item staged as numbers is grouped by them: far cheaper than grouping a million
    strings, and the same groups, since each code reads back as one text.
    """
    if column in view.split:
        return (f"SELECT {number} AS _c, {joined_sql(column, view.answers)} AS {alias}, "
                f"count(*) AS _n "
                f"FROM {view.relation} GROUP BY {digit_column(column)}")
    return (f"SELECT {number} AS _c, {q(column)} AS {alias}, count(*) AS _n "
            f"FROM {view.relation} GROUP BY {q(column)}")


def duplicate_problems(cur: duckdb.DuckDBPyConnection, view: FileView,
                       limit: int = MAX_PER_CHECK,
                       values: Mapping[str, Sequence[str]] | None = None) -> list[Problem]:
    """Survey rows repeating a (respondent_id, wave) pair of an earlier row in the file.

    ``values``: the distinct values validation listed per column (see :func:`run_checks`).
    When the waves need no trimming, pairs are first counted by a 64-bit hash of
    (ID, wave): grouping a million hashes is several times cheaper than grouping the
    pairs' text. Equal pairs hash equally, so no repeat is ever missed; a hash
    collision could only count one too many, and any count is then checked exactly.
    """
    if view.kind != "survey" or not {"respondent_id", "wave"} <= set(view.columns):
        return []
    if not untrimmed((values or {}).get("wave")) and not single_value(
            cur, f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM "
            f"{view.relation} WHERE _key IS NOT NULL AND wave <> '' GROUP BY hash(_key, wave))"):
        return []
    base = (
        f"SELECT _rid, wave, first_value(_rid) OVER w AS first_rid, "
        f"row_number() OVER w AS rn FROM {view.relation} "
        f"WHERE _key IS NOT NULL AND {given_sql('wave')} "
        f"WINDOW w AS (PARTITION BY _key, trim(wave) ORDER BY _rid)"
    )
    # Counted with a hash aggregate (rows beyond the first of each pair); the window
    # above, which sorts the whole file, runs only when there is something to list.
    count = single_value(
        cur, f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {view.relation} "
        f"WHERE _key IS NOT NULL AND {given_sql('wave')} GROUP BY _key, trim(wave))")
    if not count:
        return []
    rows = cur.execute(
        f"SELECT {view.row_sql('_rid')}, {view.row_sql('first_rid')}, wave FROM "
        f"(SELECT * FROM ({base}) WHERE rn > 1 ORDER BY _rid LIMIT {int(limit)})"
    ).fetchall()
    source = view.columns["respondent_id"]
    problems = [
        Problem(view.file_name, int(row), source, None,
                "one row per respondent per wave", "error",
                f"this respondent already has a row for wave '{shown(wave)}' in this file "
                f"(row {int(first)}); keep one of the two")
        for row, first, wave in rows
    ]
    if count > limit:
        problems.append(Problem(
            view.file_name, None, source, None, "one row per respondent per wave", "error",
            f"… and {count - limit:,} more repeated respondent/wave rows"))
    return problems


def validate_view(cur: duckdb.DuckDBPyConnection, view: FileView, n_rows: int,
                  pseudonymize: bool = False, limit: int = MAX_PER_CHECK,
                  values: dict[str, tuple[str, ...]] | None = None) -> list[Problem]:
    """All single-file problems of a staged file (structure, row checks, duplicates).

    ``values``: see :func:`run_checks`."""
    problems = structure_problems(view, n_rows)
    if n_rows:
        problems += run_checks(cur, view, checks_for(view.kind, view.columns, pseudonymize), limit, values)
        problems += duplicate_problems(cur, view, limit, values)
    return problems


