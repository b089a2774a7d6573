"""The interval and SD must not undo the rounding of counts (issue 13)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.privacy.export_checks import round_counts
from analysis.privacy.rounded_statistics import from_rounded_counts


def _n_from_interval(mean: float, sd: float, ci_high: float) -> int:
    """What an attacker solves: the n whose t interval matches the printed one best."""
    candidates = np.arange(2, 200)
    half = stats.t.ppf(0.975, candidates - 1) * sd / np.sqrt(candidates)
    return int(candidates[np.argmin(np.abs(mean + half - ci_high))])


def test_descriptives_interval_gives_back_only_the_rounded_n():
    exact_n, mean, sd = 19, 50.4567, 10.1234
    half = stats.t.ppf(0.975, exact_n - 1) * sd / np.sqrt(exact_n)
    frame = pd.DataFrame({"outcome": ["o"], "wave": ["w"], "site": ["all"], "group": ["all"],
                          "n": [exact_n], "mean": [mean], "sd": [sd], "ci_low": [mean - half],
                          "ci_high": [mean + half], "share_high": [7 / 19],
                          "share_high_ci_low": [0.1], "share_high_ci_high": [0.6],
                          "suppressed": [False]})
    assert _n_from_interval(mean, sd, mean + half) == exact_n  # the attack on exact statistics
    out = from_rounded_counts("descriptives", round_counts(frame, ["n"]))
    row = out.iloc[0]
    assert int(row["n"]) == 20
    assert _n_from_interval(row["mean"], row["sd"], row["ci_high"]) == 20
    assert "share_high_ci_low" not in out.columns
    assert row["share_high"] == round(7 / 19, 2)


def test_estimate_interval_and_p_use_rounded_degrees_of_freedom():
    n1, n0, estimate, se = 12, 19, -4.2345, 2.3456
    df = n1 + n0 - 2
    q = stats.t.ppf(0.975, df)
    frame = pd.DataFrame({"analysis": ["unadjusted"], "outcome": ["o"], "wave": ["w"],
                          "estimate": [estimate], "std_error": [se], "ci_low": [estimate - q * se],
                          "ci_high": [estimate + q * se],
                          "p_value": [2 * stats.t.sf(abs(estimate / se), df)],
                          "n_participants": [n1], "n_comparison": [n0], "effect_size": [-0.4],
                          "suppressed": [False]})
    out = from_rounded_counts("estimates", round_counts(frame, ["n_participants", "n_comparison"]))
    row = out.iloc[0]
    rounded_df = int(row["n_participants"]) + int(row["n_comparison"]) - 2
    implied_q = (row["ci_high"] - row["estimate"]) / row["std_error"]
    assert abs(implied_q - stats.t.ppf(0.975, rounded_df)) < 0.01
    assert abs(implied_q - q) > abs(implied_q - stats.t.ppf(0.975, rounded_df))


def test_participation_rate_from_rounded_counts():
    frame = pd.DataFrame({"n_respondents": [21], "n_participants": [19],
                          "participation_rate": [19 / 21], "retention": [13 / 19],
                          "sessions_per_month": [1.23456]})
    out = from_rounded_counts("participation", round_counts(frame, ["n_respondents", "n_participants"]))
    assert out["participation_rate"].iloc[0] == 1.0  # 20 / 20, not 19 / 21
    assert out["retention"].iloc[0] == 0.68
