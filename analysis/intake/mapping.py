"""Header mapping: which column of an uploaded file is which column of the contract.

Automatic (a saved mapping for the exact header, else the header's normalised form),
remembered per file kind in the ``column_mappings`` table, or chosen by the user.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analysis.access.scope import Scope, require
from analysis.definitions.contract import columns_for, normalize_header
from analysis.definitions.instruments import ITEM_COLUMNS, SCORED_COLUMNS
from analysis.intake.problems import Problem
from analysis.intake.values import Kind, UploadFile, now
from analysis.storage.store import Store


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


def saved_mappings(store: Store, kind: Kind) -> dict[str, str]:
    """The mappings saved for ``kind`` (source header → canonical; ``""`` = not stored)."""
    with store.cursor() as cur:
        return dict(cur.execute(
            "SELECT source_header, canonical FROM column_mappings WHERE kind = ?", [kind]
        ).fetchall())


def save_mapping(store: Store, kind: Kind, mapping: Mapping[str, str | None],
                 scope: Scope | None = None) -> None:
    """Remember a mapping for the next upload (headers mapped to None are saved as ``""``)."""
    if scope is not None:
        require(scope, "upload")
    allowed = set(canonical_columns(kind))
    bad = sorted(v for v in mapping.values() if v and v not in allowed)
    if bad:
        raise ValueError("not columns of the data contract: " + ", ".join(bad))
    saved_at = now()
    with store.transaction() as cur:
        for header, target in mapping.items():
            cur.execute("INSERT OR REPLACE INTO column_mappings VALUES (?, ?, ?, ?)",
                        [kind, header, target or "", saved_at])


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
