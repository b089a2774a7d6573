"""Researcher export: aggregated, disclosure-checked results and the leadership report."""

from __future__ import annotations

import streamlit as st

from analysis.access.scope import Scope
from analysis.access.settings import Settings, load_settings
from analysis.intake.sample import has_sample
from analysis.reporting.bundle_fields import ANONYMOUS, ExportOptions
from analysis.reporting.export import build_export_bundle, record_export
from analysis.reporting.export_report import leadership_report_for_export
from analysis.storage.audit import record_download
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
if has_sample(store):
    st.warning("The data is the **synthetic sample** (fictional practices and people): "
               "the bundle's README and the leadership report say so. Do not cite it as results.",
               icon=":material/science:")
k_export = max(settings.export_min_cell, settings.min_group_size)

st.markdown(
    f"""**The bundle (.zip) contains**
- `README.md`: app version, export date, how to cite, and the synthetic-sample label when
  the sample is the source;
- tidy CSVs: descriptives, estimates, participation, balance, reliability (true/false
  written as 1/0, readable by R and Stata), and one Excel workbook with the same sheets;
  the estimates carry what a consortium needs to pool them (standard error, a band of the
  degrees of freedom, instrument and scale version, months since baseline, your label);
- `codebook.csv` (every column: type and meaning), `methods.md` (instruments, scoring,
  participant definition, every analysis and its assumption, thresholds, software
  versions) and `config.json` (every setting, and the export's own threshold);
- `checks.csv` (every output check, pass/fail in `result`) and `manifest.json` (app
  version, export settings, SHA-256 of every file and of the manifest itself).

No row-level data, identifiers, free text or data dates leave: no cell under {k_export} people,
counts rounded to a multiple of 5, failing cells blanked.""")


@st.cache_data(show_spinner="Checking the export…", max_entries=4)
def _bundle(_store: Store, version: str, scope: Scope, settings: Settings, options: ExportOptions):
    return build_export_bundle(_store, scope, settings=settings, options=options)


@st.cache_data(show_spinner="Building the leadership report…", max_entries=4)
def _html(_store: Store, version: str, scope: Scope, settings: Settings) -> str:
    # it leaves through the export page: built at the export's k, counts rounded (issue 13)
    return leadership_report_for_export(_store, scope, settings=settings,
                                        synthetic=has_sample(_store))


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

st.header("Output checks", anchor=False)
failed = int(bundle.summary["fail"].sum()) if len(bundle.summary) else 0
if failed:
    st.info(f"{failed} cells failed a check and were blanked in the bundle (never shipped).",
            icon=":material/visibility_off:")
else:
    st.success("Every shipped cell passed the checks; items marked review need a person's "
               "sign-off (see reasons).", icon=":material/verified:")
st.dataframe(bundle.summary, hide_index=True, width="stretch",
             column_config={"result": st.column_config.TextColumn("result", help="pass, fail or review")})

BUNDLE_NAME = "peer_program_impact_export.zip"
REPORT_NAME = "peer_program_impact_report.html"
left, right = st.columns(2)
# The audit event is written by the download itself (on_click), not by opening the page.
left.download_button("Download the researcher bundle (.zip)", bundle.zip_bytes,
                     file_name=BUNDLE_NAME, mime="application/zip", icon=":material/download:",
                     on_click=record_export, args=(store, scope, bundle), key="download_bundle")
right.download_button("Download the leadership report (.html)",
                      _html(store, store.data_version(), scope, settings).encode("utf-8"),
                      file_name=REPORT_NAME, mime="text/html", icon=":material/description:",
                      on_click=record_download, args=(store, scope, REPORT_NAME),
                      key="download_report")
