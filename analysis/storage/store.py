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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import duckdb

from analysis.storage import schema

#: Environment variable naming the database file.
DB_ENV = "PPI_DB"
_REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB = _REPO_ROOT / "var" / "peer_program_impact.duckdb"
#: Environment variable bounding DuckDB's memory pool, and its default.
MEMORY_ENV = "PPI_DB_MEMORY"
DEFAULT_MEMORY_LIMIT = "512MB"


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

    Raises
    ------
    StoreUnavailable
        When the file is locked by another process, unwritable or unreadable.
    """

    def __init__(self, path: str | Path | None = None, read_only: bool = False) -> None:
        self.path = Path(path) if path not in (None, ":memory:") else (
            default_db_path() if path is None else Path(":memory:"))
        self.read_only = read_only
        self._write_lock = threading.RLock()
        target = str(self.path)
        try:
            if target != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
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
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside one write transaction: committed whole or rolled back whole.

        Writers are serialised (one at a time) so that concurrent uploads never meet
        DuckDB's write-write conflicts; readers are not blocked.
        """
        with self._write_lock, self.cursor() as cur:
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

    def close(self) -> None:
        """Close the root connection (and with it every cursor)."""
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
                for statement in statements:
                    cur.execute(statement)
                cur.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(version)]
                )

    def data_version(self) -> str:
        """A token that changes whenever stored data changes (a cache key for pages)."""
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
