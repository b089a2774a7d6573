"""The guard's organization-level inputs, kept by the app's store between filter changes.

A filter change in the dashboards (a role, a practice) changes the selection, not the
reference the guard compares it with: the viewer's respondents table, which roles may be
shown on their own, and the organization's cells cut into atoms. Each is built once per
data version (:meth:`analysis.storage.store.Store.remembered`) and key, the key naming
everything the table depends on, so a rerun computes only what the selection changes.

Privacy: a table of the viewer's scope is keyed by the scope's practices, so no scope is
ever given another scope's table; the organization's cells are the same for every viewer
(the guard reads the whole organization's counts, never shown) and are keyed by the
threshold, ``k``, the outcomes and whether roles are chosen. Each table is built here
from the store (not from a caller's frame), so a key can only hold what it names. A store
that does not keep derived data builds each one every time, from the caller's frame when
given.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.access.scope import LOCAL, Scope
from analysis.privacy.guard import respondents_table, role_visibility
from analysis.privacy.slice_tables import OrganizationCells, organization_cells
from analysis.privacy.slicing import Atoms, organization_atoms
from analysis.storage.queries import load_attendance, load_panel
from analysis.storage.store import Store

__all__ = ["organization_slice_cells", "scope_key", "scope_respondents", "scope_roles"]


def scope_key(scope: Scope) -> tuple[str, ...] | None:
    """The part of a scope that decides which rows it reads: its practices (None: all)."""
    return None if scope.practices is None else tuple(sorted(scope.practices))


def _scope_panel(store: Store, scope: Scope, min_sessions: int,
                 panel: pd.DataFrame | None) -> pd.DataFrame:
    """The scope's panel at the threshold: read from the store when it keeps derived data
    (the key then holds what it names), else the caller's when given."""
    if panel is not None and not store.keep_derived:
        return panel
    return load_panel(store, scope, outcomes=[], min_sessions=int(min_sessions))


def scope_respondents(store: Store, scope: Scope, min_sessions: int, k: int,
                      panel: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`analysis.privacy.guard.respondents_table` of the scope's panel at
    ``min_sessions`` (its rows do not depend on the outcomes read).

    Parameters
    ----------
    store, scope
        The data and the viewer (its practices key the table).
    min_sessions, k : int
        Participation threshold and minimum group size.
    panel : DataFrame, optional
        ``load_panel(store, scope, ..., min_sessions)`` when the caller has it (used when
        the store keeps nothing).
    """
    key = ("respondents", scope_key(scope), int(min_sessions), int(k))
    return store.remembered(key, lambda: respondents_table(
        _scope_panel(store, scope, min_sessions, panel), int(k)))


def scope_roles(store: Store, scope: Scope, min_sessions: int, k: int,
                panel: pd.DataFrame | None = None) -> dict[str, bool]:
    """:func:`analysis.privacy.guard.role_visibility` of the scope's panel (see
    :func:`scope_respondents` for the parameters). A copy: callers may change it."""
    key = ("roles", scope_key(scope), int(min_sessions), int(k))
    return dict(store.remembered(key, lambda: role_visibility(
        _scope_panel(store, scope, min_sessions, panel), int(k))))


def organization_slice_cells(store: Store, outcomes: Sequence[str], min_sessions: int, k: int,
                             by_role: bool, org: pd.DataFrame | None = None,
                             attendance: pd.DataFrame | None = None,
                             atoms: Atoms | None = None) -> OrganizationCells:
    """:func:`analysis.privacy.slice_tables.organization_cells` of the whole organization
    (every viewer's guard reads the same), for ``outcomes`` at ``min_sessions`` and ``k``.

    ``org``, ``attendance`` and ``atoms``: the organization's panel (those outcomes, that
    threshold), attendance and :func:`~analysis.privacy.slicing.organization_atoms` when
    the caller has them (used when the store keeps nothing, which would build them again).
    """
    chosen = list(outcomes)

    def build() -> OrganizationCells:
        keep = store.keep_derived
        panel = org if org is not None and not keep else load_panel(store, LOCAL, chosen, int(min_sessions))
        sessions = attendance if attendance is not None and not keep else load_attendance(store, LOCAL)
        cut = atoms if atoms is not None and not keep else organization_atoms(store, k)
        return organization_cells(panel, sessions, chosen, cut, int(k), by_role)

    key = ("slice cells", tuple(chosen), int(min_sessions), int(k), bool(by_role))
    return store.remembered(key, build)
