"""Two-group estimators against published / R-derived vectors (stat-vectors.md)."""

import dataclasses
import math

import numpy as np
import pytest

from analysis.stats.contingency import risk_difference, wilson_ci
from analysis.stats.effect_sizes import cohen_d, hedges_g
from analysis.stats.estimates import Estimate, mean_ci
from analysis.stats.multiplicity import benjamini_hochberg, holm
from analysis.stats.nonparametric import hodges_lehmann, kth_difference, mann_whitney
from analysis.stats.parametric import welch_difference
from analysis.stats.power import minimum_detectable_effect, power_of, required_n

REL = 1e-6


def test_welch_matches_r_t_test():
    est = welch_difference([4, 7, 8, 6, 3, 2], [6, 8, 7, 10, 11, 9])
    assert est.status == "ok"
    assert est.get("t") == pytest.approx(-2.8419928002940256, rel=REL)
    assert est.get("df") == pytest.approx(9.494382022471909, rel=REL)
    assert est.p_value == pytest.approx(0.018367672173765382, rel=REL)
    assert est.ci_low == pytest.approx(-6.2639577786590745, rel=REL)
    assert est.ci_high == pytest.approx(-0.736042221340925, rel=REL)
    assert est.estimate == pytest.approx(-3.5)
    assert (est.n_participants, est.n_comparison) == (6, 6)


def test_welch_second_vector():
    est = welch_difference([1, 2, 3], [1.1, 2.9, 4.2])
    assert est.get("t") == pytest.approx(-0.686495127355726265, rel=REL)
    assert est.p_value == pytest.approx(0.53619490753126686, rel=REL)


def test_welch_drops_missing_values():
    est = welch_difference([4, 7, 8, 6, 3, 2, np.nan], [6, 8, 7, 10, 11, 9, None])
    assert est.p_value == pytest.approx(0.018367672173765382, rel=REL)


def test_cohen_d_and_hedges_g_match_effsize():
    x = [3.2, 6.4, 1.8, 2.4, 5.8, 6.5]
    y = [2.4, 3.2, 3.2, 1.4, 2.8, 3.5]
    assert cohen_d(x, y) == pytest.approx(1.002549, rel=1e-6)
    g = hedges_g(x, y)
    assert g.value == pytest.approx(0.9254296, rel=1e-6)
    se = math.sqrt(12 / 36 + g.value**2 / 24)
    assert g.ci_low == pytest.approx(g.value - 1.959963984540054 * se, rel=1e-9)
    assert g.ci_high == pytest.approx(g.value + 1.959963984540054 * se, rel=1e-9)


def test_mann_whitney_exact():
    est = mann_whitney([19, 22, 16, 29, 24], [20, 11, 17, 12])
    assert est.get("u") == 17
    assert est.get("method") == "exact"
    assert est.p_value == pytest.approx(0.1111111111111111, rel=REL)
    assert est.effect_size == pytest.approx(0.70, rel=REL)
    assert est.effect_size_kind == "rank_biserial"


def test_mann_whitney_asymptotic_continuity_corrected():
    est = mann_whitney([19, 22, 16, 29, 24], [20, 11, 17, 12], method="asymptotic")
    assert est.get("u") == 17
    assert est.p_value == pytest.approx(0.11134688653314041, rel=REL)
    assert est.get("method") == "asymptotic (continuity-corrected)"


def test_mann_whitney_with_ties_is_asymptotic():
    est = mann_whitney([1, 2, 3, 4], [1, 2, 3, 4, 5])
    assert est.get("u") == 8
    assert est.get("method").startswith("asymptotic")
    assert est.p_value == pytest.approx(0.7086240584439, rel=1e-9)
    assert est.effect_size == pytest.approx(-0.2, rel=REL)


def test_risk_difference_newcombe_when_counts_are_not_small():
    # Newcombe (1998) example (a): 56/70 vs 48/80, method 10 gives 0.0524 to 0.3339
    est = risk_difference(56, 70, 48, 80)
    assert est.estimate == pytest.approx(0.2, abs=1e-9)
    assert est.ci_low == pytest.approx(0.0524, abs=5e-5)
    assert est.ci_high == pytest.approx(0.3339, abs=5e-5)
    assert est.get("method").startswith("Newcombe")


def test_risk_difference_percentage_points():
    est = risk_difference(56, 70, 48, 80, percent=True)
    assert est.estimate == pytest.approx(20.0, abs=1e-9)
    assert est.ci_low == pytest.approx(5.24, abs=5e-3)
    assert est.ci_high == pytest.approx(33.39, abs=5e-3)
    assert 0 < est.p_value < 1


# Exact unconditional mid-p (score ordering, Berger-Boos γ = 1e-4), computed in R by a
# hand-coded version maximising over the nuisance share with optimize()
# (tests/reference/exact_mid_p.R): x1, n1, x2, n2, two-sided p.
EXACT_MID_P = [(1, 40, 0, 300, 0.056943), (7, 34, 1, 34, 0.025977), (3, 20, 1, 300, 0.000500),
               (2, 10, 1, 10, 0.589049), (0, 30, 4, 25, 0.027999)]


@pytest.mark.parametrize("x1, n1, x2, n2, p_value", EXACT_MID_P)
def test_small_counts_use_exact_mid_p_matching_r(x1, n1, x2, n2, p_value):
    est = risk_difference(x1, n1, x2, n2)
    assert est.get("method").startswith("exact")
    assert est.p_value == pytest.approx(p_value, abs=2e-3)
    # interval and p agree: 0 is outside the interval exactly when p < .05
    assert (est.p_value < 0.05) == (est.ci_low > 0 or est.ci_high < 0)
    assert est.ci_low <= est.estimate <= est.ci_high


def test_one_in_forty_against_none_in_three_hundred_is_not_significant():
    est = risk_difference(1, 40, 0, 300)
    assert est.p_value > 0.05 and est.ci_low < 0 < est.ci_high


def test_exact_interval_and_p_agree_on_random_sparse_tables():
    rng = np.random.default_rng(7)
    for _ in range(12):
        n1, n2 = int(rng.integers(8, 60)), int(rng.integers(8, 60))
        x1, x2 = int(rng.integers(0, 4)), int(rng.integers(0, 4))
        est = risk_difference(x1, n1, x2, n2)
        assert est.get("method").startswith("exact")
        assert (est.p_value < 0.05) == (est.ci_low > 0 or est.ci_high < 0)


def test_relative_risk_never_points_the_wrong_way():
    # 0% vs 1%: Haldane's corrected ratio was 1.05 (pointing to harm)
    est = risk_difference(0, 300, 3, 300)
    assert est.get("relative_risk") == 0.0 and est.get("relative_risk_ci_low") == 0.0
    assert est.get("relative_risk_ci_high") > 0
    est = risk_difference(3, 300, 0, 300)
    assert est.get("relative_risk") is None and est.get("relative_risk_ci_low") > 0
    est = risk_difference(7, 34, 1, 34)
    assert est.get("relative_risk") == pytest.approx(7.0)
    assert est.get("relative_risk_ci_low") == pytest.approx(0.9096, abs=5e-5)
    assert est.get("relative_risk_ci_high") == pytest.approx(53.87, abs=5e-3)


def test_relative_risk_epitools():
    est = risk_difference(16, 128, 24, 256)
    assert est.get("relative_risk") == pytest.approx(4 / 3, rel=REL)
    assert est.get("relative_risk_ci_low") == pytest.approx(0.7347317169675995, rel=REL)
    assert est.get("relative_risk_ci_high") == pytest.approx(2.4196284667212407, rel=REL)


def test_risk_difference_zero_cells_stay_finite():
    est = risk_difference(0, 20, 0, 25)
    assert est.status == "ok" and est.estimate == 0
    assert est.get("relative_risk") is None
    est = risk_difference(5, 20, 0, 25)
    assert est.get("relative_risk") is None and est.get("relative_risk_ci_low") is not None
    assert "Haldane" in est.get("relative_risk_note")


def test_risk_difference_empty_group():
    est = risk_difference(0, 0, 3, 10)
    assert est.status.startswith("not enough data")
    assert est.estimate is None and est.ci_low is None


def test_wilson_ci():
    low, high = wilson_ci(7, 34)
    z, n, p = 1.959963984540054, 34, 7 / 34
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert low == pytest.approx(centre - half, rel=1e-9)
    assert high == pytest.approx(centre + half, rel=1e-9)
    assert wilson_ci(0, 0) is None


def test_mean_ci():
    m = mean_ci([1, 2, 3])
    assert m.mean == 2 and m.sd == 1
    assert m.ci_low == pytest.approx(2 - 4.302652729911275 / math.sqrt(3), rel=REL)
    one = mean_ci([5.0])
    assert one.status.startswith("not enough data") and one.sd is None


def test_multiple_testing():
    p = [0.005, 0.009, 0.019, 0.022, 0.051, 0.101, 0.361, 0.387]
    assert benjamini_hochberg(p) == pytest.approx(
        [0.036, 0.036, 0.044, 0.044, 0.0816, 0.134667, 0.387, 0.387], abs=1e-6)
    assert holm(p) == pytest.approx([0.04, 0.063, 0.114, 0.114, 0.204, 0.303, 0.722, 0.722], abs=1e-12)


def test_multiple_testing_keeps_missing():
    out = holm([0.01, None, float("nan"), 0.04])
    assert out[1] is None and out[2] is None
    assert out[0] == pytest.approx(0.02) and out[3] == pytest.approx(0.04)


def test_power_vectors_match_pwr():
    assert required_n(0.5, power=0.8) == pytest.approx(63.7656, abs=1e-4)
    assert required_n(2 / 3, power=0.9) == pytest.approx(48.264, abs=1e-3)
    assert minimum_detectable_effect(20, 20) == pytest.approx(0.9091, abs=1e-4)
    assert minimum_detectable_effect(15, 45) == pytest.approx(0.8494, abs=1e-4)
    assert power_of(0.5, 20, 20) == pytest.approx(0.3379, abs=1e-4)
    assert minimum_detectable_effect(1, 20) is None


@pytest.mark.parametrize(
    "a, b",
    [([], [1, 2, 3]), ([1, 2, 3], []), ([1], [1, 2, 3]), ([2, 2, 2], [2, 2, 2]), ([np.nan, np.nan], [1, 2])],
)
def test_degenerate_inputs_never_raise(a, b):
    for est in (welch_difference(a, b), mann_whitney(a, b)):
        assert est.status.startswith("not enough data: ")
        for value in (est.estimate, est.ci_low, est.ci_high, est.p_value, est.effect_size):
            assert value is None
    assert hedges_g(a, b).value is None
    assert cohen_d(a, b) is None


def test_estimate_is_frozen_and_clean():
    est = Estimate("x", "o", "w", np.float64(1.0), float("nan"), None, np.inf, np.int64(3), 4,
                   extra={"df": np.float64(2.5), "bad": float("nan")})
    assert est.ci_low is None and est.p_value is None
    assert type(est.estimate) is float and type(est.n_participants) is int
    assert est.get("df") == 2.5 and est.get("bad") is None
    hash(est)
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.estimate = 2.0  # type: ignore[misc]


@pytest.mark.parametrize("seed", range(8))
def test_holm_and_bh_equal_statsmodels_multipletests(seed):
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 0.2, int(rng.integers(1, 30)))
    p[rng.random(p.size) < 0.2] = p[0]  # ties
    assert holm(p) == list(multipletests(p, method="holm")[1])
    assert benjamini_hochberg(p) == list(multipletests(p, method="fdr_bh")[1])


@pytest.mark.parametrize("n1,n2,power,alpha", [
    (2, 2, 0.8, 0.05), (3, 50, 0.8, 0.05), (40, 80, 0.9, 0.01), (1000, 9000, 0.8, 0.05),
    (5000, 5000, 0.8, 0.05), (50000, 50000, 0.8, 0.05), (7, 700, 0.5, 0.10)])
def test_minimum_detectable_effect_solves_the_statsmodels_power_equation(n1, n2, power, alpha):
    from statsmodels.stats.power import TTestIndPower
    d = minimum_detectable_effect(n1, n2, power=power, alpha=alpha)
    # at the solution the library's own power function gives the power asked for
    achieved = TTestIndPower().power(effect_size=d, nobs1=n1, ratio=n2 / n1, alpha=alpha,
                                     alternative="two-sided")
    assert achieved == pytest.approx(power, abs=1e-8)
    expected = TTestIndPower().solve_power(effect_size=None, nobs1=n1, ratio=n2 / n1,
                                           alpha=alpha, power=power, alternative="two-sided")
    assert d == pytest.approx(expected, rel=1e-4)


def test_minimum_detectable_effect_cached_value_is_the_same():
    first = minimum_detectable_effect(15, 45)
    assert minimum_detectable_effect(15, 45) == first
    assert minimum_detectable_effect(np.int64(15), np.int64(45)) == first


def _hl_inputs(rng, kind, n1, n2):
    if kind == 0:
        return rng.normal(0, 1, n1), rng.normal(0.3, 2, n2)
    if kind == 1:
        return rng.integers(0, 6, n1) * 25.0, rng.integers(0, 6, n2) * 25.0  # heavy ties
    if kind == 2:
        return np.round(rng.normal(50, 20, n1), 1), np.round(rng.normal(45, 20, n2), 2)
    return rng.uniform(-1e6, 1e6, n1) / 3, rng.uniform(-1e-3, 1e-3, n2) / 7  # rounding matters


def test_hodges_lehmann_equals_brute_force_median_of_differences():
    rng = np.random.default_rng(7)
    for case in range(400):
        n1, n2 = (int(v) for v in rng.integers(1, 40, 2))
        x, y = _hl_inputs(rng, case % 4, n1, n2)
        expected = float(np.median(np.subtract.outer(x, y)))
        assert hodges_lehmann(x, y) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_kth_difference_selection_is_exact_for_every_rank():
    """The selection used beyond 4 million distinct pairs, checked rank by rank."""
    rng = np.random.default_rng(8)
    for case in range(40):
        n1, n2 = (int(v) for v in rng.integers(1, 25, 2))
        x, y = (np.sort(v) for v in _hl_inputs(rng, case % 4, n1, n2))
        brute = np.sort(np.subtract.outer(x, y).ravel())
        for k in range(1, brute.size + 1):
            assert kth_difference(x, y, k) == brute[k - 1]


def test_hodges_lehmann_large_groups_exact():
    rng = np.random.default_rng(9)
    x, y = rng.normal(50, 20, 2100), rng.normal(45, 20, 2000)  # 4.2 million distinct pairs
    assert hodges_lehmann(x, y) == float(np.median(np.subtract.outer(x, y)))
    est = mann_whitney(x, y)
    assert est.get("shift_kind") == "Hodges–Lehmann" and est.estimate == hodges_lehmann(x, y)
