"""The folder an upload's decoded copy is written to while DuckDB reads it.

DuckDB reads a CSV from a path, so every upload (held in memory as bytes) is written
out once (:func:`analysis.intake.readers.decode`). On a disk that copy cost a third of a
second per 100 MB, more than any single check of the upload. A memory-backed folder
(``/dev/shm`` on Linux) takes the same bytes in a fraction of that, so it is used when
it exists, can be written, and has room to spare; otherwise the system's temporary
folder is, as before. The copy lives only while the upload is read: the folder is
removed when the ``with`` block ends, whatever happens in it. A process killed during an
upload cannot remove its folder, and the copy (IDs not yet pseudonymized) would stay in
memory until the machine restarts: the next upload removes such folders once they are
older than any upload takes (:func:`remove_stale`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["MEMORY_FOLDERS", "PREFIXES", "PREVIEW_PREFIX", "ROOM_FACTOR", "ROOM_MARGIN",
           "STALE_AFTER_SECONDS", "UPLOAD_PREFIX", "remove_stale", "scratch_root",
           "upload_workdir"]

#: Memory-backed folders, tried in order.
MEMORY_FOLDERS: tuple[Path, ...] = (Path("/dev/shm"),)
#: A decoded copy can be larger than the upload (a workbook becomes CSV text, a
#: single-byte encoding becomes UTF-8): room for this many times the upload is asked for.
ROOM_FACTOR = 4
#: ... plus this much, so that an upload never fills the memory folder for others.
ROOM_MARGIN = 256 << 20
#: How the working folders of uploads and of previews are named.
UPLOAD_PREFIX = "ppi_upload_"
PREVIEW_PREFIX = "ppi_preview_"
PREFIXES = (UPLOAD_PREFIX, PREVIEW_PREFIX)
#: A working folder untouched this long is left over from a killed process (an upload
#: takes minutes at most, and writes its files when it starts).
STALE_AFTER_SECONDS = 6 * 3600


def scratch_root(size: int, candidates: Sequence[Path] = MEMORY_FOLDERS) -> str | None:
    """The folder to make an upload's working folder in, or None for the system default.

    Parameters
    ----------
    size : int
        The upload's size in bytes (all its files).
    candidates : sequence of Path
        Memory-backed folders to try, in order.

    Returns
    -------
    str or None
        The first candidate that is a writable folder with free room for
        ``ROOM_FACTOR × size + ROOM_MARGIN`` bytes; None when none is.

    Examples
    --------
    >>> scratch_root(10, candidates=(Path("/no/such/folder"),)) is None
    True
    """
    need = ROOM_FACTOR * max(int(size), 0) + ROOM_MARGIN
    for folder in candidates:
        try:
            if not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
                continue
            if shutil.disk_usage(folder).free >= need:
                return str(folder)
        except OSError:
            continue
    return None


def remove_stale(folder: str | Path, now: float | None = None) -> int:
    """Remove the working folders (:data:`PREFIXES`) in ``folder`` last changed more than
    :data:`STALE_AFTER_SECONDS` ago; returns how many were removed. Anything else in the
    folder, and a folder that cannot be read or removed, is left as it is."""
    cutoff = (time.time() if now is None else now) - STALE_AFTER_SECONDS
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        try:
            if (entry.name.startswith(PREFIXES) and entry.is_dir(follow_symlinks=False)
                    and entry.stat(follow_symlinks=False).st_mtime < cutoff):
                shutil.rmtree(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def upload_workdir(size: int, prefix: str = UPLOAD_PREFIX,
                   candidates: Sequence[Path] = MEMORY_FOLDERS) -> tempfile.TemporaryDirectory:
    """A temporary folder for an upload of ``size`` bytes, memory-backed when there is room
    (:func:`scratch_root`); use it as a context manager, which removes it. Folders that
    killed processes left in the same place are removed first (:func:`remove_stale`)."""
    root = scratch_root(size, candidates)
    remove_stale(root or tempfile.gettempdir())
    return tempfile.TemporaryDirectory(prefix=prefix, dir=root)
