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

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.privacy.cell_graph import bridge_cuts, close_cycle

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


@dataclass(frozen=True)
class _Lines:
    """A partition of the rows into breakdowns (or tables): a label per row, and the rows
    of each label in ascending order (``order[bounds[g]:bounds[g + 1]]``)."""

    labels: np.ndarray
    order: np.ndarray
    bounds: np.ndarray

    def rows(self, group: int) -> np.ndarray:
        return self.order[self.bounds[group]:self.bounds[group + 1]]


def _unsafe(n_hidden: np.ndarray, hidden_sum: np.ndarray, total_hidden: np.ndarray,
            k: int) -> np.ndarray:
    """``_complete_line``'s test, for many breakdowns (or steps) at once."""
    return ((n_hidden == 1) | ((n_hidden >= 1) & (hidden_sum < k))
            | (total_hidden & (n_hidden == 0)))


def _complete_breakdowns(
    counts: np.ndarray,
    hidden: np.ndarray,
    is_total: np.ndarray,
    lines: _Lines,
    k: int,
) -> bool:
    """Apply ``_complete_line`` to every breakdown, in place, all at once.

    ``_complete_line`` hides the visible members with people in ascending (count, row)
    order until the breakdown is safe, then the total if it never is; here every
    breakdown's candidates are sorted once and the safety test is evaluated on running
    sums. Sums of whole counts are exact in any order; other counts take the loop.
    """
    n_lines = len(lines.bounds) - 1
    if n_lines <= 0:
        return False
    if not (np.all(np.mod(counts, 1.0) == 0.0) and np.abs(counts).max() < 2.0**52):
        return _complete_each(counts, hidden, is_total, lines, k)
    labels = lines.labels
    hidden_members = hidden & ~is_total
    n_hidden = np.bincount(labels, weights=hidden_members, minlength=n_lines)
    hidden_sum = np.bincount(labels, weights=np.where(hidden_members, counts, 0.0), minlength=n_lines)
    total_hidden = np.bincount(labels, weights=hidden & is_total, minlength=n_lines) > 0
    bad = _unsafe(n_hidden, hidden_sum, total_hidden, k)
    if not bad.any():
        return False
    cand = np.flatnonzero(~is_total & (counts > 0) & ~hidden & bad[labels])
    cand = cand[np.lexsort((cand, counts[cand], labels[cand]))]
    line = labels[cand]
    first = np.ones(len(cand), dtype=bool)
    first[1:] = line[1:] != line[:-1]
    starts = np.flatnonzero(first)
    run = np.cumsum(first) - 1
    running = np.cumsum(counts[cand])
    running -= (running - counts[cand])[starts][run]
    step = np.arange(len(cand))
    safe = ~_unsafe(n_hidden[line] + step - starts[run] + 1, hidden_sum[line] + running,
                    total_hidden[line], k)
    if len(cand):
        first_safe = np.minimum.reduceat(np.where(safe, step, len(cand)), starts)
        take = step <= first_safe[run]
        hidden[cand[take]] = True
        bad[line[starts]] = first_safe == len(cand)  # still unsafe once every member is hidden
    # nothing left to hide among members: the total would reveal them
    totals = np.flatnonzero(is_total & (counts > 0) & ~hidden & bad[labels])
    hidden[totals] = True
    return bool(len(cand) or totals.size)


def _complete_each(counts: np.ndarray, hidden: np.ndarray, is_total: np.ndarray, lines: _Lines,
                   k: int) -> bool:
    """``_complete_line`` breakdown by breakdown (counts that are not whole numbers)."""
    changed = False
    for group in range(len(lines.bounds) - 1):
        positions = lines.rows(group)
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


def _groups(frame: pd.DataFrame, by: Sequence[str]) -> _Lines:
    """The breakdowns (or tables) sharing the values of ``by``; one group when ``by`` is empty."""
    if by:
        labels = frame.groupby(list(by), sort=False, dropna=False).ngroup().to_numpy(dtype=np.int64)
    else:
        labels = np.zeros(len(frame), dtype=np.int64)
    n_groups = int(labels.max()) + 1 if labels.size else 0
    order = np.argsort(labels, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=n_groups))])
    return _Lines(labels, order, bounds)


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
    _hide_until_safe(frame[row_dim], frame[col_dim], (row_is_total, col_is_total),
                     (along_rows, along_cols, _groups(frame, keys)), counts, hidden, k)
    return _finalise(frame, count_col, value_cols, counts, hidden)


def _hide_until_safe(rows: pd.Series, cols: pd.Series, totals: tuple[np.ndarray, np.ndarray],
                     lines: tuple[_Lines, _Lines, _Lines], counts: np.ndarray, hidden: np.ndarray,
                     k: int) -> None:
    """The loop of :func:`suppress_two_way` (line rule both ways, then audit), in place.

    ``lines``: breakdowns along rows, along columns, and the tables.
    """
    row_codes, row_values = pd.factorize(rows.to_numpy(dtype=object), use_na_sentinel=False)
    col_codes, col_values = pd.factorize(cols.to_numpy(dtype=object), use_na_sentinel=False)
    shape = (len(row_values), len(col_values))
    along_rows, along_cols, tables = lines
    dirty = np.ones(len(tables.bounds) - 1, dtype=bool)
    audited = np.zeros_like(hidden)
    while True:
        changed = _complete_breakdowns(counts, hidden, totals[0], along_rows, k)
        changed |= _complete_breakdowns(counts, hidden, totals[1], along_cols, k)
        # a table whose hidden cells are as at its last audit would be audited the same way
        dirty[tables.labels[hidden != audited]] = True
        audited = hidden.copy()
        changed |= _linear_audit(tables, np.flatnonzero(dirty), row_codes, col_codes, shape,
                                 counts, hidden)
        dirty[:] = False
        if not changed:
            return


def _linear_audit(tables: _Lines, dirty: np.ndarray, row_codes: np.ndarray, col_codes: np.ndarray,
                  shape: tuple[int, int], counts: np.ndarray, hidden: np.ndarray) -> bool:
    """Hide a further cell in every table where a hidden cell is still determined exactly.

    Only the first bridge of a table (in row order) is handled per round: the line rule
    runs again before the next audit.
    """
    changed = False
    for table in dirty:
        positions = tables.rows(table)
        cut = next(bridge_cuts(row_codes, col_codes, positions[hidden[positions]], shape), None)
        if cut is not None:
            changed |= close_cycle(positions, cut, row_codes, col_codes, counts, hidden)
    return changed


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


