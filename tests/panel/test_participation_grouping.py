"""The coded participation summary against the pandas groupby it replaced (kept here as the reference)."""

import numpy as np
import pandas as pd
import pytest

from analysis.panel.grouping import group_codes, grouped_median, grouped_quantiles
from analysis.panel.participation import (
    DOSE_BANDS,
    as_flag,
    attendance_timing,
    dose_band,
    participation_summary,
)

_DOSE = {"0": "dose_0", "1–2": "dose_1_2", "3–5": "dose_3_5", "6+": "dose_6_plus"}


def _reference_summarise(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The pandas groupby summary (the implementation before integer codes)."""
    frame = frame.copy()
    frame["participant"] = as_flag(frame["participant"])
    frame["sessions"] = frame["sessions"].fillna(0).astype("float64")
    frame["dose"] = dose_band(frame["sessions"])
    groups = frame.groupby(by, observed=True, sort=True, dropna=False)
    out = groups.agg(n_respondents=("person", "size"), n_participants=("participant", "sum"))
    out["participation_rate"] = out["n_participants"] / out["n_respondents"]
    dose_counts = (frame.groupby(by + ["dose"], observed=False, dropna=False).size()
                   .unstack("dose").reindex(columns=list(DOSE_BANDS), fill_value=0).rename(columns=_DOSE))
    out = out.join(dose_counts.reindex(out.index).fillna(0).astype("int64"))
    takers = frame.loc[frame["participant"]].copy()
    survey_day = takers["survey_date"].to_numpy(dtype="datetime64[D]").astype("int64")
    months = np.maximum((survey_day - takers["first_day"].to_numpy()) / (365.25 / 12), 1.0)
    takers["rate"] = np.where(takers["first_day"].notna(), takers["sessions"] / months, np.nan)
    takers["retained"] = np.where(takers["first_day"].notna(), takers["months_attended"] >= 2, np.nan)
    takers["span"] = takers["last_day"] - takers["first_day"]
    grouped = takers.groupby(by, observed=True, sort=True, dropna=False)
    quartiles = grouped["sessions"].quantile([0.25, 0.5, 0.75]).unstack().reindex(columns=[0.25, 0.5, 0.75])
    quartiles.columns = ["sessions_q1", "sessions_median", "sessions_q3"]
    per_person = grouped.agg(sessions_per_month=("rate", "median"), retention=("retained", "mean"),
                             span_days_median=("span", "median"))
    out = out.join(quartiles).join(per_person)
    columns = ["n_respondents", "n_participants", "participation_rate", "sessions_median", "sessions_q1",
               "sessions_q3", *_DOSE.values(), "sessions_per_month", "retention", "span_days_median"]
    out = out.reindex(columns=columns).reset_index()
    out["n_participants"] = out["n_participants"].astype("int64")
    return out


def _frames(seed: int, people: int = 400, waves: int = 4, with_missing: bool = False):
    rng = np.random.default_rng(seed)
    person = np.repeat(np.arange(1, people + 1), waves)
    wave_index = np.tile(np.arange(waves), people)
    survey = pd.Timestamp("2025-01-15") + pd.to_timedelta(wave_index * 91 + rng.integers(0, 20, len(person)),
                                                           unit="D")
    site = rng.choice(["Harbor", "Elm", "Birch", "Zed"], people)[person - 1]
    role = pd.Series(rng.choice(["nurse", "physician", "social worker"], people)[person - 1], dtype="str")
    if with_missing:
        role[rng.random(len(role)) < 0.05] = None  # a missing key is a group of its own, last
    panel = pd.DataFrame({"person": person, "wave": pd.Series([f"W{i}" for i in wave_index], dtype="str"),
                          "wave_index": wave_index, "survey_date": survey, "site": site, "role": role})
    n_sessions = rng.poisson(rng.choice([0, 0, 2, 6], people))
    att_person = np.repeat(np.arange(1, people + 1), n_sessions)
    attendance = pd.DataFrame({
        "person": att_person,
        "session_date": pd.Timestamp("2024-12-01") + pd.to_timedelta(rng.integers(0, 400, len(att_person)),
                                                                      unit="D"),
        "session_type": rng.choice(["group", "one-to-one", None], len(att_person)),
    })
    timing = attendance_timing(panel, attendance)
    panel["sessions"] = timing["sessions_found"].astype("int32")
    panel["participant"] = panel["sessions"] >= 2
    return panel, attendance


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("by", [("wave",), ("wave", "site"), ("wave", "role"), ("site", "role", "wave")])
def test_summary_matches_the_groupby_reference(seed, by):
    panel, attendance = _frames(seed)
    got = participation_summary(panel, attendance, by=by)
    frame = panel[[*dict.fromkeys([*by, "person", "participant", "sessions", "survey_date"])]].join(
        attendance_timing(panel, attendance))
    expected = _reference_summarise(frame, list(by))
    pd.testing.assert_frame_equal(got, expected, rtol=1e-13, atol=0)


def test_session_type_summary_matches_the_reference():
    panel, attendance = _frames(5)
    got = participation_summary(panel, attendance, by=("wave", "session_type"))
    types = attendance["session_type"].fillna("unspecified").astype(str)
    parts = []
    for kind in sorted(types.unique()):
        found = attendance_timing(panel, attendance.loc[types == kind])
        part = panel[["wave", "person", "survey_date"]].assign(session_type=kind, **found)
        part["sessions"] = part["sessions_found"]
        part["participant"] = part["sessions_found"] > 0
        parts.append(_reference_summarise(part, ["wave", "session_type"]))
    expected = pd.concat(parts, ignore_index=True).sort_values(["wave", "session_type"], kind="stable")
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True), rtol=1e-13, atol=0)


def test_grouped_statistics_match_pandas():
    rng = np.random.default_rng(3)
    groups = rng.integers(0, 40, 2000)
    values = rng.integers(0, 9, 2000).astype(float)  # many ties, as session counts have
    values[rng.random(2000) < 0.2] = np.nan
    values[groups == 7] = np.nan  # a group with nothing to summarise
    series = pd.Series(values).groupby(groups)
    np.testing.assert_array_equal(grouped_median(groups, values, 41)[:40], series.median().to_numpy())
    assert np.isnan(grouped_median(groups, values, 41)[40])
    expected = series.quantile([0.25, 0.5, 0.75]).unstack().to_numpy()
    np.testing.assert_array_equal(grouped_quantiles(groups, values, 40, (0.25, 0.5, 0.75)), expected)


def test_group_codes_order_like_groupby():
    frame = pd.DataFrame({"a": pd.Series(["b", None, "a", "b", "a"], dtype="str"), "b": [2, 1, 1, 2, 3]})
    codes, keys = group_codes(frame, ["a", "b"])
    expected = frame.groupby(["a", "b"], sort=True, dropna=False).ngroup().to_numpy()
    np.testing.assert_array_equal(codes, expected)
    pd.testing.assert_frame_equal(keys, frame.groupby(["a", "b"], sort=True, dropna=False).size()
                                  .reset_index()[["a", "b"]], check_column_type=False)


def test_a_missing_key_is_its_own_group_last():
    # (the groupby reference joined no statistics onto a missing key; the report's keys are
    # never missing: load_panel fills roles with "not stated")
    panel, attendance = _frames(1, with_missing=True)
    got = participation_summary(panel, attendance, by=("wave", "role"))
    complete = participation_summary(panel.dropna(subset=["role"]), attendance, by=("wave", "role"))
    assert got["role"].isna().sum() == 4 and got.groupby("wave")["role"].apply(lambda r: r.isna().iloc[-1]).all()
    pd.testing.assert_frame_equal(got.dropna(subset=["role"]).reset_index(drop=True), complete)
    missing = panel.loc[panel["role"].isna()]
    assert got.loc[got["role"].isna(), "n_respondents"].sum() == len(missing)
    assert got.loc[got["role"].isna(), "sessions_median"].notna().any()
