"""Impact: do participants end up less burned out than comparable colleagues?"""

from __future__ import annotations

import streamlit as st

from analysis.definitions.plain_text import markdown_escape
from ui.charts import impact_for, show_chart
from ui.filters import sidebar
from ui.state import get_store

st.title("Does peer support lower burnout?", anchor=False)
st.caption("Participants compared with colleagues who did not take part: their scores over "
           "time, four ways of comparing them fairly, and whether more sessions help more.")

store = get_store()
selection = sidebar(store)
charts, note = impact_for(store, selection)
if note:
    st.warning(markdown_escape(note), icon=":material/balance:")

for chart in charts:
    st.divider()
    show_chart(chart)

st.caption(f"Selection: {markdown_escape(selection.describe())}.")
