"""The command line's contract: exit 0 done, 2 refused (database unchanged), 1 otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.storage.store import Store
from tests.factories import csv_bytes, run_cli, survey_rows

ROOT = Path(__file__).resolve().parents[2]


def cli_subprocess(*args: str) -> subprocess.CompletedProcess:
    """The real ``python -m analysis`` in its own process (the smoke test and the lock test)."""
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)


cli = run_cli


@pytest.fixture()
def db(tmp_path) -> Path:
    return tmp_path / "cli.duckdb"


def test_demo_status_undo(db):
    done = cli("demo", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "survey rows" in done.stdout and "Traceback" not in done.stderr
    state = cli("status", "--db", str(db))
    assert state.returncode == 0 and "2 uploads applied" in state.stdout
    undone = cli("undo", "--db", str(db), "--upload", "2")
    assert undone.returncode == 0 and "taken out" in undone.stdout
    again = cli("undo", "--db", str(db), "--upload", "2")
    assert again.returncode == 2 and "already undone" in again.stderr


def test_ingest_refused_exits_2_and_changes_nothing(db, tmp_path):
    assert cli("demo", "--db", str(db)).returncode == 0
    before = cli("status", "--db", str(db)).stdout
    size = db.stat().st_size
    rows = survey_rows(3, wave="2030-Q1", date="2026-01-01")
    rows[1][5] = "7"
    bad = tmp_path / "survey.csv"
    bad.write_bytes(csv_bytes(rows))
    refused = cli("ingest", "--db", str(db), "--survey", str(bad))
    assert refused.returncode == 2
    assert ("survey.csv, row 3, column cbi_1: found '7', expected a code 1–5 or a label "
            "(Never/almost never … Always)") in refused.stderr
    assert "Traceback" not in refused.stderr
    assert cli("status", "--db", str(db)).stdout == before
    assert db.stat().st_size == size


def test_ingest_ok_replace_and_pseudonymize(db, tmp_path):
    good = tmp_path / "s.csv"
    good.write_bytes(csv_bytes(survey_rows(3)))
    done = cli("ingest", "--db", str(db), "--survey", str(good), "--pseudonymize")
    assert done.returncode == 0 and "3 survey rows" in done.stdout
    good.write_bytes(csv_bytes(survey_rows(3, date="2025-02-03")))
    assert cli("ingest", "--db", str(db), "--survey", str(good), "--pseudonymize"
               ).returncode == 2
    replaced = cli("ingest", "--db", str(db), "--survey", str(good), "--pseudonymize",
                   "--replace")
    assert replaced.returncode == 0 and "3 stored rows replaced" in replaced.stdout


def test_usage_errors_exit_2(db, tmp_path):
    assert cli("ingest", "--db", str(db)).returncode == 2
    assert cli("ingest", "--db", str(db), "--survey", str(tmp_path / "missing.csv")
               ).returncode == 2
    assert cli("frobnicate").returncode == 2


def test_locked_database_exits_1_with_one_line(db):
    holder = Store(db)  # this process holds DuckDB's file lock
    try:
        locked = cli_subprocess("status", "--db", str(db))
    finally:
        holder.close()
    assert locked.returncode == 1
    assert "Traceback" not in locked.stderr and len(locked.stderr.strip().splitlines()) == 1
    assert "in use" in locked.stderr or "could not be opened" in locked.stderr


def test_registry_lists_other_commands():
    shown = cli("--help")
    assert shown.returncode == 0
    for name in ("demo", "ingest", "status", "undo", "report", "export"):
        assert name in shown.stdout


def test_smoke_the_real_entry_point(db):
    """One run through ``python -m analysis`` itself: the module entry point and exit code."""
    done = cli_subprocess("demo", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "survey rows" in done.stdout and "Traceback" not in done.stderr
