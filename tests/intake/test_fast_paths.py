"""The faster forms of ingest's steps give what the plain forms gave, value for value.

Each test holds a rewritten step against the form it replaced (written out here as the
reference) on data made to reach its corners: IDs with spaces of every kind, rows
blank but for one column, labels repeated and not, sessions stored once or twice.
"""

from __future__ import annotations

import random
from collections import Counter

import duckdb
import pytest

from analysis.intake import limits
from analysis.intake.keys import map_keys, stored_key_sql
from analysis.intake.labels import label_problems
from analysis.intake.prepare import file_summary, staged_columns
from analysis.intake.pseudonymize import pseudonym
from analysis.intake.stored_checks import attendance_new_sql
from analysis.intake.validate import FileView, untrimmed
from analysis.intake.write import date_text_sql

KEY = b"k" * 32


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def _view(relation: str, kind: str, columns: list[str]) -> FileView:
    return FileView("f.csv", kind, relation, {c: c for c in columns}, lambda rid: rid)


def test_pseudonyms_hashed_per_distinct_id_equal_the_python_ones(con):
    spaces = [" ", "\t", "\u00a0", "\u2003", "\u3000", "\n", "\u2028", ""]
    rng = random.Random(5)
    raw = [None, "", "   ", "\u00a0"]
    for _ in range(300):
        core = f"P{rng.randint(0, 40):04d}" + rng.choice(["", " x", "\u00a0y"])
        raw.append(rng.choice(spaces) + core + rng.choice(spaces))
    # As drawn, IDs differ by spaces SQL's trim keeps and Python's strip does not: they
    # share pseudonyms and map_keys writes them in place. Where both trims agree, it
    # keeps the IDs as written and the map gives their pseudonyms.
    assert not _check_pseudonyms(con, raw)
    assert _check_pseudonyms(con, [v for v in raw if v is None or v.strip() == v.strip(" ")])


def _check_pseudonyms(con, raw) -> bool:
    con.execute("CREATE OR REPLACE TEMP TABLE ids AS SELECT unnest($raw) AS raw, "
                "nullif(trim(unnest($raw)), '') AS _key", {"raw": raw})
    keyed = map_keys(con, ["ids"], KEY)
    key, join = stored_key_sql("i._key", keyed)
    got = con.execute(f"SELECT i.raw, {key} FROM ids i {join}").fetchall()
    assert len(got) == len(raw)
    for value, key in got:
        given = value is not None and value.strip(" \u00a0\u2003\u3000") != ""
        # Given means "not blank once DuckDB's trim has taken the spaces off".
        if value is None or not given:
            assert key is None
        else:
            assert key == pseudonym(value, KEY), value
    return keyed


def test_blank_row_flag_equals_every_column_blank(con):
    values = [None, "", " ", "  ", "\u00a0", "x", " y ", "\t"]
    rows = [[random.Random(i).choice(values) for _ in range(4)] for i in range(400)]
    rows += [[None, None, None, "x"], [" ", None, "", None], ["", "z", None, None]]
    con.execute("CREATE TEMP TABLE raw AS SELECT r[1] AS c0, r[2] AS c1, r[3] AS c2, "
                "r[4] AS c3 FROM (SELECT unnest($rows) AS r)", {"rows": rows})
    chosen = {"respondent_id": 0, "note": 1, "wave": 2, "role": 3}
    select = staged_columns(chosen, "NULL::VARCHAR")
    plain = " AND ".join(f"nullif(trim(c{i}), '') IS NULL" for i in range(4))
    got = con.execute(f"SELECT _blank, ({plain}) FROM (SELECT *, {', '.join(select)} "
                      "FROM raw)").fetchall()
    assert all(fast == reference for fast, reference in got)
    assert {fast for fast, _ in got} == {True, False}


def test_label_value_counts_over_distinct_values_equal_the_row_counts(con):
    rng = random.Random(11)
    sites = [f"Site {rng.randint(0, 60)}" + rng.choice(["", " "]) for _ in range(3000)]
    sites += [None, "", "[x](http://h)", "[x](http://h)"]
    con.execute("CREATE TEMP TABLE v AS SELECT row_number() OVER () AS _rid, s AS site, "
                "'W1' AS wave FROM (SELECT unnest($s) AS s)", {"s": sites})
    view = _view("v", "survey", ["site", "wave"])
    about = con.execute("SELECT approx_count_distinct(nullif(trim(site), '')) FROM v"
                        ).fetchone()[0]
    small = limits.InputLimits(max_categories=10)
    problems = label_problems(con, view, small)
    assert [p.message for p in problems if p.column == "site"] == [
        f"this column has about {about:,} different values; a site column may have at "
        f"most 10. Is it mapped to the right column?"]
    marked = label_problems(con, view)
    assert [(p.row, p.value) for p in marked] == [(len(sites) - 1, "[x](http://h)"),
                                                   (len(sites), "[x](http://h)")]
    # Counted over the distinct values validation listed: the same problems.
    listed = {c: tuple(v for (v,) in con.execute(
        f"SELECT DISTINCT {c} FROM v WHERE {c} IS NOT NULL").fetchall()) for c in ("site", "wave")}
    assert label_problems(con, view, small, listed) == problems
    assert label_problems(con, view, values=listed) == marked
    assert label_problems(con, view, small, {"wave": ("W1",)}) == problems


def _reference_new_sessions(view: FileView, count_skipped: bool) -> str:
    """The statement the rewrite replaced: every session of the file numbered."""
    new = (f"SELECT _key AS respondent_id, TRY_CAST(trim(session_date) AS DATE) AS d, "
           f"nullif(trim(session_type), '') AS t, TRY_CAST(trim(duration_minutes) AS DOUBLE) "
           f"AS m, row_number() OVER (PARTITION BY _key, TRY_CAST(trim(session_date) AS DATE), "
           f"nullif(trim(session_type), '') ORDER BY _rid) AS rn FROM {view.relation}")
    old = ("SELECT respondent_id, session_date, session_type, count(*) AS n FROM attendance "
           "GROUP BY ALL")
    joined = (f"FROM ({new}) n LEFT JOIN ({old}) o ON o.respondent_id = n.respondent_id "
              f"AND o.session_date = n.d AND o.session_type IS NOT DISTINCT FROM n.t")
    if count_skipped:
        return f"SELECT count(*) {joined} WHERE n.rn <= coalesce(o.n, 0)"
    return f"SELECT n.respondent_id, n.d, n.t, n.m {joined} WHERE n.rn > coalesce(o.n, 0)"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_new_sessions_equal_the_fully_numbered_form(con, seed):
    rng = random.Random(seed)
    people = [None, "h_a", "h_b", "h_c"]
    dates = [None, "2025-01-0", "2025-01-01", "2025-01-02", " 2025-01-02"]
    types = [None, "", "group", " group", "online"]

    def session() -> tuple:
        return (rng.choice(people), rng.choice(dates), rng.choice(types),
                rng.choice([None, "60", "x"]))

    con.execute("CREATE TABLE attendance (respondent_id VARCHAR, session_date DATE, "
                "session_type VARCHAR, duration_minutes DOUBLE)")
    for p, d, t, m in (session() for _ in range(60)):
        con.execute("INSERT INTO attendance VALUES (?, TRY_CAST(trim(?) AS DATE), "
                    "nullif(trim(?), ''), TRY_CAST(? AS DOUBLE))", [p, d, t, m])
    file_rows = [session() for _ in range(200)]
    con.execute("CREATE TEMP TABLE v AS SELECT row_number() OVER () - 1 AS _rid, r[1] AS _key, "
                "r[2] AS session_date, r[3] AS session_type, r[4] AS duration_minutes "
                "FROM (SELECT unnest($rows) AS r)", {"rows": [list(r) for r in file_rows]})
    view = _view("v", "attendance", ["respondent_id", "session_date", "session_type",
                                     "duration_minutes"])
    for skipped in (True, False):
        fast = con.execute(attendance_new_sql(view, skipped)).fetchall()
        reference = con.execute(_reference_new_sessions(view, skipped)).fetchall()
        assert Counter(fast) == Counter(reference)
    assert con.execute(attendance_new_sql(view, True)).fetchone()[0] > 0


def _reference_longest(data: bytes, stop_above: int) -> tuple[int, int]:
    longest, number, line, start = 0, 1, 1, 0
    while start <= len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        if end - start > longest:
            longest, number = end - start, line
            if longest > stop_above:
                break
        start, line = end + 1, line + 1
    return longest, number


@pytest.mark.parametrize("block", [1, 3, 7, 1 << 24])
def test_longest_line_equals_a_line_by_line_scan(monkeypatch, block):
    monkeypatch.setattr(limits, "_LINE_BLOCK", block)
    rng = random.Random(block)
    cases = [b"", b"\n", b"\n\n", b"abc", b"abc\n", b"a\nbcd\nef", b"\nabcdef\n"]
    cases += [bytes(rng.choice(b"ab\n") for _ in range(rng.randint(0, 40)))
              for _ in range(300)]
    for data in cases:
        for stop in (0, 1, 3, 100):
            assert limits._longest_line(data, stop) == _reference_longest(data, stop)


@pytest.mark.parametrize("seed", range(4))
def test_window_check_never_misses_a_line_longer_than_the_limit(seed):
    rng = random.Random(seed)
    for _ in range(400):
        data = bytes(rng.choice(b"ab\n" if rng.random() < 0.5 else b"aaaab\n")
                     for _ in range(rng.randint(0, 120)))
        limit = rng.randint(0, 12)
        if _reference_longest(data, limit)[0] > limit:
            assert limits._may_exceed(data, limit), (data, limit)
    assert not limits._may_exceed(b"abc\n" * 1000, 8)
    assert limits._may_exceed(b"abc\n" * 10 + b"a" * 9, 8)


#: Characters around a value: every whitespace and separator Python knows, and the
#: invisible ones a spreadsheet leaves behind.
AROUND = [chr(c) for c in range(0x3000 + 1) if chr(c).isspace() or
          chr(c) in "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"] + ["\ufeff", "x"]


def test_values_python_calls_trimmed_are_the_ones_duckdb_trim_leaves_alone(con):
    values = [f"{a}W1{b}" for a in AROUND for b in ("", a)] + ["", "W 1", "W1"]
    rows = con.execute("SELECT v, trim(v) FROM (SELECT unnest($v) AS v)",
                       {"v": values}).fetchall()
    for value, trimmed in rows:
        if not untrimmed([value]):
            assert trimmed == value, repr(value)
    assert untrimmed(None) and untrimmed(["W1", " W1"]) and not untrimmed(["W1", ""])


def test_dates_cast_as_stored_equal_the_trimmed_cast(con):
    dates = ["2025-03-31", "2025-3-1", "31/03/2025", "", "2025-02-30", "x"]
    values = [f"{a}{d}{b}" for d in dates for a in AROUND for b in ("", a, " ")]
    differ = con.execute(
        "SELECT v FROM (SELECT unnest($v) AS v) WHERE "
        f"TRY_CAST(trim(v) AS DATE) IS DISTINCT FROM TRY_CAST({date_text_sql('v')} AS DATE)",
        {"v": values}
    ).fetchall()
    assert differ == []


def test_file_summary_from_listed_values_equals_the_read_one(con):
    con.execute("CREATE TEMP TABLE f AS SELECT i AS _rid, 'P' || (i % 7) AS _key, "
                "[' w1', 'w2 ', 'w1', '', NULL][i % 5 + 1] AS wave, "
                "['Harbor', ' Harbor', 'North\u00a0', NULL][i % 4 + 1] AS site "
                "FROM range(40) t(i)")
    view = _view("f", "survey", ["respondent_id", "wave", "site"])
    listed = {c: tuple(v for (v,) in con.execute(
        f"SELECT DISTINCT {c} FROM f WHERE {c} IS NOT NULL").fetchall()) for c in ("wave", "site")}
    read = file_summary(con, view)
    assert file_summary(con, view, 40, listed) == read
    assert (read.rows, read.respondents, read.waves) == (40, 7, ("w1", "w2"))
