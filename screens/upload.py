"""Data → Upload: map, preview, validate and store survey and attendance files."""

from __future__ import annotations

import streamlit as st

from analysis.access.settings import load_settings
from analysis.intake.ingest import ingest, validate_upload
from analysis.intake.values import UploadFile, ValidationReport
from ui import auth
from ui import upload_helpers as helpers
from ui.state import get_store

REPORT = "upload_validation"  # (fingerprint, ValidationReport) of the files on screen
RESULT = "upload_result"      # (fingerprint, IngestResult) of the last upload

scope = auth.current_scope()
store = get_store()

st.title("Upload")
st.caption("Add your practice's survey responses and session attendance: check the "
           "columns, fix what the validator reports, then store the files in one step.")

if not scope.may("upload"):
    st.warning("Your role does not allow uploads. Ask a practice manager or an "
               "administrator.", icon=":material/block:")
    st.stop()

with st.expander("Preparing a file: template and data dictionary"):
    st.markdown("The template workbook has a sheet per file with the columns the app reads "
                "and two example rows; the data dictionary lists every column, whether it is "
                "required, and the values allowed.")
    template, dictionary = st.columns(2)
    template.download_button("Download the template (.xlsx)", helpers.template_bytes(),
                             file_name="peer_program_template.xlsx", icon=":material/download:",
                             mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                             key="download_template")
    dictionary.download_button("Download the data dictionary (CSV)", helpers.dictionary_bytes(),
                               file_name="data_dictionary.csv", mime="text/csv",
                               icon=":material/download:", key="download_dictionary")

# 1. Files ------------------------------------------------------------------------------
left, right = st.columns(2)
chosen = {
    "survey": left.file_uploader(
        helpers.KIND_LABELS["survey"], type=helpers.FILE_TYPES, key="file_survey",
        help="One row per respondent per wave: respondent_id, wave, survey_date, site, "
             "and the instruments' items or scores."),
    "attendance": right.file_uploader(
        helpers.KIND_LABELS["attendance"], type=helpers.FILE_TYPES, key="file_attendance",
        help="One row per session attended: respondent_id, session_date, and optionally "
             "session_type and duration_minutes."),
}
if not any(chosen.values()):
    st.info("Choose a survey file, an attendance file, or both. CSV (comma, semicolon "
            "or tab separated) and Excel .xlsx workbooks are accepted (old .xls files: save "
            "them as .xlsx first).",
            icon=":material/upload_file:")
    st.stop()

# The validation report is drawn here, above the mapping, once there is one: the first
# thing to read after pressing Check (filled further down, where it is computed).
report_area = st.container()

# 2. Mapping, preview and scales, per file -----------------------------------------------
files: list[UploadFile] = []
for kind, uploaded in chosen.items():
    if uploaded is None:
        continue
    with st.expander(f"{helpers.KIND_LABELS[kind]}: {uploaded.name}", expanded=True):
        data = helpers.file_bytes(kind, uploaded)
        upload = None if data is None else helpers.mapping_section(store, scope, kind,
                                                                   uploaded.name, data)
    if upload is not None:
        files.append(upload)
if not files:
    st.stop()

# 3. Options ------------------------------------------------------------------------------
replace = st.checkbox(
    "Replace existing responses for the same person and wave", key="upload_replace",
    help="Without this, a survey row whose respondent and wave are already stored stops "
         "the upload. With it, the stored rows are swapped for the new ones; undoing this "
         "upload later puts the old rows back.")
pseudonymize = bool(load_settings(store).pseudonymize)
st.caption(
    "Pseudonymization is **on**: every respondent ID is replaced by a keyed code before "
    "storage." if pseudonymize else
    "Pseudonymization is **off**: respondent IDs are stored as they are in your files, "
    "so they must already be codes, not names or e-mail addresses. An administrator can "
    "switch it on in Settings.")

fingerprint = (tuple((f.kind, f.sha256, tuple(sorted(f.mapping.items()))) for f in files),
               replace, pseudonymize)

# 4. Validate -----------------------------------------------------------------------------
if st.button("Check the files", icon=":material/fact_check:", key="validate"):
    checked = helpers.run_safely(lambda: validate_upload(
        store, files, scope, pseudonymize, replace=replace))
    if checked is not None:
        st.session_state[REPORT] = (fingerprint, checked)
        st.session_state.pop(RESULT, None)

def show_report(report: ValidationReport) -> None:
    """What the check found: already-stored files, the verdict, the grouped problems."""
    # Files whose exact bytes are already stored are skipped, by validation as by upload.
    stored = {s.file_name for s in report.unchanged}
    for s in report.unchanged:
        st.info(f"{s.file_name} is already stored (upload {s.upload_id}): this exact file "
                "was uploaded before, so uploading it again changes nothing.",
                icon=":material/info:")
    problems = [p for p in report.problems if p.file not in stored]
    if len(stored) == len(report.summary) and not problems:
        return
    n_warnings = sum(p.severity == "warning" for p in problems)
    if report.ok and not problems:
        st.success("No problems found. Ready to upload: press *Store the files* below.",
                   icon=":material/check_circle:")
    elif report.ok:
        st.warning(f"No errors; {n_warnings} warning(s) to read. You can upload.",
                   icon=":material/info:")
    else:
        st.error(f"{len(report.errors)} error(s) to fix in your file before it can be stored. "
                 "The table lists each kind of problem once per column, with how many rows "
                 "have it, the first rows and example values; the download lists every row.",
                 icon=":material/error:")
    if problems:
        helpers.show_problems(problems, key="validation_problems")


checked = st.session_state.get(REPORT)
report = checked[1] if checked and checked[0] == fingerprint else None
if report is not None:
    with report_area:
        show_report(report)

# 5. Upload -------------------------------------------------------------------------------
ready = report is not None and report.ok
if st.button("Store the files", type="primary", icon=":material/cloud_upload:", key="upload",
             disabled=not ready,
             help=None if ready else "Check the files first; storing opens when there are no errors."):
    bar = st.progress(0.0, text="Starting")
    result = helpers.run_safely(lambda: ingest(
        store, files, scope, replace=replace, pseudonymize=pseudonymize,
        progress=lambda fraction, text: bar.progress(min(max(fraction, 0.0), 1.0), text=text)))
    bar.empty()
    if result is not None:
        st.session_state[RESULT] = (fingerprint, result)
        st.session_state.pop(REPORT, None)
        st.rerun()  # redraw without the validation report the upload has used up

last = st.session_state.get(RESULT)
result = last[1] if last and last[0] == fingerprint else None
if result is not None:
    if result.status == "applied":
        if not last[2:]:  # the toast once, on the run right after the upload
            st.toast("Upload stored.", icon=":material/check_circle:")
            st.session_state[RESULT] = (*last, "toasted")
        st.success(result.message(), icon=":material/check_circle:")
        st.dataframe(helpers.summary_table(result), hide_index=True,
                     width="stretch")
        st.caption("Made a mistake? Import history takes an upload back out, whole.")
    elif result.status == "unchanged":
        st.info(result.message() + " The same file is recognised by its content, so "
                "uploading it again never adds rows twice.", icon=":material/info:")
    else:
        st.error(result.message(), icon=":material/block:")
    if result.problems:
        helpers.show_problems(result.problems, key="upload_problems")
