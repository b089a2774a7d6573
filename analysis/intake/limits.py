"""Bounds on what an upload may ask of the machine, each checked before the expensive step.

A 50 MB CSV can hold 25 million header fields, a 40 MB line, or describe millions of
cells; a 17 MB workbook can inflate to 400 MB of sheet XML. Each limit below is checked
on the raw bytes (or on the zip directory and a bounded, streamed inflate for a
workbook) *before* anything parses, stages or converts the file, so a refusal is quick,
uses little memory, writes nothing to the database and leaves no temporary file. The
defaults are far above any real survey export (a 20,000-person survey with 300 columns
is 6 million cells).

Tests pass small limits; :data:`DEFAULT` is used when none is given.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np

from analysis.intake.problems import Problem


@dataclass(frozen=True)
class InputLimits:
    """The bounds of one upload file.

    Parameters
    ----------
    max_columns : int
        Header fields (separators on the first line + 1; for a workbook, its width).
    max_line_bytes : int
        Longest line (the header included), in bytes.
    max_cells : int
        Lines × columns (workbook: rows × width).
    max_xlsx_uncompressed_bytes : int
        Everything in a workbook's zip, inflated.
    max_sheet_xml_bytes : int
        The first worksheet's XML, inflated.
    max_categories : int
        Distinct values of one label or category column (wave, site, role, ...).
    """

    max_columns: int = 2_000
    max_line_bytes: int = 1 << 20
    max_cells: int = 50_000_000
    max_xlsx_uncompressed_bytes: int = 300 * (1 << 20)
    max_sheet_xml_bytes: int = 200 * (1 << 20)
    max_categories: int = 1_000


DEFAULT = InputLimits()
_DELIMITERS = (b",", b";", b"\t")
_INFLATE_CHUNK = 1 << 20
#: Bytes searched for line ends at a time.
_LINE_BLOCK = 1 << 24


def _refusal(file_name: str, message: str, expected: str) -> Problem:
    return Problem(file_name, None, None, None, expected, "error",
                   message + " Nothing was stored.")


def _longest_line(data: bytes, stop_above: int) -> tuple[int, int]:
    """(length, 1-based number) of the first line longer than ``stop_above``, else of the
    longest line (the first of equals).

    Line ends are found by numpy over a view of ``data``, a block at a time (no copy of
    the data, a few MB of scratch): a Python loop over a million lines took a second.
    """
    view = np.frombuffer(data, dtype=np.uint8)
    longest, number, start, lines_before = -1, 1, 0, 0
    for offset in range(0, len(view) + 1, _LINE_BLOCK):
        ends = np.flatnonzero(view[offset:offset + _LINE_BLOCK] == 10) + offset
        if offset + _LINE_BLOCK >= len(view):
            ends = np.append(ends, len(view))  # the last line has no line end
        if not len(ends):
            continue
        lengths = np.diff(ends, prepend=start - 1) - 1
        over = np.flatnonzero(lengths > stop_above)
        best = int(over[0]) if len(over) else int(np.argmax(lengths))
        if int(lengths[best]) > longest:
            longest, number = int(lengths[best]), lines_before + best + 1
            if longest > stop_above:
                break
        start, lines_before = int(ends[-1]) + 1, lines_before + len(ends)
    return max(longest, 0), number


def _may_exceed(data: bytes, limit: int) -> bool:
    """Whether a line of ``data`` might be longer than ``limit`` bytes.

    False when every aligned window of ``limit // 2`` bytes holds a line end: a longer
    line would hold one whole window. A few hundred ``find`` calls, each stopping at the
    window's first line end, instead of locating every line end of the file.
    """
    step = limit // 2
    if len(data) <= limit:
        return False
    if step < 1:
        return True
    return any(data.find(b"\n", start, start + step) < 0
               for start in range(0, len(data) - step + 1, step))


def text_problem(data: bytes, file_name: str, limits: InputLimits | None = None
                 ) -> Problem | None:
    """Why a text (CSV) upload is too big to read, or None.

    Checks, in order: the longest line, the header's field count (separators counted on
    the raw first line, so a header of millions of fields is never split), and the cells
    (lines × fields).
    """
    limits = limits or DEFAULT
    longest, number = (_longest_line(data, limits.max_line_bytes)
                       if _may_exceed(data, limits.max_line_bytes) else (0, 0))
    if longest > limits.max_line_bytes:
        return _refusal(file_name, f"Line {number} is {longest:,} bytes long; a survey or "
                        f"attendance row is at most {limits.max_line_bytes:,} bytes.",
                        f"lines of at most {limits.max_line_bytes:,} bytes")
    end = data.find(b"\n")
    header = data if end < 0 else data[:end]
    # UTF-16 puts a NUL after each ASCII separator; the byte counts are the same.
    fields = max(header.count(d) for d in _DELIMITERS) + 1
    if fields > limits.max_columns:
        return _refusal(file_name, f"The header row has {fields:,} columns; an upload may "
                        f"have at most {limits.max_columns:,}.",
                        f"at most {limits.max_columns:,} columns")
    lines = data.count(b"\n") + 1
    if lines * fields > limits.max_cells:
        return _refusal(file_name, f"The file holds about {lines * fields:,} cells ({lines:,} "
                        f"lines × {fields:,} columns); an upload may hold at most "
                        f"{limits.max_cells:,}. Split it, or leave out unneeded columns.",
                        f"at most {limits.max_cells:,} cells")
    return None


def xlsx_problem(data: bytes, file_name: str, limits: InputLimits | None = None
                 ) -> Problem | None:
    """Why a workbook is too big to convert, or None.

    The zip directory's declared sizes are checked first; then each member is inflated in
    chunks (never held whole) and counted, since a crafted zip can declare small sizes.
    """
    limits = limits or DEFAULT
    too_big = _refusal(
        file_name, "This workbook is too large once unpacked (more than "
        f"{limits.max_xlsx_uncompressed_bytes // (1 << 20):,} MB in all, or more than "
        f"{limits.max_sheet_xml_bytes // (1 << 20):,} MB for its first sheet). Save the "
        "sheet with the data as CSV, or split it, and upload that.",
        "a workbook of reasonable size")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            sheet = _first_sheet(archive)
            if sum(m.file_size for m in members) > limits.max_xlsx_uncompressed_bytes or \
                    (sheet is not None and archive.getinfo(sheet).file_size >
                     limits.max_sheet_xml_bytes):
                return too_big
            total = 0
            for member in members:
                budget = limits.max_sheet_xml_bytes if member.filename == sheet else \
                    limits.max_xlsx_uncompressed_bytes
                inflated = _inflated_size(archive, member, min(
                    budget, limits.max_xlsx_uncompressed_bytes - total) + 1)
                total += inflated
                if inflated > budget or total > limits.max_xlsx_uncompressed_bytes:
                    return too_big
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, RuntimeError):
        return None  # a damaged workbook: the reader's own refusal explains it
    return None


def _first_sheet(archive: zipfile.ZipFile) -> str | None:
    names = sorted(n for n in archive.namelist()
                   if n.startswith("xl/worksheets/sheet") and n.endswith(".xml"))
    # sheet1.xml before sheet10.xml: the number decides, not the text.
    names.sort(key=lambda n: int("".join(c for c in n if c.isdigit()) or 0))
    return names[0] if names else None


def _inflated_size(archive: zipfile.ZipFile, member: zipfile.ZipInfo, stop: int) -> int:
    """Bytes ``member`` inflates to, counting no further than ``stop``."""
    size = 0
    with archive.open(member) as handle:
        while size < stop:
            chunk = handle.read(_INFLATE_CHUNK)
            if not chunk:
                break
            size += len(chunk)
    return size


def sheet_problem(file_name: str, width: int, rows: int,
                  limits: InputLimits | None = None) -> Problem | None:
    """Why a worksheet being converted is too wide or too big (checked row by row)."""
    limits = limits or DEFAULT
    if width > limits.max_columns:
        return _refusal(file_name, f"The first sheet has {width:,} columns; an upload may "
                        f"have at most {limits.max_columns:,}.",
                        f"at most {limits.max_columns:,} columns")
    if width * rows > limits.max_cells:
        return _refusal(file_name, f"The first sheet holds more than {limits.max_cells:,} "
                        "cells. Split it, or leave out unneeded columns.",
                        f"at most {limits.max_cells:,} cells")
    return None


class LimitExceeded(Exception):
    """Raised inside a conversion when a bound is passed; carries the refusal."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem
