"""Usernames and passwords: what is accepted, and how a password is hashed and checked.

Strength is estimated with zxcvbn (Dropbox's estimator: dictionaries of common and
breached passwords, names, keyboard patterns, l33t substitutions, dates), so that
``P@ssw0rd2024`` or ``qwertyuiop12`` are refused although they are long and varied.
Hashes are argon2id at the library's RFC 9106 cost; a password or a hash is never logged.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

MIN_PASSWORD_LENGTH = 12
#: zxcvbn's score (0–4) a password needs: 3 = "safely unguessable: moderate protection
#: from an offline slow-hash scenario" (about 10^8 guesses or more).
MIN_STRENGTH_SCORE = 3
#: zxcvbn's time grows with length; its own advice is to cut the input at 100 characters.
_STRENGTH_CHECK_LENGTH = 100
MAX_PASSWORD_LENGTH = 1024

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")
#: Words of this app's world an attacker would try first (fed to zxcvbn as user inputs).
_APP_WORDS = ("peer", "program", "impact", "peerprogram", "burnout", "therapist",
              "counselor", "practice", "wellbeing")

#: argon2id with the library's RFC 9106 defaults (64 MiB, 3 passes, 4 lanes). Tests
#: replace it with a cheaper instance of the same algorithm.
HASHER = PasswordHasher()
#: A hash of a fixed text per hasher, checked when there is no account (see below).
_dummy: dict[int, str] = {}


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

    Refused: shorter than :data:`MIN_PASSWORD_LENGTH` or longer than
    :data:`MAX_PASSWORD_LENGTH`; containing the username; a zxcvbn score below
    :data:`MIN_STRENGTH_SCORE` (common or breached passwords with digits or symbols
    added, keyboard runs, repeats, dates, the app's own words).

    Examples
    --------
    >>> password_problem("P@ssw0rd2024") is not None
    True
    >>> password_problem("Fjord-lantern-71") is None
    True
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"A password needs at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"A password has at most {MAX_PASSWORD_LENGTH} characters."
    name = normalize_username(username)
    if name and len(name) >= 3 and name in password.lower():
        return "The password must not contain the username."
    inputs = [*_APP_WORDS, *([name] if name else [])]
    result = zxcvbn(password[:_STRENGTH_CHECK_LENGTH], user_inputs=inputs)
    if result["score"] < MIN_STRENGTH_SCORE:
        hint = (result.get("feedback") or {}).get("warning") or ""
        return ("This password is too easy to guess" + (f" ({hint.rstrip('.')})" if hint
                                                         else "")
                + "; choose a less predictable one, e.g. three or four unrelated words.")
    return None


def check_password(password: str, username: str = "") -> None:
    """Raise ValueError with :func:`password_problem`'s message when refused."""
    problem = password_problem(password, username)
    if problem:
        raise ValueError(problem)


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return HASHER.hash(password)


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made at another cost than the current one."""
    return HASHER.check_needs_rehash(password_hash)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``.

    With no hash (unknown name, single-sign-on account) a dummy hash is checked anyway,
    so that the time taken does not reveal whether an account exists.
    """
    if password_hash is None:
        dummy = _dummy.get(id(HASHER))
        if dummy is None:
            dummy = _dummy[id(HASHER)] = HASHER.hash("peer-program-impact: not a password")
        try:
            HASHER.verify(dummy, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
