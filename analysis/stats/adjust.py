"""Participants versus comparison at a follow-up wave, unadjusted and adjusted.

All functions take the panel frame (one row per person × wave; see
:mod:`analysis.panel.participation`) and the name of an outcome column, and return an
:class:`analysis.stats.effects.Estimate` whose ``estimate`` is participants minus
comparison in the outcome's units. Nothing here raises on thin data: the
estimate's ``status`` says ``"not enough data: <reason>"`` instead.

Conventions
-----------
* Baseline is ``wave_index == 0``; the follow-up wave is chosen by its label.
* Group = ``participant`` at the follow-up wave (``sessions >= min_sessions`` on
  or before that survey date).
* Analyses that need the baseline score use people seen at both waves with the
  outcome present at both (complete cases); covariates are taken from the
  baseline row (they must precede the program). A missing categorical covariate
  becomes its own level ``"missing"`` so nobody is dropped for it.
* Inference uses t quantiles with the residual (or cluster) degrees of freedom,
  reported as ``residual_df`` for the export's disclosure rule (≥ 10).

References
----------
Angrist JD, Pischke J-S (2009). Mostly Harmless Econometrics, ch. 5 (DiD).
Van Breukelen GJP (2006). J Clin Epidemiol 59:920-925 (ANCOVA vs change scores).
Austin PC, Stuart EA (2015). Stat Med 34:3661-3679 (IPW, balance diagnostics).
Long JS, Ervin LH (2000). Am Stat 54:217-224 (HC3).
"""

from __future__ import annotations

import ctypes
import os
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import PerfectSeparationError

from analysis.stats import effects
from analysis.stats.effects import Estimate, finite_or_none, not_enough
from analysis.panel.participation import as_flag, dose_band
from scipy import stats

__all__ = [
    "ANALYSES",
    "TrendsCheck",
    "Balance",
    "unadjusted",
    "did",
    "parallel_trends_check",
    "ancova",
    "ipw",
    "balance_table",
    "dose_response",
    "high_burnout_rd",
    "compare_all",
    "estimates_frame",
    "follow_up_waves",
    "single_blas_thread",
]

ANALYSES: tuple[str, ...] = ("unadjusted", "did", "ancova", "ipw", "high_burnout_rd", "dose_response")
DEFAULT_COVARIATES: tuple[str, ...] = ("site", "role")
ONE_PRE_WAVE = "only one pre-program wave: parallel trends cannot be tested"
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "analysis", "outcome", "wave", "estimate", "ci_low", "ci_high", "p_value", "p_adjusted",
    "n_participants", "n_comparison", "effect_size", "effect_size_kind", "residual_df", "status",
    "adjust_method",
)


# ------------------------------------------------------------------ BLAS threads

_BLAS_LOCK = threading.Lock()
_BLAS_STATE: dict[str, object] = {"depth": 0, "saved": []}
_OPENBLAS_NAMES = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
                   ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
                   ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
                   ("openblas_get_num_threads", "openblas_set_num_threads"))


def _openblas_controls() -> list[tuple[object, object]]:
    """(get, set) thread-count functions of every OpenBLAS loaded in this process."""
    controls = []
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = sorted({line.split()[-1] for line in maps
                            if "openblas" in line.lower() and ".so" in line.split()[-1]})
    except OSError:
        return controls
    for path in paths:
        try:
            lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_LOCAL)
        except OSError:
            continue
        for get_name, set_name in _OPENBLAS_NAMES:
            get, set_ = getattr(lib, get_name, None), getattr(lib, set_name, None)
            if get is not None and set_ is not None:
                get.restype, set_.restype, set_.argtypes = ctypes.c_int, None, [ctypes.c_int]
                controls.append((get, set_))
                break
    return controls


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run the block with OpenBLAS on one thread (restored afterwards; nests).

    The report fits hundreds of thin regressions (n × ~12 designs). OpenBLAS splits
    each small product over every core and its threads spin-wait for each other: on
    a shared two-core server (Streamlit, other sessions, DuckDB) that made the
    logistic and OLS fits 5-30× slower than on one thread. Results are the same up
    to floating-point summation order. A no-op where OpenBLAS is not found.
    """
    with _BLAS_LOCK:
        if _BLAS_STATE["depth"] == 0:
            saved = []
            for get, set_ in _openblas_controls():
                try:
                    saved.append((set_, int(get())))  # type: ignore[operator]
                    set_(1)  # type: ignore[operator]
                except Exception:  # noqa: BLE001 - performance only, never fail the report
                    continue
            _BLAS_STATE["saved"] = saved
        _BLAS_STATE["depth"] = int(_BLAS_STATE["depth"]) + 1  # type: ignore[call-overload]
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_STATE["depth"] = int(_BLAS_STATE["depth"]) - 1  # type: ignore[call-overload]
            if _BLAS_STATE["depth"] == 0:
                for set_, threads in _BLAS_STATE["saved"]:  # type: ignore[union-attr]
                    try:
                        set_(threads)
                    except Exception:  # noqa: BLE001
                        continue
                _BLAS_STATE["saved"] = []


# ------------------------------------------------------------------ data shaping


def follow_up_waves(panel: pd.DataFrame) -> list[str]:
    """Wave labels after baseline, in ``wave_index`` order."""
    waves = panel.loc[panel["wave_index"] > 0, ["wave", "wave_index"]].drop_duplicates("wave")
    return waves.sort_values(["wave_index", "wave"])["wave"].astype(str).tolist()


class PanelIndex:
    """Row positions of a panel by wave and each person's baseline row, built once.

    Every analysis × outcome × wave needs the rows of one wave and each person's
    baseline; scanning and merging the whole panel for each of them dominated the
    report. Positions are into ``panel`` (``iloc``), in panel order.
    """

    def __init__(self, panel: pd.DataFrame) -> None:
        self.panel = panel
        waves = panel["wave"].astype(str).to_numpy(dtype=object)
        codes, labels = pd.factorize(waves)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
        self.rows = {str(label): order[bounds[i]:bounds[i + 1]] for i, label in enumerate(labels)}
        person, people = pd.factorize(panel["person"])
        self.person = person
        self.participant = as_flag(panel["participant"]).to_numpy()
        self.sessions = pd.to_numeric(panel["sessions"]).astype("float64").fillna(0).to_numpy()
        base_rows = np.flatnonzero(panel["wave_index"].to_numpy() == 0)
        base_rows = base_rows[person[base_rows] >= 0]
        self.baseline_row = np.full(len(people), -1, dtype="int64")
        base_rows = _last_per_person(base_rows, person)
        self.baseline_row[person[base_rows]] = base_rows
        self._last: dict[str, np.ndarray] = {}
        self._values: dict[str, np.ndarray] = {}
        self._covariates: dict[str, np.ndarray] = {}
        #: per-wave results shared between analyses (pairs, propensity weights)
        self.memo: dict[tuple, object] = {}

    def wave_rows(self, wave: str) -> np.ndarray:
        return self.rows.get(str(wave), np.empty(0, dtype="int64"))

    def last_rows(self, wave: str) -> np.ndarray:
        """The wave's rows, the last one per person (``drop_duplicates(keep="last")``)."""
        key = str(wave)
        if key not in self._last:
            rows = self.wave_rows(key)
            self._last[key] = _last_per_person(rows[self.person[rows] >= 0], self.person)
        return self._last[key]

    def values(self, outcome: str) -> np.ndarray:
        if outcome not in self._values:
            self._values[outcome] = pd.to_numeric(self.panel[outcome]).astype("float64").to_numpy()
        return self._values[outcome]

    def column(self, name: str) -> np.ndarray:
        if name not in self._covariates:
            self._covariates[name] = self.panel[name].to_numpy()
        return self._covariates[name]

    def labels(self, name: str) -> tuple[np.ndarray, pd.Index] | None:
        """A text covariate as codes into its sorted labels (missing as ``"missing"``),
        the labels :func:`_covariate_design` would use; None for numeric columns."""
        key = "labels " + name
        if key not in self._covariates:
            column = self.panel[name]
            if _is_numeric(column):
                self._covariates[key] = None  # type: ignore[assignment]
            else:
                codes, levels = pd.factorize(column.astype("string").fillna("missing"), sort=True)
                self._covariates[key] = (codes, levels)  # type: ignore[assignment]
        return self._covariates[key]  # type: ignore[return-value]


def _last_per_person(rows: np.ndarray, person: np.ndarray) -> np.ndarray:
    """Of ``rows`` (ascending positions), the last one of each person, in row order."""
    if rows.size == 0:
        return rows
    _, first_from_end = np.unique(person[rows][::-1], return_index=True)
    return np.sort(rows[rows.size - 1 - first_from_end])


def _wave_rows(panel: pd.DataFrame, outcome: str, wave: str,
               index: PanelIndex | None = None) -> tuple[np.ndarray, np.ndarray]:
    index = index if index is not None else PanelIndex(panel)
    rows = index.wave_rows(wave)
    values = index.values(outcome)[rows]
    present = ~np.isnan(values)
    group = index.participant[rows][present]
    values = values[present]
    return values[group], values[~group]


def _pairs(panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str] = (),
           index: PanelIndex | None = None) -> pd.DataFrame:
    """One row per person seen at baseline and ``wave`` with the outcome at both.

    Columns: ``person, baseline, follow_up, change, group (0/1), sessions`` and the
    baseline values of ``covariates`` present in the panel. The follow-up row is the
    person's last at ``wave``, the baseline their last at ``wave_index`` 0; rows in
    panel order of the follow-up rows.
    """
    if index is not None:
        key = ("pairs", outcome, str(wave), tuple(covariates))
        if key not in index.memo:
            index.memo[key] = _build_pairs(panel, outcome, wave, covariates, index)
        return index.memo[key]  # type: ignore[return-value]
    return _build_pairs(panel, outcome, wave, covariates, PanelIndex(panel))


def _build_pairs(panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str],
                 index: PanelIndex) -> pd.DataFrame:
    present = [c for c in covariates if c in panel.columns and c not in ("person", "participant", "sessions")]
    follow = index.last_rows(wave)
    base = index.baseline_row[index.person[follow]]
    y = index.values(outcome)
    follow_up = y[follow]
    baseline = np.where(base >= 0, y[np.maximum(base, 0)], np.nan)
    keep = (base >= 0) & ~np.isnan(follow_up) & ~np.isnan(baseline)
    follow, base = follow[keep], base[keep]
    pairs = pd.DataFrame({"person": index.column("person")[follow], "follow_up": follow_up[keep],
                          "participant": index.participant[follow],
                          "sessions": index.sessions[follow], "baseline": baseline[keep]})
    for name in present:
        coded = index.labels(name)
        if coded is None:
            pairs[name] = pd.Series(index.column(name)[base], dtype=panel[name].dtype)
        else:
            pairs[name] = pd.Categorical.from_codes(coded[0][base], categories=coded[1])
    pairs["change"] = pairs["follow_up"] - pairs["baseline"]
    pairs["group"] = pairs["participant"].astype("int64")
    return pairs


def _group_sizes(pairs: pd.DataFrame) -> tuple[int, int]:
    n1 = int(pairs["group"].sum())
    return n1, int(len(pairs) - n1)


def _thin(n1: int, n0: int, minimum: int = 2) -> str | None:
    if n1 == 0:
        return "no participants seen at both baseline and this wave"
    if n0 == 0:
        return "no comparison respondents seen at both baseline and this wave"
    if n1 < minimum or n0 < minimum:
        return f"fewer than {minimum} people in a group (participants {n1}, comparison {n0})"
    return None


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _covariate_design(pairs: pd.DataFrame, covariates: Sequence[str], drop_first: bool = True
                      ) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Numeric design columns for the covariates; drops those with a single level.

    Returns the design, the covariates used and the covariates dropped (with why).
    """
    blocks: list[pd.DataFrame] = []
    used: list[str] = []
    dropped: list[str] = []
    for name in covariates:
        if name not in pairs.columns:
            dropped.append(f"{name} (not in data)")
            continue
        column = pairs[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            block = _dummies_from_codes(column, name, drop_first)
            if block is None:
                dropped.append(f"{name} (one level)")
                continue
            blocks.append(block)
        elif _is_numeric(column) and column.notna().all():
            if column.nunique() < 2:
                dropped.append(f"{name} (one value)")
                continue
            blocks.append(column.astype("float64").to_frame(name))
        else:
            labels = column.astype("string").fillna("missing")
            if labels.nunique() < 2:
                dropped.append(f"{name} (one level)")
                continue
            dummies = pd.get_dummies(labels, prefix=name, prefix_sep="=", drop_first=drop_first, dtype="float64")
            blocks.append(dummies)
        used.append(name)
    design = pd.concat(blocks, axis=1) if blocks else pd.DataFrame(index=pairs.index)
    return design, used, dropped


def _dummies_from_codes(column: pd.Series, name: str, drop_first: bool) -> pd.DataFrame | None:
    """``pd.get_dummies`` of a categorical's present levels (None with one level).

    Levels in category order, which :meth:`PanelIndex.labels` makes the sorted order
    ``get_dummies`` uses for text; only levels present in ``column`` get a column.
    """
    codes = column.cat.codes.to_numpy()
    categories = column.cat.categories
    if (codes < 0).any():
        labels = column.astype("string").fillna("missing")
        if labels.nunique() < 2:
            return None
        return pd.get_dummies(labels, prefix=name, prefix_sep="=", drop_first=drop_first, dtype="float64")
    present = np.flatnonzero(np.bincount(codes, minlength=len(categories)))
    if present.size < 2:
        return None
    if drop_first:
        present = present[1:]
    matrix = (codes[:, None] == present[None, :]).astype("float64")
    return pd.DataFrame(matrix, index=column.index,
                        columns=[f"{name}={categories[i]}" for i in present])


def _pooled_sd(values: pd.Series, group: pd.Series) -> float | None:
    a = values[group == 1].to_numpy()
    b = values[group == 0].to_numpy()
    if a.size < 2 or b.size < 2:
        return None
    pooled = ((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2)
    return float(np.sqrt(pooled)) if pooled > 0 else None


def _standardize(value: float | None, sd: float | None) -> float | None:
    if value is None or sd is None or sd == 0:
        return None
    return value / sd


@dataclass(frozen=True, eq=False)
class _Fit:
    """A least-squares fit with a robust covariance, as statsmodels computes it."""

    params: np.ndarray
    cov: np.ndarray
    df: float

    def coefficient(self, position: int, confidence: float
                    ) -> tuple[float | None, float | None, float | None, float | None, float | None]:
        """(estimate, ci_low, ci_high, p, se) of one coefficient; None where not finite.

        t inference on ``df`` as statsmodels' ``conf_int`` and ``pvalues`` with
        ``use_t=True``.
        """
        return _t_inference(self.params[position], np.sqrt(self.cov[position, position]), self.df,
                            confidence)


def _t_inference(estimate_value: float, se_value: float, df: float, confidence: float
                 ) -> tuple[float | None, float | None, float | None, float | None, float | None]:
    estimate = finite_or_none(estimate_value)
    se = finite_or_none(se_value)
    if estimate is None or se is None or se <= 0:
        return estimate, None, None, None, se
    q = stats.t.ppf(1 - (1 - confidence) / 2.0, df)
    p_value = stats.t.sf(np.abs(estimate / se), df) * 2
    return (estimate, finite_or_none(estimate - q * se), finite_or_none(estimate + q * se),
            finite_or_none(p_value), se)


def _full_rank(design: np.ndarray) -> tuple[bool, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Whether ``design`` has full column rank (``np.linalg.matrix_rank``'s rule), and its SVD."""
    u, singular, vt = np.linalg.svd(design, full_matrices=False)
    if singular.size == 0:
        return False, (u, singular, vt)
    tol = singular.max() * max(design.shape) * np.finfo(singular.dtype).eps
    return bool(int((singular > tol).sum()) >= design.shape[1]), (u, singular, vt)


def _robust_fit(y: np.ndarray, design: np.ndarray, cov_type: str, weights: np.ndarray | None = None,
                svd: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> _Fit:
    """OLS/WLS by the pseudo-inverse with an HC1 or HC3 covariance.

    The same arithmetic as statsmodels ``OLS/WLS(...).fit(cov_type=..., use_t=True)``
    (``method="pinv"``: ``pinv_extended`` with rcond 1e-15; HC scales from the whitened
    residuals; t on ``n - p`` df), without its per-fit overhead.
    """
    if weights is not None:
        root = np.sqrt(weights)
        wexog, wendog = design * root[:, None], y * root
        svd = None
    else:
        wexog, wendog = design, y
    u, singular, vt = svd if svd is not None else np.linalg.svd(wexog, full_matrices=False)
    cutoff = 1e-15 * np.maximum.reduce(singular)
    inverse = np.where(singular > cutoff, 1.0 / np.where(singular > cutoff, singular, 1.0), 0.0)
    pinv = np.dot(np.transpose(vt), np.multiply(inverse[:, np.newaxis], np.transpose(u)))
    params = np.dot(pinv, wendog)
    resid = wendog - np.dot(wexog, params)
    nobs, k = wexog.shape
    df = float(nobs - k)
    if cov_type == "HC3":
        normalized = np.dot(pinv, np.transpose(pinv))
        leverage = np.einsum("ij,ik,kj->i", wexog, wexog, normalized)
        scale = (resid / (1 - leverage)) ** 2
    elif cov_type == "HC1":
        scale = nobs / df * resid ** 2
    else:
        raise ValueError(f"unknown covariance {cov_type!r}")
    cov = np.dot(pinv, scale[:, None] * pinv.T)
    return _Fit(params=params, cov=cov, df=df)


# --------------------------------------------------------------------- analyses


def unadjusted(panel: pd.DataFrame, outcome: str, wave: str, confidence: float = 0.95, *,
               index: PanelIndex | None = None) -> Estimate:
    """Difference of means at one wave (Welch), with Hedges' g and Mann–Whitney.

    Everyone who answered at ``wave`` is used (no baseline needed).
    ``estimate = mean(participants) - mean(comparison)``; CI and p from Welch's
    t-test (:func:`analysis.stats.effects.welch_difference`). ``effect_size`` is
    Hedges' g. ``extra`` carries the Mann–Whitney companion (``mw_u``,
    ``mw_p_value``, ``rank_biserial``) and ``minimum_detectable_d`` (80% power,
    α = .05) for the observed group sizes. Assumes nothing about who joined:
    a raw comparison.
    """
    a, b = _wave_rows(panel, outcome, wave, index)
    welch = effects.welch_difference(a, b, confidence)
    labels = {"analysis": "unadjusted", "outcome": outcome, "wave": str(wave)}
    if not welch.ok:
        return replace(welch, **labels)
    ranks = effects.mann_whitney(a, b)
    extra = welch.info()
    extra.update({
        "mw_u": ranks.get("u"), "mw_p_value": ranks.p_value, "rank_biserial": ranks.effect_size,
        "mw_method": ranks.get("method"), "hodges_lehmann": ranks.estimate,
        "minimum_detectable_d": effects.minimum_detectable_effect(a.size, b.size),
    })
    return replace(welch, extra=tuple(extra.items()), residual_df=welch.get("df"), **labels)


def did(panel: pd.DataFrame, outcome: str, wave: str, confidence: float = 0.95, *,
        index: PanelIndex | None = None) -> Estimate:
    """Difference-in-differences of change from baseline.

    People seen at baseline and ``wave``; group = participant at ``wave``.
    The long-data OLS ``y = β0 + β1·group + β2·post + β3·group·post`` (two rows
    per person) with standard errors cluster-robust by person and t on ``G - 1``
    df (``residual_df``, G = people), computed in closed form: the model is
    saturated, so ``β3 = mean change(participants) - mean change(comparison)``
    and each person's score contribution to β3 is their change residual over
    their group size. The cluster sandwich is therefore
    ``Σ_1 e²/n1² + Σ_0 e²/n0²`` (e = change minus group mean change), times
    statsmodels' small-sample factor ``G/(G-1) · (N-1)/(N-4)`` with ``N = 2G``
    rows. Same numbers as statsmodels ``OLS(...).fit(cov_type="cluster")``.

    ``effect_size`` = β3 / pooled within-group baseline SD (kind
    ``"d_baseline_sd"``).

    Assumes parallel trends: without the program both groups would have changed
    alike. With one pre-program wave this cannot be checked (see
    :func:`parallel_trends_check`). If people joined *because* their baseline
    score was high, their fall partly reflects regression to the mean;
    ``extra["baseline_smd"]`` shows the baseline gap.
    """
    pairs = _pairs(panel, outcome, wave, index=index)
    n1, n0 = _group_sizes(pairs)
    labels = {"analysis": "did", "outcome": outcome, "wave": str(wave)}
    reason = _thin(n1, n0)
    if reason:
        return not_enough(reason, n_participants=n1, n_comparison=n0, **labels)
    if pairs["change"].std(ddof=0) == 0 and pairs["baseline"].std(ddof=0) == 0:
        return not_enough("all values equal", n_participants=n1, n_comparison=n0, **labels)
    group = pairs["group"].to_numpy() == 1
    change = pairs["change"].to_numpy()
    baseline = pairs["baseline"].to_numpy()
    change1, change0 = change[group], change[~group]
    mean1, mean0 = change1.mean(), change0.mean()
    count = len(pairs)
    rows = 2 * count
    correction = count / (count - 1.0) * ((rows - 1.0) / float(rows - 4))
    variance = (np.square(change1 - mean1).sum() / n1 ** 2
                + np.square(change0 - mean0).sum() / n0 ** 2) * correction
    estimate, low, high, p_value, se = _t_inference(mean1 - mean0, np.sqrt(variance), count - 1.0,
                                                    confidence)
    if low is None:
        return not_enough("no variation in change from baseline", n_participants=n1, n_comparison=n0, **labels)
    baseline_sd = _pooled_sd(pairs["baseline"], pairs["group"])
    base1, base0 = baseline[group].mean(), baseline[~group].mean()
    return Estimate(
        estimate=estimate, ci_low=low, ci_high=high, p_value=p_value, n_participants=n1, n_comparison=n0,
        effect_size=_standardize(estimate, baseline_sd), effect_size_kind="d_baseline_sd",
        residual_df=float(count - 1),
        extra={"se": se, "t": estimate / se if estimate is not None and se else None,
               "baseline_participants": base1, "baseline_comparison": base0,
               "change_participants": mean1, "change_comparison": mean0,
               "baseline_sd": baseline_sd,
               "baseline_smd": _standardize(float(base1 - base0), baseline_sd),
               "se_type": "cluster-robust by person"},
        **labels,
    )


@dataclass(frozen=True)
class TrendsCheck:
    """Result of :func:`parallel_trends_check`.

    ``testable`` is False when fewer than two pre-program waves exist (then
    ``caveat`` explains) or a group is too small. ``p_value`` is for the joint
    Wald F test that every group × wave interaction is zero.
    """

    outcome: str
    pre_waves: tuple[str, ...]
    testable: bool
    statistic: float | None
    df_num: float | None
    df_denom: float | None
    p_value: float | None
    n_participants: int
    n_comparison: int
    caveat: str | None
    status: str = "ok"


def parallel_trends_check(panel: pd.DataFrame, outcome: str, pre_waves: Sequence[str] | None = None
                          ) -> TrendsCheck:
    """Test whether eventual participants and the comparison group moved in parallel before the program.

    Parameters
    ----------
    pre_waves : wave labels before the program started. ``None`` picks the waves
        where nobody had attended a session yet (``sessions == 0`` for all).

    Method
    ------
    Group = participant at any later wave (ever participant). On the pre-program
    waves, OLS ``y ~ group + C(wave) + group:C(wave)`` with cluster-robust SE by
    person; joint F test of the interaction terms. A small p-value is evidence
    against parallel trends; a large one is not proof of them.

    With fewer than two pre-program waves nothing can be tested: ``testable`` is
    False and ``caveat`` is ``"only one pre-program wave: parallel trends cannot
    be tested"``.
    """
    ever = as_flag(panel["participant"]).groupby(panel["person"]).any()
    if pre_waves is None:
        started = panel.groupby("wave")["sessions"].max().fillna(0) > 0
        pre_waves = [str(w) for w in started.index[~started.to_numpy()]]
    order = panel.drop_duplicates("wave").set_index(panel.drop_duplicates("wave")["wave"].astype(str))["wave_index"]
    waves = tuple(sorted({str(w) for w in pre_waves if str(w) in order.index}, key=lambda w: order[w]))
    rows = panel.loc[panel["wave"].astype(str).isin(waves) & panel[outcome].notna(), ["person", "wave", outcome]]
    rows = rows.assign(group=rows["person"].map(ever).astype(bool).astype("float64"))
    n1 = int(rows.loc[rows["group"] == 1, "person"].nunique())
    n0 = int(rows.loc[rows["group"] == 0, "person"].nunique())
    if len(waves) < 2:
        return TrendsCheck(outcome, waves, False, None, None, None, None, n1, n0, ONE_PRE_WAVE,
                           "not enough data: " + ONE_PRE_WAVE)
    reason = _thin(n1, n0)
    if reason:
        return TrendsCheck(outcome, waves, False, None, None, None, None, n1, n0,
                           "groups too small to test parallel trends", "not enough data: " + reason)
    wave_dummies = pd.get_dummies(pd.Categorical(rows["wave"].astype(str), categories=list(waves)),
                                  prefix="wave", drop_first=True, dtype="float64")
    wave_dummies.index = rows.index
    interactions = wave_dummies.mul(rows["group"], axis=0).add_prefix("group:")
    design = pd.concat([pd.Series(1.0, index=rows.index, name="const"), rows["group"], wave_dummies,
                        interactions], axis=1)
    result = sm.OLS(rows[outcome].astype("float64"), design).fit(
        cov_type="cluster", cov_kwds={"groups": rows["person"].to_numpy()}, use_t=True)
    restriction = np.zeros((interactions.shape[1], design.shape[1]))
    for i, name in enumerate(interactions.columns):
        restriction[i, list(design.columns).index(name)] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        test = result.f_test(restriction)
    statistic = finite_or_none(np.squeeze(test.fvalue))
    p_value = finite_or_none(np.squeeze(test.pvalue))
    if statistic is None or p_value is None:
        return TrendsCheck(outcome, waves, False, None, None, None, None, n1, n0,
                           "no variation before the program", "not enough data: no variation before the program")
    caveat = None
    if p_value < 0.05:
        caveat = "groups already moved differently before the program: the DiD estimate may be biased"
    return TrendsCheck(outcome, waves, True, statistic, float(test.df_num), float(test.df_denom), p_value,
                       n1, n0, caveat)


def ancova(panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str] = DEFAULT_COVARIATES,
           confidence: float = 0.95, *, index: PanelIndex | None = None) -> Estimate:
    """Follow-up score adjusted for baseline score and covariates (ANCOVA).

    OLS ``follow_up = β0 + β1·group + β2·baseline + Σ covariate dummies``, with
    HC3 heteroskedasticity-robust SE and t inference on the residual df.
    ``estimate = β1``. Covariates with a single level in the sample are dropped
    (listed in ``extra["covariates_dropped"]``). ``effect_size`` = β1 / pooled
    follow-up SD (kind ``"d_follow_up_sd"``).

    Assumes that, among people with the same baseline score (and covariates),
    joining is unrelated to the follow-up score (selection on the measured
    baseline), and a linear, common baseline slope. Differs from DiD when groups
    differ at baseline (Lord's paradox).
    """
    pairs = _pairs(panel, outcome, wave, covariates, index=index)
    n1, n0 = _group_sizes(pairs)
    labels = {"analysis": "ancova", "outcome": outcome, "wave": str(wave)}
    reason = _thin(n1, n0)
    if reason:
        return not_enough(reason, n_participants=n1, n_comparison=n0, **labels)
    extra_design, used, dropped = _covariate_design(pairs, covariates)
    design = pd.concat([pd.Series(1.0, index=pairs.index, name="const"),
                        pairs["group"].astype("float64"), pairs["baseline"], extra_design], axis=1)
    rank_memo = (index.memo, ("full rank", outcome, str(wave), tuple(covariates))) if index else None
    return _fit_group_effect(pairs["follow_up"], design, pairs, n1, n0, labels, "HC3", confidence,
                             {"covariates_used": tuple(used), "covariates_dropped": tuple(dropped),
                              "se_type": "HC3"}, rank_memo=rank_memo)


def _fit_group_effect(y: pd.Series, design: pd.DataFrame, pairs: pd.DataFrame, n1: int, n0: int,
                      labels: Mapping[str, str], cov_type: str, confidence: float,
                      extra: Mapping[str, object], weights: np.ndarray | None = None,
                      rank_memo: tuple[dict, tuple] | None = None) -> Estimate:
    """The ``group`` coefficient (column 1 of ``design``) of an OLS/WLS fit, robust SE.

    ``rank_memo`` (dict, key) records whether ``design`` had full rank: the
    propensity design of the same pairs is a subset of its columns, so it then has
    full rank too and IPW skips its own SVD.
    """
    matrix = design.to_numpy(dtype="float64")
    full_rank, svd = _full_rank(matrix)
    if rank_memo is not None:
        rank_memo[0][rank_memo[1]] = full_rank
    if not full_rank:
        return not_enough("covariates leave no independent group comparison (collinear)",
                          n_participants=n1, n_comparison=n0, **labels)
    if len(design) - design.shape[1] < 1:
        return not_enough("no residual degrees of freedom", n_participants=n1, n_comparison=n0, **labels)
    if y.std(ddof=0) == 0:
        return not_enough("all values equal", n_participants=n1, n_comparison=n0, **labels)
    position = list(design.columns).index("group")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        fit = _robust_fit(y.to_numpy(dtype="float64"), matrix, cov_type, weights=weights,
                          svd=svd if weights is None else None)
        estimate, low, high, p_value, se = fit.coefficient(position, confidence)
    if low is None:
        return not_enough("group effect not estimable (a person has full leverage or no variation)",
                          n_participants=n1, n_comparison=n0, **labels)
    sd = _pooled_sd(pairs["follow_up"], pairs["group"])
    info = dict(extra)
    info.update({"se": se, "follow_up_sd": sd})
    return Estimate(estimate=estimate, ci_low=low, ci_high=high, p_value=p_value, n_participants=n1,
                    n_comparison=n0, effect_size=_standardize(estimate, sd), effect_size_kind="d_follow_up_sd",
                    residual_df=fit.df, extra=info, **labels)


@dataclass(frozen=True)
class _Weighting:
    pairs: pd.DataFrame
    covariate_matrix: pd.DataFrame
    weights: np.ndarray | None
    reason: str | None
    used: tuple[str, ...]
    dropped: tuple[str, ...]
    trim_bounds: tuple[float, float] | None


def _propensity_weights(panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str],
                        trim: tuple[float, float], index: PanelIndex | None = None) -> _Weighting:
    """Propensity weights (memoised on ``index``: IPW and the balance table share one fit)."""
    if index is None:
        return _compute_weights(panel, outcome, wave, covariates, trim, None)
    key = ("weights", outcome, str(wave), tuple(covariates), tuple(trim))
    if key not in index.memo:
        index.memo[key] = _compute_weights(panel, outcome, wave, covariates, trim, index)
    return index.memo[key]  # type: ignore[return-value]


def _compute_weights(panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str],
                     trim: tuple[float, float], index: PanelIndex | None) -> _Weighting:
    pairs = _pairs(panel, outcome, wave, covariates, index=index)
    n1, n0 = _group_sizes(pairs)
    balance_design, _, _ = _covariate_design(pairs, covariates, drop_first=False)
    covariate_matrix = pd.concat([pairs["baseline"].to_frame(f"baseline {outcome}"), balance_design], axis=1)
    reason = _thin(n1, n0)
    if reason:
        return _Weighting(pairs, covariate_matrix, None, reason, (), (), None)
    model_design, used, dropped = _covariate_design(pairs, covariates)
    design = pd.concat([pd.Series(1.0, index=pairs.index, name="const"), pairs["baseline"], model_design], axis=1)
    matrix = design.to_numpy(dtype="float64")
    # columns of ANCOVA's design on the same pairs: full rank there means full rank here
    # (a subset of independent columns; its smallest singular value can only grow)
    known = index is not None and index.memo.get(("full rank", outcome, str(wave), tuple(covariates))) is True
    if not (known or _full_rank(matrix)[0]) or len(design) <= design.shape[1]:
        return _Weighting(pairs, covariate_matrix, None, "too few people for the propensity model",
                          tuple(used), tuple(dropped), None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # numpy arrays, not frames: the same fit without pandas bookkeeping
            fit = sm.Logit(pairs["group"].to_numpy(dtype="float64"), matrix).fit(disp=0, maxiter=200)
            propensity = np.asarray(fit.predict(matrix), dtype="float64")
            converged = bool(fit.mle_retvals.get("converged", True))
        except (np.linalg.LinAlgError, ValueError, PerfectSeparationError):
            propensity, converged = np.full(len(pairs), np.nan), False
    if not converged or not np.all(np.isfinite(propensity)) or propensity.min() < 1e-6 or propensity.max() > 1 - 1e-6:
        return _Weighting(pairs, covariate_matrix, None,
                          "groups do not overlap (some people certain to join or not)", tuple(used),
                          tuple(dropped), None)
    group = pairs["group"].to_numpy()
    share = group.mean()
    # Bounding the propensity (not the pooled weights) caps exactly the extreme
    # weights of each group; capping pooled weights at their 1st percentile also
    # lifts the many small weights and leaves much of the selection bias in place.
    low, high = np.percentile(propensity, [100 * trim[0], 100 * trim[1]])
    bounded = np.clip(propensity, low, high)
    weights = np.where(group == 1, share / bounded, (1 - share) / (1 - bounded))
    return _Weighting(pairs, covariate_matrix, weights, None, tuple(used), tuple(dropped),
                      (float(low), float(high)))


def _kish(weights: np.ndarray) -> float | None:
    if weights.size == 0:
        return None
    return float(weights.sum() ** 2 / np.square(weights).sum())


def ipw(panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str] = DEFAULT_COVARIATES,
        trim: tuple[float, float] = (0.01, 0.99), confidence: float = 0.95, *,
        index: PanelIndex | None = None) -> Estimate:
    """Inverse-probability-weighted difference at follow-up (average effect in everyone).

    1. Propensity ``e = P(participant | baseline score, covariates)`` from a
       logistic regression (statsmodels ``Logit``).
    2. Stabilized weights ``P(T=1)/e`` for participants and ``P(T=0)/(1-e)`` for
       the comparison group.
    3. Trimming: the propensity is bounded at its 1st and 99th percentiles
       (``trim``) before forming the weights, which truncates the extreme weights
       of each group (Stürmer et al. 2010; Cole & Hernán 2008 truncate weights
       at percentiles to the same end). Extreme weights inflate variance;
       bounding rather than dropping keeps everyone in the sample. The bounds
       are in ``extra["propensity_trim_low"/"_high"]``.
    4. ``estimate`` = β1 of WLS ``follow_up ~ 1 + group`` with those weights,
       i.e. the weighted mean difference; HC1 robust SE, t on ``n - 2`` df. The SE
       treats the weights as known (ignores propensity estimation), which is
       usually conservative for this estimand.

    ``effect_size`` = estimate / unweighted pooled follow-up SD. ``extra`` has the
    Kish effective sample sizes ``(Σw)²/Σw²`` per group. Assumes no unmeasured
    confounding (the baseline score and covariates capture why people joined)
    and overlap (everyone had some chance of each group). Check
    :func:`balance_table`.
    """
    weighting = _propensity_weights(panel, outcome, wave, covariates, trim, index)
    pairs = weighting.pairs
    n1, n0 = _group_sizes(pairs)
    labels = {"analysis": "ipw", "outcome": outcome, "wave": str(wave)}
    if weighting.reason or weighting.weights is None:
        return not_enough(weighting.reason or "weights not estimable", n_participants=n1, n_comparison=n0,
                          **labels)
    weights = weighting.weights
    group = pairs["group"].to_numpy()
    design = pd.concat([pd.Series(1.0, index=pairs.index, name="const"),
                        pairs["group"].astype("float64")], axis=1)
    extra = {"covariates_used": weighting.used, "covariates_dropped": weighting.dropped,
             "ess_participants": _kish(weights[group == 1]), "ess_comparison": _kish(weights[group == 0]),
             "propensity_trim_low": weighting.trim_bounds[0] if weighting.trim_bounds else None,
             "propensity_trim_high": weighting.trim_bounds[1] if weighting.trim_bounds else None,
             "se_type": "HC1 (weights treated as known)"}
    return _fit_group_effect(pairs["follow_up"], design, pairs, n1, n0, labels, "HC1", confidence, extra,
                             weights=weights)


@dataclass(frozen=True, eq=False)
class Balance:
    """Covariate balance before and after weighting (see :func:`balance_table`)."""

    table: pd.DataFrame
    ess_participants: float | None
    ess_comparison: float | None
    n_participants: int
    n_comparison: int
    status: str = "ok"


def _weighted_mean_var(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    total = w.sum()
    mean = float((w * x).sum() / total)
    # Reliability-weight correction: equals the ddof=1 variance when all weights are 1.
    denominator = total - np.square(w).sum() / total
    variance = float((w * np.square(x - mean)).sum() / denominator) if denominator > 0 else float("nan")
    return mean, variance


def balance_table(panel: pd.DataFrame, outcome: str, wave: str,
                  covariates: Sequence[str] = DEFAULT_COVARIATES, trim: tuple[float, float] = (0.01, 0.99),
                  threshold: float = 0.1, *, index: PanelIndex | None = None) -> Balance:
    """Standardized mean differences and variance ratios before and after IPW.

    For each covariate (the baseline score, each level of each categorical
    covariate, each numeric covariate):

    * ``smd = (m1 - m0) / √((s1² + s0²)/2)``, with weighted means after
      weighting and the *unweighted* variances in the denominator both times (so
      the two columns are comparable; Austin & Stuart 2015);
    * ``variance_ratio = s1² / s0²`` (participants over comparison), weighted
      variances after weighting;
    * ``flag`` when ``|smd_after| > threshold`` (0.1) or, when weights are not
      available, ``|smd_before| > threshold``.

    No p-values: balance is a property of the sample, not a hypothesis. Effective
    sample sizes (Kish) are on the returned :class:`Balance`. Good balance:
    |SMD| < 0.1 and variance ratio within 0.5–2.
    """
    weighting = _propensity_weights(panel, outcome, wave, covariates, trim, index)
    pairs = weighting.pairs
    n1, n0 = _group_sizes(pairs)
    group = pairs["group"].to_numpy()
    weights = weighting.weights
    rows = []
    for name in weighting.covariate_matrix.columns:
        x = weighting.covariate_matrix[name].to_numpy(dtype="float64")
        row: dict[str, object] = {"covariate": name}
        if n1 >= 2 and n0 >= 2:
            ones = np.ones_like(x)
            m1, v1 = _weighted_mean_var(x[group == 1], ones[group == 1])
            m0, v0 = _weighted_mean_var(x[group == 0], ones[group == 0])
            spread = np.sqrt((v1 + v0) / 2)
            row["smd_before"] = (m1 - m0) / spread if spread > 0 else (0.0 if m1 == m0 else np.nan)
            row["variance_ratio_before"] = v1 / v0 if v0 > 0 else np.nan
            if weights is not None:
                wm1, wv1 = _weighted_mean_var(x[group == 1], weights[group == 1])
                wm0, wv0 = _weighted_mean_var(x[group == 0], weights[group == 0])
                row["smd_after"] = (wm1 - wm0) / spread if spread > 0 else (0.0 if wm1 == wm0 else np.nan)
                row["variance_ratio_after"] = wv1 / wv0 if wv0 > 0 else np.nan
        rows.append(row)
    columns = ["covariate", "smd_before", "smd_after", "variance_ratio_before", "variance_ratio_after", "flag"]
    table = pd.DataFrame(rows).reindex(columns=columns)
    for column in columns[1:5]:
        table[column] = table[column].astype("float64")
    judged = table["smd_after"] if weights is not None else table["smd_before"]
    table["flag"] = judged.abs() > threshold
    status = "ok" if weighting.reason is None else "not enough data: " + weighting.reason
    return Balance(
        table=table,
        ess_participants=_kish(weights[group == 1]) if weights is not None else None,
        ess_comparison=_kish(weights[group == 0]) if weights is not None else None,
        n_participants=n1, n_comparison=n0, status=status,
    )


def dose_response(panel: pd.DataFrame, outcome: str, wave: str, confidence: float = 0.95, *,
                  index: PanelIndex | None = None) -> Estimate:
    """Change from baseline per session attended, among participants only.

    OLS ``change = β0 + β1·sessions`` (sessions attended by the follow-up survey)
    with HC3 SE and t inference; ``estimate = β1`` in outcome units per session.
    ``extra["mean_change_by_dose"]`` is a tuple of ``(dose band, n, mean
    change)``. The comparison group is not used: ``n_comparison`` is ``None``.

    Assumes a linear dose effect and that people who attend more do not differ
    in other ways that change their score (attendance is self-chosen, so this is
    descriptive support for, not proof of, an effect).
    """
    pairs = _pairs(panel, outcome, wave, index=index)
    takers = pairs.loc[pairs["group"] == 1].reset_index(drop=True)
    n1 = len(takers)
    labels = {"analysis": "dose_response", "outcome": outcome, "wave": str(wave)}
    if n1 < 3:
        return not_enough(f"fewer than 3 participants seen at both waves ({n1})", n_participants=n1,
                          n_comparison=None, **labels)
    if takers["sessions"].nunique() < 2:
        return not_enough("every participant attended the same number of sessions", n_participants=n1,
                          n_comparison=None, **labels)
    takers["band"] = dose_band(takers["sessions"])
    by_band = takers.groupby("band", observed=True)["change"].agg(["size", "mean"])
    table = tuple((str(band), int(row["size"]), float(row["mean"])) for band, row in by_band.iterrows())
    design = pd.concat([pd.Series(1.0, index=takers.index, name="const"), takers["sessions"]], axis=1)
    if takers["change"].std(ddof=0) == 0:
        return not_enough("no variation in change from baseline", n_participants=n1, n_comparison=None,
                          **labels)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        fit = _robust_fit(takers["change"].to_numpy(dtype="float64"), design.to_numpy(dtype="float64"), "HC3")
        estimate, low, high, p_value, se = fit.coefficient(1, confidence)
    if low is None:
        return not_enough("slope not estimable (a person has full leverage)", n_participants=n1,
                          n_comparison=None, **labels)
    return Estimate(estimate=estimate, ci_low=low, ci_high=high, p_value=p_value, n_participants=n1,
                    n_comparison=None, effect_size=None, effect_size_kind=None,
                    residual_df=fit.df,
                    extra={"se": se, "se_type": "HC3", "mean_change_by_dose": table,
                           "units": "per session attended"}, **labels)


def high_burnout_rd(panel: pd.DataFrame, outcome: str, wave: str, cutoff: float, direction: str = "high",
                    confidence: float = 0.95, *, index: PanelIndex | None = None) -> Estimate:
    """Difference in the share with high burnout at ``wave``, in percentage points.

    ``high`` is ``score ≥ cutoff`` (``direction="high"``) or ``score ≤ cutoff``
    (``"low"``). Everyone who answered at ``wave`` is used. CI: Newcombe hybrid
    score; p: score test; relative risk with Katz CI in ``extra``
    (:func:`analysis.stats.effects.risk_difference`). Unadjusted.

    ``residual_df`` is ``n1 + n2 - 2``: the score interval uses no t distribution, so
    this is the conservative analogue (the df of the two-group linear probability
    model ``high ~ 1 + group``) for the export's residual-df rule.
    """
    a, b = _wave_rows(panel, outcome, wave, index)
    labels = {"analysis": "high_burnout_rd", "outcome": outcome, "wave": str(wave)}
    if direction not in ("high", "low"):
        return not_enough(f"unknown cut-off direction {direction!r}", n_participants=a.size,
                          n_comparison=b.size, **labels)
    high_a = int((a >= cutoff).sum() if direction == "high" else (a <= cutoff).sum())
    high_b = int((b >= cutoff).sum() if direction == "high" else (b <= cutoff).sum())
    reason = _thin(a.size, b.size)
    if reason:
        return not_enough(reason.replace(" seen at both baseline and this wave", " at this wave"),
                          n_participants=a.size, n_comparison=b.size, **labels)
    result = effects.risk_difference(high_a, a.size, high_b, b.size, percent=True, confidence=confidence)
    info = result.info()
    info.update({"cutoff": float(cutoff), "direction": direction})
    residual_df = float(a.size + b.size - 2) if result.ok else None
    return replace(result, extra=tuple(info.items()), residual_df=residual_df, **labels)


# -------------------------------------------------------------- whole report


def compare_all(panel: pd.DataFrame, outcomes: Sequence[str],
                cutoffs: Mapping[str, tuple[float, str]] | None = None,
                primary: Mapping[str, str] | None = None,
                covariates: Sequence[str] = DEFAULT_COVARIATES,
                analyses: Iterable[str] = ANALYSES) -> list[Estimate]:
    """Every analysis × outcome × follow-up wave, with multiplicity-adjusted p-values.

    Parameters
    ----------
    outcomes : outcome columns to analyse (missing columns are skipped).
    cutoffs : outcome → ``(cutoff, direction)`` for ``high_burnout_rd`` (only
        outcomes listed get that analysis).
    primary : outcome → instrument family (e.g. ``{"cbi_work": "cbi",
        "cbi_personal": "cbi", "cbi_client": "cbi"}``) naming the pre-specified
        primary outcomes.

    Multiplicity
    ------------
    A *family* is one analysis at one wave (the analyses are alternative views
    of the same question and waves are separate questions, so neither is pooled).
    Within it, the primary outcomes of one instrument are Holm-adjusted together
    (family-wise error: the confirmatory claim), and all other outcomes are
    Benjamini–Hochberg-adjusted together (false discovery rate: exploratory).
    Results carry ``p_adjusted`` and ``adjust_method`` (``"holm"`` or
    ``"benjamini_hochberg"``); estimates without a p-value keep ``None``.
    """
    cutoffs = cutoffs or {}
    primary = primary or {}
    wanted = [a for a in ANALYSES if a in set(analyses)]
    present = [o for o in outcomes if o in panel.columns]
    results: list[Estimate] = []
    with single_blas_thread():
        index = PanelIndex(panel)
        for wave in follow_up_waves(panel):
            for outcome in present:
                # one pairs frame per outcome × wave, shared by every analysis
                pairs = _pairs(panel, outcome, wave, covariates, index=index)
                index.memo[("pairs", outcome, str(wave), ())] = pairs
                for analysis in wanted:
                    if analysis == "unadjusted":
                        results.append(unadjusted(panel, outcome, wave, index=index))
                    elif analysis == "did":
                        results.append(did(panel, outcome, wave, index=index))
                    elif analysis == "ancova":
                        results.append(ancova(panel, outcome, wave, covariates, index=index))
                    elif analysis == "ipw":
                        results.append(ipw(panel, outcome, wave, covariates, index=index))
                    elif analysis == "high_burnout_rd" and outcome in cutoffs:
                        cutoff, direction = cutoffs[outcome]
                        results.append(high_burnout_rd(panel, outcome, wave, cutoff, direction, index=index))
                    elif analysis == "dose_response":
                        results.append(dose_response(panel, outcome, wave, index=index))
            index.memo.clear()  # one wave's pairs at a time in memory
    return _adjust_families(results, primary)


def _adjust_families(results: list[Estimate], primary: Mapping[str, str]) -> list[Estimate]:
    families: dict[tuple[str, str, str, str], list[int]] = {}
    for index, est in enumerate(results):
        kind = ("holm", primary[est.outcome]) if est.outcome in primary else ("benjamini_hochberg", "")
        families.setdefault((est.analysis, est.wave, *kind), []).append(index)
    adjusted = list(results)
    for (_, _, method, _), members in families.items():
        pvals = [results[i].p_value for i in members]
        values = effects.holm(pvals) if method == "holm" else effects.benjamini_hochberg(pvals)
        for i, value in zip(members, values):
            adjusted[i] = replace(results[i], p_adjusted=value,
                                  adjust_method=method if value is not None else None)
    return adjusted


def estimates_frame(estimates: Sequence[Estimate]) -> pd.DataFrame:
    """Tidy frame of estimates, one row each (``None`` becomes empty/NaN).

    Columns: ``analysis, outcome, wave, estimate, ci_low, ci_high, p_value,
    p_adjusted, n_participants, n_comparison, effect_size, effect_size_kind,
    residual_df, status, adjust_method``.
    """
    rows = [{column: getattr(est, column) for column in ESTIMATE_COLUMNS} for est in estimates]
    frame = pd.DataFrame(rows, columns=list(ESTIMATE_COLUMNS))
    for column in ("estimate", "ci_low", "ci_high", "p_value", "p_adjusted", "effect_size", "residual_df"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in ("n_participants", "n_comparison"):
        frame[column] = pd.array(frame[column], dtype="Int64")
    return frame
