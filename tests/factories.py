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


def attack_store(path: Path, seed: int = 0, small_practice: int = 3) -> Store:
    """A store built like the attacks of issue 13 (held-out shapes vary with ``seed``).

    Five practices: four of 16-24 people and one of ``small_practice`` people; two waves;
    ``cbi_work`` scored. Exactly one person attended exactly one session (the threshold
    attack: 1 vs 2 sessions), one person of the second practice attended 6+ sessions
    (the dose-band attack), everyone else 0 or 2-4 sessions.
    """
    import random

    from analysis.intake.ingest import ingest
    from analysis.intake.values import UploadFile

    rng = random.Random(seed)
    sizes = [rng.randint(16, 24) for _ in range(4)] + [small_practice]
    names = [f"Practice {c}" for c in "ABCDE"]
    survey = [("respondent_id", "wave", "survey_date", "site", "role", "cbi_work")]
    attendance = [ATTENDANCE_HEADER]
    person = 0
    for site, size in zip(names, sizes):
        for i in range(size):
            person += 1
            rid = f"R{person:04d}"
            role = rng.choice(["counselor", "psychologist"])
            for wave, date in (("baseline", "2025-01-10"), ("follow-up", "2025-06-10")):
                survey.append((rid, wave, date, site, role, round(rng.uniform(20, 80), 1)))
            if person == 1:
                sessions = 1
            elif site == "Practice B" and i == 0:
                sessions = 7
            else:
                sessions = rng.choice([0, 0, 2, 3, 4])
            for s in range(sessions):
                attendance.append((rid, f"2025-{2 + s % 4:02d}-{1 + s:02d}", "group", 60))
    folder = path.parent / f"{path.stem}_csv"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "survey.csv").write_bytes(csv_bytes(survey[1:], header=survey[0]))
    (folder / "attendance.csv").write_bytes(csv_bytes(attendance[1:], header=attendance[0]))
    store = Store(path)
    result = ingest(store, [UploadFile.from_path("survey", folder / "survey.csv"),
                            UploadFile.from_path("attendance", folder / "attendance.csv")], LOCAL)
    assert result.status == "applied", result.problems
    return store


#: Columns of report tables that count people, and the labels that name a cell.
COUNT_COLUMNS = ("n", "n_participants", "n_comparison", "n_respondents", "people", "n_responses",
                 "n_scored")
CELL_LABELS = ("analysis", "outcome", "scale", "wave", "site", "group", "breakdown", "role",
               "session_type", "dose_band", "month", "covariate")


def count_cells(folder: Path) -> dict[tuple[str, ...], int]:
    """Every shown count cell of a report folder: ``(file, label=value..., column) -> n``.

    A selection's total (site ``selection``) and the organization's (site ``all``) are the
    same cell of two slices.
    """
    import pandas as pd

    cells: dict[tuple[str, ...], int] = {}
    for path in sorted(Path(folder).glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        labels = [c for c in CELL_LABELS if c in frame.columns]
        for _, row in frame.iterrows():
            names = tuple(f"{c}={'all' if c == 'site' and row[c] == 'selection' else row[c]}"
                          for c in labels)
            for col in (c for c in COUNT_COLUMNS if c in frame.columns):
                if row[col] != "":
                    cells[(path.name, *names, col)] = int(float(row[col]))
    return cells


def small_differences(a: dict[tuple[str, ...], int], b: dict[tuple[str, ...], int],
                      k: int) -> list[tuple[tuple[str, ...], int, int]]:
    """Cells shown in both whose counts differ by 1 to k - 1 (what an attacker subtracts)."""
    return [(key, a[key], b[key]) for key in sorted(set(a) & set(b)) if 0 < abs(a[key] - b[key]) < k]


#: Debian's Chromium, driven by Playwright (which cannot download its own browser here).
CHROMIUM = Path("/usr/bin/chromium")


def require_chromium() -> None:
    """Skip a real-browser test where Chromium or Playwright is missing; under CI=true, fail."""
    import importlib.util

    _require(CHROMIUM.exists() and importlib.util.find_spec("playwright") is not None,
             f"{CHROMIUM} or the playwright package is missing")


def require_nginx() -> None:
    """Skip a reverse-proxy test where nginx or openssl is missing; under CI=true, fail."""
    from tooling.proxy import nginx_available

    _require(nginx_available(), "nginx or openssl is missing")


def require_caddy() -> None:
    """Skip a Caddy test where caddy or openssl is missing; under CI=true, fail."""
    import shutil

    from tooling.proxy import caddy_binary

    _require(caddy_binary() is not None and shutil.which("openssl") is not None,
             "caddy or openssl is missing")


def _require(present: bool, reason: str) -> None:
    """Skip when ``present`` is false, except under CI=true (CI installs what is needed),
    where the test fails."""
    import os

    import pytest

    if present:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}: CI installs it, so these tests must run there")
    pytest.skip(reason)
