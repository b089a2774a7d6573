"""Upload and Import history pages, driven through Streamlit's AppTest on a scratch store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analysis.access.scope import LOCAL, Scope
from analysis.intake.mapping import saved_mappings
from analysis.intake.sample import has_sample, load_sample
from analysis.storage.store import DB_ENV
from ui import auth

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
TIMEOUT = 30


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "upload.duckdb"
    monkeypatch.setenv(DB_ENV, str(path))
    st.cache_resource.clear()  # so ui.state opens the new file
    yield path
    st.cache_resource.clear()


@pytest.fixture(scope="module")
def pair() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Survey and attendance rows of 12 sample respondents."""
    survey = pd.read_csv(SAMPLE / "survey.csv", dtype=str, keep_default_na=False)
    attendance = pd.read_csv(SAMPLE / "attendance.csv", dtype=str, keep_default_na=False)
    people = survey["respondent_id"].unique()[:12]
    return (survey[survey["respondent_id"].isin(people)].reset_index(drop=True),
            attendance[attendance["respondent_id"].isin(people)].reset_index(drop=True))


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _store():
    # The AppTest runs in this process: read through the same cached Store resource.
    from ui.state import get_store
    return get_store()


def _count(table: str) -> int:
    with _store().cursor() as cur:
        return cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _page(name: str, scope: Scope = LOCAL) -> AppTest:
    at = AppTest.from_file(str(ROOT / "screens" / name), default_timeout=TIMEOUT)
    at.session_state[auth.SCOPE_KEY] = scope
    at.session_state[auth.METHOD_KEY] = "local"
    return at.run()


def _choose(at: AppTest, survey: bytes | None = None, attendance: bytes | None = None,
            survey_name: str = "survey.csv") -> AppTest:
    if survey is not None:
        at.file_uploader(key="file_survey").set_value((survey_name, survey, "text/csv"))
    if attendance is not None:
        at.file_uploader(key="file_attendance").set_value(
            ("attendance.csv", attendance, "text/csv"))
    return at.run()


def _validate_and_upload(at: AppTest) -> AppTest:
    at.button(key="validate").click().run()
    assert not at.exception
    assert not at.button(key="upload").disabled
    at.button(key="upload").click().run()
    assert not at.exception
    return at


def _frame_with(at: AppTest, column: str) -> pd.DataFrame:
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert frames, f"no table with a {column!r} column"
    return frames[-1]


def _texts(elements) -> str:
    return " ".join(e.value for e in elements)


def test_valid_pair_is_stored_with_a_summary(db, pair):
    survey, attendance = pair
    at = _choose(_page("upload.py"), _csv(survey), _csv(attendance))
    assert not at.exception and not at.error
    scales = _frame_with(at, "Scale")
    assert "yes" in set(scales["Scored"])  # the sample's instruments will be scored
    assert at.button(key="upload").disabled  # not before validation
    _validate_and_upload(at)
    assert "Stored as batch" in _texts(at.success)
    summary = _frame_with(at, "Respondents")
    assert summary.set_index("Kind").loc["survey", "Rows"] == len(survey)
    assert summary.set_index("Kind").loc["survey", "Respondents"] == 12
    assert [t.icon for t in at.toast]  # the upload was announced
    assert _count("survey") == len(survey)
    assert _count("attendance") == len(attendance)


def test_bad_codes_are_listed_and_nothing_is_stored(db, pair):
    survey, _ = pair
    bad = survey.copy()
    bad.loc[2, "cbi_1"] = "7"
    at = _choose(_page("upload.py"), _csv(bad))
    at.button(key="validate").click().run()
    assert not at.exception
    assert "error(s) to fix" in _texts(at.error)
    problems = _frame_with(at, "examples")
    assert list(problems.columns[:4]) == ["severity", "file", "column", "problem"]
    hit = problems[(problems["column"] == "cbi_1") & (problems["severity"] == "error")]
    assert list(hit["rows"]) == ["4"]  # header is row 1, so the third data row is row 4
    assert hit["examples"].iloc[0] == "'7'" and hit["count"].iloc[0] == 1
    assert problems["severity"].iloc[0] == "error"  # errors first
    assert at.get("download_button")  # the CSV download is offered
    assert at.button(key="upload").disabled
    assert _count("survey") == 0 and _count("uploads") == 0


def test_the_same_file_twice_changes_nothing(db, pair):
    survey, attendance = pair
    at = _choose(_page("upload.py"), _csv(survey), _csv(attendance))
    _validate_and_upload(at)
    assert "Stored as batch" in _texts(at.success)
    at.button(key="validate").click().run()
    assert "already stored" in _texts(at.info) and not at.error
    _validate_and_upload(at)
    assert "Nothing changed" in _texts(at.info)
    assert _count("survey") == len(survey)
    assert _count("uploads") == 2


def test_other_headers_are_mapped_automatically(db, pair):
    survey, _ = pair
    renamed = survey.rename(columns={"respondent_id": "Respondent ID", "wave": "Wave",
                                     "survey_date": "Survey Date", "site": "Site"})
    renamed.insert(4, "Comments", "free text that must not be stored")
    at = _choose(_page("upload.py"), _csv(renamed))
    assert not at.exception
    assert not [w for w in at.warning if "Required columns" in w.value]
    shown = _frame_with(at, "survey_date")
    assert {"respondent_id", "wave", "survey_date", "site"} <= set(shown.columns)
    assert "Comments" not in shown.columns
    assert "Comments" in _texts(at.caption)  # listed as not stored
    _validate_and_upload(at)
    assert "Stored as batch" in _texts(at.success)
    assert _count("survey") == len(survey)


def test_saved_mapping_is_remembered(db, pair):
    survey, _ = pair
    at = _choose(_page("upload.py"), _csv(survey.rename(columns={"site": "Practice"})))
    assert "site" in _texts(at.warning)  # not matched by name: required column missing
    at.button(key="save_mapping_survey").click().run()
    assert not at.exception
    assert saved_mappings(_store(), "survey")["Practice"] == ""


def test_existing_pairs_refused_then_replaced(db, pair):
    survey, _ = pair
    at = _choose(_page("upload.py"), _csv(survey))
    _validate_and_upload(at)
    changed = survey.copy()
    changed["cbi_1"] = "1"
    at = _choose(at, _csv(changed), survey_name="survey_fixed.csv")
    at.button(key="validate").click().run()
    assert at.button(key="upload").disabled  # the pairs are already stored
    at.checkbox(key="upload_replace").check().run()
    _validate_and_upload(at)
    assert "replaced" in _texts(at.success)
    assert _count("survey") == len(survey)


def test_role_without_upload_sees_no_form(db):
    at = _page("upload.py", Scope(role="leadership"))
    assert not at.exception
    assert not at.file_uploader
    assert "does not allow uploads" in _texts(at.warning)


def test_history_lists_uploads_and_undo_takes_one_out(db, pair):
    survey, attendance = pair
    _validate_and_upload(_choose(_page("upload.py"), _csv(survey), _csv(attendance)))
    at = _page("history.py")
    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["File"]) == {"survey.csv", "attendance.csv"}
    assert {"Upload", "Kind", "Rows", "When", "Who", "Status", "Sample?"} <= set(table.columns)
    assert at.button(key="undo").disabled  # not before the confirmation
    survey_upload = int(table.set_index("File").loc["survey.csv", "Upload"])
    at.selectbox(key="undo_choice").select(survey_upload).run()
    at.checkbox(key=f"undo_confirm_{survey_upload}").check().run()
    at.button(key="undo").click().run()
    assert not at.exception
    assert "taken out" in _texts(at.success)
    statuses = at.dataframe[0].value.set_index("File")["Status"]
    assert statuses["survey.csv"] == "undone" and statuses["attendance.csv"] == "applied"
    assert _count("survey") == 0 and _count("attendance") == len(attendance)


def test_history_removes_the_sample_data(db):
    load_sample(_store(), LOCAL)
    at = _page("history.py")
    assert at.button(key="remove_sample").disabled
    at.checkbox(key="sample_confirm").check().run()
    at.button(key="remove_sample").click().run()
    assert not at.exception
    assert "sample data was removed" in _texts(at.success)
    assert not has_sample(_store()) and _count("survey") == 0


def test_day_first_dates_are_found_and_stored_as_iso(db, pair):
    survey, attendance = pair
    dated = survey.copy()
    # 2025-03-14 -> 14/03/2025: a day above 12 first, so the order is not in doubt
    dated["survey_date"] = pd.to_datetime(dated["survey_date"]).dt.strftime("%d/%m/%Y")
    at = _choose(_page("upload.py"), _csv(dated), _csv(attendance))
    assert not at.exception
    assert "day first" in _texts(at.caption)
    _validate_and_upload(at)
    assert "Stored as batch" in _texts(at.success)
    with _store().cursor() as cur:
        stored = cur.execute("SELECT min(survey_date) FROM survey").fetchone()[0]
    assert str(stored) == str(pd.to_datetime(survey["survey_date"]).min().date())


def test_ambiguous_dates_ask_for_the_order(db, pair):
    survey, _ = pair
    dated = survey.copy()
    dated["survey_date"] = "01/02/2025"  # reads as 1 February or January 2
    at = _choose(_page("upload.py"), _csv(dated))
    assert not at.exception
    assert at.radio and not [b for b in at.button if b.key == "upload"]  # nothing to store yet
    assert "Choose the date order" in _texts(at.info)


def test_many_bad_dates_are_one_line(db, pair):
    survey, _ = pair
    bad = survey.copy()
    bad["survey_date"] = "not a date"
    at = _choose(_page("upload.py"), _csv(bad))
    at.button(key="validate").click().run()
    problems = _frame_with(at, "examples")
    dates = problems[problems["column"] == "survey_date"]
    assert len(dates) == 1 and dates["count"].iloc[0] == len(bad)


def test_an_old_excel_file_gets_a_clear_message(db):
    at = _page("upload.py")
    at.file_uploader(key="file_survey").set_value(
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "application/vnd.ms-excel"))
    at.run()
    assert not at.exception
    assert "old Excel .xls" in _texts(at.error)


def test_a_workbook_sheet_can_be_chosen(db, pair):
    import io
    survey, _ = pair
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        pd.DataFrame({"notes": ["read me"]}).to_excel(writer, sheet_name="About", index=False)
        survey.to_excel(writer, sheet_name="Data", index=False)
    at = _page("upload.py")
    at.file_uploader(key="file_survey").set_value(
        ("book.xlsx", buffer.getvalue(), "application/octet-stream"))
    at.run()
    assert at.selectbox[0].options == ["About", "Data"]
    at.selectbox[0].select("Data").run()
    assert not at.exception
    assert "Required columns not mapped" not in _texts(at.warning)


def test_a_manager_sees_only_their_practices_in_history(db):
    load_sample(_store(), LOCAL)
    manager = Scope("practice_manager", frozenset({"Harbor Family Therapy"}), "harbor")
    at = _page("history.py", manager)
    assert not at.exception
    shown = " ".join(at.dataframe[0].value["Practices"])
    assert "Harbor Family Therapy" in shown and "other practices" in shown
    assert "Willow Creek" not in shown
    # the sample spans other practices: neither undo nor removal is offered, so none is refused
    assert not [b for b in at.button if b.key in ("undo", "remove_sample")]
