"""Header mapping: which column of an uploaded file is which column of the contract.

Automatic (a saved mapping for the exact header, else the header's normalised form),
remembered per file kind in the ``column_mappings`` table, or chosen by the user.

A saved mapping belongs to the practices of whoever saved it: one saved by a practice
manager is used for that manager's practices only; one saved by an administrator (or
the command line / local session, which see every practice) is used for uploads that
may touch every practice. So a mapping saved for one practice's export can never rename
the columns of another practice's next upload.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb

from analysis.access.scope import LOCAL, Scope, require
from analysis.definitions.contract import columns_for, normalize_header
from analysis.definitions.instruments import ITEM_COLUMNS, SCORED_COLUMNS
from analysis.intake.problems import Problem
from analysis.intake.values import Kind, UploadFile, now
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


def canonical_columns(kind: Kind) -> tuple[str, ...]:
    """Every canonical column a file of ``kind`` may have."""
    base = tuple(c.name for c in columns_for(kind))
    return base + ITEM_COLUMNS + SCORED_COLUMNS if kind == "survey" else base


def suggest_mapping(headers: Sequence[str], kind: Kind,
                    saved: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Source header → canonical name (None: not stored).

    A saved mapping for the exact header wins; else the header's normalised form
    (:func:`~analysis.definitions.contract.normalize_header`) when it is a canonical name. A canonical
    name is suggested for the first header only.
    """
    allowed = set(canonical_columns(kind))
    saved = saved or {}
    taken: set[str] = set()
    mapping: dict[str, str | None] = {}
    for header in headers:
        target = saved.get(header)
        if target is None or (target and target not in allowed):
            norm = normalize_header(header)
            target = norm if norm in allowed else None
        if target and target in taken:
            target = None
        if target:
            taken.add(target)
        mapping[header] = target or None
    return mapping


def saved_for(cur: duckdb.DuckDBPyConnection, kind: str, scope: Scope | None
              ) -> dict[str, str]:
    """Mappings of ``scope``'s practices for ``kind``: source header → canonical
    (``""`` = not stored)."""
    return dict(cur.execute(
        "SELECT source_header, canonical FROM column_mappings WHERE owner = ? AND kind = ?",
        [owner_of(scope), kind]).fetchall())


def saved_mappings(store: Store, kind: Kind, scope: Scope | None = None) -> dict[str, str]:
    """The mappings saved for ``kind`` by ``scope``'s practices (None: the command line;
    source header → canonical; ``""`` = not stored)."""
    with store.cursor() as cur:
        return saved_for(cur, kind, scope)


def save_mapping(store: Store, kind: Kind, mapping: Mapping[str, str | None],
                 scope: Scope | None = None) -> None:
    """Remember a mapping for the next upload of ``scope``'s practices (headers mapped to
    None are saved as ``""``).

    Raises
    ------
    PermissionDenied
        The scope may not upload.
    ValueError
        A target is not a column of the contract.
    """
    if scope is not None:
        require(scope, "upload")
    allowed = set(canonical_columns(kind))
    bad = sorted(v for v in mapping.values() if v and v not in allowed)
    if bad:
        raise ValueError("not columns of the data contract: " + ", ".join(bad))
    saved_at = now()
    owner = owner_of(scope)
    with store.transaction() as cur:
        for header, target in mapping.items():
            cur.execute("INSERT OR REPLACE INTO column_mappings VALUES (?, ?, ?, ?, ?)",
                        [owner, kind, header, target or "", saved_at])


def resolve_mapping(upload: UploadFile, headers: Sequence[str],
                     saved: Mapping[str, str]) -> tuple[dict[str, int], tuple[str, ...],
                                                        list[Problem]]:
    """Canonical name → column index, unmapped headers, mapping problems."""
    if upload.mapping is None:
        mapping = suggest_mapping(headers, upload.kind, saved)
    else:
        mapping = {h: upload.mapping.get(h) for h in headers}
    allowed = set(canonical_columns(upload.kind))
    chosen: dict[str, int] = {}
    unmapped: list[str] = []
    problems: list[Problem] = []
    for index, header in enumerate(headers):
        target = mapping.get(header)
        if not target:
            unmapped.append(header)
            continue
        if target not in allowed:
            problems.append(Problem(upload.file_name, None, header, target,
                                    "a column of the data contract", "error",
                                    f"this column is mapped to '{target}', which is not a "
                                    "column of the data contract"))
        elif target in chosen:
            first = headers[chosen[target]]
            problems.append(Problem(upload.file_name, None, header, None,
                                    f"one column for {target}", "error",
                                    f"both '{first}' and '{header}' would be stored as "
                                    f"{target}; keep one, or map the other elsewhere"))
        else:
            chosen[target] = index
    return chosen, tuple(unmapped), problems
