"""Uploads: preview, map, validate, load all-or-nothing, undo, history.

This is the API the upload page and the command line share. Every function takes the
viewer's :class:`~analysis.access.scope.Scope` and checks it here.

How an upload is applied
------------------------
1. Each file is decoded (:mod:`analysis.intake.readers`) and read by DuckDB into a temporary
   table of text columns; headers are mapped to the contract's canonical names
   (automatically, from a saved mapping, or as the user chose).
2. Validation (:mod:`analysis.intake.validate`) runs as SQL over those tables, plus the checks
   that need the stored data: (respondent_id, wave) pairs already stored, attendance
   IDs with no survey row, sites outside the uploader's scope.
3. Only when there is no error are rows written, all files in ONE transaction:
   ``INSERT ... SELECT`` from the staged tables, item answers turned into codes by
   :func:`~analysis.definitions.instruments.item_code_sql` and scale scores computed from those codes
   by :func:`~analysis.definitions.instruments.scale_score_sql` in the same statement. Uploaded
   scored columns (e.g. ``mbi_ee``) are stored when the scale's items are absent.
   Columns outside the contract are never stored.

Decisions
---------
- Same bytes again (SHA-256 of a file whose upload is applied): that file is skipped;
  when every file is, the result is ``unchanged`` and nothing is written.
- Survey rows whose (respondent_id, wave) is already stored refuse the upload, listing
  the pairs, unless ``replace=True``: then the stored rows move to ``survey_replaced``
  (``replaced_by`` = the new upload) and come back if the new upload is undone.
- Attendance: a session already stored (same respondent_id, session_date,
  session_type) is skipped with a warning, counted per key: a file holding a session
  twice adds the second copy only if the store does not already have two. A cumulative
  attendance export can therefore be uploaded again each quarter and only new sessions
  are added. Sessions of people with no survey row are stored, with a warning.
- Undo takes out one upload (one file) whole. Undoing the survey file of a two-file
  batch leaves that batch's attendance file in place; undo it separately.
- Pseudonymization is on when the caller asks for it or the installation's setting
  ``pseudonymize`` is 1; IDs are replaced by keyed hashes before anything is stored.
- A refusal because of the data writes nothing (not even to the audit log, so the
  database is exactly as before); a refusal because of the viewer's scope is audited.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, Literal, Mapping, Sequence

import duckdb
import pandas as pd

from analysis.storage import audit
from analysis.definitions.contract import columns_for, normalize_header
from analysis.definitions.instruments import INSTRUMENTS, ITEM_COLUMNS, SCALES, SCORED_COLUMNS, item_code_sql, \
    scale_score_sql
from analysis.intake import mappings, scoped, waves
from analysis.intake.labels import label_problems, normalized_sql
from analysis.intake.scoped import SURVEY_IN_SCOPE
from analysis.intake.pseudonymize import key_problem, pseudonymize_by_default, pseudonyms
from analysis.intake.readers import ENCODING_LABELS, SYSTEM_ERRORS, DecodedFile, StagedFile, decode, \
    row_number_sql, stage
from analysis.access.scope import PermissionDenied, Scope, require
from analysis.storage.store import Store, StoreUnavailable, _explain_open_error
from analysis.intake.validate import (
    MAX_PER_CHECK,
    FileView,
    Problem,
    has_errors,
    problems_frame,
    q,
    shown,
    sort_problems,
    validate_view,
)

__all__ = [
    "UploadFile", "Preview", "ScaleCoverage", "FileSummary", "ValidationReport",
    "IngestResult", "UndoResult", "StoreStatus", "UploadNotFound", "Progress",
    "canonical_columns", "suggest_mapping", "saved_mappings", "save_mapping", "preview",
    "validate_upload", "already_stored", "ingest", "undo", "history", "status", "load_sample",
    "remove_sample", "has_data", "has_sample", "problems_frame", "SAMPLE_DIR",
]

_log = logging.getLogger(__name__)
Kind = Literal["survey", "attendance"]
Progress = Callable[[float, str], None]
SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"
_KINDS: tuple[str, ...] = ("survey", "attendance")


class UploadNotFound(LookupError):
    """No upload with that number (the message is safe to show)."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class UploadFile:
    """One uploaded file.

    Attributes
    ----------
    kind : {"survey", "attendance"}
    file_name : str
    data : bytes
    mapping : mapping of str to str, optional
        Source header to canonical name (a header mapped to ``""`` or None is not stored);
        None maps automatically (saved mappings, then :func:`normalize_header`).
    """

    kind: Kind
    file_name: str
    data: bytes
    mapping: Mapping[str, str | None] | None = None

    @cached_property
    def sha256(self) -> str:
        """SHA-256 of the bytes (an upload of the same bytes again changes nothing);
        computed once per file (an upload asks for it several times)."""
        return hashlib.sha256(self.data).hexdigest()

    @classmethod
    def from_path(cls, kind: Kind, path: str | Path,
                  mapping: Mapping[str, str | None] | None = None) -> "UploadFile":
        """Read a file from disk."""
        path = Path(path)
        return cls(kind, path.name, path.read_bytes(), mapping)


@dataclass(frozen=True)
class ScaleCoverage:
    """Whether a scale will be scored from an upload, and from what.

    ``source`` is ``items`` (computed from item answers), ``score`` (an uploaded scored
    column) or ``none``. ``missing_items`` lists the scale's item columns not in the file.
    """

    scale: str
    label: str
    instrument: str
    source: Literal["items", "score", "none"]
    missing_items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preview:
    """What the upload page shows before validating: headers, mapping, first rows."""

    file_name: str
    kind: str
    headers: tuple[str, ...]
    mapping: dict[str, str | None]
    rows: pd.DataFrame
    encoding: str
    encoding_label: str
    delimiter: str
    scales: tuple[ScaleCoverage, ...]
    missing_required: tuple[str, ...]
    unmapped: tuple[str, ...]
    problems: tuple[Problem, ...]

    @property
    def readable(self) -> bool:
        """False when the file itself could not be read (see ``problems``)."""
        return not has_errors(self.problems)


@dataclass(frozen=True)
class FileSummary:
    """Counts for one file of an upload."""

    file_name: str
    kind: str
    rows: int = 0
    respondents: int = 0
    waves: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    replaced: int = 0
    skipped: int = 0
    unchanged: bool = False
    upload_id: int | None = None


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating an upload (nothing written).

    ``summary`` has one entry per file; a file already stored (same bytes) is not checked
    again and has ``unchanged=True`` (see :attr:`unchanged`).
    """

    problems: tuple[Problem, ...]
    ok: bool
    summary: dict[str, FileSummary]

    @property
    def unchanged(self) -> tuple[FileSummary, ...]:
        """The files already stored, which uploading again would skip."""
        return tuple(s for s in self.summary.values() if s.unchanged)

    def frame(self) -> pd.DataFrame:
        """The problems as a table (download as CSV with ``frame().to_csv(index=False)``)."""
        return problems_frame(self.problems)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")


@dataclass(frozen=True)
class IngestResult:
    """The outcome of :func:`ingest`.

    Attributes
    ----------
    status : {"applied", "refused", "unchanged"}
    upload_ids : tuple of int
        New uploads (empty unless applied).
    batch_id : int or None
    problems : tuple of Problem
        Errors (when refused) and warnings.
    summary : dict of str to FileSummary
        Per file name.
    """

    status: Literal["applied", "refused", "unchanged"]
    upload_ids: tuple[int, ...]
    batch_id: int | None
    problems: tuple[Problem, ...]
    summary: dict[str, FileSummary] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.summary.values() if s.kind == "survey")

    @property
    def replaced(self) -> int:
        return sum(s.replaced for s in self.summary.values())

    def frame(self) -> pd.DataFrame:
        return problems_frame(self.problems)

    def message(self) -> str:
        """One paragraph saying what happened."""
        if self.status == "refused":
            n_err = sum(p.severity == "error" for p in self.problems)
            return (f"Nothing was stored: the upload was refused with {n_err} problem"
                    f"{'s' if n_err != 1 else ''} to fix. The database is exactly as before.")
        if self.status == "unchanged":
            return ("Nothing changed: these files were uploaded before and are already "
                    "stored.")
        parts = []
        for s in self.summary.values():
            if s.unchanged:
                parts.append(f"{s.file_name} was already stored (skipped)")
            elif s.kind == "survey":
                text = (f"{s.file_name}: {s.rows:,} survey rows from {s.respondents:,} "
                        f"respondents, {len(s.waves)} wave{'s' if len(s.waves) != 1 else ''} "
                        f"({', '.join(s.waves)}), {len(s.sites)} site"
                        f"{'s' if len(s.sites) != 1 else ''}")
                if s.replaced:
                    text += f"; {s.replaced:,} stored rows replaced"
                parts.append(text + f" (upload {s.upload_id})")
            else:
                text = f"{s.file_name}: {s.rows:,} sessions of {s.respondents:,} people"
                if s.skipped:
                    text += f"; {s.skipped:,} sessions already stored were skipped"
                parts.append(text + f" (upload {s.upload_id})")
        n_warn = sum(p.severity == "warning" for p in self.problems)
        tail = f" {n_warn} warning{'s' if n_warn != 1 else ''} to read." if n_warn else ""
        return f"Stored as batch {self.batch_id}. " + "; ".join(parts) + "." + tail


@dataclass(frozen=True)
class UndoResult:
    """What :func:`undo` took out and put back."""

    upload_id: int
    kind: str
    file_name: str
    rows_removed: int
    rows_restored: int

    def message(self) -> str:
        text = (f"Upload {self.upload_id} ({self.kind} file {self.file_name}) was taken out: "
                f"{self.rows_removed:,} rows removed")
        if self.rows_restored:
            text += f", {self.rows_restored:,} earlier rows it had replaced restored"
        return text + "."


@dataclass(frozen=True)
class StoreStatus:
    """What is stored, as the scope sees it."""

    uploads: int
    survey_rows: int
    attendance_rows: int
    respondents: int
    waves: tuple[str, ...]
    sites: tuple[str, ...]
    sample_present: bool
    last_upload_at: datetime | None

    def message(self) -> str:
        if not self.uploads:
            return "The database holds no data yet."
        sample = " The sample data is loaded." if self.sample_present else ""
        return (f"{self.uploads} upload{'s' if self.uploads != 1 else ''} applied: "
                f"{self.survey_rows:,} survey rows from {self.respondents:,} respondents, "
                f"{self.attendance_rows:,} attendance sessions; waves "
                f"{', '.join(self.waves) or '-'}; sites {', '.join(self.sites) or '-'}."
                + sample)


# ------------------------------------------------------------------------- mapping


def canonical_columns(kind: Kind) -> tuple[str, ...]:
    """Every canonical column a file of ``kind`` may have."""
    base = tuple(c.name for c in columns_for(kind))
    return base + ITEM_COLUMNS + SCORED_COLUMNS if kind == "survey" else base


def suggest_mapping(headers: Sequence[str], kind: Kind,
                    saved: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Source header → canonical name (None: not stored).

    A saved mapping for the exact header wins; else the header's normalised form
    (:func:`~analysis.definitions.contract.normalize_header`) when it is a canonical name. A canonical
    name is suggested for the first header only.
    """
    allowed = set(canonical_columns(kind))
    saved = saved or {}
    taken: set[str] = set()
    mapping: dict[str, str | None] = {}
    for header in headers:
        target = saved.get(header)
        if target is None or (target and target not in allowed):
            norm = normalize_header(header)
            target = norm if norm in allowed else None
        if target and target in taken:
            target = None
        if target:
            taken.add(target)
        mapping[header] = target or None
    return mapping


def saved_mappings(store: Store, kind: Kind, scope: Scope | None = None) -> dict[str, str]:
    """The mappings saved for ``kind`` by ``scope``'s practices (None: the command line;
    source header → canonical; ``""`` = not stored). See :mod:`analysis.intake.mappings`."""
    with store.cursor() as cur:
        return mappings.saved(cur, kind, scope)


def save_mapping(store: Store, kind: Kind, mapping: Mapping[str, str | None],
                 scope: Scope | None = None) -> None:
    """Remember a mapping for the next upload of ``scope``'s practices (headers mapped to
    None are saved as ``""``)."""
    mappings.save(store, kind, mapping, scope, canonical_columns(kind))


def _resolve_mapping(upload: UploadFile, headers: Sequence[str],
                     saved: Mapping[str, str]) -> tuple[dict[str, int], tuple[str, ...],
                                                        list[Problem]]:
    """Canonical name → column index, unmapped headers, mapping problems."""
    if upload.mapping is None:
        mapping = suggest_mapping(headers, upload.kind, saved)
    else:
        mapping = {h: upload.mapping.get(h) for h in headers}
    allowed = set(canonical_columns(upload.kind))
    chosen: dict[str, int] = {}
    unmapped: list[str] = []
    problems: list[Problem] = []
    for index, header in enumerate(headers):
        target = mapping.get(header)
        if not target:
            unmapped.append(header)
            continue
        if target not in allowed:
            problems.append(Problem(upload.file_name, None, header, target,
                                    "a column of the data contract", "error",
                                    f"this column is mapped to '{target}', which is not a "
                                    "column of the data contract"))
        elif target in chosen:
            first = headers[chosen[target]]
            problems.append(Problem(upload.file_name, None, header, None,
                                    f"one column for {target}", "error",
                                    f"both '{first}' and '{header}' would be stored as "
                                    f"{target}; keep one, or map the other elsewhere"))
        else:
            chosen[target] = index
    return chosen, tuple(unmapped), problems


# ------------------------------------------------------------------------- preview


def _coverage(present: Iterable[str]) -> tuple[ScaleCoverage, ...]:
    present = set(present)
    out = []
    for scale in SCALES:
        items = scale.item_columns
        have = [c for c in items if c in present]
        if have:
            source = "items"
        elif scale.key in present:
            source = "score"
        else:
            source = "none"
        missing = tuple(c for c in items if c not in present) if have else ()
        out.append(ScaleCoverage(scale.key, scale.label, scale.instrument, source, missing))
    return tuple(out)


def preview(upload: UploadFile, rows: int = 10, *, store: Store | None = None,
            scope: Scope | None = None) -> Preview:
    """Headers, suggested mapping, first rows, encoding and which scales will be scored.

    Parameters
    ----------
    upload : UploadFile
        Its ``mapping`` (when given) is used instead of the suggestion.
    rows : int
        How many data rows to show.
    store : Store, optional
        Source of saved mappings.
    scope : Scope, optional
        Whose saved mappings (those of the scope's practices; None: the command line's).
    """
    import csv  # noqa: PLC0415

    saved = saved_mappings(store, upload.kind, scope) if store is not None else {}
    with tempfile.TemporaryDirectory(prefix="ppi_preview_") as workdir:
        decoded = decode(upload.data, upload.file_name, workdir)
        first: list[list[str]] = []
        if decoded.readable:
            try:
                with decoded.path.open(encoding="utf-8", newline="") as handle:
                    reader = csv.reader(handle, delimiter=decoded.delimiter)
                    next(reader, None)
                    for record in reader:
                        if len(first) >= rows:
                            break
                        first.append(record)
            except csv.Error:
                # The first rows are only shown; validation reports what is wrong with them.
                first = first[:rows]
    headers = decoded.headers
    mapping = suggest_mapping(headers, upload.kind, saved) if upload.mapping is None else \
        {h: upload.mapping.get(h) or None for h in headers}
    width = len(headers)
    names = _unique_names(headers)
    frame = pd.DataFrame([(r + [""] * width)[:width] for r in first], columns=names,
                         dtype="string")
    present = {v for v in mapping.values() if v}
    missing = tuple(c.name for c in columns_for(upload.kind) if c.required
                    and c.name not in present)
    unmapped = tuple(h for h in headers if not mapping.get(h))
    return Preview(
        upload.file_name, upload.kind, headers, mapping, frame, decoded.encoding,
        ENCODING_LABELS.get(decoded.encoding, decoded.encoding), decoded.delimiter,
        _coverage(present) if upload.kind == "survey" else (), missing, unmapped,
        decoded.problems,
    )


def _unique_names(headers: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for h in headers:
        name = h or "(no name)"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        names.append(name)
    return names


# ---------------------------------------------------------------------- preparation


@dataclass
class _Prepared:
    files: dict[str, UploadFile]
    decoded: dict[str, DecodedFile]
    staged: dict[str, StagedFile]
    views: dict[str, FileView]
    problems: list[Problem]
    summary: dict[str, FileSummary]
    present: dict[str, set[str]]
    pseudonymized: bool
    #: Per kind, each checked column's distinct values as validation found them (see
    #: :func:`~analysis.intake.validate.run_checks`); item answers are coded from these.
    values: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _pseudonymize_setting(cur: duckdb.DuckDBPyConnection) -> bool:
    return pseudonymize_by_default(cur)


def _check_kinds(files: Sequence[UploadFile]) -> None:
    kinds = [f.kind for f in files]
    if not files:
        raise ValueError("no file to upload: give a survey file, an attendance file or both")
    for kind in kinds:
        if kind not in _KINDS:
            raise ValueError(f"unknown file kind: {kind!r}")
    if len(set(kinds)) != len(kinds):
        raise ValueError("one upload takes at most one survey file and one attendance file")


def _view_sql(name: str, staged: StagedFile, chosen: Mapping[str, int],
              pseudonymized: bool) -> str:
    cols = [f"{normalized_sql(canonical, f's.c{index}')} AS {q(canonical)}"
            for canonical, index in chosen.items()]
    id_index = chosen.get("respondent_id")
    if id_index is None:
        key = "NULL::VARCHAR"
        join = ""
    elif pseudonymized:
        key = f"coalesce(m.pid, nullif(trim(s.c{id_index}), ''))"
        join = f" LEFT JOIN id_map m ON m.raw = trim(s.c{id_index})"
    else:
        key = f"nullif(trim(s.c{id_index}), '')"
        join = ""
    return (f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {staged.position_sql('s')} AS _rid, "
            f"{key} AS _key, "
            f"{', '.join(cols) or 'NULL AS _none'} FROM {staged.table} s{join}")


def _drop_blank_rows(cur: duckdb.DuckDBPyConnection, staged: StagedFile,
                     chosen: Mapping[str, int]) -> None:
    """Forget rows with every stored column empty (spreadsheets export them at the end).

    Deleting keeps the other rows' rowids, so their spreadsheet row numbers stay right.
    """
    if not chosen:
        return
    blank = " AND ".join(f"nullif(trim(c{i}), '') IS NULL" for i in chosen.values())
    cur.execute(f"DELETE FROM {staged.table} WHERE {blank}")


def _build_id_map(cur: duckdb.DuckDBPyConnection, staged: Mapping[str, StagedFile],
                  chosen: Mapping[str, Mapping[str, int]]) -> None:
    parts = [f"SELECT DISTINCT trim(c{chosen[k]['respondent_id']}) AS raw FROM {s.table}"
             for k, s in staged.items() if "respondent_id" in chosen[k]]
    raw = [r[0] for r in cur.execute(" UNION ".join(parts)).fetchall() if r[0]] if parts else []
    mapping = pseudonyms(raw)
    frame = pd.DataFrame({"raw": list(mapping.keys()), "pid": list(mapping.values())},
                         dtype="string")
    cur.register("id_map_frame", frame)
    cur.execute("CREATE OR REPLACE TEMP TABLE id_map AS "
                "SELECT CAST(raw AS VARCHAR) AS raw, CAST(pid AS VARCHAR) AS pid "
                "FROM id_map_frame")
    cur.unregister("id_map_frame")


def _file_summary(cur: duckdb.DuckDBPyConnection, view: FileView) -> FileSummary:
    cols = view.columns

    def distinct(column: str) -> str:
        if column not in cols:
            return "[]::VARCHAR[]"
        return (f"list(DISTINCT trim({q(column)}) ORDER BY trim({q(column)})) FILTER "
                f"(WHERE nullif(trim({q(column)}), '') IS NOT NULL)")

    rows, people, waves, sites = cur.execute(
        f"SELECT count(*), count(DISTINCT _key), {distinct('wave')}, {distinct('site')} "
        f"FROM {view.relation}").fetchone()
    return FileSummary(view.file_name, view.kind, int(rows), int(people),
                       tuple(waves or ()), tuple(sites or ()))


def _existing_key_problems(cur: duckdb.DuckDBPyConnection, view: FileView,
                           replace: bool) -> tuple[list[Problem], int]:
    """Survey pairs already stored: errors unless replacing. Returns (problems, count)."""
    if not {"respondent_id", "wave"} <= set(view.columns):
        return [], 0
    base = (f"SELECT v._rid, v.wave, s.upload_id FROM {view.relation} v JOIN {SURVEY_IN_SCOPE} s "
            f"ON s.respondent_id = v._key AND s.wave = trim(v.wave)")
    count = cur.execute(f"SELECT count(*) FROM ({base})").fetchone()[0]
    if not count or replace:
        return [], int(count)
    rows = cur.execute(
        f"SELECT {view.row_sql('_rid')}, wave, upload_id FROM ({base} ORDER BY v._rid "
        f"LIMIT {MAX_PER_CHECK})").fetchall()
    source = view.columns["respondent_id"]
    problems = [
        Problem(view.file_name, int(row), source, None, "a respondent and wave not yet stored",
                "error",
                f"this respondent already has a stored row for wave '{shown(wave)}' (upload "
                f"{upload}). Upload with 'replace' to overwrite it, or undo upload {upload} first")
        for row, wave, upload in rows
    ]
    if count > MAX_PER_CHECK:
        problems.append(Problem(view.file_name, None, source, None,
                                "a respondent and wave not yet stored", "error",
                                f"… and {count - MAX_PER_CHECK:,} more rows already stored"))
    return problems, int(count)


def _attendance_problems(cur: duckdb.DuckDBPyConnection, views: Mapping[str, FileView]
                         ) -> tuple[list[Problem], int]:
    """Warnings: sessions of people with no survey row; sessions already stored.

    Returns the problems and the number of sessions that will be skipped.
    """
    view = views["attendance"]
    if "respondent_id" not in view.columns or "session_date" not in view.columns:
        return [], 0
    known = f"SELECT respondent_id AS k FROM {SURVEY_IN_SCOPE}"
    if "survey" in views:
        known += f" UNION SELECT _key FROM {views['survey'].relation}"
    problems: list[Problem] = []
    row = cur.execute(
        f"SELECT count(*), count(DISTINCT _key), list(DISTINCT respondent_id)[1:5] "
        f"FROM {view.relation} WHERE _key IS NOT NULL AND _key NOT IN ({known})").fetchone()
    if row[0]:
        examples = ", ".join(str(x) for x in row[2])
        problems.append(Problem(
            view.file_name, None, view.columns["respondent_id"], None,
            "IDs that also appear in the survey", "warning",
            f"{row[0]:,} sessions of {row[1]:,} people have no survey row (e.g. {examples}); "
            "they are stored, and count once those people's survey rows arrive. Check the "
            "IDs are written the same way in both files"))
    skipped = cur.execute(_attendance_new_sql(view, count_skipped=True)).fetchone()[0]
    if skipped:
        problems.append(Problem(
            view.file_name, None, None, None, "sessions not yet stored", "warning",
            f"{skipped:,} sessions are already stored (same person, date and type) and will "
            "be skipped"))
    return problems, int(skipped)


def _attendance_new_sql(view: FileView, count_skipped: bool = False) -> str:
    cols = view.columns
    t = "nullif(trim(session_type), '')" if "session_type" in cols else "NULL::VARCHAR"
    m = "TRY_CAST(trim(duration_minutes) AS DOUBLE)" if "duration_minutes" in cols else \
        "NULL::DOUBLE"
    new = (f"SELECT _key AS respondent_id, TRY_CAST(trim(session_date) AS DATE) AS d, "
           f"{t} AS t, {m} AS m, row_number() OVER (PARTITION BY _key, "
           f"TRY_CAST(trim(session_date) AS DATE), {t} ORDER BY _rid) AS rn "
           f"FROM {view.relation}")
    old = ("SELECT respondent_id, session_date, session_type, count(*) AS n FROM attendance "
           "GROUP BY ALL")
    joined = (f"FROM ({new}) n LEFT JOIN ({old}) o ON o.respondent_id = n.respondent_id "
              f"AND o.session_date = n.d AND o.session_type IS NOT DISTINCT FROM n.t")
    if count_skipped:
        return f"SELECT count(*) {joined} WHERE n.rn <= coalesce(o.n, 0)"
    return f"SELECT n.respondent_id, n.d, n.t, n.m {joined} WHERE n.rn > coalesce(o.n, 0)"


def _scope_sites(cur: duckdb.DuckDBPyConnection, views: Mapping[str, FileView],
                 replace_count: int, summary: Mapping[str, FileSummary]
                 ) -> dict[str, set[str]]:
    """Sites each file touches (for the scope check and the upload log)."""
    sites: dict[str, set[str]] = {}
    if "survey" in views and "site" in views["survey"].columns:
        v = views["survey"]
        sites["survey"] = set(summary[v.file_name].sites)
        if replace_count:
            sites["survey"] |= {r[0] for r in cur.execute(
                f"SELECT DISTINCT s.site FROM {SURVEY_IN_SCOPE} s JOIN {v.relation} v ON "
                "s.respondent_id = v._key AND s.wave = trim(v.wave)").fetchall()}
    if "attendance" in views:
        v = views["attendance"]
        # UNION ALL: DISTINCT below removes repeats once, after the semi-join has kept
        # only the people in this attendance file (a UNION deduplicated every survey row).
        known = f"SELECT respondent_id AS k, site FROM {SURVEY_IN_SCOPE}"
        if "survey" in views and "site" in views["survey"].columns:
            known += (f" UNION ALL SELECT _key, trim(site) FROM {views['survey'].relation} "
                      "WHERE _key IS NOT NULL")
        sites["attendance"] = {r[0] for r in cur.execute(
            f"SELECT DISTINCT k.site FROM ({known}) k WHERE k.site IS NOT NULL AND k.k IN "
            f"(SELECT _key FROM {v.relation})").fetchall()}
    return sites


def _prepare(cur: duckdb.DuckDBPyConnection, files: Sequence[UploadFile], scope: Scope,
             pseudonymize: bool | None, replace: bool, workdir: str,
             progress: Progress | None = None) -> _Prepared:
    """Decode, stage, map, validate: everything but writing. Raises PermissionDenied."""
    report = progress or (lambda fraction, text: None)
    pseudonymized = _pseudonymize_setting(cur) if pseudonymize is None else bool(pseudonymize)
    by_kind = {f.kind: f for f in files}
    problems: list[Problem] = []
    decoded: dict[str, DecodedFile] = {}
    staged: dict[str, StagedFile] = {}
    chosen: dict[str, dict[str, int]] = {}
    unmapped: dict[str, tuple[str, ...]] = {}
    saved = {k: mappings.saved(cur, k, scope) for k in by_kind}
    for number, (kind, upload) in enumerate(by_kind.items()):
        report(0.05 + 0.25 * number / len(by_kind), f"Reading {upload.file_name}")
        d = decode(upload.data, upload.file_name, workdir)
        decoded[kind] = d
        problems.extend(d.problems)
        if not d.readable:
            continue
        s = stage(cur, d, f"stage_{kind}")
        problems.extend(s.problems)
        if s.failed:
            # DuckDB's reader gave up on the file: the cursor's transaction is aborted,
            # so nothing more can be checked. Refuse with what was found so far.
            return _unreadable_upload(files, decoded, problems)
        staged[kind] = s
        chosen[kind], unmapped[kind], mapping_problems = _resolve_mapping(upload, s.headers,
                                                                          saved[kind])
        problems.extend(mapping_problems)
    if pseudonymized and staged:
        missing_key = key_problem(cur, files[0].file_name)
        if missing_key is not None:
            return _unreadable_upload(files, decoded, problems + [missing_key])
        _build_id_map(cur, staged, chosen)
    views: dict[str, FileView] = {}
    for kind, s in staged.items():
        _drop_blank_rows(cur, s, chosen[kind])
        cur.execute(_view_sql(f"v_{kind}", s, chosen[kind], pseudonymized))
        views[kind] = FileView(
            by_kind[kind].file_name, kind, f"v_{kind}",
            {c: s.headers[i] for c, i in chosen[kind].items()},
            lambda rid, s=s: row_number_sql(s, rid), unmapped[kind])
    problems.extend(scoped.limit_to_scope(cur, scope, views))
    for view in views.values():
        problems.extend(label_problems(cur, view))
    summary = {}
    values: dict[str, dict[str, tuple[str, ...]]] = {}
    for number, (kind, view) in enumerate(views.items()):
        report(0.3 + 0.3 * number / len(views), f"Checking {view.file_name}")
        n_rows = cur.execute(f"SELECT count(*) FROM {view.relation}").fetchone()[0]
        problems.extend(validate_view(cur, view, n_rows, pseudonymized,
                                      values=values.setdefault(kind, {})))
        summary[view.file_name] = _file_summary(cur, view)
        if kind == "survey":
            problems.extend(_score_overlap_warnings(view))
    for kind, upload in by_kind.items():
        summary.setdefault(upload.file_name, FileSummary(upload.file_name, kind))
    replace_count = 0
    if "survey" in views:
        key_problems, replace_count = _existing_key_problems(cur, views["survey"], replace)
        problems.extend(key_problems)
        name = views["survey"].file_name
        summary[name] = _with(summary[name], replaced=replace_count if replace else 0)
    if "attendance" in views:
        att_problems, skipped = _attendance_problems(cur, views)
        problems.extend(att_problems)
        name = views["attendance"].file_name
        summary[name] = _with(summary[name], skipped=skipped)
    problems.extend(_pseudonymization_mismatch(cur, pseudonymized, files))
    sites = _scope_sites(cur, views, replace_count, summary)
    require(scope, "upload", set().union(*sites.values()) if sites else set())
    for kind, view in views.items():
        summary[view.file_name] = _with(summary[view.file_name],
                                        sites=tuple(sorted(sites.get(kind, ()))))
    return _Prepared(by_kind, decoded, staged, views, sort_problems(problems), summary,
                     {k: set(v.columns) for k, v in views.items()}, pseudonymized, values)


def _unreadable_upload(files: Sequence[UploadFile], decoded: Mapping[str, DecodedFile],
                       problems: list[Problem]) -> _Prepared:
    """A refusal for an upload that could not be read (nothing further is checked)."""
    if not has_errors(problems):
        names = ", ".join(f.file_name for f in files)
        problems = problems + [Problem(
            files[0].file_name, None, None, None, "a well-formed CSV or .xlsx file", "error",
            f"{names} could not be read as a table. Open the file in a spreadsheet program, "
            "save it again as CSV (UTF-8) and upload that.")]
    by_kind = {f.kind: f for f in files}
    summary = {f.file_name: FileSummary(f.file_name, f.kind) for f in files}
    return _Prepared(by_kind, dict(decoded), {}, {}, sort_problems(problems), summary, {},
                     False)


def _prepare_or_refuse(cur: duckdb.DuckDBPyConnection, files: Sequence[UploadFile],
                       scope: Scope, pseudonymize: bool | None, replace: bool, workdir: str,
                       progress: Progress | None = None) -> _Prepared:
    """:func:`_prepare`, with any DuckDB error caused by a file's content turned into a
    refusal (errors of the machine or the database, see ``SYSTEM_ERRORS``, propagate)."""
    try:
        return _prepare(cur, files, scope, pseudonymize, replace, workdir, progress)
    except SYSTEM_ERRORS:
        raise
    except duckdb.Error:
        _log.warning("upload of %s refused: a check failed inside DuckDB",
                     [f.file_name for f in files], exc_info=True)
        return _unreadable_upload(files, {}, [])


def _with(summary: FileSummary, **changes: object) -> FileSummary:
    from dataclasses import replace as dc_replace  # noqa: PLC0415
    return dc_replace(summary, **changes)


def _score_overlap_warnings(view: FileView) -> list[Problem]:
    out = []
    for scale in SCALES:
        if scale.key in view.columns and any(c in view.columns for c in scale.item_columns):
            out.append(Problem(
                view.file_name, None, view.columns[scale.key], None,
                "either items or a score for a scale", "warning",
                f"the file has both items and a score for {scale.label}; the score is "
                "computed from the items and the uploaded score is not stored"))
    return out


def _pseudonymization_mismatch(cur: duckdb.DuckDBPyConnection, pseudonymized: bool,
                               files: Sequence[UploadFile]) -> list[Problem]:
    row = cur.execute(
        "SELECT count(*) FILTER (WHERE pseudonymized), count(*) FILTER (WHERE NOT "
        "pseudonymized) FROM uploads WHERE status = 'applied' AND NOT is_sample").fetchone()
    other = row[1] if pseudonymized else row[0]
    if not other:
        return []
    was = "without" if pseudonymized else "with"
    return [Problem(files[0].file_name, None, None, None,
                    "the same pseudonymization setting for every upload", "warning",
                    f"{other} stored upload{'s were' if other != 1 else ' was'} stored {was} "
                    "pseudonymization, so their IDs will not match the IDs of this upload")]


# ---------------------------------------------------------------------- validation


def validate_upload(store: Store, files: Sequence[UploadFile], scope: Scope,
                    pseudonymize: bool | None = None, *, replace: bool = False
                    ) -> ValidationReport:
    """Check an upload against the contract and the stored data; nothing is written.

    A file whose exact bytes are already stored (an applied upload with the same SHA-256)
    is skipped, as :func:`ingest` skips it: its summary has ``unchanged=True`` and the
    upload number, and one warning says so. A file that cannot be read is a refusal
    problem, never an exception.

    Raises
    ------
    PermissionDenied
        When the scope may not upload, or the files touch sites outside it.
    StoreUnavailable
        When the database cannot be read.
    """
    require(scope, "upload")
    _check_kinds(files)
    with _store_errors(store), \
            tempfile.TemporaryDirectory(prefix="ppi_upload_") as workdir, \
            store.cursor() as cur:
        applied = _already_applied(cur, files)
        skipped = _unchanged_warnings(cur, files)
        todo = [f for f in files if f.file_name not in applied]
        summary: dict[str, FileSummary] = {}
        problems: list[Problem] = list(skipped)
        if todo:
            prepared = _prepare_or_refuse(cur, todo, scope, pseudonymize, replace, workdir)
            summary.update(prepared.summary)
            problems += prepared.problems
    for f in files:
        if f.file_name in applied:
            summary[f.file_name] = FileSummary(f.file_name, f.kind, unchanged=True,
                                               upload_id=applied[f.file_name][0])
    summary = {f.file_name: summary[f.file_name] for f in files if f.file_name in summary}
    problems = sort_problems(problems)
    return ValidationReport(tuple(problems), not has_errors(problems), summary)


def already_stored(store: Store, files: Sequence[UploadFile]) -> tuple[str, ...]:
    """Names of the files whose exact bytes (SHA-256) are already stored by an applied
    upload: :func:`ingest` skips them and :func:`validate_upload` reports them unchanged."""
    with _store_errors(store), store.cursor() as cur:
        applied = _already_applied(cur, files)
    return tuple(f.file_name for f in files if f.file_name in applied)


def _already_applied(cur: duckdb.DuckDBPyConnection,
                     files: Sequence[UploadFile]) -> dict[str, tuple[int, datetime]]:
    out = {}
    for f in files:
        row = cur.execute(
            "SELECT upload_id, created_at FROM uploads WHERE sha256 = ? AND status = "
            "'applied' ORDER BY upload_id LIMIT 1", [f.sha256]).fetchone()
        if row:
            out[f.file_name] = (int(row[0]), row[1])
    return out


def _unchanged_warnings(cur: duckdb.DuckDBPyConnection,
                        files: Sequence[UploadFile]) -> list[Problem]:
    return [Problem(name, None, None, None, "a file not uploaded before", "warning",
                    f"this exact file is already stored (upload {upload_id}, "
                    f"{created:%Y-%m-%d %H:%M}); uploading it again changes nothing")
            for name, (upload_id, created) in _already_applied(cur, files).items()]


# --------------------------------------------------------------------------- ingest


@contextmanager
def _store_errors(store: Store) -> Iterator[None]:
    """Turn a database or file-system failure (full disk, lost file, ...) into
    :class:`~analysis.storage.store.StoreUnavailable` with the store's plain message.

    Used outside ``store.transaction()``, so the transaction has been rolled back (nothing
    half-written) by the time the error is translated.
    """
    try:
        yield
    except StoreUnavailable:
        raise
    except (duckdb.Error, OSError) as error:
        raise StoreUnavailable(_explain_open_error(store.path, error)) from error


class _Refused(Exception):
    def __init__(self, prepared: _Prepared) -> None:
        super().__init__("refused")
        self.prepared = prepared


def ingest(store: Store, files: Sequence[UploadFile], scope: Scope, *, replace: bool = False,
           pseudonymize: bool | None = None, is_sample: bool = False,
           progress: Progress | None = None) -> IngestResult:
    """Validate and store an upload, all files or nothing.

    Parameters
    ----------
    store : Store
    files : sequence of UploadFile
        One survey file, one attendance file, or both.
    scope : Scope
        Needs ``upload`` on every site the files touch.
    replace : bool
        Replace stored survey rows with the same (respondent_id, wave).
    pseudonymize : bool or None
        Hash IDs before storage; None (the default) follows the installation's setting,
        which is on unless an administrator switched it off.
    is_sample : bool
        Marks the sample data (removable with :func:`remove_sample`).
    progress : callable, optional
        Called with (fraction 0–1, what is happening).

    Returns
    -------
    IngestResult
        ``refused`` with the problems when any error was found (nothing written),
        ``unchanged`` when every file was already stored, else ``applied``.

    Raises
    ------
    PermissionDenied
        Outside the scope (audited).
    StoreUnavailable
        The database could not be written (a full disk, a lost file ...): the
        transaction was rolled back, nothing was changed, and the message says so.
    """
    report = progress or (lambda fraction, text: None)
    require(scope, "upload")
    _check_kinds(files)
    try:
        with _store_errors(store), \
                tempfile.TemporaryDirectory(prefix="ppi_upload_") as workdir, \
                store.transaction() as cur:
            applied = _already_applied(cur, files)
            todo = [f for f in files if f.file_name not in applied]
            skipped = _unchanged_warnings(cur, files)
            if not todo:
                report(1.0, "Already stored")
                summary = {f.file_name: FileSummary(f.file_name, f.kind, unchanged=True,
                                                    upload_id=applied[f.file_name][0])
                           for f in files}
                return IngestResult("unchanged", (), None, tuple(skipped), summary)
            prepared = _prepare_or_refuse(cur, todo, scope, pseudonymize, replace, workdir,
                                          report)
            prepared.problems = sort_problems(prepared.problems + skipped)
            if has_errors(prepared.problems):
                raise _Refused(prepared)
            result = _write(cur, prepared, scope, replace, is_sample, report)
            for f in files:
                if f.file_name in applied:
                    result.summary[f.file_name] = FileSummary(
                        f.file_name, f.kind, unchanged=True, upload_id=applied[f.file_name][0])
    except _Refused as refused:
        report(1.0, "Refused")
        p = refused.prepared
        return IngestResult("refused", (), None, tuple(p.problems), p.summary)
    except PermissionDenied as denied:
        with _store_errors(store), store.transaction() as cur:
            audit.record(cur, scope.user, "upload", "refused",
                         {"files": [f.file_name for f in files], "reason": str(denied)})
        raise
    report(1.0, "Done")
    return result


def _insert_upload_row(cur: duckdb.DuckDBPyConnection, batch_id: int, upload: UploadFile,
                       summary: FileSummary, scope: Scope, is_sample: bool,
                       pseudonymized: bool, n_warnings: int) -> int:
    upload_id = cur.execute("SELECT nextval('upload_seq')").fetchone()[0]
    cur.execute(
        "INSERT INTO uploads (upload_id, batch_id, kind, file_name, sha256, n_rows, created_at, "
        "status, is_sample, uploaded_by, sites, n_replaced, pseudonymized, n_warnings) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'applied', ?, ?, ?, ?, ?, ?)",
        [upload_id, batch_id, upload.kind, upload.file_name, upload.sha256, summary.rows,
         _now(), is_sample, scope.user, list(summary.sites), summary.replaced, pseudonymized,
         n_warnings])
    return int(upload_id)


def _survey_insert_sql(view: FileView, values: Mapping[str, Sequence[str]] | None = None
                       ) -> list[tuple[str, dict]]:
    """Statements (with parameters) storing a staged survey: item code tables, then one
    INSERT ... SELECT (parameter ``upload_id`` to be added by the caller).

    Answers repeat, so each instrument's distinct answers are coded once
    (:func:`~analysis.definitions.instruments.item_code_sql` over a small table) and joined back:
    three times faster than coding a million rows cell by cell. The distinct answers are
    the ones validation listed (``values``, column → distinct values) when it listed
    every item column of the instrument; otherwise they are read from the staged table.
    """
    present = set(view.columns)
    values = values or {}
    statements: list[tuple[str, dict]] = []
    names: list[str] = []
    inner: list[str] = []
    joins: list[str] = []
    for column in columns_for("survey"):
        if column.name not in present:
            continue
        c = q(column.name)
        if column.name == "respondent_id":
            expr = "v._key"
        elif column.kind == "date":
            expr = f"TRY_CAST(trim(v.{c}) AS DATE)"
        else:
            expr = f"nullif(trim(v.{c}), '')"
        inner.append(f"{expr} AS {c}")
        names.append(column.name)
    outer = [q(n) for n in names]
    for inst in INSTRUMENTS:
        items = [col for col in inst.item_columns if col in present]
        if not items:
            continue
        table = f"codes_{inst.key}"
        code = f"CAST(({item_code_sql(inst, 'raw')}) AS TINYINT) AS code"
        if all(col in values for col in items):
            answers = sorted({v for col in items for v in values[col] if v is not None})
            statements.append((
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT raw, {code} FROM "
                "(SELECT CAST(unnest($answers) AS VARCHAR) AS raw)", {"answers": answers}))
        else:
            distinct = " UNION ".join(f"SELECT DISTINCT {q(col)} AS raw FROM {view.relation}"
                                      for col in items)
            statements.append((
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT raw, {code} FROM "
                f"({distinct}) WHERE raw IS NOT NULL", {}))
        for number, col in enumerate(items):
            alias = f"j_{inst.key}_{number}"
            joins.append(f"LEFT JOIN {table} {alias} ON {alias}.raw = v.{q(col)}")
            inner.append(f"{alias}.code AS {q(col)}")
            names.append(col)
            outer.append(q(col))
    for scale in SCALES:
        if any(c in present for c in scale.item_columns):
            expr = scale_score_sql(scale, lambda c: q(c) if c in present else "NULL")
        elif scale.key in present:
            expr = q(scale.key)
            inner.append(f"TRY_CAST(trim(v.{q(scale.key)}) AS DOUBLE) AS {q(scale.key)}")
        else:
            continue
        names.append(scale.key)
        outer.append(f"{expr} AS {q(scale.key)}")
    statements.append((
        f"INSERT INTO survey (upload_id, {', '.join(q(n) for n in names)}) "
        f"SELECT $upload_id, {', '.join(outer)} FROM "
        f"(SELECT {', '.join(inner)} FROM {view.relation} v {' '.join(joins)}) coded", {}))
    return statements


def _write(cur: duckdb.DuckDBPyConnection, prepared: _Prepared, scope: Scope, replace: bool,
           is_sample: bool, report: Progress) -> IngestResult:
    batch_id = int(cur.execute("SELECT nextval('batch_seq')").fetchone()[0])
    upload_ids: list[int] = []
    summary = dict(prepared.summary)
    warnings_by_file: dict[str, int] = {}
    for p in prepared.problems:
        if p.severity == "warning":
            warnings_by_file[p.file] = warnings_by_file.get(p.file, 0) + 1
    if "survey" in prepared.views:
        report(0.65, "Storing survey rows")
        view = prepared.views["survey"]
        upload = prepared.files["survey"]
        s = summary[view.file_name]
        upload_id = _insert_upload_row(cur, batch_id, upload, s, scope, is_sample,
                                       prepared.pseudonymized,
                                       warnings_by_file.get(view.file_name, 0))
        moved = 0
        if replace and s.replaced:
            cur.execute("CREATE OR REPLACE TEMP TABLE new_keys AS SELECT DISTINCT _key AS k, "
                        f"trim(wave) AS w FROM {view.relation}")
            in_scope = f"s.site IN (SELECT DISTINCT site FROM {SURVEY_IN_SCOPE})"
            cur.execute("INSERT INTO survey_replaced SELECT ?, s.* FROM survey s WHERE EXISTS "
                        "(SELECT 1 FROM new_keys n WHERE n.k = s.respondent_id AND "
                        f"n.w = s.wave) AND {in_scope}", [upload_id])
            moved = cur.execute("SELECT count(*) FROM survey_replaced WHERE replaced_by = ?",
                                [upload_id]).fetchone()[0]
            cur.execute("DELETE FROM survey s USING new_keys n WHERE n.k = s.respondent_id "
                        f"AND n.w = s.wave AND {in_scope}")
            cur.execute("UPDATE uploads SET n_replaced = ? WHERE upload_id = ?",
                        [moved, upload_id])
        *prepare, (insert, _) = _survey_insert_sql(view, prepared.values.get("survey"))
        for statement, params in prepare:
            cur.execute(statement, params)
        cur.execute(insert, {"upload_id": upload_id})
        wave_problems = waves.register(cur, upload_id, scope, view.file_name)
        if wave_problems:
            prepared.problems = sort_problems(prepared.problems + wave_problems)
            raise _Refused(prepared)
        summary[view.file_name] = _with(s, replaced=int(moved), upload_id=upload_id)
        upload_ids.append(upload_id)
    if "attendance" in prepared.views:
        report(0.85, "Storing attendance sessions")
        view = prepared.views["attendance"]
        upload = prepared.files["attendance"]
        s = summary[view.file_name]
        upload_id = _insert_upload_row(cur, batch_id, upload, s, scope, is_sample,
                                       prepared.pseudonymized,
                                       warnings_by_file.get(view.file_name, 0))
        _insert_attendance(cur, view, upload_id)
        summary[view.file_name] = _with(s, upload_id=upload_id)
        upload_ids.append(upload_id)
    audit.record(cur, scope.user, "upload", "ok", {
        "batch_id": batch_id,
        "uploads": [{"upload_id": s.upload_id, "kind": s.kind, "file": s.file_name,
                     "rows": s.rows, "replaced": s.replaced, "skipped": s.skipped}
                    for s in summary.values() if s.upload_id is not None],
        "replace": replace, "pseudonymized": prepared.pseudonymized, "is_sample": is_sample,
    })
    return IngestResult("applied", tuple(upload_ids), batch_id, tuple(prepared.problems),
                        summary)


def _insert_attendance(cur: duckdb.DuckDBPyConnection, view: FileView, upload_id: int) -> None:
    """Store new sessions (those already stored are skipped; see the module notes)."""
    cur.execute(
        "INSERT INTO attendance (upload_id, respondent_id, session_date, session_type, "
        f"duration_minutes) SELECT ?, * FROM ({_attendance_new_sql(view)})", [upload_id])


# ----------------------------------------------------------------------------- undo


def undo(store: Store, upload_id: int, scope: Scope) -> UndoResult:
    """Take one upload out whole: its rows deleted, rows it replaced restored.

    Raises
    ------
    UploadNotFound
        No such upload, or it is not applied (already undone).
    PermissionDenied
        The upload touches sites outside the scope (audited).
    StoreUnavailable
        The database could not be written (e.g. the disk is full); nothing was changed.
    """
    require(scope, "undo")
    try:
        with _store_errors(store), store.transaction() as cur:
            return _undo(cur, int(upload_id), scope)
    except PermissionDenied as denied:
        with _store_errors(store), store.transaction() as cur:
            audit.record(cur, scope.user, "undo", "refused",
                         {"upload_id": upload_id, "reason": str(denied)})
        raise


def _undo(cur: duckdb.DuckDBPyConnection, upload_id: int, scope: Scope) -> UndoResult:
    row = cur.execute("SELECT kind, file_name, status, coalesce(sites, []), uploaded_by "
                      "FROM uploads WHERE upload_id = ?", [upload_id]).fetchone()
    if row is None:
        raise UploadNotFound(f"There is no upload number {upload_id}.")
    kind, file_name, state, sites, uploaded_by = row
    scoped.require_undo(scope, sites, uploaded_by)
    if state != "applied":
        raise UploadNotFound(f"Upload {upload_id} ({file_name}) is already {state}.")
    removed = restored = 0
    if kind == "survey":
        removed = cur.execute("SELECT count(*) FROM survey WHERE upload_id = ?",
                              [upload_id]).fetchone()[0]
        cur.execute("DELETE FROM survey WHERE upload_id = ?", [upload_id])
        # Its rows that a later upload replaced go with it.
        cur.execute("DELETE FROM survey_replaced WHERE upload_id = ?", [upload_id])
        # Rows it replaced whose pair a later upload now holds: hand them to that upload.
        cur.execute("UPDATE survey_replaced r SET replaced_by = s.upload_id FROM survey s "
                    "WHERE r.replaced_by = ? AND s.respondent_id = r.respondent_id AND "
                    "s.wave = r.wave", [upload_id])
        restored = cur.execute("SELECT count(*) FROM survey_replaced WHERE replaced_by = ?",
                               [upload_id]).fetchone()[0]
        cur.execute("INSERT INTO survey SELECT * EXCLUDE (replaced_by) FROM survey_replaced "
                    "WHERE replaced_by = ?", [upload_id])
        cur.execute("DELETE FROM survey_replaced WHERE replaced_by = ?", [upload_id])
    else:
        removed = cur.execute("SELECT count(*) FROM attendance WHERE upload_id = ?",
                              [upload_id]).fetchone()[0]
        cur.execute("DELETE FROM attendance WHERE upload_id = ?", [upload_id])
    cur.execute("UPDATE uploads SET status = 'undone', undone_at = ?, undone_by = ? "
                "WHERE upload_id = ?", [_now(), scope.user, upload_id])
    audit.record(cur, scope.user, "undo", "ok", {
        "upload_id": upload_id, "kind": kind, "file": file_name, "rows_removed": removed,
        "rows_restored": restored})
    return UndoResult(upload_id, kind, file_name, int(removed), int(restored))


# -------------------------------------------------------------------- history/status


HISTORY_COLUMNS = ("upload_id", "batch_id", "kind", "file_name", "created_at", "status",
                   "n_rows", "n_replaced", "n_warnings", "sites", "uploaded_by", "is_sample",
                   "pseudonymized", "undone_at", "undone_by", "sha256")


def _visible(sites: Sequence[str] | None, uploaded_by: str, scope: Scope,
             is_sample: bool = False) -> bool:
    """An upload is listed when all its sites are in scope, the viewer made it, or it is
    the (synthetic) sample data."""
    if scope.practices is None or is_sample:
        return True
    sites = list(sites) if sites is not None else []
    if not sites:
        return uploaded_by == scope.user
    return all(scope.sees_site(s) for s in sites)


def history(store: Store, scope: Scope) -> pd.DataFrame:
    """Uploads the scope may see, newest first.

    A practice manager sees uploads whose sites are all theirs, their own uploads and the
    sample data (which they may not undo unless every sample site is theirs).
    """
    require(scope, "view")
    with store.cursor() as cur:
        frame = cur.execute(
            f"SELECT {', '.join(HISTORY_COLUMNS)} FROM uploads ORDER BY upload_id DESC").df()
    if scope.practices is not None and len(frame):
        keep = [_visible(s, u, scope, bool(x)) for s, u, x in
                zip(frame["sites"], frame["uploaded_by"], frame["is_sample"])]
        frame = frame[keep].reset_index(drop=True)
    return frame


def status(store: Store, scope: Scope) -> StoreStatus:
    """What is stored, as ``scope`` may see it."""
    require(scope, "view")
    sites = scope.site_list()
    with store.cursor() as cur:
        where = "" if sites is None else "WHERE list_contains($sites, site)"
        params = {} if sites is None else {"sites": sites}
        rows, people, waves, site_list = cur.execute(
            f"SELECT count(*), count(DISTINCT respondent_id), list(DISTINCT wave ORDER BY wave), "
            f"list(DISTINCT site ORDER BY site) FROM survey {where}", params).fetchone()
        if sites is None:
            sessions = cur.execute("SELECT count(*) FROM attendance").fetchone()[0]
        else:
            sessions = cur.execute(
                "SELECT count(*) FROM attendance WHERE respondent_id IN (SELECT respondent_id "
                "FROM survey WHERE list_contains($sites, site))", params).fetchone()[0]
        uploads = cur.execute(
            "SELECT upload_id, sites, uploaded_by, is_sample, created_at FROM uploads "
            "WHERE status = 'applied'").fetchall()
    visible = [u for u in uploads if _visible(u[1], u[2], scope, bool(u[3]))]
    return StoreStatus(
        len(visible), int(rows), int(sessions), int(people), tuple(waves or ()),
        tuple(site_list or ()), any(u[3] for u in visible),
        max((u[4] for u in visible), default=None))


def has_data(store: Store) -> bool:
    """Whether any survey row is stored (sample or real)."""
    with store.cursor() as cur:
        return cur.execute("SELECT EXISTS (SELECT 1 FROM survey)").fetchone()[0]


def has_sample(store: Store) -> bool:
    """Whether the sample data is loaded."""
    with store.cursor() as cur:
        return cur.execute("SELECT EXISTS (SELECT 1 FROM uploads WHERE is_sample AND "
                           "status = 'applied')").fetchone()[0]


def load_sample(store: Store, scope: Scope, progress: Progress | None = None) -> IngestResult:
    """Load ``data/sample/survey.csv`` and ``attendance.csv``, marked as sample data."""
    files = [UploadFile.from_path("survey", SAMPLE_DIR / "survey.csv"),
             UploadFile.from_path("attendance", SAMPLE_DIR / "attendance.csv")]
    return ingest(store, files, scope, is_sample=True, pseudonymize=False, progress=progress)


def remove_sample(store: Store, scope: Scope) -> int:
    """Take the sample data out (every sample upload undone) and keep it from coming back.

    Returns the number of uploads taken out. Raises StoreUnavailable when the database
    could not be written (nothing was changed).
    """
    require(scope, "undo")
    with _store_errors(store), store.transaction() as cur:
        ids = [r[0] for r in cur.execute(
            "SELECT upload_id FROM uploads WHERE is_sample AND status = 'applied' "
            "ORDER BY upload_id DESC").fetchall()]
        for upload_id in ids:
            _undo(cur, int(upload_id), scope)
        cur.execute("INSERT OR REPLACE INTO settings VALUES ('sample_dismissed', '1')")
        audit.record(cur, scope.user, "remove_sample", "ok", {"uploads": ids})
    return len(ids)


def summary_json(result: IngestResult) -> str:
    """The result's counts as JSON (for logs and scripts)."""
    return json.dumps({name: s.__dict__ for name, s in result.summary.items()}, default=str)
