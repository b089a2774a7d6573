"""Leadership HTML report: self-contained, from the tables only."""
from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go
import pytest
from markupsafe import escape

from analysis.access.scope import LOCAL
from analysis.access.settings import Settings
from analysis.reporting.html_report import build_html_report
from analysis.reporting.report import build_report
from analysis.reporting.report_svg import vega_lite_svg
from analysis.views.figure_base import Chart, VegaLite, vega_spec
from analysis.views.trend_figures import trend_figure
from tests.factories import make_store

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    with make_store(tmp_path_factory.mktemp("html") / "s.duckdb") as store:
        yield build_report(store, LOCAL, settings=Settings())


def _figures(page: str) -> list[str]:
    return re.findall(r"<figure>.*?</figure>", page, flags=re.DOTALL)


def test_html_is_self_contained_with_content(tables):
    page = build_html_report(tables)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]+src=", page)  # nothing fetched: works offline
    figures = _figures(page)
    assert len(figures) == 2
    # each default figure drawn in the page itself: Vega-Lite as SVG, plotly with its bundle
    assert all("<svg" in f or "Plotly.newPlot" in f for f in figures)
    trend = figures[0]
    assert "<svg" in trend and "<script" not in trend, "the dashboards' trend chart as static SVG"
    assert "Average per wave" in trend and "Survey wave" in trend
    titles = re.findall(r"<title>([^<]*)</title>", trend)
    assert titles and all("n = " in t for t in titles), "hover text with n on every point"
    for text in ("Headline", "Work-related burnout", "Methods", "parallel trends"):
        assert text in page
    assert str(escape(tables.headline.sentence.split(" (")[0])) in page


def test_vega_lite_report_needs_no_script(tables):
    chart = trend_figure(tables.descriptives, tables.headline.outcome, k=5)
    page = build_html_report(tables, [chart, ("again", chart.figure), chart.figure])
    assert "<script" not in page and page.count("<svg") == 3
    assert "<figcaption class='note'>Average per wave</figcaption>" in page, "a bare spec's title"
    assert "figure svg{display:block;max-width:100%" in page, "scales down on a narrow page"


def _hostile_chart() -> Chart:
    spec = vega_spec(HOSTILE, {
        "data": {"values": [{"site": HOSTILE, "n_text": "n = 40 people", "value": 1.5}]},
        "mark": "bar",
        "encoding": {"x": {"field": "site", "type": "nominal", "title": HOSTILE},
                     "y": {"field": "value", "type": "quantitative"},
                     "tooltip": [{"field": "site", "title": "Practice"},
                                 {"field": "n_text", "title": "People"}]}})
    return Chart("hostile", VegaLite(spec), HOSTILE, pd.DataFrame())


def test_every_text_of_a_vega_lite_chart_is_escaped(tables):
    page = build_html_report(tables, [_hostile_chart()])
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert" in page, "the label is shown, as text"
    title = re.search(r"<title>([^<]*)</title>", _figures(page)[0]).group(1)
    assert title.startswith("Practice: &lt;script&gt;") and title.endswith("People: n = 40 people")


@pytest.mark.parametrize("drawn", [
    '<svg><a href="javascript:alert(1)"><text>x</text></a></svg>',
    '<svg><g onload="alert(1)"></g></svg>',
    '<svg><script>alert(1)</script></svg>',
    "<svg><g onload=alert(1)></g></svg>",
])
def test_svg_guard_refuses_anything_executable(monkeypatch, drawn):
    import analysis.reporting.report_svg as report_svg
    monkeypatch.setattr(report_svg.vl_convert, "vegalite_to_svg", lambda spec, **kw: drawn)
    with pytest.raises(ValueError, match="script"):
        vega_lite_svg(_hostile_chart().figure)


def test_marks_without_tooltip_get_no_hover_text(tables):
    svg = vega_lite_svg(trend_figure(tables.descriptives, tables.headline.outcome, k=5).figure)
    points = len([r for r in trend_figure(tables.descriptives, tables.headline.outcome,
                                          k=5).figure.spec["data"]["values"]])
    # one per point; never on the bands, the insufficient labels or a line's single path
    assert len(re.findall(r"<title>", svg)) == points
    assert not re.search(r'aria-roledescription="area mark"[^>]*><title>', svg)


def test_custom_figures_embed_plotly_once(tables):
    vega = trend_figure(tables.descriptives, tables.headline.outcome, k=5)
    figs = [vega, go.Figure(go.Bar(x=[1], y=[2])), ("second", go.Figure())]
    page = build_html_report(tables, figs)
    assert page.count("Plotly.newPlot") == 2
    assert page.count("window.PlotlyConfig") == 1, "the bundle once, with the first plotly figure"
    assert page.index("window.PlotlyConfig") > page.index("<svg")


def test_the_synthetic_sample_is_labelled(tables):
    assert "Synthetic sample data" in build_html_report(tables, figures=[], synthetic=True)
    assert "Synthetic sample data" not in build_html_report(tables, figures=[])
