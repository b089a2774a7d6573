"""The database's tables, declared once, and the migrations that create them.

Column lists of ``survey`` and ``attendance`` come from the data contract and the
instruments, so a new contract column or instrument needs no edit here. Migrations are
applied in order by :meth:`analysis.storage.store.Store.migrate`, each once.
"""

from __future__ import annotations

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
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
