"""Participants versus comparison at a follow-up wave, unadjusted and adjusted.

All functions take the panel frame (one row per person × wave; see
:mod:`analysis.participation`) and the name of an outcome column, and return an
:class:`analysis.effects.Estimate` whose ``estimate`` is participants minus
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

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import PerfectSeparationError

from analysis import effects
from analysis.effects import Estimate, finite_or_none, not_enough
from analysis.participation import as_flag, dose_band

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
]

ANALYSES: tuple[str, ...] = ("unadjusted", "did", "ancova", "ipw", "high_burnout_rd", "dose_response")
DEFAULT_COVARIATES: tuple[str, ...] = ("site", "role")
ONE_PRE_WAVE = "only one pre-program wave: parallel trends cannot be tested"
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "analysis", "outcome", "wave", "estimate", "ci_low", "ci_high", "p_value", "p_adjusted",
    "n_participants", "n_comparison", "effect_size", "effect_size_kind", "residual_df", "status",
    "adjust_method",
)


# ------------------------------------------------------------------ data shaping


def follow_up_waves(panel: pd.DataFrame) -> list[str]:
    """Wave labels after baseline, in ``wave_index`` order."""
    waves = panel.loc[panel["wave_index"] > 0, ["wave", "wave_index"]].drop_duplicates("wave")
    return waves.sort_values(["wave_index", "wave"])["wave"].astype(str).tolist()


def _wave_rows(panel: pd.DataFrame, outcome: str, wave: str) -> tuple[np.ndarray, np.ndarray]:
    rows = panel.loc[(panel["wave"].astype(str) == str(wave)) & panel[outcome].notna()]
    group = as_flag(rows["participant"]).to_numpy()
    values = rows[outcome].astype("float64").to_numpy()
    return values[group], values[~group]


def _pairs(panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str] = ()) -> pd.DataFrame:
    """One row per person seen at baseline and ``wave`` with the outcome at both.

    Columns: ``person, baseline, follow_up, change, group (0/1), sessions`` and the
    baseline values of ``covariates`` present in the panel.
    """
    present = [c for c in covariates if c in panel.columns and c not in ("person", "participant", "sessions")]
    base = panel.loc[panel["wave_index"] == 0, ["person", outcome, *present]]
    base = base.drop_duplicates("person", keep="last").rename(columns={outcome: "baseline"})
    follow = panel.loc[panel["wave"].astype(str) == str(wave), ["person", outcome, "participant", "sessions"]]
    follow = follow.drop_duplicates("person", keep="last").rename(columns={outcome: "follow_up"})
    pairs = follow.merge(base, on="person", how="inner")
    pairs = pairs.loc[pairs["baseline"].notna() & pairs["follow_up"].notna()].copy()
    pairs["baseline"] = pairs["baseline"].astype("float64")
    pairs["follow_up"] = pairs["follow_up"].astype("float64")
    pairs["change"] = pairs["follow_up"] - pairs["baseline"]
    pairs["group"] = as_flag(pairs["participant"]).astype("int64")
    pairs["sessions"] = pairs["sessions"].fillna(0).astype("float64")
    return pairs.reset_index(drop=True)


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
        if _is_numeric(column) and column.notna().all():
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


def _coefficient(result: sm.regression.linear_model.RegressionResultsWrapper, name: str, confidence: float
                 ) -> tuple[float | None, float | None, float | None, float | None, float | None]:
    """(estimate, ci_low, ci_high, p, se) of one coefficient; None where not finite."""
    position = list(result.model.exog_names).index(name)
    estimate = finite_or_none(np.asarray(result.params)[position])
    se = finite_or_none(np.asarray(result.bse)[position])
    if estimate is None or se is None or se <= 0:
        return estimate, None, None, None, se
    low, high = np.asarray(result.conf_int(alpha=1 - confidence))[position]
    return estimate, finite_or_none(low), finite_or_none(high), finite_or_none(np.asarray(result.pvalues)[position]), se


def _residual_df(result: sm.regression.linear_model.RegressionResultsWrapper) -> float:
    inference_df = getattr(result, "df_resid_inference", None)
    return float(inference_df if inference_df is not None else result.df_resid)


# --------------------------------------------------------------------- analyses


def unadjusted(panel: pd.DataFrame, outcome: str, wave: str, confidence: float = 0.95) -> Estimate:
    """Difference of means at one wave (Welch), with Hedges' g and Mann–Whitney.

    Everyone who answered at ``wave`` is used (no baseline needed).
    ``estimate = mean(participants) - mean(comparison)``; CI and p from Welch's
    t-test (:func:`analysis.effects.welch_difference`). ``effect_size`` is
    Hedges' g. ``extra`` carries the Mann–Whitney companion (``mw_u``,
    ``mw_p_value``, ``rank_biserial``) and ``minimum_detectable_d`` (80% power,
    α = .05) for the observed group sizes. Assumes nothing about who joined:
    a raw comparison.
    """
    a, b = _wave_rows(panel, outcome, wave)
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


def did(panel: pd.DataFrame, outcome: str, wave: str, confidence: float = 0.95) -> Estimate:
    """Difference-in-differences of change from baseline.

    People seen at baseline and ``wave``; group = participant at ``wave``.
    Long data (two rows per person) fitted by OLS
    ``y = β0 + β1·group + β2·post + β3·group·post``; ``β3`` equals
    ``mean change(participants) - mean change(comparison)``. Standard errors are
    cluster-robust by person (statsmodels ``cov_type="cluster"``), t with
    ``G - 1`` df (``residual_df``, G = people).

    ``effect_size`` = β3 / pooled within-group baseline SD (kind
    ``"d_baseline_sd"``).

    Assumes parallel trends: without the program both groups would have changed
    alike. With one pre-program wave this cannot be checked (see
    :func:`parallel_trends_check`). If people joined *because* their baseline
    score was high, their fall partly reflects regression to the mean;
    ``extra["baseline_smd"]`` shows the baseline gap.
    """
    pairs = _pairs(panel, outcome, wave)
    n1, n0 = _group_sizes(pairs)
    labels = {"analysis": "did", "outcome": outcome, "wave": str(wave)}
    reason = _thin(n1, n0)
    if reason:
        return not_enough(reason, n_participants=n1, n_comparison=n0, **labels)
    if pairs["change"].std(ddof=0) == 0 and pairs["baseline"].std(ddof=0) == 0:
        return not_enough("all values equal", n_participants=n1, n_comparison=n0, **labels)
    count = len(pairs)
    group = np.concatenate([pairs["group"].to_numpy(), pairs["group"].to_numpy()]).astype("float64")
    post = np.repeat([0.0, 1.0], count)
    design = pd.DataFrame({"const": 1.0, "group": group, "post": post, "group:post": group * post})
    y = np.concatenate([pairs["baseline"].to_numpy(), pairs["follow_up"].to_numpy()])
    clusters = np.concatenate([np.arange(count), np.arange(count)])
    result = sm.OLS(y, design).fit(cov_type="cluster", cov_kwds={"groups": clusters}, use_t=True)
    estimate, low, high, p_value, se = _coefficient(result, "group:post", confidence)
    if low is None:
        return not_enough("no variation in change from baseline", n_participants=n1, n_comparison=n0, **labels)
    baseline_sd = _pooled_sd(pairs["baseline"], pairs["group"])
    means = pairs.groupby("group")[["baseline", "follow_up", "change"]].mean()
    return Estimate(
        estimate=estimate, ci_low=low, ci_high=high, p_value=p_value, n_participants=n1, n_comparison=n0,
        effect_size=_standardize(estimate, baseline_sd), effect_size_kind="d_baseline_sd",
        residual_df=_residual_df(result),
        extra={"se": se, "t": estimate / se if estimate is not None and se else None,
               "baseline_participants": means.loc[1, "baseline"], "baseline_comparison": means.loc[0, "baseline"],
               "change_participants": means.loc[1, "change"], "change_comparison": means.loc[0, "change"],
               "baseline_sd": baseline_sd,
               "baseline_smd": _standardize(float(means.loc[1, "baseline"] - means.loc[0, "baseline"]), baseline_sd),
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
           confidence: float = 0.95) -> Estimate:
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
    pairs = _pairs(panel, outcome, wave, covariates)
    n1, n0 = _group_sizes(pairs)
    labels = {"analysis": "ancova", "outcome": outcome, "wave": str(wave)}
    reason = _thin(n1, n0)
    if reason:
        return not_enough(reason, n_participants=n1, n_comparison=n0, **labels)
    extra_design, used, dropped = _covariate_design(pairs, covariates)
    design = pd.concat([pd.Series(1.0, index=pairs.index, name="const"),
                        pairs["group"].astype("float64"), pairs["baseline"], extra_design], axis=1)
    return _fit_group_effect(pairs["follow_up"], design, pairs, n1, n0, labels, "HC3", confidence,
                             {"covariates_used": tuple(used), "covariates_dropped": tuple(dropped),
                              "se_type": "HC3"})


def _fit_group_effect(y: pd.Series, design: pd.DataFrame, pairs: pd.DataFrame, n1: int, n0: int,
                      labels: Mapping[str, str], cov_type: str, confidence: float,
                      extra: Mapping[str, object], weights: np.ndarray | None = None) -> Estimate:
    if np.linalg.matrix_rank(design.to_numpy()) < design.shape[1]:
        return not_enough("covariates leave no independent group comparison (collinear)",
                          n_participants=n1, n_comparison=n0, **labels)
    if len(design) - design.shape[1] < 1:
        return not_enough("no residual degrees of freedom", n_participants=n1, n_comparison=n0, **labels)
    if y.std(ddof=0) == 0:
        return not_enough("all values equal", n_participants=n1, n_comparison=n0, **labels)
    model = sm.WLS(y, design, weights=weights) if weights is not None else sm.OLS(y, design)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = model.fit(cov_type=cov_type, use_t=True)
        estimate, low, high, p_value, se = _coefficient(result, "group", confidence)
    if low is None:
        return not_enough("group effect not estimable (a person has full leverage or no variation)",
                          n_participants=n1, n_comparison=n0, **labels)
    sd = _pooled_sd(pairs["follow_up"], pairs["group"])
    info = dict(extra)
    info.update({"se": se, "follow_up_sd": sd})
    return Estimate(estimate=estimate, ci_low=low, ci_high=high, p_value=p_value, n_participants=n1,
                    n_comparison=n0, effect_size=_standardize(estimate, sd), effect_size_kind="d_follow_up_sd",
                    residual_df=_residual_df(result), extra=info, **labels)


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
                        trim: tuple[float, float]) -> _Weighting:
    pairs = _pairs(panel, outcome, wave, covariates)
    n1, n0 = _group_sizes(pairs)
    balance_design, _, _ = _covariate_design(pairs, covariates, drop_first=False)
    covariate_matrix = pd.concat([pairs["baseline"].to_frame(f"baseline {outcome}"), balance_design], axis=1)
    reason = _thin(n1, n0)
    if reason:
        return _Weighting(pairs, covariate_matrix, None, reason, (), (), None)
    model_design, used, dropped = _covariate_design(pairs, covariates)
    design = pd.concat([pd.Series(1.0, index=pairs.index, name="const"), pairs["baseline"], model_design], axis=1)
    if np.linalg.matrix_rank(design.to_numpy()) < design.shape[1] or len(design) <= design.shape[1]:
        return _Weighting(pairs, covariate_matrix, None, "too few people for the propensity model",
                          tuple(used), tuple(dropped), None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.Logit(pairs["group"].astype("float64"), design).fit(disp=0, maxiter=200)
            propensity = np.asarray(fit.predict(design), dtype="float64")
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
        trim: tuple[float, float] = (0.01, 0.99), confidence: float = 0.95) -> Estimate:
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
    weighting = _propensity_weights(panel, outcome, wave, covariates, trim)
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
                  threshold: float = 0.1) -> Balance:
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
    weighting = _propensity_weights(panel, outcome, wave, covariates, trim)
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


def dose_response(panel: pd.DataFrame, outcome: str, wave: str, confidence: float = 0.95) -> Estimate:
    """Change from baseline per session attended, among participants only.

    OLS ``change = β0 + β1·sessions`` (sessions attended by the follow-up survey)
    with HC3 SE and t inference; ``estimate = β1`` in outcome units per session.
    ``extra["mean_change_by_dose"]`` is a tuple of ``(dose band, n, mean
    change)``. The comparison group is not used: ``n_comparison`` is ``None``.

    Assumes a linear dose effect and that people who attend more do not differ
    in other ways that change their score (attendance is self-chosen, so this is
    descriptive support for, not proof of, an effect).
    """
    pairs = _pairs(panel, outcome, wave)
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = sm.OLS(takers["change"], design).fit(cov_type="HC3", use_t=True)
        estimate, low, high, p_value, se = _coefficient(result, "sessions", confidence)
    if low is None:
        return not_enough("slope not estimable (a person has full leverage)", n_participants=n1,
                          n_comparison=None, **labels)
    return Estimate(estimate=estimate, ci_low=low, ci_high=high, p_value=p_value, n_participants=n1,
                    n_comparison=None, effect_size=None, effect_size_kind=None,
                    residual_df=_residual_df(result),
                    extra={"se": se, "se_type": "HC3", "mean_change_by_dose": table,
                           "units": "per session attended"}, **labels)


def high_burnout_rd(panel: pd.DataFrame, outcome: str, wave: str, cutoff: float, direction: str = "high",
                    confidence: float = 0.95) -> Estimate:
    """Difference in the share with high burnout at ``wave``, in percentage points.

    ``high`` is ``score ≥ cutoff`` (``direction="high"``) or ``score ≤ cutoff``
    (``"low"``). Everyone who answered at ``wave`` is used. CI: Newcombe hybrid
    score; p: score test; relative risk with Katz CI in ``extra``
    (:func:`analysis.effects.risk_difference`). Unadjusted.
    """
    a, b = _wave_rows(panel, outcome, wave)
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
    return replace(result, extra=tuple(info.items()), **labels)


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
    for wave in follow_up_waves(panel):
        for outcome in present:
            for analysis in wanted:
                if analysis == "unadjusted":
                    results.append(unadjusted(panel, outcome, wave))
                elif analysis == "did":
                    results.append(did(panel, outcome, wave))
                elif analysis == "ancova":
                    results.append(ancova(panel, outcome, wave, covariates))
                elif analysis == "ipw":
                    results.append(ipw(panel, outcome, wave, covariates))
                elif analysis == "high_burnout_rd" and outcome in cutoffs:
                    cutoff, direction = cutoffs[outcome]
                    results.append(high_burnout_rd(panel, outcome, wave, cutoff, direction))
                elif analysis == "dose_response":
                    results.append(dose_response(panel, outcome, wave))
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
