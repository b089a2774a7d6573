"""The folder an upload's decoded copy is written to while DuckDB reads it.

DuckDB reads a CSV from a path, so every upload (held in memory as bytes) is written
out once (:func:`analysis.intake.readers.decode`). On a disk that copy cost a third of a
second per 100 MB, more than any single check of the upload. A memory-backed folder
(``/dev/shm`` on Linux) takes the same bytes in a fraction of that, so it is used when
it exists, can be written, and has room to spare; otherwise the system's temporary
folder is, as before. The copy lives only while the upload is read: the folder is
removed when the ``with`` block ends, whatever happens in it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["MEMORY_FOLDERS", "ROOM_FACTOR", "ROOM_MARGIN", "scratch_root", "upload_workdir"]

#: Memory-backed folders, tried in order.
MEMORY_FOLDERS: tuple[Path, ...] = (Path("/dev/shm"),)
#: A decoded copy can be larger than the upload (a workbook becomes CSV text, a
#: single-byte encoding becomes UTF-8): room for this many times the upload is asked for.
ROOM_FACTOR = 4
#: ... plus this much, so that an upload never fills the memory folder for others.
ROOM_MARGIN = 256 << 20


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


def upload_workdir(size: int, prefix: str = "ppi_upload_",
                   candidates: Sequence[Path] = MEMORY_FOLDERS) -> tempfile.TemporaryDirectory:
    """A temporary folder for an upload of ``size`` bytes, memory-backed when there is room
    (:func:`scratch_root`); use it as a context manager, which removes it."""
    return tempfile.TemporaryDirectory(prefix=prefix, dir=scratch_root(size, candidates))
