"""Sign-in with a username and password, slowed down after failures.

The throttle is atomic: an attempt is counted (``failed_attempts`` raised and the wait
set) in the same transaction that reads the count and the wait, *before* the password
is checked. Twelve wrong passwords sent at once therefore see counts 1, 2, 3, ... and
only the first ones are checked; the rest are refused without looking at the password.
A success resets the count. The message never says whether the username exists.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from analysis.access import passwords
from analysis.access.accounts import account_row, scope_for
from analysis.access.passwords import normalize_username
from analysis.access.scope import Scope
from analysis.storage import audit
from analysis.storage.store import Store, single_value

#: Failed attempts allowed before each further attempt must wait.
FREE_ATTEMPTS = 2
MAX_DELAY_SECONDS = 15 * 60
NOT_ACCEPTED = "Username or password not accepted."
#: Audit name for sign-in attempts on names with no account: the typed text is not
#: recorded, since people sometimes type their password into the username field.
UNKNOWN_ACCOUNT = "(unknown account)"


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


def utcnow() -> datetime:
    """Now, as naive UTC (how timestamps are stored, as in the audit log)."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(moment: datetime) -> datetime:
    """``moment`` as naive UTC."""
    return moment if moment.tzinfo is None else \
        moment.astimezone(UTC).replace(tzinfo=None)


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


def _seconds(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def _wait_message(seconds: int) -> str:
    return f"Too many attempts. Try again in {seconds} second{'s' if seconds != 1 else ''}."


def _failure(delay: int) -> SignInResult:
    message = NOT_ACCEPTED + (f" Wait {delay} s before the next attempt." if delay else "")
    return SignInResult(False, None, message, delay)


@dataclass(frozen=True)
class _Reservation:
    """An attempt counted before its password is checked (or refused: ``wait`` > 0)."""

    failures: int = 0
    delay: int = 0
    wait: int = 0


class UnknownNameThrottle:
    """Failure counts for names with no account, kept in memory only.

    Without it, a name that never gets a delay would reveal that no such account exists.
    Keys are hashes of the name; the table is bounded and forgotten on restart. The
    check and the count happen under one lock, as the database throttle does in one
    transaction.
    """

    _LIMIT = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[int, datetime | None]] = {}

    @staticmethod
    def _key(name: str) -> str:
        return hashlib.sha256(name.encode()).hexdigest()

    def reserve(self, name: str, now: datetime) -> _Reservation:
        """Count one attempt on ``name``, or refuse it while its wait runs."""
        with self._lock:
            failures, until = self._state.get(self._key(name), (0, None))
            if until is not None and now < until:
                return _Reservation(wait=_seconds(until, now))
            if len(self._state) >= self._LIMIT:
                self._state.clear()
            failures += 1
            delay = retry_delay(failures)
            self._state[self._key(name)] = (
                failures, now + timedelta(seconds=delay) if delay else None)
            return _Reservation(failures, delay)

    def clear(self) -> None:
        """Forget every count (tests; a restart does the same)."""
        with self._lock:
            self._state.clear()


unknown_names = UnknownNameThrottle()


def _reserve(store: Store, name: str, now: datetime) -> tuple[dict | None, _Reservation]:
    """Read the account and count this attempt, in one transaction."""
    with store.transaction() as cur:
        account = account_row(cur, name)
        if account is None or account["password_hash"] is None:
            return account, _Reservation()
        until = account["locked_until"]
        if until is not None and now < until:
            wait = _seconds(until, now)
            audit.record(cur, name, "sign_in", "refused",
                         {"reason": "locked", "retry_after_seconds": wait})
            return account, _Reservation(wait=wait)
        failures = single_value(
            cur, "UPDATE accounts SET failed_attempts = failed_attempts + 1 WHERE username = ? "
            "RETURNING failed_attempts", [name])
        delay = retry_delay(failures)
        cur.execute("UPDATE accounts SET locked_until = ? WHERE username = ?",
                    [now + timedelta(seconds=delay) if delay else None, name])
    return account, _Reservation(int(failures), delay)


def verify_sign_in(
    store: Store, username: str, password: str, now: datetime | None = None
) -> SignInResult:
    """Check a username and password; record the attempt in the audit log.

    After the second consecutive failure each attempt must wait :func:`retry_delay`
    seconds (stored in ``locked_until``); an attempt during the wait is refused without
    looking at the password. The attempt is counted before the password is checked (see
    the module docstring), so parallel attempts cannot pass the throttle together.

    Parameters
    ----------
    store : Store
    username, password : str
    now : datetime, optional
        The moment of the attempt (naive UTC); the clock by default. For tests.
    """
    now = naive_utc(now) if now is not None else utcnow()
    name = normalize_username(username)
    account, reserved = _reserve(store, name, now)
    if account is None or account["password_hash"] is None:
        # No local password (unknown name, or an SSO-only account).
        reserved = unknown_names.reserve(name, now)
        if reserved.wait:
            return SignInResult(False, None, _wait_message(reserved.wait), reserved.wait)
        passwords.verify_password(None, password)
        with store.transaction() as cur:
            audit.record(cur, UNKNOWN_ACCOUNT, "sign_in", "failed",
                         {"reason": "no such account", "failures": reserved.failures})
        return _failure(reserved.delay)
    if reserved.wait:
        return SignInResult(False, None, _wait_message(reserved.wait), reserved.wait)

    password_ok = passwords.verify_password(account["password_hash"], password)
    if password_ok and account["active"]:
        new_hash = passwords.hash_password(password) if passwords.needs_rehash(
            account["password_hash"]) else account["password_hash"]
        with store.transaction() as cur:
            cur.execute(
                "UPDATE accounts SET failed_attempts = 0, locked_until = NULL, "
                "last_login = ?, password_hash = ? WHERE username = ?", [now, new_hash, name])
            audit.record(cur, name, "sign_in", "ok", {"method": "password"})
        return SignInResult(True, scope_for(account), "Signed in.", 0)

    with store.transaction() as cur:
        audit.record(cur, name, "sign_in", "failed", {
            "reason": "deactivated" if password_ok else "wrong password",
            "failures": reserved.failures, "retry_after_seconds": reserved.delay})
    return _failure(reserved.delay)


def record_sign_out(store: Store, scope: Scope, reason: str = "signed out") -> None:
    """Audit the end of a session (``signed out``, ``idle``, ``deactivated``)."""
    with store.transaction() as cur:
        audit.record(cur, scope.user, "sign_out", "ok", {"reason": reason})
