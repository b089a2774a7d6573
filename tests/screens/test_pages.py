"""Every dashboard page renders with the sample data, filters change the numbers, and
nothing on screen shows a group smaller than the anonymity threshold."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analysis.access.scope import LOCAL, SHARED_VIEWER, Scope
from analysis.storage.store import DB_ENV, Store
from tests.factories import load_sample_data
from ui import auth

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
PAGES = ["overview", "impact", "participation", "practices", "data_quality"]
K = 5
TIMEOUT = 60


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("db") / "sample.duckdb"
    with Store(path) as store:
        load_sample_data(store)
    return path


@pytest.fixture()
def app(sample_db, monkeypatch):
    monkeypatch.setenv(DB_ENV, str(sample_db))
    st.cache_resource.clear()

    def make(page: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "screens" / f"{page}.py"), default_timeout=TIMEOUT)
        at.session_state["auth_scope"] = LOCAL
        at.session_state["auth_method"] = "local"
        return at

    yield make
    st.cache_resource.clear()


def _shown_numbers(at: AppTest) -> list[str]:
    """Every count-like text on screen: metric values and table cells."""
    texts = [str(m.value) for m in at.metric]
    for frame in [*at.dataframe, *at.table]:
        texts += [str(v) for v in frame.value.to_numpy().ravel()]
    return texts


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_charts(app, page):
    at = app(page).run()
    assert not at.exception, at.exception
    assert at.title, "page has a title"
    charts = at.get("plotly_chart") + at.get("vega_lite_chart")
    assert charts, f"{page} shows at least one chart"
    assert len(at.get("download_button")) == len(charts)
    assert at.sidebar.multiselect, "shared filters are in the sidebar"


def _drawn_charts(at: AppTest) -> set[str]:
    """The keys of the charts the page drew (each has its CSV download), after a clean run."""
    assert not at.exception, at.exception
    return {button.key for button in at.get("download_button")}


def test_impact_draws_only_the_open_tab(app):
    at = app("impact").run()
    assert [tab.label for tab in at.tabs] == ["Over time", "Size of the effect", "Checks"]
    assert len(at.get("vega_lite_chart")) == 3
    assert _drawn_charts(at) == {"download_chart_change", "download_chart_trend",
                                 "download_chart_distribution"}
    at.session_state["impact_view"] = "Checks"  # what a click on the tab sets
    at.run()
    assert _drawn_charts(at) == {"download_chart_event_study", "download_chart_balance",
                                 "download_chart_mde"}


def test_impact_opens_the_tab_its_link_names(app):
    at = app("impact")
    at.query_params["impact_view"] = "Size of the effect"
    at.run()
    assert _drawn_charts(at) == {"download_chart_forest", "download_chart_effect_sizes",
                                 "download_chart_dose_response"}


def test_impact_ignores_a_tab_its_link_does_not_have(app):
    at = app("impact")
    at.query_params["impact_view"] = "<b>Secrets</b>"
    at.run()
    assert _drawn_charts(at) == {"download_chart_change", "download_chart_trend",
                                 "download_chart_distribution"}


def test_overview_headline_metrics(app):
    at = app("overview").run()
    labels = [m.label for m in at.metric]
    assert "Respondents" in labels
    respondents = next(m.value for m in at.metric if m.label == "Respondents")
    assert int(str(respondents).replace(",", "")) >= K
    assert any("effect" in label.lower() for label in labels)


def test_changing_a_filter_changes_the_numbers(app):
    at = app("overview").run()
    before = next(m.value for m in at.metric if m.label == "Respondents")
    at.sidebar.multiselect[1].select("Harbor Family Therapy").run()
    assert not at.exception
    assert not at.warning or "Harbor" not in at.warning[0].value
    after = next(m.value for m in at.metric if m.label == "Respondents")
    assert after != before
    # the selection follows the viewer to the next page
    assert at.session_state["ppi_sites"] == ["Harbor Family Therapy"]


def test_too_small_selection_is_refused_with_a_reason(app):
    at = app("overview").run()
    before = next(m.value for m in at.metric if m.label == "Respondents")
    at.sidebar.multiselect[1].select("Willow Creek Counseling").run()
    assert not at.exception
    assert any("identif" in w.value or "not shown" in w.value for w in at.sidebar.warning)
    assert next(m.value for m in at.metric if m.label == "Respondents") == before
    assert at.session_state["ppi_sites"] == []


@pytest.mark.parametrize("page", PAGES)
def test_no_count_below_threshold_on_screen(app, page):
    at = app(page).run()
    for text in _shown_numbers(at):
        number = re.fullmatch(r"[0-9][0-9,]*", text.strip())
        if number:
            assert int(text.replace(",", "")) == 0 or int(text.replace(",", "")) >= K, text


def test_a_practice_focused_elsewhere_applies_on_every_page(app):
    overview = app("overview").run()
    everyone = next(m.value for m in overview.metric if m.label == "Respondents")
    # what the Practices heatmap click does (ui.filters.focus_site), then another page
    at = app("participation")
    at.session_state["ppi_sites"] = ["Harbor Family Therapy"]
    at.run()
    assert not at.exception
    assert at.sidebar.multiselect[1].value == ["Harbor Family Therapy"]
    overview = app("overview")
    overview.session_state["ppi_sites"] = ["Harbor Family Therapy"]
    overview.run()
    assert next(m.value for m in overview.metric if m.label == "Respondents") != everyone


def _signed_in(at: AppTest, scope: Scope) -> AppTest:
    """``at`` as a person signed in with a password, with ``scope``."""
    at.session_state["auth_scope"] = scope
    at.session_state[auth.METHOD_KEY] = "password"
    at.session_state[auth.ACTIVITY_KEY] = datetime.now(UTC).replace(tzinfo=None)
    at.session_state[auth.IDLE_KEY] = 30
    return at


def test_viewers_who_see_the_same_practices_share_one_report(app, monkeypatch):
    # After an upload the first visit builds the report: once for everyone who sees the
    # same practices, not once per person (the caches are keyed by practices, not names).
    from analysis.reporting import report

    built: list[Scope] = []
    build = report.build_report
    monkeypatch.setattr(report, "build_report",
                        lambda store, scope, **kw: built.append(scope) or build(store, scope, **kw))
    st.cache_data.clear()
    for role, user in (("leadership", "ada"), ("leadership", "bo"), ("researcher", "cy")):
        at = _signed_in(app("overview"), Scope(role, None, user)).run()
        assert not at.exception and at.get("vega_lite_chart")
    assert len(built) == 1 and built[0].user == SHARED_VIEWER and built[0].practices is None
    # other practices are another entry: a manager gets a build of their own practices
    harbor = frozenset({"Harbor Family Therapy"})
    at = _signed_in(app("overview"), Scope("practice_manager", harbor, "pm.harbor")).run()
    assert not at.exception and at.get("vega_lite_chart")
    assert len(built) == 2 and built[1].practices == harbor
    assert not built[1].may("upload")  # the shared scope carries only "view"


def test_a_scope_too_small_as_a_whole_is_told_so_without_advice_to_widen(app):
    # Willow Creek alone is refused for everyone (the test above); its manager can choose
    # nothing wider, so no view may promise a previous selection or ask to widen one.
    at = _signed_in(app("overview"), Scope("practice_manager",
                                           frozenset({"Willow Creek Counseling"}), "pm.willow"))
    at.run()
    assert not at.exception
    said = " ".join(w.value for w in [*at.sidebar.warning, *at.main.warning])
    assert "fewer than" in said and "as a whole" in said
    assert "still shown" not in said and "wider" not in said.lower().replace("widest", "")
    assert not at.metric and not at.get("vega_lite_chart")
