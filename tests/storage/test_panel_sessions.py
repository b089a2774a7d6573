"""Sessions up to each survey date: the panel's binary searches against a plain SQL count."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis.access.scope import LOCAL
from analysis.storage.queries import load_panel, sessions_until
from tests.factories import make_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("sessions") / "sample.duckdb"
    with make_store(path) as opened:
        yield opened


def _counted(store, sites=None) -> pd.DataFrame:
    """Per response: sessions on or before its date, by a join and count (the reference)."""
    sql = """
        WITH s AS (SELECT * FROM survey WHERE CAST(? AS VARCHAR[]) IS NULL
                   OR list_contains(CAST(? AS VARCHAR[]), site)),
        people AS (SELECT respondent_id, row_number() OVER (ORDER BY respondent_id) AS person
                   FROM (SELECT DISTINCT respondent_id FROM s))
        SELECT p.person, s.wave,
               (SELECT count(*) FROM attendance a WHERE a.respondent_id = s.respondent_id
                AND a.session_date <= s.survey_date) AS expected
        FROM s JOIN people p USING (respondent_id)
    """
    with store.cursor() as cur:
        return cur.execute(sql, [sites, sites]).df()


@pytest.mark.parametrize("scoped", [False, True])
@pytest.mark.parametrize("min_sessions", [1, 3])
def test_panel_sessions_match_a_count(store, scoped, min_sessions):
    panel = load_panel(store, LOCAL, ["cbi_work"], min_sessions)
    sites = sorted(set(panel["site"]))[:2] if scoped else None
    if scoped:
        panel = load_panel(store, replace(LOCAL, practices=frozenset(sites)), ["cbi_work"], min_sessions)
    got = panel.merge(_counted(store, sites), on=["person", "wave"], validate="one_to_one")
    assert len(got) == len(panel) and got["expected"].gt(0).any()
    assert (got["sessions"] == got["expected"]).all()
    assert (got["participant"] == (got["expected"] >= min_sessions)).all()
    assert panel["sessions"].dtype == "int32" and panel["participant"].dtype == bool
    assert list(panel.columns[:4]) == ["person", "wave", "wave_index", "survey_date"]


def test_sessions_until_edges():
    day = np.array(["2025-01-01", "2025-02-01", "NaT", "2025-03-01", "2024-01-01"], dtype="datetime64[us]")
    person = np.array([1, 1, 1, 2, 3])
    sessions = np.array(["2025-01-01", "2025-01-20", "2025-03-01", "2025-02-01"], dtype="datetime64[us]")
    owner = np.array([1, 1, 1, 3])
    # the day itself counts; a missing day counts nothing; a person without sessions has 0
    assert sessions_until(person, day, owner, sessions).tolist() == [1, 2, 0, 0, 0]
    assert sessions_until(person, day, owner[:0], sessions[:0]).tolist() == [0] * 5
