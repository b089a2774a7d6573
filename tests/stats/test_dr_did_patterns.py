"""The pattern path of :mod:`analysis.stats.dr_did` (products on the distinct design rows)
against a row-level reference: the algorithm as it was before, kept here step for step
(statsmodels ``Logit`` on the n × p design, the n × p products, ``np.linalg.matrix_rank``,
``lstsq`` on the comparison rows, balance column by column)."""

import warnings
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import PerfectSeparationError

from analysis.panel.index import PanelIndex, is_numeric
from analysis.stats.clustering import influence_variance
from analysis.stats.dr_did import Patterns, drdid_panel, drdid_patterns, prepare, weighted_did
from analysis.stats.estimates import t_inference
from analysis.stats.group_time import outcome_matrix, program_timing
from tooling.simulate_programs import SITUATIONS, simulate

# ---------------------------------------------------------------- row-level reference


def _ref_logit(d, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.Logit(d, x).fit(disp=0, method="newton", maxiter=100)
        except (np.linalg.LinAlgError, ValueError, PerfectSeparationError):
            return None
    if not fit.mle_retvals.get("converged", False):
        return None
    return np.asarray(fit.predict(x), dtype="float64")


def _ref_drdid(dy, d, x, method, trim):
    n = d.size
    ps = _ref_logit(d, x)
    if ps is None:
        return None
    ps = np.minimum(ps, 1 - 1e-6)
    keep = np.where(d == 1, 1.0, (ps < trim).astype("float64"))
    w1 = keep * d
    w0 = keep * ps * (1 - d) / (1 - ps)
    lin_ps = ((d - ps)[:, None] * x) @ np.linalg.inv((x * (ps * (1 - ps))[:, None]).T @ x / n)
    fitted = np.zeros(n)
    if method == "dr":
        coef, *_ = np.linalg.lstsq(x[d == 0], dy[d == 0], rcond=None)
        fitted = x @ coef
    resid = dy - fitted
    eta1 = np.mean(w1 * resid) / np.mean(w1)
    eta0 = np.mean(w0 * resid) / np.mean(w0)
    inf_treat = w1 * resid - w1 * eta1
    inf_cont = w0 * resid - w0 * eta0 + lin_ps @ np.mean((w0 * (resid - eta0))[:, None] * x, axis=0)
    if method == "dr":
        xpx_inv = np.linalg.inv(((1.0 - d)[:, None] * x).T @ x / n)
        lin_ols = ((1.0 - d) * resid)[:, None] * x @ xpx_inv
        inf_treat = inf_treat - lin_ols @ np.mean(w1[:, None] * x, axis=0)
        inf_cont = inf_cont - lin_ols @ np.mean(w0[:, None] * x, axis=0)
    psi = inf_treat / np.mean(w1) - inf_cont / np.mean(w0)
    return eta1 - eta0, psi / n, np.where(d == 1, w1, w0), ps


def _ref_overlap(frame, treated, covariates):
    keep = np.ones(len(frame), bool)
    notes = []
    for _ in range(3):
        changed = False
        for name in covariates:
            if is_numeric(frame[name]):
                continue
            labels = frame[name].to_numpy()
            counts = (
                pd.DataFrame({"level": labels[keep], "t": treated[keep]})
                .groupby("level")["t"]
                .agg(["sum", "size"])
            )
            no_part = set(counts.index[counts["sum"] == 0])
            no_comp = set(counts.index[counts["sum"] == counts["size"]])
            drop = keep & np.isin(labels, list(no_part | no_comp))
            if drop.any():
                keep &= ~drop
                changed = True
                if no_part:
                    notes.append(f"{name}: {len(no_part)} level(s) without participants")
                if no_comp:
                    notes.append(f"{name}: {len(no_comp)} level(s) without comparison people")
        if not changed:
            break
    return keep, "; ".join(dict.fromkeys(notes)) or None


def _ref_design(frame, covariates):
    blocks = [pd.Series(1.0, index=frame.index, name="const")]
    for name in covariates:
        column = frame[name]
        if is_numeric(column):
            if column.nunique() > 1:
                blocks.append(column.astype("float64").rename(name))
        else:
            blocks.append(
                pd.get_dummies(
                    column.astype("string"), prefix=name, prefix_sep="=", drop_first=True, dtype="float64"
                )
            )
    return pd.concat(blocks, axis=1)


def _ref_balance(x, d, w):
    worst = 0.0
    for j in range(1, x.shape[1]):
        a, b = x[d == 1, j], x[d == 0, j]
        spread = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
        if spread > 0:
            worst = max(worst, abs(a.mean() - np.average(b, weights=w[d == 0])) / spread)
    return float(worst)


def _ref_frame(panel, outcome, wave, covariates):
    timing = program_timing(panel)
    w = timing.waves.index(wave)
    y = outcome_matrix(panel, outcome, timing)
    use = ~timing.left_out & ~np.isnan(y[:, 0]) & ~np.isnan(y[:, w])
    frame = pd.DataFrame(
        {
            "change": y[use, w] - y[use, 0],
            "group": timing.participant[use, w].astype("int64"),
            "cluster": timing.site[use] if timing.clusters.unit == "site" else timing.people[use],
        }
    )
    for name in covariates:
        column = panel[name].to_numpy()[timing.rows[use, 0]]
        frame[name] = (
            column
            if is_numeric(panel[name])
            else pd.Series(column).astype("string").fillna("missing").to_numpy()
        )
    return frame


def reference_weighted_did(panel, outcome, wave, covariates: Sequence[str], method, trim=0.99):
    """The row-level weighted_did: (att, se, status kind, diagnostics) or (None, reason)."""
    frame = _ref_frame(panel, outcome, wave, covariates)
    keep, note = _ref_overlap(frame, frame["group"].to_numpy(), covariates)
    frame = frame.loc[keep].reset_index(drop=True)
    x = _ref_design(frame, covariates).to_numpy(dtype="float64")
    d = frame["group"].to_numpy(dtype="float64")
    if d.sum() < 2 or (1 - d).sum() < 2 or len(frame) <= x.shape[1] + 1:
        return None, "too few"
    if np.linalg.matrix_rank(x) < x.shape[1]:
        return None, "collinear"
    fit = _ref_drdid(frame["change"].to_numpy(), d, x, method, trim)
    if fit is None:
        return None, "did not converge"
    att, influence, weights, ps = fit
    variance, df = influence_variance(influence, frame["cluster"].to_numpy())
    se = t_inference(att, np.sqrt(variance), df, 0.95)[4]
    control = weights[d == 0]
    return (
        att,
        se,
        {
            "max_smd_after": _ref_balance(x, d, weights),
            "ess_comparison": float(control.sum() ** 2 / np.square(control).sum()),
            "comparison_trimmed": int(((ps >= trim) & (d == 0)).sum()),
            "comparison_dropped": int(
                (~keep & (_ref_frame(panel, outcome, wave, covariates)["group"] == 0)).sum()
            ),
            "dropped_note": note,
        },
    )


# ---------------------------------------------------------------- data


def _many_sites(seed: int) -> pd.DataFrame:
    """60 sites (half without the program) × 4 roles, a role missing for some, Arrow text."""
    panel = simulate(replace(SITUATIONS["site_rollout"], n_people=1500, n_sites=60), seed).panel.copy()
    rng = np.random.default_rng(seed)
    people = panel["person"].unique()
    # everyone at one offering site takes part from the first follow-up: no comparison there
    offering = panel.loc[panel["participant"], "site"].unique()[0]
    everyone = (panel["site"] == offering) & (panel["wave_index"] > 0)
    panel.loc[everyone, "participant"] = True
    panel.loc[everyone, "sessions"] = panel.loc[everyone, "sessions"].clip(lower=1)
    role = panel["role"].astype("string[pyarrow]")
    role[panel["person"].isin(rng.choice(people, 40, replace=False))] = pd.NA
    panel["role"] = role
    panel["site"] = panel["site"].astype("string[pyarrow]")
    return panel.reset_index(drop=True)


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("method", ["dr", "ipw"])
@pytest.mark.parametrize("seed", [1, 2])
def test_weighted_did_equals_the_row_level_reference(method, seed):
    panel = _many_sites(seed)
    index = PanelIndex(panel)
    for wave in ("W1", "W3"):
        est = weighted_did(panel, "cbi_work", wave, ("site", "role"), method=method, index=index)
        att, se, diagnostics = reference_weighted_did(panel, "cbi_work", wave, ("site", "role"), method)
        assert est.estimate == pytest.approx(att, rel=1e-7)
        assert est.get("se") == pytest.approx(se, rel=1e-7)
        assert est.get("max_smd_after") == pytest.approx(diagnostics["max_smd_after"], rel=1e-7, abs=1e-12)
        assert est.get("ess_comparison") == pytest.approx(diagnostics["ess_comparison"], rel=1e-7)
        for key in ("comparison_trimmed", "comparison_dropped", "dropped_note"):
            assert est.get(key) == diagnostics[key]
        assert "without comparison people" in est.get("dropped_note")
        assert "without participants" in est.get("dropped_note")
        credible = diagnostics["max_smd_after"] <= 0.1 and diagnostics["ess_comparison"] >= max(
            10, (est.n_comparison or 0) / 20
        )
        assert est.status.startswith("ok" if credible else "not credible")


@pytest.mark.parametrize("method", ["dr", "ipw"])
def test_numeric_covariate_patterns_are_rows(method):
    panel = _many_sites(3)
    panel["age"] = np.random.default_rng(0).normal(40, 9, len(panel)).round(1)
    est = weighted_did(panel, "cbi_work", "W2", ("site", "age"), method=method)
    att, se, diagnostics = reference_weighted_did(panel, "cbi_work", "W2", ("site", "age"), method)
    assert est.estimate == pytest.approx(att, rel=1e-7)
    assert est.get("se") == pytest.approx(se, rel=1e-7)
    assert est.get("max_smd_after") == pytest.approx(diagnostics["max_smd_after"], rel=1e-7)


def test_collinear_covariates_are_refused_like_the_row_rank():
    panel = _many_sites(4)
    panel["team"] = panel["site"]  # the same levels under another name: collinear dummies
    est = weighted_did(panel, "cbi_work", "W2", ("site", "team"), method="ipw")
    assert reference_weighted_did(panel, "cbi_work", "W2", ("site", "team"), "ipw") == (None, "collinear")
    assert est.estimate is None and "collinear" in est.status


@pytest.mark.parametrize("method", ["dr", "ipw"])
def test_arrays_with_few_patterns_match_the_reference(method):
    rng = np.random.default_rng(11)
    n = 4000
    site, role = rng.integers(0, 60, n), rng.integers(0, 3, n)
    d = (rng.random(n) < 1 / (1 + np.exp(-(-0.5 + 0.02 * site - 0.3 * role)))).astype(float)
    dy = 1 + 0.05 * site + 0.5 * role + 1.5 * d + rng.normal(size=n)
    x = np.column_stack([np.ones(n), *(site == s for s in range(1, 60)), role == 1, role == 2]).astype(float)
    patterns = Patterns.of(x)
    assert patterns.rows.shape[0] <= 180 and patterns.rank() == np.linalg.matrix_rank(x)
    fit = drdid_patterns(dy, d, patterns, method, 0.99)
    att, influence, weights, ps = _ref_drdid(dy, d, x, method, 0.99)
    assert fit.att == pytest.approx(att, rel=1e-9)
    assert np.allclose(fit.influence, influence, rtol=1e-7, atol=1e-12)
    assert np.allclose(fit.weights, weights, rtol=1e-9) and np.allclose(fit.propensity, ps, rtol=1e-9)
    assert drdid_panel(dy, d, x, method, 0.99).att == pytest.approx(att, rel=1e-9)


def test_separation_gives_no_fit_like_statsmodels():
    rng = np.random.default_rng(2)
    n = 200
    z = rng.integers(0, 2, n).astype(float)
    d = z.copy()  # z decides who joins: the logit diverges
    x = np.column_stack([np.ones(n), z])
    assert _ref_logit(d, x) is None
    assert drdid_panel(rng.normal(size=n), d, x, "ipw") is None


def test_prepare_design_is_the_row_design():
    panel = _many_sites(5)
    # level names whose sort order differs by case, accents and digits
    tricky = ["Zeta", "alpha", "Élan", "élan", "10", "9", "site 2", "Site 2", "ß", "z"]
    codes, _ = pd.factorize(panel["site"])
    panel["site"] = pd.array(
        [f"{tricky[c % len(tricky)]}{c // len(tricky) or ''}" for c in codes], dtype="string[pyarrow]"
    )
    frame, design, info = prepare(panel, "cbi_work", "W2", ("site", "role"), None)
    expected = _ref_design(frame, ("site", "role"))
    assert list(design.columns) == list(expected.columns)
    assert np.array_equal(design.to_numpy(), expected.to_numpy())
    assert info["covariates_used"] == ("site", "role")


def _ref_balance_table(panel, outcome, wave, covariates, trim=0.99):
    """weighted_balance's rows column by column over the n × p design (the old loop)."""
    frame = _ref_frame(panel, outcome, wave, covariates)
    keep, _ = _ref_overlap(frame, frame["group"].to_numpy(), covariates)
    frame = frame.loc[keep].reset_index(drop=True)
    design = _ref_design(frame, covariates)
    d = frame["group"].to_numpy(dtype="float64")
    weights = _ref_drdid(frame["change"].to_numpy(), d, design.to_numpy(dtype="float64"), "ipw", trim)[2]
    y = outcome_matrix(panel, outcome, program_timing(panel))
    timing = program_timing(panel)
    w = timing.waves.index(wave)
    use = ~timing.left_out & ~np.isnan(y[:, 0]) & ~np.isnan(y[:, w])
    baseline = y[use, 0][keep]
    rows = []
    for name, x in [(f"baseline {outcome}", baseline), *((c, design[c].to_numpy()) for c in design.columns[1:])]:
        a, b = x[d == 1], x[d == 0]
        spread = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
        after = np.average(b, weights=weights[d == 0])
        v_after = np.average((b - after) ** 2, weights=weights[d == 0])
        rows.append((name, (a.mean() - b.mean()) / spread if spread else np.nan,
                     (a.mean() - after) / spread if spread else np.nan,
                     a.var(ddof=1) / b.var(ddof=1) if b.var(ddof=1) > 0 else np.nan,
                     a.var(ddof=0) / v_after if v_after > 0 else np.nan))
    return pd.DataFrame(rows, columns=["covariate", "smd_before", "smd_after", "variance_ratio_before",
                                       "variance_ratio_after"])


@pytest.mark.parametrize("seed", [3, 4])
def test_weighted_balance_equals_the_row_level_reference(seed):
    from analysis.stats.dr_did import weighted_balance

    panel = _many_sites(seed)
    balance = weighted_balance(panel, "cbi_work", "W2", ("site", "role"))
    expected = _ref_balance_table(panel, "cbi_work", "W2", ("site", "role"))
    table = balance.table
    assert balance.status == "ok"
    assert list(table["covariate"]) == list(expected["covariate"])
    for column in ("smd_before", "smd_after", "variance_ratio_before", "variance_ratio_after"):
        np.testing.assert_allclose(table[column].to_numpy(float), expected[column].to_numpy(float),
                                   rtol=1e-9, atol=1e-12, equal_nan=True)
