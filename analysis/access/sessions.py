"""Sessions that survive a reload, a new tab or a bookmark: a signed, expiring, revocable
token kept in a cookie (never in the URL).

A token is ``<id>.<signature>``: 32 random bytes, and an HMAC-SHA256 of them with the
installation's session key (a 0600 file beside the pseudonymization key). The database
keeps only the SHA-256 of the id, with the account, the time of the last step, an
absolute expiry and a revocation time, so

* a copy of the database cannot be turned into a cookie (only hashes are stored);
* a forged or altered cookie fails the signature before the database is read;
* signing out, a password reset or a deactivation revokes the session server-side;
* a session ends after ``idle_minutes`` without a step, and in any case after
  :data:`ABSOLUTE_HOURS`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from analysis.access.accounts import account_row, scope_for
from analysis.access.scope import Scope
from analysis.storage.private_files import key_folder, read_or_create_key
from analysis.storage.store import Store

COOKIE_NAME = "ppi_session"
#: A session ends this long after sign-in, however active (the cookie's Max-Age too).
ABSOLUTE_HOURS = 12
#: Environment variable naming the session key file (default: beside the other keys).
SESSION_KEY_ENV = "PPI_SESSION_KEY_FILE"
#: ``last_seen`` is written at most this often, so a page's reruns do not each write.
TOUCH_SECONDS = 30


@dataclass(frozen=True)
class Session:
    """A valid session: the viewer's scope and how they signed in."""

    scope: Scope
    method: str
    token: str


def session_key_path() -> Path:
    """``$PPI_SESSION_KEY_FILE``, else ``session.key`` beside the pseudonymization key."""
    return Path(os.environ.get(SESSION_KEY_ENV) or key_folder() / "session.key").expanduser()


def _key() -> bytes:
    return read_or_create_key(session_key_path())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _signature(session_id: str, key: bytes) -> str:
    return _b64(hmac.new(key, session_id.encode("ascii"), hashlib.sha256).digest())


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def _verified_id(token: str | None, key: bytes) -> str | None:
    """The id of a well-formed token whose signature is right, else None."""
    if not token or len(token) > 200 or token.count(".") != 1:
        return None
    session_id, signature = token.split(".")
    try:
        session_id.encode("ascii")
        signature.encode("ascii")
    except UnicodeEncodeError:
        return None
    if not hmac.compare_digest(signature, _signature(session_id, key)):
        return None
    return session_id


def start(store: Store, scope: Scope, method: str, now: datetime) -> str:
    """Open a session for ``scope`` and return its token (for the cookie).

    Parameters
    ----------
    store : Store
    scope : Scope
        Of a signed-in account (``scope.user`` is its username).
    method : str
        ``password`` (the only method whose sessions are kept across reloads).
    now : datetime
        Naive UTC.
    """
    session_id = _b64(secrets.token_bytes(32))
    with store.transaction() as cur:
        # Housekeeping on the way: sessions past their absolute expiry are gone for good.
        cur.execute("DELETE FROM sessions WHERE expires_at <= ?", [now])
        cur.execute(
            "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, NULL)",
            [_id_hash(session_id), scope.user, method, now, now,
             now + timedelta(hours=ABSOLUTE_HOURS)])
    return f"{session_id}.{_signature(session_id, _key())}"


def resume(store: Store, token: str | None, now: datetime, idle_minutes: int
           ) -> Session | None:
    """The session a cookie's token stands for, or None (ended, forged, unknown).

    A session is valid while not revoked, before its absolute expiry, less than
    ``idle_minutes`` after its last step, and while its account is active; the account's
    current role and practices are used (a change applies at once). A valid session's
    last step is moved to ``now``.
    """
    session_id = _verified_id(token, _key())
    if session_id is None:
        return None
    with store.cursor() as cur:
        row = cur.execute(
            "SELECT username, method, last_seen, expires_at, revoked_at FROM sessions "
            "WHERE token_hash = ?", [_id_hash(session_id)]).fetchone()
        if row is None:
            return None
        username, method, last_seen, expires_at, revoked_at = row
        if revoked_at is not None or now >= expires_at or \
                now - last_seen >= timedelta(minutes=idle_minutes):
            return None
        account = account_row(cur, username)
    if account is None or not account["active"]:
        return None
    if (now - last_seen).total_seconds() >= TOUCH_SECONDS:
        with store.transaction() as cur:
            cur.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?",
                        [now, _id_hash(session_id)])
    return Session(scope_for(account), method, str(token))


def end(store: Store, token: str | None, now: datetime) -> None:
    """Revoke the session of ``token`` (signing out). Unknown tokens are ignored."""
    session_id = _verified_id(token, _key())
    if session_id is None:
        return
    with store.transaction() as cur:
        cur.execute("UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND "
                    "revoked_at IS NULL", [now, _id_hash(session_id)])


def forget_expired(store: Store, now: datetime) -> int:
    """Delete sessions past their absolute expiry (housekeeping); returns how many."""
    with store.transaction() as cur:
        return len(cur.execute(
            "DELETE FROM sessions WHERE expires_at <= ? RETURNING 1", [now]).fetchall())


def is_session_expired(
    last_activity: datetime | None, now: datetime, idle_minutes: int
) -> bool:
    """Whether a session idle since ``last_activity`` (naive UTC) has expired at ``now``.

    A session with no recorded activity counts as expired (fail closed).
    """
    if last_activity is None:
        return True
    return now - last_activity >= timedelta(minutes=idle_minutes)
