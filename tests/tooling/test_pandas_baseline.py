"""The pandas + statsmodels baseline (benchmarks/pandas_baseline.py) computes the report's
analyses: on the same small generated uploads its point estimates are the report's."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.access.scope import LOCAL
from analysis.access.settings import load_settings
from analysis.intake.ingest import ingest
from analysis.intake.values import UploadFile
from analysis.reporting.report import ReportTables, build_report
from analysis.storage.store import Store
from benchmarks import pandas_baseline
from tooling.synthetic import generate_bench, write_csv

SITES = tuple((f"Practice {i + 1:03d}", 1.0) for i in range(4))


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("baseline")
    data = generate_bench(300, 4, 20261128, skipped_wave_rate=0.0, sites=SITES, fixed_site_sizes=())
    return write_csv(data, folder / "csv")


@pytest.fixture(scope="module")
def both(uploads: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
         ) -> tuple[ReportTables, dict[str, pd.DataFrame]]:
    survey, attendance = uploads
    folder = tmp_path_factory.mktemp("report")
    with Store(folder / "store.duckdb") as store:
        result = ingest(store, [UploadFile.from_path("survey", survey),
                                UploadFile.from_path("attendance", attendance)], LOCAL)
        assert result.status == "applied", result
        ours = build_report(store, LOCAL, settings=load_settings(store))
    return ours, pandas_baseline.run(survey, attendance, folder / "baseline")


def _joined(report: ReportTables, baseline: dict[str, pd.DataFrame], analysis: str) -> pd.DataFrame:
    ours, theirs = report.estimates, baseline["estimates"]
    mine = ours.loc[(ours["analysis"] == analysis) & ~ours["suppressed"].astype(bool)]
    other = theirs.loc[theirs["analysis"] == analysis]
    return mine.merge(other, on=["outcome", "wave"], suffixes=("", "_baseline"), validate="one_to_one")


def test_did_rows_agree_with_the_report(both: tuple[ReportTables, dict[str, pd.DataFrame]]) -> None:
    joined = _joined(*both, "did")
    ours = both[0].estimates
    # every outcome x follow-up wave of the report's did rows is in the baseline
    assert len(joined) == int((~ours.loc[ours["analysis"] == "did", "suppressed"].astype(bool)).sum()) > 0
    assert set(joined["outcome"]) >= {"cbi_work", "cbi_personal", "cbi_client"}
    assert joined["estimate"].to_numpy() == pytest.approx(joined["estimate_baseline"].to_numpy(), abs=1e-6)
    assert (joined["n_participants"].astype(int) == joined["n_participants_baseline"]).all()
    assert (joined["n_comparison"].astype(int) == joined["n_comparison_baseline"]).all()
    # the standard errors are computed differently (CR2 vs statsmodels' cluster), not wildly so
    width = (joined["ci_high"] - joined["ci_low"]).astype(float)
    other = joined["ci_high_baseline"] - joined["ci_low_baseline"]
    assert ((other / width).between(0.5, 2.0)).all()


@pytest.mark.parametrize("analysis", ["unadjusted", "ancova", "ipw", "dose_response", "high_burnout_rd"])
def test_other_point_estimates_agree(both: tuple[ReportTables, dict[str, pd.DataFrame]],
                                     analysis: str) -> None:
    joined = _joined(*both, analysis)
    assert len(joined) > 0
    assert joined["estimate"].to_numpy() == pytest.approx(joined["estimate_baseline"].to_numpy(), abs=1e-6)


def test_event_study_and_mde_agree(both: tuple[ReportTables, dict[str, pd.DataFrame]]) -> None:
    report, baseline = both
    event = report.event_study.loc[~report.event_study["suppressed"].astype(bool)].merge(
        baseline["event_study"], on=["outcome", "event_time"], suffixes=("", "_baseline"))
    assert len(event) == int((~report.event_study["suppressed"].astype(bool)).sum()) > 0
    assert (event["period"] == "pre").any()  # the placebo rows are there too
    assert event["estimate"].to_numpy() == pytest.approx(event["estimate_baseline"].to_numpy(), abs=1e-6)
    mde = report.mde.loc[~report.mde["suppressed"]].merge(baseline["mde"], on=["outcome", "wave"],
                                                          suffixes=("", "_baseline"))
    assert len(mde) > 0
    # statsmodels' solve_power stops within a few 1e-6 of the root; ours solves the same
    # equation to 1e-10 (tests/stats/test_effects.py checks its power against statsmodels')
    assert mde["mde_points"].to_numpy() == pytest.approx(mde["mde_points_baseline"].to_numpy(), rel=2e-5)


def test_limit_stops_the_run_and_says_how_far(uploads: tuple[Path, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    survey, attendance = uploads
    record = pandas_baseline.main(["--survey", str(survey), "--attendance", str(attendance),
                                   "--limit-seconds", "0.05"])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == record
    assert record["complete"] is False
    assert record["steps_done"] < record["steps_total"] or record["steps_total"] == 0
    assert record["seconds"] >= 0.05 and record["peak_rss_mb"] > 0


def test_the_limit_holds_when_the_alarm_is_lost(uploads: tuple[Path, Path],
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    # Python drops an exception the alarm raises inside a garbage-collector callback (CI
    # met it): the run then goes on, so each step checks the time as well.
    monkeypatch.setattr(pandas_baseline, "_on_alarm", lambda signum, frame: None)
    survey, attendance = uploads
    record = pandas_baseline.main(["--survey", str(survey), "--attendance", str(attendance),
                                   "--limit-seconds", "0.05"])
    capsys.readouterr()
    assert record["complete"] is False
    assert record["steps_done"] >= 1 and record["last_step_done"] != "write"
