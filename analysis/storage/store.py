"""The one owner of the database.

As datasette's ``database.py`` owns SQLite, :class:`Store` owns the DuckDB file: it holds
the single root connection, hands out a fresh ``cursor()`` per task (DuckDB 2.0 refuses a
connection shared between threads: "connection is busy"), serialises writers, runs
transactions, and creates and migrates the schema by version. Pages and the command line
both go through it; nothing else calls ``duckdb.connect``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

import duckdb

from analysis.storage import schema
from analysis.storage.private_files import make_private_dirs, restrict_new_file

#: Environment variable naming the database file.
DB_ENV = "PPI_DB"
_REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB = _REPO_ROOT / "var" / "peer_program_impact.duckdb"
#: Environment variable bounding DuckDB's memory pool, and its default.
MEMORY_ENV = "PPI_DB_MEMORY"
DEFAULT_MEMORY_LIMIT = "512MB"
#: Environment variable for the larger pool an upload's transaction gets, and its default:
#: at 512 MB a million-row upload spills its staged text to disk (about a tenth slower).
UPLOAD_MEMORY_ENV = "PPI_UPLOAD_MEMORY"
DEFAULT_UPLOAD_MEMORY_LIMIT = "1GB"

T = TypeVar("T")


class StoreUnavailable(Exception):
    """The database cannot be opened (held by another program, unwritable, corrupt).

    The message is written for a practice manager and is safe to show.
    """


def default_db_path() -> Path:
    """The database file: ``$PPI_DB`` when set, else ``var/`` beside the code (git-ignored)."""
    return Path(os.environ.get(DB_ENV) or DEFAULT_DB)




def explain_open_error(path: Path, error: Exception) -> str:
    """A database or file-system failure in words a practice manager understands.

    Parameters
    ----------
    path : Path
        The database file.
    error : Exception
        What DuckDB or the operating system raised.

    Returns
    -------
    str
        One or two sentences, safe to show (no traceback).
    """
    text = str(error)
    if "lock" in text.lower():
        pid = re.search(r"PID (\d+)", text)
        holder = f" (process {pid.group(1)})" if pid else ""
        return (
            f"The database {path} is in use by another program{holder}. Close the other "
            "copy of Peer Program Impact (or the command line run) and try again."
        )
    if isinstance(error, PermissionError) or "permission" in text.lower() or \
            "read-only" in text.lower():
        return f"The database {path} cannot be written here: the folder is read-only."
    if "no space" in text.lower():
        return f"The disk holding {path} is full; nothing was changed."
    return f"The database {path} could not be opened: {text.splitlines()[0]}"


Params = Sequence[Any] | dict[str, Any] | None


def first(cur: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> tuple | None:
    """The first row of a query on an open cursor, or None when it returns no row."""
    return cur.execute(sql, params).fetchone() if params is not None else \
        cur.execute(sql).fetchone()


def single_value(cur: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> Any:
    """The first column of the first row of a query (None when it returns no row).

    Meant for aggregates (``count(*)``, ``EXISTS``, ``nextval``), which always return a row.
    """
    row = first(cur, sql, params)
    return None if row is None else row[0]


def read_settings(cur: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every stored setting as text: the one place the ``settings`` table is read.

    :func:`analysis.access.settings.load_settings` turns these into typed settings.
    """
    return dict(cur.execute("SELECT key, value FROM settings").fetchall())


def write_setting(cur: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    """Store one setting through an open cursor (inside the caller's transaction)."""
    cur.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [key, value])


@contextmanager
def scratch_cursor() -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a private in-memory database (nothing stored), e.g. to read a file
    when no store is at hand; closed afterwards."""
    con = duckdb.connect(":memory:")
    try:
        yield con
    finally:
        con.close()


class Store:
    """Owner of one DuckDB database file.

    Parameters
    ----------
    path : str or Path, optional
        The file; defaults to :func:`default_db_path`. ``":memory:"`` for a scratch store.
    read_only : bool
        Open without write access (no migration is run).
    keep_derived : bool
        Remember what :meth:`remembered` builds until the data changes (the app's one
        process-wide store: every session and page shares the organization's panel and
        the guard's atoms). Off for one-shot use (CLI, benchmarks): nothing is held.

    Raises
    ------
    StoreUnavailable
        When the file is locked by another process, unwritable or unreadable.
    """

    def __init__(self, path: str | Path | None = None, read_only: bool = False,
                 keep_derived: bool = False) -> None:
        self.keep_derived = keep_derived
        self._derived: dict[Hashable, Any] = {}
        self._derived_version: str | None = None
        self._derived_locks: dict[Hashable, threading.Lock] = {}
        self._derived_guard = threading.Lock()
        self._pin = threading.local()  # a version pinned for one read-only computation
        self.path = Path(path) if path not in (None, ":memory:") else (
            default_db_path() if path is None else Path(":memory:"))
        self.read_only = read_only
        self._write_lock = threading.RLock()
        target = str(self.path)
        created = target != ":memory:" and not self.path.exists()
        try:
            if target != ":memory:":
                make_private_dirs(self.path.parent)
            self._root = duckdb.connect(
                target, read_only=read_only,
                # DuckDB keeps what a query used up to its limit (80% of RAM by default);
                # a bounded pool spills to disk instead and keeps the app's footprint small.
                config={"memory_limit": os.environ.get(MEMORY_ENV, DEFAULT_MEMORY_LIMIT),
                        # Hands freed buffers back to the OS promptly (lower peak RSS).
                        "allocator_background_threads": True},
            )
        except (duckdb.Error, OSError) as error:
            raise StoreUnavailable(explain_open_error(self.path, error)) from error
        if created:
            # Mental-health data: the file the app creates is its owner's alone.
            restrict_new_file(self.path)
        if not read_only:
            self.migrate()

    # -- connections -------------------------------------------------------------------
    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh cursor for one task (one thread); closed afterwards."""
        cur = self._root.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def transaction(self, large: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside one write transaction: committed whole or rolled back whole.

        Writers are serialised (one at a time) so that concurrent uploads never meet
        DuckDB's write-write conflicts; readers are not blocked. ``large`` (an upload)
        raises the memory pool to ``$PPI_UPLOAD_MEMORY`` for the transaction's duration.
        """
        with self._write_lock, self.cursor() as cur, self._pool(cur, large):
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            try:
                cur.execute("COMMIT")
            except duckdb.Error as error:
                raise StoreUnavailable(explain_open_error(self.path, error)) from error

    @contextmanager
    def _pool(self, cur: duckdb.DuckDBPyConnection, large: bool) -> Iterator[None]:
        """The larger memory pool while an upload runs (under the write lock, so two
        uploads never restore each other's setting)."""
        if not large:
            yield
            return
        before = single_value(cur, "SELECT current_setting('memory_limit')")
        cur.execute("SET GLOBAL memory_limit = ?",
                    [os.environ.get(UPLOAD_MEMORY_ENV, DEFAULT_UPLOAD_MEMORY_LIMIT)])
        try:
            yield
        finally:
            cur.execute("SET GLOBAL memory_limit = ?", [before])

    @contextmanager
    def translated_errors(self) -> Iterator[None]:
        """Turn a database or file-system failure (full disk, lost file, ...) into
        :class:`StoreUnavailable` with :func:`explain_open_error`'s plain message.

        Use it outside :meth:`transaction`, so the transaction has been rolled back
        (nothing half-written) by the time the error is translated.
        """
        try:
            yield
        except StoreUnavailable:
            raise
        except (duckdb.Error, OSError) as error:
            raise StoreUnavailable(explain_open_error(self.path, error)) from error

    def first(self, sql: str, params: Params = None) -> tuple | None:
        """The first row of a read-only query (on a fresh cursor), or None."""
        with self.cursor() as cur:
            return first(cur, sql, params)

    def single_value(self, sql: str, params: Params = None) -> Any:
        """The first column of the first row of a read-only query (None when no row)."""
        with self.cursor() as cur:
            return single_value(cur, sql, params)

    def remembered(self, key: Hashable, build: Callable[[], T]) -> T:
        """``build()``, kept for the current :meth:`data_version` when the store keeps
        derived data (else built each time).

        One build per key at a time: sessions asking for the same thing at once wait
        for the first instead of building it again. Callers must not modify the result.
        """
        if not self.keep_derived:
            return build()
        version = self.data_version()
        with self._derived_guard:
            if version != self._derived_version:
                self._derived, self._derived_version = {}, version
            lock = self._derived_locks.setdefault(key, threading.Lock())
        with lock:
            with self._derived_guard:
                if self._derived_version == version and key in self._derived:
                    return self._derived[key]
            value = build()
            with self._derived_guard:
                if self._derived_version == version:
                    self._derived[key] = value
            return value

    def close(self) -> None:
        """Close the root connection (and with it every cursor)."""
        self._derived = {}
        self._root.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The schema version stored in the file (0 for an empty file)."""
        with self.cursor() as cur:
            exists = single_value(
                cur, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'")
            if not exists:
                return 0
            value = single_value(cur, "SELECT value FROM meta WHERE key = 'schema_version'")
        return int(value) if value is not None else 0

    def migrate(self) -> None:
        """Bring the schema up to the last of :data:`analysis.storage.schema.MIGRATIONS`,
        one transaction per step."""
        current = self.schema_version()
        for version, statements in schema.MIGRATIONS:
            if version <= current:
                continue
            with self.transaction() as cur:
                for step in statements:
                    if isinstance(step, str):
                        cur.execute(step)
                    else:
                        step(cur)
                cur.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(version)]
                )

    @contextmanager
    def pinned_version(self) -> Iterator[str]:
        """Within the block this thread reads the data version once: a read-only
        computation (a report) that asks for many kept tables then pays one query, not
        one per table, and keys them all by the version it started on. Never write
        inside the block."""
        if getattr(self._pin, "version", None) is not None:
            yield self._pin.version
            return
        self._pin.version = self.data_version()
        try:
            yield self._pin.version
        finally:
            self._pin.version = None

    def data_version(self) -> str:
        """A token that changes whenever stored data changes (a cache key for pages)."""
        pinned = getattr(self._pin, "version", None)
        if pinned is not None:
            return pinned
        with self.cursor() as cur:
            row = first(
                cur, "SELECT count(*), coalesce(max(upload_id), 0), "
                "coalesce(sum(CASE WHEN status = 'applied' THEN upload_id END), 0) "
                "FROM uploads")
            settings = single_value(
                cur, "SELECT md5(coalesce(string_agg(key || '=' || value, ';' ORDER BY key), '')) "
                "FROM settings")
        return f"{row[0]}:{row[1]}:{row[2]}:{settings[:12]}"

    # -- settings ----------------------------------------------------------------------
    def get_setting(self, key: str, default: str | None = None) -> str | None:
        """One stored setting (text), or ``default``."""
        with self.cursor() as cur:
            return read_settings(cur).get(key, default)

    def set_setting(self, key: str, value: str) -> None:
        """Store one setting."""
        with self.transaction() as cur:
            write_setting(cur, key, value)
