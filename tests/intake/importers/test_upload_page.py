"""The Upload page names a recognised export, asks a one-wave export's wave, and stores it."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analysis.access.scope import LOCAL
from analysis.access.settings import save_setting
from analysis.intake.mapping import save_mapping
from analysis.storage.store import DB_ENV
from tests.intake.importers import survey_exports as S
from ui import auth

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv(DB_ENV, str(tmp_path / "page.duckdb"))
    st.cache_resource.clear()
    from ui.state import get_store  # noqa: PLC0415 - after the database is chosen
    yield get_store()
    st.cache_resource.clear()


def test_upload_page_names_the_export_and_stores_it(store):
    save_setting(store, LOCAL, "pseudonymize", 1)
    # The practice question was mapped once before (saved mapping of this layout).
    save_mapping(store, "survey", {"Which practice do you work at?": "site"})
    at = AppTest.from_file(str(ROOT / "screens" / "upload.py"), default_timeout=30)
    at.session_state[auth.SCOPE_KEY] = LOCAL
    at.session_state[auth.METHOD_KEY] = "local"
    at.run()
    at.file_uploader(key="file_survey").set_value(
        ("qualtrics.csv", S.qualtrics("baseline"), "text/csv"))
    at.run()
    assert not at.exception
    assert any("This is a Qualtrics export (choice text)" in i.value for i in at.info)
    assert any("IP Address (IP address)" in c.value for c in at.caption)
    at.text_input[0].set_value("baseline").run()
    assert any("This is a Qualtrics export (choice text), wave baseline: 60 rows" in i.value
               for i in at.info)
    at.button(key="validate").click().run()
    assert not at.exception and not at.button(key="upload").disabled
    at.button(key="upload").click().run()
    with store.cursor() as cur:
        rows, emails = cur.execute("SELECT count(*), count(*) FILTER (WHERE respondent_id "
                                   "LIKE '%@%') FROM survey").fetchone()
    assert (rows, emails) == (60, 0)


def test_upload_page_reads_a_zip_of_teams_reports(store):
    from tests.intake.importers import attendance_exports as A  # noqa: PLC0415
    from tests.intake.importers.cohort import expected_sessions  # noqa: PLC0415

    save_setting(store, LOCAL, "pseudonymize", 1)
    at = AppTest.from_file(str(ROOT / "screens" / "upload.py"), default_timeout=30)
    at.session_state[auth.SCOPE_KEY] = LOCAL
    at.session_state[auth.METHOD_KEY] = "local"
    at.run()
    at.file_uploader(key="file_attendance").set_value(
        ("teams.zip", A.teams_zip(), "application/zip"))
    at.run()
    assert not at.exception
    assert any(i.value.startswith("This is 4 reports (a Microsoft Teams attendance report): "
                                  f"{expected_sessions()} sessions") for i in at.info)
    at.button(key="validate").click().run()
    at.button(key="upload").click().run()
    with store.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM attendance").fetchone()[0] == \
            expected_sessions()
