"""Reading the report's tables the same way on every page: a table by name, the latest
wave, numbers that may be missing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from analysis.reporting.group_tables import latest_wave_of

#: The methods that count as "the" adjusted effect, in order of preference.
HEADLINE_METHODS = ("did", "ancova", "ipw")


def report_table(tables: Any, name: str) -> pd.DataFrame:
    """The report's table ``name``, or an empty frame when the report has none."""
    table = getattr(tables, name, None)
    return table if isinstance(table, pd.DataFrame) else pd.DataFrame()


def latest_wave(tables: Any, outcome: str, waves: Sequence[str] | None = None) -> str | None:
    """The latest wave with descriptives for ``outcome`` (within ``waves`` when given)."""
    return latest_wave_of(tables.descriptives, outcome, waves)


def latest_rows(table: pd.DataFrame, waves: Sequence[str] | None) -> pd.DataFrame:
    """The rows of ``table`` at its latest wave (within ``waves`` when given)."""
    if "wave" not in table.columns or table.empty:
        return table
    order = list(waves) if waves else (list(table.sort_values("wave_index")["wave"].unique())
                                       if "wave_index" in table.columns else sorted(table["wave"].unique()))
    present = [w for w in order if w in set(table["wave"])]
    return table.loc[table["wave"] == present[-1]] if present else table


def as_int(value: Any) -> int | None:
    """``value`` as an int; None when missing."""
    return None if value is None or pd.isna(value) else int(value)


def as_float(value: Any) -> float | None:
    """``value`` as a float; None when missing."""
    return None if value is None or pd.isna(value) else float(value)
