"""Data → Import history: every upload, undo of one upload, removal of the sample data."""

from __future__ import annotations

import streamlit as st

from analysis.intake.sample import has_sample, remove_sample
from analysis.intake.uploads import history, undo
from ui import upload_helpers as helpers
from ui.page import admin_page_start

NOTICE = "history_notice"

scope, store = admin_page_start("Import history",
                                "Every file uploaded, newest first. An upload that went wrong can "
                                "be taken back out here.")

if NOTICE in st.session_state:
    st.success(st.session_state.pop(NOTICE), icon=":material/check_circle:")

uploads = helpers.run_safely(lambda: history(store, scope))
if uploads is None:
    st.stop()
if uploads.empty:
    st.info("Nothing has been uploaded yet. Use the Upload page to add your files.",
            icon=":material/history:")
    st.stop()

if scope.practices is not None:
    st.caption("Uploads for your practices, and the sample data; practices outside your "
               "access are counted, not named.")
st.dataframe(helpers.history_table(uploads, scope), hide_index=True, width="stretch")
st.caption("Status *applied*: the rows are stored. *undone*: the upload was taken out. "
           "*Sample?* marks the synthetic sample data.")

# Undo one upload -----------------------------------------------------------------------
st.header("Undo an upload", anchor=False)
st.markdown(
    "Undo takes one upload (one file) out **whole**: every row it added is removed, and "
    "survey rows it replaced are put back. Nothing else changes. When a survey file and "
    "an attendance file were uploaded together, undo each one separately.")
applied = uploads[uploads["status"] == "applied"]
# Only what the viewer may take out: an undo touching other practices would be refused.
applied = applied[[helpers.within_scope(sites, scope) for sites in applied["sites"]]]
if not scope.may("undo"):
    st.info("Your role does not allow undoing uploads.", icon=":material/block:")
elif applied.empty:
    st.info("No upload that you may take out is currently applied." if scope.practices is not None
            else "No upload is currently applied.", icon=":material/info:")
else:
    labels = {int(row["upload_id"]): helpers.upload_label(row)
              for _, row in applied.iterrows()}
    chosen = st.selectbox("Upload to take out", list(labels), format_func=labels.get,
                          key="undo_choice")
    # Keyed by the upload: after an undo, the next upload's box starts unticked.
    confirmed = st.checkbox(f"Yes, take upload {chosen} out whole", key=f"undo_confirm_{chosen}")
    if st.button("Undo this upload", icon=":material/undo:", disabled=not confirmed,
                 key="undo"):
        done = helpers.run_safely(lambda: undo(store, chosen, scope))
        if done is not None:
            st.session_state[NOTICE] = done.message()
            st.session_state.pop(f"undo_confirm_{chosen}", None)
            st.rerun()

# Remove the sample data ------------------------------------------------------------------
sample = uploads[uploads["is_sample"].astype(bool) & (uploads["status"] == "applied")]
if has_sample(store) and scope.may("undo") and \
        all(helpers.within_scope(sites, scope) for sites in sample["sites"]):
    st.header("Remove the sample data", anchor=False)
    st.markdown("The sample data (synthetic professionals in fictional practices) is "
                "loaded. Remove it before relying on the dashboards; it will not come back.")
    sure = st.checkbox("Yes, remove the sample data", key="sample_confirm")
    if st.button("Remove the sample data", icon=":material/delete:", disabled=not sure,
                 key="remove_sample"):
        removed = helpers.run_safely(lambda: remove_sample(store, scope))
        if removed is not None:
            st.session_state[NOTICE] = (f"The sample data was removed ({removed} "
                                        f"upload{'s' if removed != 1 else ''} taken out).")
            st.session_state.pop("sample_confirm", None)
            st.rerun()
