"""The linear audit of two-way tables: hidden cells as a graph, bridges as exposed cells.

In a table with both margins, flipping the sign of the total row and the total column
turns every constraint into "this line sums to zero"; the constraint system is then the
incidence matrix of a bipartite graph (row values and column values as nodes, hidden
cells as edges), and a hidden cell is determined exactly iff its edge is a *bridge* of
that graph (Hundepool et al. 2012, §4.3). Bridges are found by one depth-first search
(Tarjan's lowlink), linear in the number of hidden cells, without recursion.

Nodes are integer codes: row value ``r`` is node ``r``, column value ``c`` is node
``n_rows + c`` (codes from :func:`pandas.factorize` over the whole frame).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Cut", "bridge_cuts", "bridges", "close_cycle"]


@dataclass(frozen=True)
class Cut:
    """A bridge and the two sides it separates.

    ``position``: the hidden cell (row of the frame) that is the bridge. ``rows`` and
    ``cols``: boolean masks over the row and column codes, True for the nodes on the
    row side of the cut (the component of the bridge's row node once the bridge is
    removed).
    """

    position: int
    rows: np.ndarray
    cols: np.ndarray


@dataclass(frozen=True)
class _Search:
    """A depth-first search of a multigraph: bridges and the subtree of each tree edge."""

    is_bridge: list[bool]
    child: list[int]  # per edge: its endpoint deeper in the search tree (-1: not a tree edge)
    pre: np.ndarray  # per node: preorder number
    size: np.ndarray  # per node: nodes in its search subtree
    root: np.ndarray  # per node: the root of its component


def _search(ends_a: np.ndarray, ends_b: np.ndarray, n_nodes: int) -> _Search:
    """Iterative Tarjan bridge search; edges are told apart by id, so parallel edges count."""
    n_edges = len(ends_a)
    ends = np.concatenate([ends_a, ends_b])
    order = np.argsort(ends, kind="stable")
    start = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=n_nodes))]).tolist()
    neighbour = np.concatenate([ends_b, ends_a])[order].tolist()
    edge_of = np.concatenate([np.arange(n_edges), np.arange(n_edges)])[order].tolist()
    pre, low, size, root = [-1] * n_nodes, [0] * n_nodes, [1] * n_nodes, [-1] * n_nodes
    cursor, up_edge = start[:-1], [-1] * n_nodes
    is_bridge, child = [False] * n_edges, [-1] * n_edges
    counter = 0
    for top in range(n_nodes):
        if pre[top] != -1:
            continue
        pre[top] = low[top] = counter
        counter += 1
        root[top] = top
        stack = [top]
        while stack:
            v = stack[-1]
            i = cursor[v]
            if i < start[v + 1]:
                cursor[v] = i + 1
                e = edge_of[i]
                if e == up_edge[v]:
                    continue
                w = neighbour[i]
                if pre[w] == -1:
                    pre[w] = low[w] = counter
                    counter += 1
                    root[w], up_edge[w], child[e] = top, e, w
                    stack.append(w)
                elif pre[w] < low[v]:
                    low[v] = pre[w]
                continue
            stack.pop()
            if stack:
                u = stack[-1]
                low[u] = min(low[u], low[v])
                size[u] += size[v]
                if low[v] > pre[u]:
                    is_bridge[up_edge[v]] = True
    return _Search(is_bridge, child, np.array(pre), np.array(size), np.array(root))


def bridge_cuts(row_codes: np.ndarray, col_codes: np.ndarray, hidden_positions: np.ndarray,
                shape: tuple[int, int]) -> Iterator[Cut]:
    """The hidden cells determined exactly by the margins, lazily, in ``hidden_positions`` order.

    Parameters
    ----------
    row_codes, col_codes : ndarray of int
        Per row of the frame, the code of its row and column value.
    hidden_positions : ndarray of int
        The hidden cells of one table (the graph's edges).
    shape : (int, int)
        Number of row codes and column codes.

    Yields
    ------
    Cut
        One per bridge; the search is run once, each cut's sides only when asked for.
    """
    n_rows, n_cols = shape
    edges = np.asarray(hidden_positions, dtype=np.int64)
    ids = np.concatenate([row_codes[edges], n_rows + col_codes[edges]])
    nodes, local = np.unique(ids, return_inverse=True)
    found = _search(local[: len(edges)], local[len(edges):], len(nodes))
    for e in np.flatnonzero(found.is_bridge):
        w = found.child[e]
        below = (found.pre >= found.pre[w]) & (found.pre < found.pre[w] + found.size[w])
        if w != local[e]:  # the row node is above the bridge: its side is the rest
            below = (found.root == found.root[w]) & ~below
        rows, cols = np.zeros(n_rows, dtype=bool), np.zeros(n_cols, dtype=bool)
        side = nodes[below]
        rows[side[side < n_rows]] = True
        cols[side[side >= n_rows] - n_rows] = True
        yield Cut(int(edges[e]), rows, cols)


def bridges(row_nodes: np.ndarray, col_nodes: np.ndarray,
            hidden_positions: np.ndarray) -> list[tuple[int, set[Any]]]:
    """Every bridge as ``(position, nodes on the row side)``, nodes as ``("r", v)``/``("c", v)``.

    The value-level form of :func:`bridge_cuts` for any object arrays of row and column
    values (one table's cells).

    Examples
    --------
    >>> rows = np.array(["a", "a", "b"], dtype=object)
    >>> cols = np.array(["x", "y", "x"], dtype=object)
    >>> [p for p, _ in bridges(rows, cols, np.array([0, 1, 2]))]
    [0, 1, 2]
    """
    row_codes, row_values = pd.factorize(np.asarray(row_nodes, dtype=object), use_na_sentinel=False)
    col_codes, col_values = pd.factorize(np.asarray(col_nodes, dtype=object), use_na_sentinel=False)
    found = []
    for cut in bridge_cuts(row_codes, col_codes, hidden_positions,
                           (len(row_values), len(col_values))):
        side = {("r", row_values[i]) for i in np.flatnonzero(cut.rows)}
        side |= {("c", col_values[i]) for i in np.flatnonzero(cut.cols)}
        found.append((cut.position, side))
    return found


def close_cycle(positions: np.ndarray, cut: Cut, row_codes: np.ndarray, col_codes: np.ndarray,
                counts: np.ndarray, hidden: np.ndarray) -> bool:
    """Hide (in place) the smallest visible cell of the table whose edge crosses the cut.

    Ties go to the first cell. When no visible cell with people in it crosses the cut,
    every visible cell with people in the table is hidden. Returns True when a cell was
    newly hidden.
    """
    open_ = positions[(counts[positions] > 0) & ~hidden[positions]]
    crosses = cut.rows[row_codes[open_]] != cut.cols[col_codes[open_]]
    candidates = open_[crosses]
    if not candidates.size:
        # nothing can hide it: hide every cell with people in this table
        hidden[open_] = True
        return bool(open_.size)
    hidden[candidates[np.argmin(counts[candidates])]] = True  # positions ascend: first on ties
    return True
