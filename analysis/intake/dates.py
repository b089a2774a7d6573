"""Dates written day-first or month-first (31/03/2025, 03/31/2025): which order a column
uses, and the column rewritten as ISO dates (2025-03-31), the form the contract asks for.

The order is decided from the whole column: a first number above 12 means day-first, a
second number above 12 month-first; when neither occurs (every date could be read both
ways) the order is ambiguous and the person uploading must choose.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from analysis.intake import readers

DAY_FIRST = "day-first"
MONTH_FIRST = "month-first"
ISO = "iso"
AMBIGUOUS = "ambiguous"
MIXED = "mixed"  # both a day above 12 first and one second: not one order

_SLASHED = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:[ T].*)?\s*$")
_ISO = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class DateOrder:
    """What a date column holds.

    Attributes
    ----------
    order : str
        :data:`ISO` (nothing to do), :data:`DAY_FIRST`, :data:`MONTH_FIRST`,
        :data:`AMBIGUOUS` (slashed dates that read both ways: ask) or :data:`MIXED`.
    slashed : int
        How many values are written as day/month/year or month/day/year.
    example : str
        One such value, to show when asking.
    """

    order: str
    slashed: int = 0
    example: str = ""

    @property
    def needs_choice(self) -> bool:
        """True when the person uploading must say which order the column uses."""
        return self.order == AMBIGUOUS


def detect_order(values: Iterable[str]) -> DateOrder:
    """The date order of a column's values (blanks and ISO dates ignored).

    >>> detect_order(["31/03/2025", "01/04/2025"]).order
    'day-first'
    >>> detect_order(["03/31/2025"]).order
    'month-first'
    >>> detect_order(["01/02/2025"]).order
    'ambiguous'
    >>> detect_order(["2025-03-31", ""]).order
    'iso'
    """
    slashed, example, day_first, month_first = 0, "", False, False
    for value in values:
        match = _SLASHED.match(str(value or ""))
        if not match:
            continue
        first, second = int(match.group(1)), int(match.group(2))
        slashed += 1
        example = example or str(value).strip()
        day_first |= first > 12
        month_first |= second > 12
    if not slashed:
        return DateOrder(ISO)
    if day_first and month_first:
        return DateOrder(MIXED, slashed, example)
    if day_first:
        return DateOrder(DAY_FIRST, slashed, example)
    if month_first:
        return DateOrder(MONTH_FIRST, slashed, example)
    return DateOrder(AMBIGUOUS, slashed, example)


def to_iso(value: str, order: str) -> str:
    """``value`` as YYYY-MM-DD when it is a slashed date valid in ``order``; otherwise
    unchanged (the validator then reports it, naming row and column).

    >>> to_iso("31/03/2025", DAY_FIRST), to_iso("03/31/25", MONTH_FIRST), to_iso("x", DAY_FIRST)
    ('2025-03-31', '2025-03-31', 'x')
    """
    match = _SLASHED.match(str(value or ""))
    if not match or order not in (DAY_FIRST, MONTH_FIRST):
        return value
    first, second, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
    day, month = (first, second) if order == DAY_FIRST else (second, first)
    year += 2000 if year < 100 else 0
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return value


def column_orders(data: bytes, file_name: str, headers: Sequence[str]) -> dict[str, DateOrder]:
    """The date order of each of ``headers`` (the file's own header names) in the file."""
    rows, names = _rows(data, file_name)
    found = {}
    for header in headers:
        if header in names:
            index = names.index(header)
            found[header] = detect_order(row[index] for row in rows if index < len(row))
    return found


def rewrite_dates(data: bytes, file_name: str, orders: Mapping[str, str]) -> bytes:
    """The file as a UTF-8 CSV with the columns in ``orders`` (header → order) written as
    ISO dates; every other cell exactly as read."""
    rows, names = _rows(data, file_name)
    indexes = {names.index(h): o for h, o in orders.items() if h in names}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([to_iso(cell, indexes[i]) if i in indexes else cell
                         for i, cell in enumerate(row)])
    return out.getvalue().encode("utf-8")


def _rows(data: bytes, file_name: str) -> tuple[list[list[str]], list[str]]:
    """The file's data rows and header as text, decoded as an upload is."""
    with tempfile.TemporaryDirectory() as workdir:
        decoded = readers.decode(data, file_name, workdir)
        if decoded.path is None:
            return [], []
        with decoded.path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter=decoded.delimiter)
            header = next(reader, [])
            return list(reader), list(decoded.headers or header)
