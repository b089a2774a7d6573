"""Upload problems grouped by file, column and rule: one line for 36 bad dates, with the
count, the first rows and a few example values, instead of 36 lines."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from analysis.intake.problems import Problem, sort_problems

GROUP_COLUMNS = ("severity", "file", "column", "problem", "count", "rows", "examples", "expected")
_EXAMPLES = 3
_ROWS = 5


def group_problems(problems: Iterable[Problem]) -> pd.DataFrame:
    """One row per (severity, file, column, rule), errors first, then the most frequent.

    The rule is what was expected (each validation rule states its own). ``problem`` is
    the first problem's message when the group has one member, else what was expected;
    ``rows`` lists the first few row numbers ("…" when there are more); ``examples``
    the first few distinct values found.

    >>> from analysis.intake.problems import Problem
    >>> bad = [Problem("s.csv", r, "survey_date", f"3{r}/01/2025", "a date", "error", "m")
    ...        for r in range(2, 40)]
    >>> row = group_problems(bad).iloc[0]
    >>> int(row["count"]), row["rows"], row["examples"]
    (38, '2, 3, 4, 5, 6, …', "'32/01/2025', '33/01/2025', '34/01/2025'")
    """
    groups: dict[tuple, list[Problem]] = {}
    for problem in sort_problems(problems):
        key = (problem.severity, problem.file, problem.column or "(whole file)", problem.expected)
        groups.setdefault(key, []).append(problem)
    rows = []
    for (severity, file, column, expected), members in groups.items():
        numbers = [p.row for p in members if p.row is not None]
        values = list(dict.fromkeys(p.value for p in members if p.value not in (None, "")))
        rows.append({
            "severity": severity, "file": file, "column": column,
            "problem": members[0].message if len(members) == 1 else f"expected {expected}",
            "count": len(members),
            "rows": ", ".join(str(n) for n in numbers[:_ROWS]) + (", …" if len(numbers) > _ROWS else ""),
            "examples": ", ".join(f"'{v}'" for v in values[:_EXAMPLES]),
            "expected": expected,
        })
    frame = pd.DataFrame(rows, columns=list(GROUP_COLUMNS))
    if frame.empty:
        return frame
    frame["_error"] = frame["severity"] != "error"
    return (frame.sort_values(["_error", "count"], ascending=[True, False], kind="stable")
            .drop(columns="_error").reset_index(drop=True))
