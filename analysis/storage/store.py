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
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from analysis.definitions.contract import ATTENDANCE_COLUMNS, SURVEY_COLUMNS
from analysis.definitions.instruments import ITEM_COLUMNS, SCORED_COLUMNS
from analysis.storage.private_files import make_private_dirs, restrict_new_file

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


def _survey_columns_sql() -> str:
    base = {
        "respondent_id": "VARCHAR NOT NULL", "wave": "VARCHAR NOT NULL",
        "survey_date": "DATE NOT NULL", "site": "VARCHAR NOT NULL",
    }
    cols = ["upload_id BIGINT NOT NULL"]
    cols += [f"{c.name} {base.get(c.name, 'VARCHAR')}" for c in SURVEY_COLUMNS]
    cols += [f"{c} TINYINT" for c in ITEM_COLUMNS]
    cols += [f"{c} DOUBLE" for c in SCORED_COLUMNS]
    return ", ".join(cols)


def _attendance_columns_sql() -> str:
    types = {"session_date": "DATE NOT NULL", "duration_minutes": "DOUBLE",
             "respondent_id": "VARCHAR NOT NULL"}
    cols = ["upload_id BIGINT NOT NULL"]
    cols += [f"{c.name} {types.get(c.name, 'VARCHAR')}" for c in ATTENDANCE_COLUMNS]
    return ", ".join(cols)


#: Schema migrations, applied in order, each once; append, never edit a released one.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, (
        "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
        "CREATE SEQUENCE IF NOT EXISTS upload_seq START 1",
        "CREATE SEQUENCE IF NOT EXISTS batch_seq START 1",
        "CREATE SEQUENCE IF NOT EXISTS audit_seq START 1",
        """CREATE TABLE IF NOT EXISTS uploads (
            upload_id BIGINT PRIMARY KEY, batch_id BIGINT NOT NULL, kind VARCHAR NOT NULL,
            file_name VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, n_rows BIGINT NOT NULL,
            created_at TIMESTAMP NOT NULL, status VARCHAR NOT NULL DEFAULT 'applied',
            is_sample BOOLEAN NOT NULL DEFAULT false, uploaded_by VARCHAR,
            sites VARCHAR[], n_replaced BIGINT NOT NULL DEFAULT 0,
            pseudonymized BOOLEAN NOT NULL DEFAULT false, n_warnings BIGINT DEFAULT 0,
            undone_at TIMESTAMP, undone_by VARCHAR)""",
        f"CREATE TABLE IF NOT EXISTS survey ({_survey_columns_sql()})",
        # Rows taken out by a 'replace' upload, kept so that undoing it restores them.
        f"CREATE TABLE IF NOT EXISTS survey_replaced (replaced_by BIGINT NOT NULL, "
        f"{_survey_columns_sql()})",
        f"CREATE TABLE IF NOT EXISTS attendance ({_attendance_columns_sql()})",
        """CREATE TABLE IF NOT EXISTS column_mappings (
            kind VARCHAR NOT NULL, source_header VARCHAR NOT NULL, canonical VARCHAR NOT NULL,
            saved_at TIMESTAMP NOT NULL, PRIMARY KEY (kind, source_header))""",
        "CREATE TABLE IF NOT EXISTS settings (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
        """CREATE TABLE IF NOT EXISTS accounts (
            username VARCHAR PRIMARY KEY, password_hash VARCHAR, role VARCHAR NOT NULL,
            practices VARCHAR[], created_at TIMESTAMP NOT NULL,
            failed_attempts INTEGER NOT NULL DEFAULT 0, locked_until TIMESTAMP,
            last_login TIMESTAMP, active BOOLEAN NOT NULL DEFAULT true,
            sso BOOLEAN NOT NULL DEFAULT false)""",
        """CREATE TABLE IF NOT EXISTS audit_log (
            event_id BIGINT PRIMARY KEY, occurred_at TIMESTAMP NOT NULL, username VARCHAR NOT NULL,
            action VARCHAR NOT NULL, outcome VARCHAR NOT NULL, detail VARCHAR)""",
    )),
    (2, (
        # Signed-in sessions kept across reloads (analysis.access.sessions): only the
        # SHA-256 of each session id is stored.
        """CREATE TABLE IF NOT EXISTS sessions (
            token_hash VARCHAR PRIMARY KEY, username VARCHAR NOT NULL, method VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL, last_seen TIMESTAMP NOT NULL,
            expires_at TIMESTAMP NOT NULL, revoked_at TIMESTAMP)""",
        # The order of waves, fixed when a wave is first stored (analysis.intake.waves),
        # so that a later upload from one practice cannot change everyone's baseline.
        """CREATE TABLE IF NOT EXISTS wave_registry (
            wave VARCHAR PRIMARY KEY, first_date DATE NOT NULL,
            registered_by VARCHAR NOT NULL, registered_at TIMESTAMP NOT NULL)""",
        "INSERT INTO wave_registry SELECT wave, min(survey_date), 'before wave order', "
        "CAST(now() AS TIMESTAMP) FROM survey GROUP BY wave ON CONFLICT DO NOTHING",
        # Saved column mappings belong to the practices of whoever saved them ('*' = all).
        """CREATE TABLE column_mappings_owned (
            owner VARCHAR NOT NULL, kind VARCHAR NOT NULL, source_header VARCHAR NOT NULL,
            canonical VARCHAR NOT NULL, saved_at TIMESTAMP NOT NULL,
            PRIMARY KEY (owner, kind, source_header))""",
        "INSERT INTO column_mappings_owned SELECT '*', kind, source_header, canonical, "
        "saved_at FROM column_mappings",
        "DROP TABLE column_mappings",
        "ALTER TABLE column_mappings_owned RENAME TO column_mappings",
    )),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def _explain_open_error(path: Path, error: Exception) -> str:
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
            raise StoreUnavailable(_explain_open_error(self.path, error)) from error
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
                raise StoreUnavailable(_explain_open_error(self.path, error)) from error

    def close(self) -> None:
        """Close the root connection (and with it every cursor)."""
        self._root.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The schema version stored in the file (0 for an empty file)."""
        with self.cursor() as cur:
            exists = cur.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
            ).fetchone()[0]
            if not exists:
                return 0
            row = cur.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
        return int(row[0]) if row else 0

    def migrate(self) -> None:
        """Bring the schema up to :data:`SCHEMA_VERSION`, one transaction per step."""
        current = self.schema_version()
        for version, statements in MIGRATIONS:
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
            row = cur.execute(
                "SELECT count(*), coalesce(max(upload_id), 0), "
                "coalesce(sum(CASE WHEN status = 'applied' THEN upload_id END), 0) "
                "FROM uploads"
            ).fetchone()
            settings = cur.execute(
                "SELECT md5(coalesce(string_agg(key || '=' || value, ';' ORDER BY key), '')) "
                "FROM settings"
            ).fetchone()[0]
        return f"{row[0]}:{row[1]}:{row[2]}:{settings[:12]}"

    # -- settings ----------------------------------------------------------------------
    def get_setting(self, key: str, default: str | None = None) -> str | None:
        """One stored setting (text), or ``default``."""
        with self.cursor() as cur:
            row = cur.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_setting(self, key: str, value: str) -> None:
        """Store one setting."""
        with self.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [key, value])
