"""Group-time ATT and event study against csdid 0.4.3 (tests/reference/make_csdid_reference.py)."""

from dataclasses import replace

import numpy as np
import pytest

from analysis.panel.index import PanelIndex
from analysis.stats.clustering import cr2_contrast
from analysis.stats.group_time import (
    did_at_wave,
    event_study,
    group_time_cells,
    left_out_counts,
    program_timing,
)
from tooling.simulate_programs import SITUATIONS, simulate

# csdid ATTgt(control_group="notyettreated", base_period="varying", est_method="reg"),
# cohorts and periods as wave indexes: (g, t) -> (ATT, analytic SE)
CELLS = {
    (1, 1): (-4.138421588315827, 1.3416704816390648),
    (1, 2): (-5.161080891807256, 1.2649230120112551),
    (1, 3): (-3.846771606785522, 1.2617952890185993),
    (2, 1): (1.912879019263012, 1.1729475720249174),
    (2, 2): (-3.8840049105511567, 1.1488922399875445),
    (2, 3): (-5.708594216170033, 1.1788337435847063),
    (3, 1): (0.3118441095381659, 1.316424669895339),
    (3, 2): (1.162796642374802, 1.5266512027238603),
    (3, 3): (-2.9353324295608614, 1.6198279230189747),
}
# the did row (base wave 0), from R lm + clubSandwich CR2 / Satterthwaite on the same panel
# (tests/reference/did_row_reference.R): wave -> (estimate, SE, df)
DID_ROW_R = {
    1: (-4.138421588316, 1.353997676543, 63.1575888976),
    2: (-3.616471102082, 0.933778570249, 161.6308906824),
    3: (-3.043546286066, 0.864055127544, 268.0385545262),
}
DYNAMIC = {
    -2: (0.3118441095381659, 1.316424669895339),
    -1: (1.5785049476381472, 0.9310751715377024),
    0: (-3.712531693989247, 0.7829520260449838),
    1: (-5.426192606761864, 0.8581784522385872),
    2: (-3.846771606785522, 1.2617952890185995),
}


@pytest.fixture(scope="module")
def reference_panel():
    scenario = replace(SITUATIONS["staggered"], n_people=400, missing_rate=0.0, early_share=0.2)
    return simulate(scenario, 11).panel


def test_cells_equal_csdid(reference_panel):
    cells = {(c.cohort, c.period): c.estimate for c in group_time_cells(reference_panel, "cbi_work")}
    assert set(cells) == set(CELLS)
    for key, (att, _) in CELLS.items():
        assert cells[key] == pytest.approx(att, abs=1e-9)


def test_did_row_matches_r_lm_with_clubsandwich(reference_panel):
    index = PanelIndex(reference_panel)
    for wave, (att, se, df) in DID_ROW_R.items():
        est = did_at_wave(reference_panel, "cbi_work", f"W{wave}", index=index)
        assert est.estimate == pytest.approx(att, abs=1e-9)
        assert est.get("se") == pytest.approx(se, rel=1e-9)
        assert est.residual_df == pytest.approx(df, rel=1e-8)
        assert est.get("se_type") == "CR2 by person"


def test_did_row_is_the_size_weighted_average_of_cohort_atts_from_baseline(reference_panel):
    est = did_at_wave(reference_panel, "cbi_work", "W3")
    cohorts = est.get("cohorts")
    assert [c[0] for c in cohorts] == ["W1", "W2", "W3"]
    average = sum(n * att for _, n, att in cohorts) / sum(n for _, n, _ in cohorts)
    assert est.estimate == pytest.approx(average, abs=1e-9)
    # cohort 1's ATT from baseline is csdid's ATT(1, 3) (its base g - 1 is the baseline)
    assert cohorts[0][2] == pytest.approx(CELLS[(1, 3)][0], abs=1e-9)
    assert est.get("change_participants") - est.get("change_comparison") == pytest.approx(est.estimate)


def test_event_study_is_csdid_dynamic_aggregation(reference_panel):
    table = event_study(reference_panel, "cbi_work").set_index("event_time")
    assert sorted(table.index) == sorted(DYNAMIC)
    for e, (att, se) in DYNAMIC.items():
        assert table.loc[e, "estimate"] == pytest.approx(att, abs=1e-9)
        assert table.loc[e, "std_error"] == pytest.approx(se, rel=0.03)
        assert table.loc[e, "period"] == ("pre" if e < 0 else "post")


def test_people_who_started_before_baseline_are_left_out_and_counted(reference_panel):
    timing = program_timing(reference_panel)
    started = reference_panel.loc[
        (reference_panel["wave_index"] == 0) & (reference_panel["sessions"] > 0), "person"
    ]
    assert set(timing.people[timing.left_out]) == set(started)
    counts = left_out_counts(reference_panel, "cbi_work")
    assert counts["W2"] == started.size  # balanced panel: everyone answers every wave
    est = did_at_wave(reference_panel, "cbi_work", "W2")
    assert est.get("left_out") == started.size
    used = {int(p) for c in group_time_cells(reference_panel, "cbi_work") for p in timing.people[c.treated]}
    assert not used & set(started)


def test_site_rollout_clusters_by_site():
    data = simulate(replace(SITUATIONS["site_rollout"], n_people=300), 3)
    est = did_at_wave(data.panel, "cbi_work", "W2")
    assert est.get("se_type").startswith("CR2 by site")
    assert est.get("clusters") == 10 and "some sites" in est.get("cluster_reason")
    assert est.residual_df < 10  # Satterthwaite df for few clusters


def _dense_stacked(cells, weights, clusters_of_person):
    """CR2 of Σ w_c ATT_c on the dense stacked design (a mean and a shift per cell)."""
    n = sum(c.treated.size + c.control.size for c in cells)
    x, y, clusters, start = np.zeros((n, 2 * len(cells))), np.empty(n), [], 0
    for i, cell in enumerate(cells):
        size = cell.treated.size + cell.control.size
        x[start : start + size, 2 * i] = 1.0
        x[start : start + cell.treated.size, 2 * i + 1] = 1.0
        y[start : start + size] = np.concatenate([cell.change_treated, cell.change_control])
        clusters.append(clusters_of_person[np.concatenate([cell.treated, cell.control])])
        start += size
    contrast = np.zeros(2 * len(cells))
    contrast[1::2] = weights
    return cr2_contrast(x, y, np.concatenate(clusters), contrast)


@pytest.mark.parametrize("by_site", [True, False])
def test_event_study_equals_cr2_on_the_dense_stacked_design(by_site):
    # the event study hands its cells to cr2_blocks as blocks; the dense design through
    # cr2_contrast (clustered by site labels or by person) must give the same numbers
    panel = simulate(replace(SITUATIONS["site_rollout"], n_people=300), 3).panel
    if not by_site:
        panel = panel.drop(columns="site")  # no site information: clustered by person
    timing = program_timing(panel)
    assert (timing.clusters.unit == "site") == by_site
    labels = timing.site if by_site else timing.people
    cells = group_time_cells(panel, "cbi_work")
    table = event_study(panel, "cbi_work")
    assert len(table) > 2
    for row in table.itertuples():
        chosen = [c for c in cells if c.event_time == row.event_time]
        sizes = np.array([c.treated.size for c in chosen], dtype="float64")
        dense = _dense_stacked(chosen, sizes / sizes.sum(), labels)
        assert (row.estimate, row.std_error, row.df) == pytest.approx((dense.estimate, dense.se, dense.df),
                                                                      rel=1e-10)


def test_no_eligible_participants_gives_not_enough_data(reference_panel):
    panel = reference_panel.copy()
    panel["sessions"] = np.where(panel["participant"], 5, 0)
    ever = panel.loc[panel["participant"], "person"].unique()
    panel.loc[panel["person"].isin(ever) & (panel["wave_index"] == 0), ["sessions", "participant"]] = (
        3,
        True,
    )
    est = did_at_wave(panel, "cbi_work", "W1")
    assert not est.ok and est.status.startswith("not enough data")
    assert est.get("left_out") == len(ever)
