"""What to give someone preparing an upload: a template workbook (one sheet per file kind,
the contract's columns as headers, two example rows) and a data dictionary (every column
the app reads: file, required, meaning, allowed values), both built from the declarations
in :mod:`analysis.definitions`, so they cannot drift from what the validator checks."""

from __future__ import annotations

import io

import pandas as pd

from analysis.definitions.contract import ATTENDANCE_COLUMNS, SURVEY_COLUMNS, Column
from analysis.definitions.instruments import INSTRUMENTS

DICTIONARY_COLUMNS = ("file", "column", "required", "kind", "meaning", "allowed values")

_KIND_VALUES = {
    "id": "a pseudonymous code (never a name or e-mail address unless pseudonymization is on)",
    "label": "short text",
    "date": "a date written YYYY-MM-DD (day/month/year and month/day/year are converted "
            "on the Upload page)",
    "category": "short text; groups smaller than the anonymity threshold are never shown",
    "number": "a number",
}

#: Two example rows per file kind (fictional; the same person in both files).
_EXAMPLES = {
    "survey": [{"respondent_id": "R001", "wave": "2025-Q1", "survey_date": "2025-03-14",
                "site": "Example Practice", "role": "counselor", "cbi_work": 45.2},
               {"respondent_id": "R001", "wave": "2025-Q2", "survey_date": "2025-06-13",
                "site": "Example Practice", "role": "counselor", "cbi_work": 41.0}],
    "attendance": [{"respondent_id": "R001", "session_date": "2025-04-02",
                    "session_type": "group", "duration_minutes": 60},
                   {"respondent_id": "R001", "session_date": "2025-05-07",
                    "session_type": "online", "duration_minutes": 45}],
}


def _column_row(file: str, column: Column) -> dict:
    allowed = _KIND_VALUES[column.kind]
    if column.min_value is not None:
        allowed += f" {'above' if column.min_exclusive else 'at least'} {column.min_value:g}"
    return {"file": file, "column": column.name, "required": "yes" if column.required else "no",
            "kind": column.kind, "meaning": column.description, "allowed values": allowed}


def data_dictionary() -> pd.DataFrame:
    """Every column an upload may hold: the contract's, each instrument's items and each
    scale's scored column."""
    rows = [_column_row("survey", c) for c in SURVEY_COLUMNS]
    for instrument in INSTRUMENTS:
        labels = ", ".join(label for label, _ in instrument.labels[:6])
        codes = f"codes {instrument.code_min}–{instrument.code_max}"
        rows.append({"file": "survey", "column": f"{instrument.key}_1 … {instrument.key}_{instrument.n_items}"
                     if instrument.n_items else f"{instrument.key} items",
                     "required": "one outcome at least", "kind": "item",
                     "meaning": f"{instrument.name}: the answer to each item",
                     "allowed values": f"{codes}" + (f", or labels such as {labels}" if labels else "")
                     + "; blank = not answered"})
        for scale in instrument.scales:
            rows.append({"file": "survey", "column": scale.key, "required": "one outcome at least",
                         "kind": "scored", "meaning": f"{scale.label}, already scored",
                         "allowed values": f"a number from {scale.low:g} to {scale.high:g}"})
    rows.extend(_column_row("attendance", c) for c in ATTENDANCE_COLUMNS)
    return pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS))


def template_workbook() -> bytes:
    """An .xlsx workbook: sheets ``survey`` and ``attendance`` with the contract's columns
    and two example rows each, and a ``dictionary`` sheet (:func:`data_dictionary`)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for kind, columns in (("survey", SURVEY_COLUMNS), ("attendance", ATTENDANCE_COLUMNS)):
            headers = [c.name for c in columns]
            examples = pd.DataFrame(_EXAMPLES[kind])
            headers += [h for h in examples.columns if h not in headers]
            examples.reindex(columns=headers).to_excel(writer, sheet_name=kind, index=False)
        data_dictionary().to_excel(writer, sheet_name="dictionary", index=False)
    return buffer.getvalue()
