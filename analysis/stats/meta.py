"""Random- and fixed-effects meta-analysis of per-organization estimates.

Pure functions: estimates ``yi`` and their standard errors ``sei`` in, frozen results out.
The algorithms follow R's metafor 3.8 (``rma.uni`` and ``predict.rma``) step for step, so
that the numbers agree with metafor to rounding error, not merely to the stopping rule of
an iteration:

* **REML** (default): Fisher scoring started at the Hedges (HE) estimate, step
  ``(Y'PPY - tr P) / tr(PP)`` halved while it would make tau² negative, stopped when tau²
  changes by at most 1e-5 (at most 100 steps); then metafor's check that the REML
  log-likelihood at tau² = 0 is not higher (else tau² = 0).
* **DL**: DerSimonian–Laird, ``tau² = max(0, (Q - (k - p)) / tr P)``.
* **FE**: fixed effect (tau² = 0), Wald z interval.

Random-effects intervals use the Hartung–Knapp–Sidik–Jonkman (HKSJ) adjustment
(metafor ``test = "knha"``): the variance of the pooled estimate is multiplied by
``s² = Σ wᵢ (yᵢ - μ̂)² / (k - p)`` (not truncated at 1) and the interval uses t on
``k - p`` degrees of freedom. The prediction interval (``predict()``) is
``μ̂ ± t_{k-p} · sqrt(SE² + tau²)``. Heterogeneity: Cochran's Q on ``k - p`` df,
``I² = 100 · tau² / (tau² + ṽ)`` with the typical within-study variance
``ṽ = (k - p) / tr P`` (fixed effect: ``I² = max(0, 100 (Q - df) / Q)``).

References
----------
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3).
IntHout J, Ioannidis JP, Borm GF. The Hartung-Knapp-Sidik-Jonkman method for random effects
meta-analysis is straightforward and considerably outperforms the standard DerSimonian-Laird
method. BMC Med Res Methodol 2014;14:25.
Higgins JPT, Thompson SG, Spiegelhalter DJ. A re-evaluation of random-effects meta-analysis.
J R Stat Soc A 2009;172:137-159 (prediction intervals).
Egger M et al. Bias in meta-analysis detected by a simple, graphical test. BMJ 1997;315:629-34.

Examples
--------
>>> result = pool([0.1, 0.3, 0.35, 0.65], [0.1, 0.12, 0.15, 0.2])
>>> result.k, result.method
(4, 'REML')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

__all__ = ["METHODS", "EggerTest", "MetaRegression", "Pooled", "egger_test", "leave_one_out",
           "meta_regression", "pool"]

Method = Literal["REML", "DL", "FE"]
METHODS: tuple[str, ...] = ("REML", "DL", "FE")
#: metafor's control defaults for Fisher scoring.
_THRESHOLD = 1e-5
_MAX_ITER = 100
_LL0_TOLERANCE = np.finfo(float).eps ** 0.25
_LEVEL = 0.95


@dataclass(frozen=True)
class Pooled:
    """One pooled estimate (an intercept-only model).

    ``t_df`` is the t distribution's degrees of freedom of the interval (``k - 1`` with
    HKSJ) and None for a z interval. ``i2`` is in percent. The prediction interval is
    None for the fixed-effect model (it assumes no between-study variation; metafor's
    ``predict()`` gives none either).
    """

    k: int
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p_value: float
    pi_low: float | None
    pi_high: float | None
    method: str
    test: str
    t_df: int | None
    iterations: int


@dataclass(frozen=True)
class MetaRegression:
    """A mixed-effects meta-regression (metafor ``rma(yi, sei, mods = X)``).

    Coefficient arrays follow ``terms`` (the first is the intercept). ``qm`` is the
    omnibus test of every term but the intercept: an F statistic on ``(m, k - p)`` df
    with HKSJ, a chi-square on ``m`` df otherwise. ``r2`` is metafor's pseudo-R²
    (percent of tau² accounted for, ``max(0, 100 (tau²₀ - tau²) / tau²₀)``; 0 when the
    intercept-only tau² is 0, as metafor), None for the fixed-effect model.
    """

    k: int
    terms: tuple[str, ...]
    coefficients: tuple[float, ...]
    std_errors: tuple[float, ...]
    statistics: tuple[float, ...]
    p_values: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    tau2: float
    i2: float
    qe: float
    qe_p_value: float
    qm: float
    qm_p_value: float
    r2: float | None
    method: str
    test: str

    def frame(self) -> pd.DataFrame:
        """One row per term: ``term, estimate, std_error, statistic, p_value, ci_low, ci_high``."""
        return pd.DataFrame({"term": self.terms, "estimate": self.coefficients,
                             "std_error": self.std_errors, "statistic": self.statistics,
                             "p_value": self.p_values, "ci_low": self.ci_low, "ci_high": self.ci_high})


@dataclass(frozen=True)
class EggerTest:
    """Egger's regression test (metafor ``regtest(fit)``: the fit's model with ``sei`` added).

    ``statistic`` is the t (HKSJ) or z value of the ``sei`` slope; ``limit_estimate`` is the
    intercept, the estimate as the standard error goes to 0.
    """

    k: int
    statistic: float
    p_value: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float
    t_df: int | None


@dataclass(frozen=True)
class _Fit:
    beta: np.ndarray
    vb: np.ndarray
    tau2: float
    qe: float
    qe_p_value: float
    i2: float
    h2: float
    crit: float
    t_df: int | None
    iterations: int


def pool(yi: Sequence[float], sei: Sequence[float], method: Method = "REML",
         test: str | None = None) -> Pooled:
    """Pool estimates ``yi`` with standard errors ``sei`` (see module docstring).

    Parameters
    ----------
    yi, sei : sequence of float
        One estimate and its standard error per study; at least two, every ``sei > 0``.
    method : {"REML", "DL", "FE"}
        How tau² is estimated (FE: tau² = 0).
    test : {"knha", "z"}, optional
        Interval and test: HKSJ t (default for REML and DL) or Wald z (default for FE).

    Returns
    -------
    Pooled
        The same numbers as ``rma(yi, sei=sei, method=method, test=test)`` and ``predict()``.
    """
    y, v = _inputs(yi, sei)
    test = _test(method, test)
    fit = _fit(y, v, np.ones((y.size, 1)), method, test)
    estimate, se = float(fit.beta[0]), float(np.sqrt(fit.vb[0, 0]))
    statistic = estimate / se if se > 0 else np.nan
    p_value = _two_sided(statistic, fit.t_df)
    half_pi = None if method == "FE" else fit.crit * np.sqrt(se ** 2 + fit.tau2)
    return Pooled(
        k=int(y.size), estimate=estimate, std_error=se, ci_low=estimate - fit.crit * se,
        ci_high=estimate + fit.crit * se, p_value=float(p_value), tau2=fit.tau2, i2=fit.i2,
        h2=fit.h2, q=fit.qe, q_df=int(y.size - 1), q_p_value=fit.qe_p_value,
        pi_low=None if half_pi is None else estimate - half_pi,
        pi_high=None if half_pi is None else estimate + half_pi, method=method, test=test,
        t_df=fit.t_df, iterations=fit.iterations)


def meta_regression(yi: Sequence[float], sei: Sequence[float], moderators: pd.DataFrame,
                    method: Method = "REML", test: str | None = None) -> MetaRegression:
    """Meta-regression of ``yi`` on study-level ``moderators`` (mixed-effects model).

    Parameters
    ----------
    moderators : DataFrame
        One row per study. Numeric columns enter as they are; text columns as treatment
        dummies against their first level in sorted order (R's ``factor`` coding).
        An intercept is added.

    Returns
    -------
    MetaRegression
        As ``rma(yi, sei=sei, mods = ~ ..., method=method, test=test)``; ``r2`` as metafor
        computes it (from the intercept-only fit with the same method).

    Raises
    ------
    ValueError
        When the design has no residual degrees of freedom or is not of full rank.
    """
    y, v = _inputs(yi, sei)
    test = _test(method, test)
    design, terms = _design(moderators)
    k, p = design.shape
    if k <= p or np.linalg.matrix_rank(design) < p:
        raise ValueError(f"{k} studies cannot support {p} coefficients (full rank, k > p needed)")
    fit = _fit(y, v, design, method, test)
    se = np.sqrt(np.diag(fit.vb))
    statistic = fit.beta / se
    slopes = slice(1, p)
    qm = float(fit.beta[slopes] @ np.linalg.solve(fit.vb[slopes, slopes], fit.beta[slopes]))
    if fit.t_df is not None:
        qm /= p - 1
        qm_p = float(special.fdtrc(p - 1, fit.t_df, qm))
    else:
        qm_p = float(special.chdtrc(p - 1, qm))
    r2 = None
    if method != "FE":
        tau2_null = _fit(y, v, np.ones((k, 1)), method, test).tau2
        r2 = 0.0 if tau2_null == 0 else max(0.0, 100 * (tau2_null - fit.tau2) / tau2_null)
    return MetaRegression(
        k=k, terms=terms, coefficients=_floats(fit.beta), std_errors=_floats(se),
        statistics=_floats(statistic),
        p_values=tuple(_two_sided(float(t), fit.t_df) for t in statistic),
        ci_low=_floats(fit.beta - fit.crit * se), ci_high=_floats(fit.beta + fit.crit * se),
        tau2=fit.tau2, i2=fit.i2, qe=fit.qe, qe_p_value=fit.qe_p_value, qm=qm, qm_p_value=qm_p,
        r2=r2, method=method, test=test)


def egger_test(yi: Sequence[float], sei: Sequence[float], method: Method = "REML",
               test: str | None = None) -> EggerTest:
    """Egger's test for funnel-plot asymmetry: the model with ``sei`` as moderator.

    Asymmetry (small studies with larger effects) can come from publication bias, but
    also from true heterogeneity linked to study size; with fewer than 10 studies the
    test has too little power to be worth running (Sterne et al., BMJ 2011;343:d4002).
    """
    y, v = _inputs(yi, sei)
    test = _test(method, test)
    design = np.column_stack([np.ones(y.size), np.sqrt(v)])
    if y.size <= 2:
        raise ValueError("Egger's test needs at least 3 studies")
    if np.ptp(v) <= 1e-12 * v.max():
        raise ValueError("every standard error is the same: Egger's test is undefined")
    fit = _fit(y, v, design, method, test)
    se = np.sqrt(np.diag(fit.vb))
    statistic = float(fit.beta[1] / se[1])
    p_value = _two_sided(statistic, fit.t_df)
    return EggerTest(k=int(y.size), statistic=statistic, p_value=float(p_value),
                     limit_estimate=float(fit.beta[0]),
                     limit_ci_low=float(fit.beta[0] - fit.crit * se[0]),
                     limit_ci_high=float(fit.beta[0] + fit.crit * se[0]), t_df=fit.t_df)


def leave_one_out(yi: Sequence[float], sei: Sequence[float], labels: Sequence[str],
                  method: Method = "REML", test: str | None = None) -> pd.DataFrame:
    """The pooled result with each study left out in turn (metafor ``leave1out``).

    Returns one row per study: ``left_out, k, estimate, std_error, ci_low, ci_high, tau2,
    i2, q, q_p_value``. Needs at least three studies (two must remain).
    """
    y, v = _inputs(yi, sei)
    if y.size < 3:
        raise ValueError("leave-one-out needs at least 3 studies")
    rows = []
    for i, label in enumerate(labels):
        keep = np.arange(y.size) != i
        result = pool(y[keep], np.sqrt(v[keep]), method, test)
        rows.append({"left_out": label, "k": result.k, "estimate": result.estimate,
                     "std_error": result.std_error, "ci_low": result.ci_low,
                     "ci_high": result.ci_high, "tau2": result.tau2, "i2": result.i2,
                     "q": result.q, "q_p_value": result.q_p_value})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ the model


def _inputs(yi: Sequence[float], sei: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(yi, dtype="float64")
    se = np.asarray(sei, dtype="float64")
    if y.ndim != 1 or y.shape != se.shape:
        raise ValueError("yi and sei must be one-dimensional and of the same length")
    if y.size < 2:
        raise ValueError("pooling needs at least 2 estimates")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(se)) and np.all(se > 0)):
        raise ValueError("every estimate must be finite and every standard error positive")
    return y, se ** 2


def _test(method: str, test: str | None) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    test = test or ("z" if method == "FE" else "knha")
    if test not in ("knha", "z"):
        raise ValueError(f"test must be 'knha' or 'z', not {test!r}")
    return test


def _design(moderators: pd.DataFrame) -> tuple[np.ndarray, tuple[str, ...]]:
    columns, terms = [np.ones(len(moderators))], ["intercept"]
    for name in moderators.columns:
        values = moderators[name]
        if pd.api.types.is_numeric_dtype(values):
            columns.append(values.to_numpy(dtype="float64"))
            terms.append(str(name))
            continue
        levels = sorted(values.astype(str).unique())
        for level in levels[1:]:
            columns.append((values.astype(str) == level).to_numpy(dtype="float64"))
            terms.append(f"{name}{level}")
    return np.column_stack(columns), tuple(terms)


@dataclass(frozen=True)
class _Projection:
    """Pieces of metafor's ``P = W - W X (X'WX)⁻¹ X'W`` without forming the k × k matrix.

    ``py`` is ``P y``, ``trace`` is ``tr P`` and ``trace_squared`` is ``tr(P P)``; each
    costs O(k p²), so pooling hundreds of organizations stays cheap.
    """

    py: np.ndarray
    trace: float
    trace_squared: float


def _projection(design: np.ndarray, weights: np.ndarray, y: np.ndarray) -> _Projection:
    if design.shape[1] == 1 and np.all(design == 1):
        # intercept only: the same quantities in closed form (sums of powers of the weights)
        s1, s2, s3 = weights.sum(), np.dot(weights, weights), np.sum(weights ** 3)
        mean = np.dot(weights, y) / s1
        return _Projection(py=weights * (y - mean), trace=float(s1 - s2 / s1),
                           trace_squared=float(s2 - 2 * s3 / s1 + (s2 / s1) ** 2))
    wx = design * weights[:, None]
    information = design.T @ wx
    beta = np.linalg.solve(information, wx.T @ y)
    # B = (X'WX)^-1 X'W^2 X: tr P = sum w - tr B; tr PP = sum w^2 - 2 tr(A^-1 X'W^3 X) + tr(B B)
    b = np.linalg.solve(information, wx.T @ wx)
    c = np.linalg.solve(information, (wx * weights[:, None]).T @ wx)
    return _Projection(py=weights * (y - design @ beta),
                       trace=float(weights.sum() - np.trace(b)),
                       trace_squared=float(np.sum(weights ** 2) - 2 * np.trace(c) + np.sum(b * b.T)))


def _fit(y: np.ndarray, v: np.ndarray, design: np.ndarray, method: str, test: str) -> _Fit:
    k, p = design.shape
    centered = y - y.mean()
    iterations = 0
    if method == "FE":
        tau2 = 0.0
    elif method == "DL":
        fixed = _projection(design, 1 / v, centered)
        tau2 = max(0.0, float((centered @ fixed.py - (k - p)) / fixed.trace))
    else:
        tau2, iterations = _reml_tau2(centered, v, design)
    weights = 1 / (v + tau2)
    wx = design * weights[:, None]
    vb = np.linalg.inv(design.T @ wx)
    beta = vb @ (wx.T @ y)
    t_df: int | None = None
    crit = float(special.ndtri(1 - (1 - _LEVEL) / 2))
    if test == "knha":
        rss = float(np.sum(weights * (y - design @ beta) ** 2))
        vb = vb * (0.0 if rss <= np.finfo(float).eps else rss / (k - p))
        t_df = k - p
        crit = float(special.stdtrit(t_df, 1 - (1 - _LEVEL) / 2))
    fixed = _projection(design, 1 / v, centered)
    qe = max(0.0, float(centered @ fixed.py))
    typical = (k - p) / fixed.trace
    if method == "FE":
        i2 = max(0.0, 100 * (qe - (k - p)) / qe) if qe > 0 else 0.0
        h2 = qe / (k - p)
    else:
        i2 = 100 * tau2 / (typical + tau2)
        h2 = tau2 / typical + 1
    return _Fit(beta=beta, vb=vb, tau2=tau2, qe=qe, qe_p_value=float(special.chdtrc(k - p, qe)),
                i2=i2, h2=h2, crit=crit, t_df=t_df, iterations=iterations)


def _reml_tau2(centered: np.ndarray, v: np.ndarray, design: np.ndarray) -> tuple[float, int]:
    """REML tau² by metafor's Fisher scoring (start, step, halving, stop, ll0 check)."""
    k, p = design.shape
    # Hedges' start: (y'P y - tr(P V)) / (k - p) with the unweighted P = I - X (X'X)^-1 X'
    ols = _projection(design, np.ones(k), centered)
    leverage = np.einsum("ij,ji->i", design, np.linalg.solve(design.T @ design, design.T))
    tau2 = max(0.0, float((centered @ ols.py - np.sum((1 - leverage) * v)) / (k - p)))
    change, iteration = _THRESHOLD + 1, 0
    while change > _THRESHOLD:
        iteration += 1
        old = tau2
        hat = _projection(design, 1 / (v + tau2), centered)
        step = float((hat.py @ hat.py - hat.trace) / hat.trace_squared)
        if not np.isfinite(step):
            step = 0.0
        while tau2 + step < 0:
            step /= 2
        tau2 += step
        change = abs(old - tau2)
        if iteration > _MAX_ITER:
            raise ArithmeticError("REML (Fisher scoring) did not converge in 100 iterations")
    if tau2 > _THRESHOLD and _reml_loglik(centered, v, design, 0.0) - \
            _reml_loglik(centered, v, design, tau2) > _LL0_TOLERANCE:
        tau2 = 0.0  # metafor: stuck at a local maximum, take the boundary
    return max(0.0, tau2), iteration


def _reml_loglik(centered: np.ndarray, v: np.ndarray, design: np.ndarray, tau2: float) -> float:
    k, p = design.shape
    weights = 1 / (v + tau2)
    wx = design * weights[:, None]
    information = design.T @ wx
    beta = np.linalg.solve(information, wx.T @ centered)
    rss = float(np.sum(weights * (centered - design @ beta) ** 2))
    return float(-0.5 * (k - p) * np.log(2 * np.pi) - 0.5 * np.sum(np.log(v + tau2))
                 - 0.5 * np.linalg.slogdet(information)[1] - 0.5 * rss)


def _two_sided(statistic: float, t_df: int | None) -> float:
    """Two-sided p of a t (``t_df`` given) or z statistic (scipy.special: no per-call
    overhead of scipy.stats, which matters for leave-one-out over many organizations)."""
    if not np.isfinite(statistic):
        return float("nan")
    tail = special.stdtr(t_df, -abs(statistic)) if t_df is not None else special.ndtr(-abs(statistic))
    return float(2 * tail)


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(x) for x in values)
