"""What an importer hands on: an export turned into a table in the data contract.

An importer reads an export (:func:`read_rows`), recognises its parts, and returns a
:class:`Conversion`: canonical columns (``respondent_id``, ``wave``, ``survey_date``,
item columns …, or the attendance columns), plus the source's unrecognised questions
under their own headers so that they can be mapped on the Upload page (a saved mapping
remembers them for the next export of the same layout). :attr:`Conversion.data` is that
table as a UTF-8 CSV, which then goes through the ordinary validated, all-or-nothing
ingest, exactly like a file written in the contract.

Nothing identifying is passed on: e-mail addresses become ``respondent_id`` (trimmed and
lower-cased; the ingest's keyed hash replaces them before storage), while names, IP
addresses, locations and free text are dropped here and listed in ``dropped``.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from analysis.intake.problems import Problem
from analysis.intake.readers import decode

Kind = Literal["survey", "attendance"]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Conversion:
    """An export recognised and turned into a contract table.

    Attributes
    ----------
    kind : {"survey", "attendance"}
    source : str
        What the export is, in words ("a Qualtrics export (choice text)").
    file_name : str
        The export's name (several names joined for a folder of reports).
    header : tuple of str
        Columns of the table: canonical names, then unrecognised questions.
    rows : tuple of tuple of str
    waves : tuple of str
        Wave labels in the table, in the order met.
    recognised : tuple of (str, str)
        (canonical column, the export's column it came from).
    dropped : tuple of (str, str)
        (the export's column, why it is not passed on: a name, an IP address …).
    left_out : tuple of (str, int)
        (why, how many rows) for rows not passed on (survey previews, no e-mail …).
    unrecognised : tuple of str
        The export's questions passed on under their own header, for mapping.
    problems : tuple of Problem
        Problems found while converting (errors refuse the upload).
    source_rows : tuple of int
        The export's spreadsheet row of each row (empty when not known).
    """

    kind: Kind
    source: str
    file_name: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    waves: tuple[str, ...] = ()
    recognised: tuple[tuple[str, str], ...] = ()
    dropped: tuple[tuple[str, str], ...] = ()
    left_out: tuple[tuple[str, int], ...] = ()
    unrecognised: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    source_rows: tuple[int, ...] = ()

    def locate(self, found: Problem) -> Problem:
        """A problem validation found in the converted table, pointed back at the export:
        its row in the export, its column by the export's header.

        Examples
        --------
        >>> c = Conversion("survey", "an export", "q.csv", ("respondent_id", "cbi_3"),
        ...                (("a@b.org", "9"),), recognised=(("cbi_3", "Q2_3"),),
        ...                source_rows=(5,))
        >>> c.locate(Problem("q.csv", 2, "cbi_3", "9", "a code", "error", "bad")).text()
        'q.csv, row 5, column Q2_3 (stored as cbi_3): bad'
        """
        if found.file != self.file_name:
            return found
        row = found.row
        if row is not None and self.source_rows and 2 <= row < 2 + len(self.source_rows):
            row = self.source_rows[row - 2]
        column = found.column
        header = dict(self.recognised).get(column or "")
        if header and header != column:
            column = f"{header} (stored as {column})"
        return Problem(found.file, row, column, found.value, found.expected, found.severity,
                       found.message)

    @property
    def data(self) -> bytes:
        """The table as a UTF-8 CSV (what the ingest reads)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return buffer.getvalue().encode("utf-8")

    @property
    def needs_wave(self) -> bool:
        """A survey export of one wave whose wave label has not been given yet."""
        return self.kind == "survey" and not self.waves

    @property
    def mapping(self) -> dict[str, str | None]:
        """Header → canonical name for the canonical columns (others: None, to map)."""
        return {h: (None if h in self.unrecognised else h) for h in self.header}

    def describe(self) -> str:
        """One sentence for the Upload page and the command line.

        Examples
        --------
        >>> Conversion("survey", "a Qualtrics export", "s.csv", ("respondent_id",),
        ...            (("a@b.org",),), waves=("baseline",)).describe()
        'This is a Qualtrics export, wave baseline: 1 row.'
        """
        waves = ""
        if self.waves:
            label = "wave" if len(self.waves) == 1 else "waves"
            waves = f", {label} " + ", ".join(self.waves)
        what = "session" if self.kind == "attendance" else "row"
        n = len(self.rows)
        text = f"This is {self.source}{waves}: {n:,} {what}{'s' if n != 1 else ''}"
        items = [c for c, _ in self.recognised if "_" in c and c.rpartition("_")[2].isdigit()]
        if items:
            text += f", {len(items)} instrument items recognised"
        left = "; ".join(f"{n:,} {why}" for why, n in self.left_out if n)
        if left:
            text += f" (left out: {left})"
        return text + "."

    def dropped_text(self) -> str:
        """The columns not passed on, with why, in one line (empty when none)."""
        return "; ".join(f"{h} ({why})" for h, why in self.dropped)


def problem(file_name: str, message: str, expected: str = "",
            severity: Literal["error", "warning"] = "error",
            row: int | None = None, column: str | None = None) -> Problem:
    """A conversion problem in the ingest's own form."""
    return Problem(file_name, row, column, None, expected, severity, message)


def normalize_email(value: str) -> str:
    """An e-mail address trimmed and lower-cased; empty when it is not an address.

    Examples
    --------
    >>> normalize_email("  Ana.Ruiz@Clinic.ORG "), normalize_email("anonymous")
    ('ana.ruiz@clinic.org', '')
    """
    text = str(value or "").strip().lower()
    if text.startswith("mailto:"):
        text = text[7:]
    return text if EMAIL.match(text) else ""


def sniff(lines: Sequence[str]) -> str:
    """The delimiter of a file whose first lines may be titles or sections (Teams)."""
    best, count = ",", 0
    for delimiter in ("\t", ",", ";"):
        n = max((line.count(delimiter) for line in lines), default=0)
        if n > count:
            best, count = delimiter, n
    return best


def read_rows(file_name: str, data: bytes) -> tuple[list[list[str]], list[Problem]]:
    """Every row of a CSV, TSV, UTF-16 text or .xlsx file, as lists of text.

    Encodings and workbooks are read by :func:`analysis.intake.readers.decode`, the
    ingest's own reader; then the rows are split with the delimiter the most-delimited
    of the first lines uses (title and section lines above a header have none).
    """
    with tempfile.TemporaryDirectory(prefix="ppi_import_") as workdir:
        decoded = decode(data, file_name, workdir)
        if not decoded.readable or decoded.path is None:
            return [], list(decoded.problems)
        text = decoded.path.read_text(encoding="utf-8")
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    delimiter = sniff(text.split("\n", 40)[:40])
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as error:
        return [], [problem(file_name, f"The file could not be read as a table ({error}).",
                            "a well-formed CSV or .xlsx file")]
    return [[cell.strip() for cell in row] for row in rows], []


def first_row(rows: Sequence[Sequence[str]], wanted: Sequence[str], limit: int = 15
              ) -> int | None:
    """Index of the first row (among the first ``limit``) holding every wanted header
    (compared case-insensitively), or None."""
    want = [w.lower() for w in wanted]
    for index, row in enumerate(rows[:limit]):
        cells = {c.strip().lower() for c in row}
        if all(w in cells for w in want):
            return index
    return None
