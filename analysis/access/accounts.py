"""Accounts: who may open the app, with which role and practices.

Local accounts have an argon2id password hash (:mod:`analysis.access.passwords`) and sign
in through :mod:`analysis.access.signin`; sessions that survive a reload are
:mod:`analysis.access.sessions`; organisations with an identity provider use
:mod:`analysis.access.sso` instead. Either way the result is a
:class:`~analysis.access.scope.Scope`, and the rules of what a scope may do stay in
:mod:`analysis.access.scope`.

Every account change is written to the audit log; a password or a hash never is. Calls
outside the caller's scope raise :class:`~analysis.access.scope.PermissionDenied` and
are audited as ``refused``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from analysis.access import passwords
from analysis.access.passwords import normalize_username, validate_username
from analysis.access.scope import ROLE_LABELS, PermissionDenied, Scope, require
from analysis.storage import audit
from analysis.storage.store import Store, first, single_value

#: Roles an account (or a role-map entry) may hold; ``local`` is the no-account mode only.
ASSIGNABLE_ROLES: tuple[str, ...] = ("admin", "leadership", "researcher", "practice_manager")


def _utcnow() -> datetime:
    # Timestamps are stored as naive UTC, as in the audit log.
    return datetime.now(UTC).replace(tzinfo=None)


def practices_for(role: str, practices: Iterable[str] | None) -> list[str] | None:
    """Stored practices: a practice manager's list (at least one), None for other roles."""
    if role not in ASSIGNABLE_ROLES:
        raise ValueError(
            "Role must be one of: " + ", ".join(ROLE_LABELS[r] for r in ASSIGNABLE_ROLES) + "."
        )
    if role != "practice_manager":
        return None
    chosen = sorted({p.strip() for p in (practices or ()) if p and p.strip()})
    if not chosen:
        raise ValueError("A practice manager needs at least one practice.")
    return chosen


def scope_for(account: Mapping[str, Any]) -> Scope:
    """The scope of one account row (a mapping with ``username``, ``role``, ``practices``)."""
    role = account["role"]
    practices = account.get("practices")
    return Scope(
        role=role,
        practices=frozenset(practices or ()) if role == "practice_manager" else None,
        user=account["username"],
    )


# ---------------------------------------------------------------------------------------
# Permission checks that leave a trace
# ---------------------------------------------------------------------------------------


def check_allowed(
    store: Store, scope: Scope, action: str, sites: Iterable[str] = (),
    detail: Mapping[str, Any] | None = None,
) -> None:
    """:func:`analysis.access.scope.require`, writing a ``refused`` audit event when it refuses.

    Raises
    ------
    PermissionDenied
        When ``scope`` may not do ``action`` on ``sites``.
    """
    sites = list(sites)
    try:
        require(scope, action, sites)
    except PermissionDenied as error:
        with store.transaction() as cur:
            audit.record(cur, scope.user, action, "refused",
                         {**(detail or {}), "sites": sites, "reason": str(error)})
        raise


# ---------------------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------------------

_ACCOUNT_COLUMNS = ("username", "role",
                    "coalesce(array_to_string(practices, ', '), '') AS practices",
                    "active", "sso", "created_at", "last_login", "failed_attempts",
                    "locked_until")


def needs_bootstrap(store: Store) -> bool:
    """True while no account exists (the app then offers to create the first admin)."""
    return store.single_value("SELECT count(*) FROM accounts") == 0


def account_row(cur: Any, username: str) -> dict[str, Any] | None:
    """One account as a dict (with its password hash: for sign-in only), or None."""
    row = first(
        cur, "SELECT username, role, practices, active, password_hash, failed_attempts, "
        "locked_until FROM accounts WHERE username = ?", [username])
    if row is None:
        return None
    keys = ("username", "role", "practices", "active", "password_hash", "failed_attempts",
            "locked_until")
    return dict(zip(keys, row))


def _existing(cur: Any, username: str) -> dict[str, Any]:
    account = account_row(cur, normalize_username(username))
    if account is None:
        raise ValueError(f"There is no account named {normalize_username(username)!r}.")
    return account


def _active_admins(cur: Any) -> int:
    return single_value(cur, "SELECT count(*) FROM accounts WHERE role = 'admin' AND active")


def _end_sessions(cur: Any, username: str) -> None:
    # Open sessions end at once when the password is reset or the account deactivated
    # (a role change is picked up at the next step by active_scope).
    cur.execute("UPDATE sessions SET revoked_at = ? WHERE username = ? AND revoked_at IS NULL",
                [_utcnow(), username])


def _keep_an_admin(cur: Any, account: dict[str, Any]) -> None:
    if account["role"] == "admin" and account["active"] and _active_admins(cur) <= 1:
        raise ValueError(
            "This is the last active administrator; create or reactivate another "
            "administrator first, or nobody could manage accounts."
        )


def create_account(
    store: Store, scope: Scope, username: str, password: str, role: str,
    practices: Iterable[str] | None = None,
) -> Scope:
    """Create a local account; returns its scope.

    Admins may create accounts; while no account exists anyone may create the first one,
    which must be an administrator (the bootstrap). The password is stored as an
    argon2id hash only.

    Raises
    ------
    PermissionDenied
        When the scope may not manage accounts (and this is not the bootstrap).
    ValueError
        Invalid username, role, practices or password; the username is taken
        (message for the user).
    """
    name = validate_username(username)
    detail = {"op": "create", "username": name, "role": role}
    bootstrap = needs_bootstrap(store)
    if not bootstrap:
        check_allowed(store, scope, "accounts", detail=detail)
    elif role != "admin":
        raise ValueError("The first account must be an administrator.")
    stored_practices = practices_for(role, practices)
    passwords.check_password(password, name)
    password_hash = passwords.hash_password(password)
    with store.transaction() as cur:
        if bootstrap and single_value(cur, "SELECT count(*) FROM accounts"):
            raise PermissionDenied("An account was created meanwhile; please sign in.")
        if account_row(cur, name) is not None:
            raise ValueError(f"The username {name!r} is taken.")
        cur.execute(
            "INSERT INTO accounts (username, password_hash, role, practices, created_at) "
            "VALUES (?, ?, ?, ?, ?)", [name, password_hash, role, stored_practices, _utcnow()]
        )
        audit.record(cur, scope.user, "account", "ok",
                     {**detail, "practices": stored_practices, "bootstrap": bootstrap})
    return scope_for({"username": name, "role": role, "practices": stored_practices})


def update_access(
    store: Store, scope: Scope, username: str, role: str,
    practices: Iterable[str] | None = None,
) -> None:
    """Change an account's role and practices (admins only).

    Raises
    ------
    PermissionDenied
        When the scope may not manage accounts.
    ValueError
        Unknown account, invalid role or practices, or it would leave no active admin.
    """
    name = normalize_username(username)
    detail = {"op": "update_access", "username": name, "role": role}
    check_allowed(store, scope, "accounts", detail=detail)
    stored_practices = practices_for(role, practices)
    with store.transaction() as cur:
        account = _existing(cur, name)
        if role != "admin":
            _keep_an_admin(cur, account)
        cur.execute("UPDATE accounts SET role = ?, practices = ? WHERE username = ?",
                    [role, stored_practices, name])
        audit.record(cur, scope.user, "account", "ok", {
            **detail, "practices": stored_practices, "old_role": account["role"],
            "old_practices": account["practices"]})


def set_active(store: Store, scope: Scope, username: str, active: bool) -> None:
    """Deactivate (``active=False``) or reactivate an account (admins only).

    A deactivated account cannot sign in, and open sessions of it end at their next step.

    Raises
    ------
    PermissionDenied
        When the scope may not manage accounts.
    ValueError
        Unknown account, or deactivating the last active administrator.
    """
    name = normalize_username(username)
    detail = {"op": "reactivate" if active else "deactivate", "username": name}
    check_allowed(store, scope, "accounts", detail=detail)
    with store.transaction() as cur:
        account = _existing(cur, name)
        if not active:
            _keep_an_admin(cur, account)
        cur.execute(
            "UPDATE accounts SET active = ?, failed_attempts = 0, locked_until = NULL "
            "WHERE username = ?", [active, name])
        if not active:
            _end_sessions(cur, name)
        audit.record(cur, scope.user, "account", "ok", detail)


def deactivate(store: Store, scope: Scope, username: str) -> None:
    """Deactivate an account; see :func:`set_active`."""
    set_active(store, scope, username, False)


def reset_password(store: Store, scope: Scope, username: str, new_password: str) -> None:
    """Set a new password for an account and lift any sign-in delay (admins only).

    Raises
    ------
    PermissionDenied
        When the scope may not manage accounts.
    ValueError
        Unknown account or a refused password.
    """
    name = normalize_username(username)
    detail = {"op": "reset_password", "username": name}
    check_allowed(store, scope, "accounts", detail=detail)
    passwords.check_password(new_password, name)
    password_hash = passwords.hash_password(new_password)
    with store.transaction() as cur:
        _existing(cur, name)
        cur.execute(
            "UPDATE accounts SET password_hash = ?, failed_attempts = 0, locked_until = NULL "
            "WHERE username = ?", [password_hash, name])
        _end_sessions(cur, name)
        audit.record(cur, scope.user, "account", "ok", detail)


def list_accounts(store: Store, scope: Scope) -> pd.DataFrame:
    """Every account (admins only), without password hashes.

    Returns
    -------
    DataFrame
        username, role, practices (text, ``", "``-separated), active, sso, created_at,
        last_login, failed_attempts, locked_until; sorted by username.
    """
    check_allowed(store, scope, "accounts", detail={"op": "list"})
    with store.cursor() as cur:
        return cur.execute(
            f"SELECT {', '.join(_ACCOUNT_COLUMNS)} FROM accounts ORDER BY username"
        ).df()


def active_scope(store: Store, username: str) -> Scope | None:
    """The current scope of a signed-in account, or None once it is gone or deactivated.

    Sessions call this on every step so that a role change or a deactivation takes
    effect at once.
    """
    with store.cursor() as cur:
        account = account_row(cur, normalize_username(username))
    if account is None or not account["active"]:
        return None
    return scope_for(account)


def known_sites(store: Store, scope: Scope) -> list[str]:
    """Practices an account can be given: every stored survey site and every practice
    already assigned to an account (admins only)."""
    check_allowed(store, scope, "accounts", detail={"op": "known_sites"})
    with store.cursor() as cur:
        rows = cur.execute(
            "SELECT DISTINCT site FROM survey UNION "
            "SELECT DISTINCT unnest(practices) FROM accounts ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows if r[0] is not None]



def audit_events(store: Store, scope: Scope, limit: int = 5000) -> pd.DataFrame:
    """The most recent audit events, newest first (admins only).

    Raises
    ------
    PermissionDenied
        When the scope may not read the audit log (the refusal is audited).
    """
    check_allowed(store, scope, "audit", detail={"op": "read_log"})
    with store.cursor() as cur:
        return audit.read_log(cur, scope, limit=limit)


def filter_events(
    events: pd.DataFrame, action: str | None = None, username: str | None = None
) -> pd.DataFrame:
    """Only the events of one action and/or one user (None = any)."""
    keep = pd.Series(True, index=events.index)
    if action:
        keep &= events["action"] == action
    if username:
        keep &= events["username"] == username
    return events[keep].reset_index(drop=True)
