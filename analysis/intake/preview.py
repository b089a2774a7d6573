"""What the upload page shows before validating: headers, mapping, first rows, scales."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from analysis.access.scope import Scope
from analysis.definitions.contract import columns_for
from analysis.definitions.instruments import SCALES
from analysis.intake.mapping import saved_mappings, suggest_mapping
from analysis.intake.readers import ENCODING_LABELS, decode
from analysis.intake.scratch import PREVIEW_PREFIX, upload_workdir
from analysis.intake.staging import first_rows
from analysis.intake.values import Preview, ScaleCoverage, UploadFile
from analysis.storage.store import Store, scratch_cursor


def scale_coverage(present: Iterable[str]) -> tuple[ScaleCoverage, ...]:
    present = set(present)
    out = []
    for scale in SCALES:
        items = scale.item_columns
        have = [c for c in items if c in present]
        if have:
            source = "items"
        elif scale.key in present:
            source = "score"
        else:
            source = "none"
        missing = tuple(c for c in items if c not in present) if have else ()
        out.append(ScaleCoverage(scale.key, scale.label, scale.instrument, source, missing))
    return tuple(out)


def preview(upload: UploadFile, rows: int = 10, *, store: Store | None = None,
            scope: Scope | None = None) -> Preview:
    """Headers, suggested mapping, first rows, encoding and which scales will be scored.

    Parameters
    ----------
    upload : UploadFile
        Its ``mapping`` (when given) is used instead of the suggestion.
    rows : int
        How many data rows to show.
    store : Store, optional
        Source of saved mappings.
    scope : Scope, optional
        Whose saved mappings (those of the scope's practices; None: the command line's).
    """
    saved = saved_mappings(store, upload.kind, scope) if store is not None else {}
    with upload_workdir(len(upload.data), PREVIEW_PREFIX) as workdir, \
            (store.cursor() if store is not None else scratch_cursor()) as cur:
        decoded = decode(upload.data, upload.file_name, workdir)
        # The first rows are only shown; validation reports what is wrong with them.
        first = first_rows(cur, decoded, rows)
    headers = decoded.headers
    mapping = suggest_mapping(headers, upload.kind, saved) if upload.mapping is None else \
        {h: upload.mapping.get(h) or None for h in headers}
    frame = pd.DataFrame(first, columns=unique_names(headers), dtype="string")
    present = {v for v in mapping.values() if v}
    missing = tuple(c.name for c in columns_for(upload.kind) if c.required
                    and c.name not in present)
    unmapped = tuple(h for h in headers if not mapping.get(h))
    return Preview(
        upload.file_name, upload.kind, headers, mapping, frame, decoded.encoding,
        ENCODING_LABELS.get(decoded.encoding, decoded.encoding), decoded.delimiter,
        scale_coverage(present) if upload.kind == "survey" else (), missing, unmapped,
        decoded.problems,
    )


def unique_names(headers: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for h in headers:
        name = h or "(no name)"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        names.append(name)
    return names
