"""Grouped statistics with integer group codes: what ``groupby`` computes, without hashing
text per row for every table.

:func:`group_codes` numbers the groups as ``groupby(by, sort=True, dropna=False,
observed=True)`` orders them; the statistics then come from ``bincount`` and one sort
per median or quantile, with pandas' conventions (linear quantiles, the median of an even
count as the mean of the two middle values, missing values skipped).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["Moments", "aggregate", "aggregate_moments", "group_codes", "grouped_median", "grouped_quantiles",
           "moments"]


def group_codes(frame: pd.DataFrame, by: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's group number and the groups' keys, as ``groupby(by, sort=True, dropna=False,
    observed=True)`` orders them (missing keys last).

    A ``wave`` column is read through the frame's ``wave_index`` when it has one, which
    must number the waves one to one (as the panel's does).

    Returns
    -------
    codes : ndarray of int64
        Group of each row, 0 .. number of groups - 1.
    keys : DataFrame
        One row per group present, the ``by`` columns, in group order.
    """
    combined = np.zeros(len(frame), dtype="int64")
    levels = []
    for column in by:
        values = frame[column]
        codes, uniques = _sorted_codes(frame, column)
        size = len(uniques) + 1
        codes = np.where(codes < 0, len(uniques), codes)  # missing last, as groupby puts it
        combined = combined * size + codes
        levels.append((uniques, size, values))
    span = int(np.prod([size for _, size, _ in levels], dtype="float64")) if levels else 1
    if span <= 4 * len(frame) + 1024:  # few possible keys: number them by a lookup, no sort
        present = np.flatnonzero(np.bincount(combined, minlength=span))
        lookup = np.zeros(span, dtype="int64")
        lookup[present] = np.arange(len(present))
        inverse = lookup[combined]
    else:
        present, inverse = np.unique(combined, return_inverse=True)
    keys = {}
    for column, (uniques, size, values) in reversed(list(zip(by, levels))):
        # a missing key's number is len(uniques): reindex leaves it missing
        keys[column] = pd.Series(uniques).reindex(present % size).reset_index(drop=True).astype(values.dtype)
        present = present // size
    return inverse.astype("int64"), pd.DataFrame({c: keys[c] for c in by})


def _sorted_codes(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, pd.Index | np.ndarray]:
    """``pd.factorize(frame[column], sort=True)``; for the panel's ``wave`` read through its
    ``wave_index`` (small integers numbering the waves one to one), so the few wave names
    are sorted instead of hashing a name per row."""
    values = frame[column]
    if column == "wave" and "wave_index" in frame.columns and len(frame):
        index = frame["wave_index"].to_numpy()
        if index.dtype.kind in "iu" and index.min() >= 0 and index.max() < 4096:
            present = np.flatnonzero(np.bincount(index))
            names = values.iloc[[int(np.argmax(index == v)) for v in present]].reset_index(drop=True)
            if names.notna().all():
                codes, uniques = pd.factorize(names, sort=True)
                lookup = np.zeros(int(index.max()) + 1, dtype="int64")
                lookup[present] = codes
                return lookup[index], uniques
    return pd.factorize(values, sort=True, use_na_sentinel=True)


def _sorted_by_group(groups: np.ndarray, values: np.ndarray, n_groups: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-missing values sorted by group then value, each group's start and count."""
    known = ~np.isnan(values)
    groups, values = groups[known], values[known]
    order = np.argsort(values)  # ties are equal values: their order does not matter
    # then stably by group: a radix sort when the group numbers fit in 16 bits
    narrow = groups[order].astype("int16" if n_groups < 2**15 else "int64")
    order = order[np.argsort(narrow, kind="stable")]
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.cumsum(counts) - counts
    return values[order], starts, counts


def grouped_quantiles(groups: np.ndarray, values: np.ndarray, n_groups: int,
                      qs: Sequence[float]) -> np.ndarray:
    """Per group, pandas' linear quantiles of the non-missing values (NaN for an empty group).

    Returns an array of shape ``(n_groups, len(qs))``.
    """
    ordered, starts, counts = _sorted_by_group(groups, values, n_groups)
    out = np.full((n_groups, len(qs)), np.nan)
    has = counts > 0
    for j, q in enumerate(qs):
        position = q * (counts[has] - 1)
        low = np.floor(position).astype("int64")
        frac = position % 1
        value = ordered[starts[has] + low]
        upper = ordered[starts[has] + np.minimum(low + 1, counts[has] - 1)]
        out[has, j] = np.where(frac == 0, value, value + (upper - value) * frac)
    return out


def grouped_median(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group, pandas' median of the non-missing values (NaN for an empty group)."""
    ordered, starts, counts = _sorted_by_group(groups, values, n_groups)
    out = np.full(n_groups, np.nan)
    has = counts > 0
    half = counts[has] // 2
    middle = ordered[starts[has] + half]
    below = ordered[starts[has] + np.maximum(half - 1, 0)]
    out[has] = np.where(counts[has] % 2 == 1, middle, (middle + below) / 2)
    return out


def aggregate(frame: pd.DataFrame, keys: list[str], aggregations: dict[str, tuple[str, str]]
               ) -> pd.DataFrame:
    """``frame.groupby(keys, sort=True, dropna=False, observed=True).agg(**aggregations).reset_index()``
    with integer group codes: ``count``, ``mean``, ``std`` (two-pass), ``sum`` and ``max``
    of the non-missing values (empty groups: mean, std and max missing, count and sum 0)."""
    codes, out = group_codes(frame, keys)
    n_groups = len(out)
    columns: dict[str, np.ndarray] = {}
    sums: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    for name, (column, how) in aggregations.items():
        if column not in sums:  # each column's values sorted into groups once for all its aggregations
            sums[column] = _column_sums(frame, column, codes, n_groups)
        groups, present, count, total = sums[column]
        if how == "max":
            largest = pd.Series(present).groupby(groups).max()
            columns[name] = largest.reindex(np.arange(n_groups)).to_numpy(dtype="float64")
        else:
            squares = (np.bincount(groups, weights=(present - (total / np.maximum(count, 1))[groups]) ** 2,
                                   minlength=n_groups) if how == "std" else None)
            columns[name] = _statistic(how, count, total, squares)
    return pd.concat([out, pd.DataFrame(columns, index=out.index)], axis=1)


def _column_sums(frame: pd.DataFrame, column: str, codes: np.ndarray, n_groups: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A column's non-missing values with their group codes, and per group their count
    and sum."""
    values = frame[column].to_numpy(dtype="float64")
    known = ~np.isnan(values)
    groups, present = (codes, values) if known.all() else (codes[known], values[known])
    return (groups, present, np.bincount(groups, minlength=n_groups),
            np.bincount(groups, weights=present, minlength=n_groups))


def _statistic(how: str, count: np.ndarray, total: np.ndarray,
               squares: np.ndarray | None) -> np.ndarray:
    """``count``, ``sum``, ``mean`` or ``std`` (``squares``: each group's squared deviations
    from its mean, needed for it only) of groups with these counts and sums."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if how == "count":
            return np.rint(count).astype("int64")
        if how == "sum":
            return total
        if how == "mean":
            return np.where(count > 0, total / count, np.nan)
        if how == "std":
            return np.where(count > 1, np.sqrt(squares / (count - 1)), np.nan)
    raise ValueError(f"no aggregation {how!r}")


#: Per finest cell: its keys, and per value column the count, sum and sum of squared
#: deviations from the cell mean of the non-missing values.
Moments = tuple[pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]


def moments(frame: pd.DataFrame, keys: list[str], columns: Sequence[str]) -> Moments:
    """Each cell's count, sum and squared deviations (two-pass) of each column's values."""
    codes, cells = group_codes(frame, keys)
    n_cells = len(cells)
    found = {}
    for column in columns:
        groups, present, counted, total = _column_sums(frame, column, codes, n_cells)
        count = counted.astype("float64")
        mean = total / np.maximum(count, 1.0)
        squares = np.bincount(groups, weights=(present - mean[groups]) ** 2, minlength=n_cells)
        found[column] = (count, total, squares)
    return cells, found


def aggregate_moments(finest: Moments, keys: list[str], aggregations: dict[str, tuple[str, str]]
                       ) -> pd.DataFrame:
    """:func:`aggregate` of a coarser breakdown from the finest cells' moments (counts and
    sums added; squared deviations combined with Chan's formula, so no cancellation)."""
    cells, found = finest
    codes, out = group_codes(cells, keys)
    n_groups = len(out)
    columns: dict[str, np.ndarray] = {}
    for name, (column, how) in aggregations.items():
        count_f, total_f, squares_f = found[column]
        count = np.bincount(codes, weights=count_f, minlength=n_groups)
        total = np.bincount(codes, weights=total_f, minlength=n_groups)
        squares = None
        if how == "std":  # Chan's formula: each cell's squares plus its mean's distance
            mean_f = total_f / np.maximum(count_f, 1.0)
            squares = np.bincount(codes, weights=squares_f + count_f * (
                mean_f - (total / np.maximum(count, 1.0))[codes]) ** 2, minlength=n_groups)
        columns[name] = _statistic(how, count, total, squares)
    return pd.concat([out, pd.DataFrame(columns, index=out.index)], axis=1)
