"""Impact: do participants end up less burned out than comparable colleagues?"""

from __future__ import annotations

import streamlit as st

from ui.charts import impact_for
from ui.page import page_start, selection_footer, show_charts

store, selection = page_start(
    "Does peer support lower burnout?",
    "Participants compared with colleagues who did not take part: their scores over "
    "time, four ways of comparing them fairly, and whether more sessions help more.")
charts, note = impact_for(store, selection)
if note:
    st.warning(note, icon=":material/balance:")

show_charts(charts)
selection_footer(selection)
