"""Inverse-probability weighting: propensity weights, the IPW estimate, covariate balance.

Takes the panel and an outcome like :mod:`analysis.stats.causal`; one propensity fit per
outcome × wave is shared by :func:`ipw` and :func:`balance_table` through the
:class:`analysis.panel.index.PanelIndex` memo.

References
----------
Austin PC, Stuart EA (2015). Stat Med 34:3661-3679 (IPW, balance diagnostics).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import PerfectSeparationError

from analysis.panel.index import PanelIndex
from analysis.panel.pairs import group_sizes, shared_pairs, thin_reason
from analysis.stats.causal import DEFAULT_COVARIATES, fit_group_effect
from analysis.stats.estimates import Estimate, not_enough
from analysis.stats.regression import covariate_design, full_rank

__all__ = ["Balance", "Weighting", "balance_table", "ipw", "kish_effective_size", "propensity_weights"]


@dataclass(frozen=True)
class Weighting:
    pairs: pd.DataFrame
    covariate_matrix: pd.DataFrame
    weights: np.ndarray | None
    reason: str | None
    used: tuple[str, ...]
    dropped: tuple[str, ...]
    trim_bounds: tuple[float, float] | None


def propensity_weights(panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str],
                        trim: tuple[float, float], index: PanelIndex | None = None) -> Weighting:
    """Propensity weights (memoised on ``index``: IPW and the balance table share one fit)."""
    if index is None:
        return _compute_weights(panel, outcome, wave, covariates, trim, None)
    key = ("weights", outcome, str(wave), tuple(covariates), tuple(trim))
    if key not in index.memo:
        index.memo[key] = _compute_weights(panel, outcome, wave, covariates, trim, index)
    return index.memo[key]  # type: ignore[return-value]


def _compute_weights(panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str],
                     trim: tuple[float, float], index: PanelIndex | None) -> Weighting:
    pairs = shared_pairs(panel, outcome, wave, covariates, index=index)
    n1, n0 = group_sizes(pairs)
    balance_design, _, _ = covariate_design(pairs, covariates, drop_first=False)
    covariate_matrix = pd.concat([pairs["baseline"].to_frame(f"baseline {outcome}"), balance_design], axis=1)
    reason = thin_reason(n1, n0)
    if reason:
        return Weighting(pairs, covariate_matrix, None, reason, (), (), None)
    model_design, used, dropped = covariate_design(pairs, covariates)
    design = pd.concat([pd.Series(1.0, index=pairs.index, name="const"), pairs["baseline"], model_design],
                       axis=1)
    matrix = design.to_numpy(dtype="float64")
    # columns of ANCOVA's design on the same pairs: full rank there means full rank here
    # (a subset of independent columns; its smallest singular value can only grow)
    known = index is not None and index.memo.get(("full rank", outcome, str(wave), tuple(covariates))) is True
    if not (known or full_rank(matrix)[0]) or len(design) <= design.shape[1]:
        return Weighting(pairs, covariate_matrix, None, "too few people for the propensity model",
                          tuple(used), tuple(dropped), None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # numpy arrays, not frames: the same fit without pandas bookkeeping
            fit = sm.Logit(pairs["group"].to_numpy(dtype="float64"), matrix).fit(disp=0, maxiter=200)
            propensity = np.asarray(fit.predict(matrix), dtype="float64")
            converged = bool(fit.mle_retvals.get("converged", True))
        except (np.linalg.LinAlgError, ValueError, PerfectSeparationError):
            propensity, converged = np.full(len(pairs), np.nan), False
    separated = propensity.min() < 1e-6 or propensity.max() > 1 - 1e-6
    if not converged or not np.all(np.isfinite(propensity)) or separated:
        return Weighting(pairs, covariate_matrix, None,
                          "groups do not overlap (some people certain to join or not)", tuple(used),
                          tuple(dropped), None)
    group = pairs["group"].to_numpy()
    share = group.mean()
    # Bounding the propensity (not the pooled weights) caps exactly the extreme
    # weights of each group; capping pooled weights at their 1st percentile also
    # lifts the many small weights and leaves much of the selection bias in place.
    low, high = np.percentile(propensity, [100 * trim[0], 100 * trim[1]])
    bounded = np.clip(propensity, low, high)
    weights = np.where(group == 1, share / bounded, (1 - share) / (1 - bounded))
    return Weighting(pairs, covariate_matrix, weights, None, tuple(used), tuple(dropped),
                      (float(low), float(high)))


def kish_effective_size(weights: np.ndarray) -> float | None:
    if weights.size == 0:
        return None
    return float(weights.sum() ** 2 / np.square(weights).sum())


def ipw(panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str] = DEFAULT_COVARIATES,
        trim: tuple[float, float] = (0.01, 0.99), confidence: float = 0.95, *,
        index: PanelIndex | None = None) -> Estimate:
    """Inverse-probability-weighted difference at follow-up (average effect in everyone).

    1. Propensity ``e = P(participant | baseline score, covariates)`` from a
       logistic regression (statsmodels ``Logit``).
    2. Stabilized weights ``P(T=1)/e`` for participants and ``P(T=0)/(1-e)`` for
       the comparison group.
    3. Trimming: the propensity is bounded at its 1st and 99th percentiles
       (``trim``) before forming the weights, which truncates the extreme weights
       of each group (Stürmer et al. 2010; Cole & Hernán 2008 truncate weights
       at percentiles to the same end). Extreme weights inflate variance;
       bounding rather than dropping keeps everyone in the sample. The bounds
       are in ``extra["propensity_trim_low"/"_high"]``.
    4. ``estimate`` = β1 of WLS ``follow_up ~ 1 + group`` with those weights,
       i.e. the weighted mean difference; HC1 robust SE, t on ``n - 2`` df. The SE
       treats the weights as known (ignores propensity estimation), which is
       usually conservative for this estimand.

    ``effect_size`` = estimate / unweighted pooled follow-up SD. ``extra`` has the
    Kish effective sample sizes ``(Σw)²/Σw²`` per group. Assumes no unmeasured
    confounding (the baseline score and covariates capture why people joined)
    and overlap (everyone had some chance of each group). Check
    :func:`balance_table`.
    """
    weighting = propensity_weights(panel, outcome, wave, covariates, trim, index)
    pairs = weighting.pairs
    n1, n0 = group_sizes(pairs)
    labels = {"analysis": "ipw", "outcome": outcome, "wave": str(wave)}
    if weighting.reason or weighting.weights is None:
        return not_enough(weighting.reason or "weights not estimable", n_participants=n1, n_comparison=n0,
                          **labels)
    weights = weighting.weights
    group = pairs["group"].to_numpy()
    design = pd.concat([pd.Series(1.0, index=pairs.index, name="const"),
                        pairs["group"].astype("float64")], axis=1)
    extra = {"covariates_used": weighting.used, "covariates_dropped": weighting.dropped,
             "ess_participants": kish_effective_size(weights[group == 1]),
             "ess_comparison": kish_effective_size(weights[group == 0]),
             "propensity_trim_low": weighting.trim_bounds[0] if weighting.trim_bounds else None,
             "propensity_trim_high": weighting.trim_bounds[1] if weighting.trim_bounds else None,
             "se_type": "HC1 (weights treated as known)"}
    return fit_group_effect(pairs["follow_up"], design, pairs, n1, n0, labels, "HC1", confidence, extra,
                             weights=weights)


@dataclass(frozen=True, eq=False)
class Balance:
    """Covariate balance before and after weighting (see :func:`balance_table`)."""

    table: pd.DataFrame
    ess_participants: float | None
    ess_comparison: float | None
    n_participants: int
    n_comparison: int
    status: str = "ok"


def _weighted_mean_var(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    total = w.sum()
    mean = float((w * x).sum() / total)
    # Reliability-weight correction: equals the ddof=1 variance when all weights are 1.
    denominator = total - np.square(w).sum() / total
    variance = float((w * np.square(x - mean)).sum() / denominator) if denominator > 0 else float("nan")
    return mean, variance


def balance_table(panel: pd.DataFrame, outcome: str, wave: str,
                  covariates: Sequence[str] = DEFAULT_COVARIATES, trim: tuple[float, float] = (0.01, 0.99),
                  threshold: float = 0.1, *, index: PanelIndex | None = None) -> Balance:
    """Standardized mean differences and variance ratios before and after IPW.

    For each covariate (the baseline score, each level of each categorical
    covariate, each numeric covariate):

    * ``smd = (m1 - m0) / √((s1² + s0²)/2)``, with weighted means after
      weighting and the *unweighted* variances in the denominator both times (so
      the two columns are comparable; Austin & Stuart 2015);
    * ``variance_ratio = s1² / s0²`` (participants over comparison), weighted
      variances after weighting;
    * ``flag`` when ``|smd_after| > threshold`` (0.1) or, when weights are not
      available, ``|smd_before| > threshold``.

    No p-values: balance is a property of the sample, not a hypothesis. Effective
    sample sizes (Kish) are on the returned :class:`Balance`. Good balance:
    |SMD| < 0.1 and variance ratio within 0.5–2.
    """
    weighting = propensity_weights(panel, outcome, wave, covariates, trim, index)
    pairs = weighting.pairs
    n1, n0 = group_sizes(pairs)
    group = pairs["group"].to_numpy()
    weights = weighting.weights
    rows = []
    for name in weighting.covariate_matrix.columns:
        x = weighting.covariate_matrix[name].to_numpy(dtype="float64")
        row: dict[str, object] = {"covariate": name}
        if n1 >= 2 and n0 >= 2:
            ones = np.ones_like(x)
            m1, v1 = _weighted_mean_var(x[group == 1], ones[group == 1])
            m0, v0 = _weighted_mean_var(x[group == 0], ones[group == 0])
            spread = np.sqrt((v1 + v0) / 2)
            row["smd_before"] = (m1 - m0) / spread if spread > 0 else (0.0 if m1 == m0 else np.nan)
            row["variance_ratio_before"] = v1 / v0 if v0 > 0 else np.nan
            if weights is not None:
                wm1, wv1 = _weighted_mean_var(x[group == 1], weights[group == 1])
                wm0, wv0 = _weighted_mean_var(x[group == 0], weights[group == 0])
                row["smd_after"] = (wm1 - wm0) / spread if spread > 0 else (0.0 if wm1 == wm0 else np.nan)
                row["variance_ratio_after"] = wv1 / wv0 if wv0 > 0 else np.nan
        rows.append(row)
    columns = ["covariate", "smd_before", "smd_after", "variance_ratio_before", "variance_ratio_after",
               "flag"]
    table = pd.DataFrame(rows).reindex(columns=columns)
    for column in columns[1:5]:
        table[column] = table[column].astype("float64")
    judged = table["smd_after"] if weights is not None else table["smd_before"]
    table["flag"] = judged.abs() > threshold
    status = "ok" if weighting.reason is None else "not enough data: " + weighting.reason
    return Balance(
        table=table,
        ess_participants=kish_effective_size(weights[group == 1]) if weights is not None else None,
        ess_comparison=kish_effective_size(weights[group == 0]) if weights is not None else None,
        n_participants=n1, n_comparison=n0, status=status,
    )
