"""Streamlit-side helpers of the Upload and Import history pages.

Only drawing and the translation between widgets and :mod:`analysis.intake.values` live
here; reading, mapping rules, validation and storage are all in :mod:`analysis.intake`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from analysis.intake.mapping import canonical_columns, save_mapping
from analysis.intake.preview import preview as preview_upload
from analysis.intake.problems import problems_frame
from analysis.intake.values import IngestResult, Preview, UploadFile
from analysis.intake import importers
from analysis.definitions.instruments import recognise
from analysis.access.scope import PermissionDenied, Scope
from analysis.storage.store import Store, StoreUnavailable

#: Errors of :mod:`analysis` whose messages are written for the user.
USER_ERRORS = (PermissionDenied, StoreUnavailable, ValueError, LookupError)

DO_NOT_STORE = "(do not store)"
KIND_LABELS = {"survey": "Survey responses", "attendance": "Session attendance"}
FILE_TYPES = ["csv", "txt", "tsv", "xlsx", "zip"]  # zip: a set of Teams or Zoom reports
_SOURCE = "Column in your file"
_TARGET = "Stored as"


def run_safely(action: Callable[[], object]) -> object | None:
    """Run an analysis call; show its message (never a traceback) when it refuses."""
    try:
        return action()
    except USER_ERRORS as error:
        st.error(str(error), icon=":material/error:")
        return None


def _preview_of(store: Store, upload: UploadFile) -> Preview | None:
    return run_safely(lambda: preview_upload(upload, rows=10, store=store))


def mapping_section(store: Store, scope: Scope, kind: str, uploaded) -> UploadFile | None:
    """Column mapping, preview and recognised scales for one uploaded file.

    Returns the file with the mapping chosen on screen, or None when it cannot be read.
    """
    data = imported_data(kind, uploaded)
    automatic = _preview_of(store, UploadFile(kind, uploaded.name, data))
    if automatic is None:
        return None
    st.caption(f"{uploaded.name}: {automatic.encoding_label}, "
               f"separated by {_delimiter_words(automatic.delimiter)}.")
    if not automatic.readable:
        st.error("This file cannot be read. Nothing from it will be stored.")
        show_problems(automatic.problems, key=f"read_problems_{kind}")
        return None

    options = [DO_NOT_STORE, *canonical_columns(kind)]
    table = pd.DataFrame({
        _SOURCE: list(automatic.headers),
        _TARGET: [automatic.mapping.get(h) or DO_NOT_STORE for h in automatic.headers],
    })
    st.markdown("**Column mapping.** Matched by name (and by mappings saved before); "
                "change any row, or choose *do not store*.")
    edited = st.data_editor(
        table, hide_index=True, disabled=[_SOURCE], width="stretch",
        key=f"mapping_{kind}_{upload_digest(data)}",
        column_config={_TARGET: st.column_config.SelectboxColumn(
            _TARGET, options=options, required=True)},
    )
    mapping = {row[_SOURCE]: (None if row[_TARGET] in (None, DO_NOT_STORE) else row[_TARGET])
               for row in edited.to_dict("records")}
    if st.button("Save this mapping for the next file", key=f"save_mapping_{kind}",
                 icon=":material/bookmark:"):
        saved = run_safely(lambda: save_mapping(store, kind, mapping, scope) or True)
        if saved:
            st.toast("Mapping saved: files with these headers will be matched the same way.",
                     icon=":material/bookmark_added:")

    upload = UploadFile(kind, uploaded.name, data, mapping)
    chosen = automatic if mapping == automatic.mapping else (_preview_of(store, upload)
                                                              or automatic)
    if chosen.missing_required:
        st.warning("Required columns not mapped yet: " + ", ".join(chosen.missing_required)
                   + ". Map a column of your file to each, or the upload will be refused.")
    if chosen.unmapped:
        st.caption("Not stored (outside the data contract or set to *do not store*): "
                   + ", ".join(chosen.unmapped) + ".")
    st.markdown("**First rows, as they will be stored**")
    st.dataframe(mapped_rows(chosen), hide_index=True, width="stretch")
    if kind == "survey":
        show_scales(mapping)
    return upload


def imported_data(kind: str, uploaded) -> bytes:
    """The file's bytes, or, for a recognised export (Qualtrics, Zoom …), the contract
    table it converts to, with one line naming what was recognised and what is dropped."""
    data = uploaded.getvalue()
    try:
        if kind == "survey":
            conversion = importers.convert_survey(uploaded.name, data)
            if conversion is not None and conversion.needs_wave:
                wave = st.text_input("Which wave is this export? (e.g. baseline, 2025-Q1)",
                                     key=f"wave_{upload_digest(data)}").strip()
                conversion = importers.convert_survey(uploaded.name, data, wave=wave or None)
        else:
            conversion = importers.convert_attendance(
                importers.report_files(uploaded.name, data))
    except Exception:  # noqa: BLE001 - an unreadable export is read as a plain file
        conversion = None
    if conversion is None:
        return data
    st.info(conversion.describe(), icon=":material/travel_explore:")
    if conversion.dropped:
        st.caption("Never stored (names, addresses, locations, free text, metadata): "
                   + conversion.dropped_text() + ".")
    for problem in conversion.problems:
        st.warning(problem.message, icon=":material/info:")
    return conversion.data


def _delimiter_words(delimiter: str) -> str:
    return {",": "commas", ";": "semicolons", "\t": "tabs"}.get(delimiter, repr(delimiter))


def upload_digest(data: bytes) -> str:
    """A short fingerprint of a file's bytes (to key widgets and reports to that file)."""
    return UploadFile("survey", "", data).sha256[:16]


def mapped_rows(preview: Preview) -> pd.DataFrame:
    """The preview's first rows under their canonical names, columns not stored left out."""
    keep = [i for i, h in enumerate(preview.headers) if preview.mapping.get(h)]
    rows = preview.rows.iloc[:, keep].copy()
    rows.columns = [preview.mapping[preview.headers[i]] for i in keep]
    return rows


def show_scales(mapping: dict[str, str | None]) -> None:
    """Which scales the mapped columns will score, and which items are missing."""
    found = recognise(v for v in mapping.values() if v)
    if not found:
        st.warning("No outcome recognised: map at least one instrument's items or a "
                   "scored column (e.g. cbi_1 … cbi_19, or mbi_ee).")
        return
    st.markdown("**Scales that will be scored**")
    st.dataframe(pd.DataFrame({
        "Scale": [r.label for r in found],
        "Scored": ["yes" if r.will_score else "no" for r in found],
        "Details": [r.note for r in found],
    }), hide_index=True, width="stretch")


def show_problems(problems: Sequence, key: str) -> None:
    """The problems table (errors first, see :func:`analysis.intake.problems.problems_frame`) with a
    CSV download."""
    frame = problems_frame(problems)
    st.dataframe(frame, hide_index=True, width="stretch")
    st.download_button("Download the problems (CSV)", frame.to_csv(index=False),
                       file_name="upload_problems.csv", mime="text/csv",
                       icon=":material/download:", key=key)


def summary_table(result: IngestResult) -> pd.DataFrame:
    """One row per file of an upload: rows, respondents, waves, sites."""
    return pd.DataFrame([{
        "File": s.file_name, "Kind": s.kind,
        "Rows": s.rows, "Respondents": s.respondents,
        "Waves": ", ".join(s.waves), "Sites": ", ".join(s.sites),
        "Upload": s.upload_id,
        "Note": "already stored, skipped" if s.unchanged else (
            f"{s.replaced} rows replaced" if s.replaced else ""),
    } for s in result.summary.values()])


HISTORY_LABELS = {
    "upload_id": "Upload", "kind": "Kind", "file_name": "File", "n_rows": "Rows",
    "created_at": "When", "uploaded_by": "Who", "status": "Status", "is_sample": "Sample?",
}


def history_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The import history with the columns and names the page shows."""
    return frame[list(HISTORY_LABELS)].rename(columns=HISTORY_LABELS)


def upload_label(row: pd.Series) -> str:
    """How one upload is named in the undo choice."""
    sample = ", sample" if row["is_sample"] else ""
    return (f"Upload {row['upload_id']}: {row['kind']} file {row['file_name']} "
            f"({row['n_rows']:,} rows, {row['created_at']:%Y-%m-%d %H:%M}{sample})")
