"""Files only their owner may read: the database and the installation's keys.

Rules (the hardening issue): a folder the app creates is made ``0700``; a folder that
already exists is never changed (it may be a shared temporary folder or the user's home);
a key or database file the app creates is ``0600`` from its first byte.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

#: Environment variable naming the pseudonymization key file; the other keys (session
#: signing) live in the same folder.
SECRET_ENV = "PPI_SECRET_FILE"
DEFAULT_SECRET_FILE = Path("~/.peer_program_impact/pseudonym.key")
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def secret_path() -> Path:
    """The pseudonymization key: ``$PPI_SECRET_FILE`` or
    ``~/.peer_program_impact/pseudonym.key``."""
    return Path(os.environ.get(SECRET_ENV) or DEFAULT_SECRET_FILE).expanduser()


def key_folder() -> Path:
    """The folder of the installation's keys (the pseudonymization key's folder)."""
    return secret_path().parent


class KeyMissing(Exception):
    """A key file that must exist does not. The message says what to do."""


def make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and any missing parents, each created one ``0700``.

    Folders that exist already keep their mode: chmod on a folder the app did not
    create (``/tmp``, a home folder, a shared drive) would be a surprise at best.
    """
    missing: list[Path] = []
    current = Path(folder)
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # made by another process meanwhile: not ours to change
        # mkdir's mode is masked by the umask; the folder is ours, so set it exactly.
        os.chmod(path, PRIVATE_DIR_MODE)


def restrict_new_file(path: Path) -> None:
    """Make a file the app has just created readable by its owner only."""
    try:
        os.chmod(path, PRIVATE_FILE_MODE)
    except OSError:
        pass  # a file system without modes (e.g. some network shares): nothing to set


def read_or_create_key(path: Path, nbytes: int = 32, *, create: bool = True,
                       min_bytes: int = 16) -> bytes:
    """The key in ``path``; made (``nbytes`` random bytes, mode 0600) when absent.

    Parameters
    ----------
    path : Path
    nbytes : int
        Size of a new key.
    create : bool
        When False a missing file raises :class:`KeyMissing` instead of making a key.
    min_bytes : int
        A shorter file is damaged (ValueError).

    Raises
    ------
    KeyMissing
        The file is absent and ``create`` is False.
    ValueError
        The file is shorter than ``min_bytes``.
    """
    path = Path(path)
    if not path.exists():
        if not create:
            raise KeyMissing(f"The key file {path} is missing.")
        make_private_dirs(path.parent)
        key = secrets.token_bytes(nbytes)
        # O_EXCL: two processes creating the key at once must not end with different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        except FileExistsError:
            return read_or_create_key(path, nbytes, create=False, min_bytes=min_bytes)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        restrict_new_file(path)
        return key
    key = path.read_bytes()
    if len(key) < min_bytes:
        raise ValueError(f"The key file {path} is damaged (too short).")
    return key
