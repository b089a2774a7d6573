"""Leadership HTML report: self-contained, from the tables only."""
from __future__ import annotations

import re

import plotly.graph_objects as go
from markupsafe import escape

from analysis.access.scope import LOCAL
from analysis.access.settings import Settings
from analysis.reporting.html_report import build_html_report
from analysis.reporting.report import build_report
from tests.factories import make_store


def test_html_is_self_contained_with_content(tmp_path):
    with make_store(tmp_path / "s.duckdb") as store:
        tables = build_report(store, LOCAL, settings=Settings())
    page = build_html_report(tables)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]+src=", page)  # plotly.js inline, works offline
    assert page.count("Plotly.newPlot") >= 2
    assert len(re.findall(r"/\*! For license information|plotly\.js v", page)) >= 1
    for text in ("Headline", "Work-related burnout", "Methods", "parallel trends"):
        assert text in page
    assert str(escape(tables.headline.sentence.split(" (")[0])) in page


def test_custom_figures_embed_plotly_once(tmp_path):
    with make_store(tmp_path / "s.duckdb") as store:
        tables = build_report(store, LOCAL, settings=Settings())
    figs = [go.Figure(go.Bar(x=[1], y=[2])), ("second", go.Figure())]
    page = build_html_report(tables, figs)
    assert page.count("Plotly.newPlot") == 2
    bundles = page.count("window.PlotlyConfig")
    assert bundles == 1


def test_the_synthetic_sample_is_labelled(tmp_path):
    from analysis.access.scope import LOCAL
    from analysis.access.settings import Settings
    from analysis.reporting.html_report import build_html_report
    from analysis.reporting.report import build_report
    from tests.factories import make_store

    with make_store(tmp_path / "s.duckdb") as store:
        tables = build_report(store, LOCAL, settings=Settings())
    assert "Synthetic sample data" in build_html_report(tables, figures=[], synthetic=True)
    assert "Synthetic sample data" not in build_html_report(tables, figures=[])
