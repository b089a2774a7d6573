"""What is stored, as counts for scripts: ``python -m analysis status --json``.

``sessions`` counts distinct person × date pairs (two reports of one meeting, or a
Zoom and a sign-in row for the same day, are one session); ``waves`` are in time order
(by each wave's first survey date), so the baseline comes first.
"""

from __future__ import annotations

from analysis.access.scope import Scope, require
from analysis.storage.store import Store


def status_counts(store: Store, scope: Scope) -> dict[str, object]:
    """``survey_rows, respondents, waves, sites, sessions, attendance_rows`` the scope sees.

    Attendance is counted for the people with a survey row at a site in scope (all
    attendance for a scope that sees every site).
    """
    require(scope, "view")
    sites = scope.site_list()
    where = "" if sites is None else "WHERE list_contains($sites, site)"
    params: dict[str, object] = {} if sites is None else {"sites": sites}
    people = "" if sites is None else \
        "WHERE respondent_id IN (SELECT respondent_id FROM survey WHERE list_contains($sites, site))"
    with store.cursor() as cur:
        rows, respondents, site_list = _one(cur.execute(
            f"SELECT count(*), count(DISTINCT respondent_id), list(DISTINCT site ORDER BY site) "
            f"FROM survey {where}", params).fetchone())
        waves = [r[0] for r in cur.execute(
            f"SELECT wave FROM survey {where} GROUP BY wave ORDER BY min(survey_date), wave",
            params).fetchall()]
        sessions, attendance_rows = _one(cur.execute(
            "SELECT count(DISTINCT (respondent_id, session_date)), count(*) FROM attendance "
            f"{people}", params).fetchone())
    return {"survey_rows": int(rows), "respondents": int(respondents), "waves": waves,
            "sites": list(site_list or []), "sessions": int(sessions),
            "attendance_rows": int(attendance_rows)}


def _one(row: tuple | None) -> tuple:
    # An aggregate query always returns one row.
    assert row is not None
    return row
