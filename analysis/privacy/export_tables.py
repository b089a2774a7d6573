"""The export's rules per table: which counts, keys and rules each researcher table gets.

:func:`check_table` runs :func:`analysis.privacy.export_checks.export_check` with each
table's counts, keys and kind, adds the table-specific decisions (dominance not
applicable to ratios of variances, balance rows checked on the IPW comparison's group
sizes, estimates without model output, dominance complements in the descriptives),
drops the columns that would give exact counts back and rounds the counts.
:func:`public_reason` strips the exact numbers from a check's reason before
``checks.csv`` ships.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd

from analysis.panel.participation import CONTRIBUTION_COLUMNS
from analysis.privacy.export_checks import DOMINANCE_K, MIN_RESIDUAL_DF, Check, export_check, round_counts
from analysis.privacy.suppression import INSUFFICIENT, NO_DATA, OK

__all__ = ["check_table", "public_reason"]

#: Columns that never leave: they give exact counts back (df = n - 2; sentences may quote
#: group sizes) or are internal.
#: Balance carries its comparison's group sizes only for the min-cell check.
_DROP = {"estimates": ("residual_df", "sentence", "caveat"),
         "descriptives": ("wave_index", *CONTRIBUTION_COLUMNS), "participation": (),
         "balance": ("n_participants", "n_comparison"), "reliability": ()}
_COUNTS = {
    "descriptives": ("n",),
    "estimates": ("n_participants", "n_comparison"),
    "participation": ("n_respondents", "n_participants"),
    "balance": ("n_participants", "n_comparison"),
    "reliability": ("n",),
}
#: How each table is checked: magnitude tables get the dominance rule, regression
#: tables the residual-df rule, and every table the min-cell rule.
_KIND = {"estimates": "regression", "descriptives": "magnitude", "reliability": "frequency",
         "balance": "frequency", "participation": "frequency"}
#: Tables whose statistics are not sums or means of individual values: dominance is
#: recorded as not applicable (a pass with this reason) rather than left for review.
_DOMINANCE_NOT_APPLICABLE = {
    "reliability": "dominance: not applicable (statistic is not a sum or mean of individual values: "
                   "Cronbach's alpha is a ratio of variances)",
    "balance": "dominance: not applicable (statistic is not a sum or mean of individual values: "
               "standardised differences and variance ratios)",
}
_NO_MODEL_OUTPUT = ("no model output shipped (the estimate could not be computed); "
                    "its counts are checked by min_cell")
_KEYS = {
    "descriptives": ("outcome", "wave", "site", "group"),
    "estimates": ("analysis", "outcome", "wave"),
    "participation": ("breakdown", "wave", "site", "role", "session_type"),
    "balance": ("outcome", "wave", "covariate"),
    "reliability": ("scale", "wave"),
}


def check_table(name: str, frame: pd.DataFrame, k_export: int, contributions: pd.DataFrame | None = None
                ) -> tuple[pd.DataFrame, list[Check]]:
    """Run every export rule on one report table (``name`` as in the bundle: "estimates", ...).

    The min-cell rule on its counts, dominance for the descriptives (with the rest of an
    outcome × wave block blanked when a cell fails), residual df for the estimates;
    columns that would give counts back are dropped and counts rounded.

    Returns
    -------
    (DataFrame, list of Check)
        The table as it may ship, and one check per row and rule.
    """
    count_cols = [c for c in _COUNTS[name] if c in frame.columns]
    keys = [c for c in _KEYS[name] if c in frame.columns]
    kind = _KIND[name]
    residual = "residual_df" if name == "estimates" else None
    frame = frame.reset_index(drop=True)
    labels = [*keys, *(c for c in ("effect_size_kind", "adjust_method", "unit") if c in frame.columns)]
    out, checks = export_check(f"{name}.csv", frame, kind, count_cols, k_export,
                                          contributions=contributions, residual_df_col=residual,
                                          key_cols=keys, label_cols=labels)
    if name == "balance":
        checks = _balance_checks(checks, frame)
    if name in _DOMINANCE_NOT_APPLICABLE:
        checks = checks + [Check(c.table, c.row_key, "dominance", "pass", _DOMINANCE_NOT_APPLICABLE[name])
                           for c in checks if c.rule == "min_cell"]
    if name == "estimates":
        checks = _no_model_checks(checks, frame)
    if name == "descriptives":
        out, checks = _complete_dominance(out, checks, frame, labels)
    if name == "estimates":
        failed = out["suppressed"].astype(bool) & ~frame["suppressed"].astype(bool)
        out.loc[out["suppressed"].astype(bool), ["sentence", "caveat"]] = ""
        out.loc[failed, "status"] = INSUFFICIENT
    if "status" in out.columns:
        # estimator reasons can quote exact group sizes: ship the category only
        out["status"] = out["status"].where(
            out["status"].isin([OK, INSUFFICIENT, NO_DATA]),
            "not enough data")
    out = round_counts(out, count_cols)
    out = out.drop(columns=[c for c in _DROP[name] if c in out.columns])
    return out, checks


def _balance_checks(checks: list[Check], frame: pd.DataFrame) -> list[Check]:
    """Balance rows whose comparison's group sizes are unknown need a person to look."""
    unknown = frame[["n_participants", "n_comparison"]].isna().all(axis=1).to_numpy()
    already = (frame["suppressed"].fillna(False).astype(bool).to_numpy() if "suppressed" in frame.columns
               else np.zeros(len(frame), dtype=bool))
    out, row = [], 0
    for check in checks:
        if check.rule == "min_cell":
            if unknown[row] and not already[row]:
                check = replace(check, outcome="review", reason="group sizes of the IPW comparison not found")
            elif check.outcome == "pass" and not already[row]:
                check = replace(check, reason="both groups (and every covariate level shown) have at least "
                                              "the minimum cell count")
            row += 1
        out.append(check)
    return out


def _no_model_checks(checks: list[Check], frame: pd.DataFrame) -> list[Check]:
    """An estimate row without any model number has nothing for the residual-df rule to protect."""
    numbers = [c for c in ("estimate", "ci_low", "ci_high", "p_value", "effect_size") if c in frame.columns]
    empty = frame[numbers].apply(pd.to_numeric, errors="coerce").isna().all(axis=1).to_numpy()
    out, row = [], 0
    for check in checks:
        if check.rule == "residual_df":
            if check.outcome == "review" and empty[row]:
                check = replace(check, outcome="pass", reason=_NO_MODEL_OUTPUT)
            row += 1
        out.append(check)
    return out


def _complete_dominance(out: pd.DataFrame, checks: list[Check], frame: pd.DataFrame,
                        labels: list[str]) -> tuple[pd.DataFrame, list[Check]]:
    """Blank the rest of an outcome × wave block in which a cell failed dominance.

    The descriptives hold the site × group table with both margins, and a mean's n is
    implied by its SD and CI: one blanked cell would come back as margin minus the
    visible cells. Blanking the whole block of that outcome and wave leaves nothing to
    subtract (conservative; dominance failures at n >= 10 are rare).
    """
    failed = np.array([c.outcome == "fail" for c in checks if c.rule == "dominance"], dtype=bool)
    if not failed.any():
        return out, checks
    block = frame["outcome"].astype(str) + "\x1f" + frame["wave"].astype(str)
    in_block = block.isin(set(block[failed])).to_numpy()
    extra = in_block & ~out["suppressed"].fillna(False).astype(bool).to_numpy()
    if not extra.any():
        return out, checks
    mask = pd.Series(extra, index=out.index)
    for col in out.columns:
        if col not in labels and col not in ("suppressed", "status"):
            out[col] = out[col].mask(mask)
    out["suppressed"] = out["suppressed"].astype(bool) | extra
    out.loc[mask, "status"] = INSUFFICIENT
    keys = [c.row_key for c in checks if c.rule == "min_cell"]
    table = checks[0].table
    added = [Check(table, keys[i], "dominance_complement", "fail",
                              "blanked with a cell of the same outcome and wave that failed dominance "
                              "(it could otherwise be recovered by subtraction from the margins)")
             for i in np.flatnonzero(extra)]
    return out, checks + added


_REASON_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(\w+)=\d+ below (\d+)"), r"\1 below \2"),
    (re.compile(r"^residual df \S+ below (\d+)$"), r"residual df below \1"),
    (re.compile(r"^residual df \S+$"), f"residual df at least {MIN_RESIDUAL_DF}"),
    (re.compile(r"^largest (\d+) contributions are \d+% of the cell total \(limit (\d+%)\)$"),
     r"largest \1 contributions exceed \2 of the cell total"),
    (re.compile(r"^largest (\d+) contributions are \d+% of the cell total$"),
     rf"largest \1 contributions at most {DOMINANCE_K:.0%} of the cell total"),
)


def public_reason(reason: str) -> str:
    """A check's reason without the exact numbers behind it.

    checks.csv ships in the bundle: a blanked cell's exact count, a residual df (n - p)
    or a dominance share would give back what the check protects.
    """
    for pattern, replacement in _REASON_PATTERNS:
        reason = pattern.sub(replacement, reason)
    return reason
