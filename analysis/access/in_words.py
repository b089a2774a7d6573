"""The admin pages' tables in words: accounts and audit events as people read them.

Raw values (``None``, ``practice_manager``, ``created_at``, JSON) stay in the database and
the CSV download of the audit log; what the pages show is made here, so the wording is
tested and shared.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd

from analysis.access.scope import ROLE_LABELS

ACTION_LABELS = {
    "sign_in": "Sign-in", "sign_out": "Sign-out", "account": "Account change",
    "setting": "Setting change", "upload": "Upload", "undo": "Undo", "export": "Export",
    "remove_sample": "Sample data removed", "accounts": "Opening Accounts",
    "settings": "Opening Settings", "audit": "Opening the audit log", "view": "Viewing",
    "delete_data": "Deleting data",
}
OUTCOME_LABELS = {"ok": "Done", "refused": "Refused", "failed": "Failed"}
_OPERATIONS = {
    "create": "created", "update_access": "role or practices changed",
    "deactivate": "deactivated", "reactivate": "reactivated",
    "reset_password": "password reset", "list": "listed", "known_sites": "practices listed",
    "read_log": "log read",
}
#: Words for the keys of an event's detail (the rest are shown with spaces for '_').
_KEYS = {
    "username": "account", "role": "role", "practices": "practices", "reason": "reason",
    "failures": "failed attempts in a row", "retry_after_seconds": "wait (seconds)",
    "method": "method", "key": "setting", "old": "from", "new": "to", "files": "files",
    "upload_id": "upload", "rows_removed": "rows removed", "rows_restored": "rows restored",
    "file": "file", "kind": "kind", "sites": "practices", "uploads": "uploads",
    "bootstrap": "first account", "replace": "replacing", "is_sample": "sample data",
    "pseudonymized": "pseudonymized",
}


def _when(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return "Never"
    moment = pd.Timestamp(value)
    return "Never" if pd.isna(moment) else f"{moment:%Y-%m-%d %H:%M} UTC"


def accounts_in_words(table: pd.DataFrame, now: datetime | None = None) -> pd.DataFrame:
    """The accounts table (:func:`analysis.access.accounts.list_accounts`) in words.

    Columns: Username, Role, Practices ("All practices" unless a practice manager),
    Status, Signs in with, Created, Last sign-in ("Never"), Failed sign-ins (in a row),
    Sign-in wait (until when, or "No wait").
    """
    now = now or datetime.utcnow()  # noqa: DTZ003 - stored times are naive UTC
    rows = []
    for row in table.itertuples():
        locked = row.locked_until
        waiting = locked is not None and not pd.isna(locked) and pd.Timestamp(locked) > now
        rows.append({
            "Username": row.username,
            "Role": ROLE_LABELS.get(row.role, row.role),
            "Practices": (row.practices or "none yet") if row.role == "practice_manager"
            else "All practices",
            "Status": "Active" if row.active else "Deactivated",
            "Signs in with": "Single sign-on" if row.sso else "Password",
            "Created": _when(row.created_at),
            "Last sign-in": _when(row.last_login),
            "Failed sign-ins in a row": int(row.failed_attempts or 0),
            "Sign-in wait": f"until {_when(locked)}" if waiting else "No wait",
        })
    return pd.DataFrame(rows, columns=["Username", "Role", "Practices", "Status",
                                       "Signs in with", "Created", "Last sign-in",
                                       "Failed sign-ins in a row", "Sign-in wait"])


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "role" and isinstance(value, str):
        return ROLE_LABELS.get(value, value)
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return "; ".join(", ".join(f"{_KEYS.get(k, k.replace('_', ' '))} {_value(k, v)}"
                                       for k, v in item.items() if v not in (None, [], ""))
                             for item in value)
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def describe_detail(detail: Any) -> str:
    """An event's detail (JSON text) as one readable line.

    Examples
    --------
    >>> describe_detail('{"op": "create", "username": "ada", "role": "admin", '
    ...                 '"practices": null, "bootstrap": true}')
    'Account ada created · role: Administrator · first account: yes'
    >>> describe_detail(None)
    ''
    """
    if detail is None or (isinstance(detail, float) and pd.isna(detail)):
        return ""
    try:
        data = json.loads(detail) if isinstance(detail, str) else detail
    except ValueError:
        return str(detail)
    if not isinstance(data, dict):
        return str(data)
    parts = []
    op = data.pop("op", None)
    if op is not None:
        who = data.pop("username", None)
        what = _OPERATIONS.get(op, str(op).replace("_", " "))
        parts.append(f"Account {who} {what}" if who else what.capitalize())
    for key, value in data.items():
        if value in (None, [], "", {}):
            continue
        parts.append(f"{_KEYS.get(key, key.replace('_', ' '))}: {_value(key, value)}")
    return " · ".join(parts)


def events_in_words(events: pd.DataFrame) -> pd.DataFrame:
    """Audit events (:func:`analysis.storage.audit.read_log`) in words: When, Who, What,
    Outcome, Details."""
    return pd.DataFrame({
        "When": [_when(v) for v in events["occurred_at"]],
        "Who": events["username"].astype(str).tolist(),
        "What": [ACTION_LABELS.get(a, str(a).replace("_", " ").capitalize())
                 for a in events["action"]],
        "Outcome": [OUTCOME_LABELS.get(o, str(o)) for o in events["outcome"]],
        "Details": [describe_detail(d) for d in events["detail"]],
    }, columns=["When", "Who", "What", "Outcome", "Details"])
