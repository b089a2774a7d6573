"""Shared builders for the tests: paths, CSV bytes, sample-data stores, in-process CLI runs.

Every test module that needs one of these imports it from here; no test module imports
another test module. Databases are always built at run time (never committed).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from analysis.access.scope import LOCAL
from analysis.storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
#: The sample's smallest practice (four people): the one every privacy test tries to expose.
SMALL_SITE = "Willow Creek Counseling"

SURVEY_HEADER = ("respondent_id", "wave", "survey_date", "site", "role", "cbi_1", "cbi_2",
                 "cbi_3", "cbi_4", "cbi_5", "cbi_6")
ATTENDANCE_HEADER = ("respondent_id", "session_date", "session_type", "duration_minutes")


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


def load_sample_data(store: Store, survey: Path | None = None) -> None:
    """The sample data into ``store`` through the app's own ingest.

    With ``survey`` (a sample-shaped survey CSV, e.g. with altered site names) that file
    is ingested with the sample's attendance instead of the committed survey.
    """
    if survey is None:
        from analysis.intake.sample import load_sample

        result = load_sample(store, LOCAL)
    else:
        from analysis.intake.ingest import ingest
        from analysis.intake.values import UploadFile

        result = ingest(store, [UploadFile.from_path("survey", survey),
                                UploadFile.from_path("attendance", SAMPLE / "attendance.csv")],
                        LOCAL)
    assert result.status == "applied", result.problems


def make_store(path: Path, survey: Path | None = None) -> Store:
    """An open store at ``path`` holding the sample data (the caller closes it)."""
    store = Store(path)
    load_sample_data(store, survey)
    return store


@dataclass(frozen=True)
class CliRun:
    """What one in-process run of ``python -m analysis`` returned and printed."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, stdin: str | None = None) -> CliRun:
    """``python -m analysis ARGS`` in this process, through :func:`analysis.__main__.main`."""
    import sys

    from analysis.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    saved_stdin = sys.stdin
    try:
        if stdin is not None:
            sys.stdin = io.StringIO(stdin)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as stop:  # argparse's usage errors
                code = stop.code if isinstance(stop.code, int) else 2
    finally:
        sys.stdin = saved_stdin
    return CliRun(int(code or 0), out.getvalue(), err.getvalue())
