"""Item answers coded in the INSERT (cast plus a short list) exactly as item_code_sql codes them."""

from __future__ import annotations

import duckdb
import pytest

from analysis.access.scope import LOCAL
from analysis.definitions.instruments import INSTRUMENTS_BY_KEY
from analysis.definitions.scoring_sql import item_code_sql
from analysis.intake.ingest import ingest
from analysis.intake.labels import normalized_sql
from analysis.intake.prepare import MAX_ANSWERS, listed_answers, stage_canonical, view_sql
from analysis.intake.readers import decode
from analysis.intake.staging import stage
from analysis.intake.validate import FileView
from analysis.intake.values import UploadFile
from analysis.intake.write import ItemCodes, item_codes
from tests.factories import csv_bytes, survey_rows

ANSWERS = ["1", " 3 ", "3.0", "5", "Seldom", "ALWAYS", "  sometimes ", "never", "", "  ",
           None]


def _view(con: duckdb.DuckDBPyConnection) -> FileView:
    con.execute("CREATE TABLE v AS SELECT unnest($a::VARCHAR[]) AS cbi_1, "
                "unnest($a::VARCHAR[]) AS cbi_2", {"a": ANSWERS})
    return FileView("s.csv", "survey", "v", {"cbi_1": "cbi_1", "cbi_2": "cbi_2"},
                    lambda rid: rid)


def _expected(con: duckdb.DuckDBPyConnection) -> list:
    inst = INSTRUMENTS_BY_KEY["cbi"]
    return [r[0] for r in con.execute(
        f"SELECT CAST(({item_code_sql(inst, 'cbi_1')}) AS TINYINT) FROM v").fetchall()]


def test_listed_and_read_answers_code_as_item_code_sql():
    with duckdb.connect() as con:
        view = _view(con)
        listed = {"cbi_1": tuple(a for a in ANSWERS if a is not None),
                  "cbi_2": tuple(a for a in ANSWERS if a is not None)}
        for values in (listed, None):
            codes = item_codes(con, view, values)["cbi"]
            assert codes is not None and not codes.cast_last
            sql = codes.sql("cbi_1")
            got = [r[0] for r in con.execute(f"SELECT {sql} FROM v", codes.params()).fetchall()]
            assert got == _expected(con)


def test_answers_the_cast_would_code_wrongly_are_looked_up_first():
    # "3.5" casts to 4 but is no code: listed before the cast, it codes as NULL.
    codes = ItemCodes("cbi", ("3.5", "Seldom"), (None, 2), cast_last=True)
    with duckdb.connect() as con:
        got = [r[0] for r in con.execute(
            f"SELECT {codes.sql('a')} FROM (SELECT unnest(['3.5', 'Seldom', '4', NULL]) AS a)",
            codes.params()).fetchall()]
    assert got == [None, 2, 4, None]


def test_ascii_labels_skip_the_normalisation_and_others_get_it():
    texts = ["North", " North ", "Cafe\u0301", "\u202eNorth\u200b", "Zürich", "", None]
    with duckdb.connect() as con:
        got = [r[0] for r in con.execute(
            f"SELECT {normalized_sql('site', 't')} FROM (SELECT unnest($x::VARCHAR[]) AS t)",
            {"x": texts}).fetchall()]
    assert got == ["North", " North ", "Caf\u00e9", "North", "Zürich", "", None]


#: Answers around the one-digit form an item column is staged as numbers for.
SPLIT = ["1", "5", "0", "9", " 3", "3 ", "03", "3.0", "Seldom", "ALWAYS", "", "  ",
         "\uff17", "\u0663", "10", "-1", "+2", "a", "4\u00a0", "2;5", "\u00a0", '""']


def _staged_both_ways(tmp_path, answers, at_row=None, n=None, negative=None):
    """Stage a survey whose cbi_1 holds ``answers`` (from row ``at_row`` on, digits
    before it) as the upload does and as plain text; return what the view reads and
    what it should: staged as numbers, an answer with a CBI code reads back as that
    code, any other as written (as text staging reads it). ``negative`` collects the
    items staged with a negative code."""

    rows = survey_rows(n or len(answers))
    start = at_row or 0
    for row, answer in zip(rows[start:], answers):
        row[5] = answer
    decoded = decode(csv_bytes(rows), "s.csv", tmp_path)
    chosen = {h: i for i, h in enumerate(decoded.headers)}
    with duckdb.connect() as con:
        plain = stage(con, decoded, "plain")
        staged, split, signed = stage_canonical(con, decoded, "split", chosen)
        con.execute(view_sql("v", staged, split))
        got = con.execute("SELECT cbi_1, cbi_2 FROM v ORDER BY _rid").fetchall()
        cbi = INSTRUMENTS_BY_KEY["cbi"]
        read = [f"coalesce(CAST(({item_code_sql(cbi, c)}) AS VARCHAR), {c})" if split else c
                for c in ("c5", "c6")]
        want = con.execute(f"SELECT {', '.join(read)} FROM {plain.table} "
                           "ORDER BY rowid").fetchall()
    if negative is not None:
        negative.update(signed)
    return split, got, want


def test_items_of_digits_are_staged_as_numbers_and_read_back_as_written(tmp_path):
    negative: set[str] = set()
    split, got, want = _staged_both_ways(tmp_path, ["1", "5", "", "0", "9", "3"] * 4,
                                         negative=negative)
    assert split == {f"cbi_{i}" for i in range(1, 7)}
    assert got == want and got[0][0] == "1" and got[2][0] is None and got[3][0] == "0"
    assert not negative


@pytest.mark.parametrize("answer", SPLIT[4:])
def test_any_other_answer_reads_back_as_its_code_or_as_written(tmp_path, answer):
    # Among the first lines: listed, so the items stay numbers; a code of the item is
    # staged as that code, any other answer as a negative code that reads it back.
    negative: set[str] = set()
    split, got, want = _staged_both_ways(tmp_path, ["1", answer, "2"], negative=negative)
    assert split and got == want
    with duckdb.connect() as con:
        coded = con.execute(f"SELECT ({item_code_sql(INSTRUMENTS_BY_KEY['cbi'], '$a')}) "
                            "IS NOT NULL", {"a": answer}).fetchone()[0]
    blank = answer in ("", '""')
    assert (negative == {"cbi_1"}) == (not coded and not blank)
    assert got[1][0] == (want[1][0] if not coded else str(want[1][0]))
    # Far beyond the lines looked at first: numbers only if blank (an empty cell, quoted
    # or not) or a label as a survey tool writes it, else staged again, as text.
    split, got, want = _staged_both_ways(tmp_path, [answer], at_row=3000, n=3001)
    kept = answer in ("", '""') or answer in listed_answers([], frozenset({"cbi_1"}))
    assert bool(split) == kept and got == want


def test_labels_are_listed_from_the_start_of_the_file_and_the_instruments(tmp_path):
    split, got, want = _staged_both_ways(
        tmp_path, ["Never/almost never", "4", "To a High Degree", "Often", "", "never"])
    assert split and got == want
    listed = listed_answers(["Often ", "x"], frozenset({"cbi_3", "ucla3_1"}))
    assert listed[:2] == ["Often ", "x"]
    assert {"never", "Never", "Seldom", "To A Very High Degree", "Hardly ever",
            "Some Of The Time"} <= set(listed)
    assert "Rarely" not in listed  # a ProQOL label: no ProQOL item in the file
    assert len(listed) == len(set(listed)) <= MAX_ANSWERS


def test_too_many_different_answers_at_the_start_stage_the_file_as_text(tmp_path):
    answers = [f"answer {i}" for i in range(MAX_ANSWERS + 1)]
    split, got, want = _staged_both_ways(tmp_path, answers)
    assert split == frozenset() and got == want


def test_stored_codes_of_split_items_equal_item_code_sql(store):

    texts = ["1", "2", "3", "4", "5", " 3", "3 ", "03", "3.0", "Seldom", "ALWAYS",
             "  sometimes ", "never", "", "4\u00a0"]
    digits = ["1", "2", "", "3", "4", "5"]
    inst = INSTRUMENTS_BY_KEY["cbi"]
    for number, valid in enumerate((texts, digits)):
        rows = survey_rows(len(valid), wave=f"w{number}")
        for row, answer in zip(rows, valid):
            row[5] = answer
        result = ingest(store, [UploadFile("survey", f"s{number}.csv", csv_bytes(rows))],
                        LOCAL)
        assert result.status == "applied", result.problems
        with store.cursor() as cur:
            stored = [r[0] for r in cur.execute(
                "SELECT cbi_1 FROM survey WHERE wave = ? ORDER BY respondent_id",
                [f"w{number}"]).fetchall()]
            want = [r[0] for r in cur.execute(
                f"SELECT CAST(({item_code_sql(inst, 'a')}) AS TINYINT) FROM "
                "(SELECT unnest($a::VARCHAR[]) AS a)", {"a": valid}).fetchall()]
        assert stored == want and stored.count(None) == 1


def test_a_column_with_an_answer_that_is_no_code_stores_it_as_no_answer(store):
    # A blank of spaces is listed (a negative code) and valid: stored as no answer,
    # as are the labels and digits around it.
    answers = ["  ", "Seldom", "3", "", "ALWAYS", "\u00a0"]
    rows = survey_rows(len(answers))
    for row, answer in zip(rows, answers):
        row[5] = answer
    result = ingest(store, [UploadFile("survey", "s.csv", csv_bytes(rows))], LOCAL)
    assert result.status == "applied", result.problems
    with store.cursor() as cur:
        stored = [r[0] for r in cur.execute(
            "SELECT cbi_1 FROM survey ORDER BY respondent_id").fetchall()]
    assert stored == [None, 2, 3, None, 5, None]


def test_a_digit_coded_otherwise_sends_the_column_through_the_lookup():
    assert ItemCodes("cbi", ("Seldom",), (2,), cast_last=False).codes_digits()
    assert not ItemCodes("cbi", ("0", "Seldom"), (None, 2), cast_last=True).codes_digits()
