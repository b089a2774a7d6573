"""E-value (VanderWeele & Ding 2017 worked example) and the trends breakdown."""

import math

import pytest

from analysis.stats.sensitivity import e_value, e_value_rr, trends_breakdown


def test_e_value_of_the_papers_example():
    # VanderWeele & Ding (2017): RR 3.9 (CI 1.8 to 8.7) -> E-values 7.26 and 3.0
    assert e_value_rr(3.9) == pytest.approx(7.26, abs=5e-3)
    assert e_value_rr(1.8) == pytest.approx(3.0, abs=5e-3)
    assert e_value_rr(1 / 3.9) == pytest.approx(e_value_rr(3.9))


def test_e_value_of_a_mean_difference():
    result = e_value(-5.0, -8.0, -2.0, 10.0)
    rr = math.exp(0.91 * 0.5)
    assert result.point == pytest.approx(rr + math.sqrt(rr * (rr - 1)))
    assert result.interval == pytest.approx(e_value_rr(math.exp(0.91 * 0.2)))
    assert "2.5 times" in result.sentence
    assert e_value(-1.0, -3.0, 1.0, 10.0).interval == 1.0


def test_trends_breakdown():
    result = trends_breakdown(-4.5, 0.9, 1e6, [0.3, -1.5], waves_after=1)
    assert result.breakdown == pytest.approx((4.5 - 1.959963985 * 0.9) / 1.5, rel=1e-6)
    assert result.largest_placebo == 1.5
    assert trends_breakdown(-1.0, 0.9, 50, [0.5]).breakdown == 0.0
    assert trends_breakdown(-4.5, 0.9, 50, []).breakdown is None
    assert trends_breakdown(-4.5, 0.9, 1e6, [0.3, -1.5], waves_after=2).breakdown == pytest.approx(
        result.breakdown / 2
    )
