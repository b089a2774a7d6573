"""Faults an installation meets: a killed upload, many users at once, a full disk, a
database held by another program. After each, the database opens, holds every upload
committed before and no part of any other, and the user gets one clear sentence."""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analysis.access.scope import LOCAL
from analysis.intake import write as write_module
from analysis.intake.ingest import ingest
from analysis.intake.sample import load_sample, remove_sample
from analysis.intake.uploads import undo
from analysis.intake.values import UploadFile
from analysis.storage import audit, queries
from analysis.storage.store import Store, StoreUnavailable
from tooling.synthetic import SyntheticConfig, generate, generate_bench

REPO = Path(__file__).resolve().parents[2]
KILL_SEED = 20260517
KILLS = 4


# ---------------------------------------------------------------- helpers


def _with_prefix(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """The same rows with every respondent ID prefixed (a distinct upload)."""
    return frame.assign(respondent_id=prefix + frame["respondent_id"].astype(str))


def _write_pair(folder: Path, survey: pd.DataFrame, attendance: pd.DataFrame, prefix: str
                ) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    s, a = folder / f"survey_{prefix}.csv", folder / f"attendance_{prefix}.csv"
    _with_prefix(survey, prefix).to_csv(s, index=False, lineterminator="\n")
    _with_prefix(attendance, prefix).to_csv(a, index=False, lineterminator="\n")
    return s, a


def assert_whole(path: Path) -> dict[int, tuple[str, int]]:
    """Open the database and check that every applied upload is whole and nothing else
    is stored. Returns ``{upload_id: (file_name, n_rows)}`` of the applied uploads."""
    with Store(path) as store, store.cursor() as cur:
        uploads = {r[0]: (r[1], r[2], r[3]) for r in cur.execute(
            "SELECT upload_id, kind, file_name, n_rows FROM uploads WHERE status = 'applied'"
        ).fetchall()}
        for table, kind in (("survey", "survey"), ("attendance", "attendance")):
            stored = dict(cur.execute(
                f"SELECT upload_id, count(*) FROM {table} GROUP BY upload_id").fetchall())
            orphans = set(stored) - {u for u, v in uploads.items() if v[0] == kind}
            assert not orphans, f"{table} rows of uploads that are not applied: {orphans}"
            for upload_id, (k, name, n_rows) in uploads.items():
                if k == kind and kind == "survey":
                    assert stored.get(upload_id, 0) == n_rows, \
                        f"upload {upload_id} ({name}) has {stored.get(upload_id, 0)} of {n_rows}"
                if k == kind and kind == "attendance":
                    # Sessions already stored are skipped with a warning, never more rows.
                    assert 0 < stored.get(upload_id, 0) <= n_rows or n_rows == 0
    return {u: (v[1], v[2]) for u, v in uploads.items()}


# ---------------------------------------------------------------- kill -9


@pytest.fixture(scope="module")
def fifty_thousand_rows(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = generate_bench(5_000, 10, seed=7, skipped_wave_rate=0.0)
    assert len(data.survey) == 50_000
    return data.survey, data.attendance


def _cli_ingest(db: Path, survey: Path, attendance: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "analysis", "ingest", "--db", str(db), "--survey", str(survey),
         "--attendance", str(attendance)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_kill_minus_nine_during_ingest_never_leaves_a_partial_upload(
        tmp_path: Path, fifty_thousand_rows) -> None:
    survey, attendance = fifty_thousand_rows
    db = tmp_path / "killed.duckdb"
    rng = random.Random(KILL_SEED)

    # A first, complete upload; its duration sets the range of kill moments.
    s, a = _write_pair(tmp_path / "csv", survey, attendance, "A")
    start = time.monotonic()
    first = _cli_ingest(db, s, a)
    out, err = first.communicate(timeout=300)
    duration = time.monotonic() - start
    assert first.returncode == 0, err
    committed = set(assert_whole(db))
    assert len(committed) == 2

    outcomes = []
    for attempt in range(KILLS):
        s, a = _write_pair(tmp_path / "csv", survey, attendance, f"K{attempt}")
        # From interpreter start-up to past the commit: later uploads check more stored keys.
        delay = rng.uniform(0.3, 2.0) * duration
        process = _cli_ingest(db, s, a)
        time.sleep(delay)
        finished = process.poll() is not None
        if not finished:
            os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=60)
        applied = assert_whole(db)
        new = set(applied) - committed
        assert committed <= set(applied), "a committed upload disappeared"
        if finished and process.returncode == 0:
            assert len(new) == 2, "a completed upload is missing"
        # Killed: the batch is there whole (both files) or not at all.
        assert len(new) in (0, 2), f"half a batch stored: {new}"
        committed |= new
        outcomes.append(("completed" if finished else ("committed" if new else "rolled back"),
                         round(delay / duration, 2)))

    # The database still takes an upload afterwards.
    s, a = _write_pair(tmp_path / "csv", survey, attendance, "Z")
    last = _cli_ingest(db, s, a)
    _, err = last.communicate(timeout=300)
    assert last.returncode == 0, err
    final = assert_whole(db)
    assert len(final) == len(committed) + 2
    assert any(o[0] != "completed" for o in outcomes), \
        f"no kill landed during an upload: {outcomes}"
    print("kill outcomes:", outcomes)


# ---------------------------------------------------------------- many threads


def test_concurrent_uploads_and_reads_through_one_store(tmp_path: Path) -> None:
    base = generate(SyntheticConfig(n_people=20, n_waves=2, seed=3)).survey
    uploads_per_writer, writers, readers = 2, 4, 4
    files = {(w, i): UploadFile(
        "survey", f"survey_w{w}_{i}.csv",
        _with_prefix(base, f"W{w}U{i}_").to_csv(index=False).encode())
        for w in range(writers) for i in range(uploads_per_writer)}
    errors: list[BaseException] = []
    results: list[str] = []
    writers_done = threading.Event()

    with Store(tmp_path / "busy.duckdb") as store:
        def write(w: int) -> None:
            try:
                for i in range(uploads_per_writer):
                    results.append(ingest(store, [files[(w, i)]], LOCAL).status)
            except BaseException as error:  # noqa: BLE001
                errors.append(error)

        reads = [0] * readers

        def read(r: int) -> None:
            try:
                while not writers_done.is_set() or reads[r] == 0:
                    queries.load_panel(store, LOCAL)
                    store.data_version()
                    reads[r] += 1
                    time.sleep(0.02)  # a page rerun, not a busy loop: the writers get CPU
            except BaseException as error:  # noqa: BLE001
                errors.append(error)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        reader_threads = [threading.Thread(target=read, args=(r,)) for r in range(readers)]
        for t in threads + reader_threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        writers_done.set()
        for t in reader_threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads + reader_threads), "deadlock"
        assert not errors, errors
        assert results == ["applied"] * (writers * uploads_per_writer)
        assert all(reads)
        with store.cursor() as cur:
            n = cur.execute("SELECT count(*) FROM survey").fetchone()[0]
            n_uploads = cur.execute("SELECT count(*) FROM uploads").fetchone()[0]
        assert n == len(base) * writers * uploads_per_writer
        assert n_uploads == writers * uploads_per_writer
        assert len(queries.load_panel(store, LOCAL)) == n
    assert_whole(tmp_path / "busy.duckdb")


# ---------------------------------------------------------------- full disk


def _two_files() -> list[UploadFile]:
    data = generate(SyntheticConfig(n_people=30, n_waves=2, seed=5))
    return [UploadFile("survey", "survey.csv", data.survey.to_csv(index=False).encode()),
            UploadFile("attendance", "attendance.csv",
                              data.attendance.to_csv(index=False).encode())]


def _contents(store: Store) -> tuple:
    with store.cursor() as cur:
        return tuple(cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                     for t in ("uploads", "survey", "attendance", "audit_log"))


_DISK_FULL_ERRORS = [
    OSError(errno.ENOSPC, "No space left on device"),
    duckdb.IOException("IO Error: Could not write file \"x.duckdb.wal\": No space left on device"),
]


def _ingest_on_full_disk(store: Store, monkeypatch, error: Exception) -> BaseException:
    """Ingest two files when the attendance insert (after the survey rows are written,
    inside the same transaction) hits a full disk; returns what ingest raised."""
    def full_disk(*args, **kwargs):  # noqa: ANN002, ANN003
        raise error

    monkeypatch.setattr(write_module, "insert_attendance", full_disk)
    try:
        with pytest.raises((StoreUnavailable, OSError, duckdb.Error)) as raised:
            ingest(store, _two_files(), LOCAL)
    finally:
        monkeypatch.undo()
    return raised.value


@pytest.mark.parametrize("error", _DISK_FULL_ERRORS, ids=["OSError", "duckdb.IOException"])
def test_disk_full_while_writing_stores_nothing(tmp_path: Path, monkeypatch,
                                                error: Exception) -> None:
    with Store(tmp_path / "full.duckdb") as store:
        before = _contents(store)
        _ingest_on_full_disk(store, monkeypatch, error)
        assert _contents(store) == before, "half an upload was written"
        # Space again: the same upload now goes in whole.
        assert ingest(store, _two_files(), LOCAL).status == "applied"
    assert_whole(tmp_path / "full.duckdb")


@pytest.mark.parametrize("error", _DISK_FULL_ERRORS, ids=["OSError", "duckdb.IOException"])
def test_disk_full_while_writing_is_explained(tmp_path: Path, monkeypatch,
                                              error: Exception) -> None:
    with Store(tmp_path / "full.duckdb") as store:
        raised = _ingest_on_full_disk(store, monkeypatch, error)
    assert isinstance(raised, StoreUnavailable), (
        f"ingest let {type(raised).__name__} escape; the user would read: {raised}")
    assert "full" in str(raised) and "nothing was changed" in str(raised)


@pytest.mark.parametrize("error", _DISK_FULL_ERRORS, ids=["OSError", "duckdb.IOException"])
def test_disk_full_while_undoing_is_explained_and_changes_nothing(
        tmp_path: Path, monkeypatch, error: Exception) -> None:
    with Store(tmp_path / "undo.duckdb") as store:
        result = ingest(store, _two_files(), LOCAL)
        assert result.status == "applied"
        load_sample(store, LOCAL)
        before = _contents(store)

        def full_disk(*args, **kwargs):  # noqa: ANN002, ANN003
            raise error

        monkeypatch.setattr(audit, "record", full_disk)  # after the deletes
        for action in (lambda: undo(store, result.upload_ids[0], LOCAL),
                       lambda: remove_sample(store, LOCAL)):
            with pytest.raises(StoreUnavailable) as raised:
                action()
            assert "full" in str(raised.value) and "nothing was changed" in str(raised.value)
            assert _contents(store) == before, "half an undo was written"
        monkeypatch.undo()
        assert undo(store, result.upload_ids[0], LOCAL).rows_removed > 0
    assert_whole(tmp_path / "undo.duckdb")


def test_cli_on_a_full_disk_prints_one_line_and_exits_1(tmp_path: Path, monkeypatch,
                                                        capsys) -> None:
    from analysis.__main__ import main

    folder = tmp_path / "csv"
    folder.mkdir()
    paths = []
    for upload in _two_files():
        path = folder / upload.file_name
        path.write_bytes(upload.data)
        paths.append(path)
    db = tmp_path / "cli_full.duckdb"

    def full_disk(*args, **kwargs):  # noqa: ANN002, ANN003
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(write_module, "insert_attendance", full_disk)
    code = main(["ingest", "--db", str(db), "--survey", str(paths[0]),
                 "--attendance", str(paths[1])])
    err = capsys.readouterr().err
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "full" in lines[0] and "nothing was changed" in lines[0], err
    assert "Traceback" not in err and "Errno" not in err
    monkeypatch.undo()
    assert assert_whole(db) == {}


def test_disk_full_at_commit_stores_nothing_and_says_so(tmp_path: Path, monkeypatch) -> None:
    with Store(tmp_path / "commit.duckdb") as store:
        before = _contents(store)
        real_root = store._root

        class Cursor:
            def __init__(self, real):  # noqa: ANN001
                self._real = real

            def execute(self, sql, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
                if isinstance(sql, str) and sql.strip().upper() == "COMMIT":
                    raise duckdb.IOException("IO Error: No space left on device")
                return self._real.execute(sql, *args, **kwargs)

            def __getattr__(self, name):  # noqa: ANN001
                return getattr(self._real, name)

        class Root:
            def cursor(self):
                return Cursor(real_root.cursor())

            def __getattr__(self, name):  # noqa: ANN001
                return getattr(real_root, name)

        store._root = Root()
        with pytest.raises(StoreUnavailable) as raised:
            ingest(store, _two_files(), LOCAL)
        store._root = real_root
        assert "full" in str(raised.value) and "nothing was changed" in str(raised.value)
        assert _contents(store) == before
    assert_whole(tmp_path / "commit.duckdb")


# ---------------------------------------------------------------- held by another program

_HOLDER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.read()
""")


def test_cli_on_a_database_held_by_another_process_exits_1_with_one_line(tmp_path: Path
                                                                          ) -> None:
    db = tmp_path / "held.duckdb"
    Store(db).close()
    csv = tmp_path / "survey.csv"
    generate(SyntheticConfig(n_people=10, n_waves=2, seed=1)).survey.to_csv(csv, index=False)
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        for command in (["ingest", "--db", str(db), "--survey", str(csv)],
                        ["status", "--db", str(db)]):
            done = subprocess.run([sys.executable, "-m", "analysis", *command], cwd=REPO,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 1, (command, done.stdout, done.stderr)
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            assert len(lines) == 1, done.stderr
            assert "in use" in lines[0] and "Traceback" not in done.stderr
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
