"""Small-cell suppression: what a table on screen may show.

Every view and every export hides small groups through this module; no page, query or
report decides on its own whether a number is small enough to hide.

1. **Breakdowns** (dashboards): a minimum group size ``k`` (default 5, never below 3).
   Small cells are hidden (*primary suppression*) and, within each breakdown, enough
   further cells are hidden that no hidden cell can be recovered by subtraction from a
   total (*complementary suppression*); two-way tables with both margins also pass a
   linear audit (no hidden cell determined exactly by the margins).
2. **Estimates tables**: a row whose participants or comparison group is smaller than
   ``k`` keeps its labels and loses every number (:func:`guard_estimates`).

Selections (filters) are decided in :mod:`analysis.privacy.guard`; export output
checks in :mod:`analysis.privacy.export_checks`; spreadsheet formula injection in
:mod:`analysis.privacy.csv_safety`.

Consistency across views
------------------------
Suppression protects one table against its own margins. The same count must not be
shown unsuppressed elsewhere: a participation chart that prints the organisation-wide
participants at a wave undoes a complementary suppression of that cell in the
descriptives. Every view of a count breakdown therefore goes through
:func:`suppress_breakdown` / :func:`suppress_two_way` with the same ``k`` and the same
cells (:mod:`analysis.privacy.guard` keeps the report's tables consistent).

Residual risk
-------------
One-way breakdowns: with the total's n and mean shown, the pooled mean of the hidden
cells together can be derived (a group of at least ``k``), never a single hidden
cell's mean, because that needs exactly one unknown (n, mean) pair, which the
complementary rule rules out. Bounds on a hidden count (it is between 1 and hidden
sum - 1) remain, as in every cell-suppression scheme (Hundepool et al. 2012, §4.3).

Two-way tables: exact values of single hidden counts are never derivable, and no
hidden sum of one line is below ``k``. Interval bounds (by linear programming) on a
hidden cell remain, and pooled means of the hidden cells of a line can be derived (a
group of at least ``k``). Zero cells are shown as ``"no data"``: "no comparison staff
at site X" is visible by design.

References
----------
* Glint (Viva Glint) confidentiality: minimum group size, and "if only one group would
  be hidden, hide the next smallest too" so that no group can be found by subtracting
  the visible groups from the total.
* Hundepool et al. (2012), *Statistical Disclosure Control*, Wiley, ch. 4 (cell
  suppression, linear attacks on tables with margins).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "ABSOLUTE_MIN_GROUP_SIZE",
    "DEFAULT_MIN_GROUP_SIZE",
    "ESTIMATE_LABEL_COLUMNS",
    "INSUFFICIENT",
    "NO_DATA",
    "OK",
    "guard_estimates",
    "suppress_breakdown",
    "suppress_two_way",
    "validate_min_group_size",
]

DEFAULT_MIN_GROUP_SIZE: int = 5
"""Smallest group shown on screen unless the organisation configures more."""

ABSOLUTE_MIN_GROUP_SIZE: int = 3
"""No configuration may go below this; ``validate_min_group_size`` refuses it."""

OK: str = "ok"
INSUFFICIENT: str = "insufficient"
"""Status (and display label) of a suppressed row: too few people to show."""
NO_DATA: str = "no data"
"""Status (and display label) of a row with nobody in it (count 0 or absent)."""

ESTIMATE_LABEL_COLUMNS: tuple[str, ...] = (
    "analysis",
    "outcome",
    "instrument",
    "scale",
    "wave",
    "site",
    "group",
    "effect_size_kind",
    "covariates",
    "method",
)
"""Columns of an estimates table that are labels, kept on a suppressed row."""


def validate_min_group_size(k: Any) -> int:
    """Return ``k`` as an int, refusing any minimum group size below 3.

    Rule
    ----
    ``k`` must be a whole number >= ``ABSOLUTE_MIN_GROUP_SIZE`` (3).

    Why
    ---
    A group of one is a person; a group of two lets each member learn the
    other's answer. Survey vendors (Glint, Culture Amp) allow lowering the
    threshold to 3 at the very least; we do the same, default 5.

    Raises
    ------
    ValueError
        If ``k`` is not a whole number or is below 3.

    Examples
    --------
    >>> validate_min_group_size(5)
    5
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        if isinstance(k, (float, np.floating)) and float(k).is_integer():
            k = int(k)
        else:
            raise ValueError(f"minimum group size must be a whole number, got {k!r}")
    k = int(k)
    if k < ABSOLUTE_MIN_GROUP_SIZE:
        raise ValueError(
            f"minimum group size {k} is below the absolute minimum of "
            f"{ABSOLUTE_MIN_GROUP_SIZE}; groups that small could identify people"
        )
    return k


# --------------------------------------------------------------------------
# Complementary suppression: the core shared by one-way and two-way tables
# --------------------------------------------------------------------------


def _counts_array(frame: pd.DataFrame, count_col: str) -> np.ndarray:
    """Counts as float, absent/NA as 0 ("no data" is never a hidden cell)."""
    counts = pd.to_numeric(frame[count_col], errors="coerce").astype("float64")
    return np.nan_to_num(counts.to_numpy(dtype="float64", na_value=np.nan), nan=0.0)


def _complete_line(
    counts: np.ndarray, hidden: np.ndarray, is_total: np.ndarray, k: int
) -> bool:
    """Apply the complementary rule to one breakdown, in place.

    ``counts``, ``hidden``, ``is_total`` are the rows of one breakdown. Returns
    True when any cell was newly hidden.

    The breakdown is safe when the hidden *members* are none, or at least two
    whose counts sum to ``k`` or more, and, if the total row is hidden, at
    least one member is hidden too (else the total is the sum of members).
    Until then the smallest visible member with people in it is hidden; if
    none is left, the total row itself is hidden.
    """
    changed = False
    members = ~is_total
    positive = counts > 0
    while True:
        hidden_members = hidden & members
        n_hidden = int(hidden_members.sum())
        hidden_sum = float(counts[hidden_members].sum())
        total_hidden = bool((hidden & is_total).any())
        unsafe = (
            n_hidden == 1
            or (n_hidden >= 1 and hidden_sum < k)
            or (total_hidden and n_hidden == 0)
        )
        if not unsafe:
            return changed
        candidates = np.flatnonzero(members & positive & ~hidden)
        if candidates.size:
            # smallest count first; ties broken by row order (stable, deterministic)
            pick = candidates[np.argmin(counts[candidates])]
            hidden[pick] = True
            changed = True
            continue
        totals_visible = np.flatnonzero(is_total & positive & ~hidden)
        if totals_visible.size:
            # nothing left to hide among members: the total would reveal them
            hidden[totals_visible] = True
            changed = True
        return changed


def _complete_breakdowns(
    counts: np.ndarray,
    hidden: np.ndarray,
    is_total: np.ndarray,
    groups: Mapping[Any, np.ndarray],
    k: int,
) -> bool:
    """Run ``_complete_line`` over every breakdown (positional index arrays)."""
    changed = False
    for positions in groups.values():
        sub_hidden = hidden[positions]
        if _complete_line(counts[positions], sub_hidden, is_total[positions], k):
            hidden[positions] = sub_hidden
            changed = True
    return changed


def _finalise(
    frame: pd.DataFrame,
    count_col: str,
    value_cols: Sequence[str],
    counts: np.ndarray,
    hidden: np.ndarray,
) -> pd.DataFrame:
    """Blank hidden rows, add ``suppressed`` and ``status``."""
    out = frame.copy()
    no_data = (counts <= 0) & ~hidden
    hidden_s = pd.Series(hidden, index=out.index)
    no_data_s = pd.Series(no_data, index=out.index)
    out[count_col] = (
        pd.to_numeric(out[count_col], errors="coerce").round().astype("Int64")
    )
    out.loc[hidden_s, count_col] = pd.NA
    for col in value_cols:
        if col not in out.columns:
            continue
        # a mean of nobody does not exist; a hidden row keeps nothing at all
        out[col] = out[col].mask(hidden_s | no_data_s)
    out["suppressed"] = hidden
    out["status"] = np.where(hidden, INSUFFICIENT, np.where(no_data, NO_DATA, OK))
    return out


def _groups(frame: pd.DataFrame, by: Sequence[str]) -> Mapping[Any, np.ndarray]:
    if not by:
        return {None: np.arange(len(frame))}
    return frame.groupby(list(by), sort=False, dropna=False).indices


def suppress_breakdown(
    frame: pd.DataFrame,
    count_col: str,
    value_cols: Sequence[str],
    partition_cols: Sequence[str],
    k: int = DEFAULT_MIN_GROUP_SIZE,
    *,
    category_col: str | None = None,
    total_value: Hashable | None = None,
    total_mask: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """Hide small cells of one-way breakdowns, with complementary suppression.

    A *breakdown* is the set of rows sharing ``partition_cols`` -- e.g. for
    partition ``[outcome, wave, group]`` the rows are the sites; for
    ``[outcome, wave, site]`` the rows are the groups. A breakdown may hold
    its own total row (``site == 'all'``), named by ``total_value`` of
    ``category_col`` or by a boolean ``total_mask``.

    Rule
    ----
    1. Primary: a row with ``0 < count < k`` is hidden.
    2. Complementary (Glint): while a breakdown has exactly one hidden member,
       or hidden members whose counts sum to less than ``k``, the smallest
       visible member (ties: first row) is hidden too. Afterwards every
       breakdown has either no hidden member or at least two, together at
       least ``k`` people.
    3. The total row is shown when its own count is ``>= k``; it is hidden when
       it is ``< k`` (then all members are hidden too) or when the members
       cannot make the breakdown safe (e.g. the single small member is the
       only one with people in it).
    4. A row with count 0 or NA is ``"no data"``: not hidden, never counted as
       a hidden cell, value columns blank (a mean of nobody does not exist).

    Why
    ---
    Without step 2 a hidden site is ``total - sum(visible sites)``. With two
    or more hidden cells only their *sum* can be derived, and the rule keeps
    that sum at ``k`` or more: the derived group is itself large enough.
    Residual risk: see the module docstring.

    Parameters
    ----------
    frame : DataFrame
        One row per cell. Not modified.
    count_col : str
        Number of people in the cell.
    value_cols : sequence of str
        Every statistic of the cell (mean, sd, ci_low, ci_high, share_high,
        ...); blanked on hidden and no-data rows.
    partition_cols : sequence of str
        Columns that identify a breakdown.
    k : int
        Minimum group size (>= 3).
    category_col, total_value, total_mask : optional
        ``frame[category_col] == total_value``, or the boolean ``total_mask``, marks
        the total rows.

    Returns
    -------
    DataFrame
        A copy with ``suppressed`` (bool) and ``status`` (``"ok"``,
        ``"insufficient"``, ``"no data"``) added; ``count_col`` as nullable
        Int64; on suppressed rows the count and every value column are NA.

    Examples
    --------
    >>> f = pd.DataFrame({"site": ["a", "b", "c", "all"], "n": [3, 6, 20, 29],
    ...                   "mean": [1.0, 2.0, 3.0, 2.6]})
    >>> out = suppress_breakdown(f, "n", ["mean"], [], 5,
    ...                          category_col="site", total_value="all")
    >>> out["status"].tolist()
    ['insufficient', 'insufficient', 'ok', 'ok']
    """
    k = validate_min_group_size(k)
    is_total = _total_mask(frame, category_col, total_value, total_mask)
    counts = _counts_array(frame, count_col)
    hidden = (counts > 0) & (counts < k)
    _complete_breakdowns(counts, hidden, is_total, _groups(frame, partition_cols), k)
    return _finalise(frame, count_col, value_cols, counts, hidden)


def _total_mask(
    frame: pd.DataFrame,
    category_col: str | None,
    total_value: Hashable | None,
    total_mask: pd.Series | np.ndarray | None,
) -> np.ndarray:
    if total_mask is not None:
        return np.asarray(total_mask, dtype=bool)
    if total_value is not None:
        if category_col is None:
            raise ValueError("total_value needs category_col")
        return (frame[category_col] == total_value).to_numpy(dtype=bool)
    return np.zeros(len(frame), dtype=bool)


# --------------------------------------------------------------------------
# Two-way tables (descriptives: site x group, both with an 'all' margin)
# --------------------------------------------------------------------------


def _bridges(
    row_nodes: np.ndarray, col_nodes: np.ndarray, hidden_positions: np.ndarray
) -> list[tuple[int, set[Any]]]:
    """Hidden cells that a linear attack determines exactly.

    In a table with both margins, flipping the sign of the total row and the
    total column turns every constraint into "this line sums to zero"; the
    constraint system is then the incidence matrix of a bipartite graph
    (row values and column values as nodes, hidden cells as edges), and a
    hidden cell is determined exactly iff its edge is a *bridge* of that graph.
    Returns (position, nodes on the row side of the cut) for each bridge.
    """
    adjacency: dict[Any, list[tuple[Any, int]]] = {}
    for pos in hidden_positions:
        r, c = ("r", row_nodes[pos]), ("c", col_nodes[pos])
        adjacency.setdefault(r, []).append((c, pos))
        adjacency.setdefault(c, []).append((r, pos))
    found = []
    for pos in hidden_positions:
        start, goal = ("r", row_nodes[pos]), ("c", col_nodes[pos])
        seen = {start}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for nxt, edge in adjacency[node]:
                if edge == pos or nxt in seen:
                    continue
                seen.add(nxt)
                queue.append(nxt)
        if goal not in seen:
            found.append((int(pos), seen))
    return found


def suppress_two_way(
    frame: pd.DataFrame,
    count_col: str,
    value_cols: Sequence[str],
    row_dim: str,
    col_dim: str,
    k: int = DEFAULT_MIN_GROUP_SIZE,
    row_total: Hashable = "all",
    col_total: Hashable = "all",
    keys: Sequence[str] = (),
) -> pd.DataFrame:
    """Suppress a table with two dimensions and both margins, e.g. site x group.

    Rows are keyed by ``keys + [row_dim, col_dim]`` (descriptives: ``outcome,
    wave`` then ``site`` in sites + ``'all'`` and ``group`` in participants,
    comparison, ``'all'``). Each ``keys`` value is one table.

    Rule
    ----
    Primary suppression of ``0 < count < k`` on every cell (margins
    included), then, repeated until nothing changes:

    1. the complementary rule of :func:`suppress_breakdown` along ``row_dim``
       (each column line with its ``row_total`` row), then along ``col_dim``
       (each row line with its ``col_total`` row);
    2. a linear audit: if any hidden cell is still determined exactly by the
       margins (a *bridge* in the graph of hidden cells, see Hundepool et al.
       2012 §4.3), the smallest visible cell that closes a cycle through it is
       hidden.

    Hidden cells only ever get added, so the loop ends.

    Why
    ---
    A hidden participants cell at a site must not be recoverable from the
    site's ``all`` minus its comparison cell, nor from the organisation-wide
    participants minus the other sites, nor from any combination of lines.
    With three values on one dimension (participants, comparison, all) step 1
    alone already guarantees this (a bipartite graph with every node of
    degree 0 or >= 2 on a three-node side has no bridge); step 2 makes the
    guarantee hold for any shape.

    Residual risk: see the module docstring.

    Parameters
    ----------
    frame, count_col, value_cols, k
        As in :func:`suppress_breakdown`.
    row_dim, col_dim : str
        The two category columns.
    row_total, col_total : hashable
        The value meaning "all" on each dimension.
    keys : sequence of str
        Columns that separate independent tables (e.g. outcome, wave).

    Returns
    -------
    DataFrame
        As :func:`suppress_breakdown`.
    """
    k = validate_min_group_size(k)
    counts = _counts_array(frame, count_col)
    hidden = (counts > 0) & (counts < k)
    keys = list(keys)
    row_is_total = (frame[row_dim] == row_total).to_numpy(dtype=bool)
    col_is_total = (frame[col_dim] == col_total).to_numpy(dtype=bool)
    along_rows = _groups(frame, keys + [col_dim])
    along_cols = _groups(frame, keys + [row_dim])
    tables = _groups(frame, keys)
    row_nodes = frame[row_dim].to_numpy(dtype=object)
    col_nodes = frame[col_dim].to_numpy(dtype=object)
    while True:
        changed = _complete_breakdowns(counts, hidden, row_is_total, along_rows, k)
        changed |= _complete_breakdowns(counts, hidden, col_is_total, along_cols, k)
        changed |= _linear_audit(tables, row_nodes, col_nodes, counts, hidden)
        if not changed:
            break
    return _finalise(frame, count_col, value_cols, counts, hidden)


def _linear_audit(tables: Mapping[Any, np.ndarray], row_nodes: np.ndarray, col_nodes: np.ndarray,
                  counts: np.ndarray, hidden: np.ndarray) -> bool:
    """Hide a further cell in every table where a hidden cell is still determined exactly."""
    positive = counts > 0
    changed = False
    for positions in tables.values():
        hidden_here = positions[hidden[positions]]
        for bridge, row_side in _bridges(row_nodes, col_nodes, hidden_here):
            if hidden[bridge]:
                changed |= _close_cycle(
                    positions, bridge, row_side, row_nodes, col_nodes,
                    counts, hidden, positive,
                )
                break  # re-run the line rule before auditing again
    return changed


def _close_cycle(
    positions: np.ndarray,
    bridge: int,
    row_side: set[Any],
    row_nodes: np.ndarray,
    col_nodes: np.ndarray,
    counts: np.ndarray,
    hidden: np.ndarray,
    positive: np.ndarray,
) -> bool:
    """Hide the smallest visible cell whose edge crosses the bridge's cut."""
    candidates = [
        p
        for p in positions
        if positive[p]
        and not hidden[p]
        and ((("r", row_nodes[p]) in row_side) != (("c", col_nodes[p]) in row_side))
    ]
    if not candidates:
        # nothing can hide it: hide every cell with people in this table
        newly = [p for p in positions if positive[p] and not hidden[p]]
        hidden[newly] = True
        return bool(newly)
    pick = min(candidates, key=lambda p: (counts[p], p))
    hidden[pick] = True
    return True


# --------------------------------------------------------------------------
# Estimates tables
# --------------------------------------------------------------------------


def guard_estimates(
    frame: pd.DataFrame,
    k: int = DEFAULT_MIN_GROUP_SIZE,
    *,
    count_cols: Sequence[str] = ("n_participants", "n_comparison"),
    label_cols: Sequence[str] = ESTIMATE_LABEL_COLUMNS,
) -> pd.DataFrame:
    """Blank every number of an estimate whose groups are too small.

    Rule
    ----
    A row where any of ``count_cols`` is between 1 and ``k - 1`` is
    suppressed: ``suppressed`` True, ``status`` ``"insufficient"``, every
    column that is not a label (``label_cols``) or ``suppressed``/``status``
    set to NA -- estimate, interval, p value, effect size *and* the counts.
    A row where a group has nobody (0 or NA) and none is small has
    ``status`` ``"no data"``, ``suppressed`` False and also no numbers (no
    estimate exists). A row already marked ``suppressed`` stays suppressed.

    Why
    ---
    An estimate is a function of each person's score; with a tiny group, a
    difference of means plus the other group's mean gives the small group's
    mean, i.e. a person's score.

    Returns
    -------
    DataFrame
        A copy with ``suppressed`` and ``status``; counts as nullable Int64.
    """
    k = validate_min_group_size(k)
    out = frame.copy()
    present = [c for c in count_cols if c in out.columns]
    n = out[present].apply(pd.to_numeric, errors="coerce").fillna(0)
    small = ((n > 0) & (n < k)).any(axis=1)
    empty = (n <= 0).any(axis=1) & ~small
    if "suppressed" in out.columns:
        small |= out["suppressed"].fillna(False).astype(bool)
        empty &= ~small
    blank = small | empty
    keep = set(label_cols) | {"suppressed", "status"}
    for col in out.columns:
        if col in keep:
            continue
        if col in present:
            out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
        out[col] = out[col].mask(blank)
    out["suppressed"] = small.to_numpy(dtype=bool)
    out["status"] = np.where(small, INSUFFICIENT, np.where(empty, NO_DATA, OK))
    return out


