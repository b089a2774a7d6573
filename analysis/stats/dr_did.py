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
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sparse_array

from analysis.panel.index import PanelIndex, is_numeric
from analysis.stats.clustering import influence_variance
from analysis.stats.effect_sizes import standardize
from analysis.stats.estimates import Estimate, not_enough, t_inference
from analysis.stats.group_time import outcome_matrix, program_timing
from analysis.stats.weighting import Balance

__all__ = [
    "DrDidFit",
    "Patterns",
    "drdid_panel",
    "drdid_patterns",
    "prepare",
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


@dataclass(frozen=True, eq=False)
class Patterns:
    """A design by its distinct rows: row ``i`` of the n × p design is ``rows[code[i]]``.

    Site and role dummies take few distinct values (at most sites × roles), so every
    product with the design is done on ``rows`` and spread back with ``code``: the same
    sums as on the n × p design, at a cost that does not grow with n × p.
    """

    code: np.ndarray  # n pattern numbers in 0..P-1
    rows: np.ndarray  # P × p

    @classmethod
    def of(cls, x: np.ndarray) -> Patterns:
        """The patterns of an n × p design given row by row."""
        x = np.asarray(x, dtype="float64")
        rows, code = np.unique(x, axis=0, return_inverse=True)
        return cls(np.asarray(code, dtype="int64").reshape(-1), rows)

    @cached_property
    def sparse(self) -> sparse_array.csr_array:
        """``rows`` as a sparse matrix (mostly zeros: one dummy per covariate is set)."""
        return sparse_array.csr_array(self.rows)

    def total(self, values: np.ndarray) -> np.ndarray:
        """``Σ_i values_i x_i`` (length p)."""
        return self.counts(values) @ self.rows

    def counts(self, values: np.ndarray | None = None) -> np.ndarray:
        """Sum of ``values`` (or the number of people) in each pattern."""
        return np.bincount(self.code, weights=values, minlength=self.rows.shape[0]).astype("float64")

    def rank(self) -> int:
        """``np.linalg.matrix_rank`` of the n × p design, from its patterns.

        ``√count × rows`` has the same ``XᵀX``, hence the same singular values, as the
        design; the tolerance is numpy's default for the n × p matrix.
        """
        n, p = self.code.size, self.rows.shape[1]
        if n == 0 or p == 0:
            return 0
        singular = np.linalg.svd(self.rows * np.sqrt(self.counts())[:, None], compute_uv=False)
        return int(np.count_nonzero(singular > singular.max() * max(n, p) * np.finfo("float64").eps))


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
    delta_y: np.ndarray, treated: np.ndarray, patterns: Patterns, method: str = "dr", trim: float = 0.995
) -> DrDidFit | None:
    """:func:`drdid_panel` with the design given by its :class:`Patterns` (same results).

    The n × p products of the row formulas are regrouped: ``(score_ps H⁻¹) v`` is
    ``(D - e) · x(H⁻¹ v)`` and every mean of ``w x`` is a per-pattern sum times the rows.
    """
    d = np.asarray(treated, dtype="float64")
    dy = np.asarray(delta_y, dtype="float64")
    n, code, x = d.size, patterns.code, patterns.rows
    prob = _logit(d, patterns)
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


def _overlap_levels(
    categories: dict[str, np.ndarray], treated: np.ndarray
) -> tuple[np.ndarray, int, int, list[str]]:
    """Rows kept after dropping levels without participants or without comparison people.

    ``categories`` maps each categorical covariate to its level numbers per row.
    """
    keep = np.ones(treated.size, bool)
    notes: list[str] = []
    for _ in range(3):  # dropping by one covariate can empty a level of another
        changed = False
        for name, codes in categories.items():
            levels = int(codes.max()) + 1 if codes.size else 0
            size = np.bincount(codes[keep], minlength=levels)
            joined = np.bincount(codes[keep], weights=treated[keep], minlength=levels)
            no_part = (size > 0) & (joined == 0)
            no_comp = (size > 0) & (joined == size)
            drop = keep & (no_part | no_comp)[codes]
            if drop.any():
                keep &= ~drop
                changed = True
                if no_part.any():
                    notes.append(f"{name}: {int(no_part.sum())} level(s) without participants")
                if no_comp.any():
                    notes.append(f"{name}: {int(no_comp.sum())} level(s) without comparison people")
        if not changed:
            break
    dropped_comp = int((~keep & (treated == 0)).sum())
    dropped_part = int((~keep & (treated == 1)).sum())
    return keep, dropped_part, dropped_comp, notes


def _design_rows(frame: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Design of ``frame``: a constant, each numeric covariate that varies, and the dummies
    of each text covariate's levels in sorted order, the first dropped (as
    ``pd.get_dummies(..., drop_first=True)`` names and orders them)."""
    blocks = [np.ones((len(frame), 1))]
    columns = ["const"]
    for name in covariates:
        column = frame[name]
        if is_numeric(column):
            if column.nunique() > 1:
                blocks.append(column.astype("float64").to_numpy()[:, None])
                columns.append(name)
        else:
            levels, level = np.unique(column.to_numpy(dtype=object), return_inverse=True)
            blocks.append((level.reshape(-1, 1) == np.arange(1, levels.size)).astype("float64"))
            columns += [f"{name}={label}" for label in levels[1:]]
    return np.hstack(blocks), columns


def _design_patterns(
    frame: pd.DataFrame,
    covariates: Sequence[str],
    categories: dict[str, np.ndarray],
    labels: dict[str, np.ndarray],
) -> tuple[Patterns, list[str]]:
    """The patterns of the design and its column names, without building it.

    ``frame`` holds the numeric covariates; a text covariate is its level numbers per
    row in ``categories`` and the level labels in ``labels``. People with the same value
    of every covariate share a design row; the design of one person per pattern has the
    same columns (the same levels and distinct values).
    """
    code = np.zeros(len(frame), dtype="int64")
    for name in covariates:
        part = categories.get(name)
        if part is None:  # numeric: each distinct value (NaN too) is a pattern of its own
            part, _ = pd.factorize(frame[name], use_na_sentinel=False)
        code, _ = pd.factorize(code * (int(part.max()) + 1 if part.size else 1) + part)
    code = np.asarray(code, dtype="int64")
    # first row of each pattern: factorize numbers patterns in order of first appearance
    # (what np.unique(code, return_index=True)[1] gives, without sorting)
    top = np.maximum.accumulate(code) if code.size else code
    first = np.flatnonzero(np.concatenate([[True], top[1:] > top[:-1]])) if code.size else code
    people = pd.DataFrame(
        {name: labels[name][categories[name][first]] if name in categories else frame[name].to_numpy()[first]
         for name in covariates},
        index=pd.RangeIndex(first.size),  # with no covariates: one row per pattern all the same
    )
    rows, columns = _design_rows(people, covariates)
    return Patterns(code, rows), columns


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


def _levels(panel: pd.DataFrame, name: str, index: PanelIndex | None) -> tuple[np.ndarray, np.ndarray]:
    """Level number per panel row and the level labels (text; a missing value is ``"missing"``).

    Factorized once per ``index`` memo: the labels are not converted row by row each call.
    """
    key = ("dr_did levels", name)
    if index is not None and key in index.memo:
        return index.memo[key]  # type: ignore[return-value]
    codes, uniques = pd.factorize(panel[name])  # a missing value gets -1
    text = pd.Series(np.asarray(uniques, dtype=object), dtype=object).astype("string").fillna("missing")
    labels = np.append(text.to_numpy(dtype=object), "missing")  # position -1: missing
    merged, names = pd.factorize(labels)  # the text "missing" and a missing value are one level
    result = (np.asarray(merged, dtype="int64")[codes], np.asarray(names, dtype=object))
    if index is not None:
        index.memo[key] = result
    return result


def _sample(
    panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str], index: PanelIndex | None
) -> tuple[pd.DataFrame, int, dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    """The people compared: a frame of the numbers (``change, baseline, group, cluster``
    and numeric covariates), people left out, and each text covariate's level numbers
    per person with the level labels (not spread into the frame: see :func:`prepare`)."""
    timing = program_timing(panel, index)
    if str(wave) not in timing.waves:
        return None
    w = timing.waves.index(str(wave))
    y = outcome_matrix(panel, outcome, timing, index)
    use = ~timing.left_out & ~np.isnan(y[:, 0]) & ~np.isnan(y[:, w])
    base_rows = timing.rows[use, 0]
    columns = {
        "change": y[use, w] - y[use, 0],
        "baseline": y[use, 0],
        "group": timing.participant[use, w].astype("int64"),
        "cluster": timing.site[use]
        if timing.clusters.unit == "site" and timing.site is not None
        else timing.people[use],
    }
    categories: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    for name in covariates:
        if name in panel.columns:
            if is_numeric(panel[name]):
                columns[name] = panel[name].to_numpy()[base_rows]
            else:
                codes, labels[name] = _levels(panel, name, index)
                categories[name] = codes[base_rows]
    frame = pd.DataFrame(columns)  # one construction: adding columns one by one copies
    return frame, int(np.sum(timing.left_out & ~np.isnan(y[:, w]))), categories, labels


@dataclass(frozen=True, eq=False)
class _Prepared:
    frame: pd.DataFrame  # the numbers; text covariates are in categories and labels
    patterns: Patterns
    columns: list[str]
    info: dict
    categories: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    used: tuple[str, ...]


def _prepare(
    panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str], index: PanelIndex | None
) -> _Prepared | None:
    """:func:`prepare` without spreading the text covariates' labels over the rows.

    Memoised on ``index``: the ipw and dr_did rows of a wave compare the same people.
    """
    key = ("dr_did prepared", outcome, str(wave), tuple(covariates))
    if index is not None and key in index.memo:
        return index.memo[key]  # type: ignore[return-value]
    built = _sample(panel, outcome, wave, covariates, index)
    if built is None:
        return None
    frame, left_out, categories, labels = built
    used = [c for c in covariates if c in frame.columns or c in categories]
    keep, dropped_part, dropped_comp, notes = _overlap_levels(categories, frame["group"].to_numpy())
    if not keep.all():
        frame = frame.loc[keep].reset_index(drop=True)
        categories = {name: codes[keep] for name, codes in categories.items()}
    info = {
        "left_out": left_out,
        "participants_dropped": dropped_part,
        "comparison_dropped": dropped_comp,
        "dropped_note": "; ".join(dict.fromkeys(notes)) or None,
        "covariates_used": tuple(used),
    }
    patterns, columns = _design_patterns(frame, used, categories, labels)
    prepared = _Prepared(frame, patterns, columns, info, categories, labels, tuple(used))
    if index is not None:
        index.memo[key] = prepared
    return prepared


def prepare(
    panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str], index: PanelIndex | None
) -> tuple[pd.DataFrame, pd.DataFrame, dict] | None:
    """The people compared at ``wave`` after dropping levels without overlap, their design, notes.

    None when ``wave`` is not in the data. The frame has ``change, baseline, group,
    cluster`` and the covariates; the design has a constant and dummies (first level
    dropped); the dict holds ``left_out``, the dropped counts and ``dropped_note``.
    """
    prepared = _prepare(panel, outcome, wave, covariates, index)
    if prepared is None:
        return None
    patterns = prepared.patterns
    frame = prepared.frame.copy()
    for name in prepared.used:
        if name in prepared.categories:
            frame[name] = prepared.labels[name][prepared.categories[name]]
    frame = frame[[*frame.columns[:4], *prepared.used]]
    design = pd.DataFrame(patterns.rows[patterns.code], columns=prepared.columns)
    return frame, design, dict(prepared.info)


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
    prepared = _prepare(panel, outcome, wave, covariates, index)
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
        fit = drdid_patterns(frame["change"].to_numpy(), d, patterns, method=method, trim=trim)
        reason = "propensity model did not converge (groups separate on the covariates)"
    if fit is None:
        return not_enough(reason, n_participants=n1, n_comparison=n0, extra=info, **labels)
    variance, df = influence_variance(fit.influence, frame["cluster"].to_numpy())
    estimate, low, high, p_value, se = t_inference(fit.att, np.sqrt(variance), df, confidence)
    problems, diagnostics = _credibility(patterns, d, fit, trim)
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
    prepared = _prepare(panel, outcome, wave, covariates, index)
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
        fit = drdid_patterns(frame["change"].to_numpy(), d, patterns, "ipw", trim)
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
