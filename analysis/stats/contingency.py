"""Shares and two-by-two tables: Wilson interval, risk difference (Newcombe, or exact mid-p when
counts are small), relative risk (Katz) that never points the wrong way.

References
----------
Newcombe RG (1998). Statistics in Medicine 17:873-890 (method 10).
Fagerland MW, Lydersen S, Laake P (2015). Stat Methods Med Res 24:224-254.
Chan ISF, Zhang Z (1999). Biometrics 55:1202-1209 (exact unconditional interval).
Berger RL, Boos DD (1994). J Am Stat Assoc 89:1012-1016.
Lancaster HO (1961). J Am Stat Assoc 56:223-234 (mid-p).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    test_proportions_2indep,
)

from analysis.stats.estimates import Estimate, finite_or_none, not_enough

__all__ = ["exact_risk_difference", "relative_risk", "risk_difference", "wilson_ci"]

#: below this expected count in any cell the score test is not trusted
MIN_EXPECTED = 5.0


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
    total_high = x1 + x2
    expected = min(n1, n2) * min(total_high, n1 + n2 - total_high) / (n1 + n2)
    if expected < MIN_EXPECTED:
        low, high, p_value = exact_risk_difference(x1, n1, x2, n2, confidence)
        method = "exact unconditional mid-p (an expected count is under 5)"
    else:
        with warnings.catch_warnings():
            # statsmodels also computes ratios we do not use; a zero share makes it warn.
            warnings.simplefilter("ignore", RuntimeWarning)
            low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff",
                                                   alpha=1 - confidence)
            p_value = finite_or_none(test_proportions_2indep(
                x1, n1, x2, n2, method="score", compare="diff").pvalue)
        method = "Newcombe hybrid score interval, Miettinen-Nurminen score test"
    scale = 100.0 if percent else 1.0
    extra: dict[str, Any] = {"share_participants": p1 * scale, "share_comparison": p2 * scale,
                             "x_participants": x1, "x_comparison": x2,
                             "units": "percentage points" if percent else "proportion",
                             "method": method, "smallest_expected_count": expected}
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

    The point is always the plain ratio of the shares, so it never points the other way
    from them. With a zero cell the log interval is undefined: Haldane's correction
    (½ to each count, 1 to each n) gives the finite end of the interval only; nobody
    above the cut-off among participants gives RR 0 with lower limit 0, nobody in the
    comparison group gives no ratio (infinite) with the Haldane lower limit; nobody in
    either group gives None.
    """
    if x1 == 0 and x2 == 0:
        return {"relative_risk": None, "relative_risk_ci_low": None, "relative_risk_ci_high": None,
                "relative_risk_note": "no one above the cut-off in either group"}
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    a, c, m1, m2 = float(x1), float(x2), float(n1), float(n2)
    corrected = x1 == 0 or x2 == 0 or x1 == n1 or x2 == n2
    if corrected:
        a, c, m1, m2 = a + 0.5, c + 0.5, m1 + 1.0, m2 + 1.0
    ratio = (a / m1) / (c / m2)
    se = math.sqrt(1 / a - 1 / m1 + 1 / c - 1 / m2)
    low, high = math.exp(math.log(ratio) - z * se), math.exp(math.log(ratio) + z * se)
    if not corrected:
        return {"relative_risk": ratio, "relative_risk_ci_low": low, "relative_risk_ci_high": high,
                "relative_risk_note": "Katz log interval"}
    note = "Katz log interval; Haldane correction for the finite end (zero cell)"
    if x2 == 0:
        return {"relative_risk": None, "relative_risk_ci_low": low, "relative_risk_ci_high": None,
                "relative_risk_note": "nobody in the comparison group above the cut-off: no finite ratio; "
                + note}
    point = (x1 / n1) / (x2 / n2)
    if x1 == 0:
        low = 0.0
    return {"relative_risk": point, "relative_risk_ci_low": min(low, point),
            "relative_risk_ci_high": max(high, point), "relative_risk_note": note}


def _restricted_shares(x1: np.ndarray, n1: int, x2: np.ndarray, n2: int, delta: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood shares under ``p1 - p2 = delta`` (Farrington & Manning's closed form)."""
    s1, s2 = x1 / n1, x2 / n2
    theta = n2 / n1
    a = 1.0 + theta
    b = -(1.0 + theta + s1 + theta * s2 + delta * (theta + 2.0))
    c = delta ** 2 + delta * (2.0 * s1 + theta + 1.0) + s1 + theta * s2
    d = -s1 * delta * (1.0 + delta)
    v = b ** 3 / (27 * a ** 3) - b * c / (6 * a ** 2) + d / (2 * a)
    u = np.sign(v) * np.sqrt(np.clip(b ** 2 / (9 * a ** 2) - c / (3 * a), 0.0, None))
    safe_u = np.where(u == 0, 1.0, u)
    w = (np.pi + np.arccos(np.clip(np.where(u == 0, 0.0, v / safe_u ** 3), -1.0, 1.0))) / 3.0
    p1 = np.clip(2 * u * np.cos(w) - b / (3 * a), 0.0, 1.0)
    return p1, np.clip(p1 - delta, 0.0, 1.0)


def _score(x1: np.ndarray, n1: int, x2: np.ndarray, n2: int, delta: float) -> np.ndarray:
    """Farrington–Manning score statistic of ``p1 - p2 = delta`` for every table given."""
    r1, r2 = _restricted_shares(x1, n1, x2, n2, delta)
    variance = r1 * (1 - r1) / n1 + r2 * (1 - r2) / n2
    gap = x1 / n1 - x2 / n2 - delta
    with np.errstate(divide="ignore", invalid="ignore"):
        z = gap / np.sqrt(variance)
    return np.where(variance > 0, z, np.where(gap > 0, np.inf, np.where(gap < 0, -np.inf, 0.0)))


_GAMMA = 1e-4   # Berger-Boos: nuisance searched over a 1 - γ interval, γ added to the p-value


def _tail(x1: int, n1: int, x2: int, n2: int, delta: float, upper: bool, grid: int = 40) -> float:
    """Largest mid-p tail of the score statistic over the nuisance share (Berger & Boos 1994)."""
    low2, high2 = proportion_confint(x2, n2, alpha=_GAMMA, method="beta")
    lo, hi = max(0.0, -delta, low2), min(1.0, 1.0 - delta, high2)
    if lo > hi:
        return _GAMMA
    p2 = np.linspace(lo, hi, grid)
    p1 = np.clip(p2 + delta, 0.0, 1.0)
    # tables with non-negligible probability anywhere on the grid
    k1 = np.arange(int(stats.binom.ppf(1e-12, n1, p1.min())), int(stats.binom.isf(1e-12, n1, p1.max())) + 1)
    k2 = np.arange(int(stats.binom.ppf(1e-12, n2, lo)), int(stats.binom.isf(1e-12, n2, hi)) + 1)
    k1 = np.union1d(k1, [x1])
    k2 = np.union1d(k2, [x2])
    z = _score(k1[:, None].astype(float), n1, k2[None, :].astype(float), n2, delta)
    z_obs = float(_score(np.array([float(x1)]), n1, np.array([float(x2)]), n2, delta)[0])
    beyond = (z > z_obs + 1e-10) if upper else (z < z_obs - 1e-10)
    tied = np.abs(z - z_obs) <= 1e-10
    mass = beyond + 0.5 * tied
    pmf1 = stats.binom.pmf(k1[None, :], n1, p1[:, None])
    pmf2 = stats.binom.pmf(k2[None, :], n2, p2[:, None])
    tails = np.einsum("gi,ij,gj->g", pmf1, mass, pmf2)
    return float(min(1.0, tails.max() + _GAMMA))


def exact_risk_difference(x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95
                          ) -> tuple[float, float, float]:
    """Exact unconditional mid-p interval and p-value for ``p1 - p2`` that always agree.

    Tables are ordered by the Farrington–Manning score statistic of ``p1 - p2 = Δ``
    (Chan & Zhang 1999); each one-sided mid-p value is maximised over the nuisance
    share on a grid within its 1 - 10⁻⁴ Clopper–Pearson interval, plus 10⁻⁴ (Berger &
    Boos 1994). The interval is the
    set of differences Δ that neither one-sided test at ``(1 - confidence)/2`` rejects;
    the two-sided p is twice the smaller one-sided mid-p at Δ = 0 (capped at 1), so
    ``p < 1 - confidence`` exactly when 0 is outside the interval.
    """
    alpha = (1 - confidence) / 2
    t_obs = x1 / n1 - x2 / n2
    p_value = min(1.0, 2 * min(_tail(x1, n1, x2, n2, 0.0, True), _tail(x1, n1, x2, n2, 0.0, False)))

    def bound(upper: bool) -> float:
        # tail(upper, Δ) grows with Δ; find where it crosses alpha
        low, high = (-1.0, t_obs) if upper else (t_obs, 1.0)
        for _ in range(18):
            mid = (low + high) / 2
            inside = _tail(x1, n1, x2, n2, mid, upper) > alpha
            if upper:
                low, high = (low, mid) if inside else (mid, high)
            else:
                low, high = (mid, high) if inside else (low, mid)
        return (low + high) / 2

    return bound(True), bound(False), p_value


# ------------------------------------------------------------ multiple testing
