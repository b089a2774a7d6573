"""The result records every estimator returns, and the t intervals they share.

An :class:`Estimate` is one comparison of participants with the comparison group
(participants minus comparison, in the outcome's units). Nothing raises on thin
data: :func:`not_enough` builds an estimate whose ``status`` says why. The t
interval helpers (:func:`t_half_width`, :func:`t_inference`) are the one place a
Student-t quantile turns a standard error into an interval.

References
----------
Welch BL (1947). Biometrika 34:28-35.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import stats

__all__ = [
    "NOT_ENOUGH",
    "OK",
    "Estimate",
    "MeanCI",
    "clean_values",
    "finite_or_none",
    "mean_ci",
    "not_enough",
    "t_half_width",
    "t_inference",
    "two_groups_reason",
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


def freeze_extra(extra: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> tuple[tuple[str, Any], ...]:
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
        object.__setattr__(self, "extra", freeze_extra(self.extra))  # type: ignore[arg-type]

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
                 wave: str | None = None) -> Estimate:
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
        extra=freeze_extra(extra),
    )


@dataclass(frozen=True)
class MeanCI:
    """Mean with a t-based confidence interval."""

    n: int
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    status: str = OK


def clean_values(values: Iterable[float] | np.ndarray) -> np.ndarray:
    """Float array without missing values (missing outcomes are not data)."""
    array = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    return array[np.isfinite(array)]


def two_groups_reason(a: np.ndarray, b: np.ndarray, minimum: int = 2) -> str | None:
    """Why two groups of values are too thin to compare, or None when they are not."""
    if a.size == 0:
        return "no participants with a value"
    if b.size == 0:
        return "no comparison respondents with a value"
    if a.size < minimum or b.size < minimum:
        return f"fewer than {minimum} people in a group (participants {a.size}, comparison {b.size})"
    return None


# ------------------------------------------------------------------ t intervals


def t_half_width(sd: Any, n: Any, confidence: float = 0.95) -> Any:
    """Half-width of the Student-t interval of a mean: ``t_{1-α/2, n-1} · sd / √n``.

    Works on scalars (returns a float) and on arrays or Series (element-wise; ``n``
    below 2 uses 1 df, and ``sd`` should then be missing). Assumes independent
    observations and a roughly normal sampling distribution of the mean.
    """
    half = stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(np.maximum(n, 1))
    return float(half) if np.ndim(half) == 0 else half


def t_inference(estimate_value: float, se_value: float, df: float, confidence: float
                ) -> tuple[float | None, float | None, float | None, float | None, float | None]:
    """(estimate, ci_low, ci_high, p, se) from an estimate and its SE with t on ``df``.

    ``estimate ± t_{1-α/2, df} · se`` and the two-sided p of ``estimate / se``, as
    statsmodels' ``conf_int`` and ``pvalues`` with ``use_t=True``. None where not finite
    (no interval without a positive SE).
    """
    estimate = finite_or_none(estimate_value)
    se = finite_or_none(se_value)
    if estimate is None or se is None or se <= 0:
        return estimate, None, None, None, se
    q = stats.t.ppf(1 - (1 - confidence) / 2.0, df)
    p_value = stats.t.sf(np.abs(estimate / se), df) * 2
    return (estimate, finite_or_none(estimate - q * se), finite_or_none(estimate + q * se),
            finite_or_none(p_value), se)


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
    x = clean_values(values)
    n = int(x.size)
    if n == 0:
        return MeanCI(0, None, None, None, None, NOT_ENOUGH + "no values")
    mean = float(x.mean())
    if n < 2:
        return MeanCI(n, mean, None, None, None, NOT_ENOUGH + "one value only")
    sd = float(x.std(ddof=1))
    half = t_half_width(sd, n, confidence)
    return MeanCI(n, mean, sd, mean - half, mean + half)
