"""Researcher export: aggregated, disclosure-checked results and the leadership report."""

from __future__ import annotations

import streamlit as st

from analysis.access.scope import Scope
from analysis.access.settings import Settings, load_settings
from analysis.reporting.bundle_fields import ANONYMOUS, ExportOptions
from analysis.reporting.export import build_export_bundle
from analysis.reporting.export_report import leadership_report_for_export
from analysis.storage.store import Store
from ui.auth import current_scope
from ui.page import allowed_or_stop
from ui.state import get_store

scope = current_scope()
st.title("Export for researchers", anchor=False)
st.caption("Download aggregated results that passed output checking, with a methods note, "
           "and the leadership report as one offline HTML file.")

store = get_store()
settings = load_settings(store)
k_export = max(settings.export_min_cell, settings.min_group_size)

st.markdown(
    f"""**The bundle (.zip) contains**
- tidy CSVs: descriptives, estimates, participation, balance, reliability, and one Excel
  workbook with the same sheets;
- `methods.md` (instruments, scoring, participant definition, every analysis and its
  assumption, thresholds, software versions) and `config.json` (every setting used);
- `checks.csv` (every output check) and `manifest.json` (SHA-256 of every file).

No row-level data, identifiers, free text or dates leave: no cell under {k_export} people,
counts rounded to a multiple of 5, failing cells blanked.""")


@st.cache_data(show_spinner="Checking the export…", max_entries=4)
def _bundle(_store: Store, version: str, scope: Scope, settings: Settings, options: ExportOptions):
    return build_export_bundle(_store, scope, settings=settings, options=options)


@st.cache_data(show_spinner="Building the leadership report…", max_entries=4)
def _html(_store: Store, version: str, scope: Scope, settings: Settings) -> str:
    # it leaves through the export page: built at the export's k, counts rounded (issue 13)
    return leadership_report_for_export(_store, scope, settings=settings)


with st.expander("For a consortium meta-analysis (optional)"):
    label = st.text_input("Your organization's name as the consortium will see it", value=ANONYMOUS,
                          help="Leave 'anonymous' and the consortium sees 'Organization A', 'B', ...")
    program = st.text_input("Program type", value="not stated", help="e.g. group, online, mixed")
try:
    options = ExportOptions(organization=label, program_type=program)
except ValueError as error:
    st.error(str(error))
    st.stop()
bundle = allowed_or_stop(lambda: _bundle(store, store.data_version(), scope, settings, options))

st.subheader("Output checks", anchor=False)
failed = int(bundle.summary["fail"].sum()) if len(bundle.summary) else 0
if failed:
    st.info(f"{failed} cells failed a check and were blanked in the bundle (never shipped).",
            icon=":material/visibility_off:")
else:
    st.success("Every shipped cell passed the checks; items marked review need a person's "
               "sign-off (see reasons).", icon=":material/verified:")
st.dataframe(bundle.summary, hide_index=True, width="stretch",
             column_config={"result": st.column_config.TextColumn("result", help="pass, fail or review")})

left, right = st.columns(2)
left.download_button("Download the researcher bundle (.zip)", bundle.zip_bytes,
                     file_name="peer_program_impact_export.zip", mime="application/zip",
                     icon=":material/download:")
right.download_button("Download the leadership report (.html)",
                      _html(store, store.data_version(), scope, settings).encode("utf-8"),
                      file_name="peer_program_impact_report.html", mime="text/html",
                      icon=":material/description:")
