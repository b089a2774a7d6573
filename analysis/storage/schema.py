"""The database's tables, declared once, and the migrations that create them.

Column lists of ``survey`` and ``attendance`` come from the data contract and the
instruments, so a new contract column or instrument needs no edit here. Migrations are
applied in order by :meth:`analysis.storage.store.Store.migrate`, each once; a step is a
SQL statement or a function of the migrating cursor.

Item columns are stored only once some upload brings them (schema version 4): an
upload of the 19 CBI items adds 19 columns, not the 75 of every instrument. Empty
columns cost DuckDB an append and a compression pass per row group each, about a
second per million rows at 97 columns. :func:`add_item_columns` adds an upload's item
columns to ``survey`` and ``survey_replaced`` (same order in both, so a replaced row
moves between them as it is) inside the upload's transaction; queries read the
columns present with :func:`stored_item_columns` and take absent ones as blank.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import duckdb

from analysis.definitions.contract import ATTENDANCE_COLUMNS, SURVEY_COLUMNS
from analysis.definitions.instruments import ITEM_COLUMNS, SCORED_COLUMNS


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


def stored_item_columns(cur: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The item columns the ``survey`` table holds (in the instruments' order)."""
    names = {r[0] for r in cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'survey' "
        "AND table_schema = 'main'").fetchall()}
    return tuple(c for c in ITEM_COLUMNS if c in names)


def add_item_columns(cur: duckdb.DuckDBPyConnection, columns: Iterable[str]) -> None:
    """Add the item columns not yet stored to ``survey`` and ``survey_replaced``.

    Runs inside the caller's transaction (rolled back with it). ``columns`` are declared
    item names only (others are ignored), so no user text reaches the SQL.
    """
    have = set(stored_item_columns(cur))
    for column in (c for c in ITEM_COLUMNS if c in set(columns) and c not in have):
        for table in ("survey", "survey_replaced"):
            cur.execute(f'ALTER TABLE {table} ADD COLUMN "{column}" TINYINT')


def drop_empty_item_columns(cur: duckdb.DuckDBPyConnection) -> None:
    """Migration 4: drop item columns no stored or replaced row answers."""
    stored = stored_item_columns(cur)
    if not stored:
        return
    counts = ", ".join(f'count("{c}")' for c in stored)
    live = cur.execute(f"SELECT {counts} FROM survey").fetchone()
    kept = cur.execute(f"SELECT {counts} FROM survey_replaced").fetchone()
    for column, a, b in zip(stored, live, kept):
        if not a and not b:
            for table in ("survey", "survey_replaced"):
                cur.execute(f'ALTER TABLE {table} DROP COLUMN "{column}"')


Step = str | Callable[[duckdb.DuckDBPyConnection], None]

#: Schema migrations, applied in order, each once; append, never edit a released one.
MIGRATIONS: tuple[tuple[int, tuple[Step, ...]], ...] = (
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
        (f"CREATE TABLE IF NOT EXISTS survey_replaced (replaced_by BIGINT NOT NULL, "
        f"{_survey_columns_sql()})"),
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
    # What each export released (exact counts of the cells shipped, never shown): a later
    # release that differs from an earlier one by 1 to k - 1 people in a cell is refused.
    (3, (
        "CREATE SEQUENCE IF NOT EXISTS release_seq START 1",
        """CREATE TABLE IF NOT EXISTS releases (
            release_id BIGINT PRIMARY KEY, released_at TIMESTAMP NOT NULL, kind VARCHAR NOT NULL,
            username VARCHAR NOT NULL, min_group_size INTEGER NOT NULL, cells VARCHAR NOT NULL)""",
    )),
    # Item columns only once uploaded (see the module notes).
    (4, (drop_empty_item_columns,)),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
