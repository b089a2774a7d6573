"""The two-way suppression as it was before issue 17: one BFS per hidden cell.

Kept as a brute-force reference for the linear-time version in
:mod:`analysis.privacy.cell_graph` and :mod:`analysis.privacy.suppression`; slow
(quadratic in the hidden cells of a table) but plainly correct.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def reference_bridges(row_nodes: np.ndarray, col_nodes: np.ndarray,
                      hidden_positions: np.ndarray) -> list[tuple[int, set[Any]]]:
    """A hidden cell is exposed iff its row and column are apart once it is removed."""
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


def _complete_line(counts: np.ndarray, hidden: np.ndarray, is_total: np.ndarray, k: int) -> bool:
    changed = False
    members = ~is_total
    positive = counts > 0
    while True:
        hidden_members = hidden & members
        n_hidden = int(hidden_members.sum())
        hidden_sum = float(counts[hidden_members].sum())
        total_hidden = bool((hidden & is_total).any())
        if not (n_hidden == 1 or (n_hidden >= 1 and hidden_sum < k) or (total_hidden and n_hidden == 0)):
            return changed
        candidates = np.flatnonzero(members & positive & ~hidden)
        if candidates.size:
            hidden[candidates[np.argmin(counts[candidates])]] = True
            changed = True
            continue
        totals_visible = np.flatnonzero(is_total & positive & ~hidden)
        if totals_visible.size:
            hidden[totals_visible] = True
            changed = True
        return changed


def _complete(counts: np.ndarray, hidden: np.ndarray, is_total: np.ndarray,
              groups: dict[Any, np.ndarray], k: int) -> bool:
    changed = False
    for positions in groups.values():
        sub = hidden[positions]
        if _complete_line(counts[positions], sub, is_total[positions], k):
            hidden[positions] = sub
            changed = True
    return changed


def _close_cycle(positions: np.ndarray, bridge: int, row_side: set[Any], row_nodes: np.ndarray,
                 col_nodes: np.ndarray, counts: np.ndarray, hidden: np.ndarray) -> bool:
    positive = counts > 0
    candidates = [p for p in positions if positive[p] and not hidden[p]
                  and ((("r", row_nodes[p]) in row_side) != (("c", col_nodes[p]) in row_side))]
    if not candidates:
        newly = [p for p in positions if positive[p] and not hidden[p]]
        hidden[newly] = True
        return bool(newly)
    hidden[min(candidates, key=lambda p: (counts[p], p))] = True
    return True


def reference_hidden(frame: pd.DataFrame, count_col: str, row_dim: str, col_dim: str, k: int,
                     keys: Sequence[str] = (), total: Any = "all", audit: bool = True) -> np.ndarray:
    """The ``suppressed`` column the old ``suppress_two_way`` gave (``audit=False``: line rule only)."""
    counts = np.nan_to_num(pd.to_numeric(frame[count_col], errors="coerce").to_numpy(dtype="float64"))
    hidden = (counts > 0) & (counts < k)
    keys = list(keys)

    def groups(by: list[str]) -> dict[Any, np.ndarray]:
        if not by:
            return {None: np.arange(len(frame))}
        return frame.groupby(by, sort=False, dropna=False).indices

    row_is_total = (frame[row_dim] == total).to_numpy(dtype=bool)
    col_is_total = (frame[col_dim] == total).to_numpy(dtype=bool)
    along_rows, along_cols, tables = groups(keys + [col_dim]), groups(keys + [row_dim]), groups(keys)
    row_nodes = frame[row_dim].to_numpy(dtype=object)
    col_nodes = frame[col_dim].to_numpy(dtype=object)
    while True:
        changed = _complete(counts, hidden, row_is_total, along_rows, k)
        changed |= _complete(counts, hidden, col_is_total, along_cols, k)
        for positions in tables.values() if audit else ():
            found = reference_bridges(row_nodes, col_nodes, positions[hidden[positions]])
            if found:
                bridge, side = found[0]
                changed |= _close_cycle(positions, bridge, side, row_nodes, col_nodes, counts, hidden)
        if not changed:
            return hidden
