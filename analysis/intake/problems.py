"""Problems found in an upload: the value every reader and check reports.

Every problem names the file, the spreadsheet row (the header is row 1; None for a
problem with the whole file), the column as the user's file names it, the value found
and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong (error) or worth knowing (warning) about an upload.

    Attributes
    ----------
    file : str
        The file's name as uploaded.
    row : int or None
        Spreadsheet row number (header = 1); None for the whole file or a whole column.
    column : str or None
        The column as named in the file.
    value : str or None
        The value found (shortened when long).
    expected : str
        What would have been accepted.
    severity : {"error", "warning"}
        Errors refuse the upload; warnings are reported and the upload goes ahead.
    message : str
        Plain words, e.g. ``found '7', expected a code 1–5 or a label (...)``.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str
    severity: Severity
    message: str

    def text(self) -> str:
        """One line naming file, row and column, e.g. for the command line's stderr.

        Examples
        --------
        >>> Problem("survey.csv", 14, "cbi_3", "7", "a code 1–5", "error",
        ...         "found '7', expected a code 1–5").text()
        "survey.csv, row 14, column cbi_3: found '7', expected a code 1–5"
        """
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return ", ".join(where) + ": " + self.message


PROBLEM_COLUMNS = ("severity", "file", "row", "column", "value", "expected", "message")


def problems_frame(problems: Iterable[Problem]) -> pd.DataFrame:
    """The problems as a table (for display and CSV download), in :func:`sort_problems`
    order: errors before warnings, then by file, row and column.

    Columns: severity, file, row, column, value, expected, message. ``row`` is a
    nullable integer (blank for whole-file problems).
    """
    rows = [{name: getattr(p, name) for name in PROBLEM_COLUMNS}
            for p in sort_problems(problems)]
    frame = pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))
    frame["row"] = frame["row"].astype("Int64")
    return frame


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Errors before warnings; then by file, row (whole-file problems first), column.

    The sort is stable: problems equal on those keys keep the order they were found in.
    """
    return sorted(
        problems,
        key=lambda p: (p.severity != "error", p.file, -1 if p.row is None else p.row,
                       p.column or ""),
    )


def shown(value: str | None, limit: int = 60) -> str:
    """A value as quoted in a message, shortened when long."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def has_errors(problems: Iterable[Problem]) -> bool:
    """Whether any problem refuses the upload."""
    return any(p.severity == "error" for p in problems)
