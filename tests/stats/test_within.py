"""ANCOVA with site absorbed by demeaning equals the fit with site dummy columns (statsmodels)."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analysis.stats.causal import ancova


def _panel(n_people=900, n_sites=60, seed=3, collinear_role=False):
    rng = np.random.default_rng(seed)
    site = rng.integers(0, n_sites, n_people)
    site[:3] = n_sites  # a site with few people (leverage from the absorbed level matters)
    role = rng.integers(0, 3, n_people)
    if collinear_role:
        role = site % 2  # role decided by site: no separate role comparison once site is absorbed
    level = rng.normal(0, 3, n_sites + 1)[site] + rng.normal(0, 8, n_people)
    joined = rng.random(n_people) < 0.4
    rows = []
    for wave, index in (("base", 0), ("follow", 1)):
        score = 40 + level + rng.normal(0, 5, n_people) - 3 * joined * index
        rows.append(
            pd.DataFrame(
                {
                    "person": np.arange(n_people),
                    "wave": wave,
                    "wave_index": index,
                    "site": [f"s{k:03d}" for k in site],
                    "role": [f"r{k}" for k in role],
                    "sessions": joined * index * 4,
                    "participant": joined & (index == 1),
                    "cbi_work": score,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_absorbed_site_equals_site_dummies():
    panel = _panel()
    est = ancova(panel, "cbi_work", "follow")
    assert est.get("absorbed") == "site"
    wide = panel.pivot(index="person", columns="wave", values="cbi_work")
    frame = panel.loc[panel["wave_index"] == 1, ["person", "site", "role", "participant"]].set_index("person")
    frame = frame.assign(
        follow=wide["follow"], baseline=wide["base"], group=frame["participant"].astype(float)
    )
    fit = smf.ols("follow ~ group + baseline + C(site) + C(role)", frame).fit(cov_type="HC3", use_t=True)
    assert est.estimate == pytest.approx(fit.params["group"], rel=1e-9)
    assert est.get("se") == pytest.approx(fit.bse["group"], rel=1e-9)
    assert est.residual_df == pytest.approx(fit.df_resid)
    low, high = fit.conf_int().loc["group"]
    assert (est.ci_low, est.ci_high) == pytest.approx((low, high), rel=1e-9)
    assert est.get("covariates_used") == ("site", "role")


def test_collinear_covariate_is_caught_on_the_projected_problem():
    est = ancova(_panel(collinear_role=True), "cbi_work", "follow")
    assert not est.ok and "collinear" in est.status
