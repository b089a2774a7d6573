"""IPW and doubly robust DiD against drdid 1.1.7 (PyPI port of R DRDID::drdid_panel /
std_ipw_did_panel; values generated once with it installed apart: see
tests/reference/make_csdid_reference.py for the install line), and on simulated programs."""

from dataclasses import replace

import numpy as np
import pytest

from analysis.stats.dr_did import drdid_panel, weighted_did
from analysis.stats.group_time import program_timing
from tooling.simulate_programs import SITUATIONS, simulate

# drdid._estimators.drdid_panel / std_ipw_did_panel on _data(): (ATT, sd(IF, ddof=1)/sqrt(n))
DRDID = {"dr": (2.113919849939255, 0.12275516328252223), "ipw": (2.1206778144974394, 0.12802191034428942)}


def _data():
    rng = np.random.default_rng(5)
    n = 300
    site = rng.integers(0, 4, n)
    x = rng.normal(size=n)
    ps = 1 / (1 + np.exp(-(-0.3 + 0.5 * x + 0.4 * (site == 1))))
    d = (rng.random(n) < ps).astype(float)
    y0 = 1 + x + rng.normal(size=n)
    y1 = y0 + 0.5 + 0.3 * x + 2 * d + rng.normal(size=n)
    cov = np.column_stack([np.ones(n), x, site == 1, site == 2, site == 3]).astype(float)
    return y1 - y0, d, cov


@pytest.mark.parametrize("method", ["dr", "ipw"])
def test_matches_drdid(method):
    change, d, cov = _data()
    fit = drdid_panel(change, d, cov, method=method)
    att, se = DRDID[method]
    assert fit.att == pytest.approx(att, abs=1e-10)
    n = d.size
    psi = fit.influence * n
    assert psi.std(ddof=1) / np.sqrt(n) == pytest.approx(se, rel=1e-9)


def test_comparison_weights_are_odds_of_joining():
    change, d, cov = _data()
    fit = drdid_panel(change, d, cov, method="ipw")
    odds = fit.propensity / (1 - fit.propensity)
    assert np.allclose(fit.weights[d == 0], odds[d == 0])
    assert np.all(fit.weights[d == 1] == 1)


def test_site_rollout_drops_sites_without_participants_instead_of_refusing():
    data = simulate(replace(SITUATIONS["site_rollout"], n_people=400), 2)
    est = weighted_did(data.panel, "cbi_work", "W2", method="ipw")
    assert est.estimate is not None and est.ci_low < est.estimate < est.ci_high
    assert est.get("comparison_dropped") > 0 and "without participants" in est.get("dropped_note")
    assert "clustered by site" in est.get("se_type")


def test_left_out_people_are_not_compared():
    data = simulate(replace(SITUATIONS["early_70"], n_people=400), 4)
    timing = program_timing(data.panel)
    est = weighted_did(data.panel, "cbi_work", "W1", method="dr")
    assert est.get("left_out") == int(timing.left_out.sum() - 0) - int(
        (timing.left_out & ~timing.observed[:, 1]).sum()
    )
    assert est.analysis == "dr_did"


def test_poor_balance_is_not_credible():
    data = simulate(replace(SITUATIONS["early_20"], n_people=300), 5)
    panel = data.panel.copy()
    # a numeric covariate that nearly decides who joins: weights explode, balance fails
    joined = panel.groupby("person")["participant"].transform("max").astype(float)
    panel["pull"] = joined * 4 + np.random.default_rng(0).normal(0, 0.4, len(panel))
    est = weighted_did(panel, "cbi_work", "W2", covariates=("pull",), method="ipw")
    assert est.estimate is None or est.status.startswith("not credible") or not est.ok


def test_balance_table_of_the_att_weights():
    from analysis.stats.dr_did import weighted_balance

    data = simulate(replace(SITUATIONS["site_rollout"], n_people=600), 8)
    balance = weighted_balance(data.panel, "cbi_work", "W3")
    assert balance.status == "ok"
    table = balance.table.set_index("covariate")
    assert "baseline cbi_work" in table.index and any(name.startswith("site=") for name in table.index)
    # the logistic score equations make the weighted covariate means close to the participants'
    covariates = table.drop(index="baseline cbi_work")
    assert covariates["smd_after"].abs().max() < 0.1
    assert covariates["smd_after"].abs().max() <= covariates["smd_before"].abs().max()
    assert balance.ess_comparison is not None and balance.ess_comparison < balance.n_comparison
