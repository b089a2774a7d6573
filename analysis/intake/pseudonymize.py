"""Replace respondent IDs by a keyed hash before they are stored.

Each ID becomes ``h_`` followed by the first 20 hex digits (80 bits) of
HMAC-SHA256(secret, ID). The secret is 32 random bytes made once per installation and
kept in a file outside the database and the repository (``$PPI_SECRET_FILE``, default
``~/.peer_program_impact/pseudonym.key``, readable by its owner only), so that a copy of
the database alone cannot be reversed by hashing guessed IDs.

The same ID gives the same hash in the survey and the attendance file and in every
later upload on the same installation; losing the secret file means later uploads no
longer match earlier ones (back it up with the database, but store it apart).

Collision odds: for n distinct IDs, about n² / 2⁸¹; for 100,000 IDs that is 4 × 10⁻¹⁵.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

#: Environment variable naming the secret file.
SECRET_ENV = "PPI_SECRET_FILE"
DEFAULT_SECRET_FILE = Path("~/.peer_program_impact/pseudonym.key")
PREFIX = "h_"
HEX_DIGITS = 20


def secret_path() -> Path:
    """The secret file: ``$PPI_SECRET_FILE`` or ``~/.peer_program_impact/pseudonym.key``."""
    return Path(os.environ.get(SECRET_ENV) or DEFAULT_SECRET_FILE).expanduser()


def load_secret(path: Path | None = None) -> bytes:
    """The installation's secret, created (32 random bytes, mode 0600) on first use."""
    path = path or secret_path()
    if path.exists():
        secret = path.read_bytes()
        if len(secret) < 16:
            raise ValueError(f"The pseudonymization key file {path} is damaged (too short).")
        return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(path.parent, 0o700)
    except OSError:
        pass
    secret = secrets.token_bytes(32)
    # O_EXCL: two processes creating the key at once must not end with different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret)
    return secret


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
