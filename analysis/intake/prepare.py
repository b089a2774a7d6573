"""Everything an upload needs before writing: decode, stage, map, validate, check scope.

Each file is decoded (:mod:`analysis.intake.readers`) and read by DuckDB into a temporary
table of text columns (:mod:`analysis.intake.staging`); headers are mapped to the contract's canonical names
(:mod:`analysis.intake.mapping`); a temporary view per file gives the canonical columns
and the respondent key as it will be stored (pseudonymized when asked). Validation
(:mod:`analysis.intake.validate`) runs over those views, then the checks against the
stored data (:mod:`analysis.intake.stored_checks`). Nothing is written to stored tables.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from analysis.access.scope import Scope, require
from analysis.definitions.scoring_sql import quote_identifier as q
from analysis.intake.mapping import resolve_mapping
from analysis.intake.problems import Problem, has_errors, sort_problems
from analysis.intake.pseudonymize import pseudonyms
from analysis.intake.readers import DecodedFile, decode
from analysis.intake.staging import SYSTEM_ERRORS, StagedFile, row_number_sql, stage
from analysis.intake.stored_checks import (
    attendance_problems,
    existing_key_problems,
    pseudonymization_mismatch,
    scope_sites,
    score_overlap_warnings,
)
from analysis.intake.validate import FileView, validate_view
from analysis.intake.values import KINDS, FileSummary, Progress, UploadFile, with_changes
from analysis.storage.store import first, read_settings, single_value

_log = logging.getLogger(__name__)


@dataclass
class Prepared:
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


def pseudonymize_setting(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether the installation's setting says every upload is pseudonymized."""
    return read_settings(cur).get("pseudonymize", "").strip() == "1"


def check_kinds(files: Sequence[UploadFile]) -> None:
    kinds = [f.kind for f in files]
    if not files:
        raise ValueError("no file to upload: give a survey file, an attendance file or both")
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"unknown file kind: {kind!r}")
    if len(set(kinds)) != len(kinds):
        raise ValueError("one upload takes at most one survey file and one attendance file")


def view_sql(name: str, staged: StagedFile, chosen: Mapping[str, int],
              pseudonymized: bool) -> str:
    cols = [f"s.c{index} AS {q(canonical)}" for canonical, index in chosen.items()]
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


def drop_blank_rows(cur: duckdb.DuckDBPyConnection, staged: StagedFile,
                     chosen: Mapping[str, int]) -> None:
    """Forget rows with every stored column empty (spreadsheets export them at the end).

    Deleting keeps the other rows' rowids, so their spreadsheet row numbers stay right.
    """
    if not chosen:
        return
    blank = " AND ".join(f"nullif(trim(c{i}), '') IS NULL" for i in chosen.values())
    cur.execute(f"DELETE FROM {staged.table} WHERE {blank}")


def build_id_map(cur: duckdb.DuckDBPyConnection, staged: Mapping[str, StagedFile],
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


def file_summary(cur: duckdb.DuckDBPyConnection, view: FileView) -> FileSummary:
    cols = view.columns

    def distinct(column: str) -> str:
        if column not in cols:
            return "[]::VARCHAR[]"
        return (f"list(DISTINCT trim({q(column)}) ORDER BY trim({q(column)})) FILTER "
                f"(WHERE nullif(trim({q(column)}), '') IS NOT NULL)")

    rows, people, waves, sites = first(
        cur, f"SELECT count(*), count(DISTINCT _key), {distinct('wave')}, {distinct('site')} "
        f"FROM {view.relation}")
    return FileSummary(view.file_name, view.kind, int(rows), int(people),
                       tuple(waves or ()), tuple(sites or ()))


def prepare(cur: duckdb.DuckDBPyConnection, files: Sequence[UploadFile], scope: Scope,
             pseudonymize: bool | None, replace: bool, workdir: str,
             progress: Progress | None = None) -> Prepared:
    """Decode, stage, map, validate: everything but writing. Raises PermissionDenied."""
    report = progress or (lambda fraction, text: None)
    pseudonymized = bool(pseudonymize) or pseudonymize_setting(cur)
    by_kind = {f.kind: f for f in files}
    problems: list[Problem] = []
    decoded: dict[str, DecodedFile] = {}
    staged: dict[str, StagedFile] = {}
    chosen: dict[str, dict[str, int]] = {}
    unmapped: dict[str, tuple[str, ...]] = {}
    saved = {k: dict(cur.execute(
        "SELECT source_header, canonical FROM column_mappings WHERE kind = ?", [k]
    ).fetchall()) for k in by_kind}
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
            return unreadable_upload(files, decoded, problems)
        staged[kind] = s
        chosen[kind], unmapped[kind], mapping_problems = resolve_mapping(upload, s.headers,
                                                                          saved[kind])
        problems.extend(mapping_problems)
    if pseudonymized and staged:
        build_id_map(cur, staged, chosen)
    views: dict[str, FileView] = {}
    for kind, s in staged.items():
        drop_blank_rows(cur, s, chosen[kind])
        cur.execute(view_sql(f"v_{kind}", s, chosen[kind], pseudonymized))
        views[kind] = FileView(
            by_kind[kind].file_name, kind, f"v_{kind}",
            {c: s.headers[i] for c, i in chosen[kind].items()},
            lambda rid, s=s: row_number_sql(s, rid), unmapped[kind])
    summary = {}
    values: dict[str, dict[str, tuple[str, ...]]] = {}
    for number, (kind, view) in enumerate(views.items()):
        report(0.3 + 0.3 * number / len(views), f"Checking {view.file_name}")
        n_rows = single_value(cur, f"SELECT count(*) FROM {view.relation}")
        problems.extend(validate_view(cur, view, n_rows, pseudonymized,
                                      values=values.setdefault(kind, {})))
        summary[view.file_name] = file_summary(cur, view)
        if kind == "survey":
            problems.extend(score_overlap_warnings(view))
    for kind, upload in by_kind.items():
        summary.setdefault(upload.file_name, FileSummary(upload.file_name, kind))
    replace_count = 0
    if "survey" in views:
        key_problems, replace_count = existing_key_problems(cur, views["survey"], replace)
        problems.extend(key_problems)
        name = views["survey"].file_name
        summary[name] = with_changes(summary[name], replaced=replace_count if replace else 0)
    if "attendance" in views:
        att_problems, skipped = attendance_problems(cur, views)
        problems.extend(att_problems)
        name = views["attendance"].file_name
        summary[name] = with_changes(summary[name], skipped=skipped)
    problems.extend(pseudonymization_mismatch(cur, pseudonymized, files))
    sites = scope_sites(cur, views, replace_count, summary)
    require(scope, "upload", set().union(*sites.values()) if sites else set())
    for kind, view in views.items():
        summary[view.file_name] = with_changes(summary[view.file_name],
                                        sites=tuple(sorted(sites.get(kind, ()))))
    return Prepared(by_kind, decoded, staged, views, sort_problems(problems), summary,
                     {k: set(v.columns) for k, v in views.items()}, pseudonymized, values)


def unreadable_upload(files: Sequence[UploadFile], decoded: Mapping[str, DecodedFile],
                       problems: list[Problem]) -> Prepared:
    """A refusal for an upload that could not be read (nothing further is checked)."""
    if not has_errors(problems):
        names = ", ".join(f.file_name for f in files)
        problems = problems + [Problem(
            files[0].file_name, None, None, None, "a well-formed CSV or .xlsx file", "error",
            f"{names} could not be read as a table. Open the file in a spreadsheet program, "
            "save it again as CSV (UTF-8) and upload that.")]
    by_kind = {f.kind: f for f in files}
    summary = {f.file_name: FileSummary(f.file_name, f.kind) for f in files}
    return Prepared(by_kind, dict(decoded), {}, {}, sort_problems(problems), summary, {},
                     False)


def prepare_or_refuse(cur: duckdb.DuckDBPyConnection, files: Sequence[UploadFile],
                       scope: Scope, pseudonymize: bool | None, replace: bool, workdir: str,
                       progress: Progress | None = None) -> Prepared:
    """:func:`prepare`, with any DuckDB error caused by a file's content turned into a
    refusal (errors of the machine or the database, see ``SYSTEM_ERRORS``, propagate)."""
    try:
        return prepare(cur, files, scope, pseudonymize, replace, workdir, progress)
    except SYSTEM_ERRORS:
        raise
    except duckdb.Error:
        _log.warning("upload of %s refused: a check failed inside DuckDB",
                     [f.file_name for f in files], exc_info=True)
        return unreadable_upload(files, {}, [])
