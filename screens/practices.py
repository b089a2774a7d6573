"""Practices: how each practice compares with the organization, outcome by outcome."""

from __future__ import annotations

import streamlit as st

from analysis.definitions.plain_text import markdown_escape
from analysis.views.selection import site_from_selection
from ui.charts import practices_for, show_chart
from ui.filters import focus_site
from ui.page import NARROW_ONLY, WIDE_ONLY, page_start, selection_footer

HEATMAP_KEY = "practices_heatmap"


def _focus_clicked_practice() -> None:
    focus_site(site_from_selection(st.session_state.get(HEATMAP_KEY)))


store, selection = page_start("Practices compared",
                              "Each practice's average at the latest wave against the whole "
                              "organization, with how sure we can be. Click a practice to focus "
                              "every dashboard on it.")
chart, lines = practices_for(store, selection)
if not lines:  # one practice (a manager's view) or none: nothing to compare
    st.info(markdown_escape(chart.takeaway), icon=":material/info:")
    selection_footer(selection)
    st.stop()
with st.container(key=WIDE_ONLY):
    show_chart(chart, on_select=_focus_clicked_practice, key=HEATMAP_KEY)
with st.container(key=NARROW_ONLY):
    # A grid of practices × outcomes cannot be read on a phone: the same cells as a list.
    st.markdown(f"**{markdown_escape(chart.takeaway)}**")
    st.markdown("\n".join(lines))
    st.caption(chart.how_to_read)

if selection.filters.sites:
    st.info("Focused on: " + markdown_escape(", ".join(selection.filters.sites))
            + ". Clear the Practices filter in the sidebar to see all practices again.",
            icon=":material/filter_alt:")
selection_footer(selection)
