"""Each kind of bad input gives a problem naming file, row and column, in plain words."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.access.scope import LOCAL
from analysis.definitions.instruments import INSTRUMENTS_BY_KEY
from analysis.intake.ingest import already_stored, ingest, validate_upload
from analysis.intake.preview import preview as preview_upload
from analysis.intake.problems import Problem, problems_frame, sort_problems
from analysis.intake.rules import item_expected
from analysis.intake.values import UploadFile
from tests.factories import ATTENDANCE_HEADER, SURVEY_HEADER, attendance_rows, csv_bytes, survey_rows


def _survey(rows, header=SURVEY_HEADER, name="survey.csv"):
    return UploadFile("survey", name, csv_bytes(rows, header))


def _check(store, files, pseudonymize=False):
    return validate_upload(store, files, LOCAL, pseudonymize)


def _errors(report):
    return [p for p in report.problems if p.severity == "error"]


def test_valid_file_passes(store):
    report = _check(store, [_survey(survey_rows(5))])
    assert report.ok and not _errors(report)
    summary = report.summary["survey.csv"]
    assert (summary.rows, summary.respondents, summary.waves, summary.sites) == \
        (5, 5, ("2025-Q1",), ("Harbor",))


def test_item_out_of_scale_names_file_row_column_and_labels(store):
    rows = survey_rows(4)
    rows[2][5] = "7"  # cbi_1 of spreadsheet row 4
    report = _check(store, [_survey(rows)])
    [problem] = _errors(report)
    assert (problem.file, problem.row, problem.column, problem.value) == \
        ("survey.csv", 4, "cbi_1", "7")
    assert problem.text() == ("survey.csv, row 4, column cbi_1: found '7', expected a code "
                              "1–5 or a label (Never/almost never … Always)")


def test_labels_are_accepted_case_insensitively(store):
    rows = survey_rows(3)
    rows[0][5], rows[1][6], rows[2][7] = "ALWAYS", "to a  high degree", "Never / almost never"
    assert _check(store, [_survey(rows)]).ok


@pytest.mark.parametrize("column, value, words", [
    ("survey_date", "15/01/2025", "YYYY-MM-DD"),
    ("survey_date", "2025-02-30", "YYYY-MM-DD"),
    ("respondent_id", "anna.berg@example.org", "e-mail"),
    ("respondent_id", "Anna Berg", "person's name"),
    ("respondent_id", "\"Berg, Anna\"", "person's name"),
    ("site", "", "required value is empty"),
    ("wave", "   ", "required value is empty"),
    ("role", "x" * 201, "more than 200 characters"),
])
def test_bad_values(store, column, value, words):
    rows = survey_rows(3)
    rows[1][SURVEY_HEADER.index(column)] = value
    report = _check(store, [_survey(rows)])
    [problem] = _errors(report)
    assert (problem.row, problem.column) == (3, column)
    assert words in problem.message


def test_datetimes_are_accepted_as_dates(store):
    rows = survey_rows(2)
    rows[0][2], rows[1][2] = "2025-02-01 10:30:00", "2025-02-01T10:30:00Z"
    assert _check(store, [_survey(rows)]).ok


def test_names_and_emails_allowed_when_pseudonymizing(store):
    rows = survey_rows(2)
    rows[0][0], rows[1][0] = "Anna Berg", "anna@example.org"
    assert not _check(store, [_survey(rows)]).ok
    assert _check(store, [_survey(rows)], pseudonymize=True).ok


def test_duplicate_respondent_wave_in_file(store):
    rows = survey_rows(3)
    rows.append(list(rows[0]))
    [problem] = _errors(_check(store, [_survey(rows)]))
    assert problem.row == 5 and "row 2" in problem.message


def test_repeated_pair_found_when_the_waves_differ_by_spaces_only(store):
    rows = survey_rows(3)
    again = list(rows[1])
    again[1] = "\u00a02025-Q1 "
    rows.append(again)
    errors = [p for p in _errors(_check(store, [_survey(rows)]))
              if "already has a row" in p.message]
    assert [(p.row, "row 3" in p.message) for p in errors] == [(5, True)]


def test_many_distinct_pairs_without_repeats_pass(store):
    rows = [r for w in range(12) for r in survey_rows(40, wave=f"2025-W{w:02d}")]
    assert not [p for p in _errors(_check(store, [_survey(rows)]))]


def test_missing_required_columns_and_outcomes(store):
    header = ("respondent_id", "wave", "site", "role")
    report = _check(store, [_survey([["P1", "w1", "Harbor", "x"]], header)])
    messages = [p.message for p in _errors(report)]
    assert any("survey_date is missing" in m for m in messages)
    assert any("no outcome columns" in m for m in messages)
    assert all(p.row is None for p in _errors(report))


def test_header_only_and_empty(store):
    header_only = UploadFile("survey", "s.csv", (",".join(SURVEY_HEADER) + "\n").encode())
    assert any("no data rows" in p.message for p in _errors(_check(store, [header_only])))
    empty = UploadFile("survey", "s.csv", b"")
    assert any("empty" in p.message for p in _errors(_check(store, [empty])))


def test_scored_columns_checked_against_scale_range(store):
    header = ("respondent_id", "wave", "survey_date", "site", "mbi_ee", "cbi_work")
    rows = [["P1", "w", "2025-01-01", "H", "27", "50"], ["P2", "w", "2025-01-01", "H", "60", "x"]]
    problems = _errors(_check(store, [_survey(rows, header)]))
    assert {(p.row, p.column) for p in problems} == {(3, "mbi_ee"), (3, "cbi_work")}
    assert any("a score from 0 to 54" in p.message for p in problems)


def test_attendance_duration_and_unknown_ids(store):
    rows = attendance_rows(3)
    rows[0][3], rows[1][3] = "0", "an hour"
    files = [_survey(survey_rows(2)),
             UploadFile("attendance", "att.csv", csv_bytes(rows, ATTENDANCE_HEADER))]
    report = _check(store, files)
    errors = _errors(report)
    assert {(p.file, p.row, p.column) for p in errors} == {
        ("att.csv", 2, "duration_minutes"), ("att.csv", 3, "duration_minutes")}
    warnings = [p for p in report.problems if p.severity == "warning"]
    assert any("no survey row" in p.message and "P0003" in p.message for p in warnings)


def test_columns_not_stored_are_warned(store):
    header = SURVEY_HEADER + ("comments",)
    rows = [r + ["felt tired"] for r in survey_rows(2)]
    report = _check(store, [_survey(rows, header)])
    assert report.ok
    [warning] = [p for p in report.problems if p.column == "comments"]
    assert warning.severity == "warning" and "not be stored" in warning.message


def test_every_failing_rule_is_reported_and_capped(store, monkeypatch):
    monkeypatch.setattr("analysis.intake.validate.MAX_PER_CHECK", 5)
    rows = survey_rows(40)
    for row in rows:
        row[5] = "9"
    rows[3][2] = "yesterday"
    report = validate_upload(store, [_survey(rows)], LOCAL)
    item = [p for p in _errors(report) if p.column == "cbi_1"]
    # The cap is read at call time through the module default; either cap is fine, but
    # every rule must appear and the rest be counted.
    assert any(p.row is None and "more rows" in p.message for p in item) or len(item) == 40
    assert any(p.column == "survey_date" for p in _errors(report))


def test_wrong_field_count_refuses_with_row(store):
    data = csv_bytes(survey_rows(3)) + b"P9,2025-Q1,2025-02-01\n"
    report = _check(store, [UploadFile("survey", "s.csv", data)])
    [problem] = _errors(report)
    assert problem.row == 5 and "3 values" in problem.message


def test_problems_frame_and_sorting():
    problems = [Problem("b.csv", 3, "x", "1", "e", "error", "m"),
                Problem("a.csv", None, None, None, "e", "warning", "w"),
                Problem("a.csv", 2, "y", "v", "e", "error", "m2"),
                Problem("a.csv", None, "z", None, "e", "error", "whole file"),
                Problem("a.csv", 1, "y", "v", "e", "warning", "w2"),
                Problem("a.csv", 2, "a", "v", "e", "error", "m3")]
    ordered = sort_problems(problems)
    # Errors first; then file, row (whole-file problems first) and column.
    assert [(p.severity, p.file, p.row, p.column) for p in ordered] == [
        ("error", "a.csv", None, "z"), ("error", "a.csv", 2, "a"), ("error", "a.csv", 2, "y"),
        ("error", "b.csv", 3, "x"),
        ("warning", "a.csv", None, None), ("warning", "a.csv", 1, "y")]
    frame = problems_frame(problems)  # sorts by itself
    assert list(frame.columns) == ["severity", "file", "row", "column", "value", "expected",
                                   "message"]
    assert list(frame["message"]) == [p.message for p in ordered]
    assert frame["row"].dtype == pd.Int64Dtype() and pd.isna(frame.loc[0, "row"])
    assert "a.csv" in frame.to_csv(index=False)
    assert problems_frame([]).empty


def test_item_expected_wording():
    assert item_expected(INSTRUMENTS_BY_KEY["miniz"]) == "a code 1–5"
    assert "Hardly ever … Often" in item_expected(INSTRUMENTS_BY_KEY["ucla3"])


def test_a_file_already_stored_is_skipped_and_reported_unchanged(store):
    survey = _survey(survey_rows(4))
    assert ingest(store, [survey], LOCAL).status == "applied"
    assert already_stored(store, [survey]) == ("survey.csv",)
    report = _check(store, [survey])
    # Not checked again: its own stored rows are no clash.
    assert report.ok and not _errors(report)
    summary = report.summary["survey.csv"]
    assert summary.unchanged and summary.upload_id is not None
    assert report.unchanged == (summary,)
    [warning] = report.problems
    assert warning.severity == "warning" and "already stored" in warning.message


def test_a_stored_file_beside_a_new_one_only_the_new_one_is_checked(store):
    survey = _survey(survey_rows(2))
    ingest(store, [survey], LOCAL)
    rows = attendance_rows(3)
    rows[0][3] = "an hour"
    attendance = UploadFile("attendance", "att.csv", csv_bytes(rows, ATTENDANCE_HEADER))
    assert already_stored(store, [survey, attendance]) == ("survey.csv",)
    report = _check(store, [survey, attendance])
    assert list(report.summary) == ["survey.csv", "att.csv"]
    assert report.summary["survey.csv"].unchanged
    assert not report.summary["att.csv"].unchanged and report.summary["att.csv"].rows == 3
    assert [(p.file, p.row, p.column) for p in _errors(report)] == [
        ("att.csv", 2, "duration_minutes")]
    # Errors come before the warnings (already stored, no survey row for P0003).
    assert [p.severity for p in report.problems][:1] == ["error"]
    assert report.frame()["severity"].tolist() == sorted(
        report.frame()["severity"].tolist(), key=lambda s: s != "error")


def test_unreadable_files_are_problems_in_validation_and_preview(store):
    for data in (b"\n" + csv_bytes(survey_rows(2)),
                 csv_bytes(survey_rows(3)).replace(b"\n", b"\r\n", 2).replace(b"P0003", b'"P3')):
        upload = UploadFile("survey", "survey.csv", data)
        report = _check(store, [upload])
        assert all(p.file == "survey.csv" and p.message for p in report.problems)
        preview = preview_upload(upload)
        assert isinstance(preview.readable, bool)
    report = _check(store, [UploadFile("survey", "survey.csv",
                                              b"\n" + csv_bytes(survey_rows(2)))])
    assert not report.ok
    assert _errors(report)[0].message.startswith("The first line of survey.csv is empty")


def test_item_columns_checked_together_keep_their_own_counts(store):
    # The items of one instrument are evaluated in one grouped aggregate; each column's
    # failures must still be its own (rows, values and the "more rows" count).
    rows = survey_rows(30)
    for i, row in enumerate(rows):
        row[5] = "7" if i < 25 else row[5]  # cbi_1: 25 bad
        row[7] = "x" if i in (2, 9) else row[7]  # cbi_3: 2 bad
    report = validate_upload(store, [_survey(rows)], LOCAL)
    listed = {}
    for p in _errors(report):
        listed.setdefault(p.column, []).append(p)
    assert set(listed) == {"cbi_1", "cbi_3"}
    assert [(p.row, p.value) for p in listed["cbi_3"]] == [(4, "x"), (11, "x")]
    assert [p.row for p in listed["cbi_1"]] == list(range(2, 27))
