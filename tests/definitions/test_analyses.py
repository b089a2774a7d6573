"""The analyses registry: one description per analysis, and every surface shows it."""
from __future__ import annotations

import dataclasses

import pytest
from markupsafe import escape

from analysis.access.scope import LOCAL
from analysis.access.settings import Settings
from analysis.definitions.analyses import ANALYSES, ANALYSES_BY_NAME, MEAN_DIFFERENCE_ANALYSES, analysis
from analysis.reporting import interpret
from analysis.reporting.export import methods_markdown
from analysis.reporting.html_report import build_html_report
from analysis.reporting.report import build_report
from analysis.stats import causal, weighting
from analysis.stats.estimates import Estimate
from analysis.views import help as views_help


def test_records_are_frozen_unique_and_complete():
    names = [a.name for a in ANALYSES]
    assert len(names) == len(set(names)) == len(ANALYSES_BY_NAME)
    for record in ANALYSES:
        # every analysis is an estimator of the stats package, under the same name
        assert callable(getattr(causal, record.name, None) or getattr(weighting, record.name))
        for field in dataclasses.fields(record):
            value = getattr(record, field.name)
            assert value != "", f"{record.name}.{field.name} is empty"
    with pytest.raises(dataclasses.FrozenInstanceError):
        ANALYSES[0].label = "changed"  # type: ignore[misc]
    assert analysis("did") is ANALYSES_BY_NAME["did"]
    assert analysis("no such analysis") is None


def test_ipw_note_states_what_the_code_bounds():
    """The code bounds the propensity at its 1st/99th percentiles, not the weights."""
    method = ANALYSES_BY_NAME["ipw"].method
    assert "propensity is bounded at its 1st and 99th percentiles" in method
    assert "capped" not in method
    assert "HC1" in method


def test_methods_note_shows_each_record():
    note = methods_markdown([], Settings(), 10)
    for record in ANALYSES:
        assert f"- **{record.name}** ({record.label}): {record.method}" in note
        assert record.citation in note


def test_dashboard_help_and_figure_labels_read_the_registry():
    for record in ANALYSES:
        assert views_help.METHOD_HELP[record.name] == record.help
    assert {a.name: a.label for a in MEAN_DIFFERENCE_ANALYSES} == views_help.METHOD_LABELS
    forest = views_help.HOW_TO_READ["forest"]
    for record in MEAN_DIFFERENCE_ANALYSES:
        assert f"*{record.label}* {record.how_to_read}" in forest


def test_sentence_caveats_carry_the_assumption():
    for record in ANALYSES:
        est = Estimate(record.name, "cbi_work", "w1", -8.5, -9.6, -7.4, 0.001, 40, 60, -0.6, "cohen_d")
        assert record.assumption in interpret.caveats(est)


def test_leadership_report_shows_each_method(sample_store):
    tables = build_report(sample_store, LOCAL, settings=Settings())
    page = build_html_report(tables, figures=[])
    for record in ANALYSES:
        assert f"<strong>{escape(record.short_label)}</strong>: {escape(record.method)}" in page


def test_leadership_report_escapes_text(sample_store):
    tables = build_report(sample_store, LOCAL, settings=Settings())
    tables = dataclasses.replace(tables, notes=("<script>alert(1)</script>",))
    page = build_html_report(tables, figures=[])
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
