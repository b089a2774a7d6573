"""The Store: migrations, transactions, the data version, and the clear messages it gives
when the file cannot be used (held by another process, read-only folder)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import duckdb
import pytest

from analysis.storage import schema as schema_module
from analysis.storage.schema import SCHEMA_VERSION
from analysis.storage.store import Store, StoreUnavailable

_TRACEBACK_MARKERS = ("Traceback", "File \"", "duckdb.", "Error:")


def _assert_plain(message: str) -> None:
    """A message for a practice manager: one readable line, no traceback text."""
    assert message.strip(), "empty message"
    for marker in _TRACEBACK_MARKERS:
        assert marker not in message, f"{marker!r} in {message!r}"


# ---------------------------------------------------------------- migrations


def test_fresh_file_gets_the_current_schema_version(tmp_path: Path) -> None:
    with Store(tmp_path / "fresh.duckdb") as store:
        assert store.schema_version() == SCHEMA_VERSION
        with store.cursor() as cur:
            tables = {r[0] for r in cur.execute(
                "SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"meta", "uploads", "survey", "attendance", "settings"} <= tables


def test_reopening_a_migrated_file_is_a_no_op(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "again.duckdb"
    with Store(path) as store:
        store.set_setting("marker", "kept")
        with store.transaction() as cur:
            cur.execute("INSERT INTO uploads (upload_id, batch_id, kind, file_name, sha256, "
                        "n_rows, created_at) VALUES (7, 1, 'survey', 'a.csv', 'x', 0, now())")

    applied: list[str] = []
    real_transaction = Store.transaction

    def spying_transaction(self):  # noqa: ANN001
        applied.append("transaction")
        return real_transaction(self)

    monkeypatch.setattr(Store, "transaction", spying_transaction)
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.get_setting("marker") == "kept"
        with store.cursor() as cur:
            assert cur.execute("SELECT count(*) FROM uploads").fetchone()[0] == 1
    assert applied == [], "reopening ran a migration step"


def test_a_later_migration_is_applied_once_on_top_of_an_older_file(tmp_path: Path,
                                                                   monkeypatch) -> None:
    path = tmp_path / "old.duckdb"
    Store(path).close()
    extra = (SCHEMA_VERSION + 1, ("CREATE TABLE extra_step (x INTEGER)",))
    monkeypatch.setattr(schema_module, "MIGRATIONS", schema_module.MIGRATIONS + (extra,))
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION + 1
    with Store(path) as store:  # the new step ran once; a second open does not repeat it
        assert store.schema_version() == SCHEMA_VERSION + 1


# ---------------------------------------------------------------- transactions


def test_rolled_back_transaction_leaves_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "tx.duckdb") as store:
        before = store.data_version()
        with pytest.raises(RuntimeError, match="boom"), store.transaction() as cur:
            cur.execute("INSERT INTO uploads (upload_id, batch_id, kind, file_name, "
                        "sha256, n_rows, created_at) VALUES "
                        "(1, 1, 'survey', 'a.csv', 'x', 1, now())")
            cur.execute("INSERT INTO survey (upload_id, respondent_id, wave, survey_date, "
                        "site) VALUES (1, 'r1', 'w1', DATE '2025-01-01', 'Harbor')")
            raise RuntimeError("boom")
        with store.cursor() as cur:
            assert cur.execute("SELECT count(*) FROM uploads").fetchone()[0] == 0
            assert cur.execute("SELECT count(*) FROM survey").fetchone()[0] == 0
        assert store.data_version() == before


def test_data_version_changes_on_every_write(tmp_path: Path) -> None:
    with Store(tmp_path / "dv.duckdb") as store:
        seen = {store.data_version()}
        with store.transaction() as cur:
            cur.execute("INSERT INTO uploads (upload_id, batch_id, kind, file_name, sha256, "
                        "n_rows, created_at) VALUES (1, 1, 'survey', 'a.csv', 'x', 0, now())")
        seen.add(store.data_version())
        with store.transaction() as cur:
            cur.execute("UPDATE uploads SET status = 'undone' WHERE upload_id = 1")
        seen.add(store.data_version())
        store.set_setting("min_group_size", "7")
        seen.add(store.data_version())
        assert len(seen) == 4
        version = store.data_version()
        assert store.data_version() == version, "reading changed the version"


def test_writers_from_many_threads_are_serialised(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with Store(tmp_path / "threads.duckdb") as store:
        def write(n: int) -> None:
            try:
                for i in range(10):
                    store.set_setting(f"key_{n}_{i}", str(i))
            except BaseException as error:  # noqa: BLE001 - collected for the assert
                errors.append(error)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "deadlock"
        assert errors == []
        with store.cursor() as cur:
            assert cur.execute("SELECT count(*) FROM settings WHERE key LIKE 'key_%'"
                               ).fetchone()[0] == 40


# ---------------------------------------------------------------- unusable files

_HOLDER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("CREATE TABLE IF NOT EXISTS held (x INTEGER)")
    print("ready", flush=True)
    sys.stdin.read()
""")


@pytest.fixture
def held_database(tmp_path: Path):
    """A database file held open (locked) by another process for the test's duration."""
    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        yield path, holder.pid
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_file_held_by_another_process_gives_a_clear_message(held_database) -> None:
    path, pid = held_database
    with pytest.raises(StoreUnavailable) as raised:
        Store(path)
    message = str(raised.value)
    assert "in use" in message
    assert str(path) in message
    assert str(pid) in message
    _assert_plain(message)


def test_read_only_open_of_a_held_file_is_also_refused_clearly(held_database) -> None:
    path, _ = held_database
    with pytest.raises(StoreUnavailable) as raised:
        Store(path, read_only=True)
    assert "in use" in str(raised.value)
    _assert_plain(str(raised.value))


def test_read_only_folder_gives_a_clear_message(tmp_path: Path) -> None:
    folder = tmp_path / "locked_down"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("chmod does not stop this user from writing (running as root)")
        with pytest.raises(StoreUnavailable) as raised:
            Store(folder / "new.duckdb")
        assert "read-only" in str(raised.value)
        _assert_plain(str(raised.value))
    finally:
        folder.chmod(stat.S_IRWXU)


def test_permission_error_from_the_engine_is_explained(tmp_path: Path, monkeypatch) -> None:
    """The same message as above, reached even when running as root (chmod ineffective)."""
    path = tmp_path / "denied.duckdb"

    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003
        raise duckdb.IOException(f'IO Error: Cannot open file "{path}": Permission denied')

    monkeypatch.setattr(duckdb, "connect", refuse)
    with pytest.raises(StoreUnavailable) as raised:
        Store(path)
    assert "read-only" in str(raised.value)
    _assert_plain(str(raised.value))


class _DiskFullCursor:
    """A cursor whose COMMIT fails as on a full disk; everything else is the real cursor."""

    def __init__(self, real: duckdb.DuckDBPyConnection) -> None:
        self._real = real

    def execute(self, sql: str, *args, **kwargs):  # noqa: ANN002, ANN003
        if sql.strip().upper() == "COMMIT":
            raise duckdb.IOException("IO Error: Could not write file: No space left on device")
        return self._real.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._real, name)


class _DiskFullRoot:
    def __init__(self, real: duckdb.DuckDBPyConnection) -> None:
        self._real = real

    def cursor(self) -> _DiskFullCursor:
        return _DiskFullCursor(self._real.cursor())

    def __getattr__(self, name: str):
        return getattr(self._real, name)


def test_disk_full_at_commit_is_explained_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "full.duckdb"
    with Store(path) as store:
        real_root = store._root
        store._root = _DiskFullRoot(real_root)
        with pytest.raises(StoreUnavailable) as raised, store.transaction() as cur:
            cur.execute("INSERT INTO uploads (upload_id, batch_id, kind, file_name, "
                        "sha256, n_rows, created_at) VALUES "
                        "(1, 1, 'survey', 'a.csv', 'x', 0, now())")
        store._root = real_root
        assert "full" in str(raised.value)
        _assert_plain(str(raised.value))
        with store.cursor() as cur:
            assert cur.execute("SELECT count(*) FROM uploads").fetchone()[0] == 0
        store.set_setting("after", "usable")  # the store still takes writes
    with Store(path) as store, store.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM uploads").fetchone()[0] == 0


def test_memory_pool_is_bounded(tmp_path, monkeypatch):
    """DuckDB's pool is capped (default 512MB, PPI_DB_MEMORY overrides) so RSS stays small."""
    with Store(tmp_path / "a.duckdb") as store, store.cursor() as cur:
        limit = cur.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit.endswith("MiB") and float(limit.split()[0]) < 512
    monkeypatch.setenv("PPI_DB_MEMORY", "2GB")
    with Store(tmp_path / "b.duckdb") as store, store.cursor() as cur:
        limit = cur.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit.endswith("GiB") and float(limit.split()[0]) > 1.5
