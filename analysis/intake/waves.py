"""The order of waves, fixed when a wave is first stored.

Waves are ordered by the date of their first stored answer *at the time the wave was
first stored* (``wave_registry``), not recomputed from whatever rows exist later, so a
later upload with an early-dated row cannot move a wave. A practice manager may add a
new wave only after the waves already stored (the baseline of every other practice
stays theirs); an administrator may add one anywhere. Indices are computed within the
practices a view selects (:mod:`analysis.storage.queries`), so one practice's numbers
never depend on another practice's waves.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from analysis.access.scope import Scope
from analysis.intake.problems import Problem


def register(cur: duckdb.DuckDBPyConnection, upload_id: int, scope: Scope,
             file_name: str) -> list[Problem]:
    """Register the waves that ``upload_id`` (already inserted) brings for the first time.

    A wave counts as already stored when other uploads hold rows of it; a registration
    left behind by an undone upload is replaced. For a practice manager, a new wave whose
    first answer is dated before the latest stored wave's date is refused (the
    transaction is then rolled back by the caller).

    Returns
    -------
    list of Problem
        Errors for refused waves (nothing registered then).
    """
    new = cur.execute(
        "SELECT wave, min(survey_date) FROM survey WHERE upload_id = ? AND wave NOT IN "
        "(SELECT r.wave FROM wave_registry r JOIN survey s ON s.wave = r.wave AND "
        "s.upload_id <> ?) GROUP BY wave ORDER BY 2, 1", [upload_id, upload_id]).fetchall()
    if not new:
        return []
    if scope.practices is not None:
        latest = cur.execute(
            "SELECT max(r.first_date) FROM wave_registry r WHERE EXISTS (SELECT 1 FROM "
            "survey s WHERE s.wave = r.wave AND s.upload_id <> ?)", [upload_id]).fetchone()[0]
        early = [(w, d) for w, d in new if latest is not None and d < latest]
        if early:
            return [Problem(
                file_name, None, None, wave, "a new wave dated after the waves already stored",
                "error",
                f"wave '{wave}' is new and its first answer ({day:%Y-%m-%d}) comes before "
                "waves already stored; a practice manager can add only a later wave. Check "
                "the wave label and dates, or ask an administrator to load this wave")
                for wave, day in early]
    now = datetime.now(UTC).replace(tzinfo=None)
    for wave, day in new:
        cur.execute(
            "INSERT INTO wave_registry VALUES (?, ?, ?, ?) ON CONFLICT (wave) DO UPDATE SET "
            "first_date = excluded.first_date, registered_by = excluded.registered_by, "
            "registered_at = excluded.registered_at", [wave, day, scope.user, now])
    return []
