"""Data quality: can the numbers on the other pages be trusted?"""

from __future__ import annotations

import streamlit as st

from analysis.definitions.plain_text import markdown_escape
from ui.charts import quality_for, show_chart
from ui.filters import sidebar
from ui.state import get_store

st.title("Can we trust the data?", anchor=False)
st.caption("How many people answered each wave, how many questions were left blank, and "
           "whether each scale's questions hang together.")

store = get_store()
selection = sidebar(store)
charts = quality_for(store, selection)

for chart in charts:
    st.divider()
    show_chart(chart)

st.caption(f"Selection: {markdown_escape(selection.describe())}.")
