"""Workbooks with several sheets: their sheet names, and one chosen sheet as the upload.

The reader takes a workbook's first sheet; when the data is on another one, the Upload
page asks which, and this module hands the reader a workbook holding only that sheet's
cells (as a UTF-8 CSV, which the reader takes as it takes any CSV).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary Excel format (OLE2)

#: What to tell someone who chose an old binary Excel file.
XLS_MESSAGE = ("This is an old Excel .xls file, which the app cannot read. In Excel choose "
               "File → Save As → Excel Workbook (.xlsx), or CSV UTF-8, and choose that file.")


def is_old_excel(data: bytes, file_name: str) -> bool:
    """True for a binary .xls workbook (by content, or by name when the content is unclear)."""
    return data.startswith(XLS_MAGIC) or (file_name.lower().endswith(".xls")
                                          and not data.startswith(XLSX_MAGIC))


def sheet_names(data: bytes) -> list[str]:
    """The sheet names of an .xlsx workbook, in order; empty for anything else."""
    if not data.startswith(XLSX_MAGIC):
        return []
    from openpyxl import load_workbook  # noqa: PLC0415 - only workbooks need it

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True)
    except Exception:  # not a workbook after all: the reader then says why
        return []
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def sheet_as_csv(data: bytes, sheet: str) -> bytes:
    """One sheet of an .xlsx workbook as UTF-8 CSV (dates as ISO dates, whole numbers
    without a decimal point, blank rows above the header dropped)."""
    from openpyxl import load_workbook  # noqa: PLC0415 - only workbooks need it

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        started = False
        for row in workbook[sheet].iter_rows(values_only=True):
            cells = [_text(v) for v in row]
            started = started or any(cells)
            if started:
                writer.writerow(cells)
        return out.getvalue().encode("utf-8")
    finally:
        workbook.close()
