"""What an upload may see of the stored data: only the uploader's practices.

A practice manager's upload is checked against the stored rows of their own practices
only, so that no answer depends on another practice's data (no oracle):

* ``survey_in_scope`` (a temporary view) holds the stored survey rows of the scope's
  practices; checks for rows already stored, replacing, and the sites an attendance
  file touches read it instead of ``survey``;
* an upload may be undone by a practice manager only when every practice it touched
  is theirs, or, for an upload that touched no practice (attendance of people with no
  survey row yet), when they made it; the refusal names no practice;
* attendance rows are kept only for people with a survey row in the scope's practices
  (stored, or in the same upload). Sessions of anyone else, whether the ID is unknown
  or belongs to another practice, are left out with one warning that reads the same in
  both cases, and can therefore never be attached to another practice's people.

For a scope that sees every practice nothing changes: the view is the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from analysis.access.scope import PermissionDenied, Scope, require
from analysis.intake.keys import stored_rows_sql
from analysis.intake.problems import Problem
from analysis.intake.validate import FileView

SURVEY_IN_SCOPE = "survey_in_scope"
_ATTENDANCE_FILE = "v_attendance_whole_file"


def limit_to_scope(cur: duckdb.DuckDBPyConnection, scope: Scope,
                   views: dict[str, FileView]) -> list[Problem]:
    """Define ``survey_in_scope`` and narrow the attendance view to the scope's people.

    Call after the upload's views exist and before any check reads stored data.
    Returns a warning when attendance rows were left out.
    """
    sites = scope.site_list()
    if sites is None:
        cur.execute(f"CREATE OR REPLACE TEMP VIEW {SURVEY_IN_SCOPE} AS SELECT * FROM survey")
        return []
    cur.execute("CREATE OR REPLACE TEMP TABLE scope_sites AS "
                "SELECT unnest(CAST(? AS VARCHAR[])) AS site", [sites])
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {SURVEY_IN_SCOPE} AS SELECT * FROM survey "
                "WHERE site IN (SELECT site FROM scope_sites)")
    view = views.get("attendance")
    if view is None or "respondent_id" not in view.columns:
        return []
    known = f"SELECT _key FROM ({stored_rows_sql(SURVEY_IN_SCOPE, view.keyed)})"
    if "survey" in views:
        known += f" UNION ALL SELECT _key FROM {views['survey'].relation}"
    cur.execute(f"DROP VIEW IF EXISTS {_ATTENDANCE_FILE}")
    cur.execute(f"ALTER VIEW {view.relation} RENAME TO {_ATTENDANCE_FILE}")
    cur.execute(f"CREATE TEMP VIEW {view.relation} AS SELECT * FROM {_ATTENDANCE_FILE} "
                f"WHERE _key IN ({known})")
    sessions, people = cur.execute(
        f"SELECT count(*), count(DISTINCT _key) FROM {_ATTENDANCE_FILE} WHERE _key IS NOT "
        f"NULL AND _key NOT IN ({known})").fetchone()
    if not sessions:
        return []
    return [Problem(
        view.file_name, None, view.columns["respondent_id"], None,
        "IDs with a survey row in your practices", "warning",
        f"{sessions:,} sessions of {people:,} people are not stored: these IDs have no "
        "survey row in your practices. Upload the survey file first (or both files "
        "together), then this file again; check the IDs are written the same way in both")]


NOT_YOURS = ("This upload is not one of yours to undo: a practice manager can undo only "
             "uploads of their own practices.")


def require_undo(scope: Scope, sites: Sequence[str], uploaded_by: str | None) -> None:
    """Raise :class:`PermissionDenied` unless ``scope`` may undo an upload that touched
    ``sites`` and was made by ``uploaded_by`` (the message names no practice)."""
    require(scope, "undo")
    if scope.practices is None:
        return
    if not sites:
        if uploaded_by != scope.user:
            raise PermissionDenied(NOT_YOURS)
    elif any(not scope.sees_site(site) for site in sites):
        raise PermissionDenied(NOT_YOURS)
