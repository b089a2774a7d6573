"""Practice managers: no oracle on other practices, and no upload of one manager changes
another practice's numbers (wave order, saved mappings, undo of site-less uploads)."""

from __future__ import annotations

import pytest

from analysis.access.scope import LOCAL, PermissionDenied, Scope
from analysis.intake.ingest import ingest, validate_upload
from analysis.intake.mapping import save_mapping
from analysis.intake.preview import preview
from analysis.intake.uploads import history, undo
from analysis.intake.values import UploadFile
from analysis.storage import queries
from tests.factories import ATTENDANCE_HEADER, SURVEY_HEADER, csv_bytes, survey_rows

HARBOR = Scope("practice_manager", frozenset({"Harbor"}), "pm.harbor")
CEDAR = Scope("practice_manager", frozenset({"Cedar"}), "pm.cedar")
ADMIN = Scope("admin", None, "admin")


def _survey(rows, name="survey.csv", header=SURVEY_HEADER):
    return UploadFile("survey", name, csv_bytes(rows, header))


def _attendance(rows, name="attendance.csv"):
    return UploadFile("attendance", name, csv_bytes(rows, ATTENDANCE_HEADER))


@pytest.fixture
def two_practices(store):
    """Harbor: P0001-P0006; Tiny: P0100-P0105, both at waves w1 (Feb) and w2 (May)."""
    for wave, date in (("w1", "2025-02-01"), ("w2", "2025-05-01")):
        rows = survey_rows(6, wave=wave, date=date) + \
            survey_rows(6, wave=wave, site="Tiny", start=100, date=date)
        assert ingest(store, [_survey(rows, f"{wave}.csv")], LOCAL).status == "applied"
    return store


def _messages(report):
    return sorted((p.severity, p.expected, p.message) for p in report.problems)


def _count(store, sql):
    with store.cursor() as cur:
        return cur.execute(sql).fetchone()[0]


def test_another_practices_id_reads_like_an_unknown_id_in_attendance(two_practices):
    session = ["2025-01-15", "group", 60]
    own = ["P0001", *session]
    theirs = validate_upload(two_practices, [_attendance([own, ["P0100", *session]])],
                                    HARBOR)
    unknown = validate_upload(two_practices,
                                     [_attendance([own, ["P9999", *session]])], HARBOR)
    alone = validate_upload(two_practices, [_attendance([["P0100", *session]])],
                                   HARBOR)
    alone_unknown = validate_upload(two_practices,
                                           [_attendance([["P9999", *session]])], HARBOR)
    assert theirs.ok and unknown.ok
    assert _messages(theirs) == _messages(unknown)
    assert _messages(alone) == _messages(alone_unknown)
    assert "Tiny" not in str(theirs.problems) + str(alone.problems)
    result = ingest(two_practices, [_attendance([own, ["P0100", *session]])], HARBOR)
    assert result.status == "applied"
    # Nothing was attached to the other practice's person.
    assert _count(two_practices, "SELECT count(*) FROM attendance WHERE respondent_id = "
                                 "'P0100'") == 0
    assert _count(two_practices, "SELECT count(*) FROM attendance") == 1


def test_another_practices_id_reads_like_an_unknown_id_in_a_survey(two_practices):
    mine = survey_rows(1, wave="w2", start=100, date="2025-05-02")  # Tiny's P0100, site Harbor
    unknown = survey_rows(1, wave="w2", start=9999, date="2025-05-02")
    for replace in (False, True):
        a = validate_upload(two_practices, [_survey(mine)], HARBOR, replace=replace)
        b = validate_upload(two_practices, [_survey(unknown)], HARBOR, replace=replace)
        assert _messages(a) == _messages(b) and a.ok == b.ok
    before = _count(two_practices, "SELECT count(*) FROM survey WHERE site = 'Tiny'")
    assert ingest(two_practices, [_survey(mine)], HARBOR, replace=True).status == \
        "applied"
    assert _count(two_practices, "SELECT count(*) FROM survey WHERE site = 'Tiny'") == before


def test_refusals_of_undo_name_no_practice(two_practices):
    tiny_upload = int(history(two_practices, LOCAL)["upload_id"].iloc[-1])
    with pytest.raises(PermissionDenied) as refused:
        undo(two_practices, tiny_upload, HARBOR)
    assert "Tiny" not in str(refused.value)


def test_an_upload_touching_no_practice_is_undone_only_by_its_uploader(store):
    rows = [["P0001", "2025-01-15", "group", 60]]
    result = ingest(store, [_attendance(rows)], ADMIN)
    with pytest.raises(PermissionDenied):
        undo(store, result.upload_ids[0], CEDAR)
    assert undo(store, result.upload_ids[0], ADMIN).rows_removed == 1


def test_a_mapping_saved_by_one_manager_is_not_used_for_another_practice(store):
    header = ("ID", "Wave", "Date", "Practice", "Role", "Q1", "Q2", "cbi_3", "cbi_4",
              "cbi_5", "cbi_6")
    save_mapping(store, "survey", {"ID": "respondent_id", "Wave": "wave",
                                          "Date": "survey_date", "Practice": "site",
                                          "Q1": "cbi_2", "Q2": "cbi_1"}, CEDAR)
    upload = _survey(survey_rows(2), header=header)
    assert preview(upload, store=store, scope=CEDAR).mapping["Q1"] == "cbi_2"
    mine = preview(upload, store=store, scope=HARBOR).mapping
    assert mine["Q1"] is None and mine["Q2"] is None
    assert validate_upload(store, [upload], HARBOR).ok is False


def test_a_managers_early_wave_cannot_become_everyones_baseline(two_practices):
    harbor_before = queries.load_panel(two_practices, HARBOR)
    overall_before = queries.wave_order(two_practices)["wave"].tolist()
    early = survey_rows(6, wave="w0", site="Cedar", start=200, date="2024-01-01")
    refused = ingest(two_practices, [_survey(early)], CEDAR)
    assert refused.status == "refused"
    assert any("comes before waves already stored" in p.message for p in refused.problems)
    assert queries.wave_order(two_practices)["wave"].tolist() == overall_before
    # Early-dated rows in an existing wave do not move it either.
    late_rows = survey_rows(6, wave="w2", site="Cedar", start=200, date="2024-12-01")
    assert ingest(two_practices, [_survey(late_rows)], CEDAR).status == "applied"
    assert queries.wave_order(two_practices)["wave"].tolist() == overall_before
    # A later wave is fine; Harbor's panel is exactly as before.
    later = survey_rows(6, wave="w3", site="Cedar", start=200, date="2025-09-01")
    assert ingest(two_practices, [_survey(later)], CEDAR).status == "applied"
    assert queries.load_panel(two_practices, HARBOR).equals(harbor_before)
    # An administrator may add an earlier wave.
    assert ingest(two_practices, [_survey(early, "w0.csv")], ADMIN).status == "applied"
    assert queries.wave_order(two_practices)["wave"].tolist()[0] == "w0"


def test_each_practice_is_numbered_from_its_own_first_wave(two_practices):
    later = survey_rows(6, wave="w3", site="Cedar", start=200, date="2025-09-01")
    ingest(two_practices, [_survey(later)], ADMIN)
    assert queries.wave_order(two_practices, CEDAR)["wave"].tolist() == ["w3"]
    panel = queries.load_panel(two_practices, CEDAR)
    assert set(panel["wave_index"]) == {0}
