"""Weighted difference-in-differences on participants: IPW (Abadie 2005) and doubly robust
(Sant'Anna & Zhao 2020), with standard errors that account for the estimated propensity.

Both compare the change from baseline to a follow-up wave of participants with that of
the comparison group re-weighted by the *odds* of joining, ``e(X)/(1 - e(X))`` (ATT
weights: the comparison is made to look like the participants, not like everyone).
The doubly robust version also subtracts an outcome regression of the change on the
covariates fitted in the comparison group; it is right if either model is.

:func:`drdid_panel` is the estimator on arrays, step for step as R ``DRDID::drdid_panel``
and ``DRDID::std_ipw_did_panel`` (logistic propensity; comparison people with
``e ≥ trim`` get no weight). :func:`weighted_did` builds the data from the panel:

* people left out by :mod:`analysis.stats.group_time` (started by their baseline) are
  not used; the rest seen at baseline and the wave are compared, participants at the
  wave against everyone not taking part at it;
* covariates are taken at baseline; a level of a covariate with no participants
  (a site that does not offer the program) cannot be compared, so its comparison
  people are dropped, and a level with no comparison people drops its participants;
  both are counted and said (``extra["dropped_note"]``), never a refusal;
* the result is marked ``not credible`` (status, estimate kept) when a covariate's
  |SMD| after weighting exceeds 0.1 or the comparison group's effective size
  (Kish) falls under ``max(10, n/20)``.

References
----------
Abadie A (2005). Rev Econ Stud 72:1-19.
Sant'Anna PHC, Zhao J (2020). J Econometrics 219:101-122.
Austin PC, Stuart EA (2015). Stat Med 34:3661-3679 (balance: |SMD| < 0.1).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import PerfectSeparationError

from analysis.panel.index import PanelIndex, is_numeric
from analysis.stats.clustering import influence_variance
from analysis.stats.effect_sizes import standardize
from analysis.stats.estimates import Estimate, not_enough, t_inference
from analysis.stats.group_time import outcome_matrix, program_timing
from analysis.stats.weighting import Balance

__all__ = ["DrDidFit", "drdid_panel", "prepare", "weighted_balance", "weighted_did"]

SMD_LIMIT = 0.1


@dataclass(frozen=True, eq=False)
class DrDidFit:
    """ATT, its influence function (``att - θ ≈ Σ_i influence_i``) and the weights used."""

    att: float
    influence: np.ndarray
    weights: np.ndarray  # 1 for participants, trimmed odds for the comparison group
    propensity: np.ndarray


def _logit(d: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.Logit(d, x).fit(disp=0, method="newton", maxiter=100)
        except (np.linalg.LinAlgError, ValueError, PerfectSeparationError):
            return None
    if not fit.mle_retvals.get("converged", False):
        return None
    return np.asarray(fit.predict(x), dtype="float64")


def drdid_panel(
    delta_y: np.ndarray, treated: np.ndarray, x: np.ndarray, method: str = "dr", trim: float = 0.995
) -> DrDidFit | None:
    """Doubly robust (``"dr"``) or normalized IPW (``"ipw"``) DiD on panel data.

    Parameters
    ----------
    delta_y : change from the base wave, per person.
    treated : 1 for participants, 0 for the comparison group.
    x : covariates with an intercept column first (n × p).
    trim : comparison people with propensity ``≥ trim`` get weight 0.

    Returns None when the propensity model cannot be fitted (separation).

    Formula (``dr``): ``w1 = D``, ``w0 = e(1-D)/(1-e)``, ``m(X)`` the OLS of ΔY on X in
    the comparison group; ``ATT = Σw1(ΔY-m)/Σw1 - Σw0(ΔY-m)/Σw0``. ``ipw`` drops ``m``.
    The influence function adds the estimation effect of the logit (and of the OLS),
    as in Sant'Anna & Zhao (2020), so the SE accounts for the estimated propensity.
    """
    d = np.asarray(treated, dtype="float64")
    dy = np.asarray(delta_y, dtype="float64")
    n = d.size
    ps = _logit(d, x)
    if ps is None:
        return None
    ps = np.minimum(ps, 1 - 1e-6)
    keep = np.where(d == 1, 1.0, (ps < trim).astype("float64"))
    w1 = keep * d
    w0 = keep * ps * (1 - d) / (1 - ps)
    score_ps = (d - ps)[:, None] * x
    hessian_inv = np.linalg.inv((x * (ps * (1 - ps))[:, None]).T @ x / n)
    lin_ps = score_ps @ hessian_inv
    if method == "dr":
        control = d == 0
        coef, *_ = np.linalg.lstsq(x[control], dy[control], rcond=None)
        fitted = x @ coef
    else:
        fitted = np.zeros(n)
    resid = dy - fitted
    eta1 = np.mean(w1 * resid) / np.mean(w1)
    eta0 = np.mean(w0 * resid) / np.mean(w0)
    inf_treat = w1 * resid - w1 * eta1
    inf_cont = w0 * resid - w0 * eta0 + lin_ps @ np.mean((w0 * (resid - eta0))[:, None] * x, axis=0)
    if method == "dr":
        weights_ols = 1.0 - d
        xpx_inv = np.linalg.inv((weights_ols[:, None] * x).T @ x / n)
        lin_ols = (weights_ols * resid)[:, None] * x @ xpx_inv
        inf_treat = inf_treat - lin_ols @ np.mean(w1[:, None] * x, axis=0)
        inf_cont = inf_cont - lin_ols @ np.mean(w0[:, None] * x, axis=0)
    psi = inf_treat / np.mean(w1) - inf_cont / np.mean(w0)
    return DrDidFit(
        att=float(eta1 - eta0), influence=psi / n, weights=np.where(d == 1, w1, w0), propensity=ps
    )


def _overlap_levels(
    frame: pd.DataFrame, treated: np.ndarray, covariates: Sequence[str]
) -> tuple[np.ndarray, int, int, list[str]]:
    """Rows kept after dropping levels without participants or without comparison people."""
    keep = np.ones(len(frame), bool)
    notes: list[str] = []
    for _ in range(3):  # dropping by one covariate can empty a level of another
        changed = False
        for name in covariates:
            if is_numeric(frame[name]):
                continue
            labels = frame[name].to_numpy()
            kept = pd.DataFrame({"level": labels[keep], "t": treated[keep]})
            counts = kept.groupby("level")["t"].agg(["sum", "size"])
            no_part = set(counts.index[counts["sum"] == 0])
            no_comp = set(counts.index[counts["sum"] == counts["size"]])
            drop = keep & np.isin(labels, list(no_part | no_comp))
            if drop.any():
                keep &= ~drop
                changed = True
                if no_part:
                    notes.append(f"{name}: {len(no_part)} level(s) without participants")
                if no_comp:
                    notes.append(f"{name}: {len(no_comp)} level(s) without comparison people")
        if not changed:
            break
    dropped_comp = int((~keep & (treated == 0)).sum())
    dropped_part = int((~keep & (treated == 1)).sum())
    return keep, dropped_part, dropped_comp, notes


def _design(frame: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    blocks = [pd.Series(1.0, index=frame.index, name="const")]
    for name in covariates:
        column = frame[name]
        if is_numeric(column):
            if column.nunique() > 1:
                blocks.append(column.astype("float64").rename(name))
        else:
            dummies = pd.get_dummies(
                column.astype("string"), prefix=name, prefix_sep="=", drop_first=True, dtype="float64"
            )
            blocks.append(dummies)
    return pd.concat(blocks, axis=1)


def _balance(x: np.ndarray, d: np.ndarray, w: np.ndarray) -> float:
    """Largest |SMD| over the covariate columns after weighting (unweighted SD denominator)."""
    worst = 0.0
    for j in range(1, x.shape[1]):
        a, b = x[d == 1, j], x[d == 0, j]
        spread = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
        if spread > 0:
            gap = a.mean() - np.average(b, weights=w[d == 0])
            worst = max(worst, abs(gap) / spread)
    return float(worst)


def _credibility(x: np.ndarray, d: np.ndarray, fit: DrDidFit, trim: float) -> tuple[list[str], dict]:
    """Why the weighted comparison is not credible (empty when it is), and its diagnostics."""
    control_w = fit.weights[d == 0]
    n0 = int((d == 0).sum())
    ess = float(control_w.sum() ** 2 / np.square(control_w).sum()) if control_w.sum() > 0 else 0.0
    smd = _balance(x, d, fit.weights)
    problems = []
    if smd > SMD_LIMIT:
        problems.append(f"balance after weighting is poor (largest |SMD| {smd:.2f} > {SMD_LIMIT})")
    if ess < max(10.0, n0 / 20.0):
        problems.append(f"the weighted comparison group is effectively {ess:.0f} people")
    return problems, {
        "comparison_trimmed": int(((fit.propensity >= trim) & (d == 0)).sum()),
        "max_smd_after": smd,
        "ess_comparison": ess,
        "credible": not problems,
        "weights": "odds of joining for the comparison group (effect on participants)",
    }


def _sample(
    panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str], index: PanelIndex | None
) -> tuple[pd.DataFrame, int] | None:
    timing = program_timing(panel, index)
    if str(wave) not in timing.waves:
        return None
    w = timing.waves.index(str(wave))
    y = outcome_matrix(panel, outcome, timing)
    use = ~timing.left_out & ~np.isnan(y[:, 0]) & ~np.isnan(y[:, w])
    base_rows = timing.rows[use, 0]
    frame = pd.DataFrame(
        {
            "change": y[use, w] - y[use, 0],
            "baseline": y[use, 0],
            "group": timing.participant[use, w].astype("int64"),
            "cluster": timing.site[use]
            if timing.clusters.unit == "site" and timing.site is not None
            else timing.people[use],
        }
    )
    for name in covariates:
        if name in panel.columns:
            column = panel[name].to_numpy()[base_rows]
            frame[name] = (
                column
                if is_numeric(panel[name])
                else pd.Series(column).astype("string").fillna("missing").to_numpy()
            )
    return frame, int(np.sum(timing.left_out & ~np.isnan(y[:, w])))


def prepare(
    panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str], index: PanelIndex | None
) -> tuple[pd.DataFrame, pd.DataFrame, dict] | None:
    """The people compared at ``wave`` after dropping levels without overlap, their design, notes.

    None when ``wave`` is not in the data. The frame has ``change, baseline, group,
    cluster`` and the covariates; the design has a constant and dummies (first level
    dropped); the dict holds ``left_out``, the dropped counts and ``dropped_note``.
    """
    built = _sample(panel, outcome, wave, covariates, index)
    if built is None:
        return None
    frame, left_out = built
    used = [c for c in covariates if c in frame.columns]
    keep, dropped_part, dropped_comp, notes = _overlap_levels(frame, frame["group"].to_numpy(), used)
    frame = frame.loc[keep].reset_index(drop=True)
    info = {
        "left_out": left_out,
        "participants_dropped": dropped_part,
        "comparison_dropped": dropped_comp,
        "dropped_note": "; ".join(dict.fromkeys(notes)) or None,
        "covariates_used": tuple(used),
    }
    return frame, _design(frame, used), info


def weighted_did(
    panel: pd.DataFrame,
    outcome: str,
    wave: str,
    covariates: Sequence[str] = ("site", "role"),
    method: str = "ipw",
    confidence: float = 0.95,
    trim: float = 0.99,
    *,
    index: PanelIndex | None = None,
) -> Estimate:
    """The ``ipw`` (``method="ipw"``) or ``dr_did`` (``"dr"``) row at ``wave`` (module docstring).

    ``extra``: ``se_type``, ``dropped_note``, ``participants_dropped``,
    ``comparison_dropped``, ``comparison_trimmed`` (propensity ≥ ``trim``),
    ``max_smd_after``, ``ess_comparison``, ``left_out`` and ``credible``.
    """
    labels = {"analysis": "ipw" if method == "ipw" else "dr_did", "outcome": outcome, "wave": str(wave)}
    prepared = prepare(panel, outcome, wave, covariates, index)
    if prepared is None:
        return not_enough("wave not in the data", **labels)
    frame, design, info = prepared
    d = frame["group"].to_numpy(dtype="float64")
    n1, n0 = int(d.sum()), int(d.size - d.sum())
    x = design.to_numpy(dtype="float64")
    fit = None
    if n1 < 2 or n0 < 2 or len(frame) <= design.shape[1] + 1:
        reason = "too few participants or comparison people left to weight"
    elif np.linalg.matrix_rank(x) < x.shape[1]:
        reason = "covariates are collinear among the people compared"
    else:
        fit = drdid_panel(frame["change"].to_numpy(), d, x, method=method, trim=trim)
        reason = "propensity model did not converge (groups separate on the covariates)"
    if fit is None:
        return not_enough(reason, n_participants=n1, n_comparison=n0, extra=info, **labels)
    variance, df = influence_variance(fit.influence, frame["cluster"].to_numpy())
    estimate, low, high, p_value, se = t_inference(fit.att, np.sqrt(variance), df, confidence)
    problems, diagnostics = _credibility(x, d, fit, trim)
    sd = np.sqrt((frame.loc[d == 1, "baseline"].var() + frame.loc[d == 0, "baseline"].var()) / 2)
    unit = "site" if program_timing(panel, index).clusters.unit == "site" else "person"
    info.update(diagnostics)
    info.update({"se": se, "se_type": f"influence function (propensity estimated), clustered by {unit}"})
    status = "ok" if not problems else "not credible: " + "; ".join(problems)
    return Estimate(
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        n_participants=n1,
        n_comparison=n0,
        effect_size=standardize(estimate, float(sd)),
        effect_size_kind="d_baseline_sd",
        status=status,
        residual_df=df,
        extra=info,
        **labels,
    )


def weighted_balance(
    panel: pd.DataFrame,
    outcome: str,
    wave: str,
    covariates: Sequence[str] = ("site", "role"),
    trim: float = 0.99,
    threshold: float = SMD_LIMIT,
    *,
    index: PanelIndex | None = None,
) -> Balance:
    """Balance before and after the ``ipw`` row's ATT weights, as :class:`analysis.stats.weighting.Balance`.

    Rows: the baseline score and each covariate column of the propensity model;
    ``smd = (mean participants - mean comparison) / √((s1² + s0²)/2)`` with the comparison
    mean weighted by the odds after weighting and unweighted SDs both times;
    ``variance_ratio`` participants over comparison; ``flag`` when ``|smd_after| > 0.1``.
    """
    prepared = prepare(panel, outcome, wave, covariates, index)
    columns = [
        "covariate",
        "smd_before",
        "smd_after",
        "variance_ratio_before",
        "variance_ratio_after",
        "flag",
    ]
    if prepared is None:
        return Balance(
            pd.DataFrame(columns=columns), None, None, 0, 0, "not enough data: wave not in the data"
        )
    frame, design, _ = prepared
    d = frame["group"].to_numpy(dtype="float64")
    n1, n0 = int(d.sum()), int(d.size - d.sum())
    fit = None
    if n1 >= 2 and n0 >= 2 and np.linalg.matrix_rank(design.to_numpy()) == design.shape[1]:
        fit = drdid_panel(frame["change"].to_numpy(), d, design.to_numpy(dtype="float64"), "ipw", trim)
    weights = fit.weights if fit is not None else np.ones_like(d)
    matrix = pd.concat([frame["baseline"].rename(f"baseline {outcome}"), design.iloc[:, 1:]], axis=1)
    rows = []
    for name in matrix.columns:
        x = matrix[name].to_numpy(dtype="float64")
        a, b = x[d == 1], x[d == 0]
        spread = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2) if a.size > 1 and b.size > 1 else np.nan
        after = np.average(b, weights=weights[d == 0]) if b.size and fit is not None else np.nan
        v_after = np.average((b - after) ** 2, weights=weights[d == 0]) if fit is not None else np.nan
        rows.append(
            {
                "covariate": name,
                "smd_before": (a.mean() - b.mean()) / spread if spread else np.nan,
                "smd_after": (a.mean() - after) / spread if spread else np.nan,
                "variance_ratio_before": a.var(ddof=1) / b.var(ddof=1) if b.var(ddof=1) > 0 else np.nan,
                "variance_ratio_after": a.var(ddof=0) / v_after if v_after > 0 else np.nan,
            }
        )
    table = pd.DataFrame(rows).reindex(columns=columns)
    judged = table["smd_after"] if fit is not None else table["smd_before"]
    table["flag"] = judged.abs() > threshold
    control_w = weights[d == 0]
    ess = float(control_w.sum() ** 2 / np.square(control_w).sum()) if fit is not None else None
    status = "ok" if fit is not None else "not enough data: weights not estimable"
    return Balance(table, float(n1) if fit is not None else None, ess, n1, n0, status)
