"""Dashboard models: the filter guard, the heatmap click, suppressed aggregates, and the
Overview's "cannot support a claim"."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis.access.scope import LOCAL, Scope
from analysis.access.settings import Settings
from analysis.reporting.group_tables import monthly_table as monthly_attendance
from analysis.storage import queries
from analysis.storage.store import Store
from analysis.views.aggregates import follow_descriptives, score_quantiles
from analysis.views.figure_base import VegaLite
from analysis.views.impact import IMPACT_TABS, impact_charts, impact_tabs
from analysis.views.overview import format_count, format_effect, overview_model
from analysis.views.participation_view import participation_charts
from analysis.views.practices import practices_chart, practices_matrix
from analysis.views.quality import quality_charts
from analysis.views.selection import guard_filters, site_from_selection
from tests.factories import load_sample_data

K = 5
ALL_SITES = ("Cedar Grove Counseling", "Harbor Family Therapy",
             "Lakeshore Divorce and Family Counseling", "Maple Street Family Services",
             "Northgate Psychology Group", "Riverside Counseling Collective",
             "Summit Social Work Associates", "Willow Creek Counseling")
SMALL_SITE = "Willow Creek Counseling"   # 4 people in the sample: below K


@pytest.fixture(scope="module")
def store():
    with Store(":memory:") as s:
        load_sample_data(s)
        yield s


# ---------------------------------------------------------------- guard_filters

def test_guard_allows_everything_and_a_large_site(store):
    assert guard_filters(store, LOCAL, Settings(), queries.Filters()).allowed
    decision = guard_filters(store, LOCAL, Settings(),
                             queries.Filters(sites=("Harbor Family Therapy",)))
    assert decision.allowed, decision.reason


def test_guard_head_count_is_the_panels(store):
    """The unfiltered guard counts people with one query: the same as the panel's."""
    panel = queries.load_panel(store, LOCAL, outcomes=[])
    waves = sorted(panel["wave"].unique())[:2]
    assert queries.count_respondents(store, LOCAL) == panel["person"].nunique()
    assert queries.count_respondents(store, LOCAL, waves) == \
        panel.loc[panel["wave"].isin(waves), "person"].nunique()
    decision = guard_filters(store, LOCAL, Settings(), queries.Filters())
    assert decision.allowed  # and says so without a head count (issue 13)
    assert str(panel["person"].nunique()) not in decision.reason


def test_guard_refuses_a_selection_below_k(store):
    decision = guard_filters(store, LOCAL, Settings(),
                             queries.Filters(sites=(SMALL_SITE,)))
    assert not decision.allowed
    assert "4" not in decision.reason and str(K) in decision.reason  # only k is stated


def test_guard_refuses_a_remainder_below_k(store):
    everyone_but_small = tuple(s for s in ALL_SITES if s != SMALL_SITE)
    decision = guard_filters(store, LOCAL, Settings(),
                             queries.Filters(sites=everyone_but_small))
    assert not decision.allowed
    assert not set(re.findall(r"\d+", decision.reason)) - {str(K)}  # only k is stated


def test_guard_refuses_sites_outside_the_viewers_scope(store):
    manager = Scope(role="practice_manager", practices=frozenset({"Harbor Family Therapy"}))
    decision = guard_filters(store, manager, Settings(),
                             queries.Filters(sites=("Riverside Counseling Collective",)))
    assert not decision.allowed and "outside your access" in decision.reason


def test_guard_uses_the_configured_threshold(store):
    site = ("Harbor Family Therapy",)
    assert guard_filters(store, LOCAL, Settings(), queries.Filters(sites=site)).allowed
    strict = guard_filters(store, LOCAL, Settings(min_group_size=100),
                           queries.Filters(sites=site))
    assert not strict.allowed


def test_guard_follows_the_reports_finer_rule(store):
    # Summit has enough people, but hiding Willow Creek alone would be undone by
    # subtraction, so the report hides Summit too: the sidebar refuses it as well.
    decision = guard_filters(store, LOCAL, Settings(),
                             queries.Filters(sites=("Summit Social Work Associates",)))
    assert not decision.allowed and "4" not in decision.reason


# ---------------------------------------------------------------- site_from_selection

@pytest.mark.parametrize("event, expected", [
    ({"selection": {"points": [{"x": "Personal burnout", "y": "Harbor Family Therapy",
                                "curve_number": 0}]}}, "Harbor Family Therapy"),
    ({"selection": {"points": []}}, None),
    ({"selection": {"points": [{"x": "a", "y": None}, {"x": "b", "y": "B"}]}}, "B"),
    ({"points": [{"y": "C"}]}, "C"),
    (SimpleNamespace(selection=SimpleNamespace(points=[{"y": "D"}])), "D"),
    (None, None),
    ({}, None),
    ({"selection": {"points": [{"y": 3}]}}, None),
])
def test_site_from_selection(event, expected):
    assert site_from_selection(event) == expected


# ---------------------------------------------------------------- aggregates

def test_score_quantiles_suppresses_small_groups():
    rng = np.random.default_rng(1)
    panel = pd.DataFrame({
        "wave": ["w1"] * 60 + ["w2"] * 60, "wave_index": [0] * 60 + [1] * 60,
        "participant": [False] * 60 + [True] * 4 + [False] * 56,
        "cbi_work": rng.normal(50, 10, 120)})
    q = score_quantiles(panel, "cbi_work", K)
    w2 = q.loc[q["wave"] == "w2"].set_index("group")
    assert w2.loc["participants", "status"] == "insufficient"
    assert pd.isna(w2.loc["participants", "median"]) and pd.isna(w2.loc["participants", "n"])
    # complementary: the comparison group would reveal the 4 by subtraction from "all"
    assert w2.loc["comparison", "suppressed"] or w2.loc["all", "suppressed"]
    w1 = q.loc[(q["wave"] == "w1") & (q["group"] == "comparison")].iloc[0]
    assert w1["status"] == "ok" and w1["q1"] < w1["median"] < w1["q3"]
    assert w1["p05"] < w1["q1"] and w1["p95"] > w1["q3"]


def test_monthly_attendance_hides_months_below_k():
    dates = pd.to_datetime(["2025-01-05"] * 12 + ["2025-02-03"] * 2 + ["2025-03-01"] * 9)
    persons = list(range(12)) + [0, 1] + list(range(9))
    table = monthly_attendance(pd.DataFrame({"person": persons, "session_date": dates}), K)
    by_month = table.set_index("month")
    assert by_month.loc["2025-02", "status"] == "insufficient"
    assert pd.isna(by_month.loc["2025-02", "sessions"])
    # one hidden month alone is found from a total: a second one is hidden too
    assert by_month["suppressed"].sum() >= 2


# ---------------------------------------------------------------- page models

def _tables(store, settings=Settings()):
    from analysis.reporting import report
    return report.build_report(store, LOCAL, settings=settings)


def test_overview_model_on_the_sample(store):
    model = overview_model(_tables(store), "cbi_work", k=K)
    assert model.wave == "2025-Q4"
    assert model.respondents and model.respondents >= K
    assert 0 < model.participation_rate < 1
    assert model.participants.mean is not None and model.comparison.mean is not None
    assert model.effect is not None and model.effect_low < model.effect < model.effect_high
    assert model.sentence and "Difference-in-differences" in model.effect_help
    assert model.change is not None and model.change.takeaway.startswith("Since baseline")
    # the takeaway's gap is the headline's DiD estimate, never a different start wave
    assert f"a difference of {model.effect:+.1f} points" in model.change.takeaway


def test_overview_says_when_data_cannot_support_a_claim():
    empty = SimpleNamespace(
        descriptives=pd.DataFrame(columns=["outcome", "wave", "site", "group", "n", "mean",
                                           "ci_low", "ci_high", "share_high", "status"]),
        estimates=pd.DataFrame(columns=["analysis", "outcome", "wave", "estimate", "ci_low",
                                        "ci_high", "status"]),
        notes=())
    model = overview_model(empty, "cbi_work", k=K)
    assert not model.can_claim and "cannot support a claim" in model.sentence
    assert format_effect(model) == "cannot tell yet"
    assert format_count(model.respondents) == "insufficient"


def test_practices_matrix_marks_small_sites(store):
    matrix = practices_matrix(_tables(store), ["cbi_work"])
    small = matrix.loc[matrix["site"] == SMALL_SITE].iloc[0]
    assert small["status"] == "insufficient" and pd.isna(small["mean"]) and pd.isna(small["n"])
    ok = matrix.loc[matrix["status"] == "ok"]
    assert (ok["n"] >= K).all()
    assert np.allclose(ok["better"], -ok["difference"])   # burnout: lower is better
    chart = practices_chart(matrix, K)
    assert chart.takeaway and "too small" in chart.takeaway


def test_chart_sets_have_takeaways(store):
    tables = _tables(store)
    q = score_quantiles(queries.load_panel(store, LOCAL, ["cbi_work"]), "cbi_work", K)
    monthly = monthly_attendance(queries.load_attendance(store, LOCAL), K)
    charts = (impact_charts(tables, q, "cbi_work", None, ["cbi_work", "cbi_personal"], K)
              + participation_charts(tables, monthly, "cbi_work", None, K)
              + quality_charts(tables, None, K))
    assert len(charts) == 9 + 6 + 3  # Impact: 9 with the effect by time since joining
    for chart in charts:
        assert chart.takeaway, chart.key
        assert chart.how_to_read, chart.key
        assert chart.alt, chart.key


def _views(spec: dict):
    """Every view of a Vega-Lite spec: itself, its layers, concatenated and faceted views."""
    yield spec
    for key in ("layer", "vconcat", "hconcat", "concat"):
        for part in spec.get(key, []):
            yield from _views(part)
    if isinstance(spec.get("spec"), dict):
        yield from _views(spec["spec"])


def test_impact_draws_every_chart_with_vega_lite_and_no_automatic_tooltip(store):
    # Streamlit's chart theme turns tooltips on for every mark, which then lists the mark's
    # raw fields; each mark must say what its tooltip shows, or that it has none
    tables = _tables(store)
    q = score_quantiles(queries.load_panel(store, LOCAL, ["cbi_work"]), "cbi_work", K)
    charts = impact_charts(tables, q, "cbi_work", None, ["cbi_work", "cbi_personal"], K)
    for chart in charts:
        assert isinstance(chart.figure, VegaLite), f"{chart.key}: plotly's bundle delays the page"
        spec = chart.figure.to_dict()
        json.dumps(spec)  # JSON values only
        for view in _views(spec):
            if "mark" not in view:
                continue
            mark = view["mark"] if isinstance(view["mark"], dict) else {"type": view["mark"]}
            told = "tooltip" in view.get("encoding", {}) or mark.get("tooltip", True) is None
            assert told, f"{chart.key}: a {mark['type']} mark would get an automatic tooltip"


def test_impact_tabs_place_every_chart_once_in_storyboard_order(store):
    tables = _tables(store)
    q = score_quantiles(queries.load_panel(store, LOCAL, ["cbi_work"]), "cbi_work", K)
    charts = impact_charts(tables, q, "cbi_work", None, ["cbi_work", "cbi_personal"], K)
    grouped = impact_tabs(charts)
    assert [tab.label for tab, _ in grouped] == [tab.label for tab in IMPACT_TABS]
    drawn = [chart.key for _, tab_charts in grouped for chart in tab_charts]
    assert sorted(drawn) == sorted(chart.key for chart in charts)  # each once, none lost
    assert [chart.key for chart in grouped[0][1]][0] == "change"  # the headline opens the page
    assert all(tab_charts for _, tab_charts in grouped)
    assert len({tab.label for tab in IMPACT_TABS}) == len(IMPACT_TABS)  # URL values are unique


def test_impact_tabs_refuse_a_chart_without_a_tab(store):
    tables = _tables(store)
    q = score_quantiles(queries.load_panel(store, LOCAL, ["cbi_work"]), "cbi_work", K)
    charts = impact_charts(tables, q, "cbi_work", None, ["cbi_work"], K)
    stray = charts[0].__class__("new_chart", charts[0].figure, "alt", charts[0].table)
    with pytest.raises(ValueError, match="new_chart"):
        impact_tabs([*charts, stray])


def test_quantiles_follow_the_reports_hidden_cells():
    rng = np.random.default_rng(2)
    panel = pd.DataFrame({"wave": ["w1"] * 80, "wave_index": [0] * 80,
                          "participant": [True] * 30 + [False] * 50,
                          "cbi_work": rng.normal(50, 10, 80)})
    q = score_quantiles(panel, "cbi_work", K)
    assert (q["status"] == "ok").all()
    descriptives = pd.DataFrame({"outcome": ["cbi_work"] * 2, "wave": ["w1"] * 2,
                                 "site": ["all"] * 2, "group": ["participants", "comparison"],
                                 "suppressed": [True, False],
                                 "status": ["insufficient", "ok"]})
    aligned = follow_descriptives(q, descriptives, "cbi_work").set_index("group")
    assert aligned.loc["participants", "status"] == "insufficient"
    assert pd.isna(aligned.loc["participants", "n"]) and pd.isna(aligned.loc["participants", "median"])
    assert aligned.loc["comparison", "status"] == "ok"


def test_practices_carry_intervals_and_no_ranking(store):
    from analysis.views.practices import practices_lines, practices_takeaway

    matrix = practices_matrix(_tables(store), ["cbi_work"])
    ok = matrix.loc[matrix["status"] == "ok"]
    assert (ok["difference_low"] <= ok["difference"]).all()
    assert (ok["difference"] <= ok["difference_high"]).all()
    assert (ok["clear"] == ((ok["difference_low"] > 0) | (ok["difference_high"] < 0))).all()
    text = practices_takeaway(matrix)
    assert "best" not in text and "least well" not in text
    one = matrix.loc[matrix["site"] == matrix["site"].iloc[0]]
    assert "one practice" in practices_takeaway(one) and practices_lines(one) == ()


def test_overview_sentence_interval_has_the_tiles_sign(store):
    from analysis.views.overview import format_interval

    model = overview_model(_tables(store), "cbi_work", k=K)
    assert format_interval(model).split(" points")[0] in model.sentence
    assert f"{model.effect:+.1f}" in model.sentence
    changes = model.participants_change, model.comparison_change
    assert all(c is not None and c.change is not None for c in changes)
    assert abs((changes[0].change - changes[1].change) - model.effect) < 0.05


def test_dose_takeaway_says_when_the_bars_do_not_follow_the_line():
    from analysis.views.impact import dose_takeaway

    slope = pd.Series({"estimate": -0.74, "ci_low": -1.03, "ci_high": -0.46, "status": "ok"})
    bands = pd.DataFrame({"outcome": "cbi_work", "dose_band": ["0", "1–2", "3–5", "6+"],
                          "mean_change": [4.2, 5.0, 2.0, -6.5], "status": "ok"})
    text = dose_takeaway(slope, "cbi_work", bands)
    assert "-0.74" in text and "not steadily" in text and "1–2" in text and "6+" in text
    steady = bands.assign(mean_change=[4.0, 2.0, 0.0, -6.0])
    assert "steadily in that direction" in dose_takeaway(slope, "cbi_work", steady)
