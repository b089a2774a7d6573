"""Admin → Audit log: every sign-in, change and refusal, newest first."""

from __future__ import annotations

import streamlit as st

from analysis.access import accounts
from analysis.privacy.csv_safety import neutralize_frame
from ui.page import admin_page_start, allowed_or_stop

ANY = "(any)"

scope, store = admin_page_start("Audit log",
                                "Who signed in, changed data, settings or accounts, and what was "
                                "refused. Passwords and respondent IDs are never recorded.")
events = allowed_or_stop(lambda: accounts.audit_events(store, scope))

left, right = st.columns(2)
action = left.selectbox("Action", [ANY, *sorted(events["action"].unique())])
user = right.selectbox("User", [ANY, *sorted(events["username"].unique())])
shown = accounts.filter_events(events, None if action == ANY else action,
                               None if user == ANY else user)

st.write(f"{len(shown)} of the {len(events)} most recent events.")
st.dataframe(shown, hide_index=True)
st.download_button(
    "Download as CSV", neutralize_frame(shown).to_csv(index=False).encode("utf-8"),
    file_name="audit_log.csv", mime="text/csv", icon=":material/download:")
