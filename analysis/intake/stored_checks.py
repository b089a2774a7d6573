"""Checks of an upload against what is already stored.

Survey (respondent_id, wave) pairs already stored, attendance sessions already stored or
of people with no survey row, the sites an upload touches (for the scope check), files
whose exact bytes are already stored, and a pseudonymization setting that differs from
earlier uploads. Each runs as SQL over the staged views of :mod:`analysis.intake.prepare`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import duckdb

from analysis.definitions.instruments import SCALES
from analysis.intake.keys import stored_key_sql, stored_rows_sql
from analysis.intake.problems import Problem, shown
from analysis.intake.scoped import SURVEY_IN_SCOPE
from analysis.intake.validate import MAX_PER_CHECK, FileView
from analysis.intake.values import FileSummary, UploadFile
from analysis.storage.store import first, single_value


def existing_key_problems(cur: duckdb.DuckDBPyConnection, view: FileView,
                           replace: bool) -> tuple[list[Problem], int]:
    """Survey pairs already stored: errors unless replacing. Returns (problems, count)."""
    if not {"respondent_id", "wave"} <= set(view.columns):
        return [], 0
    base = (f"SELECT v._rid, v.wave, s.upload_id FROM {view.relation} v "
            f"JOIN ({stored_rows_sql(SURVEY_IN_SCOPE, view.keyed)}) s "
            f"ON s._key = v._key AND s.wave = trim(v.wave)")
    count = single_value(cur, f"SELECT count(*) FROM ({base})")
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


def attendance_problems(cur: duckdb.DuckDBPyConnection, views: Mapping[str, FileView]
                         ) -> tuple[list[Problem], int]:
    """Warnings: sessions of people with no survey row; sessions already stored.

    Returns the problems and the number of sessions that will be skipped.
    """
    view = views["attendance"]
    if "respondent_id" not in view.columns or "session_date" not in view.columns:
        return [], 0
    known = f"SELECT _key AS k FROM ({stored_rows_sql(SURVEY_IN_SCOPE, view.keyed)})"
    if "survey" in views:
        known += f" UNION SELECT _key FROM {views['survey'].relation}"
    problems: list[Problem] = []
    row = first(
        cur, f"SELECT count(*), count(DISTINCT _key), list(DISTINCT respondent_id)[1:5] "
        f"FROM {view.relation} WHERE _key IS NOT NULL AND _key NOT IN ({known})")
    if row[0]:
        examples = ", ".join(str(x) for x in row[2])
        problems.append(Problem(
            view.file_name, None, view.columns["respondent_id"], None,
            "IDs that also appear in the survey", "warning",
            f"{row[0]:,} sessions of {row[1]:,} people have no survey row (e.g. {examples}); "
            "they are stored, and count once those people's survey rows arrive. Check the "
            "IDs are written the same way in both files"))
    skipped = single_value(cur, attendance_new_sql(view, count_skipped=True))
    if skipped:
        problems.append(Problem(
            view.file_name, None, None, None, "sessions not yet stored", "warning",
            f"{skipped:,} sessions are already stored (same person, date and type) and will "
            "be skipped"))
    return problems, int(skipped)


def attendance_new_sql(view: FileView, count_skipped: bool = False) -> str:
    """SQL for the sessions of an attendance file not yet stored (or, with
    ``count_skipped``, for how many are skipped): the k-th copy of a session in the file
    is new when the store holds fewer than k copies (see :mod:`analysis.intake.ingest`).

    Only sessions the store already holds are numbered (a window over the file sorts
    it): a session with no stored copy is new whatever its number, and all copies of one
    session meet the same stored count, so numbering those alone gives the same numbers.
    """
    cols = view.columns
    key, join = stored_key_sql("n.respondent_id", view.keyed)
    t = "nullif(trim(session_type), '')" if "session_type" in cols else "NULL::VARCHAR"
    m = "TRY_CAST(trim(duration_minutes) AS DOUBLE)" if "duration_minutes" in cols else \
        "NULL::DOUBLE"
    new = (f"SELECT _rid, _key AS respondent_id, TRY_CAST(trim(session_date) AS DATE) AS d, "
           f"{t} AS t, {m} AS m FROM {view.relation}")
    old = (f"SELECT _key AS respondent_id, session_date, session_type, count(*) AS n "
           f"FROM ({stored_rows_sql('attendance', view.keyed)}) GROUP BY ALL")
    joined = (f"WITH j AS (SELECT n.*, o.n AS stored FROM ({new}) n LEFT JOIN ({old}) o "
              f"ON o.respondent_id = n.respondent_id AND o.session_date = n.d "
              f"AND o.session_type IS NOT DISTINCT FROM n.t) ")
    ranked = ("SELECT *, row_number() OVER (PARTITION BY respondent_id, d, t ORDER BY _rid) "
              "AS rn FROM j WHERE stored IS NOT NULL")
    if count_skipped:
        return f"{joined}SELECT count(*) FROM ({ranked}) WHERE rn <= stored"
    kept = (f"SELECT respondent_id, d, t, m FROM j WHERE stored IS NULL UNION ALL "
            f"SELECT respondent_id, d, t, m FROM ({ranked}) WHERE rn > stored")
    return f"{joined}SELECT {key} AS respondent_id, d, t, m FROM ({kept}) n {join}"


def scope_sites(cur: duckdb.DuckDBPyConnection, views: Mapping[str, FileView],
                 replace_count: int, summary: Mapping[str, FileSummary]
                 ) -> dict[str, set[str]]:
    """Sites each file touches (for the scope check and the upload log)."""
    sites: dict[str, set[str]] = {}
    if "survey" in views and "site" in views["survey"].columns:
        v = views["survey"]
        sites["survey"] = set(summary[v.file_name].sites)
        if replace_count:
            sites["survey"] |= {r[0] for r in cur.execute(
                f"SELECT DISTINCT s.site FROM ({stored_rows_sql(SURVEY_IN_SCOPE, v.keyed)}) s "
                f"JOIN {v.relation} v ON s._key = v._key AND s.wave = trim(v.wave)"
                ).fetchall()}
    if "attendance" in views:
        v = views["attendance"]
        # UNION ALL: DISTINCT below removes repeats once, after the semi-join has kept
        # only the people in this attendance file (a UNION deduplicated every survey row).
        # Sites are trimmed once distinct (stored ones are trimmed already), not per row.
        known = f"SELECT _key AS k, site FROM ({stored_rows_sql(SURVEY_IN_SCOPE, v.keyed)})"
        if "survey" in views and "site" in views["survey"].columns:
            known += (f" UNION ALL SELECT _key, site FROM {views['survey'].relation} "
                      "WHERE _key IS NOT NULL")
        sites["attendance"] = {r[0] for r in cur.execute(
            f"SELECT DISTINCT trim(site) FROM (SELECT DISTINCT k.site FROM ({known}) k "
            f"WHERE k.site IS NOT NULL AND k.k IN (SELECT _key FROM {v.relation}))"
            ).fetchall()}
    return sites


def score_overlap_warnings(view: FileView) -> list[Problem]:
    out = []
    for scale in SCALES:
        if scale.key in view.columns and any(c in view.columns for c in scale.item_columns):
            out.append(Problem(
                view.file_name, None, view.columns[scale.key], None,
                "either items or a score for a scale", "warning",
                f"the file has both items and a score for {scale.label}; the score is "
                "computed from the items and the uploaded score is not stored"))
    return out


def pseudonymization_mismatch(cur: duckdb.DuckDBPyConnection, pseudonymized: bool,
                               files: Sequence[UploadFile]) -> list[Problem]:
    row = first(
        cur, "SELECT count(*) FILTER (WHERE pseudonymized), count(*) FILTER (WHERE NOT "
        "pseudonymized) FROM uploads WHERE status = 'applied' AND NOT is_sample")
    other = row[1] if pseudonymized else row[0]
    if not other:
        return []
    was = "without" if pseudonymized else "with"
    return [Problem(files[0].file_name, None, None, None,
                    "the same pseudonymization setting for every upload", "warning",
                    f"{other} stored upload{'s were' if other != 1 else ' was'} stored {was} "
                    "pseudonymization, so their IDs will not match the IDs of this upload")]


def already_applied(cur: duckdb.DuckDBPyConnection,
                     files: Sequence[UploadFile]) -> dict[str, tuple[int, datetime]]:
    out = {}
    for f in files:
        row = first(
            cur, "SELECT upload_id, created_at FROM uploads WHERE sha256 = ? AND status = "
            "'applied' ORDER BY upload_id LIMIT 1", [f.sha256])
        if row:
            out[f.file_name] = (int(row[0]), row[1])
    return out


def unchanged_warnings(cur: duckdb.DuckDBPyConnection,
                        files: Sequence[UploadFile]) -> list[Problem]:
    return [Problem(name, None, None, None, "a file not uploaded before", "warning",
                    f"this exact file is already stored (upload {upload_id}, "
                    f"{created:%Y-%m-%d %H:%M}); uploading it again changes nothing")
            for name, (upload_id, created) in already_applied(cur, files).items()]
