"""Power of the two-group t-test: power, minimum detectable effect, required size.

References
----------
Cohen J (1988). Statistical Power Analysis for the Behavioral Sciences, 2nd ed.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import optimize, stats
from statsmodels.stats.power import TTestIndPower

from analysis.stats.estimates import finite_or_none

__all__ = ["minimum_detectable_effect", "power_of", "required_n"]


def minimum_detectable_effect(n1: int, n2: int, power: float = 0.8, alpha: float = 0.05) -> float | None:
    """Smallest Cohen's d a two-sided two-sample t-test detects with ``power``.

    Solves the noncentral-t power equation for d (the equation of statsmodels
    ``TTestIndPower`` and R ``pwr.t2n.test``, solved by bracketing). Report this for
    the observed group sizes instead of post-hoc power. ``None`` when a group has
    fewer than 2 people. Solutions are cached by ``(n1, n2, power, alpha)``: the
    report asks for the same group sizes once per analysis table.
    """
    if n1 < 2 or n2 < 2:
        return None
    return _solve_mde(int(n1), int(n2), float(power), float(alpha))


@lru_cache(maxsize=4096)
def _solve_mde(n1: int, n2: int, power: float, alpha: float) -> float | None:
    # statsmodels' solve_power (fsolve, then a widening brentq) takes 10–130 ms at the
    # sizes of a filtered report; the same noncentral-t power equation bracketed around
    # its normal approximation takes 2–20 ms and agrees to 1e-6 (tests)
    scale = float(np.sqrt(n1 * n2 / (n1 + n2)))
    df = n1 + n2 - 2
    crit = float(stats.t.isf(alpha / 2, df))

    def shortfall(d: float) -> float:
        nc = d * scale
        return float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc)) - power

    guess = float(stats.norm.isf(alpha / 2) + stats.norm.ppf(power)) / scale
    low, high = 0.5 * guess, 2.0 * guess + 1.0 / scale
    if not shortfall(low) < 0 < shortfall(high):  # outside the usual bracket: the library
        return finite_or_none(TTestIndPower().solve_power(
            effect_size=None, nobs1=n1, ratio=n2 / n1, alpha=alpha, power=power,
            alternative="two-sided"))
    return finite_or_none(optimize.brentq(shortfall, low, high, xtol=1e-10))


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
