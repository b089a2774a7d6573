"""The leadership report that leaves through the export page obeys the export's rules."""

from __future__ import annotations

import re

import pytest

from analysis.access.scope import LOCAL
from analysis.access.settings import load_settings
from analysis.reporting.export import export_settings
from analysis.reporting.export_report import leadership_report_for_export, released_tables
from analysis.reporting.report import build_report
from tests.factories import make_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = make_store(tmp_path_factory.mktemp("export_report") / "sample.duckdb")
    yield s
    s.close()


def test_released_tables_are_at_the_export_k_with_rounded_counts(store):
    settings = load_settings(store)
    tables = build_report(store, LOCAL, settings=export_settings(settings), with_contributions=True)
    released = released_tables(tables)
    k = export_settings(settings).min_group_size
    assert k >= 10
    for frame, cols in ((released.descriptives, ["n"]),
                        (released.estimates, ["n_participants", "n_comparison"]),
                        (released.participation, ["n_respondents", "n_participants"])):
        for col in cols:
            shown = frame[col].dropna().astype(int)
            assert (shown % 5 == 0).all(), col
            assert ((shown == 0) | (shown >= k)).all(), col
    assert "share_high_ci_low" not in released.descriptives.columns


def test_export_page_report_quotes_no_exact_group_size(store):
    settings = load_settings(store)
    html = leadership_report_for_export(store, LOCAL, settings=settings)
    assert "<html" in html.lower()
    exact = build_report(store, LOCAL, settings=export_settings(settings))
    sizes = set(exact.estimates["n_participants"].dropna().astype(int)) | \
        set(exact.estimates["n_comparison"].dropna().astype(int))
    unrounded = {n for n in sizes if n % 5}
    text = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    for n in unrounded:
        assert not re.search(rf"\bn\s*=\s*{n}\b", text)
