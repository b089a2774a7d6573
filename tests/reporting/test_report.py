"""Report on the sample data: contract, suppression, known effect, CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.access.scope import LOCAL
from analysis.access.settings import Settings
from analysis.reporting.report import DESCRIPTIVE_COLUMNS, ESTIMATE_COLUMNS, build_report, write_report
from analysis.storage.store import Store
from tests.factories import SMALL_SITE, make_store, run_cli

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
TRUTH = json.loads((SAMPLE / "truth.json").read_text())
ANALYSES = {"unadjusted", "did", "ancova", "ipw", "high_burnout_rd", "dose_response"}


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "sample.duckdb"
    make_store(path).close()
    return path


@pytest.fixture(scope="module")
def tables(db_path):
    with Store(db_path) as store:
        return build_report(store, LOCAL, settings=Settings())


@pytest.fixture(scope="module")
def written(tables, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    write_report(tables, out)
    return out


def test_every_analysis_for_every_scored_outcome(tables):
    outcomes = set(tables.descriptives["outcome"])
    assert {"cbi_personal", "cbi_work", "cbi_client"} <= outcomes
    follow_ups = set(TRUTH["waves"][1:])
    for outcome in outcomes:
        for wave in follow_ups:
            here = tables.estimates.loc[(tables.estimates["outcome"] == outcome)
                                        & (tables.estimates["wave"] == wave), "analysis"]
            expected = ANALYSES if SCALES_BY_KEY_HAS_CUTOFF(outcome) else ANALYSES - {"high_burnout_rd"}
            assert set(here) == expected, (outcome, wave)


def SCALES_BY_KEY_HAS_CUTOFF(outcome: str) -> bool:
    from analysis.definitions.instruments import SCALES_BY_KEY
    return SCALES_BY_KEY[outcome].cutoff is not None


def test_contract_columns_in_order(written):
    estimates = pd.read_csv(written / "estimates.csv", keep_default_na=False)
    descriptives = pd.read_csv(written / "descriptives.csv", keep_default_na=False)
    assert tuple(estimates.columns[: len(ESTIMATE_COLUMNS)]) == ESTIMATE_COLUMNS
    assert tuple(descriptives.columns[: len(DESCRIPTIVE_COLUMNS)]) == DESCRIPTIVE_COLUMNS
    for name in ("participation.csv", "balance.csv"):
        assert (written / name).is_file()
    text = (written / "estimates.csv").read_text() + (written / "descriptives.csv").read_text()
    assert "nan" not in text.lower().replace("nancy", "") and "<NA>" not in text


def test_suppressed_rows_have_no_numbers(written):
    numbers = {"estimates.csv": ["estimate", "ci_low", "ci_high", "p_value", "n_participants",
                                 "n_comparison", "effect_size"],
               "descriptives.csv": ["n", "mean", "sd", "ci_low", "ci_high", "share_high"]}
    for name, cols in numbers.items():
        frame = pd.read_csv(written / name, keep_default_na=False, dtype=str)
        hidden = frame.loc[frame["suppressed"] == "True"]
        if name == "descriptives.csv":
            assert len(hidden) > 0
        for col in cols:
            assert (hidden[col] == "").all(), (name, col)


def test_small_practice_never_has_a_count(tables):
    rows = tables.descriptives.loc[tables.descriptives["site"] == SMALL_SITE]
    assert len(rows) > 0 and rows["n"].isna().all() and rows["mean"].isna().all()
    part = tables.participation.loc[tables.participation["site"] == SMALL_SITE]
    assert part["n_respondents"].isna().all() and part["n_participants"].isna().all()
    # complementary suppression: at least one other practice hidden alongside it
    for (outcome, wave), group in tables.descriptives.groupby(["outcome", "wave"]):
        members = group.loc[(group["site"] != "all") & (group["group"] == "all")]
        assert members["suppressed"].sum() >= 2, (outcome, wave)


def test_known_effect_recovered_and_naive_biased(tables):
    est = tables.estimates
    for wave, att in TRUTH["att"]["cbi_work"].items():
        rows = est.loc[(est["analysis"] == "did") & (est["outcome"] == "cbi_work") & (est["wave"] == wave)]
        did = rows.iloc[0]
        assert did["ci_low"] <= att <= did["ci_high"], (wave, att, did["ci_low"], did["ci_high"])
        naive = est.loc[(est["analysis"] == "unadjusted") & (est["outcome"] == "cbi_work")
                        & (est["wave"] == wave)].iloc[0]
        assert naive["estimate"] > 0 > att  # the raw comparison points the wrong way
        assert naive["estimate"] - att > 4


def test_headline_is_did_on_primary_outcome(tables):
    h = tables.headline
    assert h is not None and h.outcome == "cbi_work" and h.analysis == "did"
    assert h.wave == TRUTH["waves"][-1] and h.estimate is not None and h.ancova_estimate is not None
    assert any("parallel trends" in n for n in tables.notes)
    for name in ("balance", "dose", "mde", "reliability", "quality"):
        assert len(getattr(tables, name)) > 0, name
    assert not tables.balance["covariate"].str.contains(SMALL_SITE).any()


def _cli(*args: str):
    return run_cli("report", *args)


def test_cli_exit_codes(db_path, tmp_path):
    done = _cli("--db", str(db_path), "--out", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r" / "estimates.csv").is_file() and "Headline" in done.stdout
    refused = _cli("--db", str(db_path), "--out", str(tmp_path / "r2"), "--min-group-size", "2")
    assert refused.returncode == 2 and "at least 3" in refused.stderr
    assert not (tmp_path / "r2").exists()
    missing = _cli("--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "r3"))
    assert missing.returncode == 2


# ---------------------------------------------------------------- change since baseline


def test_change_rows_match_the_did_estimate(tables):
    change, est = tables.change, tables.estimates
    shown = change.loc[change["status"] == "ok"]
    assert len(shown) > 0 and set(shown["group"]) == {"participants", "comparison"}
    for (outcome, wave), rows in shown.groupby(["outcome", "wave"]):
        by_group = rows.set_index("group")
        did = est.loc[(est["analysis"] == "did") & (est["outcome"] == outcome)
                      & (est["wave"] == wave)].iloc[0]
        gap = by_group.loc["participants", "mean_change"] - by_group.loc["comparison", "mean_change"]
        assert abs(gap - did["estimate"]) < 1e-9, (outcome, wave)
        # the same people: no group size the estimate does not already show
        assert by_group.loc["participants", "n"] == did["n_participants"]
        assert by_group.loc["comparison", "n"] == did["n_comparison"]
        assert (rows["baseline_wave"] == TRUTH["waves"][0]).all()
        assert (rows["ci_low"] < rows["mean_change"]).all() and (rows["mean_change"] < rows["ci_high"]).all()


def test_change_rows_are_suppressed_like_the_did_estimate(db_path):
    k = 120   # participants at the first follow-up are fewer than this in the sample
    with Store(db_path) as store:
        strict = build_report(store, LOCAL, settings=Settings(min_group_size=k))
    change, est = strict.change, strict.estimates
    hidden = change.loc[change["suppressed"]]
    assert len(hidden) > 0 and (hidden["status"] == "insufficient").all()
    for col in ("n", "mean_change", "sd_change", "ci_low", "ci_high"):
        assert hidden[col].isna().all(), col
    did = est.loc[est["analysis"] == "did"].set_index(["outcome", "wave"])
    for (outcome, wave), rows in change.groupby(["outcome", "wave"]):
        assert rows["suppressed"].nunique() == 1, "both groups of a wave shown or hidden together"
        assert bool(rows["suppressed"].iloc[0]) == bool(did.loc[(outcome, wave), "suppressed"])
    shown = change.loc[~change["suppressed"]]
    assert (shown["n"].dropna() >= k).all()
