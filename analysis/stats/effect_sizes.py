"""Standardized effect sizes: pooled SD, Cohen's d, Hedges' g.

Pure functions: numbers in, a number or a frozen :class:`EffectSize` out. Differences
are participants (``a``) minus comparison (``b``).

References
----------
Hedges LV, Olkin I (1985). Statistical Methods for Meta-Analysis. Academic Press.
Cohen J (1988). Statistical Power Analysis for the Behavioral Sciences, 2nd ed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.stats.estimates import NOT_ENOUGH, OK, clean_values, two_groups_reason

__all__ = ["EffectSize", "cohen_d", "hedges_g", "pooled_sd", "standardize"]


@dataclass(frozen=True)
class EffectSize:
    """A standardized effect size with an optional confidence interval."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    kind: str
    status: str = OK


def pooled_sd(n1: int, variance1: float, n2: int, variance2: float) -> float | None:
    """Pooled within-group SD ``√[((n1-1)s1² + (n2-1)s2²) / (n1+n2-2)]``.

    Takes each group's size and sample variance (ddof = 1), so every caller keeps
    its own way of computing the variances. ``None`` when a group has fewer than 2
    people or the pooled variance is not positive (no spread to standardize by).
    """
    if n1 < 2 or n2 < 2:
        return None
    pooled = ((n1 - 1) * variance1 + (n2 - 1) * variance2) / (n1 + n2 - 2)
    return float(math.sqrt(pooled)) if pooled > 0 else None


def standardize(value: float | None, sd: float | None) -> float | None:
    """``value / sd``, or None when either is missing or ``sd`` is 0."""
    if value is None or sd is None or sd == 0:
        return None
    return value / sd


def cohen_d(a: Iterable[float] | np.ndarray, b: Iterable[float] | np.ndarray) -> float | None:
    """Cohen's d with the pooled SD: ``(x̄a - x̄b) / s_p``.

    ``s_p = √[((na-1)sa² + (nb-1)sb²) / (na+nb-2)]``. Matches R
    ``effsize::cohen.d``. Returns ``None`` for fewer than 2 per group or zero SD.
    """
    x, y = clean_values(a), clean_values(b)
    if two_groups_reason(x, y):
        return None
    sp = pooled_sd(x.size, x.var(ddof=1), y.size, y.var(ddof=1))
    if sp is None:
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
    x, y = clean_values(a), clean_values(b)
    kind = "hedges_g"
    reason = two_groups_reason(x, y)
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
