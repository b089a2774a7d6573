"""Drawing a :class:`~analysis.views.figure_base.Chart` the same way on every page, and the cached
data the dashboards draw from.

Caching: every cached function takes the store as ``_store`` (excluded from hashing) and
is keyed by ``store.data_version()`` (changes with every upload, undo or setting), the
viewer's practices (:func:`~analysis.access.scope.viewing_scope`: viewers who see the same
practices share an entry), the settings and the filters, so a rerun with the same
selection is a dictionary look-up and a new upload is never served stale.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from analysis.access.scope import viewing_scope
from analysis.definitions.plain_text import markdown_escape
from analysis.privacy.csv_safety import neutralize_frame
from analysis.privacy.slice_tables import follow_group_totals
from analysis.reporting import report
from analysis.storage import queries
from analysis.storage.store import Store
from analysis.views.aggregates import score_quantiles
from analysis.views.figure_base import Chart, VegaLite
from analysis.views.impact import impact_charts, lords_paradox_note
from analysis.views.overview import OverviewModel, overview_model
from analysis.views.participation_view import participation_charts
from analysis.views.practices import practices_chart, practices_lines, practices_matrix
from analysis.views.quality import quality_charts
from analysis.views.report_tables import latest_wave
from ui.filters import scope_words, without_advice

_PLOTLY_CONFIG = {
    "displayModeBar": True,
    "displaylogo": False,
    # Only the PNG download: zoom and pan buttons are small targets (WCAG 2.5.8) that a
    # dashboard reader rarely needs; the charts are already scaled to their data.
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "zoom2d", "pan2d", "zoomIn2d", "zoomOut2d",
                               "autoScale2d", "resetScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


def show_chart(chart: Chart, *, on_select: str | Callable[[], None] = "ignore",
               key: str | None = None) -> Any:
    """Takeaway, chart (plotly's with a PNG download), alt text, "how to read this", CSV.

    Returns the selection event when ``on_select`` is not ``"ignore"``.
    """
    key = key or f"chart_{chart.key}"
    if chart.takeaway:
        st.markdown(f"**{markdown_escape(chart.takeaway)}**")
    if isinstance(chart.figure, VegaLite):
        event = st.vega_lite_chart(chart.figure.to_dict(), width="stretch", key=key,
                                   on_select=on_select)
    else:
        config = dict(_PLOTLY_CONFIG, toImageButtonOptions=dict(
            _PLOTLY_CONFIG["toImageButtonOptions"], filename=chart.key))
        extra = {"on_select": on_select, "selection_mode": "points"} if on_select != "ignore" else {}
        event = st.plotly_chart(chart.figure, width="stretch", config=config, key=key, **extra)
    st.caption(markdown_escape(chart.alt))
    left, right = st.columns([3, 1], vertical_alignment="center")
    with left.expander("How to read this"):
        st.markdown(chart.how_to_read or chart.alt)
        st.caption("Terms and their technical names: the Glossary page.")
    # Written when clicked (not on every run), and a click does not rerun the page.
    right.download_button(
        "Download the numbers (CSV)", data=partial(_csv, chart.table), file_name=f"{chart.key}.csv",
        mime="text/csv", key=f"download_{key}", icon=":material/download:", on_click="ignore",
        help="The aggregated, anonymity-checked table behind this chart.")
    return event


def _csv(table: pd.DataFrame) -> bytes:
    return neutralize_frame(table).to_csv(index=False).encode("utf-8")


# ---------------------------------------------------------------- cached data


@st.cache_data(show_spinner="Computing the results for this selection: every outcome and "
                            "wave, both groups (once; then it is remembered)…", max_entries=64)
def _report(_store: Store, data_version: str, scope, settings, filters: queries.Filters,
            outcomes: tuple[str, ...], waves: tuple[str, ...] | None, focus: report.Focus | None = None):
    return report.build_report(_store, scope, settings=settings, filters=filters,
                               outcomes=list(outcomes), waves=list(waves) if waves else None,
                               focus=focus)


def report_for(store: Store, selection) -> Any:
    """The report's tables for the sidebar selection (cached).

    The sidebar has already checked the selection with the report's rule; should the
    report still refuse it (data changed in between), the page says why and stops.
    """
    return _refusal_stops(lambda: _tables(store, store.data_version(), selection), selection)


@st.cache_data(show_spinner=False, max_entries=64)
def _quantiles(_store: Store, data_version: str, scope, settings, filters: queries.Filters,
               outcome: str, waves: tuple[str, ...] | None) -> pd.DataFrame:
    panel = queries.load_panel(_store, scope, [outcome], settings.min_sessions, filters)
    if waves:
        panel = panel.loc[panel["wave"].isin(list(waves))]
    return score_quantiles(panel, outcome, settings.min_group_size)


def quantiles_for(store: Store, selection) -> pd.DataFrame:
    """Score quantiles per wave and group for the selected outcome (cached, suppressed)."""
    return _quantiles(store, store.data_version(), viewing_scope(selection.scope),
                      selection.settings, selection.filters, selection.outcome, selection.waves)


# ---------------------------------------------------------------- cached page models
#
# What each dashboard draws, cached like the report it is built from (same key: data
# version, scope, settings, filters, plus what the page chooses), so a rerun with the
# same selection unpickles the finished charts instead of rebuilding every figure.
# Charts pickle as their figure's JSON (analysis.views.figure_base.Chart.__reduce__).


def _refusal_stops(build: Callable[[], Any], selection) -> Any:
    try:
        return build()
    except report.FilterRefused as refusal:
        widest = (selection.filters.sites is None and selection.filters.roles is None
                  and selection.waves is None)
        # "widen it" only where there is something to widen
        hint = (f"Nothing can be shown yet for {markdown_escape(scope_words(selection.scope))} "
                "as a whole: too few people answered or took part. More answers (or more "
                "practices in your access) will change that." if widest
                else "Widen the selection in the sidebar.")
        reason = without_advice(str(refusal)) if widest else str(refusal)
        st.warning(f"{reason} {hint}", icon=":material/visibility_off:")
        st.stop()


def _page_model(build: Callable[..., Any], store: Store, selection, *extra: Any) -> Any:
    """``build`` (a cached page model) for the sidebar selection; a refused selection stops
    the page with the reason."""
    return _refusal_stops(lambda: build(
        store, store.data_version(), viewing_scope(selection.scope), selection.settings,
        selection.filters, selection.outcomes, selection.waves, *extra), selection)


def _tables(store: Store, version: str, selection) -> Any:
    return _report(store, version, viewing_scope(selection.scope), selection.settings,
                   selection.filters, selection.outcomes, selection.waves)


@st.cache_data(show_spinner="Drawing the charts…", max_entries=64)
def _overview(_store: Store, data_version: str, scope, settings, filters: queries.Filters,
              outcomes: tuple[str, ...], waves: tuple[str, ...] | None, outcome: str):
    # only what the page draws: the outcome's tables and the estimates at its latest wave
    tables = _report(_store, data_version, scope, settings, filters, outcomes, waves,
                     report.Focus(outcome, detail=False))
    return overview_model(tables, outcome, waves, k=settings.min_group_size)


def overview_for(store: Store, selection) -> OverviewModel:
    """The Overview's model for the sidebar selection (cached)."""
    return _page_model(_overview, store, selection, selection.outcome)


@st.cache_data(show_spinner="Drawing the charts…", max_entries=64)
def _impact(_store: Store, data_version: str, scope, settings, filters: queries.Filters,
            outcomes: tuple[str, ...], waves: tuple[str, ...] | None,
            outcome: str) -> tuple[list[Chart], str]:
    tables = _report(_store, data_version, scope, settings, filters, outcomes, waves, report.Focus(outcome))
    quantiles = follow_group_totals(  # the guard: no group size the report does not show
        _quantiles(_store, data_version, scope, settings, filters, outcome, waves),
        tables.descriptives, outcome)
    charts = impact_charts(tables, quantiles, outcome, waves, outcomes,
                           settings.min_group_size)
    note = lords_paradox_note(tables.estimates, outcome, latest_wave(tables, outcome, waves))
    return charts, note


def impact_for(store: Store, selection) -> tuple[list[Chart], str]:
    """The Impact page's charts and its Lord's paradox note ("" when none), cached."""
    return _page_model(_impact, store, selection, selection.outcome)


@st.cache_data(show_spinner="Drawing the charts…", max_entries=64)
def _participation(_store: Store, data_version: str, scope, settings, filters: queries.Filters,
                   outcomes: tuple[str, ...], waves: tuple[str, ...] | None,
                   outcome: str) -> list[Chart]:
    tables = _report(_store, data_version, scope, settings, filters, outcomes, waves)
    # monthly attendance as the report's guard left it (every slice, scope included)
    return participation_charts(tables, tables.monthly, outcome, waves, settings.min_group_size)


def participation_for(store: Store, selection) -> list[Chart]:
    """The Participation page's charts (cached)."""
    return _page_model(_participation, store, selection, selection.outcome)


@st.cache_data(show_spinner="Drawing the charts…", max_entries=64)
def _practices(_store: Store, data_version: str, scope, settings, filters: queries.Filters,
               outcomes: tuple[str, ...], waves: tuple[str, ...] | None) -> tuple[Chart, tuple[str, ...]]:
    tables = _report(_store, data_version, scope, settings, filters, outcomes, waves)
    matrix = practices_matrix(tables, outcomes, waves)
    return practices_chart(matrix, settings.min_group_size), practices_lines(matrix)


def practices_for(store: Store, selection) -> tuple[Chart, tuple[str, ...]]:
    """The Practices heatmap and the same as a list for narrow screens (cached)."""
    return _page_model(_practices, store, selection)


@st.cache_data(show_spinner="Drawing the charts…", max_entries=64)
def _quality(_store: Store, data_version: str, scope, settings, filters: queries.Filters,
             outcomes: tuple[str, ...], waves: tuple[str, ...] | None,
             all_waves: tuple[str, ...]) -> list[Chart]:
    tables = _report(_store, data_version, scope, settings, filters, outcomes, waves)
    return quality_charts(tables, waves or all_waves, settings.min_group_size)


def quality_for(store: Store, selection) -> list[Chart]:
    """The Data quality page's charts (cached)."""
    return _page_model(_quality, store, selection, selection.all_waves)
