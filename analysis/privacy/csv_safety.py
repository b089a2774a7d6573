"""Spreadsheet formula injection: text cells made safe before any CSV or workbook leaves.

Reference: OWASP, "CSV Injection".
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["neutralize_formula", "neutralize_frame"]

_FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formula(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would run as a formula with ``'``.

    Rule
    ----
    Only ``str`` values are touched: one that begins with ``=``, ``+``, ``-``,
    ``@``, tab or carriage return gets a leading apostrophe (OWASP "CSV
    Injection"). Numbers are never touched, so ``-3.2`` the float stays a
    negative number; ``"-3.2"`` the *string* is neutralised, because our
    exports write numbers as numbers and any text cell came from a label a
    user typed (a site name, a wave label).

    Examples
    --------
    >>> neutralize_formula("=HYPERLINK(1)"), neutralize_formula(-3.2)
    ("'=HYPERLINK(1)", -3.2)
    """
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Apply :func:`neutralize_formula` to every text cell and column name.

    Text columns (object, string, category dtype) are mapped cell by cell;
    numeric columns are returned unchanged. Column names are neutralised too,
    since covariate names come from uploads.
    """
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            out[col] = series.cat.rename_categories(
                [neutralize_formula(c) for c in series.cat.categories]
            )
        elif series.dtype == object or pd.api.types.is_string_dtype(series):
            out[col] = series.map(neutralize_formula, na_action="ignore")
    out.columns = [neutralize_formula(c) for c in out.columns]
    return out
