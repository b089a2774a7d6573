"""Each exporter's files, ingested with the command line, store what the analyst expects.

For one cohort of 60 clinicians (:mod:`tests.intake.importers.cohort`) exported by every tool,
``ingest`` (with only ``--wave`` for one-wave files, ``--map`` for the practice question
and ``--dictionary`` for REDCap raw) must store the CBI scale means per wave that the
analyst computes from the answers (to 0.01), with the same counts, and ``status --json``
must count the same sessions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.__main__ import main
from analysis.storage.store import Store
from tests.intake.importers import attendance_exports as A
from tests.intake.importers import survey_exports as S
from tests.intake.importers.cohort import MEETINGS, analyst_means, expected_sessions

PRACTICE_MAP = ["--map", "site=Which practice do you work at?"]
ONE_WAVE = {
    "qualtrics-choice-text": ("csv", lambda w: S.qualtrics(w)),
    "qualtrics-numeric": ("csv", lambda w: S.qualtrics(w, numeric=True)),
    "qualtrics-tsv-utf16": ("tsv", lambda w: S.qualtrics(w, tsv=True)),
    "surveymonkey-csv": ("csv", lambda w: S.surveymonkey(w)),
    "surveymonkey-xlsx": ("xlsx", lambda w: S.surveymonkey(w, xlsx=True)),
    "microsoft-forms": ("xlsx", S.microsoft_forms),
    "google-forms": ("csv", S.google_forms),
}


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def status(capsys, db: Path) -> dict:
    code, out, err = run(capsys, "status", "--db", str(db), "--json")
    assert code == 0, err
    return json.loads(out)


def stored_means(db: Path, waves: list[str]) -> dict[tuple[str, str], tuple[float, int]]:
    """(wave position label, scale) → (mean, n) of the stored scores."""
    names = {w: label for w, label in zip(waves, ("baseline", "6 months"))}
    out = {}
    with Store(db) as store, store.cursor() as cur:
        for scale in ("cbi_personal", "cbi_work", "cbi_client"):
            for wave, mean, n in cur.execute(
                    f"SELECT wave, avg({scale}), count({scale}) FROM survey GROUP BY wave"
            ).fetchall():
                out[(names[wave], scale)] = (mean, n)
    return out


def assert_analyst_results(capsys, db: Path) -> dict:
    state = status(capsys, db)
    assert state["survey_rows"] == 116 and state["respondents"] == 60
    assert len(state["waves"]) == 2 and state["waves"][0].lower() == "baseline"
    assert sorted(state["sites"]) == ["Harbor Family Practice", "Northside Counselling",
                                      "Riverside Psychology"] or state["sites"] == ["1", "2", "3"]
    got = stored_means(db, state["waves"])
    for key, (mean, n) in analyst_means().items():
        assert got[key][1] == n, key
        assert got[key][0] == pytest.approx(mean, abs=0.01), key
    with Store(db) as store, store.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM survey WHERE respondent_id LIKE '%@%'"
                           ).fetchone()[0] == 0
    return state


@pytest.mark.parametrize("name", list(ONE_WAVE))
def test_one_wave_exports_store_the_analysts_means(name, tmp_path, capsys):
    suffix, write = ONE_WAVE[name]
    db = tmp_path / "db.duckdb"
    for wave in ("baseline", "6 months"):
        path = tmp_path / f"{name}-{wave}.{suffix}"
        path.write_bytes(write(wave))
        code, out, err = run(capsys, "ingest", "--db", str(db), "--survey", str(path),
                             "--wave", wave, *PRACTICE_MAP)
        assert code == 0, err
        assert out.startswith("This is a") and f"wave {wave}" in out
    assert_analyst_results(capsys, db)


def test_redcap_labels_store_the_analysts_means(tmp_path, capsys):
    db, path = tmp_path / "db.duckdb", tmp_path / "redcap_labels.csv"
    path.write_bytes(S.redcap_labels())
    code, out, err = run(capsys, "ingest", "--db", str(db), "--survey", str(path),
                         *PRACTICE_MAP)
    assert code == 0, err
    assert "This is a REDCap export (labels), waves Baseline, 6 months" in out
    assert assert_analyst_results(capsys, db)["waves"] == ["Baseline", "6 months"]


def test_redcap_raw_with_dictionary_stores_the_analysts_means(tmp_path, capsys):
    db, path, dictionary = tmp_path / "db.duckdb", tmp_path / "raw.csv", tmp_path / "dict.csv"
    data, meta = S.redcap_raw()
    path.write_bytes(data)
    dictionary.write_bytes(meta)
    code, out, err = run(capsys, "ingest", "--db", str(db), "--survey", str(path),
                         "--dictionary", str(dictionary), "--map", "site=practice")
    assert code == 0, err
    assert assert_analyst_results(capsys, db)["waves"] == ["baseline", "6 months"]


def test_redcap_raw_without_dictionary_is_refused(tmp_path, capsys):
    db, path = tmp_path / "db.duckdb", tmp_path / "raw.csv"
    path.write_bytes(S.redcap_raw()[0])
    code, _, err = run(capsys, "ingest", "--db", str(db), "--survey", str(path))
    assert code == 2 and "--dictionary FILE" in err and "Traceback" not in err
    assert not db.exists()


def test_mapping_is_remembered_for_the_next_export(tmp_path, capsys):
    db = tmp_path / "db.duckdb"
    first, second = tmp_path / "base.csv", tmp_path / "six.csv"
    first.write_bytes(S.google_forms("baseline"))
    second.write_bytes(S.google_forms("6 months"))
    assert run(capsys, "ingest", "--db", str(db), "--survey", str(first), "--wave",
               "baseline", *PRACTICE_MAP)[0] == 0
    code, _, err = run(capsys, "ingest", "--db", str(db), "--survey", str(second), "--wave",
                       "6 months")
    assert code == 0, err
    assert_analyst_results(capsys, db)


def test_one_wave_export_without_wave_is_refused_and_changes_nothing(tmp_path, capsys):
    db, path = tmp_path / "db.duckdb", tmp_path / "q.csv"
    path.write_bytes(S.qualtrics("baseline"))
    code, out, err = run(capsys, "ingest", "--db", str(db), "--survey", str(path),
                         *PRACTICE_MAP)
    assert code == 2 and "--wave LABEL" in err
    code, _, err = run(capsys, "ingest", "--db", str(db), "--survey", str(path), "--wave",
                       "baseline", "--map", "site=No such question")
    assert code == 2 and "has no column 'No such question'" in err
    assert not db.exists()


ATTENDANCE = {
    "zoom-participants": lambda d: _write(d / "participants.csv", A.zoom_participants()),
    "zoom-usage": lambda d: _write(d / "usage.csv", A.zoom_usage()),
    "teams-folder": lambda d: _teams_folder(d / "teams"),
    "teams-zip": lambda d: _write(d / "teams.zip", A.teams_zip()),
    "sign-in": lambda d: _write(d / "signin.xlsx", A.signin_workbook()),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _teams_folder(folder: Path) -> Path:
    folder.mkdir()
    for day in MEETINGS:
        _write(folder / f"meetingAttendanceReport({day:%Y-%m-%d}).csv", A.teams_report(day))
    return folder


@pytest.mark.parametrize("name", list(ATTENDANCE))
def test_attendance_reports_count_the_analysts_sessions(name, tmp_path, capsys):
    db, survey = tmp_path / "db.duckdb", tmp_path / "survey.csv"
    survey.write_bytes(S.qualtrics("baseline"))
    assert run(capsys, "ingest", "--db", str(db), "--survey", str(survey), "--wave",
               "baseline", *PRACTICE_MAP)[0] == 0
    code, out, err = run(capsys, "ingest", "--db", str(db), "--attendance",
                         str(ATTENDANCE[name](tmp_path)))
    assert code == 0, err
    assert "guests without an e-mail address" in out
    assert status(capsys, db)["sessions"] == expected_sessions()
    with Store(db) as store, store.cursor() as cur:
        unlinked = cur.execute("SELECT count(*) FROM attendance WHERE respondent_id NOT IN "
                               "(SELECT respondent_id FROM survey)").fetchone()[0]
    assert unlinked == 0  # e-mail pseudonyms link attendance to the survey rows
    # The same reports again (a cumulative export uploaded twice) add no session.
    again = tmp_path / "again"
    again.mkdir()
    assert run(capsys, "ingest", "--db", str(db), "--attendance",
               str(ATTENDANCE[name](again)))[0] == 0
    assert status(capsys, db)["sessions"] == expected_sessions()


def test_report_descriptives_match_the_analyst(tmp_path, capsys):
    """The whole path the issue names: REDCap raw + dictionary and a sign-in sheet in, the
    report's descriptives (all sites, everyone) out, equal to the analyst's means."""
    import csv  # noqa: PLC0415

    db = tmp_path / "db.duckdb"
    data, meta = S.redcap_raw()
    survey, dictionary = _write(tmp_path / "raw.csv", data), _write(tmp_path / "dd.csv", meta)
    signin = _write(tmp_path / "signin.xlsx", A.signin_workbook())
    code, _, err = run(capsys, "ingest", "--db", str(db), "--survey", str(survey),
                       "--dictionary", str(dictionary), "--map", "site=practice",
                       "--attendance", str(signin))
    assert code == 0, err
    assert status(capsys, db)["sessions"] == expected_sessions()
    code, _, err = run(capsys, "report", "--db", str(db), "--out", str(tmp_path / "report"))
    assert code == 0, err
    with (tmp_path / "report" / "descriptives.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["site"] == "all" and r["group"] == "all"]
    found = {(r["wave"], r["outcome"]): (float(r["mean"]), int(r["n"])) for r in rows
             if r["outcome"].startswith("cbi_")}
    for key, (mean, n) in analyst_means().items():
        assert found[key][1] == n and found[key][0] == pytest.approx(mean, abs=0.01), key


def test_a_bad_answer_is_named_by_the_exports_own_row_and_question(tmp_path, capsys):
    import csv  # noqa: PLC0415
    import io  # noqa: PLC0415

    rows = list(csv.reader(io.StringIO(S.qualtrics("baseline").decode())))
    column = rows[0].index("Q2_3")
    rows[6][column] = "Oftne"  # clinician 2's answer, on the export's row 7
    db, path = tmp_path / "db.duckdb", _write(tmp_path / "q.csv", S.to_csv(rows))
    code, _, err = run(capsys, "ingest", "--db", str(db), "--survey", str(path), "--wave",
                       "baseline", *PRACTICE_MAP)
    assert code == 2 and status(capsys, db)["survey_rows"] == 0
    assert ("q.csv, row 7, column In the last four weeks, please choose what fits best - How "
            "often are you emotionally exhausted? (stored as cbi_3): found 'Oftne'") in err
