"""Accounts and sign-in: who may open the app, with which role and practices.

Local accounts have an argon2id password hash; organisations with an identity provider
sign in through OpenID Connect instead and are given a role by a TOML role map
(:func:`load_role_map`, :func:`sso_scope`). Either way the result is a
:class:`~analysis.access.scope.Scope`, and the rules of what a scope may do stay in
:mod:`analysis.access.scope`.

Every sign-in (accepted, failed, refused while locked) and every account change is written
to the audit log; a password or a hash never is. Calls outside the caller's scope raise
:class:`~analysis.access.scope.PermissionDenied` and are audited as ``refused``.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from analysis.storage import audit
from analysis.access.scope import ROLE_LABELS, PermissionDenied, Scope, require
from analysis.storage.store import Store, first, single_value

#: Roles an account (or a role-map entry) may hold; ``local`` is the no-account mode only.
ASSIGNABLE_ROLES: tuple[str, ...] = ("admin", "leadership", "researcher", "practice_manager")
MIN_PASSWORD_LENGTH = 12
#: Failed attempts allowed before each further attempt must wait.
FREE_ATTEMPTS = 2
MAX_DELAY_SECONDS = 15 * 60
#: Environment variable naming the role map; else ``.streamlit/roles.toml`` in the repository.
ROLE_MAP_ENV = "PPI_ROLE_MAP"
DEFAULT_ROLE_MAP = Path(__file__).resolve().parents[2] / ".streamlit" / "roles.toml"

NOT_ACCEPTED = "Username or password not accepted."
#: Audit name for sign-in attempts on names with no account: the typed text is not
#: recorded, since people sometimes type their password into the username field.
UNKNOWN_ACCOUNT = "(unknown account)"

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")
#: Words that with a few digits or symbols appended make the most guessed passwords.
_COMMON_WORDS = frozenset({
    "password", "passwort", "qwerty", "qwertz", "azerty", "letmein", "welcome", "admin",
    "administrator", "changeme", "iloveyou", "therapist", "monkey", "dragon", "secret",
    "peerprogram", "summer", "winter", "spring", "autumn",
})
#: Runs people type: digits, alphabet, and the letter keys row by row (three layouts).
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm",
              "qwertzuiopasdfghjklyxcvbnm", "azertyuiopqsdfghjklmwxcvbn")

#: argon2id with the library's RFC 9106 defaults (64 MiB, 3 passes, 4 lanes).
_HASHER = PasswordHasher()
_dummy_hash: str | None = None


@dataclass(frozen=True)
class SignInResult:
    """What a sign-in attempt came to.

    Parameters
    ----------
    ok : bool
        Whether the user is signed in.
    scope : Scope or None
        The signed-in scope (None unless ``ok``).
    message : str
        Safe to show; never says whether the username exists.
    retry_after_seconds : int
        Seconds to wait before the next attempt is considered (0 = no wait).
    """

    ok: bool
    scope: Scope | None
    message: str
    retry_after_seconds: int = 0


# ---------------------------------------------------------------------------------------
# Rules as small pure functions
# ---------------------------------------------------------------------------------------


def _utcnow() -> datetime:
    # Timestamps are stored as naive UTC, as in the audit log.
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _naive_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else \
        moment.astimezone(timezone.utc).replace(tzinfo=None)


def retry_delay(failures: int) -> int:
    """Seconds a sign-in must wait after ``failures`` consecutive failed attempts.

    Rule: none for the first two; then ``2 ** (failures - 3)`` seconds (1 s after the
    third, 2 s after the fourth, 4 s after the fifth, ...), capped at 15 minutes. Online
    guessing is slowed to a few attempts an hour while a user who mistypes twice is not
    held up.
    """
    if failures <= FREE_ATTEMPTS:
        return 0
    return min(MAX_DELAY_SECONDS, 2 ** min(failures - 3, 20))


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared in lower case."""
    return (username or "").strip().lower()


def validate_username(username: str) -> str:
    """The normalised username, or ValueError with a message for the user.

    3 to 64 characters: letters, digits, ``.``, ``_``, ``@``, ``-``, starting with a letter
    or digit (so that no name can be read as a spreadsheet formula in an export).
    """
    name = normalize_username(username)
    if not _USERNAME.fullmatch(name):
        raise ValueError(
            "A username has 3 to 64 characters (letters, digits, '.', '_', '@', '-') "
            "and starts with a letter or a digit."
        )
    return name


def password_problem(password: str, username: str = "") -> str | None:
    """Why ``password`` is refused, or None when it is acceptable.

    Refused: shorter than :data:`MIN_PASSWORD_LENGTH`; fewer than 5 different characters;
    a run along the keyboard, the digits or the alphabet (``123456789012``); a common word
    with digits or symbols appended (``Password2024!``); containing the username.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"A password needs at least {MIN_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    if len(set(lowered)) < 5:
        return "This password repeats too few characters; choose a less predictable one."
    word = re.sub(r"[\d\W_]+$", "", lowered)
    if word in _COMMON_WORDS or any(
        lowered in seq * 3 or lowered in (seq * 3)[::-1] for seq in _SEQUENCES
    ):
        return "This password is too easy to guess; choose a less predictable one."
    name = normalize_username(username)
    if name and len(name) >= 3 and name in lowered:
        return "The password must not contain the username."
    return None


def _check_password(password: str, username: str) -> None:
    problem = password_problem(password, username)
    if problem:
        raise ValueError(problem)


def _practices_for(role: str, practices: Iterable[str] | None) -> list[str] | None:
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


def is_session_expired(
    last_activity: datetime | None, now: datetime, idle_minutes: int
) -> bool:
    """Whether a signed-in session idle since ``last_activity`` has expired at ``now``.

    A session with no recorded activity counts as expired (fail closed).
    """
    if last_activity is None:
        return True
    return _naive_utc(now) - _naive_utc(last_activity) >= timedelta(minutes=idle_minutes)


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


def _account(cur: Any, username: str) -> dict[str, Any] | None:
    row = first(
        cur, "SELECT username, role, practices, active, password_hash, failed_attempts, "
        "locked_until FROM accounts WHERE username = ?", [username])
    if row is None:
        return None
    keys = ("username", "role", "practices", "active", "password_hash", "failed_attempts",
            "locked_until")
    return dict(zip(keys, row))


def _existing(cur: Any, username: str) -> dict[str, Any]:
    account = _account(cur, normalize_username(username))
    if account is None:
        raise ValueError(f"There is no account named {normalize_username(username)!r}.")
    return account


def _active_admins(cur: Any) -> int:
    return single_value(cur, "SELECT count(*) FROM accounts WHERE role = 'admin' AND active")


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
    stored_practices = _practices_for(role, practices)
    _check_password(password, name)
    password_hash = _HASHER.hash(password)
    with store.transaction() as cur:
        if bootstrap and single_value(cur, "SELECT count(*) FROM accounts"):
            raise PermissionDenied("An account was created meanwhile; please sign in.")
        if _account(cur, name) is not None:
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
    stored_practices = _practices_for(role, practices)
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
    _check_password(new_password, name)
    password_hash = _HASHER.hash(new_password)
    with store.transaction() as cur:
        _existing(cur, name)
        cur.execute(
            "UPDATE accounts SET password_hash = ?, failed_attempts = 0, locked_until = NULL "
            "WHERE username = ?", [password_hash, name])
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
        account = _account(cur, normalize_username(username))
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


# ---------------------------------------------------------------------------------------
# Sign-in
# ---------------------------------------------------------------------------------------


class _UnknownNameThrottle:
    """Failure counts for names with no account, kept in memory only.

    Without it, a name that never gets a delay would reveal that no such account exists.
    Keys are hashes of the name; the table is bounded and forgotten on restart.
    """

    _LIMIT = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[int, datetime | None]] = {}

    @staticmethod
    def _key(name: str) -> str:
        return hashlib.sha256(name.encode()).hexdigest()

    def locked_until(self, name: str) -> datetime | None:
        with self._lock:
            return self._state.get(self._key(name), (0, None))[1]

    def fail(self, name: str, now: datetime) -> tuple[int, int]:
        with self._lock:
            if len(self._state) >= self._LIMIT:
                self._state.clear()
            failures = self._state.get(self._key(name), (0, None))[0] + 1
            delay = retry_delay(failures)
            self._state[self._key(name)] = (
                failures, now + timedelta(seconds=delay) if delay else None)
            return failures, delay

    def clear(self) -> None:
        with self._lock:
            self._state.clear()


_unknown_names = _UnknownNameThrottle()


def _verify(password_hash: str | None, password: str) -> bool:
    global _dummy_hash
    if password_hash is None:
        # Spend the same time as a real check so that timing does not reveal the name.
        if _dummy_hash is None:
            _dummy_hash = _HASHER.hash("peer-program-impact: not a password")
        password_hash = _dummy_hash
        try:
            _HASHER.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _wait_message(seconds: int) -> str:
    return f"Too many attempts. Try again in {seconds} second{'s' if seconds != 1 else ''}."


def _failure(delay: int) -> SignInResult:
    message = NOT_ACCEPTED + (f" Wait {delay} s before the next attempt." if delay else "")
    return SignInResult(False, None, message, delay)


def verify_sign_in(
    store: Store, username: str, password: str, now: datetime | None = None
) -> SignInResult:
    """Check a username and password; record the attempt in the audit log.

    After the second consecutive failure each attempt must wait :func:`retry_delay`
    seconds (stored in ``locked_until``); an attempt during the wait is refused without
    looking at the password. A success resets the count. The message is the same
    whether or not the username exists.

    Parameters
    ----------
    store : Store
    username, password : str
    now : datetime, optional
        The moment of the attempt (naive UTC); the clock by default. For tests.
    """
    now = _naive_utc(now) if now is not None else _utcnow()
    name = normalize_username(username)
    with store.cursor() as cur:
        account = _account(cur, name)

    if account is None or account["password_hash"] is None:
        # No local password (unknown name, or an SSO-only account).
        until = _unknown_names.locked_until(name)
        if until is not None and now < until:
            return SignInResult(False, None, _wait_message(_seconds(until, now)),
                                _seconds(until, now))
        _verify(None, password)
        failures, delay = _unknown_names.fail(name, now)
        with store.transaction() as cur:
            audit.record(cur, UNKNOWN_ACCOUNT, "sign_in", "failed",
                         {"reason": "no such account", "failures": failures})
        return _failure(delay)

    until = account["locked_until"]
    if until is not None and now < until:
        wait = _seconds(until, now)
        with store.transaction() as cur:
            audit.record(cur, name, "sign_in", "refused",
                         {"reason": "locked", "retry_after_seconds": wait})
        return SignInResult(False, None, _wait_message(wait), wait)

    password_ok = _verify(account["password_hash"], password)
    if password_ok and account["active"]:
        new_hash = _HASHER.hash(password) if _HASHER.check_needs_rehash(
            account["password_hash"]) else account["password_hash"]
        with store.transaction() as cur:
            cur.execute(
                "UPDATE accounts SET failed_attempts = 0, locked_until = NULL, "
                "last_login = ?, password_hash = ? WHERE username = ?", [now, new_hash, name])
            audit.record(cur, name, "sign_in", "ok", {"method": "password"})
        return SignInResult(True, scope_for(account), "Signed in.", 0)

    with store.transaction() as cur:
        failures = single_value(
            cur, "UPDATE accounts SET failed_attempts = failed_attempts + 1 WHERE username = ? "
            "RETURNING failed_attempts", [name])
        delay = retry_delay(failures)
        cur.execute("UPDATE accounts SET locked_until = ? WHERE username = ?",
                    [now + timedelta(seconds=delay) if delay else None, name])
        audit.record(cur, name, "sign_in", "failed", {
            "reason": "deactivated" if password_ok else "wrong password",
            "failures": failures, "retry_after_seconds": delay})
    return _failure(delay)


def _seconds(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def record_sign_out(store: Store, scope: Scope, reason: str = "signed out") -> None:
    """Audit the end of a session (``signed out``, ``idle``, ``deactivated``)."""
    with store.transaction() as cur:
        audit.record(cur, scope.user, "sign_out", "ok", {"reason": reason})


# ---------------------------------------------------------------------------------------
# Single sign-on (OpenID Connect through st.login): the role map
# ---------------------------------------------------------------------------------------


def role_map_path() -> Path:
    """Where the role map is read from: ``$PPI_ROLE_MAP``, else ``.streamlit/roles.toml``."""
    return Path(os.environ.get(ROLE_MAP_ENV) or DEFAULT_ROLE_MAP)


def _entry_problem(where: str, entry: Any) -> str | None:
    if not isinstance(entry, Mapping):
        return f"{where}: expected a table like {{ role = \"leadership\" }}"
    try:
        _practices_for(entry.get("role", ""), entry.get("practices"))
    except ValueError as error:
        return f"{where}: {error}"
    return None


def load_role_map(path: str | Path | None = None) -> dict[str, Any]:
    """Read and check the role map (see ``config/roles.example.toml`` for its format).

    A missing file gives an empty map: every single-sign-on user is then refused.

    Raises
    ------
    ValueError
        The file is not valid TOML or an entry is invalid (message names the entry).
    """
    target = Path(path) if path is not None else role_map_path()
    if not target.exists():
        return {}
    try:
        role_map = tomllib.loads(target.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"The role map {target} is not valid TOML: {error}") from error
    problems = [
        problem
        for section in ("users", "groups", "domains")
        for key, entry in role_map.get(section, {}).items()
        if (problem := _entry_problem(f"[{section}] {key!r}", entry))
    ]
    if problems:
        raise ValueError(f"The role map {target} has invalid entries: " + "; ".join(problems))
    return role_map


def _claim_values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return []


def sso_scope(
    email: str | None, claims: Mapping[str, Any], role_map: Mapping[str, Any]
) -> Scope | None:
    """The scope of a single-sign-on user, or None when the role map does not admit them.

    Matching, first hit wins: ``[users]`` by e-mail (case-insensitive); then ``[groups]``
    by the values of the claim named by ``claim`` (e.g. ``groups`` or ``roles``), in the
    map's order; then ``[domains]`` by the e-mail's domain. A user whose provider says
    ``email_verified = false`` is matched by groups only, never by e-mail or domain.
    """
    mail = (email or "").strip().lower()
    verified = claims.get("email_verified") is not False
    entry: Mapping[str, Any] | None = None
    if verified and mail:
        users = {k.lower(): v for k, v in role_map.get("users", {}).items()}
        entry = users.get(mail)
    claim = role_map.get("claim")
    if entry is None and claim:
        held = set(_claim_values(claims.get(claim)))
        entry = next((v for k, v in role_map.get("groups", {}).items() if k in held), None)
    if entry is None and verified and "@" in mail:
        domains = {k.lower(): v for k, v in role_map.get("domains", {}).items()}
        entry = domains.get(mail.rsplit("@", 1)[1])
    if entry is None or _entry_problem("entry", entry):
        return None
    role = entry["role"]
    return scope_for({"username": sso_identity(email, claims), "role": role,
                      "practices": _practices_for(role, entry.get("practices"))})


def sso_identity(email: str | None, claims: Mapping[str, Any]) -> str:
    """The name a single-sign-on user has in scopes and the audit log: the e-mail in
    lower case, else the provider's subject identifier."""
    return (email or "").strip().lower() or str(claims.get("sub") or "(no e-mail)")


def record_sso_sign_in(store: Store, email: str | None, scope: Scope | None) -> None:
    """Audit a single-sign-on arrival: ``ok`` with the mapped role, or ``refused``."""
    with store.transaction() as cur:
        audit.record(cur, scope.user if scope else sso_identity(email, {}), "sign_in",
                     "ok" if scope else "refused",
                     {"method": "sso", "role": scope.role if scope else None,
                      "reason": None if scope else "not in the role map"})


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
