"""The report's inputs that no filter changes, kept by the app's store between filter changes.

A dashboard's filter change (a role, a practice) narrows the selection; the viewer's own
tables it is shown beside (the scope's descriptives by practice), the scope's
attendance and what the scope offers stay the same. Each is built once per data version
(:meth:`analysis.storage.store.Store.remembered`) and key; the key names everything the
table depends on and always the scope's practices, so no viewer is given another scope's
table. A store that does not keep derived data builds each one every time.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.access.scope import Scope, require
from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.privacy.remembered import scope_key, scope_respondents
from analysis.reporting.group_tables import organization_descriptives
from analysis.storage.queries import Available, available, load_attendance, load_panel
from analysis.storage.store import Store

__all__ = ["outcome_cutoffs", "scope_attendance", "scope_available", "scope_descriptives"]


def scope_available(store: Store, scope: Scope) -> Available:
    """:func:`analysis.storage.queries.available` for the scope (its permission checked
    each time)."""
    require(scope, "view")
    return store.remembered(("available", scope_key(scope)), lambda: available(store, scope))


def scope_attendance(store: Store, scope: Scope) -> pd.DataFrame:
    """:func:`analysis.storage.queries.load_attendance` of the scope, unfiltered (callers
    must not change it)."""
    require(scope, "view")
    return store.remembered(("attendance", scope_key(scope)), lambda: load_attendance(store, scope))


def outcome_cutoffs(outcomes: Sequence[str]) -> dict[str, tuple]:
    """Each outcome's "high" cutoff and its direction (outcomes with one)."""
    return {o: (SCALES_BY_KEY[o].cutoff, SCALES_BY_KEY[o].cutoff_direction)
            for o in outcomes if SCALES_BY_KEY[o].cutoff is not None}


def scope_descriptives(store: Store, scope: Scope, outcomes: Sequence[str], min_sessions: int, k: int,
                       with_contributions: bool, panel_all: pd.DataFrame | None = None,
                       respondents: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`analysis.reporting.group_tables.organization_descriptives` of the scope's
    panel at ``min_sessions`` for ``outcomes`` (with :func:`outcome_cutoffs`).
    ``panel_all``: that panel when the caller has it and the store keeps nothing (a kept
    table is always built from the store); ``respondents``: its
    :func:`~analysis.privacy.remembered.scope_respondents` when the caller has them (a
    store that keeps nothing would build them again). With ``with_contributions``
    (individual values) nothing is kept."""
    chosen = list(outcomes)
    cutoffs = outcome_cutoffs(chosen)

    def build(given: pd.DataFrame | None) -> pd.DataFrame:
        panel = given if given is not None else load_panel(store, scope, chosen, int(min_sessions))
        people = (respondents if respondents is not None
                  else scope_respondents(store, scope, min_sessions, k, panel))
        return organization_descriptives(panel, chosen, cutoffs, people, int(k), with_contributions)

    if with_contributions:  # individual values (the export's dominance check): never kept
        return build(panel_all)
    key = ("descriptives", scope_key(scope), tuple(chosen), int(min_sessions), int(k))
    return store.remembered(key, lambda: build(None if store.keep_derived else panel_all))
