"""Shares and two-by-two tables: Wilson interval, risk difference (Newcombe), relative risk (Katz).

References
----------
Newcombe RG (1998). Statistics in Medicine 17:873-890 (method 10).
Fagerland MW, Lydersen S, Laake P (2015). Stat Methods Med Res 24:224-254.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from scipy import stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    test_proportions_2indep,
)

from analysis.stats.estimates import Estimate, finite_or_none, not_enough

__all__ = ["relative_risk", "risk_difference", "wilson_ci"]


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
    rr = relative_risk(x1, n1, x2, n2, confidence)
    extra.update(rr)
    h = 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))
    return Estimate(
        analysis="risk_difference", outcome="", wave="", estimate=(p1 - p2) * scale,
        ci_low=low * scale, ci_high=high * scale, p_value=p_value,
        n_participants=n1, n_comparison=n2, effect_size=h, effect_size_kind="cohen_h",
        extra=extra,
    )


def relative_risk(x1: int, n1: int, x2: int, n2: int, confidence: float) -> dict[str, Any]:
    """Relative risk ``(x1/n1) / (x2/n2)`` with the Katz log interval, as ``extra`` entries.

    A zero cell gets Haldane's correction (½ to each count, 1 to each n), noted in
    ``relative_risk_note``; no one above the cut-off in either group gives None.
    """
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
