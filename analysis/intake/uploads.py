"""Stored uploads: undo one whole, list them (history), say what is stored (status).

Undo takes out one upload (one file) whole: its rows deleted and the rows it replaced
restored. Undoing the survey file of a two-file batch leaves that batch's attendance
file in place; undo it separately. A refusal because of the viewer's scope is audited.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from analysis.access.scope import PermissionDenied, Scope, require
from analysis.intake.values import StoreStatus, UndoResult, UploadNotFound, now
from analysis.storage import audit
from analysis.storage.store import Store, first, single_value


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
        with store.translated_errors(), store.transaction() as cur:
            return undo_on(cur, int(upload_id), scope)
    except PermissionDenied as denied:
        with store.translated_errors(), store.transaction() as cur:
            audit.record(cur, scope.user, "undo", "refused",
                         {"upload_id": upload_id, "reason": str(denied)})
        raise


def undo_on(cur: duckdb.DuckDBPyConnection, upload_id: int, scope: Scope) -> UndoResult:
    row = first(cur, "SELECT kind, file_name, status, coalesce(sites, []) FROM uploads "
                "WHERE upload_id = ?", [upload_id])
    if row is None:
        raise UploadNotFound(f"There is no upload number {upload_id}.")
    kind, file_name, state, sites = row
    if state != "applied":
        raise UploadNotFound(f"Upload {upload_id} ({file_name}) is already {state}.")
    require(scope, "undo", sites)
    removed = restored = 0
    if kind == "survey":
        removed = single_value(cur, "SELECT count(*) FROM survey WHERE upload_id = ?", [upload_id])
        cur.execute("DELETE FROM survey WHERE upload_id = ?", [upload_id])
        # Its rows that a later upload replaced go with it.
        cur.execute("DELETE FROM survey_replaced WHERE upload_id = ?", [upload_id])
        # Rows it replaced whose pair a later upload now holds: hand them to that upload.
        cur.execute("UPDATE survey_replaced r SET replaced_by = s.upload_id FROM survey s "
                    "WHERE r.replaced_by = ? AND s.respondent_id = r.respondent_id AND "
                    "s.wave = r.wave", [upload_id])
        restored = single_value(cur, "SELECT count(*) FROM survey_replaced WHERE replaced_by = ?",
                                [upload_id])
        cur.execute("INSERT INTO survey SELECT * EXCLUDE (replaced_by) FROM survey_replaced "
                    "WHERE replaced_by = ?", [upload_id])
        cur.execute("DELETE FROM survey_replaced WHERE replaced_by = ?", [upload_id])
    else:
        removed = single_value(cur, "SELECT count(*) FROM attendance WHERE upload_id = ?",
                               [upload_id])
        cur.execute("DELETE FROM attendance WHERE upload_id = ?", [upload_id])
    cur.execute("UPDATE uploads SET status = 'undone', undone_at = ?, undone_by = ? "
                "WHERE upload_id = ?", [now(), scope.user, upload_id])
    audit.record(cur, scope.user, "undo", "ok", {
        "upload_id": upload_id, "kind": kind, "file": file_name, "rows_removed": removed,
        "rows_restored": restored})
    return UndoResult(upload_id, kind, file_name, int(removed), int(restored))


HISTORY_COLUMNS = ("upload_id", "batch_id", "kind", "file_name", "created_at", "status",
                   "n_rows", "n_replaced", "n_warnings", "sites", "uploaded_by", "is_sample",
                   "pseudonymized", "undone_at", "undone_by", "sha256")


def is_visible(sites: Sequence[str] | None, uploaded_by: str, scope: Scope,
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
        keep = [is_visible(s, u, scope, bool(x)) for s, u, x in
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
        rows, people, waves, site_list = first(
            cur, f"SELECT count(*), count(DISTINCT respondent_id), list(DISTINCT wave ORDER BY wave), "
            f"list(DISTINCT site ORDER BY site) FROM survey {where}", params)
        if sites is None:
            sessions = single_value(cur, "SELECT count(*) FROM attendance")
        else:
            sessions = single_value(
                cur, "SELECT count(*) FROM attendance WHERE respondent_id IN (SELECT respondent_id "
                "FROM survey WHERE list_contains($sites, site))", params)
        uploads = cur.execute(
            "SELECT upload_id, sites, uploaded_by, is_sample, created_at FROM uploads "
            "WHERE status = 'applied'").fetchall()
    visible = [u for u in uploads if is_visible(u[1], u[2], scope, bool(u[3]))]
    return StoreStatus(
        len(visible), int(rows), int(sessions), int(people), tuple(waves or ()),
        tuple(site_list or ()), any(u[3] for u in visible),
        max((u[4] for u in visible), default=None))


def has_data(store: Store) -> bool:
    """Whether any survey row is stored (sample or real)."""
    return bool(store.single_value("SELECT EXISTS (SELECT 1 FROM survey)"))
