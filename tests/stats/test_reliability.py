"""Cronbach's α and its Feldt interval against psych::alpha (shared/reference/stat-vectors.md)."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis.definitions.instruments import ITEM_COLUMNS, SCALES_BY_KEY
from analysis.stats.reliability import (
    RELIABILITY_COLUMNS,
    cronbach_alpha,
    item_scores_sql,
    reliability_table,
)

REL = 1e-6

# 15 respondents x 10 items, stat-vectors.md.
WORKED = np.array([
    [3, 2, 4, 1, 4, 5, 1, 4, 3, 2], [5, 4, 6, 3, 5, 1, 2, 5, 5, 5],
    [7, 3, 5, 5, 6, 4, 3, 3, 6, 5], [2, 4, 3, 3, 2, 2, 2, 6, 6, 3],
    [6, 5, 6, 5, 4, 4, 4, 6, 7, 5], [1, 2, 3, 4, 2, 5, 2, 3, 5, 2],
    [4, 3, 5, 3, 5, 2, 1, 2, 4, 3], [2, 4, 4, 3, 7, 2, 2, 4, 6, 5],
    [6, 5, 5, 5, 1, 6, 5, 2, 3, 2], [5, 4, 6, 4, 3, 5, 3, 1, 7, 2],
    [4, 3, 5, 2, 5, 3, 2, 3, 4, 1], [4, 2, 3, 2, 5, 3, 4, 2, 3, 4],
    [5, 5, 6, 2, 3, 3, 2, 4, 4, 5], [6, 5, 5, 4, 2, 2, 1, 4, 6, 5],
    [4, 3, 5, 5, 3, 1, 3, 2, 3, 4],
])


def test_worked_example_matches_psych_alpha():
    result = cronbach_alpha(WORKED)
    assert result.status == "ok" and result.ok
    assert result.alpha == pytest.approx(0.5917188485995826, rel=REL)
    # The reference gives the interval to 6 decimals: agree to half a unit in the last.
    assert result.ci_low == pytest.approx(0.194921, abs=5e-7)
    assert result.ci_high == pytest.approx(0.839821, abs=5e-7)
    assert (result.n, result.k) == (15, 10)
    assert result.caution is True  # 0.59 < 0.70


def test_small_example_by_hand():
    # Item variances 5/3 and 19/12 (sum 3.25), totals 3, 5, 6, 9 with variance 6.25:
    # α = 2/1 · (1 − 3.25/6.25) = 0.96.
    result = cronbach_alpha([[1, 2], [2, 3], [3, 3], [4, 5]])
    assert result.alpha == pytest.approx(0.96, rel=1e-12)
    assert result.caution is False
    assert result.ci_low < 0.96 < result.ci_high <= 1


def test_incomplete_rows_are_dropped():
    with_gaps = np.vstack([WORKED, [[1, np.nan, 3, 4, 5, 6, 7, 1, 2, 3]],
                           [[np.nan] * 10]])
    result = cronbach_alpha(with_gaps)
    assert result.n == 15
    assert result.alpha == pytest.approx(0.5917188485995826, rel=REL)


@pytest.mark.parametrize("items, why", [
    ([[1, 2], [2, 3]], "fewer than 3 complete responses"),
    ([[1], [2], [3], [4]], "at least 2 items"),
    ([[1, 2], [2, 1], [3, 0]], "zero variance"),
    ([[3, 3], [3, 3], [3, 3]], "zero variance"),
    ([[1, 2], [2, np.nan], [np.nan, 3], [4, 4]], "fewer than 3 complete responses"),
])
def test_not_enough_data_is_said_never_nan(items, why):
    result = cronbach_alpha(items)
    assert result.status.startswith("not enough data: ") and why in result.status
    assert result.alpha is None and result.ci_low is None and result.ci_high is None
    assert result.caution is False and not result.ok


def _brs_frame() -> pd.DataFrame:
    # Raw BRS codes: items 1, 3, 5 follow the level L, reversed items 2, 4, 6 are 6 − L
    # (one answer off by one), so reversed scores agree and raw codes disagree.
    rows = []
    for wave, levels in (("baseline", [1, 2, 3, 4, 5]), ("follow-up", [2, 4])):
        for i, level in enumerate(levels):
            codes = {f"brs_{n}": (6 - level if n % 2 == 0 else level) for n in range(1, 7)}
            if i == 1:
                codes["brs_3"] = level + 1
            rows.append({"wave": wave, **codes})
    return pd.DataFrame(rows)


def test_reliability_table_reverses_items_before_alpha():
    frame = _brs_frame()
    table = reliability_table(frame, [SCALES_BY_KEY["brs_resilience"]])
    assert list(table.columns) == list(RELIABILITY_COLUMNS)
    baseline = table[table["wave"] == "baseline"].iloc[0]
    # By hand, the reversed item scores are L for every item except brs_3 = L + 1 in
    # the second row: the same α cronbach_alpha gives on that matrix.
    levels = np.array([1, 2, 3, 4, 5], dtype=float)
    scores = np.repeat(levels[:, None], 6, axis=1)
    scores[1, 2] += 1
    expected = cronbach_alpha(scores)
    assert baseline["alpha"] == pytest.approx(expected.alpha, rel=1e-12)
    assert baseline["alpha"] > 0.99
    raw = cronbach_alpha(frame[frame["wave"] == "baseline"].filter(like="brs_").to_numpy())
    assert raw.alpha < 0  # unreversed codes would be nonsense
    assert (baseline["n"], baseline["k"], baseline["status"]) == (5, 6, "ok")
    follow = table[table["wave"] == "follow-up"].iloc[0]
    assert follow["status"].startswith("not enough data") and pd.isna(follow["alpha"])
    assert follow["n"] == 2 and bool(follow["caution"]) is False


def test_item_scores_sql_gives_the_same_table():
    frame = _brs_frame()
    con = duckdb.connect()
    con.execute("CREATE TABLE survey (wave VARCHAR, "
                + ", ".join(f"{c} TINYINT" for c in ITEM_COLUMNS) + ")")
    con.register("frame", frame)
    con.execute("INSERT INTO survey BY NAME SELECT * FROM frame")
    scale = SCALES_BY_KEY["brs_resilience"]
    scores = con.execute(f"SELECT wave, {item_scores_sql(scale)} FROM survey").df()
    assert list(scores.columns) == ["wave"] + [f"brs_{n}_score" for n in range(1, 7)]
    # brs_2 raw code 6 − L is reversed back to L.
    assert scores["brs_2_score"].tolist() == [1, 2, 3, 4, 5, 2, 4]
    from_sql = reliability_table(scores, [scale])
    from_codes = reliability_table(frame, [scale])
    pd.testing.assert_frame_equal(from_sql, from_codes)


def test_item_scores_sql_scores_cbi_like_the_scale():
    # CBI item 13 reversed: code 1 -> (6 − 1 − 1) · 25 = 100; item 7 code 1 -> 0.
    con = duckdb.connect()
    con.execute("CREATE TABLE survey (" + ", ".join(f"{c} TINYINT" for c in ITEM_COLUMNS) + ")")
    con.execute("INSERT INTO survey (cbi_7, cbi_13) VALUES (1, 1)")
    row = con.execute(f"SELECT {item_scores_sql(SCALES_BY_KEY['cbi_work'])} FROM survey"
                      ).fetchone()
    assert row == (0.0, None, None, None, None, None, 100.0)


def test_table_skips_scales_without_items_and_handles_single_items():
    frame = pd.DataFrame({"wave": ["1", "1", "1"], "miniz_1": [1, 3, 5]})
    table = reliability_table(frame, [SCALES_BY_KEY["mbi_ee"], SCALES_BY_KEY["miniz_burnout"],
                                      SCALES_BY_KEY["cbi_work"]])
    assert table["scale"].tolist() == ["miniz_burnout"]
    assert "at least 2 items" in table["status"].iloc[0]
    assert not any(isinstance(v, float) and math.isnan(v) for v in table["status"])
