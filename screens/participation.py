"""Participation: is the peer-support program used, by whom, and do people keep coming?"""

from __future__ import annotations

import streamlit as st

from analysis.definitions.plain_text import markdown_escape
from ui.charts import participation_for, show_chart
from ui.filters import sidebar
from ui.state import get_store

st.title("Who takes part in peer support", anchor=False)
st.caption("Sessions attended over time, how many sessions people attend, whether they keep "
           "coming, and participation by practice, role and session type.")

store = get_store()
selection = sidebar(store)
charts = participation_for(store, selection)

for chart in charts:
    st.divider()
    show_chart(chart)

st.caption(f"Selection: {markdown_escape(selection.describe())}.")
