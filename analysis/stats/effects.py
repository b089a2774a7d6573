"""Two-group estimators: participants (``a``) versus comparison (``b``).

Every estimator is a pure function: numbers in, a frozen :class:`Estimate` (or a
small frozen value) out. Estimates are always *participants minus comparison*, in
the outcome's own units (risk differences optionally in percentage points).

Degenerate inputs never raise: the result carries ``status = "not enough data:
<reason>"`` and ``None`` in every numeric field that could not be computed.

References
----------
Welch BL (1947). Biometrika 34:28-35.
Hedges LV, Olkin I (1985). Statistical Methods for Meta-Analysis. Academic Press.
Newcombe RG (1998). Statistics in Medicine 17:873-890 (method 10).
Fagerland MW, Lydersen S, Laake P (2015). Stat Methods Med Res 24:224-254.
Cohen J (1988). Statistical Power Analysis for the Behavioral Sciences, 2nd ed.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    test_proportions_2indep,
)

__all__ = [
    "Estimate",
    "EffectSize",
    "MeanCI",
    "OK",
    "not_enough",
    "welch_difference",
    "cohen_d",
    "hedges_g",
    "mann_whitney",
    "hodges_lehmann",
    "risk_difference",
    "wilson_ci",
    "mean_ci",
    "holm",
    "benjamini_hochberg",
    "minimum_detectable_effect",
    "power_of",
    "required_n",
    "finite_or_none",
]

OK = "ok"
NOT_ENOUGH = "not enough data: "


def finite_or_none(value: Any) -> float | None:
    """Return ``float(value)`` when finite, else ``None`` (keeps results NaN-free)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _freeze_extra(extra: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> tuple[tuple[str, Any], ...]:
    if extra is None:
        return ()
    items = extra.items() if isinstance(extra, Mapping) else extra
    frozen: list[tuple[str, Any]] = []
    for key, value in items:
        if isinstance(value, (float, np.floating)):
            value = finite_or_none(value)
        elif isinstance(value, np.integer):
            value = int(value)
        frozen.append((str(key), value))
    return tuple(frozen)


@dataclass(frozen=True)
class Estimate:
    """One comparison of participants with the comparison group.

    ``estimate`` is participants minus comparison in the outcome's units (risk
    differences: percentage points when requested). ``extra`` holds secondary
    numbers (t, df, relative risk, ...) as a tuple of ``(key, value)`` pairs so the
    value stays immutable and hashable; read it with :meth:`info` or :meth:`get`.
    ``residual_df`` is the residual degrees of freedom used for inference in
    regression-based analyses (the export's disclosure check wants >= 10).
    """

    analysis: str
    outcome: str
    wave: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_participants: int | None
    n_comparison: int | None
    effect_size: float | None = None
    effect_size_kind: str | None = None
    status: str = OK
    residual_df: float | None = None
    p_adjusted: float | None = None
    adjust_method: str | None = None
    extra: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        # Coerce numpy scalars and NaN/inf to plain floats or None so that every
        # consumer (CSV export, sentences, tests) sees the same clean values.
        for name in ("estimate", "ci_low", "ci_high", "p_value", "effect_size",
                     "residual_df", "p_adjusted"):
            object.__setattr__(self, name, finite_or_none(getattr(self, name)))
        for name in ("n_participants", "n_comparison"):
            value = getattr(self, name)
            object.__setattr__(self, name, None if value is None else int(value))
        object.__setattr__(self, "extra", _freeze_extra(self.extra))  # type: ignore[arg-type]

    @property
    def ok(self) -> bool:
        """True when the estimate was computed."""
        return self.status == OK

    def info(self) -> dict[str, Any]:
        """``extra`` as a (fresh, mutable) dict."""
        return dict(self.extra)

    def get(self, key: str, default: Any = None) -> Any:
        """One value of ``extra``."""
        return dict(self.extra).get(key, default)

    def labelled(self, analysis: str | None = None, outcome: str | None = None,
                 wave: str | None = None) -> "Estimate":
        """Copy with new labels (estimators below default to empty labels)."""
        return replace(
            self,
            analysis=self.analysis if analysis is None else analysis,
            outcome=self.outcome if outcome is None else outcome,
            wave=self.wave if wave is None else wave,
        )


def not_enough(reason: str, *, analysis: str = "", outcome: str = "", wave: str = "",
               n_participants: int | None = 0, n_comparison: int | None = 0,
               extra: Mapping[str, Any] | None = None) -> Estimate:
    """An :class:`Estimate` whose status is ``"not enough data: <reason>"``."""
    return Estimate(
        analysis=analysis, outcome=outcome, wave=wave, estimate=None, ci_low=None,
        ci_high=None, p_value=None, n_participants=n_participants,
        n_comparison=n_comparison, status=NOT_ENOUGH + reason,
        extra=_freeze_extra(extra),
    )


@dataclass(frozen=True)
class EffectSize:
    """A standardized effect size with an optional confidence interval."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    kind: str
    status: str = OK


@dataclass(frozen=True)
class MeanCI:
    """Mean with a t-based confidence interval."""

    n: int
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    status: str = OK


def _clean(values: Iterable[float] | np.ndarray) -> np.ndarray:
    """Float array without missing values (missing outcomes are not data)."""
    array = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    return array[np.isfinite(array)]


def _two_groups_reason(a: np.ndarray, b: np.ndarray, minimum: int = 2) -> str | None:
    if a.size == 0:
        return "no participants with a value"
    if b.size == 0:
        return "no comparison respondents with a value"
    if a.size < minimum or b.size < minimum:
        return f"fewer than {minimum} people in a group (participants {a.size}, comparison {b.size})"
    return None


# --------------------------------------------------------------------------- means


def mean_ci(values: Iterable[float] | np.ndarray, confidence: float = 0.95) -> MeanCI:
    """Mean with a Student-t confidence interval.

    ``mean ± t_{1-α/2, n-1} · s / √n``, with ``s`` the sample SD (ddof = 1).
    Missing values are dropped. Assumes independent observations and a roughly
    normal sampling distribution of the mean.

    Examples
    --------
    >>> round(mean_ci([1, 2, 3]).ci_low, 3)
    -0.484
    """
    x = _clean(values)
    n = int(x.size)
    if n == 0:
        return MeanCI(0, None, None, None, None, NOT_ENOUGH + "no values")
    mean = float(x.mean())
    if n < 2:
        return MeanCI(n, mean, None, None, None, NOT_ENOUGH + "one value only")
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return MeanCI(n, mean, sd, mean - half, mean + half)


def welch_difference(a: Iterable[float] | np.ndarray, b: Iterable[float] | np.ndarray,
                     confidence: float = 0.95) -> Estimate:
    """Welch two-sample t-test of ``mean(a) - mean(b)``.

    ``t = (x̄a - x̄b) / √(sa²/na + sb²/nb)`` with Welch–Satterthwaite df
    ``(sa²/na + sb²/nb)² / [(sa²/na)²/(na-1) + (sb²/nb)²/(nb-1)]``; CI is
    ``difference ± t_{1-α/2, df} · SE``. Does not assume equal variances; assumes
    independent observations and approximately normal group means. Matches R
    ``t.test(a, b)``. The effect size is Hedges' g (see :func:`hedges_g`).
    """
    x, y = _clean(a), _clean(b)
    reason = _two_groups_reason(x, y)
    if reason:
        return not_enough(reason, analysis="welch", n_participants=x.size, n_comparison=y.size)
    if np.ptp(np.concatenate([x, y])) == 0 or (x.var() == 0 and y.var() == 0):
        return not_enough("no variation within groups", analysis="welch",
                          n_participants=x.size, n_comparison=y.size)
    result = stats.ttest_ind(x, y, equal_var=False)
    ci = result.confidence_interval(confidence_level=confidence)
    g = hedges_g(x, y, confidence)
    return Estimate(
        analysis="welch", outcome="", wave="",
        estimate=float(x.mean() - y.mean()), ci_low=ci.low, ci_high=ci.high,
        p_value=result.pvalue, n_participants=x.size, n_comparison=y.size,
        effect_size=g.value, effect_size_kind=g.kind,
        extra={"t": result.statistic, "df": result.df,
               "mean_participants": x.mean(), "mean_comparison": y.mean(),
               "sd_participants": x.std(ddof=1), "sd_comparison": y.std(ddof=1),
               "effect_size_ci_low": g.ci_low, "effect_size_ci_high": g.ci_high},
    )


def _pooled_sd(x: np.ndarray, y: np.ndarray) -> float:
    return math.sqrt(((x.size - 1) * x.var(ddof=1) + (y.size - 1) * y.var(ddof=1)) / (x.size + y.size - 2))


def cohen_d(a: Iterable[float] | np.ndarray, b: Iterable[float] | np.ndarray) -> float | None:
    """Cohen's d with the pooled SD: ``(x̄a - x̄b) / s_p``.

    ``s_p = √[((na-1)sa² + (nb-1)sb²) / (na+nb-2)]``. Matches R
    ``effsize::cohen.d``. Returns ``None`` for fewer than 2 per group or zero SD.
    """
    x, y = _clean(a), _clean(b)
    if _two_groups_reason(x, y):
        return None
    sp = _pooled_sd(x, y)
    if sp == 0:
        return None
    return float((x.mean() - y.mean()) / sp)


def hedges_g(a: Iterable[float] | np.ndarray, b: Iterable[float] | np.ndarray,
             confidence: float = 0.95) -> EffectSize:
    """Hedges' g: Cohen's d with the small-sample correction, and a CI.

    ``g = d · (1 - 3 / (4(na+nb) - 9))``. The CI uses the standard large-sample
    standard error (Hedges & Olkin 1985, eq. 5.14), applied to g:
    ``SE(g) = √[(na+nb)/(na·nb) + g² / (2(na+nb))]``, ``g ± z_{1-α/2} · SE``.
    This is accurate for moderate n; for very small groups the noncentral-t
    interval is wider. Matches R ``effsize::cohen.d(hedges.correction=TRUE)``
    for the point value.
    """
    x, y = _clean(a), _clean(b)
    kind = "hedges_g"
    reason = _two_groups_reason(x, y)
    if reason:
        return EffectSize(None, None, None, kind, NOT_ENOUGH + reason)
    d = cohen_d(x, y)
    if d is None:
        return EffectSize(None, None, None, kind, NOT_ENOUGH + "no variation within groups")
    n1, n2 = x.size, y.size
    g = d * (1 - 3 / (4 * (n1 + n2) - 9))
    se = math.sqrt((n1 + n2) / (n1 * n2) + g * g / (2 * (n1 + n2)))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return EffectSize(g, g - z * se, g + z * se, kind)


def mann_whitney(a: Iterable[float] | np.ndarray, b: Iterable[float] | np.ndarray,
                 method: str = "auto") -> Estimate:
    """Mann–Whitney U test of participants against comparison, with rank-biserial r.

    ``U`` is the statistic of ``a`` (number of pairs with a > b, ties counting ½).
    Rank-biserial correlation ``r = 2U/(na·nb) - 1`` (positive: participants tend
    to score higher). The p-value is exact when both groups have fewer than 50
    people and there are no ties (R ``wilcox.test`` default), otherwise the
    normal approximation with tie-corrected variance and continuity correction.
    ``estimate`` is the Hodges–Lehmann shift (median of all pairwise
    differences a - b, exact at any size: :func:`hodges_lehmann`), in the
    outcome's units. No distributional assumption
    beyond independence; tests stochastic equality, not equality of means.
    ``method="exact"`` or ``"asymptotic"`` overrides the automatic choice (exact
    is only honoured without ties).
    """
    x, y = _clean(a), _clean(b)
    reason = _two_groups_reason(x, y)
    if reason:
        return not_enough(reason, analysis="mann_whitney", n_participants=x.size, n_comparison=y.size)
    both = np.concatenate([x, y])
    if np.ptp(both) == 0:
        return not_enough("all values equal", analysis="mann_whitney",
                          n_participants=x.size, n_comparison=y.size)
    has_ties = np.unique(both).size < both.size
    if method == "auto":
        method = "exact" if (x.size < 50 and y.size < 50 and not has_ties) else "asymptotic"
    elif method == "exact" and has_ties:
        method = "asymptotic"  # the exact null distribution assumes no ties
    result = stats.mannwhitneyu(x, y, alternative="two-sided", method=method, use_continuity=True)
    u = float(result.statistic)
    rank_biserial = 2 * u / (x.size * y.size) - 1
    shift, shift_kind = hodges_lehmann(x, y), "Hodges–Lehmann"
    return Estimate(
        analysis="mann_whitney", outcome="", wave="", estimate=shift, ci_low=None, ci_high=None,
        p_value=result.pvalue, n_participants=x.size, n_comparison=y.size,
        effect_size=rank_biserial, effect_size_kind="rank_biserial",
        extra={"u": u, "method": method + ("" if method == "exact" else " (continuity-corrected)"),
               "shift_kind": shift_kind},
    )


def _pairs_at_most(x: np.ndarray, y: np.ndarray, t: float) -> tuple[int, np.ndarray]:
    """Number of pairs with ``x[i] - y[j] <= t`` (as computed in floating point), and
    per ``i`` the first ``j`` that qualifies. ``x``, ``y`` sorted ascending.

    For fixed ``i`` the computed difference falls as ``y[j]`` grows, so the pairs are
    a suffix of ``y``; ``searchsorted`` finds it and a fix-up makes the boundary
    agree with the rounded differences themselves (ties jumped whole).
    """
    first = np.searchsorted(y, x - t, side="left")
    while True:
        down = first > 0
        down[down] = (x[down] - y[first[down] - 1]) <= t
        up = first < y.size
        up[up] = (x[up] - y[np.minimum(first[up], y.size - 1)]) > t
        if not down.any() and not up.any():
            break
        first[down] = np.searchsorted(y, y[first[down] - 1], side="left")
        first[up] = np.searchsorted(y, y[first[up]], side="right")
    return int((y.size - first).sum()), first


def _kth_difference(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """The ``k``-th smallest (1-based) of all ``x[i] - y[j]``, exactly, without forming them.

    Bisection on the value keeps ``count(<= low) < k <= count(<= high)``; each step
    first tries the smallest difference above ``low`` (so the answer is always one of
    the differences, and ties or a narrow bracket end the search), then halves the
    bracket.
    """
    low = float(x[0] - y[-1])  # the smallest difference
    if _pairs_at_most(x, y, low)[0] >= k:
        return low
    high = float(x[-1] - y[0])
    while True:
        _, first = _pairs_at_most(x, y, low)
        above = first > 0  # pairs (i, first[i]-1) hold the smallest difference above low
        candidate = float(np.min(x[above] - y[first[above] - 1]))
        if _pairs_at_most(x, y, candidate)[0] >= k:
            return candidate
        low = candidate
        middle = low + (high - low) / 2
        if low < middle < high:
            if _pairs_at_most(x, y, middle)[0] >= k:
                high = middle
            else:
                low = middle


def hodges_lehmann(a: Iterable[float] | np.ndarray, b: Iterable[float] | np.ndarray) -> float | None:
    """Hodges–Lehmann shift: the median of all pairwise differences ``a[i] - b[j]``.

    Equal to ``np.median(np.subtract.outer(a, b))`` (for an even number of pairs the
    mean of the two middle differences), found by selection on sorted arrays in
    ``O((na + nb) log n)`` per step instead of forming ``na·nb`` differences, so it is
    exact at any group size. ``None`` when a group is empty.
    """
    x, y = np.sort(_clean(a)), np.sort(_clean(b))
    if x.size == 0 or y.size == 0:
        return None
    total = x.size * y.size
    ux, cx = np.unique(x, return_counts=True)
    uy, cy = np.unique(y, return_counts=True)
    if ux.size * uy.size <= 4_000_000:
        # scores on a grid (the usual case): the distinct differences, weighted by how
        # many pairs give each; the same rounded differences as the full outer product
        diffs = np.subtract.outer(ux, uy).ravel()
        order = np.argsort(diffs, kind="stable")
        diffs = diffs[order]
        cumulative = np.cumsum(np.multiply.outer(cx, cy).ravel()[order])

        def kth(rank: int) -> float:
            return float(diffs[np.searchsorted(cumulative, rank, side="left")])
    else:
        def kth(rank: int) -> float:
            return _kth_difference(x, y, rank)
    if total % 2:
        return kth((total + 1) // 2)
    return float(np.mean([kth(total // 2), kth(total // 2 + 1)]))


# ----------------------------------------------------------------- proportions


def wilson_ci(x: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion ``x/n``; ``None`` when ``n == 0``.

    ``(p̂ + z²/2n ± z√[p̂(1-p̂)/n + z²/4n²]) / (1 + z²/n)`` (Wilson 1927).
    """
    if n <= 0:
        return None
    low, high = proportion_confint(int(x), int(n), alpha=1 - confidence, method="wilson")
    return float(low), float(high)


def risk_difference(x1: int, n1: int, x2: int, n2: int, percent: bool = False,
                    confidence: float = 0.95) -> Estimate:
    """Risk difference ``x1/n1 - x2/n2`` with Newcombe's hybrid-score CI.

    The CI is Newcombe (1998) method 10, built from the two Wilson intervals
    ``(l1,u1)``, ``(l2,u2)``: ``RD - √[(p1-l1)² + (u2-p2)²]`` to
    ``RD + √[(u1-p1)² + (p2-l2)²]``; recommended by Fagerland et al. (2015).
    The p-value is the Miettinen–Nurminen score test of ``RD = 0``.
    With ``percent=True`` the difference and its CI are in percentage points.

    Also reported (in ``extra``): the relative risk ``p1/p2`` with the Katz log
    CI ``exp(log RR ± z √[1/x1 - 1/n1 + 1/x2 - 1/n2])``; when a count is 0 the
    Haldane correction (add ½ to each count, 1 to each n) is applied and noted.
    ``effect_size`` is Cohen's h ``2·asin√p1 - 2·asin√p2`` so Cohen's
    benchmarks (0.2, 0.5, 0.8) apply.
    """
    x1, n1, x2, n2 = int(x1), int(n1), int(x2), int(n2)
    if n1 <= 0 or n2 <= 0:
        return not_enough("a group has nobody with a value", analysis="risk_difference",
                          n_participants=max(n1, 0), n_comparison=max(n2, 0))
    if not (0 <= x1 <= n1 and 0 <= x2 <= n2):
        return not_enough("counts outside 0..n", analysis="risk_difference",
                          n_participants=n1, n_comparison=n2)
    p1, p2 = x1 / n1, x2 / n2
    with warnings.catch_warnings():
        # statsmodels also computes ratios we do not use; a zero share makes it warn.
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff",
                                               alpha=1 - confidence)
        if p1 == p2 and p1 in (0.0, 1.0):
            p_value: float | None = 1.0  # both shares 0% (or 100%): no evidence of a difference
        else:
            p_value = finite_or_none(test_proportions_2indep(
                x1, n1, x2, n2, method="score", compare="diff").pvalue)
    scale = 100.0 if percent else 1.0
    extra: dict[str, Any] = {"share_participants": p1 * scale, "share_comparison": p2 * scale,
                             "x_participants": x1, "x_comparison": x2,
                             "units": "percentage points" if percent else "proportion"}
    rr = _relative_risk(x1, n1, x2, n2, confidence)
    extra.update(rr)
    h = 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))
    return Estimate(
        analysis="risk_difference", outcome="", wave="", estimate=(p1 - p2) * scale,
        ci_low=low * scale, ci_high=high * scale, p_value=p_value,
        n_participants=n1, n_comparison=n2, effect_size=h, effect_size_kind="cohen_h",
        extra=extra,
    )


def _relative_risk(x1: int, n1: int, x2: int, n2: int, confidence: float) -> dict[str, Any]:
    if x1 == 0 and x2 == 0:
        return {"relative_risk": None, "relative_risk_ci_low": None, "relative_risk_ci_high": None,
                "relative_risk_note": "no one above the cut-off in either group"}
    note = "Katz log interval"
    a, c, m1, m2 = float(x1), float(x2), float(n1), float(n2)
    if x1 == 0 or x2 == 0 or x1 == n1 or x2 == n2:
        # The log interval is undefined with a zero cell; Haldane's ½ keeps it finite.
        a, c, m1, m2 = a + 0.5, c + 0.5, m1 + 1.0, m2 + 1.0
        note = "Katz log interval with Haldane correction (zero cell)"
    rr = (a / m1) / (c / m2)
    se = math.sqrt(1 / a - 1 / m1 + 1 / c - 1 / m2)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return {"relative_risk": rr, "relative_risk_ci_low": math.exp(math.log(rr) - z * se),
            "relative_risk_ci_high": math.exp(math.log(rr) + z * se), "relative_risk_note": note}


# ------------------------------------------------------------ multiple testing


def _adjust(pvals: Sequence[float | None] | np.ndarray, method: str) -> list[float | None]:
    """Holm or Benjamini–Hochberg in numpy, step for step as statsmodels ``multipletests``.

    statsmodels' Holm branch calls ``gc.collect()`` on every call, which costs a
    full collection per family in a process holding many objects; the arithmetic
    below is the same (same sort, same products and quotients, same running
    max/min, same cap at 1), so the results are identical.
    """
    values = [finite_or_none(p) for p in pvals]
    index = [i for i, p in enumerate(values) if p is not None]
    out: list[float | None] = [None] * len(values)
    if not index:
        return out
    raw = np.asarray([values[i] for i in index], dtype="float64")
    order = np.argsort(raw)
    ranked = np.take(raw, order)
    m = ranked.size
    if method == "holm":
        corrected = np.maximum.accumulate(ranked * np.arange(m, 0, -1))
    elif method == "fdr_bh":
        ecdf = np.arange(1, m + 1) / float(m)
        corrected = np.minimum.accumulate((ranked / ecdf)[::-1])[::-1]
    else:
        raise ValueError(f"unknown adjustment {method!r}")
    corrected[corrected > 1] = 1
    adjusted = np.empty_like(corrected)
    adjusted[order] = corrected
    for i, p in zip(index, adjusted):
        out[i] = float(p)
    return out


def holm(pvals: Sequence[float | None] | np.ndarray) -> list[float | None]:
    """Holm step-down adjusted p-values (family-wise error rate).

    ``p̃_(i) = max_{j≤i} min(1, (m - j + 1) p_(j))``. Missing p-values stay
    ``None`` and do not count towards ``m``. Same numbers as statsmodels
    ``multipletests(method="holm")`` (its default is Holm–Šidák), without its
    per-call ``gc.collect()``.
    """
    return _adjust(pvals, "holm")


def benjamini_hochberg(pvals: Sequence[float | None] | np.ndarray) -> list[float | None]:
    """Benjamini–Hochberg adjusted p-values (false discovery rate).

    ``p̃_(i) = min_{j≥i} min(1, m p_(j) / j)``. Valid under independence or
    positive dependence. Missing p-values stay ``None``. Same numbers as
    statsmodels ``multipletests(method="fdr_bh")``.
    """
    return _adjust(pvals, "fdr_bh")


# ----------------------------------------------------------------------- power


def minimum_detectable_effect(n1: int, n2: int, power: float = 0.8, alpha: float = 0.05) -> float | None:
    """Smallest Cohen's d a two-sided two-sample t-test detects with ``power``.

    Solves the noncentral-t power equation for d (statsmodels ``TTestIndPower``,
    same as R ``pwr.t2n.test``). Report this for the observed group sizes instead
    of post-hoc power. ``None`` when a group has fewer than 2 people. Solutions
    are cached by ``(n1, n2, power, alpha)``: the report asks for the same group
    sizes once per analysis table, and the root finding is slow.
    """
    if n1 < 2 or n2 < 2:
        return None
    return _solve_mde(int(n1), int(n2), float(power), float(alpha))


@lru_cache(maxsize=4096)
def _solve_mde(n1: int, n2: int, power: float, alpha: float) -> float | None:
    return finite_or_none(TTestIndPower().solve_power(
        effect_size=None, nobs1=n1, ratio=n2 / n1, alpha=alpha, power=power,
        alternative="two-sided"))


def power_of(d: float, n1: int, n2: int, alpha: float = 0.05) -> float | None:
    """Power of a two-sided two-sample t-test for Cohen's ``d`` at ``n1`` vs ``n2``."""
    if n1 < 2 or n2 < 2:
        return None
    return finite_or_none(TTestIndPower().power(
        effect_size=d, nobs1=n1, ratio=n2 / n1, alpha=alpha, alternative="two-sided"))


def required_n(d: float, power: float = 0.8, alpha: float = 0.05, ratio: float = 1.0) -> float | None:
    """Participants needed (comparison = ``ratio`` × that) to detect Cohen's ``d``.

    Returned unrounded (R ``pwr`` style); round up for planning. ``None`` when
    ``d`` is 0 or not finite.
    """
    if finite_or_none(d) is None or d == 0:
        return None
    return finite_or_none(TTestIndPower().solve_power(
        effect_size=abs(d), nobs1=None, ratio=ratio, alpha=alpha, power=power,
        alternative="two-sided"))
