"""Streamlit-side helpers of the Upload and Import history pages.

Only drawing and the translation between widgets and :mod:`analysis.intake.values` live
here; reading, mapping rules, validation and storage are all in :mod:`analysis.intake`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from analysis.access.scope import PermissionDenied, Scope
from analysis.definitions.instruments import recognise
from analysis.definitions.plain_text import markdown_escape
from analysis.intake import dates, importers, template, workbook
from analysis.intake.mapping import canonical_columns, save_mapping
from analysis.intake.preview import preview as preview_upload
from analysis.intake.problem_groups import group_problems
from analysis.intake.problems import problems_frame
from analysis.intake.values import IngestResult, Preview, UploadFile
from analysis.storage.store import Store, StoreUnavailable

#: Errors of :mod:`analysis` whose messages are written for the user.
USER_ERRORS = (PermissionDenied, StoreUnavailable, ValueError, LookupError)

DO_NOT_STORE = "(do not store)"
KIND_LABELS = {"survey": "Survey responses", "attendance": "Session attendance"}
# .xls is accepted by the picker only so that choosing one gets a clear message (not a
# red icon with the reason on hover): the reader cannot read the old binary format.
# zip: a set of Teams or Zoom reports.
FILE_TYPES = ["csv", "txt", "tsv", "xlsx", "xls", "zip"]
_DATE_COLUMNS = ("survey_date", "session_date")
_ORDER_WORDS = {dates.DAY_FIRST: "day first (31/03/2025 = 31 March)",
                dates.MONTH_FIRST: "month first (03/31/2025 = March 31)"}
_SOURCE = "Column in your file"
_TARGET = "Stored as"


def run_safely(action: Callable[[], object]) -> object | None:
    """Run an analysis call; show its message (never a traceback) when it refuses."""
    try:
        return action()
    except USER_ERRORS as error:
        st.error(str(error), icon=":material/error:")
        return None


def _preview_of(store: Store, scope: Scope, upload: UploadFile) -> Preview | None:
    return run_safely(lambda: preview_upload(upload, rows=10, store=store, scope=scope))


@st.cache_data(show_spinner=False)
def template_bytes() -> bytes:
    """The template workbook (:func:`analysis.intake.template.template_workbook`)."""
    return template.template_workbook()


@st.cache_data(show_spinner=False)
def dictionary_bytes() -> bytes:
    """The data dictionary as CSV (:func:`analysis.intake.template.data_dictionary`)."""
    return template.data_dictionary().to_csv(index=False).encode("utf-8")


def file_bytes(kind: str, uploaded) -> bytes | None:
    """The bytes to read from an uploaded file: None (with a message) for an old .xls; for
    a workbook of several sheets, the sheet chosen on screen; for a recognised export
    (Qualtrics, Zoom …), the contract table it converts to."""
    data = uploaded.getvalue()
    if workbook.is_old_excel(data, uploaded.name):
        st.error(workbook.XLS_MESSAGE, icon=":material/error:")
        return None
    sheets = workbook.sheet_names(data)
    if len(sheets) > 1:
        sheet = st.selectbox("Sheet with the data", sheets, key=f"sheet_{kind}_{upload_digest(data)}",
                             help="This workbook has several sheets; the first is read unless "
                                  "you choose another.")
        if sheet != sheets[0]:
            data = workbook.sheet_as_csv(data, sheet)
    return imported_data(kind, uploaded.name, data)


def imported_data(kind: str, name: str, data: bytes) -> bytes:
    """The file's bytes, or, for a recognised export (Qualtrics, Zoom …), the contract
    table it converts to, with one line naming what was recognised and what is dropped."""
    try:
        if kind == "survey":
            conversion = importers.convert_survey(name, data)
            if conversion is not None and conversion.needs_wave:
                wave = st.text_input("Which wave is this export? (e.g. baseline, 2025-Q1)",
                                     key=f"wave_{upload_digest(data)}").strip()
                conversion = importers.convert_survey(name, data, wave=wave or None)
        else:
            conversion = importers.convert_attendance(importers.report_files(name, data))
    except Exception:  # an unreadable export is read as a plain file
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


def date_order_section(kind: str, name: str, data: bytes,
                       mapping: dict[str, str | None]) -> bytes | None:
    """Dates written day/month/year or month/day/year: the order found (or asked, when every
    date reads both ways), and the file with those dates as YYYY-MM-DD. None when the order
    must be chosen and has not been."""
    headers = [h for h, target in mapping.items() if target in _DATE_COLUMNS]
    orders = _column_orders(data, name, tuple(headers)) if headers else {}
    chosen: dict[str, str] = {}
    for header, found in orders.items():
        if found.order == dates.ISO:
            continue
        shown = markdown_escape(header)  # a header from the file: rendered as written
        if found.order == dates.MIXED:
            st.warning(f"Column {shown}: some dates have the day first and some the month "
                       "first; the validator will list the ones that cannot be read.")
            continue
        if found.needs_choice:
            picked = st.radio(
                f"Column {shown}: dates such as {markdown_escape(found.example)} could be "
                "either. Which comes first?",
                list(_ORDER_WORDS), format_func=_ORDER_WORDS.get, index=None,
                key=f"date_order_{kind}_{header}_{upload_digest(data)}", horizontal=True)
            if picked is None:
                st.info("Choose the date order to continue.", icon=":material/calendar_month:")
                return None
            chosen[header] = picked
        else:
            chosen[header] = found.order
            st.caption(f"Column {shown}: {found.slashed:,} dates written "
                       f"{_ORDER_WORDS[found.order]}, found from the dates themselves; they are "
                       "stored as YYYY-MM-DD.")
    return _rewrite_dates(data, name, tuple(sorted(chosen.items()))) if chosen else data


# Reading a whole file for its dates takes a moment on a large one: once per file and choice.
@st.cache_data(show_spinner="Reading the dates…", max_entries=8)
def _column_orders(data: bytes, name: str, headers: tuple[str, ...]) -> dict[str, dates.DateOrder]:
    return dates.column_orders(data, name, headers)


@st.cache_data(show_spinner="Writing the dates as YYYY-MM-DD…", max_entries=8)
def _rewrite_dates(data: bytes, name: str, orders: tuple[tuple[str, str], ...]) -> bytes:
    return dates.rewrite_dates(data, name, dict(orders))


def mapping_section(store: Store, scope: Scope, kind: str, name: str,
                    data: bytes) -> UploadFile | None:
    """Column mapping, date order, preview and recognised scales for one uploaded file.

    Returns the file with the mapping chosen on screen (its dates as YYYY-MM-DD), or None
    when it cannot be read or a choice is still needed.
    """
    automatic = _preview_of(store, scope, UploadFile(kind, name, data))
    if automatic is None:
        return None
    st.caption(f"{markdown_escape(name)}: {automatic.encoding_label}, "
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

    converted = date_order_section(kind, name, data, mapping)
    if converted is None:
        return None
    upload = UploadFile(kind, name, converted, mapping)
    chosen = automatic if mapping == automatic.mapping else (_preview_of(store, scope, upload)
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
    """The problems grouped by file, column and rule (one line for 36 bad dates, with the
    count, first rows and examples), and every problem, row by row, as a CSV download."""
    grouped = group_problems(problems)
    st.dataframe(grouped, hide_index=True, width="stretch", column_config={
        "problem": st.column_config.TextColumn("problem", width="large"),
        "count": st.column_config.NumberColumn("count", format="%d")})
    st.download_button("Download every problem, row by row (CSV)",
                       problems_frame(problems).to_csv(index=False),
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
    "sites": "Practices",
}


def history_table(frame: pd.DataFrame, scope: Scope | None = None) -> pd.DataFrame:
    """The import history with the columns and names the page shows; for a viewer limited
    to some practices, each upload's practices are only theirs (others are counted)."""
    frame = frame.copy()
    if "sites" not in frame.columns:
        frame["sites"] = [[] for _ in range(len(frame))]
    if scope is not None and scope.practices is not None:
        frame["sites"] = [_own_sites(sites, scope) for sites in frame["sites"]]
    frame["sites"] = [", ".join(map(str, s)) if s is not None else "" for s in frame["sites"]]
    return frame[list(HISTORY_LABELS)].rename(columns=HISTORY_LABELS)


def _own_sites(sites: Any, scope: Scope) -> list[str]:
    names = [str(s) for s in (sites if sites is not None else [])]
    own = [s for s in names if scope.sees_site(s)]
    others = len(names) - len(own)
    return own + ([f"+ {others} other practice{'s' if others != 1 else ''}"] if others else [])


def within_scope(sites: Any, scope: Scope) -> bool:
    """True when every practice an upload touched is one the viewer may change (an undo
    of anything else would be refused, so it is not offered)."""
    return all(scope.sees_site(str(s)) for s in (sites if sites is not None else []))


def upload_label(row: pd.Series) -> str:
    """How one upload is named in the undo choice."""
    sample = ", sample" if row["is_sample"] else ""
    return (f"Upload {row['upload_id']}: {row['kind']} file {row['file_name']} "
            f"({row['n_rows']:,} rows, {row['created_at']:%Y-%m-%d %H:%M}{sample})")
