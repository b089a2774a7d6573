"""Shared fixtures: fresh stores in tmp_path, a sample-data store, CSV builders.

Databases are built here, never committed. The pseudonymization secret of every test
run lives in a temporary file (``PPI_SECRET_FILE``), never in the user's home.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterable, Sequence

import pytest

from analysis.access.scope import LOCAL
from analysis.storage.store import Store

SURVEY_HEADER = ("respondent_id", "wave", "survey_date", "site", "role", "cbi_1", "cbi_2",
                 "cbi_3", "cbi_4", "cbi_5", "cbi_6")
ATTENDANCE_HEADER = ("respondent_id", "session_date", "session_type", "duration_minutes")


@pytest.fixture(autouse=True, scope="session")
def _secret_file(tmp_path_factory) -> Iterable[Path]:
    """A per-run pseudonymization key, outside the home folder."""
    path = tmp_path_factory.mktemp("secret") / "pseudonym.key"
    patch = pytest.MonkeyPatch()
    patch.setenv("PPI_SECRET_FILE", str(path))
    yield path
    patch.undo()


def csv_bytes(rows: Sequence[Sequence[object]], header: Sequence[str] = SURVEY_HEADER,
              delimiter: str = ",", encoding: str = "utf-8", newline: str = "\n") -> bytes:
    """A CSV file's bytes from rows of values (no quoting: keep values simple)."""
    lines = [delimiter.join(header)] + [delimiter.join("" if v is None else str(v) for v in r)
                                        for r in rows]
    return (newline.join(lines) + newline).encode(encoding)


def survey_rows(n: int = 6, wave: str = "2025-Q1", site: str = "Harbor",
                start: int = 1, date: str = "2025-02-01") -> list[list[object]]:
    """``n`` valid survey rows for respondents P0001... (CBI personal items 1-6)."""
    return [[f"P{start + i:04d}", wave, date, site, "counselor", *[(i + j) % 5 + 1
                                                                    for j in range(6)]]
            for i in range(n)]


def attendance_rows(n: int = 4, start: int = 1) -> list[list[object]]:
    """``n`` sessions, one each for P0001..."""
    return [[f"P{start + i:04d}", "2025-01-15", "group", 60] for i in range(n)]


@pytest.fixture()
def store(tmp_path) -> Iterable[Store]:
    """A fresh, empty store in a temporary folder."""
    with Store(tmp_path / "test.duckdb") as s:
        yield s


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory, _secret_file) -> Path:
    """A database file with the sample data loaded once per run (copy it to change it)."""
    from analysis.intake.sample import load_sample  # noqa: PLC0415

    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    with Store(path) as s:
        result = load_sample(s, LOCAL)
        assert result.status == "applied", result.problems
    return path


@pytest.fixture()
def sample_store(sample_db, tmp_path) -> Iterable[Store]:
    """A private copy of the sample-data store (free to change)."""
    copy = tmp_path / "sample_copy.duckdb"
    shutil.copy(sample_db, copy)
    with Store(copy) as s:
        yield s


_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session, exitstatus) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config) -> None:
    """End the process right after pytest's summary, with pytest's own exit status.

    DuckDB 2.0's nanobind bindings print pages of "leaked instance" notices at
    interpreter shutdown when cached connections outlive the tests; they bury the
    summary line that CI reads. Skipping the shutdown changes nothing else.
    """
    if _EXIT_STATUS and not hasattr(config, "workerinput"):
        import os
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
