"""Parametric two-group test: Welch's t-test of participants against comparison.

References
----------
Welch BL (1947). Biometrika 34:28-35.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy import stats

from analysis.stats.effect_sizes import hedges_g
from analysis.stats.estimates import Estimate, clean_values, not_enough, two_groups_reason

__all__ = ["welch_difference"]


def welch_difference(a: Iterable[float] | np.ndarray, b: Iterable[float] | np.ndarray,
                     confidence: float = 0.95) -> Estimate:
    """Welch two-sample t-test of ``mean(a) - mean(b)``.

    ``t = (x̄a - x̄b) / √(sa²/na + sb²/nb)`` with Welch–Satterthwaite df
    ``(sa²/na + sb²/nb)² / [(sa²/na)²/(na-1) + (sb²/nb)²/(nb-1)]``; CI is
    ``difference ± t_{1-α/2, df} · SE``. Does not assume equal variances; assumes
    independent observations and approximately normal group means. Matches R
    ``t.test(a, b)``. The effect size is Hedges' g (see :func:`hedges_g`).
    """
    x, y = clean_values(a), clean_values(b)
    reason = two_groups_reason(x, y)
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
