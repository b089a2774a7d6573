"""Let DuckDB read a decoded upload into a temporary table in which every value is VARCHAR.

:func:`stage` reads the UTF-8 CSV of :func:`analysis.intake.readers.decode` exactly as the
user typed it, so validation sees the raw text. Any file DuckDB's reader gives up on (a
stray double quote, for example) becomes one refusal
:class:`~analysis.intake.problems.Problem`, never an exception.

Rows with the wrong number of fields are not read: DuckDB's reader stores them in a
rejects table (``store_rejects``) with their record number, and each becomes a
:class:`~analysis.intake.problems.Problem` naming its spreadsheet row (the header is row 1).

Spreadsheet row numbers of the rows that were read are computed, not stored: the
staged table keeps DuckDB's insertion order (``preserve_insertion_order``, the
default), so ``rowid`` is the position among accepted rows, and
``row = position + 2 + (rejected records before it)``; :func:`row_number_sql` writes that.
:func:`first_rows` reads a file's first rows the same way for the upload preview.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from analysis.intake.problems import Problem
from analysis.intake.readers import DELIMITER_LABELS, DecodedFile
from analysis.storage.store import first, single_value

#: DuckDB errors that come from the machine or the database rather than from a file's
#: content (a full disk, memory, an interrupted or broken database): never a refusal.
SYSTEM_ERRORS: tuple[type[duckdb.Error], ...] = (
    duckdb.IOException, duckdb.OutOfMemoryException, duckdb.InterruptException,
    duckdb.FatalException, duckdb.TransactionException)


@dataclass(frozen=True)
class StagedFile:
    """A file read into a temporary DuckDB table of VARCHAR columns ``c0``, ``c1``, ...

    Attributes
    ----------
    table : str
        The temporary table (one row per data record that had the right field count).
    gaps_table : str
        Small temporary table ``(g BIGINT, k BIGINT)`` used by :func:`row_number_sql`.
    headers : tuple of str
        Source headers; ``headers[i]`` is column ``c{i}``.
    n_rows : int
        Rows read (records with the wrong field count excluded).
    n_rejected : int
        Records refused for their field count or quoting.
    problems : tuple of Problem
        One per rejected record (capped) and any file-level problem.
    failed : bool
        True when DuckDB's reader gave up on the whole file (``problems`` says why, in
        plain words). The failed statement has aborted any transaction open on the
        cursor: the caller must stop and roll back, and ``table`` does not exist.
    """

    table: str
    gaps_table: str
    headers: tuple[str, ...]
    n_rows: int
    n_rejected: int
    problems: tuple[Problem, ...] = field(default_factory=tuple)
    first_rowid: int = 0
    failed: bool = False

    def position_sql(self, alias: str = "") -> str:
        """SQL for a staged row's 0-based position among the rows read.

        ``rowid`` starts at 0 in a committed table but at a large offset for a table made
        inside an open transaction, so the first rowid is subtracted.
        """
        prefix = f"{alias}." if alias else ""
        return f"({prefix}rowid - {int(self.first_rowid)})"



#: The most bytes DuckDB's CSV reader takes from the file at a time while staging. With
#: its default (16 MB), keeping a million rows in file order, as row numbers need, cost
#: about as much again as the read: in two pieces (of up to 64 MB) they took half the time.
BUFFER_SIZE = 64 << 20
#: DuckDB's own piece size, kept for files up to twice as large: a piece larger than the
#: file reads it on one core.
DEFAULT_BUFFER_SIZE = 16 << 20


def buffer_size(n_bytes: int) -> int:
    """The piece size to stage a file of ``n_bytes`` with: half the file (and a line's
    worth more), within DuckDB's default and :data:`BUFFER_SIZE`.

    Examples
    --------
    >>> buffer_size(11 << 20) == DEFAULT_BUFFER_SIZE, buffer_size(114 << 20) >> 20
    (True, 58)
    >>> buffer_size(1 << 30) == BUFFER_SIZE
    True
    """
    return min(BUFFER_SIZE, max(DEFAULT_BUFFER_SIZE, n_bytes // 2 + (1 << 20)))


def _field_count(csv_line: str | None, delimiter: str) -> int | None:
    """How many values a rejected record holds; None when Python's reader cannot tell
    either (a line break or a stray quote inside it)."""
    if csv_line is None:
        return None
    try:
        return len(next(csv.reader([csv_line], delimiter=delimiter), []))
    except csv.Error:
        return None


def reject_message(error_type: str, n_headers: int, csv_line: str | None,
                   delimiter: str) -> tuple[str, str]:
    """The message and the expectation for one record DuckDB's reader rejected."""
    label = DELIMITER_LABELS.get(delimiter, delimiter)
    if error_type in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
        found = _field_count(csv_line, delimiter)
        count = f"{found} values" if found is not None else "a different number of values"
        return ((f"This row has {count} but the header has {n_headers} columns "
                f"(separated by {label}s). A value may contain a {label}: put it in double "
                "quotes, or remove the extra separator."),
                f"{n_headers} values")
    if error_type == "UNQUOTED VALUE":
        return (("A value on this row has a double quote in the wrong place. Values with "
                "quotes must be enclosed in double quotes, with inner quotes doubled (\"\")."),
                "correctly quoted values")
    if error_type == "LINE SIZE OVER MAXIMUM":
        return ("This row is too long to be a survey row.", "a shorter row")
    return (f"This row could not be read ({error_type.lower()}).", "a well-formed CSV row")


def stage(cur: duckdb.DuckDBPyConnection, decoded: DecodedFile, name: str,
          max_reported: int = 1000, select: Sequence[str] | None = None,
          params: Mapping[str, object] | None = None) -> StagedFile:
    """Read a decoded file into temporary table ``name`` (all VARCHAR) on ``cur``.

    Parameters
    ----------
    cur : duckdb.DuckDBPyConnection
        The cursor validation and loading will use (temporary tables are per cursor).
    decoded : DecodedFile
        A readable file from :func:`decode`.
    name : str
        Our own identifier for the table (never user input).
    max_reported : int
        At most this many rejected rows become problems; a last one counts the rest.
    select : sequence of str, optional
        SQL expressions over the file's text columns ``c0``, ``c1``, ... stored instead
        of those columns (e.g. the canonical columns an upload keeps), computed while
        the file is read; their parameters in ``params``. Default: the text columns.

    Returns
    -------
    StagedFile
        With ``failed`` set (and one refusal problem) when DuckDB's reader gave up on the
        file; a system failure (I/O, memory) is raised as the duckdb error it is.
    """
    if not decoded.readable:
        raise ValueError("stage() needs a readable file")
    n = len(decoded.headers)
    gaps = f"{name}_gaps"
    if not n:
        return StagedFile(name, gaps, decoded.headers, 0, 0, (_no_header(decoded),),
                          failed=True)
    try:
        return _stage(cur, decoded, name, max_reported, select, params)
    except SYSTEM_ERRORS:
        raise  # the machine or the database, not the file: the caller explains those
    except duckdb.Error as error:
        return StagedFile(name, gaps, decoded.headers, 0, 0,
                          (_unreadable(decoded, error),), failed=True)


def _no_header(decoded: DecodedFile) -> Problem:
    return Problem(decoded.file_name, 1, None, None, "the column names on the first line",
                   "error", f"The first line of {decoded.file_name} is empty: it must hold "
                   "the column names.")


_LINE_IN_ERROR = re.compile(r"\b(?:line|Line)\s*:?\s*(\d+)")


def _unreadable(decoded: DecodedFile, error: duckdb.Error) -> Problem:
    """A plain-words refusal for a file DuckDB's CSV reader gave up on."""
    text = str(error)
    found = _LINE_IN_ERROR.search(text)
    row = int(found.group(1)) if found else None
    if "quote" in text.lower() or "state machine" in text:
        what = ("a double quote is not where a CSV file allows it (for example a value "
                "that opens a quote and never closes it)")
    elif "unicode" in text.lower() or "utf" in text.lower():
        what = "it contains bytes that are not valid text"
    elif "maximum line size" in text.lower() or "line size" in text.lower():
        what = "a line is far longer than any survey row"
    else:
        what = "its rows are not in a consistent CSV layout"
    return Problem(
        decoded.file_name, row, None, None, "a well-formed CSV file", "error",
        f"This file could not be read as a table: {what}. Open it in a spreadsheet "
        "program, check the rows look right, save it again as CSV (UTF-8) and upload that.")


def _stage(cur: duckdb.DuckDBPyConnection, decoded: DecodedFile, name: str,
           max_reported: int, select: Sequence[str] | None,
           params: Mapping[str, object] | None) -> StagedFile:
    n = len(decoded.headers)
    columns = {f"c{i}": "VARCHAR" for i in range(n)}
    rejects, scans, gaps = f"{name}_rejects", f"{name}_scans", f"{name}_gaps"
    for table in (name, rejects, scans, gaps):
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    cur.execute(
        f"CREATE TEMP TABLE {name} AS SELECT {', '.join(select or ['*'])} "
        "FROM read_csv($path, columns=$columns, "
        "header=true, delim=$delim, quote='\"', escape='\"', auto_detect=false, "
        "strict_mode=true, store_rejects=true, rejects_table=$rejects, rejects_scan=$scans, "
        "max_line_size=1048576, buffer_size=$buffer_size)",
        {**(params or {}), "path": str(decoded.path), "columns": columns,
         "delim": decoded.delimiter, "rejects": rejects, "scans": scans,
         "buffer_size": buffer_size(Path(decoded.path).stat().st_size)},
    )
    # One entry per rejected record (a record may be reported once per bad column).
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE {rejects}_rows AS SELECT line, "
        f"min(error_type::VARCHAR) AS error_type, any_value(csv_line) AS csv_line "
        f"FROM {rejects} GROUP BY line"
    )
    cur.execute(
        f"CREATE TEMP TABLE {gaps} AS WITH g AS (SELECT CAST(line AS BIGINT) - "
        f"(row_number() OVER (ORDER BY line) - 1) - 2 AS g FROM {rejects}_rows) "
        "SELECT g, CAST(max(k) AS BIGINT) AS k FROM "
        "(SELECT g, count(*) OVER (ORDER BY g) AS k FROM g) GROUP BY g"
    )
    n_rows, first_rowid = first(cur, f"SELECT count(*), coalesce(min(rowid), 0) FROM {name}")
    n_rejected = single_value(cur, f"SELECT count(*) FROM {rejects}_rows")
    rows = cur.execute(
        f"SELECT line, error_type, csv_line FROM {rejects}_rows ORDER BY line LIMIT ?",
        [max_reported]).fetchall()
    problems = []
    for line, error_type, csv_line in rows:
        message, expected = reject_message(error_type, n, csv_line, decoded.delimiter)
        problems.append(Problem(decoded.file_name, int(line), None, None, expected, "error",
                                message))
    if n_rejected > max_reported:
        problems.append(Problem(
            decoded.file_name, None, None, None, f"{n} values", "error",
            f"… and {n_rejected - max_reported:,} more rows with the wrong number of values."))
    return StagedFile(name, gaps, decoded.headers, int(n_rows), int(n_rejected),
                      tuple(problems), int(first_rowid))


def row_number_sql(staged: StagedFile, rowid: str = "rowid") -> str:
    """SQL giving the spreadsheet row (header = 1) of a staged row from its position.

    ``rowid`` is an expression for the 0-based position (see ``StagedFile.position_sql``).

    Cheap per row: meant for the few rows a problem report names, not for whole tables.
    Qualify ``rowid`` expressions with the staged table's alias: a bare ``rowid`` would
    bind to the small table inside this subquery.
    """
    return (
        f"({rowid} + 2 + coalesce((SELECT max(k) FROM {staged.gaps_table} "
        f"WHERE g <= {rowid}), 0))"
    )


def first_rows(cur: duckdb.DuckDBPyConnection, decoded: DecodedFile,
               n: int) -> list[tuple[str, ...]]:
    """The first ``n`` data rows of a decoded file, as text, read by DuckDB's CSV reader
    with the file's own dialect (for a preview: nothing is staged).

    Short rows are padded with empty values; rows DuckDB cannot read are left out (the
    upload's validation reports them), and a file it gives up on shows no rows.
    """
    if not decoded.readable or not decoded.headers or n <= 0:
        return []
    columns = {f"c{i}": "VARCHAR" for i in range(len(decoded.headers))}
    try:
        rows = cur.execute(
            "SELECT * FROM read_csv($path, columns=$columns, header=true, delim=$delim, "
            "quote='\"', escape='\"', auto_detect=false, null_padding=true, ignore_errors=true, "
            # null_padding reads quoted line breaks only in the serial reader.
            "parallel=false, max_line_size=1048576) LIMIT $n",
            {"path": str(decoded.path), "columns": columns, "delim": decoded.delimiter,
             "n": int(n)}).fetchall()
    except SYSTEM_ERRORS:
        raise
    except duckdb.Error:
        return []
    return [tuple("" if v is None else v for v in row) for row in rows]


def drop_staged(cur: duckdb.DuckDBPyConnection, staged: StagedFile) -> None:
    """Drop a staged file's temporary tables."""
    for table in (staged.table, f"{staged.table}_rejects", f"{staged.table}_rejects_rows",
                  f"{staged.table}_scans", staged.gaps_table):
        cur.execute(f"DROP TABLE IF EXISTS {table}")
