"""Tests of the seeded synthetic data generator (tooling/synthetic.py, tooling/synthetic_truth.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from tooling import synthetic
from tooling.synthetic import SyntheticConfig, generate, generate_bench, write_csv
from tooling.synthetic_truth import write_truth

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
OUTCOMES = ("cbi_personal", "cbi_work", "cbi_client", "ucla3_loneliness")
LABEL_CODES = {
    **{w.lower(): k for k, w in enumerate(synthetic.FREQUENCY_LABELS, start=1)},
    **{w.lower(): k for k, w in enumerate(synthetic.DEGREE_LABELS, start=1)},
}


@pytest.fixture(scope="module")
def data() -> synthetic.SyntheticData:
    return generate(SyntheticConfig())


def _codes(column: pd.Series) -> pd.Series:
    """Item answers (codes or labels, blanks) as numeric codes, independent of the module."""
    text = column.astype("string").str.strip().str.lower()
    mapped = text.map(lambda v: LABEL_CODES.get(v, v) if isinstance(v, str) else v)
    return pd.to_numeric(mapped, errors="coerce")


def _score(survey: pd.DataFrame) -> pd.DataFrame:
    """Independent scorer following instruments.md, used to check the truth against the files."""
    out = survey[["respondent_id", "wave"]].copy()
    for scale, items, minimum in (("cbi_personal", range(1, 7), 3),
                                  ("cbi_work", range(7, 14), 4),
                                  ("cbi_client", range(14, 20), 3)):
        codes = pd.concat({j: _codes(survey[f"cbi_{j}"]) for j in items}, axis=1)
        if 13 in codes:
            codes[13] = 6 - codes[13]
        points = (codes - 1) * 25
        out[scale] = points.mean(axis=1).where(points.notna().sum(axis=1) >= minimum)
    ucla = pd.concat([_codes(survey[f"ucla3_{j}"]) for j in (1, 2, 3)], axis=1)
    out["ucla3_loneliness"] = ucla.sum(axis=1).where(ucla.notna().all(axis=1))
    return out


def _doses(data: synthetic.SyntheticData) -> pd.Series:
    """Sessions on or before each survey row's date."""
    merged = data.survey[["respondent_id", "wave", "survey_date"]].merge(
        data.attendance[["respondent_id", "session_date"]], on="respondent_id", how="left")
    merged["counts"] = merged["session_date"].notna() & (merged["session_date"] <= merged["survey_date"])
    return merged.groupby(["respondent_id", "wave"])["counts"].sum()


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    config = SyntheticConfig(n_people=120, n_waves=3, seed=7)
    a = write_csv(generate(config), tmp_path / "a")
    b = write_csv(generate(config), tmp_path / "b")
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes()
    c = write_csv(generate(replace(config, seed=8)), tmp_path / "c")
    assert c[0].read_bytes() != a[0].read_bytes()


def test_committed_sample_matches_generator(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(SAMPLE / "make_sample.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    for name in ("survey.csv", "attendance.csv", "truth.json", "TRUTH.md"):
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name


def test_columns_are_canonical(data: synthetic.SyntheticData) -> None:
    expected = (["respondent_id", "wave", "survey_date", "site", "role", "years_band",
                 "caseload_band"] + [f"cbi_{j}" for j in range(1, 20)] + ["miniz_1"]
                + [f"ucla3_{j}" for j in (1, 2, 3)])
    assert list(data.survey.columns) == expected
    assert list(data.attendance.columns) == ["respondent_id", "session_date", "session_type",
                                             "duration_minutes"]
    s = data.survey
    assert list(s["wave"].unique()) == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert set(s["role"]) == {"psychologist", "counselor", "social worker",
                              "marriage and family therapist"}
    assert set(s["years_band"]) == {"0-4", "5-9", "10-19", "20+"}
    assert set(s["caseload_band"]) == {"low", "medium", "high"}
    assert not s.duplicated(["respondent_id", "wave"]).any()
    assert set(data.attendance["session_type"]) == {"group", "online", "one-to-one"}
    assert (data.attendance["duration_minutes"] > 0).all()
    assert not data.attendance.duplicated(["respondent_id", "session_date"]).any()
    assert data.attendance["respondent_id"].isin(s["respondent_id"]).all()


def test_values_in_range_with_blanks_and_labels(data: synthetic.SyntheticData) -> None:
    s = data.survey
    cbi = pd.concat([_codes(s[f"cbi_{j}"]) for j in range(1, 20)], axis=1)
    raw = pd.concat([s[f"cbi_{j}"].astype("string") for j in range(1, 20)], axis=1)
    assert cbi.stack().dropna().between(1, 5).all()
    blank_share = cbi.isna().to_numpy().mean()
    assert 0.015 < blank_share < 0.05
    is_label = raw.apply(lambda c: c.str.contains("[a-z]", regex=True, na=False))
    assert 0.01 < is_label.to_numpy().mean() < 0.03
    degree = raw[[f"cbi_{j}" for j in synthetic.DEGREE_ITEMS]].stack().dropna()
    assert degree[degree.str.contains("[a-z]")].str.lower().isin(
        [w.lower() for w in synthetic.DEGREE_LABELS]).all()
    assert _codes(s["miniz_1"]).dropna().between(1, 5).all()
    for j in (1, 2, 3):
        assert _codes(s[f"ucla3_{j}"]).dropna().between(1, 3).all()
    plain = generate(SyntheticConfig(n_people=80, label_rate=0.0)).survey
    assert str(plain["cbi_1"].dtype) == "Int64"


def test_dates_in_mid_quarter_windows(data: synthetic.SyntheticData) -> None:
    dates = pd.to_datetime(data.survey["survey_date"], format="%Y-%m-%d")
    quarter = dates.dt.year.astype(str) + "-Q" + dates.dt.quarter.astype(str)
    assert (quarter == data.survey["wave"]).all()
    day_in_quarter = (dates - dates.dt.to_period("Q").dt.start_time).dt.days
    assert day_in_quarter.between(30, 60).all()
    assert day_in_quarter.max() - day_in_quarter.min() <= 14
    pd.to_datetime(data.attendance["session_date"], format="%Y-%m-%d")
    labels = synthetic.wave_labels(10)
    assert labels[4] == "2026-Q1" and labels[-1] == "2027-Q2"


def test_row_count_and_site_sizes(data: synthetic.SyntheticData) -> None:
    assert 1750 <= len(data.survey) <= 1920
    people = data.survey.groupby("site")["respondent_id"].nunique()
    assert len(people) == 8
    assert data.truth["site_sizes"]["Willow Creek Counseling"] == 4
    assert people.min() == 4 and people.idxmin() == "Willow Creek Counseling"
    assert people.max() > 100
    for n in (12, 137, 20_000):
        sizes = synthetic.site_sizes(SyntheticConfig(n_people=n))
        assert sum(sizes.values()) == n and sizes["Willow Creek Counseling"] == 4
    site_per_person = data.survey.groupby("respondent_id")["site"].nunique()
    assert (site_per_person == 1).all()


def test_identifiers_are_pseudonymous(data: synthetic.SyntheticData) -> None:
    ids = pd.concat([data.survey["respondent_id"], data.attendance["respondent_id"]])
    assert ids.str.fullmatch(r"P\d{5,}").all()
    assert not ids.str.contains(r"@|\s|[a-z]", regex=True).any()


@pytest.mark.parametrize("seed", [20261128, 11, 12])
def test_join_rate_near_config(seed: int) -> None:
    config = SyntheticConfig(n_people=1000, seed=seed)
    data = generate(config)
    joined = data.attendance["respondent_id"].nunique() / config.n_people
    assert abs(joined - config.join_rate) <= 0.05
    assert data.truth["join_rate"] == pytest.approx(joined)


def test_default_sample_join_rate(data: synthetic.SyntheticData) -> None:
    joined = data.attendance["respondent_id"].nunique() / data.config.n_people
    assert abs(joined - data.config.join_rate) <= 0.05


def test_no_session_on_or_before_baseline(data: synthetic.SyntheticData) -> None:
    baseline = data.survey[data.survey["wave"] == "2025-Q1"].set_index("respondent_id")["survey_date"]
    sessions = data.attendance.join(baseline, on="respondent_id", how="inner")
    assert len(sessions) > 0
    assert (sessions["session_date"] > sessions["survey_date"]).all()
    # Every joiner has a session before the last wave's survey window opens.
    first = data.attendance.groupby("respondent_id")["session_date"].min()
    assert (first < "2025-11-07").all()


def test_selection_on_trait(data: synthetic.SyntheticData) -> None:
    scores = _score(data.survey)
    baseline = scores[scores["wave"] == "2025-Q1"]
    joined = baseline["respondent_id"].isin(data.attendance["respondent_id"])
    gap = baseline.loc[joined, "cbi_work"].mean() - baseline.loc[~joined, "cbi_work"].mean()
    assert gap > 4.0
    assert data.truth["baseline_difference"]["cbi_work"] == pytest.approx(gap)


def test_truth_att_negative_dose_dependent_and_naive_biased(data: synthetic.SyntheticData) -> None:
    truth = data.truth
    assert truth["cap"] == 8
    assert truth["effect_per_session"]["cbi_work"] == -1.2
    for outcome in OUTCOMES:
        att = truth["att"][outcome]
        assert list(att) == ["2025-Q2", "2025-Q3", "2025-Q4"]
        assert all(v < 0 for v in att.values())
        bands = truth["att_by_dose"][outcome]
        assert bands["1-2"] > bands["3-5"] > bands["6+"]
    for wave, att in truth["att"]["cbi_work"].items():
        assert truth["naive_difference"]["cbi_work"][wave] > att + 4.0
        assert truth["did_exact"]["cbi_work"][wave] == pytest.approx(
            att + truth["placebo_did"]["cbi_work"][wave])
    cap_effect = truth["effect_per_session"]["cbi_work"] * truth["cap"]
    assert cap_effect < truth["att_by_dose"]["cbi_work"]["6+"] < cap_effect / 2


def test_no_effect_means_zero_att() -> None:
    none = tuple((o, 0.0) for o in OUTCOMES)
    truth = generate(SyntheticConfig(n_people=300, effect_per_session=none)).truth
    for outcome in OUTCOMES:
        assert all(v == 0 for v in truth["att"][outcome].values())


def test_truth_matches_the_files(data: synthetic.SyntheticData) -> None:
    """Naive difference and DiD recomputed from the survey and attendance rows."""
    scores = _score(data.survey).set_index(["respondent_id", "wave"])
    dose = _doses(data).reindex(scores.index)
    for outcome in OUTCOMES:
        wide = scores[outcome].unstack("wave")
        dose_wide = dose.unstack("wave")
        for wave in ("2025-Q2", "2025-Q3", "2025-Q4"):
            at = wide[wave].notna()
            part = dose_wide[wave] >= 1
            naive = wide.loc[at & part, wave].mean() - wide.loc[at & ~part, wave].mean()
            assert data.truth["naive_difference"][outcome][wave] == pytest.approx(naive)
            both = at & wide["2025-Q1"].notna()
            change = wide[wave] - wide["2025-Q1"]
            did = change[both & part].mean() - change[both & ~part].mean()
            assert data.truth["did_exact"][outcome][wave] == pytest.approx(did)
            assert data.truth["n_att"][outcome][wave] == int((both & part).sum())


def test_labels_do_not_change_the_numbers() -> None:
    config = SyntheticConfig(n_people=200, seed=3)
    with_labels, without = generate(config), generate(replace(config, label_rate=0.0))
    assert with_labels.truth["att"] == without.truth["att"]
    assert (_codes(with_labels.survey["cbi_8"]).fillna(0)
            == without.survey["cbi_8"].astype("float").fillna(0)).all()


def test_bench_generates_with_all_items() -> None:
    data = generate_bench(n_people=2000, n_waves=10, seed=5, skipped_wave_rate=0.0)
    assert len(data.survey) == 20_000
    assert [c for c in data.survey.columns if c.startswith("cbi_")] == [
        f"cbi_{j}" for j in range(1, 20)]
    assert data.survey["wave"].nunique() == 10
    assert data.attendance["respondent_id"].isin(data.survey["respondent_id"]).all()
    assert data.truth["site_sizes"]["Willow Creek Counseling"] == 4
    json.dumps(data.truth)


def test_truth_files_written(tmp_path: Path, data: synthetic.SyntheticData) -> None:
    json_path, md_path = write_truth(data, tmp_path)
    assert json.loads(json_path.read_text())["att"] == json.loads(json.dumps(data.truth["att"]))
    text = md_path.read_text()
    assert "| cbi_work | 2025-Q4 |" in text and re.search(r"item 13", text)


def test_invalid_configs_refused() -> None:
    with pytest.raises(ValueError):
        generate(SyntheticConfig(n_waves=1))
    with pytest.raises(ValueError):
        generate(SyntheticConfig(n_people=3))
