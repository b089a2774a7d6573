"""Participation summary and descriptives on small hand-checkable frames."""

import time

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from analysis.panel.participation import DOSE_BANDS, descriptives, dose_band, participation_summary


def _frames():
    attendance = pd.DataFrame({
        "person": np.array([1, 1, 1, 2, 2, 3], dtype="int64"),
        "session_date": pd.to_datetime(["2024-01-10", "2024-02-05", "2024-04-01",
                                        "2024-01-20", "2024-01-25", "2024-05-01"]),
        "session_type": ["group", "online", "group", "group", None, "group"],
        "duration_minutes": [60.0, 45.0, 60.0, 60.0, None, 60.0],
        "site": ["A", "A", "A", "B", "B", "A"],
        "role": ["psychologist"] * 6,
    })
    dates = {"baseline": "2024-01-01", "w1": "2024-03-01"}
    rows = []
    for person, site in [(1, "A"), (2, "B"), (3, "A"), (4, "B")]:
        for index, wave in enumerate(dates):
            sessions = int(((attendance["person"] == person)
                            & (attendance["session_date"] <= pd.Timestamp(dates[wave]))).sum())
            rows.append({"person": person, "wave": wave, "wave_index": index,
                         "survey_date": pd.Timestamp(dates[wave]), "site": site, "role": "psychologist",
                         "sessions": sessions, "participant": sessions >= 1})
    panel = pd.DataFrame(rows)
    panel["cbi_work"] = [60.0, 40.0, 55.0, 45.0, 30.0, 35.0, 50.0, np.nan]
    return panel, attendance


def test_dose_band():
    assert list(dose_band([0, 1, 2, 3, 5, 6, 40])) == ["0", "1–2", "1–2", "3–5", "3–5", "6+", "6+"]
    assert list(dose_band(pd.Series([0.0])).cat.categories) == list(DOSE_BANDS)


def test_participation_by_wave_hand_checked():
    panel, attendance = _frames()
    out = participation_summary(panel, attendance).set_index("wave")
    assert out.loc["baseline", "n_respondents"] == 4
    assert out.loc["baseline", "n_participants"] == 0
    w1 = out.loc["w1"]
    # By 1 March: person 1 had 2 sessions (Jan, Feb), person 2 had 2 (both January).
    assert w1["n_participants"] == 2 and w1["participation_rate"] == 0.5
    assert w1["sessions_median"] == 2
    assert (w1["dose_0"], w1["dose_1_2"], w1["dose_3_5"], w1["dose_6_plus"]) == (2, 2, 0, 0)
    assert w1["retention"] == 0.5  # only person 1 attended in two calendar months
    assert w1["span_days_median"] == pytest.approx((26 + 5) / 2)
    # sessions / months from first session to the survey date: 51 and 41 days
    month = 365.25 / 12
    assert w1["sessions_per_month"] == pytest.approx((2 / (51 / month) + 2 / (41 / month)) / 2)


def test_participation_by_site_and_session_type():
    panel, attendance = _frames()
    by_site = participation_summary(panel, attendance, by=("wave", "site"))
    row = by_site[(by_site.wave == "w1") & (by_site.site == "B")].iloc[0]
    assert row["n_respondents"] == 2 and row["n_participants"] == 1
    by_type = participation_summary(panel, attendance, by=("wave", "session_type"))
    w1 = by_type[by_type.wave == "w1"].set_index("session_type")
    assert w1.loc["group", "n_participants"] == 2
    assert w1.loc["online", "n_participants"] == 1
    assert w1.loc["unspecified", "n_participants"] == 1
    assert w1.loc["group", "sessions_median"] == 1


def test_participation_without_attendance():
    panel, attendance = _frames()
    panel = panel.assign(sessions=0, participant=False)
    out = participation_summary(panel, attendance.iloc[0:0])
    assert (out["n_participants"] == 0).all()
    assert out["sessions_median"].isna().all()


def test_descriptives_hand_checked():
    panel, _ = _frames()
    out = descriptives(panel, ["cbi_work"], {"cbi_work": (50.0, "high")})
    assert set(out["site"]) == {"all", "A", "B"}
    cell = out[(out.wave == "w1") & (out.site == "all") & (out.group == "participants")].iloc[0]
    values = np.array([40.0, 45.0])
    assert cell["n"] == 2 and cell["mean"] == pytest.approx(42.5)
    assert cell["sd"] == pytest.approx(values.std(ddof=1))
    assert cell["ci_low"] == pytest.approx(42.5 - 12.706204736174707 * values.std(ddof=1) / np.sqrt(2))
    assert cell["n_high"] == 0 and cell["share_high"] == 0
    everyone = out[(out.wave == "baseline") & (out.site == "all") & (out.group == "all")].iloc[0]
    assert everyone["n"] == 4 and everyone["n_high"] == 3
    low, high = proportion_confint(3, 4, method="wilson")
    assert everyone["share_high_ci_low"] == pytest.approx(low)
    assert everyone["share_high_ci_high"] == pytest.approx(high)
    # a missing value is not counted; one value gives no SD or CI
    single = out[(out.wave == "w1") & (out.site == "B") & (out.group == "comparison")].iloc[0]
    assert single["n"] == 0 and pd.isna(single["mean"])


def test_descriptives_low_direction_and_no_cutoff():
    panel, _ = _frames()
    out = descriptives(panel, ["cbi_work"], {"cbi_work": (40.0, "low")}, by_site=False)
    assert set(out["site"]) == {"all"}
    base = out[(out.wave == "baseline") & (out.group == "all")].iloc[0]
    assert base["n_high"] == 1
    plain = descriptives(panel, ["cbi_work"], None, by_site=False)
    assert plain["share_high"].isna().all()


def test_large_panel_is_fast():
    rng = np.random.default_rng(7)
    people, waves = 50_000, 4
    person = np.repeat(np.arange(people), waves)
    wave_index = np.tile(np.arange(waves), people)
    survey = np.datetime64("2024-01-01") + (wave_index * 90).astype("timedelta64[D]")
    n_sessions = rng.poisson(3, people) * (rng.random(people) < 0.5)
    attending = np.repeat(np.arange(people), n_sessions)
    attendance = pd.DataFrame({
        "person": attending,
        "session_date": np.datetime64("2024-01-01") + rng.integers(1, 360, attending.size).astype("timedelta64[D]"),
        "session_type": "group", "duration_minutes": 60.0, "site": "A", "role": "x"})
    panel = pd.DataFrame({"person": person, "wave": wave_index.astype(str), "wave_index": wave_index,
                          "survey_date": survey, "site": np.where(person % 2, "A", "B"), "role": "x",
                          "sessions": 0, "participant": False, "cbi_work": rng.normal(50, 20, person.size)})
    start = time.perf_counter()
    summary = participation_summary(panel, attendance, by=("wave", "site"))
    table = descriptives(panel, ["cbi_work"], {"cbi_work": (50, "high")})
    assert time.perf_counter() - start < 10
    assert len(summary) == 8 and len(table) == 4 * 3 * 2


def test_descriptives_dominance_contributions():
    """With ``floors``: per cell the two largest (value - floor) and the cell total, no loops."""
    from analysis.panel.participation import CONTRIBUTION_COLUMNS

    n = 12
    panel = pd.DataFrame({
        "person": np.arange(n), "wave": "w1", "wave_index": 0, "site": ["A"] * 10 + ["B"] * 2,
        "participant": [True] * 6 + [False] * 6,
        # site A: two people at 100 and eight at the scale's minimum (0): they hold the whole total
        "cbi_work": [100.0, 90.0, 0, 0, 0, 0, 0, 0, 0, 0, 40.0, np.nan],
    })
    out = descriptives(panel, ["cbi_work"], None, floors={"cbi_work": 0.0})
    assert set(CONTRIBUTION_COLUMNS) <= set(out.columns)
    cells = out.set_index(["site", "group"])
    a = cells.loc[("A", "all")]
    assert (a["contrib_largest"], a["contrib_second_largest"], a["contrib_total"]) == (100.0, 90.0, 190.0)
    everyone = cells.loc[("all", "all")]
    assert (everyone["contrib_largest"], everyone["contrib_second_largest"],
            everyone["contrib_total"]) == (100.0, 90.0, 230.0)
    b = cells.loc[("B", "comparison")]  # one value, one missing: no second contribution
    assert b["contrib_largest"] == 40.0 and np.isnan(b["contrib_second_largest"]) and b["contrib_total"] == 40.0
    # shifted from the floor: a scale starting at 1 counts 1 as nothing
    shifted = descriptives(panel.assign(cbi_work=panel["cbi_work"] + 1), ["cbi_work"], None,
                           floors={"cbi_work": 1.0}).set_index(["site", "group"])
    assert shifted.loc[("A", "all"), "contrib_total"] == 190.0
    # without floors the table is exactly as before (no individual values in it)
    assert not set(CONTRIBUTION_COLUMNS) & set(descriptives(panel, ["cbi_work"], None).columns)
