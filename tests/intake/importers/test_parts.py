"""The importers' parts: dates, item wording, answers, shapes, what is dropped."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from analysis.intake.importers import (
    attendance_files,
    convert_attendance,
    convert_survey,
    parse_map,
)
from analysis.intake.importers.attendance import minutes_of
from analysis.intake.importers.dates import iso_dates, parse_date
from analysis.intake.importers.detect import survey_format
from analysis.intake.importers.model import read_rows
from analysis.intake.importers.wording import ITEM_TEXTS, answer_code, match_item
from tests.intake.importers import attendance_exports as A
from tests.intake.importers import survey_exports as S
from tests.intake.importers.cohort import MINIZ, expected_sessions


@pytest.mark.parametrize("text, expected", [
    ("2025-03-14", date(2025, 3, 14)),
    ("2025-03-14T23:15:22Z", date(2025, 3, 14)),
    ("2025-03-14 23:15:22+01:00", date(2025, 3, 14)),
    ("2025/03/14 9:15:22 PM GMT+1", date(2025, 3, 14)),
    ("03/14/2025 09:15:22 AM", date(2025, 3, 14)),
    ("3/14/25, 9:00:05 AM", date(2025, 3, 14)),
    ("Mar 14, 2025 09:00:12 AM", date(2025, 3, 14)),
    ("14 March 2025", date(2025, 3, 14)),
    ("45730", date(2025, 3, 14)),
    ("45730.85", date(2025, 3, 14)),
    ("not a date", None),
    ("02/30/2025", None),
])
def test_parse_date_every_form(text, expected):
    assert parse_date(text) == expected


def test_day_first_from_values_or_the_header():
    assert iso_dates(["04/03/2025", "14/03/2025"]) == ["2025-03-04", "2025-03-14"]
    assert iso_dates(["04/03/2025", "03/14/2025"]) == ["2025-04-03", "2025-03-14"]
    assert iso_dates(["04/03/2025"]) == ["2025-04-03"]  # the tools' default: month first
    assert iso_dates(["04/03/2025"], "Date (dd/mm/yyyy)") == ["2025-03-04"]
    assert iso_dates(["soon", ""]) == ["soon", ""]  # kept for validation to name


def test_every_published_item_is_recognised_in_the_tools_forms():
    for column, text in ITEM_TEXTS:
        assert match_item(text) == column
        assert match_item(f"Please choose one - {text.upper()}") == column
        assert match_item(f"Grid title [{text.rstrip('?.')}]") == column
    assert match_item("How often do you think: “I can’t take it anymore”?") == "cbi_4"
    assert match_item("I feel worn out because of my work as a therapist.") == "proqol_19"
    assert match_item("I am happy that I chose to do this work.") == "proqol_30"
    assert match_item("I am happy.") == "proqol_1"
    assert match_item("Which practice do you work at?") is None
    assert match_item("How often do you feel") is None


def test_answers_become_codes():
    assert answer_code("cbi_1", "Never / almost never") == "1"
    assert answer_code("cbi_7", "to a VERY high degree") == "5"
    assert answer_code("cbi_1", "4.0") == "4"
    assert answer_code("olbi_1", "Strongly disagree") == "4"
    assert answer_code("ucla3_2", "Some of the time") == "2"
    assert [answer_code("miniz_1", text) for text in MINIZ] == ["1", "2", "3", "4", "5"]
    assert answer_code("cbi_1", "Maybe") == "Maybe"  # validation names it


@pytest.mark.parametrize("data, name", [
    (S.qualtrics("baseline"), "qualtrics"), (S.qualtrics("baseline", tsv=True), "qualtrics"),
    (S.surveymonkey("baseline"), "surveymonkey"),
    (S.surveymonkey("baseline", xlsx=True), "surveymonkey"),
    (S.microsoft_forms("baseline"), "microsoft-forms"),
    (S.google_forms("baseline"), "google-forms"),
    (S.redcap_labels(), "redcap-labels"), (S.redcap_raw()[0], "redcap-raw"),
])
def test_survey_exports_recognised_by_shape(data, name):
    rows, problems = read_rows("export", data)
    assert not problems
    assert survey_format(rows)[0] == name


def test_contract_files_are_left_to_the_ingest():
    survey = b"respondent_id,wave,survey_date,site,cbi_1\nP1,1,2025-01-02,A,3\n"
    attendance = b"respondent_id,session_date\nP1,2025-01-02\n"
    assert convert_survey("s.csv", survey) is None
    assert convert_attendance([("a.csv", attendance)]) is None


def test_identifying_columns_and_free_text_are_dropped_and_listed():
    conversion = convert_survey("q.csv", S.qualtrics("baseline"), wave="baseline")
    dropped = dict(conversion.dropped)
    assert dropped["IP Address"] == "IP address"
    assert dropped["Recipient Last Name"] == "name"
    assert dropped["Location Latitude"] == "location"
    assert dropped["Anything else you would like to tell us?"] == "free text"
    text = conversion.data.decode()
    for secret in ("203.0.113.", "Last1", "39.7392", "comment number", "preview@"):
        assert secret not in text
    # The unrecognised practice question is passed on for mapping, under its own text.
    assert conversion.unrecognised == ("Which practice do you work at?",)
    assert "clinician03@peer-example.org" in text  # trimmed and lower-cased


def test_partial_responses_are_kept_and_previews_counted():
    conversion = convert_survey("q.csv", S.qualtrics("baseline"), wave="baseline")
    left = dict(conversion.left_out)
    assert left == {"survey previews, tests or spam": 1,
                    "no e-mail address to link the response": 1}
    assert len(conversion.rows) == 60
    assert conversion.needs_wave is False


def test_teams_reports_share_one_date_order_across_a_folder(tmp_path):
    day_first = A.teams_report(date(2025, 4, 2)).decode("utf-16").replace("4/2/25", "2/4/25")
    later = A.teams_report(date(2025, 5, 7)).decode("utf-16").replace("5/7/25", "7/5/25")
    later = later.replace("7/5/25", "13/5/25")  # a day above 12 settles the order
    conversion = convert_attendance([("a.csv", day_first.encode("utf-16")),
                                     ("b.csv", later.encode("utf-16"))])
    assert {row[1] for row in conversion.rows} == {"2025-04-02", "2025-05-13"}


def test_attendance_from_a_folder_or_zip(tmp_path):
    (tmp_path / "a.csv").write_bytes(A.zoom_participants())
    (tmp_path / "notes.md").write_text("not a report")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x/b.xlsx", A.signin_workbook())
    (tmp_path / "more.zip").write_bytes(buffer.getvalue())
    files = attendance_files(tmp_path)
    assert [name for name, _ in files] == ["a.csv", "b.xlsx"]
    conversion = convert_attendance(files)
    assert conversion.source == "2 reports (a Zoom participant report and a sign-in sheet)"
    # In person and online on the same day are two rows but one person × date session.
    assert len({(r[0], r[1]) for r in conversion.rows}) == expected_sessions()


def test_unknown_report_among_several_is_an_error():
    conversion = convert_attendance([("a.csv", A.zoom_usage()),
                                     ("b.csv", b"foo,bar\n1,2\n")])
    assert [p.file for p in conversion.problems] == ["b.csv"]


def test_minutes_and_map_syntax():
    assert minutes_of("1h 2m") == 62 and minutes_of("30s") == 0.5 and minutes_of("") is None
    assert parse_map(["site = Which practice?"]) == {"site": "Which practice?"}
    with pytest.raises(ValueError, match="TARGET=SOURCE"):
        parse_map(["site"])


def test_map_may_choose_the_wave_the_link_and_items_by_part_of_a_question():
    rows = [["Timestamp", "Staff code", "Survey round", "Practice name?",
             "How often do you feel tired?", "Q: how tired are you at work, honestly"],
            ["2025/03/14 9:15:22 AM GMT+1", "P-0042", "spring", "Harbor", "Often", "3"],
            ["2025/09/14 9:15:22 AM GMT+1", "P-0042", "autumn", "Harbor", "Seldom", "2"]]
    data = "\n".join(",".join(r) for r in rows).encode()
    conversion = convert_survey("g.csv", data, mapping={
        "respondent_id": "staff code", "wave": "round", "site": "Practice name",
        "cbi_10": "how tired are you at work"})
    assert not conversion.problems
    assert conversion.waves == ("spring", "autumn")
    assert conversion.header[:5] == ("respondent_id", "wave", "survey_date", "site", "cbi_1")
    assert conversion.rows[0][:6] == ("P-0042", "spring", "2025-03-14", "Harbor", "4", "3")
    bad = convert_survey("g.csv", data, wave="w", mapping={"site": "e", "role": "No such"})
    messages = [p.message for p in bad.problems]
    assert messages[0].startswith("--map site=e: 'e' fits several columns ('Timestamp', ")
    assert messages[0].endswith("give more of the text.")
    assert messages[1] == "--map role=No such: the export has no column 'No such'."
    assert messages[2].startswith("No e-mail address column was found")


def test_damaged_exports_never_raise():
    """Truncated, spliced and garbled exports give a conversion, None, or problems —
    never an exception (a refusal must reach the user as words, not a traceback)."""
    import random  # noqa: PLC0415

    rng = random.Random(16)
    surveys = [S.qualtrics("baseline"), S.surveymonkey("baseline"), S.redcap_raw()[0],
               S.google_forms("baseline")]
    reports = [A.zoom_participants(), A.zoom_usage(), A.teams_report(date(2025, 4, 2))]
    for case in range(60):
        data = bytearray(rng.choice(surveys if case % 2 == 0 else reports))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data) or 1)
            if rng.random() < 0.5:
                del data[at:at + rng.randint(1, 300)]
            else:
                data[at:at] = rng.choice([b",", b"\n", b'"', b"\t", b"\x00", "é".encode()])
        if case % 2 == 0:
            convert_survey("f.csv", bytes(data), wave="w", mapping={"site": "practice"})
            convert_survey("f.csv", bytes(data), dictionary=bytes(data))
        else:
            convert_attendance([("f.csv", bytes(data)), ("g.csv", bytes(data))])
