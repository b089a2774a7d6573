"""The write of an upload: every file of it in the caller's ONE transaction.

``INSERT ... SELECT`` from the staged views of :mod:`analysis.intake.prepare`: item
answers turned into codes by :func:`~analysis.definitions.scoring_sql.item_code_sql` and
scale scores computed from those codes by
:func:`~analysis.definitions.scoring_sql.scale_score_sql` in the same statement.
Uploaded scored columns (e.g. ``mbi_ee``) are stored when the scale's items are absent;
columns outside the contract are never stored, and an item column is added to the
table the first time an upload brings it (:func:`~analysis.storage.schema.add_item_columns`).
Survey rows an upload replaces move to
``survey_replaced`` so that undoing it restores them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb

from analysis.access.scope import Scope
from analysis.definitions.contract import columns_for
from analysis.definitions.instruments import INSTRUMENTS, SCALES
from analysis.definitions.scoring_sql import item_code_sql, scale_score_sql
from analysis.definitions.scoring_sql import quote_identifier as q
from analysis.intake import waves
from analysis.intake.keys import stored_key_sql
from analysis.intake.labels import unless_ascii
from analysis.intake.prepare import Prepared, Refused
from analysis.intake.problems import sort_problems
from analysis.intake.scoped import SURVEY_IN_SCOPE
from analysis.intake.stored_checks import attendance_new_sql
from analysis.intake.validate import (
    DIGITS,
    FileView,
    digit_column,
    untrimmed,
)
from analysis.intake.values import FileSummary, IngestResult, Progress, UploadFile, now, with_changes
from analysis.storage import audit
from analysis.storage.schema import add_item_columns
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


#: An instrument with more distinct answers than this is coded by a join to its table
#: of codes rather than by lists in the statement.
MAX_LOOKUP = 256


@dataclass(frozen=True)
class ItemCodes:
    """How an instrument's answers become codes in the INSERT.

    ``TRY_CAST(answer AS TINYINT)`` codes most answers (``"3"``); ``answers``/``codes``
    list the others (labels, and any answer the cast would code differently), checked
    first when ``cast_last`` else looked up only where the cast gives nothing.
    """

    key: str
    answers: tuple[str, ...]
    codes: tuple[int | None, ...]
    cast_last: bool

    def sql(self, column: str) -> str:
        # TINYINT codes, as the cast gives and the column stores: no cast of the result.
        lookup = (f"CAST($codes_{self.key} AS TINYINT[])"
                  f"[list_position($answers_{self.key}, {column})]")
        cast = f"TRY_CAST({column} AS TINYINT)"
        if not self.answers:
            return cast
        if self.cast_last:
            return f"CASE WHEN list_contains($answers_{self.key}, {column}) THEN {lookup} " \
                f"ELSE {cast} END"
        return f"coalesce({cast}, {lookup})"

    def codes_digits(self) -> bool:
        """Whether an answer of one ASCII digit is coded as that digit, as the cast
        gives it (it always is unless such an answer is listed)."""
        return not any(a in DIGITS for a in self.answers)

    def params(self) -> dict[str, list]:
        if not self.answers:
            return {}
        return {f"answers_{self.key}": list(self.answers),
                f"codes_{self.key}": list(self.codes)}


def item_codes(cur: duckdb.DuckDBPyConnection, view: FileView,
               values: Mapping[str, Sequence[str]] | None = None) -> dict[str, ItemCodes | None]:
    """Each present instrument's distinct answers coded once (temporary table
    ``codes_<instrument>``, by :func:`~analysis.definitions.scoring_sql.item_code_sql`),
    as :class:`ItemCodes` (None: too many answers, join the table instead).

    Answers repeat: coding the distinct ones and applying the result with a cast and a
    short list is several times cheaper than coding a million rows cell by cell, and
    cheaper than one join per item column. The distinct answers are the ones validation
    listed (``values``, column → distinct values) when it listed every item column of
    the instrument; otherwise they are read from the staged table. Validation has
    refused the upload if any answer is not a code or label, so the lists are complete.
    """
    present = set(view.columns)
    values = values or {}
    out: dict[str, ItemCodes | None] = {}
    for inst in INSTRUMENTS:
        items = [col for col in inst.item_columns if col in present]
        if not items:
            continue
        table = f"codes_{inst.key}"
        code = f"CAST(({item_code_sql(inst, 'raw')}) AS TINYINT) AS code"
        if all(col in values for col in items):
            answers = sorted({v for col in items for v in values[col] if v is not None})
            cur.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT raw, {code} FROM "
                        "(SELECT CAST(unnest($answers) AS VARCHAR) AS raw)", {"answers": answers})
        else:
            distinct = " UNION ".join(f"SELECT DISTINCT {q(col)} AS raw FROM {view.relation}"
                                      for col in items)
            cur.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT raw, {code} FROM "
                        f"({distinct}) WHERE raw IS NOT NULL")
        # The answers the cast alone would code wrongly (labels, mostly).
        rows = cur.execute(
            f"SELECT raw, code, TRY_CAST(raw AS TINYINT) AS as_cast FROM {table} "
            f"WHERE as_cast IS DISTINCT FROM code ORDER BY raw LIMIT {MAX_LOOKUP + 1}").fetchall()
        if len(rows) > MAX_LOOKUP:
            out[inst.key] = None
            continue
        out[inst.key] = ItemCodes(inst.key, tuple(r[0] for r in rows),
                                  tuple(r[1] for r in rows),
                                  cast_last=any(r[2] is not None for r in rows))
    return out


def date_text_sql(expression: str) -> str:
    """What a date cell is cast from: ``trim`` of it only when it holds a character
    beyond ASCII (e.g. a no-break space), since DuckDB's date cast ignores the ASCII
    spaces around a date itself and ``trim`` would copy every date of the file."""
    return unless_ascii(expression, f"trim({expression})")


def survey_insert_sql(view: FileView, codes: Mapping[str, ItemCodes | None],
                      values: Mapping[str, Sequence[str]] | None = None) -> tuple[str, dict]:
    """One INSERT ... SELECT storing a staged survey (parameter ``upload_id`` to be
    added by the caller), item answers coded as :func:`item_codes` prepared.

    ``values``: each column's distinct values as validation listed them. A text column
    none of whose values has spaces around it is stored without ``trim``, which would
    copy every string of a million rows for nothing; dates: see :func:`date_text_sql`.
    """
    values = values or {}
    present = set(view.columns)
    params: dict[str, list] = {}
    names: list[str] = []
    inner: list[str] = []
    joins: list[str] = []
    for column in columns_for("survey"):
        if column.name not in present:
            continue
        c = q(column.name)
        if column.name == "respondent_id":
            expr, join = stored_key_sql("v._key", view.keyed)
            joins += [join] if join else []
        elif column.kind == "date":
            expr = f"TRY_CAST({date_text_sql(f'v.{c}')} AS DATE)"
        elif untrimmed(values.get(column.name)):
            expr = f"nullif(trim(v.{c}), '')"
        else:
            expr = f"nullif(v.{c}, '')"
        inner.append(f"{expr} AS {c}")
        names.append(column.name)
    outer = [q(n) for n in names]
    for inst in INSTRUMENTS:
        if inst.key not in codes:
            continue
        lookup = codes[inst.key]
        for number, col in enumerate(c for c in inst.item_columns if c in present):
            staged = lookup is not None and col in view.split and lookup.codes_digits()
            if staged and col not in view.negative:
                # Only codes: digits, and labels staged as their codes.
                inner.append(f"v.{digit_column(col)} AS {q(col)}")
            elif staged:
                # A negative code is a listed answer item_code_sql gives no code: in an
                # upload validation let through, a blank of spaces, stored as no answer.
                d = f"v.{digit_column(col)}"
                inner.append(f"CASE WHEN {d} >= 0 THEN {d} END AS {q(col)}")
            elif lookup is not None:
                inner.append(f"{lookup.sql(f'v.{q(col)}')} AS {q(col)}")
            else:
                alias = f"j_{inst.key}_{number}"
                joins.append(f"LEFT JOIN codes_{inst.key} {alias} ON {alias}.raw = v.{q(col)}")
                inner.append(f"{alias}.code AS {q(col)}")
            if lookup is not None and not staged:
                params.update(lookup.params())
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
    return ((f"INSERT INTO survey (upload_id, {', '.join(q(n) for n in names)}) "
             f"SELECT $upload_id, {', '.join(outer)} FROM "
             f"(SELECT {', '.join(inner)} FROM {view.relation} v {' '.join(joins)}) coded"),
            params)


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
        # Before any row moves: survey and survey_replaced keep one column order.
        add_item_columns(cur, view.columns)
        moved = 0
        if replace and s.replaced:
            key, join = stored_key_sql("v._key", view.keyed)
            cur.execute(f"CREATE OR REPLACE TEMP TABLE new_keys AS SELECT DISTINCT {key} AS k, "
                        f"trim(v.wave) AS w FROM {view.relation} v {join}")
            in_scope = f"s.site IN (SELECT DISTINCT site FROM {SURVEY_IN_SCOPE})"
            cur.execute("INSERT INTO survey_replaced SELECT ?, s.* FROM survey s WHERE EXISTS "
                        "(SELECT 1 FROM new_keys n WHERE n.k = s.respondent_id AND "
                        f"n.w = s.wave) AND {in_scope}", [upload_id])
            moved = single_value(cur, "SELECT count(*) FROM survey_replaced WHERE replaced_by = ?",
                                 [upload_id])
            cur.execute("DELETE FROM survey s USING new_keys n WHERE n.k = s.respondent_id "
                        f"AND n.w = s.wave AND {in_scope}")
            cur.execute("UPDATE uploads SET n_replaced = ? WHERE upload_id = ?",
                        [moved, upload_id])
        listed = prepared.values.get("survey")
        insert, params = survey_insert_sql(view, item_codes(cur, view, listed), listed)
        cur.execute(insert, {**params, "upload_id": upload_id})
        wave_problems = waves.register(cur, upload_id, scope, view.file_name)
        if wave_problems:
            prepared.problems = sort_problems(prepared.problems + wave_problems)
            raise Refused(prepared)
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
