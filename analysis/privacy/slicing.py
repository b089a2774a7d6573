"""The one guard for every way of slicing the data: may this slice be shown, and which of
its cells.

A *slice* is everything that decides which people a table counts: the practices chosen,
the roles chosen, the participation threshold (``min_sessions``), the waves, and the
viewer's own scope (a practice manager's "all" is a selection of practices). Every
output (dashboards, chart downloads, figure data, the HTML report, ``report``,
``export``) asks this module.

Rule
----
Two slices differ, in a table cell, by the people counted in one and not the other. The
guard makes every such difference 0 or at least ``k`` people:

* **Atoms.** The organization's rows are cut into atoms: practice × (role, when roles
  are chosen) × *dose step*. Dose steps are the intervals between offered thresholds
  (:func:`offered_thresholds`), so any two offered thresholds differ by whole steps.
  Practices (and roles) that the organization's own breakdown hides (too small, or
  hidden to protect a small one) are pooled into one atom and cannot be chosen, so no
  slice but the whole organization holds any of them (:func:`partition`). Any two
  slices the guard allows differ, in any cell, by a union of whole atoms.
* **Cells.** The *base slice* (whole organization, no practice or role chosen, threshold
  :data:`BASE_MIN_SESSIONS`) is protected by ordinary suppression. Every other slice
  shows a count cell only when each atom in that cell's definition, over the whole
  organization, holds 0 or at least ``k`` people
  (:func:`analysis.privacy.slice_tables.checked_cells`); otherwise the cell is not shown.
  A union of atoms that each hold 0 or ``k``+ people holds 0 or ``k``+ people, so no pair
  of allowed slices isolates fewer than ``k``.
* **Exactness.** A table whose sample is a subset of a checked cell (an estimate, the
  dose bands) is shown only when its count equals that cell's count, so the sample is
  the cell (:func:`follow_cells`).
* **Refusals** (:func:`check_slice`): a threshold that is not offered; a pooled practice
  or role (also within the viewer's scope); a selection, or the people it leaves out,
  between 1 and ``k - 1`` at some wave. No refusal states a count other than ``k``.

The guard reads counts of the whole organization (never shown) to decide what a
narrower scope may see: a scope is a selection like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.access.scope import LOCAL
from analysis.privacy.guard import (
    FilterRefused,
    hidden_cells,
    refusal_text,
    respondents_table,
    role_visibility,
)
from analysis.storage.queries import load_panel
from analysis.storage.store import Store

__all__ = [
    "BASE_MIN_SESSIONS",
    "POOLED",
    "Atoms",
    "KeyedCells",
    "Slice",
    "atom_labels",
    "organization_atoms",
    "check_slice",
    "follow_cells",
    "offered_thresholds",
    "partition",
]

#: The participation threshold of the base slice (DESIGN.md's default).
BASE_MIN_SESSIONS = 1

#: Highest threshold ever offered (the dashboards' widget stops there too).
MAX_THRESHOLD = 50


@dataclass(frozen=True)
class Slice:
    """Which people a view counts.

    Parameters
    ----------
    sites, roles : tuple of str or None
        Practices and roles chosen (None: no choice made).
    min_sessions : int
        Participation threshold.
    scope_sites : tuple of str or None
        The viewer's practices (None: the whole organization).
    """

    sites: tuple[str, ...] | None = None
    roles: tuple[str, ...] | None = None
    min_sessions: int = BASE_MIN_SESSIONS
    scope_sites: tuple[str, ...] | None = None

    def is_base(self) -> bool:
        """The whole organization at the base threshold, nothing chosen."""
        return (self.sites is None and self.roles is None and self.scope_sites is None
                and int(self.min_sessions) == BASE_MIN_SESSIONS)

    def site_choice(self) -> tuple[str, ...] | None:
        """The practices the slice covers (choice within scope), None for all."""
        if self.sites is None:
            return self.scope_sites
        if self.scope_sites is None:
            return self.sites
        return tuple(s for s in self.sites if s in set(self.scope_sites))


# ------------------------------------------------------------------ thresholds and atoms


def offered_thresholds(panel: pd.DataFrame, k: int, highest: int = MAX_THRESHOLD) -> tuple[int, ...]:
    """Thresholds whose every dose step holds 0 or at least ``k`` people.

    Going up from :data:`BASE_MIN_SESSIONS`, a threshold ``t`` is offered when the people
    with ``previous offered <= sessions < t`` number 0 or at least ``k`` at every wave,
    within the whole organization, within each practice and within each role. Two
    offered thresholds then differ by whole steps.

    Parameters
    ----------
    panel : DataFrame
        The organization's panel (``wave, site, role, sessions``).
    k : int
        Minimum group size.
    """
    offered = [BASE_MIN_SESSIONS]
    if panel.empty:
        return tuple(offered)
    sessions = panel["sessions"].to_numpy()
    top = int(min(highest, sessions.max() + 1))
    below = [_counts_below(panel, by, top) for by in (["wave"], ["wave", "site"], ["wave", "role"])]
    for t in range(BASE_MIN_SESSIONS + 1, top + 1):
        # people with offered[-1] <= sessions < t, per wave (and site, and role)
        steps = (counts[:, t] - counts[:, offered[-1]] for counts in below)
        if not any(((step > 0) & (step < k)).any() for step in steps):
            offered.append(t)
    return tuple(offered)


def _counts_below(panel: pd.DataFrame, by: list[str], top: int) -> np.ndarray:
    """Rows per group of ``by`` (groups with a missing key left out) with ``sessions < j``,
    for ``j`` in ``0 .. top``: one pass instead of one grouping per threshold."""
    labels = panel.groupby(by, observed=True, sort=False).ngroup().to_numpy()
    sessions = pd.to_numeric(panel["sessions"], errors="coerce").to_numpy(dtype="float64")
    keep = (labels >= 0) & ~np.isnan(sessions)
    # sessions < j  <=>  j >= floor(sessions) + 1
    first = np.clip(np.floor(sessions[keep]) + 1, 0, top + 1).astype(np.int64)
    n_groups = int(labels.max()) + 1 if labels.size else 0
    hist = np.zeros((n_groups, top + 2), dtype=np.int64)
    np.add.at(hist, (labels[keep], first), 1)
    return np.cumsum(hist, axis=1)


@dataclass(frozen=True)
class Atoms:
    """How the organization is cut into atoms.

    ``thresholds``: the offered thresholds (dose steps lie between them). ``sites`` and
    ``roles``: those that may be chosen; the others (hidden, or hidden to protect a
    hidden one, in the organization's own breakdown at the base threshold) are pooled
    into one atom, :data:`POOLED`, that no slice but the whole organization contains.
    """

    thresholds: tuple[int, ...]
    sites: frozenset[str]
    roles: frozenset[str]


#: The atom label of the practices (or roles) that cannot be chosen on their own.
POOLED = "(pooled)"


def partition(panel: pd.DataFrame, k: int) -> Atoms:
    """The atoms of the organization's panel (``person, wave, site, role, sessions``)."""
    if panel.empty:
        return Atoms((BASE_MIN_SESSIONS,), frozenset(), frozenset())
    base = panel.assign(participant=panel["sessions"].to_numpy() >= BASE_MIN_SESSIONS)
    hidden_sites = {s for _, s, _ in hidden_cells(respondents_table(base, k))}
    sites = frozenset(map(str, base["site"].unique())) - hidden_sites
    roles = frozenset(str(r) for r, shown in role_visibility(base, k).items() if shown)
    return Atoms(offered_thresholds(panel, k), sites, roles)


def atom_labels(frame: pd.DataFrame, slice_: Slice, atoms: Atoms,
                sessions_col: str | None = "sessions") -> pd.Series:
    """Each row's atom: practice (or pooled) × (role or pooled, when roles are chosen) × dose step."""
    site = frame["site"].astype(str)
    label = site.where(site.isin(atoms.sites), POOLED)
    if slice_.roles is not None and "role" in frame.columns:
        role = frame["role"].astype(str)
        label = label + "|" + role.where(role.isin(atoms.roles), POOLED)
    if sessions_col is not None and sessions_col in frame.columns:
        steps = np.searchsorted(np.asarray(atoms.thresholds), frame[sessions_col].to_numpy(), side="right")
        label = label + "|" + pd.Series(steps, index=frame.index).astype(str)
    return label


@dataclass(frozen=True)
class KeyedCells:
    """Checked cells ready to be looked up: their ``keys`` as text (the first of any
    duplicate key), ``safe`` and the slice's count ``n`` (NaN when the cells carry none).

    Looking many tables up in one set of cells (the guard does, a dozen times per
    report, in cells of tens of thousands of rows) then costs one hashing of the cells.
    """

    keys: tuple[str, ...]
    index: pd.MultiIndex
    safe: np.ndarray
    n: np.ndarray
    #: the row of the source cells each entry is (the first of its key)
    rows: np.ndarray

    @classmethod
    def of(cls, cells: pd.DataFrame, keys: Sequence[str]) -> KeyedCells:
        """``cells`` (``keys``, ``safe``, optionally ``n``) keyed by ``keys``."""
        text = cells[list(keys)].astype(str)
        first = ~text.duplicated().to_numpy()
        safe = np.array(cells["safe"].fillna(False).astype(bool), dtype=bool)[first]
        n = (pd.to_numeric(cells["n"], errors="coerce").to_numpy(dtype=float)[first] if "n" in cells.columns
             else np.full(int(first.sum()), np.nan))
        return cls(tuple(keys), pd.MultiIndex.from_frame(text.loc[first]), safe, n, np.flatnonzero(first))

    def with_counts(self, n: np.ndarray) -> KeyedCells:
        """The same cells with another slice's counts (``n``: per row of the source cells)."""
        return replace(self, n=np.asarray(n, dtype=float)[self.rows])

    def find(self, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """``safe`` and ``n`` of each row's cell (False and NaN when none)."""
        text = table[list(self.keys)].astype(str)
        where = self.index.get_indexer(pd.MultiIndex.from_frame(text)) if len(text) else np.zeros(0, int)
        found = where >= 0
        safe = np.zeros(len(where), dtype=bool)
        safe[found] = self.safe[where[found]]
        n = np.full(len(where), np.nan)
        n[found] = self.n[where[found]]
        return safe, n


def follow_cells(table: pd.DataFrame, cells: pd.DataFrame | KeyedCells, keys: Sequence[str],
                 count_col: str | None, value_cols: Sequence[str]) -> pd.DataFrame:
    """Hide the rows of ``table`` whose cell is not safe (or not found).

    ``cells`` holds ``keys``, ``safe`` and, when ``count_col`` is given, ``n``: the
    cell's count in the slice (or is those cells keyed by ``keys``, :class:`KeyedCells`).
    A row whose ``count_col`` differs from that ``n`` is hidden too (its sample is then
    not the checked cell).
    """
    if table.empty:
        return table
    keyed = cells if isinstance(cells, KeyedCells) else KeyedCells.of(cells, keys)
    if sorted(keyed.keys) != sorted(keys) or len(set(keys)) != len(list(keys)):
        raise ValueError(f"cells keyed by {keyed.keys}, looked up by {tuple(keys)}")
    safe, theirs = keyed.find(table)
    if count_col is not None and count_col in table.columns:
        mine = pd.to_numeric(table[count_col], errors="coerce").to_numpy(dtype=float)
        present = ~np.isnan(mine)
        safe &= ~present | (mine == theirs)
    out = table.copy()
    hide = ~safe
    if not hide.any():
        return out
    hide_s = pd.Series(hide, index=out.index)
    for col in value_cols:
        if col in out.columns:
            out[col] = out[col].mask(hide_s)
    if "suppressed" in out.columns:
        out["suppressed"] = out["suppressed"].fillna(False).astype(bool) | hide_s
    if "status" in out.columns:
        out["status"] = out["status"].mask(hide_s, "insufficient")
    return out


# ------------------------------------------------------------------ refusals


def organization_atoms(store: Store, k: int, panel: pd.DataFrame | None = None) -> Atoms:
    """:func:`partition` of the whole organization's panel (kept by the app's store until
    the data changes: the atoms depend on the data and ``k`` only). ``panel``: the
    organization's panel when the caller has it (any outcomes or threshold), else read."""
    return store.remembered(("atoms", int(k)), lambda: partition(
        panel if panel is not None else load_panel(store, LOCAL, outcomes=[], min_sessions=BASE_MIN_SESSIONS),
        k))


def check_slice(panel: pd.DataFrame, slice_: Slice, k: int, atoms: Atoms | None = None) -> Atoms:
    """Refuse a slice that shows a small group directly or by subtraction.

    Parameters
    ----------
    panel : DataFrame
        The organization's panel (``person, wave, site, role, sessions``), whatever the
        viewer's scope.
    slice_ : Slice
    k : int
    atoms : Atoms, optional
        ``partition(panel, k)`` when the caller has it already (:func:`organization_atoms`).

    Returns
    -------
    Atoms
        The organization's atoms, for :func:`atom_labels`.

    Raises
    ------
    FilterRefused
        With :func:`analysis.privacy.guard.refusal_text`; no count but ``k`` is stated.
    """
    atoms = atoms if atoms is not None else partition(panel, k)
    if int(slice_.min_sessions) not in atoms.thresholds:
        raise FilterRefused(refusal_text("threshold", k))
    if slice_.is_base() or panel.empty:
        return atoms
    mask = np.ones(len(panel), dtype=bool)
    sites = slice_.site_choice()
    if sites is not None:
        if not set(sites) <= atoms.sites and set(sites) & set(panel["site"].astype(str)):
            raise FilterRefused(refusal_text("small", k))  # a pooled practice: not on its own
        mask &= panel["site"].isin(list(sites)).to_numpy()
    if slice_.roles is not None:
        if not set(slice_.roles) <= atoms.roles and set(slice_.roles) & set(panel["role"].astype(str)):
            raise FilterRefused(refusal_text("small", k))
        mask &= panel["role"].isin(list(slice_.roles)).to_numpy()
    if not mask.any():
        raise FilterRefused(refusal_text("empty", k))
    chosen = panel.loc[mask].groupby("wave")["person"].nunique()
    everyone = panel.groupby("wave")["person"].nunique()
    chosen = chosen.reindex(everyone.index, fill_value=0)
    if ((chosen > 0) & (chosen < k)).any():
        raise FilterRefused(refusal_text("small", k))
    rest = everyone - chosen
    if ((rest > 0) & (rest < k)).any():
        raise FilterRefused(refusal_text("remainder", k))
    return atoms
