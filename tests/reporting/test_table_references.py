"""The report's coded tables against plain pandas references on the sample data.

Dose, MDE, descriptives and reliability are computed with integer group codes and, for
reliability, one aggregate query; here each is recomputed the direct way (merge, groupby,
the item matrix) and compared cell by cell.
"""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from analysis.access.scope import LOCAL, Scope
from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.panel.index import PanelIndex
from analysis.panel.participation import descriptives, dose_band
from analysis.reporting.effect_tables import dose_and_mde_tables, reliability_table
from analysis.stats.reliability import reliability_table as reliability_of_items
from analysis.storage.queries import Filters, available, item_moments, load_item_scores, load_panel
from analysis.storage.store import Store
from tests.factories import make_store

K = 5


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("references") / "sample.duckdb"
    with make_store(path) as opened:
        yield opened


@pytest.fixture(scope="module")
def panel(store):
    return load_panel(store, LOCAL, list(available(store, LOCAL).outcomes))


def _pairs(panel: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Follow-up rows with the person's baseline score, by a merge."""
    base = (panel.loc[panel["wave_index"] == 0, ["person", outcome]]
            .drop_duplicates("person", keep="last").rename(columns={outcome: "baseline"}))
    follow = panel.loc[panel["wave_index"] > 0, ["person", "wave", "wave_index", "participant", "sessions",
                                                  outcome]]
    pairs = follow.merge(base, on="person").dropna(subset=[outcome, "baseline"])
    return pairs.assign(change=pairs[outcome] - pairs["baseline"])


def test_dose_and_mde_match_a_groupby(panel):
    outcomes = available_outcomes(panel)
    dose, mde = dose_and_mde_tables(panel, outcomes, K, PanelIndex(panel))
    assert len(dose) and len(mde)
    for outcome in outcomes:
        pairs = _pairs(panel, outcome)
        pairs["dose_band"] = dose_band(pairs["sessions"]).astype(str)
        expected = pd.concat([
            pairs.groupby(["wave", "dose_band"])["change"].agg(["count", "mean", "std"]).reset_index(),
            pairs.groupby("wave")["change"].agg(["count", "mean", "std"]).reset_index().assign(dose_band="all"),
        ])
        got = dose.loc[dose["outcome"] == outcome].merge(expected, on=["wave", "dose_band"], how="outer",
                                                          validate="one_to_one", indicator=True)
        assert (got["_merge"] == "both").all()
        shown = ~got["suppressed"]
        assert shown.any()
        assert (got.loc[shown, "n"] == got.loc[shown, "count"]).all()
        np.testing.assert_allclose(got.loc[shown, "mean_change"], got.loc[shown, "mean"], rtol=1e-12)
        np.testing.assert_allclose(got.loc[shown, "sd_change"], got.loc[shown, "std"], rtol=1e-12)
        for wave, group in pairs.groupby("wave"):
            row = mde.loc[(mde["outcome"] == outcome) & (mde["wave"] == wave)].iloc[0]
            took = group["participant"].astype(bool)
            assert (row["n_participants"], row["n_comparison"]) == (took.sum(), (~took).sum())
            a, b = group.loc[took, "baseline"], group.loc[~took, "baseline"]
            pooled = np.sqrt(((len(a) - 1) * a.var() + (len(b) - 1) * b.var()) / (len(a) + len(b) - 2))
            assert row["baseline_sd"] == pytest.approx(pooled, rel=1e-12)
        # the MDE rows come in the order the follow-up rows first meet their waves
        assert list(mde.loc[mde["outcome"] == outcome, "wave"]) == list(pd.unique(pairs["wave"]))


def available_outcomes(panel: pd.DataFrame) -> list[str]:
    return [c for c in panel.columns if c in SCALES_BY_KEY]


@pytest.mark.parametrize("by_site", [True, False])
def test_descriptives_match_a_groupby(panel, by_site):
    outcomes = available_outcomes(panel)
    table = descriptives(panel, outcomes, by_site=by_site)
    frame = panel.assign(group=np.where(panel["participant"], "participants", "comparison"),
                         site=panel["site"].astype(str))
    splits = [(False, False), (False, True)] + ([(True, False), (True, True)] if by_site else [])
    checked = 0
    for split_site, split_group in splits:
        keys = ["wave"] + (["site"] if split_site else []) + (["group"] if split_group else [])
        for outcome in outcomes:
            expected = frame.groupby(keys)[outcome].agg(e_n="count", e_mean="mean", e_sd="std").reset_index()
            rows = table.loc[(table["outcome"] == outcome)
                             & ((table["site"] != "all") == split_site)
                             & ((table["group"] != "all") == split_group)]
            got = rows.merge(expected, on=keys, validate="one_to_one")
            assert len(got) == len(rows) == len(expected)
            assert (got["n"] == got["e_n"]).all()
            np.testing.assert_allclose(got["mean"], got["e_mean"], rtol=1e-12)
            np.testing.assert_allclose(got["sd"], got["e_sd"], rtol=1e-12)
            checked += len(got)
    assert checked > 0


def _reference_reliability(store: Store, scope: Scope, outcomes: list[str]) -> pd.DataFrame:
    """The item-matrix path: every answer read, α per scale and wave by numpy."""
    parts = []
    for outcome in outcomes:
        scale = SCALES_BY_KEY[outcome]
        if scale.scored_only:
            continue
        items = load_item_scores(store, scope, outcome, Filters())
        if len(items):
            items = items.rename(columns={c: f"{c}_score" for c in scale.item_columns})
            parts.append(reliability_of_items(items, [scale]))
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("scoped", [False, True])
def test_reliability_from_moments_matches_the_item_matrix(store, panel, scoped):
    outcomes = available_outcomes(panel)
    scope = replace(LOCAL, practices=frozenset(sorted(set(panel["site"]))[:2])) if scoped else LOCAL
    got = reliability_table(store, scope, Filters(), outcomes, k=1)
    expected = _reference_reliability(store, scope, outcomes)
    assert len(got) == len(expected) > 0
    pd.testing.assert_frame_equal(got.drop(columns=["suppressed"]), expected.astype({"n": "Int64"}),
                                  rtol=1e-11, atol=0)


def test_item_moments_are_exact(store, panel):
    scale = next(SCALES_BY_KEY[o] for o in available_outcomes(panel) if not SCALES_BY_KEY[o].scored_only)
    moments = item_moments(store, LOCAL, [scale.key]).iloc[0]
    items = load_item_scores(store, LOCAL, scale.key)
    matrix = items.loc[items["wave"] == moments["wave"]].drop(columns="wave").dropna().to_numpy()
    matrix = matrix.astype("int64")
    n = len(matrix)

    def variance(x: np.ndarray) -> Fraction:
        return Fraction(int(n * (x * x).sum() - x.sum() ** 2), n * (n - 1))

    assert moments["n"] == n
    assert moments["total_variance"] == float(variance(matrix.sum(axis=1)))
    items_sum = sum(variance(matrix[:, i]) for i in range(matrix.shape[1]))
    assert moments["item_variance_sum"] == pytest.approx(float(items_sum), rel=1e-15)
