"""The audit log: who did what, when, and whether it was allowed.

Written inside the same transaction as the change it records, so an upload that rolls
back leaves no "applied" entry; refusals are written in a transaction of their own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from analysis.access.scope import Scope, require
from analysis.storage.store import Store


def record(
    cur: duckdb.DuckDBPyConnection,
    username: str,
    action: str,
    outcome: str,
    detail: Mapping[str, Any] | str | None = None,
) -> None:
    """Append one event to the audit log through an open cursor.

    Parameters
    ----------
    cur : duckdb.DuckDBPyConnection
        A cursor, usually inside the transaction of the change being recorded.
    username : str
        Who acted (``local`` for the single-user session and the command line).
    action : str
        e.g. ``sign_in``, ``upload``, ``undo``, ``export``, ``setting``, ``account``.
    outcome : str
        ``ok``, ``refused`` or ``failed``.
    detail : mapping or str, optional
        What was acted on; never passwords, hashes or respondent IDs.
    """
    text = detail if isinstance(detail, str) or detail is None else json.dumps(
        detail, default=str, sort_keys=True)
    cur.execute(
        "INSERT INTO audit_log VALUES (nextval('audit_seq'), ?, ?, ?, ?, ?)",
        [datetime.now(UTC).replace(tzinfo=None), username, action, outcome, text],
    )


def read_log(cur: duckdb.DuckDBPyConnection, scope: Scope, limit: int = 5000) -> pd.DataFrame:
    """The most recent audit events, newest first (admins only).

    Raises
    ------
    PermissionDenied
        When the scope may not read the audit log.
    """
    require(scope, "audit")
    return cur.execute(
        "SELECT event_id, occurred_at, username, action, outcome, detail FROM audit_log "
        "ORDER BY event_id DESC LIMIT ?", [limit]
    ).df()


def record_download(store: Store, scope: Scope, file_name: str,
                    detail: Mapping[str, Any] | None = None) -> None:
    """Record that ``scope``'s viewer downloaded ``file_name`` (action ``download``), in a
    transaction of its own: called when the download happens, never when a page opens."""
    with store.transaction() as cur:
        record(cur, scope.user, "download", "ok", {"file": file_name, **(detail or {})})
