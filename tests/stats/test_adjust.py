"""Adjusted comparisons checked against direct statsmodels fits and hand computations."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from threadpoolctl import threadpool_info

from analysis.stats.causal import (
    ONE_PRE_WAVE,
    ancova,
    did,
    dose_response,
    high_burnout_rd,
    parallel_trends_check,
    unadjusted,
)
from analysis.stats.compare import ANALYSES, compare_all, estimates_frame
from analysis.stats.contingency import risk_difference
from analysis.stats.multiplicity import holm
from analysis.stats.parametric import welch_difference
from analysis.stats.regression import one_blas_thread
from analysis.stats.weighting import balance_table, ipw, propensity_weights

SITES = np.array(["north", "south", "east"])
ROLES = np.array(["psychologist", "counselor"])


def make_panel(n: int = 300, effect: float = -5.0, seed: int = 0, selection: float = 1.0,
               dose_slope: float = 0.0) -> pd.DataFrame:
    """Baseline + one follow-up; people with higher baseline burnout join more often."""
    rng = np.random.default_rng(seed)
    site = SITES[rng.integers(0, 3, n)]
    role = ROLES[rng.integers(0, 2, n)]
    site_shift = pd.Series(site).map({"north": 0.0, "south": 3.0, "east": -2.0}).to_numpy()
    baseline = rng.normal(50, 10, n) + site_shift
    logit = selection * (baseline - 50) / 10 + 0.5 * (site == "south") - 0.3
    joined = rng.random(n) < 1 / (1 + np.exp(-logit))
    sessions = np.where(joined, rng.integers(1, 10, n), 0)
    follow_up = (10 + 0.8 * baseline + site_shift + effect * joined + dose_slope * sessions
                 + rng.normal(0, 5, n))
    common = {"person": np.arange(n, dtype="int64"), "site": site, "role": role,
              "years_band": "5-10", "caseload_band": None}
    base = pd.DataFrame({**common, "wave": "baseline", "wave_index": 0,
                         "survey_date": pd.Timestamp("2024-01-01"), "sessions": 0, "participant": False,
                         "cbi_work": baseline, "ucla3": rng.integers(3, 10, n).astype(float)})
    follow = pd.DataFrame({**common, "wave": "2024-Q3", "wave_index": 1,
                           "survey_date": pd.Timestamp("2024-07-01"), "sessions": sessions,
                           "participant": joined, "cbi_work": follow_up,
                           "ucla3": rng.integers(3, 10, n).astype(float) - joined})
    return pd.concat([base, follow], ignore_index=True)


def wide(panel: pd.DataFrame) -> pd.DataFrame:
    base = panel[panel.wave_index == 0].set_index("person")
    follow = panel[panel.wave_index == 1].set_index("person")
    out = pd.DataFrame({"baseline": base["cbi_work"], "follow_up": follow["cbi_work"],
                        "group": follow["participant"].astype(int), "sessions": follow["sessions"],
                        "site": base["site"], "role": base["role"]}).dropna(subset=["baseline", "follow_up"])
    out["change"] = out["follow_up"] - out["baseline"]
    return out


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return make_panel()


def test_unadjusted_is_welch_at_the_wave(panel):
    est = unadjusted(panel, "cbi_work", "2024-Q3")
    rows = panel[panel.wave == "2024-Q3"]
    ref = welch_difference(rows.loc[rows.participant, "cbi_work"], rows.loc[~rows.participant, "cbi_work"])
    assert (est.analysis, est.outcome, est.wave) == ("unadjusted", "cbi_work", "2024-Q3")
    assert est.estimate == pytest.approx(ref.estimate, rel=1e-12)
    assert est.p_value == pytest.approx(ref.p_value, rel=1e-12)
    assert est.effect_size_kind == "hedges_g"
    assert est.get("mw_p_value") is not None and est.get("minimum_detectable_d") > 0


def test_did_equals_change_difference_and_statsmodels(panel):
    est = did(panel, "cbi_work", "2024-Q3")
    w = wide(panel)
    hand = w.loc[w.group == 1, "change"].mean() - w.loc[w.group == 0, "change"].mean()
    assert est.status == "ok"
    assert est.estimate == pytest.approx(hand, rel=1e-9)
    long = pd.concat([
        pd.DataFrame({"y": w.baseline, "group": w.group, "post": 0, "person": w.index}),
        pd.DataFrame({"y": w.follow_up, "group": w.group, "post": 1, "person": w.index})])
    ref = smf.ols("y ~ group * post", long).fit(cov_type="cluster", cov_kwds={"groups": long.person}, use_t=True)
    low, high = ref.conf_int().loc["group:post"]
    assert est.ci_low == pytest.approx(low, rel=1e-9)
    assert est.ci_high == pytest.approx(high, rel=1e-9)
    assert est.p_value == pytest.approx(ref.pvalues["group:post"], rel=1e-9)
    assert est.residual_df == len(w) - 1
    assert est.effect_size_kind == "d_baseline_sd"
    # people who joined started higher: the baseline gap is reported for the regression-to-the-mean caveat
    assert est.get("baseline_smd") > 0.3


def test_ancova_matches_statsmodels_formula(panel):
    est = ancova(panel, "cbi_work", "2024-Q3")
    w = wide(panel)
    ref = smf.ols("follow_up ~ group + baseline + C(site) + C(role)", w).fit(cov_type="HC3", use_t=True)
    assert est.estimate == pytest.approx(ref.params["group"], rel=1e-9)
    low, high = ref.conf_int().loc["group"]
    assert (est.ci_low, est.ci_high) == (pytest.approx(low, rel=1e-9), pytest.approx(high, rel=1e-9))
    assert est.p_value == pytest.approx(ref.pvalues["group"], rel=1e-9)
    assert est.residual_df == ref.df_resid
    assert est.estimate == pytest.approx(-5, abs=2.0)


def test_ancova_drops_single_level_covariates(panel):
    one_role = panel.assign(role="psychologist")
    est = ancova(one_role, "cbi_work", "2024-Q3", covariates=("site", "role", "years_band", "caseload_band"))
    assert est.status == "ok"
    assert est.get("covariates_used") == ("site",)
    assert any(item.startswith("role") for item in est.get("covariates_dropped"))


def test_ipw_matches_hand_computation(panel):
    est = ipw(panel, "cbi_work", "2024-Q3")
    w = wide(panel)
    design = pd.get_dummies(w[["site", "role"]], drop_first=True, dtype=float)
    design.insert(0, "baseline", w["baseline"])
    design = sm.add_constant(design)
    ps = sm.Logit(w["group"], design).fit(disp=0).predict(design)
    share = w["group"].mean()
    ps = np.clip(ps, *np.percentile(ps, [1, 99]))
    weights = np.where(w["group"] == 1, share / ps, (1 - share) / (1 - ps))
    g = w["group"].to_numpy() == 1
    hand = (np.average(w["follow_up"][g], weights=weights[g])
            - np.average(w["follow_up"][~g], weights=weights[~g]))
    assert est.status == "ok"
    assert est.estimate == pytest.approx(hand, rel=1e-6)
    kish = weights[g].sum() ** 2 / (weights[g] ** 2).sum()
    assert est.get("ess_participants") == pytest.approx(kish, rel=1e-6)
    assert est.ci_low < est.estimate < est.ci_high


def test_ipw_recovers_known_effect_where_naive_is_biased():
    panel = make_panel(n=4000, effect=-5.0, seed=11, selection=1.0)
    naive = unadjusted(panel, "cbi_work", "2024-Q3")
    weighted = ipw(panel, "cbi_work", "2024-Q3")
    assert naive.estimate > 0  # sicker people joined: the raw difference even has the wrong sign
    assert weighted.estimate == pytest.approx(-5.0, abs=1.0)
    assert weighted.ci_low < -5.0 < weighted.ci_high


def test_balance_improves_after_weighting():
    panel = make_panel(n=4000, seed=3, selection=1.0)
    balance = balance_table(panel, "cbi_work", "2024-Q3")
    table = balance.table.set_index("covariate")
    assert list(balance.table.columns) == ["covariate", "smd_before", "smd_after", "variance_ratio_before",
                                           "variance_ratio_after", "flag"]
    assert "baseline cbi_work" in table.index and "site=south" in table.index
    assert table.loc["baseline cbi_work", "smd_before"] > 0.5
    assert abs(table.loc["baseline cbi_work", "smd_after"]) < 0.1
    assert table["flag"].dtype == bool
    assert 0 < balance.ess_participants <= balance.n_participants
    assert 0 < balance.ess_comparison <= balance.n_comparison


def test_dose_response_slope_matches_statsmodels():
    panel = make_panel(n=600, seed=5, dose_slope=-1.0)
    est = dose_response(panel, "cbi_work", "2024-Q3")
    w = wide(panel)
    takers = w[w.group == 1]
    ref = smf.ols("change ~ sessions", takers).fit(cov_type="HC3", use_t=True)
    assert est.estimate == pytest.approx(ref.params["sessions"], rel=1e-9)
    assert est.ci_low == pytest.approx(ref.conf_int().loc["sessions", 0], rel=1e-9)
    assert est.estimate == pytest.approx(-1.0, abs=0.4)
    assert est.n_comparison is None
    bands = {band: (n, mean) for band, n, mean in est.get("mean_change_by_dose")}
    assert set(bands) <= {"1–2", "3–5", "6+"}
    assert sum(n for n, _ in bands.values()) == est.n_participants


def test_high_burnout_rd_in_percentage_points(panel):
    est = high_burnout_rd(panel, "cbi_work", "2024-Q3", 50.0, "high")
    rows = panel[panel.wave == "2024-Q3"]
    a = rows.loc[rows.participant, "cbi_work"]
    b = rows.loc[~rows.participant, "cbi_work"]
    ref = risk_difference(int((a >= 50).sum()), a.size, int((b >= 50).sum()), b.size, percent=True)
    assert est.analysis == "high_burnout_rd"
    assert est.estimate == pytest.approx(ref.estimate) and est.ci_low == pytest.approx(ref.ci_low)
    assert est.get("cutoff") == 50.0
    low = high_burnout_rd(panel, "cbi_work", "2024-Q3", 40.0, "low")
    assert low.get("share_participants") == pytest.approx(100 * (a <= 40).mean())


def test_parallel_trends_one_pre_wave(panel):
    check = parallel_trends_check(panel, "cbi_work")
    assert not check.testable and check.caveat == ONE_PRE_WAVE
    assert check.pre_waves == ("baseline",)


def _three_wave_panel(diverge: float, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 400
    joined = rng.random(n) < 0.4
    level = rng.normal(50, 8, n)
    frames = []
    for index, wave in enumerate(["pre1", "pre2", "post"]):
        sessions = np.where(joined & (index == 2), 4, 0)
        score = level + diverge * joined * index + rng.normal(0, 4, n)
        frames.append(pd.DataFrame({"person": np.arange(n), "wave": wave, "wave_index": index,
                                    "survey_date": pd.Timestamp("2024-01-01") + pd.Timedelta(days=90 * index),
                                    "site": "north", "role": "counselor", "sessions": sessions,
                                    "participant": sessions >= 1, "cbi_work": score}))
    return pd.concat(frames, ignore_index=True)


def test_parallel_trends_testable_with_two_pre_waves():
    parallel = parallel_trends_check(_three_wave_panel(diverge=0.0), "cbi_work")
    assert parallel.testable and parallel.pre_waves == ("pre1", "pre2")
    assert parallel.p_value > 0.01 and parallel.caveat is None
    diverging = parallel_trends_check(_three_wave_panel(diverge=5.0), "cbi_work")
    assert diverging.p_value < 0.001 and "before the program" in diverging.caveat
    w = _three_wave_panel(diverge=5.0)
    w = w[w.wave != "post"].assign(group=lambda d: d.person.isin(w.loc[w.participant, "person"]).astype(int))
    ref = smf.ols("cbi_work ~ group * C(wave)", w).fit(cov_type="cluster", cov_kwds={"groups": w.person},
                                                       use_t=True)
    assert diverging.p_value == pytest.approx(ref.pvalues["group:C(wave)[T.pre2]"], rel=1e-6)


def _assert_not_enough(est):
    assert est.status.startswith("not enough data: "), est.status
    for value in (est.estimate, est.ci_low, est.ci_high, est.p_value, est.effect_size):
        assert value is None


@pytest.mark.parametrize("case", ["no participants", "one participant", "all equal", "no comparison"])
def test_degenerate_panels_give_not_enough_data(panel, case):
    broken = panel.copy()
    follow = broken.wave_index == 1
    if case == "no participants":
        broken.loc[follow, ["participant", "sessions"]] = [False, 0]
    elif case == "no comparison":
        broken.loc[follow, "participant"] = True
        broken.loc[follow, "sessions"] = 3
    elif case == "one participant":
        broken.loc[follow, ["participant", "sessions"]] = [False, 0]
        broken.loc[broken.index[follow][0], ["participant", "sessions"]] = [True, 2]
    else:
        broken["cbi_work"] = 42.0
    for est in (unadjusted(broken, "cbi_work", "2024-Q3"), did(broken, "cbi_work", "2024-Q3"),
                ancova(broken, "cbi_work", "2024-Q3"), ipw(broken, "cbi_work", "2024-Q3")):
        _assert_not_enough(est)
    if case != "no comparison":
        _assert_not_enough(dose_response(broken, "cbi_work", "2024-Q3"))
    if case != "all equal":
        _assert_not_enough(high_burnout_rd(broken, "cbi_work", "2024-Q3", 50, "high"))
    assert balance_table(broken, "cbi_work", "2024-Q3").status.startswith("not enough data")


def test_only_baseline_gives_no_estimates(panel):
    baseline_only = panel[panel.wave_index == 0]
    assert compare_all(baseline_only, ["cbi_work"], {"cbi_work": (50, "high")}) == []
    _assert_not_enough(did(baseline_only, "cbi_work", "2024-Q3"))


def test_wave_with_missing_outcome_everywhere(panel):
    blank = panel.copy()
    blank.loc[blank.wave_index == 1, "cbi_work"] = np.nan
    for analysis in (unadjusted, did, ancova, ipw, dose_response):
        _assert_not_enough(analysis(blank, "cbi_work", "2024-Q3"))


def test_compare_all_adjusts_primary_with_holm_and_rest_with_bh(panel):
    results = compare_all(panel, ["cbi_work", "ucla3"], {"cbi_work": (50, "high"), "ucla3": (6, "high")},
                          primary={"cbi_work": "cbi"})
    analyses = {(e.analysis, e.outcome) for e in results}
    assert ("high_burnout_rd", "ucla3") in analyses and ("dose_response", "cbi_work") in analyses
    assert len(results) == 12
    for est in results:
        assert est.adjust_method == ("holm" if est.outcome == "cbi_work" else "benjamini_hochberg")
        # single-member families: adjusted equals raw
        assert est.p_adjusted == pytest.approx(est.p_value)
    two_primary = compare_all(panel, ["cbi_work", "ucla3"], primary={"cbi_work": "cbi", "ucla3": "cbi"},
                              analyses=("unadjusted",))
    expected = holm([e.p_value for e in two_primary])
    assert [e.p_adjusted for e in two_primary] == pytest.approx(expected)


def test_estimates_frame_columns(panel):
    results = compare_all(panel, ["cbi_work"], {"cbi_work": (50, "high")})
    frame = estimates_frame(results + [did(panel.iloc[0:0], "cbi_work", "2024-Q3")])
    assert list(frame.columns)[:14] == ["analysis", "outcome", "wave", "estimate", "ci_low", "ci_high",
                                        "p_value", "p_adjusted", "n_participants", "n_comparison",
                                        "effect_size", "effect_size_kind", "residual_df", "status"]
    assert set(frame["analysis"]) == set(ANALYSES)
    assert frame["status"].iloc[-1].startswith("not enough data")
    assert frame.loc[frame.analysis == "dose_response", "n_comparison"].isna().all()


@pytest.mark.parametrize("seed", range(6))
def test_did_closed_form_equals_statsmodels_cluster_fit(seed):
    """The closed-form DiD reproduces the long-data cluster-robust OLS to 1e-10."""
    rng = np.random.default_rng(100 + seed)
    panel = make_panel(n=int(rng.integers(8, 400)), effect=float(rng.normal(0, 5)), seed=seed,
                       selection=float(rng.uniform(0, 2)))
    est = did(panel, "cbi_work", "2024-Q3")
    w = wide(panel)
    long = pd.concat([
        pd.DataFrame({"y": w.baseline, "group": w.group, "post": 0, "person": w.index}),
        pd.DataFrame({"y": w.follow_up, "group": w.group, "post": 1, "person": w.index})])
    ref = smf.ols("y ~ group * post", long).fit(cov_type="cluster", cov_kwds={"groups": long.person}, use_t=True)
    low, high = ref.conf_int().loc["group:post"]
    assert est.estimate == pytest.approx(ref.params["group:post"], rel=1e-10)
    assert est.get("se") == pytest.approx(ref.bse["group:post"], rel=1e-10)
    assert (est.ci_low, est.ci_high) == (pytest.approx(low, rel=1e-10), pytest.approx(high, rel=1e-10))
    assert est.p_value == pytest.approx(ref.pvalues["group:post"], rel=1e-9, abs=1e-300)
    assert est.residual_df == ref.df_resid_inference


@pytest.mark.parametrize("seed", range(4))
def test_numpy_fits_equal_statsmodels(seed):
    """ANCOVA (HC3), IPW's WLS (HC1) and the dose slope (HC3) as statsmodels fits them."""
    panel = make_panel(n=250 + 50 * seed, seed=20 + seed, dose_slope=-0.5)
    w = wide(panel)
    est = ancova(panel, "cbi_work", "2024-Q3")
    ref = smf.ols("follow_up ~ group + baseline + C(site) + C(role)", w).fit(cov_type="HC3", use_t=True)
    assert est.estimate == pytest.approx(ref.params["group"], rel=1e-10)
    assert est.get("se") == pytest.approx(ref.bse["group"], rel=1e-10)
    assert est.p_value == pytest.approx(ref.pvalues["group"], rel=1e-9)
    assert est.residual_df == ref.df_resid

    weighting = propensity_weights(panel, "cbi_work", "2024-Q3", ("site", "role"), (0.01, 0.99))
    pairs = weighting.pairs
    design = sm.add_constant(pairs["group"].astype(float))
    ref = sm.WLS(pairs["follow_up"], design, weights=weighting.weights).fit(cov_type="HC1", use_t=True)
    est = ipw(panel, "cbi_work", "2024-Q3")
    assert est.estimate == pytest.approx(ref.params["group"], rel=1e-10)
    assert (est.ci_low, est.ci_high) == (pytest.approx(ref.conf_int().loc["group", 0], rel=1e-10),
                                         pytest.approx(ref.conf_int().loc["group", 1], rel=1e-10))
    assert est.p_value == pytest.approx(ref.pvalues["group"], rel=1e-9)

    takers = w.loc[w.group == 1]
    ref = smf.ols("change ~ sessions", takers).fit(cov_type="HC3", use_t=True)
    est = dose_response(panel, "cbi_work", "2024-Q3")
    assert est.estimate == pytest.approx(ref.params["sessions"], rel=1e-10)
    assert est.get("se") == pytest.approx(ref.bse["sessions"], rel=1e-10)
    assert est.p_value == pytest.approx(ref.pvalues["sessions"], rel=1e-9)


def test_compare_all_shares_work_but_matches_single_calls(panel):
    """compare_all's shared index and pairs give the same estimates as one call each."""
    results = {(e.analysis, e.outcome): e for e in compare_all(panel, ["cbi_work", "ucla3"])}
    for outcome in ("cbi_work", "ucla3"):
        for name, single in (("did", did(panel, outcome, "2024-Q3")),
                             ("ancova", ancova(panel, outcome, "2024-Q3")),
                             ("ipw", ipw(panel, outcome, "2024-Q3")),
                             ("unadjusted", unadjusted(panel, outcome, "2024-Q3"))):
            shared = results[(name, outcome)]
            assert (shared.estimate, shared.ci_low, shared.ci_high, shared.p_value) == \
                (single.estimate, single.ci_low, single.ci_high, single.p_value)


def test_one_blas_thread_limits_every_blas_once_per_process():
    one_blas_thread()
    one_blas_thread()  # a second call changes nothing
    blas = [info for info in threadpool_info() if info["user_api"] == "blas"]
    assert blas, "numpy and scipy load a BLAS"
    assert all(info["num_threads"] == 1 for info in blas)


def test_high_burnout_rd_reports_residual_df(panel):
    est = high_burnout_rd(panel, "cbi_work", "2024-Q3", 50.0, "high")
    rows = panel[(panel.wave == "2024-Q3") & panel["cbi_work"].notna()]
    assert est.residual_df == est.n_participants + est.n_comparison - 2 == len(rows) - 2


def test_every_computed_estimate_reports_residual_df(panel):
    frame = estimates_frame(compare_all(panel, ["cbi_work", "ucla3"], cutoffs={"cbi_work": (50.0, "high")}))
    computed = frame.loc[frame["estimate"].notna()]
    assert set(computed["analysis"]) >= {"unadjusted", "did", "ancova", "ipw", "high_burnout_rd",
                                         "dose_response"}
    assert computed["residual_df"].notna().all(), computed.loc[computed["residual_df"].isna(), "analysis"]


def _synthetic_panel(data) -> pd.DataFrame:
    """Work-burnout panel from a generated data set, scored the published way (vectorised)."""
    survey = data.survey
    codes = survey[[f"cbi_{j}" for j in range(7, 14)]].astype("float64")
    codes["cbi_13"] = 6 - codes["cbi_13"]  # item 13 is reverse-scored
    scores = (codes - 1) * 25
    work = scores.mean(axis=1).where(scores.notna().sum(axis=1) >= 4)
    dates = pd.to_datetime(survey["survey_date"])
    sessions = survey[["respondent_id"]].assign(row=np.arange(len(survey)), date=dates).merge(
        data.attendance.assign(session_date=pd.to_datetime(data.attendance["session_date"])),
        on="respondent_id")
    attended = sessions.loc[sessions["session_date"] <= sessions["date"]].groupby("row").size()
    counts = attended.reindex(np.arange(len(survey)), fill_value=0).to_numpy()
    waves = sorted(survey["wave"].unique())
    return pd.DataFrame({
        "person": pd.factorize(survey["respondent_id"])[0].astype("int64"),
        "wave": survey["wave"].to_numpy(),
        "wave_index": survey["wave"].map({w: i for i, w in enumerate(waves)}).to_numpy(),
        "survey_date": dates.to_numpy(),
        "site": survey["site"].to_numpy(), "role": survey["role"].to_numpy(),
        "sessions": counts, "participant": counts >= 1, "cbi_work": work.to_numpy(),
    })


def test_did_interval_covers_the_true_effect_90_to_99_percent_of_the_time():
    """100 seeded data sets with a known effect: the 95% DiD interval covers the truth
    (the sample's average effect on the treated) in 90-99 of them."""
    from tooling.synthetic import SyntheticConfig, generate

    covered = tried = 0
    for seed in range(100):
        data = generate(SyntheticConfig(n_people=300, seed=1000 + seed, label_rate=0.0))
        wave = max(data.survey["wave"].unique())
        estimate = did(_synthetic_panel(data), "cbi_work", wave)
        truth = data.truth["att"]["cbi_work"][wave]
        assert estimate.ok, estimate.status
        tried += 1
        covered += estimate.ci_low <= truth <= estimate.ci_high
    assert tried == 100
    assert 90 <= covered <= 99, covered


def test_did_on_synthetic_panel_matches_the_generators_exact_did():
    """Our panel building and DiD reproduce the generator's own DiD point estimate."""
    from tooling.synthetic import SyntheticConfig, generate

    data = generate(SyntheticConfig(n_people=300, seed=7, label_rate=0.0))
    wave = max(data.survey["wave"].unique())
    estimate = did(_synthetic_panel(data), "cbi_work", wave)
    assert estimate.estimate == pytest.approx(data.truth["did_exact"]["cbi_work"][wave], abs=1e-9)
