"""Participation: is the peer-support program used, by whom, and do people keep coming?"""

from __future__ import annotations

import streamlit as st

from analysis import dashboard
from ui.charts import monthly_for, report_for, show_chart
from ui.filters import sidebar
from ui.state import get_store

st.title("Who takes part in peer support", anchor=False)
st.caption("Sessions attended over time, how many sessions people attend, whether they keep "
           "coming, and participation by practice, role and session type.")

store = get_store()
selection = sidebar(store)
tables = report_for(store, selection)
charts = dashboard.participation_charts(tables, monthly_for(store, selection),
                                        selection.outcome, selection.waves, selection.k)

for chart in charts:
    st.divider()
    show_chart(chart)

st.caption(f"Selection: {selection.describe()}.")
