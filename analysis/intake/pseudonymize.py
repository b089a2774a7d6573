"""Replace respondent IDs by a keyed hash before they are stored.

Each ID becomes ``h_`` followed by the first 20 hex digits (80 bits) of
HMAC-SHA256(secret, ID). The secret is 32 random bytes made once per installation and
kept in a file outside the database and the repository (``$PPI_SECRET_FILE``, default
``~/.peer_program_impact/pseudonym.key``, mode 0600 in a folder the app makes 0700), so
that a copy of the database alone cannot be reversed by hashing guessed IDs.

Pseudonymization is on by default (an administrator may switch it off in Settings).

The same ID gives the same hash in the survey and the attendance file and in every
later upload on the same installation. Losing the secret file would make every
returning person a new respondent, so once pseudonymized data is stored a missing key
stops the upload (:func:`key_problem`) instead of silently making a new one: restore the
key from the backup (kept apart from the database) or start over with a new database.

Collision odds: for n distinct IDs, about n² / 2⁸¹; for 100,000 IDs that is 4 × 10⁻¹⁵.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from pathlib import Path

import duckdb

from analysis.intake.problems import Problem
from analysis.storage.private_files import (
    DEFAULT_SECRET_FILE,
    SECRET_ENV,
    KeyMissing,
    read_or_create_key,
    secret_path,
)

__all__ = ["DEFAULT_SECRET_FILE", "SECRET_ENV", "PREFIX", "HEX_DIGITS", "secret_path",
           "load_secret", "KeyMissing", "pseudonym", "pseudonyms", "pseudonymize_by_default",
           "key_problem", "pseudonym_sql"]

PREFIX = "h_"
HEX_DIGITS = 20


def load_secret(path: Path | None = None, *, create: bool = True) -> bytes:
    """The installation's secret, created (32 random bytes, mode 0600) on first use.

    Raises
    ------
    KeyMissing
        The file is absent and ``create`` is False.
    ValueError
        The file is damaged (too short).
    """
    try:
        return read_or_create_key(path or secret_path(), create=create)
    except ValueError as error:
        raise ValueError(f"The pseudonymization key file is damaged: {error}") from error


def pseudonymize_by_default(cur: duckdb.DuckDBPyConnection) -> bool:
    """The installation's setting: on unless an administrator stored ``0``."""
    row = cur.execute("SELECT value FROM settings WHERE key = 'pseudonymize'").fetchone()
    return row is None or row[0].strip() != "0"


def key_problem(cur: duckdb.DuckDBPyConnection, file_name: str,
                path: Path | None = None) -> Problem | None:
    """A refusal when the key is missing although pseudonymized data is stored.

    A new key would give every returning person a new code, splitting each person in
    two without any error; the upload stops instead, and says how to recover.
    """
    target = path or secret_path()
    if target.exists():
        return None
    stored = cur.execute("SELECT count(*) FROM uploads WHERE pseudonymized AND "
                         "status = 'applied'").fetchone()[0]
    if not stored:
        return None
    return Problem(
        file_name, None, None, None, "the pseudonymization key used for the stored data",
        "error",
        f"the pseudonymization key {target} is missing, but {stored} stored upload"
        f"{'s were' if stored != 1 else ' was'} pseudonymized with it. Restore the key "
        f"file from your backup (or point {SECRET_ENV} to it), or start over with a new "
        "database; a new key would make every returning person a new respondent")


def pseudonym(respondent_id: str, secret: bytes) -> str:
    """The keyed hash of one ID (surrounding spaces ignored).

    Examples
    --------
    >>> pseudonym("P0042", b"k" * 32) == pseudonym(" P0042 ", b"k" * 32)
    True
    >>> pseudonym("P0042", b"k" * 32).startswith("h_")
    True
    """
    digest = hmac.new(secret, respondent_id.strip().encode("utf-8"), hashlib.sha256)
    return PREFIX + digest.hexdigest()[:HEX_DIGITS]


def pseudonyms(ids: Iterable[str], secret: bytes | None = None) -> dict[str, str]:
    """Hashes of many IDs: ``{id: pseudonym}`` (the secret is loaded once)."""
    key = secret if secret is not None else load_secret()
    return {i: pseudonym(i, key) for i in ids}



#: Characters Python's ``str.strip()`` removes (RE2 class), so SQL strips as :func:`pseudonym`.
_PY_SPACE = "[" + "".join(f"\\x{{{c:04X}}}" for c in range(0x110000) if chr(c).isspace()) + "]"
_BLOCK = 64  # SHA-256's block size, in bytes (RFC 2104)


def pseudonym_sql(expression: str, secret: bytes) -> tuple[str, dict[str, bytes]]:
    """SQL computing :func:`pseudonym` of a VARCHAR expression row by row, and its
    parameters (``$hmac_inner``, ``$hmac_outer``: the key's padded blocks).

    HMAC written out (RFC 2104) with DuckDB's ``sha256``, so that IDs are hashed inside
    DuckDB, never fetched into Python; :func:`analysis.intake.keys.map_keys` applies it
    once per distinct ID (two SHA-256 a row cost as much as reading the file). NULL stays NULL;
    an ID that is blank once trimmed hashes like ``""``, as in Python. Tests hold it equal
    to :func:`pseudonym`.
    """
    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    key = key.ljust(_BLOCK, b"\x00")
    inner = bytes(b ^ 0x36 for b in key)
    outer = bytes(b ^ 0x5C for b in key)
    stripped = f"regexp_replace({expression}, '^{_PY_SPACE}+|{_PY_SPACE}+$', '', 'g')"
    digest = (f"sha256($hmac_outer::BLOB || unhex(sha256($hmac_inner::BLOB || "
              f"encode({stripped}))))")
    return (f"('{PREFIX}' || substr({digest}, 1, {HEX_DIGITS}))",
            {"hmac_inner": inner, "hmac_outer": outer})
