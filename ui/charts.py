"""Drawing a :class:`~analysis.figures.Chart` the same way on every page, and the cached
data the dashboards draw from.

Caching: every cached function takes the store as ``_store`` (excluded from hashing) and
is keyed by ``store.data_version()`` (changes with every upload, undo or setting), the
viewer's scope, the settings and the filters, so a rerun with the same selection is a
dictionary look-up and a new upload is never served stale.
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd
import streamlit as st

from analysis import dashboard, queries, report
from analysis.disclosure import neutralize_frame
from analysis.figures import Chart
from analysis.store import Store

_PLOTLY_CONFIG = {
    "displayModeBar": True,
    "displaylogo": False,
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


def show_chart(chart: Chart, *, on_select: str | Callable[[], None] = "ignore",
               key: str | None = None) -> Any:
    """Takeaway, chart (with plotly's PNG download), alt text, "how to read this", CSV.

    Returns the selection event when ``on_select`` is not ``"ignore"``.
    """
    key = key or f"chart_{chart.key}"
    if chart.takeaway:
        st.markdown(f"**{chart.takeaway}**")
    config = dict(_PLOTLY_CONFIG, toImageButtonOptions=dict(
        _PLOTLY_CONFIG["toImageButtonOptions"], filename=chart.key))
    extra = {"on_select": on_select, "selection_mode": "points"} if on_select != "ignore" else {}
    event = st.plotly_chart(chart.figure, width="stretch", config=config, key=key, **extra)
    st.caption(chart.alt)
    left, right = st.columns([3, 1], vertical_alignment="center")
    with left.expander("How to read this"):
        st.markdown(chart.how_to_read or chart.alt)
    right.download_button(
        "Download the numbers (CSV)", data=_csv(chart.table), file_name=f"{chart.key}.csv",
        mime="text/csv", key=f"download_{key}", icon=":material/download:",
        help="The aggregated, anonymity-checked table behind this chart.")
    return event


def _csv(table: pd.DataFrame) -> bytes:
    return neutralize_frame(table).to_csv(index=False).encode("utf-8")


# ---------------------------------------------------------------- cached data


@st.cache_data(show_spinner="Computing the results…", max_entries=64)
def _report(_store: Store, data_version: str, scope, settings, filters: queries.Filters,
            outcomes: tuple[str, ...], waves: tuple[str, ...] | None):
    return report.build_report(_store, scope, settings=settings, filters=filters,
                               outcomes=list(outcomes), waves=list(waves) if waves else None)


def report_for(store: Store, selection) -> Any:
    """The report's tables for the sidebar selection (cached).

    The sidebar has already checked the selection with the report's rule; should the
    report still refuse it (data changed in between), the page says why and stops.
    """
    try:
        return _report(store, store.data_version(), selection.scope, selection.settings,
                       selection.filters, selection.outcomes, selection.waves)
    except report.FilterRefused as refusal:
        st.warning(f"{refusal} Widen the selection in the sidebar.",
                   icon=":material/visibility_off:")
        st.stop()


@st.cache_data(show_spinner=False, max_entries=64)
def _quantiles(_store: Store, data_version: str, scope, settings, filters: queries.Filters,
               outcome: str, waves: tuple[str, ...] | None) -> pd.DataFrame:
    panel = queries.load_panel(_store, scope, [outcome], settings.min_sessions, filters)
    if waves:
        panel = panel.loc[panel["wave"].isin(list(waves))]
    return dashboard.score_quantiles(panel, outcome, settings.min_group_size)


def quantiles_for(store: Store, selection) -> pd.DataFrame:
    """Score quantiles per wave and group for the selected outcome (cached, suppressed)."""
    return _quantiles(store, store.data_version(), selection.scope, selection.settings,
                      selection.filters, selection.outcome, selection.waves)


@st.cache_data(show_spinner=False, max_entries=64)
def _monthly(_store: Store, data_version: str, scope, k: int,
             filters: queries.Filters) -> pd.DataFrame:
    return dashboard.monthly_attendance(queries.load_attendance(_store, scope, filters), k)


def monthly_for(store: Store, selection) -> pd.DataFrame:
    """Sessions per calendar month (cached, months below K suppressed)."""
    return _monthly(store, store.data_version(), selection.scope,
                    selection.settings.min_group_size, selection.filters)
