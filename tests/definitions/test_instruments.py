"""Scoring of every scale, by hand, in Python (score_items) and in DuckDB (scale_score_sql).

Expected numbers are written out with their arithmetic; facts from
shared/reference/instruments.md.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from analysis.definitions.instruments import (
    INSTRUMENTS,
    INSTRUMENTS_BY_KEY,
    ITEM_COLUMNS,
    SCALES,
    SCALES_BY_KEY,
    SCORED_COLUMNS,
    Recognition,
    instrument_of_item,
    normalize_label,
    recognise,
    score_items,
)
from analysis.definitions.scoring_sql import is_high_sql, item_code_sql, item_invalid_sql, scale_score_sql

TOL = 1e-9


def _q(name: str) -> str:
    return '"' + name + '"'


def sql_score(scale_key: str, codes: dict[int, int | None]) -> float | None:
    """Score one response with the SQL, from a TINYINT table as the store keeps it."""
    scale = SCALES_BY_KEY[scale_key]
    con = duckdb.connect()
    con.execute("CREATE TABLE survey (" + ", ".join(f"{c} TINYINT" for c in ITEM_COLUMNS) + ")")
    columns = [f"{scale.instrument}_{n}" for n in codes]
    if columns:
        con.execute(f"INSERT INTO survey ({', '.join(columns)}) VALUES "
                    f"({', '.join('?' for _ in columns)})", list(codes.values()))
    else:
        con.execute("INSERT INTO survey DEFAULT VALUES")
    return con.execute(f"SELECT {scale_score_sql(scale)} FROM survey").fetchone()[0]


def sql_score_from_text(scale_key: str, answers: dict[int, str | None]) -> float | None:
    """Score raw text answers (codes or labels) through item_code_sql, as ingest does."""
    scale = SCALES_BY_KEY[scale_key]
    inst = INSTRUMENTS_BY_KEY[scale.instrument]
    con = duckdb.connect()
    con.execute("CREATE TABLE upload (" + ", ".join(
        f"{c} VARCHAR" for c in inst.item_columns) + ")")
    columns = [f"{inst.key}_{n}" for n in answers]
    con.execute(f"INSERT INTO upload ({', '.join(columns)}) VALUES "
                f"({', '.join('?' for _ in columns)})", list(answers.values()))
    expr = scale_score_sql(scale, column_of=lambda c: f"({item_code_sql(inst, _q(c))})")
    return con.execute(f"SELECT {expr} FROM upload").fetchone()[0]


# (scale, item codes, expected score, arithmetic). "at"/"below" = min_answered threshold.
VECTORS = [
    # CBI: code c -> (c-1)*25; mean; personal >= 3 of 6.
    ("cbi_personal", {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 3}, 50.0,
     "(0+25+50+75+100+50)/6 = 300/6"),
    ("cbi_personal", {1: 5, 2: 4, 3: 2, 4: None}, 200 / 3, "at 3 of 6: (100+75+25)/3"),
    ("cbi_personal", {1: 5, 2: 4}, None, "below: 2 of 6"),
    # CBI work: item 13 reversed (6 - c); >= 4 of 7.
    ("cbi_work", {7: 5, 8: 4, 9: 4, 10: 3, 11: 2, 12: 1, 13: 1}, 425 / 7,
     "(100+75+75+50+25+0 + (6-1-1)*25=100)/7 = 425/7"),
    ("cbi_work", {7: 3, 8: 3, 9: 3, 13: 5}, 37.5, "at 4 of 7: (50+50+50 + (6-5-1)*25=0)/4"),
    ("cbi_work", {7: 3, 8: 3, 13: 5}, None, "below: 3 of 7"),
    # CBI client: >= 3 of 6 (app's rule).
    ("cbi_client", {14: 2, 15: 2, 16: 2, 17: 2, 18: 2, 19: 2}, 25.0, "6*25/6"),
    ("cbi_client", {14: 1, 15: 5, 16: 3}, 50.0, "at 3 of 6: (0+100+50)/3"),
    ("cbi_client", {14: 1, 15: 5}, None, "below: 2 of 6"),
    # ProQOL CS: sum of 10; prorated sum*10/answered with >= 8 (app's rule).
    ("proqol_cs", {3: 1, 6: 2, 12: 3, 16: 4, 18: 5, 20: 1, 22: 2, 24: 3, 27: 4, 30: 5}, 30.0,
     "1+2+3+4+5+1+2+3+4+5"),
    ("proqol_cs", {3: 1, 6: 2, 12: 3, 16: 4, 18: 5, 20: 1, 22: 2, 24: 3}, 26.25,
     "at 8 of 10: (1+2+3+4+5+1+2+3)=21, 21*10/8"),
    ("proqol_cs", {3: 1, 6: 2, 12: 3, 16: 4, 18: 5, 20: 1, 22: 2}, None, "below: 7 of 10"),
    # ProQOL BO: 1, 4, 15, 17, 29 reversed (6 - c).
    ("proqol_bo", {1: 5, 4: 5, 8: 5, 10: 5, 15: 5, 17: 5, 19: 5, 21: 5, 26: 5, 29: 5}, 30.0,
     "5 reversed items score 1, 5 others score 5: 5*1 + 5*5"),
    ("proqol_bo", {1: 1, 4: 2, 8: 3, 10: 4, 15: 5, 17: 1, 19: 2, 21: 3, 26: 4, 29: 5}, 32.0,
     "1->5, 2->4, 3, 4, 5->1, 1->5, 2, 3, 4, 5->1: 5+4+3+4+1+5+2+3+4+1"),
    ("proqol_bo", {1: 1, 4: 2, 8: 3, 10: 4, 15: 5, 17: 1, 19: 2, 21: 3, 26: 4}, 310 / 9,
     "9 of 10: 5+4+3+4+1+5+2+3+4 = 31, 31*10/9"),
    ("proqol_bo", {1: 1, 4: 2, 8: 3, 10: 4, 15: 5, 17: 1, 19: 2, 21: 3}, 33.75,
     "at 8 of 10: 5+4+3+4+1+5+2+3 = 27, 27*10/8"),
    ("proqol_bo", {1: 1, 4: 2, 8: 3, 10: 4, 15: 5, 17: 1, 19: 2}, None, "below: 7 of 10"),
    # ProQOL STS: no reversed items.
    ("proqol_sts", {i: 4 for i in (2, 5, 7, 9, 11, 13, 14, 23, 25, 28)}, 40.0, "10*4"),
    ("proqol_sts", {i: 5 for i in (2, 5, 7, 9, 11, 13, 14, 23)}, 50.0,
     "at 8 of 10: 8*5 = 40, 40*10/8"),
    ("proqol_sts", {i: 5 for i in (2, 5, 7, 9, 11, 13, 14)}, None, "below: 7 of 10"),
    # OLBI exhaustion: 2, 4, 8, 12 reversed (5 - c); mean; >= 6 of 8 (app's rule).
    ("olbi_exhaustion", {2: 1, 4: 2, 5: 3, 8: 4, 10: 1, 12: 1, 14: 2, 16: 4}, 2.75,
     "2:1->4, 4:2->3, 5:3, 8:4->1, 10:1, 12:1->4, 14:2, 16:4: 22/8"),
    ("olbi_exhaustion", {2: 1, 4: 2, 5: 3, 8: 4, 10: 1, 12: 1}, 16 / 6,
     "at 6 of 8: 4+3+3+1+1+4 = 16, 16/6"),
    ("olbi_exhaustion", {2: 1, 4: 2, 5: 3, 8: 4, 10: 1}, None, "below: 5 of 8"),
    # OLBI disengagement: 3, 6, 9, 11 reversed.
    ("olbi_disengagement", {i: 1 for i in (1, 3, 6, 7, 9, 11, 13, 15)}, 2.5,
     "4 reversed items score 4, 4 others score 1: 20/8"),
    ("olbi_disengagement", {1: 2, 3: 2, 6: 3, 7: 4, 9: 1, 11: 4}, 16 / 6,
     "at 6 of 8: 2 + (5-2) + (5-3) + 4 + (5-1) + (5-4) = 16, 16/6"),
    ("olbi_disengagement", {1: 2, 3: 2, 6: 3, 7: 4, 9: 1}, None, "below: 5 of 8"),
    # Mini-Z: the code itself.
    ("miniz_burnout", {1: 4}, 4.0, "code 4"),
    ("miniz_burnout", {1: None}, None, "unanswered"),
    # BRS: 2, 4, 6 reversed (6 - c); mean; >= 4 of 6 (app's rule).
    ("brs_resilience", {1: 4, 2: 2, 3: 5, 4: 1, 5: 3, 6: 3}, 4.0,
     "4 + (6-2) + 5 + (6-1) + 3 + (6-3) = 24, 24/6"),
    ("brs_resilience", {1: 4, 2: 2, 3: 5, 4: 1}, 4.5, "at 4 of 6: 4+4+5+5 = 18, 18/4"),
    ("brs_resilience", {1: 4, 2: 2, 3: 5}, None, "below: 3 of 6"),
    # UCLA-3: sum, all 3 needed.
    ("ucla3_loneliness", {1: 1, 2: 2, 3: 3}, 6.0, "1+2+3"),
    ("ucla3_loneliness", {1: 3, 2: 3, 3: 3}, 9.0, "3+3+3"),
    ("ucla3_loneliness", {1: 3, 2: 3}, None, "below: 2 of 3"),
]


@pytest.mark.parametrize("scale_key, codes, expected, arithmetic", VECTORS,
                         ids=[f"{v[0]}:{v[3]}" for v in VECTORS])
def test_hand_computed_vectors(scale_key, codes, expected, arithmetic):
    by_python = score_items(SCALES_BY_KEY[scale_key], codes)
    by_sql = sql_score(scale_key, codes)
    if expected is None:
        assert by_python is None and by_sql is None
    else:
        assert by_python == pytest.approx(expected, abs=TOL)
        assert by_sql == pytest.approx(expected, abs=TOL)


def test_every_scale_with_items_has_a_vector_at_and_below_threshold():
    for scale in SCALES:
        if scale.scored_only:
            continue
        answered = [sum(c is not None for c in v[1].values())
                    for v in VECTORS if v[0] == scale.key]
        assert scale.min_answered in answered, scale.key
        assert scale.min_answered - 1 in answered, scale.key


LABEL_VECTORS = [
    # CBI frequency and degree labels, any case, extra spaces, tabs, no-break space.
    ("cbi_personal",
     {1: "  NEVER /almost never ", 2: "Seldom", 3: "sometimes  ", 4: "To A High  Degree",
      5: "ALWAYS", 6: "to a very\tlow degree"},
     250 / 6, "codes 1,2,3,4,5,1: (0+25+50+75+100+0)/6"),
    ("cbi_work",
     {7: "Somewhat", 8: "to a LOW degree", 9: "Often", 10: " 3 ", 11: "3.0", 12: "",
      13: "To a very high degree\u00a0"},
     250 / 6, "3->50, 2->25, 4->75, 3->50, 3->50, blank, 13: 5 reversed -> 1 -> 0: 250/6"),
    ("proqol_bo",
     {1: "Very Often", 4: " never", 8: "RARELY", 10: "Sometimes", 15: "often",
      17: "very  often", 19: "Never", 21: "rarely", 26: "SOMETIMES", 29: "Often"},
     22.0, "1:5->1, 4:1->5, 8:2, 10:3, 15:4->2, 17:5->1, 19:1, 21:2, 26:3, 29:4->2: "
           "1+5+2+3+2+1+1+2+3+2"),
    ("olbi_exhaustion",
     {2: "Strongly  Agree", 4: "agree", 5: "DISAGREE", 8: "strongly disagree", 10: "Agree",
      12: "Disagree", 14: "Strongly Disagree", 16: "strongly agree"},
     2.5, "2:1->4, 4:2->3, 5:3, 8:4->1, 10:2, 12:3->2, 14:4, 16:1: 20/8"),
    ("brs_resilience",
     {1: "Neutral", 2: "AGREE", 3: "strongly agree", 4: "Strongly Disagree", 5: " agree ",
      6: "disagree"},
     23 / 6, "1:3, 2:4->2, 3:5, 4:1->5, 5:4, 6:2->4: 23/6"),
    ("ucla3_loneliness", {1: "Hardly Ever", 2: "some of  the time", 3: " OFTEN "}, 6.0,
     "1+2+3"),
]


@pytest.mark.parametrize("scale_key, answers, expected, arithmetic", LABEL_VECTORS,
                         ids=[v[0] for v in LABEL_VECTORS])
def test_labels_mixed_case_and_spaces(scale_key, answers, expected, arithmetic):
    assert sql_score_from_text(scale_key, answers) == pytest.approx(expected, abs=TOL)
    inst = INSTRUMENTS_BY_KEY[SCALES_BY_KEY[scale_key].instrument]
    codes = {}
    for number, text in answers.items():
        label = normalize_label(text)
        codes[number] = inst.label_codes.get(label) or (
            int(float(label)) if label else None)
    assert score_items(SCALES_BY_KEY[scale_key], codes) == pytest.approx(expected, abs=TOL)


def test_normalize_label():
    assert normalize_label("  Never /  Almost NEVER ") == "never/almost never"
    assert normalize_label("To\ta  high\u00a0degree") == "to a high degree"


def _invalid_and_code(inst_key: str, values: list[object]) -> list[tuple[bool, int | None]]:
    inst = INSTRUMENTS_BY_KEY[inst_key]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, v VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)",
                    [(i, None if v is None else str(v)) for i, v in enumerate(values)])
    return con.execute(f"SELECT {item_invalid_sql(inst, 'v')}, {item_code_sql(inst, 'v')} "
                       f"FROM t ORDER BY i").fetchall()


@pytest.mark.parametrize("inst_key, outside", [
    ("cbi", [0, 6, 2.5, "x", "Oftenish", -1, "1,5", "never ever"]),
    ("proqol", [0, 6, 2.5, "x", "Oftenish", "always"]),
    ("olbi", [0, 5, 2.5, "x", "Oftenish", "neutral"]),
    ("miniz", [0, 6, 2.5, "x", "Oftenish", "often"]),
    ("brs", [0, 6, 2.5, "x", "Oftenish", "sometimes"]),
    ("ucla3", [0, 4, 2.5, "x", "Oftenish", "never"]),
])
def test_codes_outside_a_scale_are_invalid(inst_key, outside):
    rows = _invalid_and_code(inst_key, outside)
    assert rows == [(True, None)] * len(outside)


@pytest.mark.parametrize("inst", [i for i in INSTRUMENTS if i.n_items],
                         ids=lambda i: i.key)
def test_every_code_and_label_is_valid(inst):
    values = [str(c) for c in range(inst.code_min, inst.code_max + 1)]
    values += [f" {c}.0 " for c in range(inst.code_min, inst.code_max + 1)]
    values += [label.upper() for label, _ in inst.labels]
    expected = list(range(inst.code_min, inst.code_max + 1)) * 2 + [c for _, c in inst.labels]
    rows = _invalid_and_code(inst.key, values)
    assert rows == [(False, c) for c in expected]


def test_blanks_are_unanswered_not_invalid():
    rows = _invalid_and_code("cbi", [None, "", "   ", "\t", "\u00a0"])
    assert [code for _, code in rows] == [None] * 5
    assert not any(invalid for invalid, _ in rows)


def test_score_items_refuses_codes_outside_the_scale():
    with pytest.raises(ValueError):
        score_items(SCALES_BY_KEY["olbi_exhaustion"], {2: 5})
    with pytest.raises(ValueError):
        score_items(SCALES_BY_KEY["cbi_personal"], {1: 2.5})
    with pytest.raises(ValueError):
        score_items(SCALES_BY_KEY["mbi_ee"], {})


def test_sql_matches_python_on_random_responses():
    rng = np.random.default_rng(20240501)
    con = duckdb.connect()
    con.execute("CREATE TABLE survey (" + ", ".join(f"{c} TINYINT" for c in ITEM_COLUMNS) + ")")
    rows = []
    for _ in range(300):
        row = {}
        for inst in INSTRUMENTS:
            for n in range(1, inst.n_items + 1):
                blank = rng.random() < 0.2
                row[f"{inst.key}_{n}"] = None if blank else int(
                    rng.integers(inst.code_min, inst.code_max + 1))
        rows.append(row)
    con.executemany(f"INSERT INTO survey VALUES ({', '.join('?' for _ in ITEM_COLUMNS)})",
                    [[r[c] for c in ITEM_COLUMNS] for r in rows])
    scales = [s for s in SCALES if not s.scored_only]
    got = con.execute("SELECT " + ", ".join(scale_score_sql(s) for s in scales)
                      + " FROM survey").fetchall()
    n_scored = 0
    for row, sql_row in zip(rows, got):
        for scale, by_sql in zip(scales, sql_row):
            codes = {n: row[c] for n, c in zip(scale.items, scale.item_columns)}
            by_python = score_items(scale, codes)
            if by_python is None:
                assert by_sql is None
            else:
                n_scored += 1
                assert by_sql == pytest.approx(by_python, abs=TOL)
                assert scale.low - TOL <= by_sql <= scale.high + TOL
    assert n_scored > 1000


@pytest.mark.parametrize("scale", [s for s in SCALES if not s.scored_only],
                         ids=lambda s: s.key)
def test_extreme_answers_reach_the_declared_range(scale):
    inst = INSTRUMENTS_BY_KEY[scale.instrument]
    def extreme(low: bool) -> dict[int, int]:
        return {n: (inst.code_max if (n in scale.reversed_items) == low else inst.code_min)
                for n in scale.items}
    assert score_items(scale, extreme(low=True)) == pytest.approx(scale.low)
    assert score_items(scale, extreme(low=False)) == pytest.approx(scale.high)


def test_declarations_match_the_reference():
    # Every item belongs to exactly one scale of its instrument.
    for inst in INSTRUMENTS:
        numbers = sorted(n for s in inst.scales for n in s.items)
        assert numbers == list(range(1, inst.n_items + 1)), inst.key
        for s in inst.scales:
            assert set(s.reversed_items) <= set(s.items)
    reversed_by = {k: set().union(*(s.reversed_items for s in i.scales))
                   for k, i in INSTRUMENTS_BY_KEY.items()}
    assert reversed_by == {"cbi": {13}, "proqol": {1, 4, 15, 17, 29},
                           "olbi": {2, 3, 4, 6, 8, 9, 11, 12}, "miniz": set(),
                           "brs": {2, 4, 6}, "ucla3": set(), "mbi": set()}
    assert [SCALES_BY_KEY[k].min_answered for k in ("cbi_personal", "cbi_work", "cbi_client")] \
        == [3, 4, 3]
    assert [(s.key, s.low, s.high) for s in INSTRUMENTS_BY_KEY["mbi"].scales] == \
        [("mbi_ee", 0, 54), ("mbi_dp", 0, 30), ("mbi_pa", 0, 48)]
    assert set(SCORED_COLUMNS) >= {
        "cbi_personal", "cbi_work", "cbi_client", "proqol_cs", "proqol_bo", "proqol_sts",
        "olbi_exhaustion", "olbi_disengagement", "mbi_ee", "mbi_dp", "mbi_pa"}
    for key in ("cbi_client", "proqol_cs", "proqol_bo", "proqol_sts", "olbi_exhaustion",
                "olbi_disengagement", "brs_resilience"):
        assert SCALES_BY_KEY[key].own_rule, key
    assert {s.cutoff_status for s in INSTRUMENTS_BY_KEY["olbi"].scales} == {"unconfirmed"}
    assert SCALES_BY_KEY["mbi_ee"].cutoff_status == "secondary"
    assert dict(INSTRUMENTS_BY_KEY["cbi"].label_sets).keys() == {"frequency", "degree"}
    assert SCALES_BY_KEY["mbi_pa"].higher_is_worse is False
    assert instrument_of_item("olbi_16").key == "olbi"
    assert instrument_of_item("olbi_17") is None and instrument_of_item("mbi_ee") is None


@pytest.mark.parametrize("scale_key, score, high", [
    ("cbi_work", 50.0, True), ("cbi_work", 49.999, False),
    ("proqol_cs", 22.0, True), ("proqol_cs", 23.0, False),
    ("proqol_bo", 42.0, True), ("proqol_bo", 41.0, False),
    ("proqol_sts", 42.0, True), ("proqol_sts", 41.25, False),
    ("olbi_exhaustion", 2.25, True), ("olbi_exhaustion", 2.125, False),
    ("olbi_disengagement", 2.125, True), ("olbi_disengagement", 2.0, False),
    ("miniz_burnout", 3.0, True), ("miniz_burnout", 2.0, False),
    ("brs_resilience", 2.8333333333333335, True), ("brs_resilience", 3.0, False),
    ("ucla3_loneliness", 6.0, True), ("ucla3_loneliness", 5.0, False),
    ("mbi_ee", 27.0, True), ("mbi_ee", 26.0, False),
    ("mbi_dp", 10.0, True), ("mbi_dp", 9.0, False),
    ("mbi_pa", 10.0, None),
])
def test_is_high_at_the_cutoff(scale_key, score, high):
    con = duckdb.connect()
    sql = is_high_sql(SCALES_BY_KEY[scale_key], "CAST(? AS DOUBLE)")
    params = [score] if "?" in sql else []
    assert con.execute(f"SELECT {sql}", params).fetchone()[0] is high


def _by_key(found: tuple[Recognition, ...]) -> dict[str, Recognition]:
    return {r.scale: r for r in found}


def test_recognise_items_at_and_below_threshold():
    found = _by_key(recognise(["respondent_id", "wave", "cbi_1", "CBI_2 ", "cbi_3",
                               "cbi_7", "cbi_8", "cbi_9"]))
    assert set(found) == {"cbi_personal", "cbi_work"}
    personal = found["cbi_personal"]
    assert personal.will_score and not personal.from_scored_column
    assert personal.present_items == ("cbi_1", "cbi_2", "cbi_3")
    assert personal.missing_items == ("cbi_4", "cbi_5", "cbi_6")
    work = found["cbi_work"]
    assert not work.will_score and "at least 4" in work.note
    assert work.missing_items == ("cbi_10", "cbi_11", "cbi_12", "cbi_13")


def test_recognise_scored_columns():
    found = _by_key(recognise(["mbi_ee", "mbi_dp", "cbi_work", "cbi_7",
                               "proqol_cs"] + [f"proqol_{i}" for i in range(1, 31)]))
    assert found["mbi_ee"].will_score and found["mbi_ee"].from_scored_column
    assert "mbi_pa" not in found
    # Too few items: the uploaded score is used.
    assert found["cbi_work"].will_score and found["cbi_work"].from_scored_column
    assert found["cbi_work"].present_items == ("cbi_7",)
    # Items complete and a score given: computed from items, the upload's score unused.
    cs = found["proqol_cs"]
    assert cs.will_score and not cs.from_scored_column and cs.missing_items == ()
    assert "not used" in cs.note


def test_recognise_nothing():
    assert recognise(["respondent_id", "wave", "site", "free_text"]) == ()
    full = recognise(ITEM_COLUMNS)
    assert all(r.will_score and not r.missing_items for r in full)
    assert {r.scale for r in full} == {s.key for s in SCALES if not s.scored_only}
