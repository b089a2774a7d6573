"""Keyed hashes of IDs: stable, consistent across files and uploads, secret kept apart."""

from __future__ import annotations

import os
import stat

import duckdb

from analysis.access.scope import LOCAL
from analysis.intake.ingest import ingest
from analysis.intake.pseudonymize import (
    load_secret,
    pseudonym,
    pseudonym_sql,
    pseudonyms,
    secret_path,
)
from analysis.intake.values import UploadFile
from analysis.storage.store import Store
from tests.factories import ATTENDANCE_HEADER, attendance_rows, csv_bytes, survey_rows


def test_secret_created_once_with_owner_only_permissions(tmp_path, monkeypatch):
    path = tmp_path / "keys" / "pseudonym.key"
    monkeypatch.setenv("PPI_SECRET_FILE", str(path))
    assert secret_path() == path
    first = load_secret()
    assert len(first) == 32 and load_secret() == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_hash_shape_and_stability():
    key = b"s" * 32
    value = pseudonym("P0042", key)
    assert value.startswith("h_") and len(value) == 22
    assert value == pseudonym(" P0042 ", key) != pseudonym("P0043", key)
    assert pseudonym("P0042", b"t" * 32) != value
    assert pseudonyms(["a", "b"], key) == {"a": pseudonym("a", key), "b": pseudonym("b", key)}


def test_ids_hashed_consistently_across_files_and_uploads(store):
    rows = survey_rows(3)
    rows[0][0] = "Anna Berg"  # a name is allowed when pseudonymizing, never stored
    att = attendance_rows(3)
    att[0][0] = "Anna Berg"
    files = [UploadFile("survey", "s.csv", csv_bytes(rows)),
             UploadFile("attendance", "a.csv", csv_bytes(att, ATTENDANCE_HEADER))]
    result = ingest(store, files, LOCAL, pseudonymize=True)
    assert result.status == "applied"
    assert not [p for p in result.problems if "no survey row" in p.message]
    with store.cursor() as cur:
        ids = {r[0] for r in cur.execute("SELECT respondent_id FROM survey").fetchall()}
        att_ids = {r[0] for r in cur.execute("SELECT respondent_id FROM attendance").fetchall()}
        dump = str(cur.execute("SELECT * FROM survey").fetchall()) + \
            str(cur.execute("SELECT * FROM audit_log").fetchall())
    assert ids == att_ids and all(i.startswith("h_") for i in ids)
    assert ids == set(pseudonyms(["Anna Berg", "P0002", "P0003"]).values())
    assert "Anna" not in dump and "P0002" not in dump
    # A later upload of the same people at the next wave meets the same hashes.
    later = survey_rows(3, wave="2025-Q2", date="2025-05-01")
    later[0][0] = "Anna Berg"
    again = ingest(store, [UploadFile("survey", "s2.csv", csv_bytes(later))],
                          LOCAL, pseudonymize=True)
    assert again.status == "applied"
    with store.cursor() as cur:
        assert cur.execute("SELECT count(DISTINCT respondent_id) FROM survey").fetchone()[0] == 3
    # And the same pairs are recognised as already stored.
    dup = ingest(store, [UploadFile("survey", "s3.csv", csv_bytes(later) + b"\n")],
                        LOCAL, pseudonymize=True)
    assert dup.status == "refused"


def test_installation_setting_turns_pseudonymization_on(store):
    store.set_setting("pseudonymize", "1")
    result = ingest(store, [UploadFile("survey", "s.csv",
                                                     csv_bytes(survey_rows(2)))], LOCAL)
    assert result.status == "applied"
    with store.cursor() as cur:
        assert cur.execute("SELECT bool_and(respondent_id LIKE 'h_%') FROM survey").fetchone()[0]
        assert cur.execute("SELECT bool_and(pseudonymized) FROM uploads").fetchone()[0]


def test_pseudonymization_is_on_by_default(tmp_path):
    rows = survey_rows(2)
    rows[0][0] = "Anna Berg"
    with Store(tmp_path / "fresh.duckdb") as fresh:
        result = ingest(fresh, [UploadFile("survey", "s.csv", csv_bytes(rows))],
                        LOCAL)
        assert result.status == "applied"
        with fresh.cursor() as cur:
            ids = [r[0] for r in cur.execute("SELECT respondent_id FROM survey").fetchall()]
            assert cur.execute("SELECT bool_and(pseudonymized) FROM uploads").fetchone()[0]
    assert all(i.startswith("h_") for i in ids)


def test_a_lost_key_stops_ingest_instead_of_making_a_new_one(tmp_path, monkeypatch):
    key = tmp_path / "keys" / "pseudonym.key"
    monkeypatch.setenv("PPI_SECRET_FILE", str(key))
    with Store(tmp_path / "db.duckdb") as store:
        first = UploadFile("survey", "s.csv", csv_bytes(survey_rows(3)))
        assert ingest(store, [first], LOCAL).status == "applied"
        key.unlink()
        later = UploadFile("survey", "s2.csv", csv_bytes(
            survey_rows(3, wave="2025-Q2", date="2025-05-01")))
        result = ingest(store, [later], LOCAL)
        assert result.status == "refused"
        [error] = [p for p in result.problems if p.severity == "error"]
        assert "key" in error.message and "missing" in error.message
        assert "Restore the key" in error.message
        assert not key.exists()
        with store.cursor() as cur:
            assert cur.execute("SELECT count(*) FROM survey").fetchone()[0] == 3


def test_database_and_key_are_private_and_existing_folders_untouched(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    monkeypatch.setenv("PPI_SECRET_FILE", str(shared / "pseudonym.key"))
    load_secret()
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o755  # not ours: never chmod-ed
    assert stat.S_IMODE(os.stat(shared / "pseudonym.key").st_mode) == 0o600
    with Store(tmp_path / "new" / "deeper" / "app.duckdb"):
        pass
    for folder in (tmp_path / "new", tmp_path / "new" / "deeper"):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "new" / "deeper" / "app.duckdb").st_mode) == 0o600


def test_sql_pseudonyms_equal_python_ones():
    # Computed by DuckDB while a file is read: the same hash as pseudonym() for any ID,
    # whatever white space surrounds it (Python's strip(), not DuckDB's trim()), and
    # for keys shorter, as long as, and longer than SHA-256's block.
    ids = ["P0042", " P0042 ", "\tP0042\u3000", "\u00a0P1\x85", "Ünïcødé", "P\u200b1",
           "a" * 300, "", "   ", "\t", None]
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t AS SELECT unnest($ids::VARCHAR[]) AS v", {"ids": ids})
        for key in (b"k" * 32, b"x" * 64, b"y" * 100):
            sql, params = pseudonym_sql("v", key)
            got = [r[0] for r in con.execute(f"SELECT {sql} FROM t", params).fetchall()]
            assert got == [None if i is None else pseudonym(i, key) for i in ids]
