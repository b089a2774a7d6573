"""Respondent keys: checks against stored data read the same with and without
pseudonymization (the staged IDs kept as written, the pseudonyms joined in), and IDs
that share a pseudonym are compared as the pseudonym."""

from __future__ import annotations

import duckdb
import pytest

from analysis.access.scope import LOCAL, Scope
from analysis.intake.ingest import ingest, validate_upload
from analysis.intake.keys import KEY_MAP, map_keys, stored_key_sql, stored_rows_sql
from analysis.intake.pseudonymize import load_secret, pseudonym
from analysis.intake.uploads import undo
from analysis.intake.values import UploadFile
from analysis.storage.store import Store
from tests.factories import ATTENDANCE_HEADER, attendance_rows, csv_bytes, survey_rows

HARBOR = Scope("practice_manager", frozenset({"Harbor"}), "pm.harbor")
KEY = b"k" * 32


def _survey(rows, name="s.csv"):
    return UploadFile("survey", name, csv_bytes(rows))


def _attendance(rows, name="a.csv"):
    return UploadFile("attendance", name, csv_bytes(rows, ATTENDANCE_HEADER))


def _seen(result):
    """What a user sees of a result, none of which depends on how IDs are stored."""
    problems = sorted((p.severity, p.file, p.row or 0, p.column or "", p.message)
                      for p in result.problems)
    summary = sorted((s.file_name, s.rows, s.respondents, s.replaced, s.skipped, s.sites)
                     for s in result.summary.values())
    status = result.status if hasattr(result, "status") else result.ok
    return status, problems, summary


def _counts(store):
    with store.cursor() as cur:
        return [cur.execute(f"SELECT count(*), count(DISTINCT respondent_id) FROM {t}"
                            ).fetchone() for t in ("survey", "survey_replaced", "attendance")]


def _story(store, hashed):
    """Uploads that meet stored rows, told the same way with and without pseudonyms."""
    seen = []

    def step(result):
        seen.append((_seen(result), _counts(store)))
        return result

    two = survey_rows(4) + survey_rows(3, site="Tiny", start=100)
    first = step(ingest(store, [_survey(two)], LOCAL, pseudonymize=hashed))
    again = survey_rows(2, start=3, date="2025-02-10")  # P0003, P0004 again
    step(validate_upload(store, [_survey(again, "again.csv")], LOCAL, pseudonymize=hashed))
    step(ingest(store, [_survey(again, "again.csv")], LOCAL, pseudonymize=hashed))
    replaced = step(ingest(store, [_survey(again, "again.csv")], LOCAL, replace=True,
                           pseudonymize=hashed))
    # Sessions of stored people, of nobody, and one twice; then a cumulative export.
    sessions = attendance_rows(3) + [["P9999", "2025-01-15", "group", 60]]
    step(ingest(store, [_attendance(sessions)], LOCAL, pseudonymize=hashed))
    cumulative = sessions + [["P0002", "2025-03-01", "online", 45]] * 2
    step(ingest(store, [_attendance(cumulative, "a2.csv")], LOCAL, pseudonymize=hashed))
    # A practice manager: another practice's person reads like an unknown one, and a
    # survey row replacing it touches only the manager's practice.
    theirs = [["P0100", "2025-01-20", "group", 60], ["P0001", "2025-01-20", "group", 60]]
    step(validate_upload(store, [_attendance(theirs, "a3.csv")], HARBOR, pseudonymize=hashed))
    step(ingest(store, [_attendance(theirs, "a3.csv")], HARBOR, pseudonymize=hashed))
    step(validate_upload(store, [_survey(survey_rows(1, start=100), "t.csv")], HARBOR,
                         replace=True, pseudonymize=hashed))
    # Both files at once, survey rows replacing stored ones.
    both = [_survey(survey_rows(2, start=1, date="2025-02-11"), "b.csv"),
            _attendance([["P0001", "2025-04-01", "group", 30]], "b_att.csv")]
    step(ingest(store, both, LOCAL, replace=True, pseudonymize=hashed))
    undone = undo(store, replaced.upload_ids[0], LOCAL)
    seen.append(((undone.rows_removed, undone.rows_restored), _counts(store)))
    assert first.status == "applied"
    return seen


def test_stored_rows_are_met_alike_with_and_without_pseudonyms(tmp_path):
    stories = []
    for hashed in (False, True):
        with Store(tmp_path / f"{hashed}.duckdb") as store:
            stories.append(_story(store, hashed))
            with store.cursor() as cur:
                ids = {r[0] for r in cur.execute(
                    "SELECT respondent_id FROM survey UNION SELECT respondent_id "
                    "FROM attendance").fetchall()}
        assert all(i.startswith("h_") for i in ids) == hashed
    plain, hashed = stories
    assert plain == hashed
    # And the story is the one the checks should tell.
    statuses = [step[0][0] for step in plain[:-1]]
    assert statuses == ["applied", False, "refused", "applied", "applied", "applied", True,
                        "applied", True, "applied"]
    # a2.csv: the four sessions stored before (P9999's too: stored, with a warning) skipped
    assert plain[5][0][2][0][4] == 4
    assert plain[-1][0] == (2, 2)


def test_ids_that_share_a_pseudonym_are_one_person(tmp_path):
    # A no-break space is kept by SQL's trim but stripped before hashing: one person.
    rows = survey_rows(2)
    rows[1][0] = "P0001\u00a0"
    with Store(tmp_path / "x.duckdb") as store:
        result = ingest(store, [_survey(rows)], LOCAL, pseudonymize=True)
    assert result.status == "refused"
    assert any(p.row == 3 and "row 2" in p.message for p in result.problems)


def test_map_keys_keeps_ids_as_written_unless_two_share_a_pseudonym():
    with duckdb.connect() as con:
        con.execute("CREATE TABLE a AS SELECT unnest(['x', 'y', NULL, 'x']) AS _key")
        con.execute("CREATE TABLE b AS SELECT unnest(['y', 'z']) AS _key")
        assert map_keys(con, ["a", "b"], KEY)
        assert con.execute(f"SELECT raw, stored FROM {KEY_MAP} ORDER BY raw").fetchall() == \
            [(k, pseudonym(k, KEY)) for k in ("x", "y", "z")]
        assert [r[0] for r in con.execute("SELECT _key FROM a").fetchall()] == \
            ["x", "y", None, "x"]
        assert map_keys(con, ["a"], KEY)  # one file, an ID on several rows
        con.execute("INSERT INTO b VALUES (' z\u00a0')")
        assert not map_keys(con, ["a", "b"], KEY)
        assert [r[0] for r in con.execute("SELECT _key FROM b").fetchall()] == \
            [pseudonym("y", KEY), pseudonym("z", KEY), pseudonym("z", KEY)]


def test_stored_rows_carry_the_id_this_upload_writes():
    with duckdb.connect() as con:
        con.execute("CREATE TABLE survey AS SELECT unnest([$a, $b]) AS respondent_id",
                    {"a": pseudonym("P1", KEY), "b": pseudonym("P2", KEY)})
        con.execute(f"CREATE TABLE {KEY_MAP} AS SELECT 'P1' AS raw, $h AS stored",
                    {"h": pseudonym("P1", KEY)})
        keyed = con.execute(f"SELECT _key FROM ({stored_rows_sql('survey', True)})").fetchall()
        plain = con.execute(f"SELECT _key FROM ({stored_rows_sql('survey', False)})"
                            ).fetchall()
        key, join = stored_key_sql("v.k", True)
        stored = con.execute(f"SELECT {key} FROM (SELECT unnest(['P1', NULL]) AS k) v {join}"
                             ).fetchall()
    assert keyed == [("P1",)]
    assert sorted(plain) == sorted([(pseudonym("P1", KEY),), (pseudonym("P2", KEY),)])
    assert stored == [(pseudonym("P1", KEY),), (None,)]
    assert stored_key_sql("v.k", False) == ("v.k", "")


@pytest.mark.parametrize("hashed", [False, True])
def test_pseudonyms_stored_equal_the_python_ones(tmp_path, hashed):
    rows = survey_rows(3)
    with Store(tmp_path / "x.duckdb") as store:
        assert ingest(store, [_survey(rows), _attendance(attendance_rows(2))], LOCAL,
                      pseudonymize=hashed).status == "applied"
        with store.cursor() as cur:
            survey = sorted(r[0] for r in cur.execute("SELECT respondent_id FROM survey"
                                                      ).fetchall())
            sessions = sorted(r[0] for r in cur.execute("SELECT respondent_id FROM attendance"
                                                        ).fetchall())
    def stored(ids):
        return sorted(pseudonym(i, load_secret()) if hashed else i for i in ids)

    assert survey == stored(["P0001", "P0002", "P0003"])
    assert sessions == stored(["P0001", "P0002"])


@pytest.mark.parametrize("kinds", [("survey",), ("attendance",), ("survey", "attendance")])
def test_an_upload_keeps_its_ids_as_written(tmp_path, monkeypatch, kinds):
    """Each person on several rows, one file or two: the pseudonyms are joined, never
    written over the staged IDs."""
    import analysis.intake.prepare as prepare

    kept = []

    def spy(cur, tables, secret):
        kept.append(map_keys(cur, tables, secret))
        return kept[-1]

    monkeypatch.setattr(prepare, "map_keys", spy)
    rows = survey_rows(3) + survey_rows(3, wave="2025-Q2", date="2025-05-01")
    files = {"survey": _survey(rows),
             "attendance": _attendance(attendance_rows(3) + attendance_rows(2))}
    with Store(tmp_path / "x.duckdb") as store:
        result = ingest(store, [files[k] for k in kinds], LOCAL, pseudonymize=True)
    assert result.status == "applied" and kept == [True]
