"""Rank-based two-group comparisons: Mann–Whitney U with rank-biserial r, Hodges–Lehmann shift.

No distributional assumption beyond independence.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy import stats

from analysis.panel.index import distinct
from analysis.stats.estimates import Estimate, clean_values, not_enough, two_groups_reason

__all__ = ["hodges_lehmann", "kth_difference", "mann_whitney"]


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
    x, y = clean_values(a), clean_values(b)
    reason = two_groups_reason(x, y)
    if reason:
        return not_enough(reason, analysis="mann_whitney", n_participants=x.size, n_comparison=y.size)
    both = np.concatenate([x, y])
    if np.ptp(both) == 0:
        return not_enough("all values equal", analysis="mann_whitney",
                          n_participants=x.size, n_comparison=y.size)
    has_ties = distinct(both).size < both.size
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


def kth_difference(x: np.ndarray, y: np.ndarray, k: int) -> float:
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
    x, y = np.sort(clean_values(a)), np.sort(clean_values(b))
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
            return kth_difference(x, y, rank)
    if total % 2:
        return kth((total + 1) // 2)
    return float(np.mean([kth(total // 2), kth(total // 2 + 1)]))


# ----------------------------------------------------------------- proportions
