"""Saved column mappings, each belonging to the practices of whoever saved it.

A mapping saved by a practice manager is used for that manager's practices only; one
saved by an administrator (or the command line / local session, which see every
practice) is used for uploads that may touch every practice. So a mapping saved for
one practice's export can never rename the columns of another practice's next upload.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Mapping

import duckdb

from analysis.access.scope import LOCAL, Scope, require
from analysis.storage.store import Store

#: The owner of mappings saved by a scope that sees every practice.
ALL_PRACTICES = "*"


def owner_of(scope: Scope | None) -> str:
    """The owner key of mappings saved or used by ``scope`` (None: the command line).

    Examples
    --------
    >>> owner_of(Scope("practice_manager", frozenset({"North", "Bay"}), "pm"))
    'Bay|North'
    >>> owner_of(Scope("admin"))
    '*'
    """
    scope = scope or LOCAL
    return ALL_PRACTICES if scope.practices is None else "|".join(sorted(scope.practices))


def saved(cur: duckdb.DuckDBPyConnection, kind: str, scope: Scope | None
          ) -> dict[str, str]:
    """Mappings of ``scope``'s practices for ``kind``: source header → canonical
    (``""`` = not stored)."""
    return dict(cur.execute(
        "SELECT source_header, canonical FROM column_mappings WHERE owner = ? AND kind = ?",
        [owner_of(scope), kind]).fetchall())


def save(store: Store, kind: str, mapping: Mapping[str, str | None], scope: Scope | None,
         allowed: Iterable[str]) -> None:
    """Remember a mapping for ``scope``'s practices (None mapped headers saved as ``""``).

    Raises
    ------
    PermissionDenied
        The scope may not upload.
    ValueError
        A target is not a column of the contract.
    """
    if scope is not None:
        require(scope, "upload")
    allowed = set(allowed)
    bad = sorted(v for v in mapping.values() if v and v not in allowed)
    if bad:
        raise ValueError("not columns of the data contract: " + ", ".join(bad))
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    owner = owner_of(scope)
    with store.transaction() as cur:
        for header, target in mapping.items():
            cur.execute("INSERT OR REPLACE INTO column_mappings VALUES (?, ?, ?, ?, ?)",
                        [owner, kind, header, target or "", now])
