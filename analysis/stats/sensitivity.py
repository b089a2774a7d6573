"""How strong would hidden bias have to be to overturn the headline? E-value and trends breakdown.

* :func:`e_value` — VanderWeele & Ding (2017): the minimum strength of association (risk
  ratio scale) an unmeasured confounder would need with both joining and the outcome to
  explain away the estimate (and, for the interval, to move it to include no effect). A
  difference in means is put on the risk-ratio scale with ``RR ≈ exp(0.91 · d)``
  (VanderWeele 2017, for a standardized mean difference d).
* :func:`trends_breakdown` — the relative-magnitudes idea of HonestDiD (Rambachan & Roth
  2023): after the program starts, trends may differ by up to ``M̄`` times the largest
  difference between the groups' changes seen before it. The breakdown ``M̄*`` is the
  smallest ``M̄`` at which the (approximate) robust interval
  ``[β̂ - k·M̄·max|placebo| - t·se, β̂ + k·M̄·max|placebo| + t·se]`` contains 0 (``k``: waves
  from the base to the wave estimated). This is the conservative union of the
  identified set and the sampling interval, not HonestDiD's optimal FLCI.

References
----------
VanderWeele TJ, Ding P (2017). Ann Intern Med 167:268-274.
VanderWeele TJ (2017). Epidemiology 28:e40 (E-values for continuous outcomes, exp(0.91 d)).
Rambachan A, Roth J (2023). Rev Econ Stud 90:2555-2591.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

__all__ = ["EValue", "TrendsBreakdown", "e_value", "e_value_rr", "trends_breakdown"]


def e_value_rr(rr: float) -> float:
    """E-value of a risk ratio: ``RR + √(RR(RR - 1))`` (ratios below 1 are inverted first)."""
    if rr <= 0:
        raise ValueError("risk ratio must be positive")
    ratio = rr if rr >= 1 else 1.0 / rr
    return float(ratio + math.sqrt(ratio * (ratio - 1.0)))


@dataclass(frozen=True)
class EValue:
    """E-value of the estimate and of the interval limit closer to no effect."""

    point: float
    interval: float
    sentence: str


def e_value(estimate: float, ci_low: float, ci_high: float, sd: float) -> EValue:
    """E-value of a difference in means (outcome units) with its interval.

    ``d = estimate / sd``; ``RR = exp(0.91 d)``; the interval's E-value uses the limit
    closer to 0, and is 1 when the interval contains 0 (no confounding needed).

    Examples
    --------
    >>> round(e_value(-5.0, -8.0, -2.0, 10.0).point, 3)
    2.529
    """
    if sd <= 0:
        raise ValueError("sd must be positive")
    point = e_value_rr(math.exp(0.91 * estimate / sd))
    if ci_low <= 0 <= ci_high:
        interval = 1.0
    else:
        nearest = ci_low if estimate > 0 else ci_high
        interval = e_value_rr(math.exp(0.91 * nearest / sd))
    if interval == 1.0:
        sentence = (
            "The interval already includes no effect, so no hidden factor is needed to explain "
            "the result away."
        )
    else:
        sentence = (
            f"To explain this result away, something we did not measure would have to make people "
            f"{point:.1f} times more likely to join and, at the same time, {point:.1f} times more "
            f"likely to have a different score (to move the interval to no effect: {interval:.1f} "
            f"times)."
        )
    return EValue(point, interval, sentence)


@dataclass(frozen=True)
class TrendsBreakdown:
    """Relative-magnitude breakdown of a DiD estimate (module docstring)."""

    breakdown: float | None  # M̄*; None without placebo estimates
    largest_placebo: float | None
    sentence: str


def trends_breakdown(
    estimate: float,
    se: float,
    df: float,
    placebos: Sequence[float],
    waves_after: int = 1,
    confidence: float = 0.95,
) -> TrendsBreakdown:
    """Smallest ``M̄`` for which a trends violation ``M̄ × max|placebo|`` per wave overturns the estimate.

    Parameters
    ----------
    placebos : pre-program placebo estimates (change of participants minus change of
        the comparison group over one wave before the start).
    waves_after : waves from the base wave to the estimated wave (violations add up).
    """
    if not placebos:
        return TrendsBreakdown(
            None,
            None,
            "With one survey before the program, trends before it cannot be "
            "compared, so this check is not possible.",
        )
    largest = max(abs(p) for p in placebos)
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    room = abs(estimate) - half
    if room <= 0:
        return TrendsBreakdown(0.0, largest, "The interval already includes no effect.")
    if largest == 0:
        return TrendsBreakdown(math.inf, largest, "Before the program the two groups moved exactly alike.")
    breakdown = room / (waves_after * largest)
    sentence = (
        f"The result holds unless, after the program started, the two groups' trends differed by "
        f"more than {breakdown:.1f} times the largest gap seen between them before it "
        f"({largest:.1f} points a wave)."
    )
    return TrendsBreakdown(float(breakdown), float(largest), sentence)
