"""Releases over time: what each export let out, and whether a new one may follow it.

Two exports of the same cell, taken before and after a change (new uploads, another
participation threshold), give the people who entered or left the cell by subtraction.
Each export records the exact counts of the cells it shipped (in the ``releases`` table,
migration 2 of :mod:`analysis.storage.schema`; never shown); a new export whose count in
a cell differs from an earlier release's count in the same cell by 1 to ``k - 1`` is
refused (:func:`check_release`), and the refusal states no count but ``k``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import pandas as pd

from analysis.privacy.guard import FilterRefused
from analysis.storage.store import Store

__all__ = ["COUNT_COLUMNS", "ReleaseRefused", "check_release", "record_release", "release_cells"]

#: Columns holding people counts in any released table.
COUNT_COLUMNS: tuple[str, ...] = ("n", "n_participants", "n_comparison", "n_respondents", "people",
                                  "n_responses", "n_scored")
_LABELS: tuple[str, ...] = ("analysis", "outcome", "scale", "wave", "site", "group", "breakdown",
                            "role", "session_type", "dose_band", "month", "covariate")


class ReleaseRefused(FilterRefused):
    """A release that, with an earlier one, would isolate fewer than k people."""


def release_cells(frames: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    """Exact counts of the shown cells of each table: ``"table|label=value|...|column" -> n``."""
    cells: dict[str, int] = {}
    for name, frame in frames.items():
        if frame is None or frame.empty:
            continue
        shown = ~frame["suppressed"].fillna(False).astype(bool) if "suppressed" in frame.columns \
            else pd.Series(True, index=frame.index)
        labels = [c for c in _LABELS if c in frame.columns]
        for col in (c for c in COUNT_COLUMNS if c in frame.columns):
            values = pd.to_numeric(frame[col], errors="coerce")
            keep = shown & values.notna()
            for row, value in zip(frame.loc[keep, labels].astype(str).itertuples(index=False),
                                  values[keep]):
                key = "|".join([name, *(f"{c}={v}" for c, v in zip(labels, row)), col])
                cells[key] = int(round(float(value)))
    return cells


def _earlier(store: Store, kind: str) -> list[dict[str, int]]:
    with store.cursor() as cur:
        rows = cur.execute("SELECT cells FROM releases WHERE kind = ? ORDER BY release_id",
                           [kind]).fetchall()
    return [json.loads(r[0]) for r in rows]


def check_release(store: Store, kind: str, cells: Mapping[str, int], k: int) -> None:
    """Refuse ``cells`` when, with any earlier release of ``kind``, a cell differs by 1 to k - 1.

    Raises
    ------
    ReleaseRefused
        Naming the tables concerned and ``k`` only.
    """
    clashes: set[str] = set()
    for earlier in _earlier(store, kind):
        for key, n in cells.items():
            old = earlier.get(key)
            if old is not None and 0 < abs(int(n) - int(old)) < k:
                clashes.add(key.split("|", 1)[0])
    if clashes:
        raise ReleaseRefused(
            "This export cannot be released: together with an earlier export it would show a "
            f"group of fewer than {k} people by subtraction (in {', '.join(sorted(clashes))}). "
            f"Wait until at least {k} more people have answered, or keep the earlier settings.")


def record_release(store: Store, kind: str, username: str, k: int, cells: Mapping[str, int]) -> None:
    """Record a release (one row; the counts are kept for later checks, never shown)."""
    with store.transaction() as cur:
        cur.execute("INSERT INTO releases VALUES (nextval('release_seq'), ?, ?, ?, ?, ?)",
                    [datetime.now(UTC).replace(tzinfo=None), kind, username, int(k),
                     json.dumps(dict(cells), sort_keys=True)])


def released_kinds(store: Store) -> Sequence[str]:
    """Kinds of release recorded so far (for status pages and tests)."""
    with store.cursor() as cur:
        return [r[0] for r in cur.execute("SELECT DISTINCT kind FROM releases ORDER BY 1").fetchall()]
