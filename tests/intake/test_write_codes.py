"""Item answers coded in the INSERT (cast plus a short list) exactly as item_code_sql codes them."""

from __future__ import annotations

import duckdb

from analysis.definitions.instruments import INSTRUMENTS_BY_KEY
from analysis.definitions.scoring_sql import item_code_sql
from analysis.intake.labels import normalized_sql
from analysis.intake.validate import FileView
from analysis.intake.write import ItemCodes, item_codes

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
