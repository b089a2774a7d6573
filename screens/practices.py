"""Practices: how each practice compares with the organization, outcome by outcome."""

from __future__ import annotations

import streamlit as st

from analysis.definitions.plain_text import markdown_escape
from analysis.views import dashboard
from ui.charts import practices_for, show_chart
from ui.filters import focus_site, sidebar
from ui.state import get_store

HEATMAP_KEY = "practices_heatmap"

st.title("Practices compared", anchor=False)
st.caption("Each practice's average at the latest wave against the whole organization. "
           "Click a practice to focus every dashboard on it.")


def _focus_clicked_practice() -> None:
    focus_site(dashboard.site_from_selection(st.session_state.get(HEATMAP_KEY)))


store = get_store()
selection = sidebar(store)
show_chart(practices_for(store, selection), on_select=_focus_clicked_practice, key=HEATMAP_KEY)

if selection.filters.sites:
    st.info("Focused on: " + markdown_escape(", ".join(selection.filters.sites))
            + ". Clear the Practices filter in the sidebar to see all practices again.",
            icon=":material/filter_alt:")
st.caption(f"Selection: {markdown_escape(selection.describe())}.")
