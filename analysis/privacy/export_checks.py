"""Export output checks (ACRO / OpenSAFELY style): what may leave the machine.

Researcher downloads pass stricter rules than the screen: minimum cell count 10,
dominance (N-K rule), residual degrees of freedom for regressions, counts rounded to a
multiple of 5, every cell checked and logged in ``checks.csv``; cells that fail are
blanked, never shipped.

References
----------
* ACRO (Automatic Checking of Research Outputs, SACRO project) and the OpenSAFELY
  output-checking rules: threshold 10, N-K dominance, residual degrees of freedom
  >= 10, rounding of counts.

Order of the export pipeline (each step needs the one before)::

    suppress_two_way / suppress_breakdown / guard_estimates  with k = 10
    -> export_check   (on *unrounded* counts)
    -> round_counts
    -> neutralize_frame -> to_csv
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from analysis.privacy.suppression import INSUFFICIENT, OK, validate_min_group_size

__all__ = [
    "DOMINANCE_K",
    "DOMINANCE_N",
    "EXPORT_MIN_CELL",
    "EXPORT_ROUNDING_BASE",
    "MIN_RESIDUAL_DF",
    "Check",
    "checks_frame",
    "export_check",
    "round_counts",
]

EXPORT_MIN_CELL: int = 10
"""Smallest count that may leave the machine in an export (ACRO threshold)."""

EXPORT_ROUNDING_BASE: int = 5
"""Exported counts are rounded to a multiple of this."""

MIN_RESIDUAL_DF: int = 10
"""Smallest residual degrees of freedom for an exported regression row."""

DOMINANCE_N: int = 2
"""N of the N-K dominance rule: the largest N contributors of a cell ..."""

DOMINANCE_K: float = 0.5
"""K of the N-K rule: ... must not make up more than this share of its total."""

CheckOutcome = Literal["pass", "fail", "review"]
TableKind = Literal["frequency", "magnitude", "regression"]


@dataclass(frozen=True)
class Check:
    """One output check on one row of one exported table (a line of checks.csv)."""

    table: str
    row_key: str
    rule: str
    outcome: CheckOutcome
    reason: str


def round_counts(
    frame: pd.DataFrame, cols: Sequence[str], base: int = EXPORT_ROUNDING_BASE
) -> pd.DataFrame:
    """Round counts to the nearest multiple of ``base`` for export.

    Rule
    ----
    ``round_half_up(x / base) * base``: 0 stays 0, 3..7 become 5, 8..12
    become 10, 12.5 never occurs for integers with base 5. One exception: a
    positive count that would round to 0 (1 or 2 with base 5) becomes
    ``base``, so a 0 in an export always means truly nobody. NA stays NA.
    Exports are checked for minimum cell size (10) *before* rounding, so in
    practice no count under 10 ships and the exception never fires.

    Why
    ---
    Rounding stops differencing attacks between overlapping exported tables
    (ACRO / OpenSAFELY round counts to 5).

    Returns
    -------
    DataFrame
        A copy with ``cols`` as nullable Int64.

    Examples
    --------
    >>> round_counts(pd.DataFrame({"n": [0, 2, 12, 13]}), ["n"])["n"].tolist()
    [0, 5, 10, 15]
    """
    if base < 1:
        raise ValueError("rounding base must be at least 1")
    out = frame.copy()
    for col in cols:
        values = pd.to_numeric(out[col], errors="coerce").astype("float64")
        rounded = np.floor(values / base + 0.5) * base
        rounded = rounded.where(~((values > 0) & (rounded == 0)), float(base))
        out[col] = rounded.round().astype("Int64")
    return out


def _row_keys(frame: pd.DataFrame, key_cols: Sequence[str] | None) -> list[str]:
    if key_cols is None:
        key_cols = [
            c
            for c in frame.columns
            if (pd.api.types.is_string_dtype(frame[c]) or frame[c].dtype == object)
            and c not in ("status",)
        ]
        if "wave" in frame.columns and "wave" not in key_cols:
            key_cols = [*key_cols, "wave"]
    if not key_cols:
        return [str(i) for i in frame.index]
    parts = frame[list(key_cols)].astype(str)
    return ["|".join(f"{c}={v}" for c, v in zip(key_cols, row)) for row in parts.itertuples(index=False)]


def export_check(
    table_name: str,
    frame: pd.DataFrame,
    kind: TableKind,
    count_cols: Sequence[str],
    k_export: int = EXPORT_MIN_CELL,
    dominance_value_col: str | None = None,
    contributions: pd.DataFrame | None = None,
    residual_df_col: str | None = None,
    *,
    key_cols: Sequence[str] | None = None,
    label_cols: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, list[Check]]:
    """Check an export table row by row; blank what fails; log every check.

    Runs on *unrounded* counts, after suppression at the export threshold and before
    :func:`round_counts` (see the module docstring for the pipeline).

    Rules (one :class:`Check` per row per rule)
    -------------------------------------------
    ``min_cell``
        every count in ``count_cols`` is 0, NA or >= ``k_export``; a count in
        1..k_export-1 fails. Rows already suppressed pass (nothing ships).
    ``dominance`` (``kind="magnitude"`` only: sums, means, sds)
        N-K rule with N=2, K=50%: the two largest contributions to the cell
        must not exceed half of the cell's total. ``contributions`` is a
        frame aligned on ``frame.index`` with columns ``largest`` and
        ``second_largest`` (absolute values) and optionally ``total``; else
        the total is ``|frame[dominance_value_col]|``. Without contributions
        the outcome is ``review`` (a person must look before release).
    ``residual_df`` (``kind="regression"`` only)
        ``frame[residual_df_col] >= MIN_RESIDUAL_DF`` (10); below fails, a
        missing column or NA is ``review``.

    A row with any ``fail`` is blanked like a suppressed row (every
    non-label column NA, ``suppressed`` True, ``status`` ``"insufficient"``);
    ``review`` rows ship but are listed for a person to sign off.

    Parameters
    ----------
    table_name : str
        Name written in checks.csv (e.g. ``"descriptives.csv"``).
    frame : DataFrame
        The table to export; ``kind`` is "frequency", "magnitude" or "regression".
    k_export : int
        Minimum exported cell (default 10, never below 3).
    key_cols : sequence of str, optional
        Columns that name a row in checks.csv; default: the text columns.
    label_cols : sequence of str, optional
        Columns kept on a blanked row; default: ``key_cols``.

    Returns
    -------
    (DataFrame, list of Check)
    """
    k_export = validate_min_group_size(k_export)
    if kind not in ("frequency", "magnitude", "regression"):
        raise ValueError(f"unknown table kind {kind!r}")
    out = frame.copy()
    row_keys = _row_keys(out, key_cols)
    already = (
        out["suppressed"].fillna(False).astype(bool).to_numpy()
        if "suppressed" in out.columns
        else np.zeros(len(out), dtype=bool)
    )
    failed = np.zeros(len(out), dtype=bool)
    checks = _min_cell_checks(table_name, out, count_cols, row_keys, already, k_export, failed)
    if kind == "magnitude":
        dominance = _dominance_checks(table_name, out, row_keys, dominance_value_col, contributions)
        for i, check in enumerate(dominance):
            if already[i]:
                check = Check(table_name, row_keys[i], "dominance", "pass", "suppressed before export")
            failed[i] |= check.outcome == "fail"
            checks.append(check)
    if kind == "regression":
        checks += _residual_df_checks(table_name, out, residual_df_col, row_keys, already, failed)
    labels = set(label_cols if label_cols is not None
                 else (key_cols if key_cols is not None else _default_labels(out)))
    return _blank_failed(out, failed, already, labels), checks


def _min_cell_checks(table_name: str, frame: pd.DataFrame, count_cols: Sequence[str],
                     row_keys: Sequence[str], already: np.ndarray, k_export: int,
                     failed: np.ndarray) -> list[Check]:
    """The min-cell rule per row; marks ``failed`` in place."""
    checks: list[Check] = []
    counts = frame[list(count_cols)].apply(pd.to_numeric, errors="coerce")
    for i, key in enumerate(row_keys):
        if already[i]:
            checks.append(Check(table_name, key, "min_cell", "pass", "suppressed before export"))
            continue
        row = counts.iloc[i]
        small = [c for c in count_cols if pd.notna(row[c]) and 0 < row[c] < k_export]
        if small:
            failed[i] = True
            checks.append(Check(
                table_name, key, "min_cell", "fail",
                f"{', '.join(f'{c}={int(row[c])}' for c in small)} below {k_export}",
            ))
        else:
            checks.append(Check(table_name, key, "min_cell", "pass", f"all counts 0 or >= {k_export}"))
    return checks


def _residual_df_checks(table_name: str, frame: pd.DataFrame, residual_df_col: str | None,
                        row_keys: Sequence[str], already: np.ndarray, failed: np.ndarray) -> list[Check]:
    """The residual-df rule per row of a regression table; marks ``failed`` in place."""
    checks: list[Check] = []
    for i, key in enumerate(row_keys):
        if already[i]:
            checks.append(Check(table_name, key, "residual_df", "pass", "suppressed before export"))
            continue
        df_value = (
            pd.to_numeric(pd.Series([frame[residual_df_col].iloc[i]]), errors="coerce").iloc[0]
            if residual_df_col is not None and residual_df_col in frame.columns
            else np.nan
        )
        if pd.isna(df_value):
            checks.append(Check(table_name, key, "residual_df", "review",
                                "residual degrees of freedom not reported"))
        elif df_value < MIN_RESIDUAL_DF:
            failed[i] = True
            checks.append(Check(table_name, key, "residual_df", "fail",
                                f"residual df {df_value:g} below {MIN_RESIDUAL_DF}"))
        else:
            checks.append(Check(table_name, key, "residual_df", "pass", f"residual df {df_value:g}"))
    return checks


def _blank_failed(out: pd.DataFrame, failed: np.ndarray, already: np.ndarray, labels: set[str]
                  ) -> pd.DataFrame:
    """Blank every non-label column of a failed row and mark it suppressed."""
    blank = pd.Series(failed, index=out.index)
    for col in out.columns:
        if col in labels or col in ("suppressed", "status"):
            continue
        out[col] = out[col].mask(blank)
    out["suppressed"] = already | failed
    status = (out["status"].to_numpy(dtype=object) if "status" in out.columns
              else np.full(len(out), OK, dtype=object))
    out["status"] = np.where(failed, INSUFFICIENT, status)
    return out


def _default_labels(frame: pd.DataFrame) -> list[str]:
    return [
        c for c in frame.columns
        if (pd.api.types.is_string_dtype(frame[c]) or frame[c].dtype == object) or c == "wave"
    ]


def _dominance_checks(
    table_name: str,
    frame: pd.DataFrame,
    row_keys: Sequence[str],
    dominance_value_col: str | None,
    contributions: pd.DataFrame | None,
) -> list[Check]:
    """N-K dominance (N=2, K=0.5) per row; ``review`` when it cannot be run."""
    if contributions is None:
        return [
            Check(table_name, key, "dominance", "review", "no per-cell contributions to check dominance")
            for key in row_keys
        ]
    contributions = contributions.reindex(frame.index)
    top = (
        contributions["largest"].abs().fillna(0)
        + contributions.get("second_largest", pd.Series(0.0, index=frame.index)).abs().fillna(0)
    )
    if "total" in contributions.columns:
        total = pd.to_numeric(contributions["total"], errors="coerce").abs()
    elif dominance_value_col is not None:
        total = pd.to_numeric(frame[dominance_value_col], errors="coerce").abs()
    else:
        total = pd.Series(np.nan, index=frame.index)
    checks = []
    for key, t, s, has in zip(row_keys, total, top, contributions["largest"].notna()):
        if not has or pd.isna(t):
            checks.append(Check(table_name, key, "dominance", "review", "contribution or total missing"))
        elif t == 0:
            checks.append(Check(table_name, key, "dominance", "pass", "cell total is 0"))
        elif s > DOMINANCE_K * t:
            checks.append(Check(
                table_name, key, "dominance", "fail",
                f"largest {DOMINANCE_N} contributions are {s / t:.0%} of the cell total "
                f"(limit {DOMINANCE_K:.0%})",
            ))
        else:
            checks.append(Check(
                table_name, key, "dominance", "pass",
                f"largest {DOMINANCE_N} contributions are {s / t:.0%} of the cell total",
            ))
    return checks


def checks_frame(checks: Sequence[Check]) -> pd.DataFrame:
    """Checks as a tidy frame for ``checks.csv``: table, row_key, rule, outcome, reason."""
    columns = ["table", "row_key", "rule", "outcome", "reason"]
    return pd.DataFrame(
        [(c.table, c.row_key, c.rule, c.outcome, c.reason) for c in checks], columns=columns
    )

