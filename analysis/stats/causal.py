"""Participants versus comparison at a follow-up wave, unadjusted and adjusted.

All functions take the panel frame (one row per person × wave; see
:mod:`analysis.panel.participation`) and the name of an outcome column, and return an
:class:`analysis.stats.estimates.Estimate` whose ``estimate`` is participants minus
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

Propensity weighting (IPW) and its balance table are in :mod:`analysis.stats.weighting`;
every analysis at once, with multiplicity, in :mod:`analysis.stats.compare`.

References
----------
Angrist JD, Pischke J-S (2009). Mostly Harmless Econometrics, ch. 5 (DiD).
Van Breukelen GJP (2006). J Clin Epidemiol 59:920-925 (ANCOVA vs change scores).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import statsmodels.api as sm

from analysis.panel.index import PanelIndex, wave_values
from analysis.panel.pairs import group_sizes, shared_pairs, thin_reason
from analysis.panel.participation import as_flag, dose_band
from analysis.stats.contingency import risk_difference
from analysis.stats.effect_sizes import pooled_sd, standardize
from analysis.stats.estimates import Estimate, finite_or_none, not_enough, t_inference
from analysis.stats.nonparametric import mann_whitney
from analysis.stats.parametric import welch_difference
from analysis.stats.power import minimum_detectable_effect
from analysis.stats.regression import Absorbed, absorbed_factor, covariate_design, full_rank, robust_fit

__all__ = [
    "DEFAULT_COVARIATES",
    "ONE_PRE_WAVE",
    "TrendsCheck",
    "ancova",
    "did",
    "dose_response",
    "fit_group_effect",
    "group_pooled_sd",
    "high_burnout_rd",
    "parallel_trends_check",
    "unadjusted",
]

DEFAULT_COVARIATES: tuple[str, ...] = ("site", "role")
ONE_PRE_WAVE = "only one pre-program wave: parallel trends cannot be tested"


def group_pooled_sd(values: pd.Series, group: pd.Series) -> float | None:
    """Pooled within-group SD of ``values`` between ``group == 1`` and ``group == 0``."""
    numbers, flag = values.to_numpy(), group.to_numpy()  # arrays: no Series per selection
    a = numbers[flag == 1]
    b = numbers[flag == 0]
    return pooled_sd(a.size, a.var(ddof=1) if a.size > 1 else np.nan,
                     b.size, b.var(ddof=1) if b.size > 1 else np.nan)


def unadjusted(panel: pd.DataFrame, outcome: str, wave: str, confidence: float = 0.95, *,
               index: PanelIndex | None = None) -> Estimate:
    """Difference of means at one wave (Welch), with Hedges' g and Mann–Whitney.

    Everyone who answered at ``wave`` is used (no baseline needed).
    ``estimate = mean(participants) - mean(comparison)``; CI and p from Welch's
    t-test (:func:`analysis.stats.welch_difference`). ``effect_size`` is
    Hedges' g. ``extra`` carries the Mann–Whitney companion (``mw_u``,
    ``mw_p_value``, ``rank_biserial``) and ``minimum_detectable_d`` (80% power,
    α = .05) for the observed group sizes. Assumes nothing about who joined:
    a raw comparison.
    """
    a, b = wave_values(panel, outcome, wave, index)
    welch = welch_difference(a, b, confidence)
    labels = {"analysis": "unadjusted", "outcome": outcome, "wave": str(wave)}
    if not welch.ok:
        return replace(welch, **labels)
    ranks = mann_whitney(a, b)
    extra = welch.info()
    extra.update({
        "mw_u": ranks.get("u"), "mw_p_value": ranks.p_value, "rank_biserial": ranks.effect_size,
        "mw_method": ranks.get("method"), "hodges_lehmann": ranks.estimate,
        "minimum_detectable_d": minimum_detectable_effect(a.size, b.size),
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
    pairs = shared_pairs(panel, outcome, wave, index=index)
    n1, n0 = group_sizes(pairs)
    labels = {"analysis": "did", "outcome": outcome, "wave": str(wave)}
    reason = thin_reason(n1, n0)
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
    estimate, low, high, p_value, se = t_inference(mean1 - mean0, np.sqrt(variance), count - 1.0,
                                                    confidence)
    if low is None:
        return not_enough("no variation in change from baseline", n_participants=n1, n_comparison=n0,
                          **labels)
    baseline_sd = group_pooled_sd(pairs["baseline"], pairs["group"])
    base1, base0 = baseline[group].mean(), baseline[~group].mean()
    return Estimate(
        estimate=estimate, ci_low=low, ci_high=high, p_value=p_value, n_participants=n1, n_comparison=n0,
        effect_size=standardize(estimate, baseline_sd), effect_size_kind="d_baseline_sd",
        residual_df=float(count - 1),
        extra={"se": se, "t": estimate / se if estimate is not None and se else None,
               "baseline_participants": base1, "baseline_comparison": base0,
               "change_participants": mean1, "change_comparison": mean0,
               "baseline_sd": baseline_sd,
               "baseline_smd": standardize(float(base1 - base0), baseline_sd),
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
    first_rows = panel.drop_duplicates("wave")
    order = first_rows.set_index(first_rows["wave"].astype(str))["wave_index"]
    waves = tuple(sorted({str(w) for w in pre_waves if str(w) in order.index}, key=lambda w: order[w]))
    chosen = panel["wave"].astype(str).isin(waves) & panel[outcome].notna()
    rows = panel.loc[chosen, ["person", "wave", outcome]]
    rows = rows.assign(group=rows["person"].map(ever).astype(bool).astype("float64"))
    n1 = int(rows.loc[rows["group"] == 1, "person"].nunique())
    n0 = int(rows.loc[rows["group"] == 0, "person"].nunique())
    if len(waves) < 2:
        return TrendsCheck(outcome, waves, False, None, None, None, None, n1, n0, ONE_PRE_WAVE,
                           "not enough data: " + ONE_PRE_WAVE)
    reason = thin_reason(n1, n0)
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
                           "no variation before the program",
                           "not enough data: no variation before the program")
    caveat = None
    if p_value < 0.05:
        caveat = "groups already moved differently before the program: the DiD estimate may be biased"
    return TrendsCheck(outcome, waves, True, statistic, float(test.df_num), float(test.df_denom), p_value,
                       n1, n0, caveat)


def ancova(panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str] = DEFAULT_COVARIATES,
           confidence: float = 0.95, *, index: PanelIndex | None = None) -> Estimate:
    """Follow-up score adjusted for baseline score and covariates (ANCOVA).

    OLS ``follow_up = β0 + β1·group + β2·baseline + Σ covariate dummies``, with
    HC3 heteroskedasticity-robust SE and t inference on the residual df. The
    covariate with the most levels (usually site) is absorbed by demeaning within its
    levels instead of dummy columns (:func:`analysis.stats.regression.absorbed_factor`;
    identical numbers, and the rank check runs on the small demeaned problem, so 200
    practices cost what 2 do); ``extra["absorbed"]`` names it.
    ``estimate = β1``. Covariates with a single level in the sample are dropped
    (listed in ``extra["covariates_dropped"]``). ``effect_size`` = β1 / pooled
    follow-up SD (kind ``"d_follow_up_sd"``).

    Assumes that, among people with the same baseline score (and covariates),
    joining is unrelated to the follow-up score (selection on the measured
    baseline), and a linear, common baseline slope. Differs from DiD when groups
    differ at baseline (Lord's paradox).
    """
    pairs = shared_pairs(panel, outcome, wave, covariates, index=index)
    n1, n0 = group_sizes(pairs)
    labels = {"analysis": "ancova", "outcome": outcome, "wave": str(wave)}
    reason = thin_reason(n1, n0)
    if reason:
        return not_enough(reason, n_participants=n1, n_comparison=n0, **labels)
    absorbed = absorbed_factor(pairs, covariates)
    rest = [c for c in covariates if absorbed is None or c != absorbed.name]
    extra_design, used, dropped = covariate_design(pairs, rest)
    if absorbed is not None:
        used = [c for c in covariates if c == absorbed.name or c in used]
    leading = [] if absorbed is not None else [pd.Series(1.0, index=pairs.index, name="const")]
    design = pd.concat([*leading, pairs["group"].astype("float64"), pairs["baseline"], extra_design], axis=1)
    rank_memo = (index.memo, ("full rank", outcome, str(wave), tuple(covariates))) if index else None
    return fit_group_effect(pairs["follow_up"], design, pairs, n1, n0, labels, "HC3", confidence,
                             {"covariates_used": tuple(used), "covariates_dropped": tuple(dropped),
                              "se_type": "HC3", "absorbed": absorbed.name if absorbed else None},
                             rank_memo=rank_memo, absorbed=absorbed)


def fit_group_effect(y: pd.Series, design: pd.DataFrame, pairs: pd.DataFrame, n1: int, n0: int,
                      labels: Mapping[str, str], cov_type: str, confidence: float,
                      extra: Mapping[str, object], weights: np.ndarray | None = None,
                      rank_memo: tuple[dict, tuple] | None = None, absorbed: Absorbed | None = None
                      ) -> Estimate:
    """The ``group`` coefficient of an OLS/WLS fit, robust SE.

    With ``absorbed`` the design has no constant and both it and ``y`` are demeaned
    within the absorbed levels first; the rank check then runs on that small matrix.

    ``rank_memo`` (dict, key) records whether ``design`` had full rank: the
    propensity design of the same pairs is a subset of its columns, so it then has
    full rank too and IPW skips its own SVD.
    """
    matrix = design.to_numpy(dtype="float64")
    outcome_values = y.to_numpy(dtype="float64")
    if absorbed is not None:
        matrix = absorbed.demean(matrix)
        outcome_values = absorbed.demean(outcome_values)
    has_full_rank, svd = full_rank(matrix)
    if rank_memo is not None:
        rank_memo[0][rank_memo[1]] = has_full_rank
    if not has_full_rank:
        return not_enough("covariates leave no independent group comparison (collinear)",
                          n_participants=n1, n_comparison=n0, **labels)
    if len(design) - design.shape[1] - (absorbed.levels if absorbed is not None else 0) < 1:
        return not_enough("no residual degrees of freedom", n_participants=n1, n_comparison=n0, **labels)
    if y.std(ddof=0) == 0:
        return not_enough("all values equal", n_participants=n1, n_comparison=n0, **labels)
    position = list(design.columns).index("group")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        fit = robust_fit(outcome_values, matrix, cov_type, weights=weights,
                          svd=svd if weights is None else None, absorbed=absorbed)
        estimate, low, high, p_value, se = fit.coefficient(position, confidence)
    if low is None:
        return not_enough("group effect not estimable (a person has full leverage or no variation)",
                          n_participants=n1, n_comparison=n0, **labels)
    sd = group_pooled_sd(pairs["follow_up"], pairs["group"])
    info = dict(extra)
    info.update({"se": se, "follow_up_sd": sd})
    return Estimate(estimate=estimate, ci_low=low, ci_high=high, p_value=p_value, n_participants=n1,
                    n_comparison=n0, effect_size=standardize(estimate, sd), effect_size_kind="d_follow_up_sd",
                    residual_df=fit.df, extra=info, **labels)



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
    pairs = shared_pairs(panel, outcome, wave, index=index)
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
        fit = robust_fit(takers["change"].to_numpy(dtype="float64"), design.to_numpy(dtype="float64"), "HC3")
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
    (:func:`analysis.stats.risk_difference`). Unadjusted.

    ``residual_df`` is ``n1 + n2 - 2``: the score interval uses no t distribution, so
    this is the conservative analogue (the df of the two-group linear probability
    model ``high ~ 1 + group``) for the export's residual-df rule.
    """
    a, b = wave_values(panel, outcome, wave, index)
    labels = {"analysis": "high_burnout_rd", "outcome": outcome, "wave": str(wave)}
    if direction not in ("high", "low"):
        return not_enough(f"unknown cut-off direction {direction!r}", n_participants=a.size,
                          n_comparison=b.size, **labels)
    high_a = int((a >= cutoff).sum() if direction == "high" else (a <= cutoff).sum())
    high_b = int((b >= cutoff).sum() if direction == "high" else (b <= cutoff).sum())
    reason = thin_reason(a.size, b.size)
    if reason:
        return not_enough(reason.replace(" seen at both baseline and this wave", " at this wave"),
                          n_participants=a.size, n_comparison=b.size, **labels)
    result = risk_difference(high_a, a.size, high_b, b.size, percent=True, confidence=confidence)
    info = result.info()
    info.update({"cutoff": float(cutoff), "direction": direction})
    residual_df = float(a.size + b.size - 2) if result.ok else None
    return replace(result, extra=tuple(info.items()), residual_df=residual_df, **labels)


# -------------------------------------------------------------- whole report
