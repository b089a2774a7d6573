"""Loading uploads: all or nothing, idempotent, replace and undo, scope, scores."""

from __future__ import annotations

import pytest

from analysis.access.scope import LOCAL, PermissionDenied, Scope
from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.intake import values as values_module
from analysis.intake import write as write_module
from analysis.intake.ingest import ingest, validate_upload
from analysis.intake.mapping import save_mapping
from analysis.intake.preview import preview as preview_upload
from analysis.intake.sample import has_sample, load_sample, remove_sample
from analysis.intake.uploads import has_data, history, status, undo
from analysis.intake.values import UploadFile, UploadNotFound
from analysis.storage.store import Store
from tests.factories import ATTENDANCE_HEADER, SURVEY_HEADER, attendance_rows, csv_bytes, survey_rows

TABLES = ("uploads", "survey", "survey_replaced", "attendance", "column_mappings", "settings",
          "audit_log")


def fingerprint(store: Store) -> dict[str, tuple[int, str]]:
    """Row count and checksum of every table."""
    out = {}
    with store.cursor() as cur:
        for table in TABLES:
            out[table] = cur.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::VARCHAR, '|' ORDER BY "
                f"t::VARCHAR), '')) FROM {table} t").fetchone()
    return out


def survey_file(rows=None, name="survey.csv", header=SURVEY_HEADER):
    return UploadFile("survey", name, csv_bytes(rows or survey_rows(), header))


def attendance_file(rows=None, name="attendance.csv"):
    return UploadFile("attendance", name,
                             csv_bytes(rows or attendance_rows(), ATTENDANCE_HEADER))


def count(store, table, where="true"):
    with store.cursor() as cur:
        return cur.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]


def test_ingest_stores_codes_and_scores(store):
    rows = [["P0001", "2025-Q1", "2025-02-01", " Harbor ", "counselor", "1", "Seldom",
             "sometimes", "4", "5", ""]]
    result = ingest(store, [survey_file(rows)], LOCAL)
    assert result.status == "applied" and result.rows == 1
    with store.cursor() as cur:
        row = cur.execute("SELECT site, survey_date::VARCHAR, cbi_1, cbi_2, cbi_3, cbi_6, "
                          "cbi_personal, cbi_work FROM survey").fetchone()
    # Personal burnout: mean of (c-1)*25 over the five answered items.
    assert row == ("Harbor", "2025-02-01", 1, 2, 3, None, (0 + 25 + 50 + 75 + 100) / 5, None)


def test_scored_columns_used_when_items_absent(store):
    header = ("respondent_id", "wave", "survey_date", "site", "mbi_ee", "mbi_dp")
    rows = [["P1", "w1", "2025-01-01", "H", "27", ""], ["P2", "w1", "2025-01-01", "H", "3.5", "12"]]
    assert ingest(store, [survey_file(rows, header=header)], LOCAL).status == "applied"
    with store.cursor() as cur:
        assert cur.execute("SELECT mbi_ee, mbi_dp FROM survey ORDER BY respondent_id"
                           ).fetchall() == [(27.0, None), (3.5, 12.0)]


def test_same_file_twice_is_unchanged(store):
    files = [survey_file(), attendance_file()]
    first = ingest(store, files, LOCAL)
    assert first.status == "applied" and len(first.upload_ids) == 2
    before = fingerprint(store)
    again = ingest(store, files, LOCAL)
    assert again.status == "unchanged" and again.upload_ids == ()
    assert fingerprint(store) == before


def test_refused_upload_leaves_database_exactly_as_before(sample_store):
    before = fingerprint(sample_store)
    rows = survey_rows(3, wave="2026-Q1")
    rows[1][5] = "42"
    result = ingest(sample_store, [survey_file(rows), attendance_file()], LOCAL)
    assert result.status == "refused"
    assert [p.row for p in result.problems if p.severity == "error"] == [3]
    assert fingerprint(sample_store) == before


def test_failure_in_the_middle_rolls_everything_back(store, monkeypatch):
    ingest(store, [survey_file(survey_rows(2, wave="w0"))], LOCAL)
    before = fingerprint(store)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(write_module, "insert_attendance", broken)
    with pytest.raises(RuntimeError):
        ingest(store, [survey_file(), attendance_file()], LOCAL)
    assert fingerprint(store) == before


def test_existing_pairs_refused_then_replaced_then_restored_by_undo(store):
    first = ingest(store, [survey_file(survey_rows(4))], LOCAL)
    newer = survey_rows(2, start=3, date="2025-02-10")  # P0003, P0004 again
    newer[0][5] = "5"
    refused = ingest(store, [survey_file(newer, name="fix.csv")], LOCAL)
    assert refused.status == "refused"
    keys = [p for p in refused.problems if p.severity == "error"]
    assert [(p.file, p.row) for p in keys] == [("fix.csv", 2), ("fix.csv", 3)]
    assert all(f"upload {first.upload_ids[0]}" in p.message for p in keys)

    replaced = ingest(store, [survey_file(newer, name="fix.csv")], LOCAL, replace=True)
    assert replaced.status == "applied" and replaced.replaced == 2
    assert count(store, "survey") == 4 and count(store, "survey_replaced") == 2
    assert count(store, "survey", "respondent_id = 'P0003' AND cbi_1 = 5") == 1

    undone = undo(store, replaced.upload_ids[0], LOCAL)
    assert (undone.rows_removed, undone.rows_restored) == (2, 2)
    assert count(store, "survey") == 4 and count(store, "survey_replaced") == 0
    assert count(store, "survey", f"upload_id = {first.upload_ids[0]}") == 4
    with pytest.raises(UploadNotFound):
        undo(store, replaced.upload_ids[0], LOCAL)
    with pytest.raises(UploadNotFound):
        undo(store, 999, LOCAL)


def test_undo_in_a_replace_chain(store):
    a = ingest(store, [survey_file(survey_rows(2), name="a.csv")], LOCAL).upload_ids[0]
    b = ingest(store, [survey_file(survey_rows(2, date="2025-02-02"), name="b.csv")],
                      LOCAL, replace=True).upload_ids[0]
    c = ingest(store, [survey_file(survey_rows(2, date="2025-02-03"), name="c.csv")],
                      LOCAL, replace=True).upload_ids[0]
    undo(store, b, LOCAL)  # c still holds the pairs; a's rows now wait behind c
    assert count(store, "survey", f"upload_id = {c}") == 2 and count(store, "survey") == 2
    undo(store, c, LOCAL)
    assert count(store, "survey", f"upload_id = {a}") == 2 and count(store, "survey") == 2
    assert count(store, "survey_replaced") == 0


def test_undo_attendance_and_history(store):
    result = ingest(store, [survey_file(), attendance_file()], LOCAL)
    survey_id, attendance_id = result.upload_ids
    undo(store, attendance_id, LOCAL)
    assert count(store, "attendance") == 0 and count(store, "survey") == 6
    frame = history(store, LOCAL)
    assert list(frame["upload_id"]) == [attendance_id, survey_id]
    assert list(frame["status"]) == ["undone", "applied"]
    with store.cursor() as cur:
        actions = [r[0] for r in cur.execute(
            "SELECT action FROM audit_log ORDER BY event_id").fetchall()]
    assert actions == ["upload", "undo"]


def test_attendance_sessions_already_stored_are_skipped(store):
    ingest(store, [survey_file(), attendance_file(attendance_rows(3))], LOCAL)
    cumulative = attendance_rows(3) + [["P0001", "2025-03-01", "group", 60]] * 2
    result = ingest(store, [attendance_file(cumulative, name="att2.csv")], LOCAL)
    assert result.status == "applied" and result.summary["att2.csv"].skipped == 3
    assert count(store, "attendance") == 5
    assert any("already stored" in p.message for p in result.problems)


def test_practice_manager_only_uploads_own_sites(store):
    manager = Scope("practice_manager", frozenset({"Harbor"}), "pm")
    rows = survey_rows(2) + survey_rows(1, site="Cedar", start=10)
    with pytest.raises(PermissionDenied, match="Cedar"):
        ingest(store, [survey_file(rows)], manager)
    assert count(store, "survey") == 0
    assert count(store, "audit_log", "outcome = 'refused'") == 1
    assert ingest(store, [survey_file(survey_rows(2))], manager).status == "applied"
    other = Scope("practice_manager", frozenset({"Cedar"}), "pm2")
    upload_id = history(store, LOCAL)["upload_id"][0]
    with pytest.raises(PermissionDenied):
        undo(store, int(upload_id), other)
    assert len(history(store, other)) == 0 and len(history(store, manager)) == 1
    with pytest.raises(PermissionDenied):
        ingest(store, [survey_file()], Scope("leadership"))


def test_progress_is_reported(store):
    seen = []
    ingest(store, [survey_file(), attendance_file()], LOCAL,
                  progress=lambda f, text: seen.append((f, text)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_sample_load_status_and_removal(sample_store):
    state = status(sample_store, LOCAL)
    assert state.sample_present and state.survey_rows > 1000 and len(state.sites) >= 5
    assert has_data(sample_store) and has_sample(sample_store)
    assert load_sample(sample_store, LOCAL).status == "unchanged"
    assert remove_sample(sample_store, LOCAL) == 2
    assert not has_data(sample_store) and not has_sample(sample_store)
    assert sample_store.get_setting("sample_dismissed") == "1"


def test_sample_scores_match_instrument_sql(sample_store):
    """Stored scores are those of scale_score_sql over the stored codes."""
    from analysis.definitions.scoring_sql import scale_score_sql

    scale = SCALES_BY_KEY["cbi_work"]
    with sample_store.cursor() as cur:
        diff = cur.execute(f"SELECT count(*) FROM survey WHERE cbi_work IS DISTINCT FROM "
                           f"({scale_score_sql(scale)})").fetchone()[0]
        answered = cur.execute("SELECT count(cbi_work) FROM survey").fetchone()[0]
    assert diff == 0 and answered > 1000


def test_preview_mapping_and_saved_mapping(store):
    header = ("Respondent ID", "Wave", "Date", "Practice", "CBI 1", "CBI-2", "Comments")
    data = csv_bytes([["P1", "w1", "2025-01-01", "H", "1", "2", "ok"]], header)
    upload = UploadFile("survey", "export.csv", data)
    shown = preview_upload(upload, store=store)
    assert shown.mapping == {"Respondent ID": "respondent_id", "Wave": "wave", "Date": None,
                             "Practice": None, "CBI 1": "cbi_1", "CBI-2": "cbi_2",
                             "Comments": None}
    assert set(shown.missing_required) == {"survey_date", "site"}
    personal = next(s for s in shown.scales if s.scale == "cbi_personal")
    assert personal.source == "items" and personal.missing_items == (
        "cbi_3", "cbi_4", "cbi_5", "cbi_6")
    assert shown.rows.shape == (1, 7) and shown.encoding == "utf-8"
    save_mapping(store, "survey", {"Date": "survey_date", "Practice": "site",
                                          "Comments": None})
    again = preview_upload(upload, store=store)
    assert again.mapping["Date"] == "survey_date" and again.mapping["Practice"] == "site"
    assert not again.missing_required
    result = ingest(store, [upload], LOCAL)
    assert result.status == "applied"
    assert any(p.column == "Comments" and p.severity == "warning" for p in result.problems)


def test_explicit_mapping_conflicts_are_problems(store):
    header = ("id", "id2", "wave", "survey_date", "site", "cbi_1")
    data = csv_bytes([["P1", "P2", "w", "2025-01-01", "H", "1"]], header)
    mapping = {"id": "respondent_id", "id2": "respondent_id", "wave": "wave",
               "survey_date": "survey_date", "site": "site", "cbi_1": "cbi_1"}
    report = validate_upload(store, [UploadFile("survey", "s.csv", data, mapping)],
                                    LOCAL)
    assert not report.ok and any("both 'id' and 'id2'" in p.message for p in report.problems)


def test_xlsx_and_semicolon_cp1252_uploads(store):
    import io
    from datetime import date

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(list(SURVEY_HEADER))
    sheet.append(["P0001", "2025-Q1", date(2025, 2, 1), "Hörby", "psychologist", 1, 2, 3, 4, 5, 1])
    buffer = io.BytesIO()
    book.save(buffer)
    result = ingest(store, [UploadFile("survey", "s.xlsx", buffer.getvalue())],
                           LOCAL)
    assert result.status == "applied"
    att = csv_bytes([["P0001", "2025-01-03", "café group", "60"]], ATTENDANCE_HEADER,
                    delimiter=";", encoding="cp1252", newline="\r\n")
    result = ingest(store, [UploadFile("attendance", "a.csv", att)], LOCAL)
    assert result.status == "applied"
    assert any("Windows-1252" in p.message for p in result.problems)
    with store.cursor() as cur:
        assert cur.execute("SELECT site FROM survey").fetchone()[0] == "Hörby"
        assert cur.execute("SELECT session_type FROM attendance").fetchone()[0] == "café group"


def test_blank_trailing_rows_are_ignored(store):
    data = csv_bytes(survey_rows(2)) + b",,,,,,,,,,\n,,,,,,,,,,\n"
    result = ingest(store, [UploadFile("survey", "s.csv", data)], LOCAL)
    assert result.status == "applied" and result.rows == 2


def test_binary_upload_is_refused_cleanly(store):
    result = ingest(store, [UploadFile("survey", "photo.csv",
                                                     b"\x89PNG\r\n\x1a\n\x00\x00")], LOCAL)
    assert result.status == "refused" and "PNG" in result.problems[0].message


def test_kinds_are_checked(store):
    with pytest.raises(ValueError):
        ingest(store, [survey_file(), survey_file(name="b.csv")], LOCAL)
    with pytest.raises(ValueError):
        ingest(store, [], LOCAL)


def test_mixed_line_endings_are_stored(store):
    data = csv_bytes(survey_rows(4))
    lines = data.split(b"\n")
    mixed = lines[0] + b"\r\n" + lines[1] + b"\n" + lines[2] + b"\r" + b"\r\n".join(lines[3:])
    result = ingest(store, [UploadFile("survey", "survey.csv", mixed)], LOCAL)
    assert result.status == "applied", result.problems
    assert count(store, "survey") == 4


def test_a_file_the_csv_reader_gives_up_on_is_refused_not_raised(store, monkeypatch):
    ingest(store, [survey_file(survey_rows(2, wave="w0"))], LOCAL)
    before = fingerprint(store)
    # Without decode()'s normalisation, mixed line ends stop DuckDB's strict reader
    # inside ingest()'s transaction: the upload is refused and rolled back.
    monkeypatch.setattr("analysis.intake.readers.normalize_newlines", lambda text: text)
    data = csv_bytes(survey_rows(4)).replace(b"\n", b"\r\n", 2)
    files = [UploadFile("survey", "survey.csv", data), attendance_file()]
    result = ingest(store, files, LOCAL)
    assert result.status == "refused"
    [error] = [p for p in result.problems if p.severity == "error"]
    assert error.file == "survey.csv" and "could not be read as a table" in error.message
    assert set(result.summary) == {"survey.csv", "attendance.csv"}
    assert fingerprint(store) == before
    report = validate_upload(store, files, LOCAL)
    assert not report.ok and "could not be read" in report.errors[0].message
    # The store is still usable afterwards.
    monkeypatch.undo()
    assert ingest(store, files, LOCAL).status == "applied"


def _stored_items(store):
    with store.cursor() as cur:
        return cur.execute("SELECT respondent_id, cbi_1, cbi_2, cbi_3, cbi_4, cbi_5, cbi_6, "
                           "cbi_personal FROM survey ORDER BY respondent_id").fetchall()


def test_items_coded_from_validated_values_as_from_the_staged_table(tmp_path, monkeypatch):
    # Answers spelled every accepted way, blanks and a label; coded once from the values
    # validation listed, once (the listing switched off) from the staged table.
    rows = [["P0001", "w1", "2025-02-01", "H", "c", " 3 ", "3.0", "Seldom", "ALWAYS", "", "1"],
            ["P0002", "w1", "2025-02-01", "H", "c", "5", "never", "  sometimes ", "2", "4",
             "1"],
            ["P0003", "w1", "2025-02-01", "H", "c", "", "", "", "", "", ""]]
    results = []
    for listed in (256, 0):
        monkeypatch.setattr("analysis.intake.validate.MAX_LISTED_VALUES", listed)
        with Store(tmp_path / f"items_{listed}.duckdb") as s:
            assert ingest(s, [survey_file(rows)], LOCAL,
                          pseudonymize=False).status == "applied"
            results.append(_stored_items(s))
    assert results[0] == results[1]
    assert results[0][0][1:7] == (3, 3, 2, 5, None, 1)
    assert results[0][2][1:] == (None,) * 7


def test_sha256_is_computed_once_per_file(monkeypatch):
    upload = survey_file()
    calls = []
    real = values_module.hashlib.sha256
    monkeypatch.setattr(values_module.hashlib, "sha256", lambda data: calls.append(1) or real(data))
    assert upload.sha256 == upload.sha256 == real(upload.data).hexdigest()
    assert len(calls) == 1
