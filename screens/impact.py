"""Impact: do participants end up less burned out than comparable colleagues?"""

from __future__ import annotations

import streamlit as st

from analysis.definitions.plain_text import markdown_escape
from analysis.views.impact import IMPACT_TABS, impact_tabs
from analysis.views.overview import direction_note
from ui.charts import impact_for
from ui.page import page_start, selection_footer, show_charts

store, selection = page_start(
    "Does peer support lower burnout?",
    "Participants compared with colleagues who did not take part: their scores over "
    "time, four ways of comparing them fairly, and whether more sessions help more.")
st.caption(direction_note(selection.outcome))
charts, note = impact_for(store, selection)
if note:
    st.warning("Two ways of comparing disagree here: comparing how much each group changed, "
               "and comparing people who started at the same score, give different answers, "
               "because the groups started apart. Read the results below with care.",
               icon=":material/balance:")
    with st.expander("Why they disagree (with the technical terms)"):
        st.markdown(markdown_escape(note))

# Only the open tab runs: a filter change redraws its three charts, not all nine. The tab
# is in the URL, so a reload or a shared link opens the same one.
tabs = st.tabs([tab.label for tab in IMPACT_TABS], key="impact_view", bind="query-params",
               on_change="rerun")
for container, (tab, tab_charts) in zip(tabs, impact_tabs(charts)):
    if container.open:
        with container:
            st.caption(tab.purpose)
            show_charts(tab_charts)
selection_footer(selection)
