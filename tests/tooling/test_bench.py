"""The bench's paired bare-load / ingest rounds (tooling.bench.paired_loads)."""

from __future__ import annotations

import pytest

from tooling import bench


def _fake(times: dict[str, list[float]], calls: list[str]):
    def run_once(stage: str) -> dict:
        calls.append(stage)
        return {"runs": [times[stage].pop(0)], "peak_rss_mb": 100.0 + len(calls)}
    return run_once


def test_rounds_alternate_which_load_goes_first() -> None:
    calls: list[str] = []
    run = _fake({"bare_load": [1.0] * 4, "ingest": [1.2] * 4}, calls)
    bench.paired_loads(run, 4)
    assert calls == ["bare_load", "ingest", "ingest", "bare_load"] * 2


def test_ratio_is_per_round_so_a_slow_stretch_cancels() -> None:
    # The machine halves its speed for the last two rounds: the ratio of medians
    # moves, each round's ratio does not.
    times = {"bare_load": [2.0, 2.0, 2.0, 4.0, 4.0], "ingest": [2.6, 2.6, 2.6, 5.2, 5.2]}
    result = bench.paired_loads(_fake(times, []), 5)
    assert result["ingest"]["round_ratios"] == [1.3] * 5
    assert result["bare_load"]["runs"] == [2.0, 2.0, 2.0, 4.0, 4.0]
    assert result["ingest"]["runs"] == [2.6, 2.6, 2.6, 5.2, 5.2]
    assert result["ingest"]["ratio_of_medians"] == pytest.approx(1.3)


def test_peak_is_the_largest_of_the_stage_runs() -> None:
    result = bench.paired_loads(_fake({"bare_load": [1.0] * 3, "ingest": [1.0] * 3}, []), 3)
    # Calls 1..6 report peaks 101..106: bare ran 1st, 4th, 5th; ingest 2nd, 3rd, 6th.
    assert result["bare_load"]["peak_rss_mb"] == 105.0
    assert result["ingest"]["peak_rss_mb"] == 106.0


def test_stops_when_the_next_round_would_pass_the_budget() -> None:
    calls: list[str] = []
    run = _fake({"bare_load": [4.0] * 5, "ingest": [6.0] * 5}, calls)
    result = bench.paired_loads(run, 5, budget=25.0)
    # Round 1 took 10 s; a second would bring 20 s, within 25; a third would pass it.
    assert len(result["ingest"]["round_ratios"]) == 2
    assert len(calls) == 4


def test_at_least_one_round_even_over_budget() -> None:
    result = bench.paired_loads(_fake({"bare_load": [50.0], "ingest": [70.0]}, []), 3,
                                budget=1.0)
    assert result["ingest"]["round_ratios"] == [1.4]


def test_bench_size_pairs_the_loads_and_reports_the_median_round_ratio(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """bench_size runs bare_load and ingest as pairs and ingest's ratio_to_bare is the
    median of the rounds' ratios, not the ratio of the medians."""
    import pandas as pd

    from tooling import synthetic

    data = type("D", (), {"survey": pd.DataFrame({"site": ["a"] * 10}),
                          "attendance": pd.DataFrame({"x": [1]})})()
    monkeypatch.setattr(synthetic, "generate_bench", lambda *a, **k: data)

    def write_csv(_data, folder):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "survey.csv").write_text("x\n")
        (folder / "attendance.csv").write_text("x\n")
        return folder / "survey.csv", folder / "attendance.csv"

    monkeypatch.setattr(synthetic, "write_csv", write_csv)
    times = {"bare_load": [1.0, 3.0, 1.0], "ingest": [1.2, 4.5, 1.3]}
    calls: list[tuple[str, str]] = []

    def child(stage, rows, work, survey, attendance, db, repeats):
        calls.append((stage, repeats))
        return {"runs": [times[stage].pop(0)], "peak_rss_mb": 1.0}

    monkeypatch.setattr(bench, "_child", child)
    records = bench.bench_size(10, 3, lambda r: None, ("bare_load", "ingest"))
    ingest = next(r for r in records if r["measure"] == "ingest")
    assert all(repeats == 1 for _, repeats in calls) and len(calls) == 6
    assert ingest["round_ratios"] == [1.2, 1.5, 1.3]
    assert ingest["ratio_to_bare"] == 1.3
    assert ingest["meets_target"] is True
