"""The write of an upload: every file of it in the caller's ONE transaction.

``INSERT ... SELECT`` from the staged views of :mod:`analysis.intake.prepare`: item
answers turned into codes by :func:`~analysis.definitions.scoring_sql.item_code_sql` and
scale scores computed from those codes by
:func:`~analysis.definitions.scoring_sql.scale_score_sql` in the same statement.
Uploaded scored columns (e.g. ``mbi_ee``) are stored when the scale's items are absent;
columns outside the contract are never stored. Survey rows an upload replaces move to
``survey_replaced`` so that undoing it restores them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb

from analysis.access.scope import Scope
from analysis.definitions.contract import columns_for
from analysis.definitions.instruments import INSTRUMENTS, SCALES
from analysis.definitions.scoring_sql import item_code_sql, scale_score_sql
from analysis.definitions.scoring_sql import quote_identifier as q
from analysis.intake.prepare import Prepared
from analysis.intake.stored_checks import attendance_new_sql
from analysis.intake.validate import FileView
from analysis.intake.values import FileSummary, IngestResult, Progress, UploadFile, now, with_changes
from analysis.storage import audit
from analysis.storage.store import single_value


def insert_upload_row(cur: duckdb.DuckDBPyConnection, batch_id: int, upload: UploadFile,
                       summary: FileSummary, scope: Scope, is_sample: bool,
                       pseudonymized: bool, n_warnings: int) -> int:
    upload_id = single_value(cur, "SELECT nextval('upload_seq')")
    cur.execute(
        "INSERT INTO uploads (upload_id, batch_id, kind, file_name, sha256, n_rows, created_at, "
        "status, is_sample, uploaded_by, sites, n_replaced, pseudonymized, n_warnings) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'applied', ?, ?, ?, ?, ?, ?)",
        [upload_id, batch_id, upload.kind, upload.file_name, upload.sha256, summary.rows,
         now(), is_sample, scope.user, list(summary.sites), summary.replaced, pseudonymized,
         n_warnings])
    return int(upload_id)


def survey_insert_sql(view: FileView, values: Mapping[str, Sequence[str]] | None = None
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
                (f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT raw, {code} FROM "
                "(SELECT CAST(unnest($answers) AS VARCHAR) AS raw)"), {"answers": answers}))
        else:
            distinct = " UNION ".join(f"SELECT DISTINCT {q(col)} AS raw FROM {view.relation}"
                                      for col in items)
            statements.append((
                (f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT raw, {code} FROM "
                f"({distinct}) WHERE raw IS NOT NULL"), {}))
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
        (f"INSERT INTO survey (upload_id, {', '.join(q(n) for n in names)}) "
        f"SELECT $upload_id, {', '.join(outer)} FROM "
        f"(SELECT {', '.join(inner)} FROM {view.relation} v {' '.join(joins)}) coded"), {}))
    return statements


def write(cur: duckdb.DuckDBPyConnection, prepared: Prepared, scope: Scope, replace: bool,
           is_sample: bool, report: Progress) -> IngestResult:
    batch_id = int(single_value(cur, "SELECT nextval('batch_seq')"))
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
        upload_id = insert_upload_row(cur, batch_id, upload, s, scope, is_sample,
                                       prepared.pseudonymized,
                                       warnings_by_file.get(view.file_name, 0))
        moved = 0
        if replace and s.replaced:
            cur.execute("CREATE OR REPLACE TEMP TABLE new_keys AS SELECT DISTINCT _key AS k, "
                        f"trim(wave) AS w FROM {view.relation}")
            cur.execute("INSERT INTO survey_replaced SELECT ?, s.* FROM survey s WHERE EXISTS "
                        "(SELECT 1 FROM new_keys n WHERE n.k = s.respondent_id AND "
                        "n.w = s.wave)", [upload_id])
            moved = single_value(cur, "SELECT count(*) FROM survey_replaced WHERE replaced_by = ?",
                                 [upload_id])
            cur.execute("DELETE FROM survey s USING new_keys n WHERE n.k = s.respondent_id "
                        "AND n.w = s.wave")
            cur.execute("UPDATE uploads SET n_replaced = ? WHERE upload_id = ?",
                        [moved, upload_id])
        *prepare, (insert, _) = survey_insert_sql(view, prepared.values.get("survey"))
        for statement, params in prepare:
            cur.execute(statement, params)
        cur.execute(insert, {"upload_id": upload_id})
        summary[view.file_name] = with_changes(s, replaced=int(moved), upload_id=upload_id)
        upload_ids.append(upload_id)
    if "attendance" in prepared.views:
        report(0.85, "Storing attendance sessions")
        view = prepared.views["attendance"]
        upload = prepared.files["attendance"]
        s = summary[view.file_name]
        upload_id = insert_upload_row(cur, batch_id, upload, s, scope, is_sample,
                                       prepared.pseudonymized,
                                       warnings_by_file.get(view.file_name, 0))
        insert_attendance(cur, view, upload_id)
        summary[view.file_name] = with_changes(s, upload_id=upload_id)
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


def insert_attendance(cur: duckdb.DuckDBPyConnection, view: FileView, upload_id: int) -> None:
    """Store new sessions (those already stored are skipped; see the module notes)."""
    cur.execute(
        "INSERT INTO attendance (upload_id, respondent_id, session_date, session_type, "
        f"duration_minutes) SELECT ?, * FROM ({attendance_new_sql(view)})", [upload_id])
