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

Cost: the covariates are categories (site, role), so the n × p design (a constant and
dummies) has few distinct rows, at most sites × roles. Every product with the design —
the logit's Newton steps, its Hessian, the outcome regression, the rank check, the
balance — is done on those rows (:class:`Patterns`) with per-row sums grouped by
pattern: the same numbers as on the n × p design (to rounding), at a cost that grows
with n only through sums, never with n × p. Numeric covariates still work (then most
people are a pattern of their own).

References
----------
Abadie A (2005). Rev Econ Stud 72:1-19.
Sant'Anna PHC, Zhao J (2020). J Econometrics 219:101-122.
Austin PC, Stuart EA (2015). Stat Med 34:3661-3679 (balance: |SMD| < 0.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.panel.index import PanelIndex
from analysis.stats.clustering import influence_variance
from analysis.stats.dr_sample import Patterns, PreparedSample, prepare, prepared_sample
from analysis.stats.effect_sizes import standardize
from analysis.stats.estimates import Estimate, not_enough, t_inference
from analysis.stats.group_time import program_timing
from analysis.stats.weighting import Balance

__all__ = [
    "DrDidFit",
    "Patterns",
    "drdid_panel",
    "drdid_patterns",
    "prepare",
    "pattern_propensity",
    "weighted_balance",
    "weighted_did",
]

SMD_LIMIT = 0.1


@dataclass(frozen=True, eq=False)
class DrDidFit:
    """ATT, its influence function (``att - θ ≈ Σ_i influence_i``) and the weights used."""

    att: float
    influence: np.ndarray
    weights: np.ndarray  # 1 for participants, trimmed odds for the comparison group
    propensity: np.ndarray


def _gram(patterns: Patterns, weights: np.ndarray) -> np.ndarray:
    """``rowsᵀ diag(weights) rows`` (p × p), with the rows as a sparse matrix: dummy rows
    hold a few ones each, so this costs the number of nonzeros, not P × p²."""
    sparse = patterns.sparse
    return (sparse.T @ sparse.multiply(weights[:, None]).tocsr()).toarray()


def _logit(d: np.ndarray, patterns: Patterns) -> np.ndarray | None:
    """Logistic propensity per pattern, or None when the fit does not converge.

    The Newton iterations of statsmodels ``Logit.fit(method="newton", maxiter=100)``
    (start at 0, ridge 1e-10 on the Hessian / n, stop when no step exceeds 1e-8), on
    the patterns: the score and Hessian are the row sums grouped by pattern.
    """
    x, n = patterns.rows, d.size
    size, joined = patterns.counts(), patterns.counts(d)
    params, previous, iterations = np.zeros(x.shape[1]), np.full(x.shape[1], np.inf), 0
    with np.errstate(all="ignore"):
        try:
            while iterations < 100 and np.any(np.abs(params - previous) > 1e-8):
                prob = 1 / (1 + np.exp(-(x @ params)))
                hessian = _gram(patterns, size * prob * (1 - prob)) / n
                hessian[np.diag_indices_from(hessian)] += 1e-10
                previous = params
                params = previous + np.linalg.solve(hessian, x.T @ (joined - size * prob) / n)
                iterations += 1
        except np.linalg.LinAlgError:
            return None
        if iterations == 100:
            return None
        return 1 / (1 + np.exp(-(x @ params)))


def pattern_propensity(treated: np.ndarray, patterns: Patterns) -> np.ndarray | None:
    """The logistic propensity per pattern that :func:`drdid_patterns` fits, or None when
    the fit does not converge (the ipw and dr_did rows of a wave share one fit)."""
    return _logit(np.asarray(treated, dtype="float64"), patterns)


def _outcome_regression(dy: np.ndarray, control: np.ndarray, patterns: Patterns) -> np.ndarray:
    """Coefficients of ``np.linalg.lstsq(x[control], dy[control])`` (minimum norm) from patterns.

    Σ(ΔY - xb)² over the comparison group is Σ_P count_P (mean ΔY_P - x_P b)² plus a
    constant, so the weighted fit on pattern means has the same minimizers and singular
    values; the cut-off for small singular values is numpy's default for the row fit.
    """
    inside = Patterns(patterns.code[control], patterns.rows)
    size, sums = inside.counts(), inside.counts(dy[control])
    seen = size > 0
    root = np.sqrt(size[seen])
    cutoff = np.finfo("float64").eps * max(int(control.sum()), patterns.rows.shape[1])
    coef, *_ = np.linalg.lstsq(
        patterns.rows[seen] * root[:, None], sums[seen] / size[seen] * root, rcond=cutoff
    )
    return coef


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
    return drdid_patterns(delta_y, treated, Patterns.of(x), method, trim)


def drdid_patterns(
    delta_y: np.ndarray,
    treated: np.ndarray,
    patterns: Patterns,
    method: str = "dr",
    trim: float = 0.995,
    propensity: np.ndarray | None = None,
) -> DrDidFit | None:
    """:func:`drdid_panel` with the design given by its :class:`Patterns` (same results).

    The n × p products of the row formulas are regrouped: ``(score_ps H⁻¹) v`` is
    ``(D - e) · x(H⁻¹ v)`` and every mean of ``w x`` is a per-pattern sum times the rows.
    ``propensity``: the per-pattern logistic fit of ``treated`` when already made
    (:func:`pattern_propensity`); by default it is fitted here.
    """
    d = np.asarray(treated, dtype="float64")
    dy = np.asarray(delta_y, dtype="float64")
    n, code, x = d.size, patterns.code, patterns.rows
    prob = _logit(d, patterns) if propensity is None else propensity
    if prob is None:
        return None
    prob = np.minimum(prob, 1 - 1e-6)
    ps = prob[code]
    keep = np.where(d == 1, 1.0, (ps < trim).astype("float64"))
    w1 = keep * d
    w0 = keep * ps * (1 - d) / (1 - ps)
    size = patterns.counts()
    hessian_inv = np.linalg.inv(_gram(patterns, size * prob * (1 - prob)) / n)
    if method == "dr":
        fitted = (x @ _outcome_regression(dy, d == 0, patterns))[code]
    else:
        fitted = np.zeros(n)
    resid = dy - fitted
    eta1 = np.mean(w1 * resid) / np.mean(w1)
    eta0 = np.mean(w0 * resid) / np.mean(w0)
    inf_treat = w1 * resid - w1 * eta1
    estimation = hessian_inv @ (patterns.total(w0 * (resid - eta0)) / n)
    inf_cont = w0 * resid - w0 * eta0 + (d - ps) * (x @ estimation)[code]
    if method == "dr":
        xpx_inv = np.linalg.inv(_gram(patterns, patterns.counts(1.0 - d)) / n)
        lin_ols = (1.0 - d) * resid
        inf_treat = inf_treat - lin_ols * (x @ (xpx_inv @ (patterns.total(w1) / n)))[code]
        inf_cont = inf_cont - lin_ols * (x @ (xpx_inv @ (patterns.total(w0) / n)))[code]
    psi = inf_treat / np.mean(w1) - inf_cont / np.mean(w0)
    return DrDidFit(
        att=float(eta1 - eta0), influence=psi / n, weights=np.where(d == 1, w1, w0), propensity=ps
    )


def _variance(values: np.ndarray) -> float:
    """``pd.Series(values).var()`` (ddof 1; NaN with fewer than two values) without a Series."""
    return float(values.var(ddof=1)) if values.size > 1 else float("nan")


def _shared_fit(prepared: PreparedSample, method: str, trim: float) -> DrDidFit | None:
    """:func:`drdid_patterns` of the change on the group, with the propensity fitted once
    per sample (the ipw and dr_did rows and the balance table share it)."""
    if "propensity" not in prepared.memo:
        prepared.memo["propensity"] = pattern_propensity(prepared.treated, prepared.patterns)
    propensity = prepared.memo["propensity"]
    if propensity is None:
        return None
    change = prepared.frame["change"].to_numpy()
    return drdid_patterns(change, prepared.treated, prepared.patterns, method, trim, propensity)


def _balance(patterns: Patterns, d: np.ndarray, w: np.ndarray) -> float:
    """Largest |SMD| over the covariate columns after weighting (unweighted SD denominator).

    Means and variances (ddof 1) of each design column in each group from per-pattern
    counts: the same as over the rows.
    """
    x = patterns.rows[:, 1:]
    if x.shape[1] == 0:
        return 0.0
    ones, zeros = patterns.counts(d), patterns.counts(1 - d)
    mean1, mean0 = ones @ x / ones.sum(), zeros @ x / zeros.sum()
    var1 = ones @ np.square(x - mean1) / (ones.sum() - 1)
    var0 = zeros @ np.square(x - mean0) / (zeros.sum() - 1)
    spread = np.sqrt((var1 + var0) / 2)
    odds = patterns.counts(w * (1 - d))
    with np.errstate(all="ignore"):
        gap = np.abs(mean1 - odds @ x / odds.sum()) / spread
    judged = (spread > 0) & ~np.isnan(gap)
    return float(np.max(gap[judged], initial=0.0))


def _credibility(patterns: Patterns, d: np.ndarray, fit: DrDidFit, trim: float) -> tuple[list[str], dict]:
    """Why the weighted comparison is not credible (empty when it is), and its diagnostics."""
    control_w = fit.weights[d == 0]
    n0 = int((d == 0).sum())
    ess = float(control_w.sum() ** 2 / np.square(control_w).sum()) if control_w.sum() > 0 else 0.0
    smd = _balance(patterns, d, fit.weights)
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
    prepared = prepared_sample(panel, outcome, wave, covariates, index)
    if prepared is None:
        return not_enough("wave not in the data", **labels)
    frame, patterns, info = prepared.frame, prepared.patterns, dict(prepared.info)
    d = frame["group"].to_numpy(dtype="float64")
    n1, n0 = int(d.sum()), int(d.size - d.sum())
    fit = None
    if n1 < 2 or n0 < 2 or len(frame) <= patterns.rows.shape[1] + 1:
        reason = "too few participants or comparison people left to weight"
    elif patterns.rank() < patterns.rows.shape[1]:
        reason = "covariates are collinear among the people compared"
    else:
        fit = _shared_fit(prepared, method, trim)
        reason = "propensity model did not converge (groups separate on the covariates)"
    if fit is None:
        return not_enough(reason, n_participants=n1, n_comparison=n0, extra=info, **labels)
    variance, df = influence_variance(fit.influence, frame["cluster"].to_numpy())
    estimate, low, high, p_value, se = t_inference(fit.att, np.sqrt(variance), df, confidence)
    problems, diagnostics = _credibility(patterns, d, fit, trim)
    baseline = frame["baseline"].to_numpy(dtype="float64")  # never missing in the sample
    sd = np.sqrt((_variance(baseline[d == 1]) + _variance(baseline[d == 0])) / 2)
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


def _balance_rows(x: np.ndarray, ones: np.ndarray, zeros: np.ndarray, odds: np.ndarray,
                  weighted: bool) -> np.ndarray:
    """SMD before and after weighting and variance ratios of each column of ``x``.

    ``x`` holds one row per unit (a person or a pattern) and ``ones``, ``zeros`` and
    ``odds`` the participants, comparison people and comparison weight in each unit.
    Returns 4 × columns: smd before, smd after, variance ratio before and after (see
    :func:`weighted_balance`); the after rows are NaN when not ``weighted``.
    """
    with np.errstate(all="ignore"):
        n1, n0, total = ones.sum(), zeros.sum(), odds.sum()
        mean1, mean0 = ones @ x / n1, zeros @ x / n0
        square1, square0 = ones @ np.square(x - mean1), zeros @ np.square(x - mean0)
        var1, var0 = square1 / (n1 - 1), square0 / (n0 - 1)
        spread = np.sqrt((var1 + var0) / 2) if n1 > 1 and n0 > 1 else np.full(x.shape[1], np.nan)
        after = odds @ x / total if weighted else np.full(x.shape[1], np.nan)
        v_after = odds @ np.square(x - after) / total if weighted else np.full(x.shape[1], np.nan)
        spread = np.where(spread == 0, np.nan, spread)  # no spread: no SMD
        return np.vstack([
            (mean1 - mean0) / spread,
            (mean1 - after) / spread,
            np.where(var0 > 0, var1 / var0, np.nan),
            np.where(v_after > 0, square1 / n1 / v_after, np.nan),
        ])


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
    prepared = prepared_sample(panel, outcome, wave, covariates, index)
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
    frame, patterns = prepared.frame, prepared.patterns
    d = frame["group"].to_numpy(dtype="float64")
    n1, n0 = int(d.sum()), int(d.size - d.sum())
    fit = None
    if n1 >= 2 and n0 >= 2 and patterns.rank() == patterns.rows.shape[1]:
        fit = _shared_fit(prepared, "ipw", trim)
    weights = fit.weights if fit is not None else np.ones_like(d)
    # the baseline person by person; the design's columns pattern by pattern (the same
    # sums as over its rows, without spreading it over the people)
    baseline = _balance_rows(frame["baseline"].to_numpy(dtype="float64")[:, None], d, 1 - d,
                             weights * (1 - d), fit is not None)
    design = _balance_rows(patterns.rows[:, 1:], patterns.counts(d), patterns.counts(1 - d),
                           patterns.counts(weights * (1 - d)), fit is not None)
    stats = np.hstack([baseline, design])
    rows = [
        dict(zip(columns[:5], (name, *(float(value) for value in stats[:, i]))))
        for i, name in enumerate([f"baseline {outcome}", *prepared.columns[1:]])
    ]
    table = pd.DataFrame(rows).reindex(columns=columns)
    judged = table["smd_after"] if fit is not None else table["smd_before"]
    table["flag"] = judged.abs() > threshold
    control_w = weights[d == 0]
    ess = float(control_w.sum() ** 2 / np.square(control_w).sum()) if fit is not None else None
    status = "ok" if fit is not None else "not enough data: weights not estimable"
    return Balance(table, float(n1) if fit is not None else None, ess, n1, n0, status)
