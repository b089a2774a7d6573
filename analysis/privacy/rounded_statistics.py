"""Statistics that agree with rounded counts, so that the interval cannot undo the rounding.

A mean's 95% interval is ``mean ± t(n-1) · sd / √n``: with the exact SD and interval the
exact n comes back, whatever the rounding of the printed n (issue 13). An estimate's
interval and p-value carry its degrees of freedom the same way, and a share is a
fraction whose denominator is n. Released tables therefore carry

* means and SDs to one decimal, their intervals recomputed from those and the *rounded*
  n (no exact n in them);
* estimates to two decimals, their standard error to two significant digits, the
  interval and p-value recomputed from those with degrees of freedom from the rounded
  group sizes (or, for standard errors clustered by site, the estimator's own t quantile,
  which depends on the sites rather than on the number of people);
* shares and rates to two decimals, participation rates recomputed from rounded counts;
  share intervals left out (Wilson's interval is a function of the exact n).

Residual risk: rounded SDs and standard errors narrow a rounded n to a few candidates;
they do not pin it (and the export's minimum cell is 10, with its release record
refusing differences over time).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats.estimates import t_half_width

__all__ = ["DROPPED_COLUMNS", "from_rounded_counts"]

#: Columns a released table leaves out: they are functions of the exact counts.
DROPPED_COLUMNS: dict[str, tuple[str, ...]] = {
    "descriptives": ("share_high_ci_low", "share_high_ci_high"),
}


def _significant(values: pd.Series, digits: int) -> pd.Series:
    x = pd.to_numeric(values, errors="coerce").astype("float64")
    magnitude = np.floor(np.log10(np.abs(x.where(x != 0))))
    scale = 10.0 ** (digits - 1 - magnitude)
    return (np.round(x * scale) / scale).where(x != 0, x)


def _descriptives(out: pd.DataFrame) -> pd.DataFrame:
    n = pd.to_numeric(out["n"], errors="coerce").astype("float64")
    out["mean"] = pd.to_numeric(out["mean"], errors="coerce").round(1)
    out["sd"] = pd.to_numeric(out["sd"], errors="coerce").round(1)
    half = pd.Series(t_half_width(out["sd"], n.to_numpy()), index=out.index)
    out["ci_low"] = (out["mean"] - half).round(1)
    out["ci_high"] = (out["mean"] + half).round(1)
    if "share_high" in out.columns:
        out["share_high"] = pd.to_numeric(out["share_high"], errors="coerce").round(2)
    return out


def _estimates(out: pd.DataFrame) -> pd.DataFrame:
    n1 = pd.to_numeric(out.get("n_participants"), errors="coerce").astype("float64")
    n0 = pd.to_numeric(out.get("n_comparison"), errors="coerce").astype("float64")
    df = (n1.fillna(0) + n0.fillna(0) - 2).where(lambda d: d > 0)
    out["estimate_unrounded"] = pd.to_numeric(out["estimate"], errors="coerce")
    estimate = out["estimate_unrounded"].round(2)
    se = _significant(out["std_error"], 2) if "std_error" in out.columns else None
    out["estimate"] = estimate
    if se is not None:
        q = pd.Series(stats.t.ppf(0.975, df.to_numpy()), index=out.index)
        # Standard errors clustered by site use Satterthwaite df from the few sites; the
        # group sizes' df would shrink their interval below the truth. Their own t quantile
        # (from the unrounded interval) depends on the sites, not on how many people there are.
        by_site = out.get("se_type", pd.Series("", index=out.index)).fillna("").astype(str) \
            .str.contains("site")
        if by_site.any():
            own_q = (pd.to_numeric(out["ci_high"], errors="coerce")
                     - pd.to_numeric(out["estimate_unrounded"], errors="coerce")) \
                / pd.to_numeric(out["std_error"], errors="coerce")
            q = q.where(~by_site | ~np.isfinite(own_q), own_q)
        out["std_error"] = se
        ratio = estimate.astype("float64") / se
        out["ci_low"] = (estimate - q * se).round(2)
        out["ci_high"] = (estimate + q * se).round(2)
        if "p_value" in out.columns:
            p = pd.Series(2 * stats.t.sf(np.abs(ratio.to_numpy()), df.to_numpy()), index=out.index)
            out["p_value"] = _significant(p, 2)
    if "effect_size" in out.columns:
        out["effect_size"] = pd.to_numeric(out["effect_size"], errors="coerce").round(2)
    if "p_adjusted" in out.columns:
        out["p_adjusted"] = _significant(out["p_adjusted"], 2)
    return out.drop(columns="estimate_unrounded")


def _participation(out: pd.DataFrame) -> pd.DataFrame:
    resp = pd.to_numeric(out["n_respondents"], errors="coerce").astype("float64")
    part = pd.to_numeric(out["n_participants"], errors="coerce").astype("float64")
    rate = pd.to_numeric(out["participation_rate"], errors="coerce")
    from_counts = (part / resp.where(resp > 0)).round(2)
    out["participation_rate"] = from_counts.where(from_counts.notna(), rate.round(2))
    for col, digits in (("retention", 2), ("sessions_per_month", 1)):
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").round(digits)
    return out


def _reliability(out: pd.DataFrame) -> pd.DataFrame:
    for col in ("alpha", "ci_low", "ci_high"):
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").round(2)
    return out


def from_rounded_counts(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (counts already rounded) with statistics that agree with those counts.

    Parameters
    ----------
    name : str
        The released table: ``descriptives``, ``estimates``, ``participation``,
        ``reliability`` (others are returned unchanged).
    """
    out = frame.copy()
    rules = {"descriptives": _descriptives, "estimates": _estimates,
             "participation": _participation, "reliability": _reliability}
    if name in rules and not out.empty:
        out = rules[name](out)
    return out.drop(columns=[c for c in DROPPED_COLUMNS.get(name, ()) if c in out.columns])
