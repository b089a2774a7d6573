"""Turn an uploaded file (bytes and a name) into a UTF-8 CSV DuckDB can read.

Spreadsheet exports arrive in many shapes: UTF-8 with or without a byte-order mark,
UTF-16 from Excel's "Unicode text", Windows-1252 or Mac Roman from older machines,
commas, semicolons (European Excel) or tabs, and ``.xlsx`` workbooks. :func:`decode`
normalises any of them to one UTF-8 CSV in a temporary folder and says what it found
(encoding, delimiter, header row); :mod:`analysis.intake.staging` then lets DuckDB read
that file into a temporary table of text columns.

Line endings are normalised to ``\n`` (files mixing ``\r\n``, ``\n`` and ``\r`` are common
after copy-and-paste between systems, and DuckDB's strict reader stops on them).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from analysis.intake import limits
from analysis.intake.problems import Problem

#: Encodings the reader may report; the label is what users see in a warning.
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (with byte-order mark)",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252 (Western European, Windows)",
    "mac_roman": "Mac Roman (older Macintosh)",
    "xlsx": "Excel workbook (.xlsx)",
}
DELIMITER_LABELS = {",": "comma", ";": "semicolon", "\t": "tab"}

# Characters a Western European survey export plausibly contains beyond ASCII; used to
# choose between Windows-1252 and Mac Roman, which share no byte meaning above 0x7F.
_PLAUSIBLE = set(
    "éèêëàâäáãåæçñóòôöõøúùûüíìîïýÿßœ"
    "ÉÈÊËÀÂÄÁÅÆÇÑÓÒÔÖØÚÙÛÜÍÎÏ"
    "’‘“”–—…€£°§«»·"
)

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel (.xls) or Word file"),
    (b"\x1f\x8b", "a compressed (gzip) file"),
    (b"BM", None),  # bitmap only when followed by binary; checked by NUL bytes below
)


@dataclass(frozen=True)
class DecodedFile:
    """An upload normalised to a UTF-8 CSV, or the reasons it could not be.

    Attributes
    ----------
    file_name : str
        The name the user gave the file (used in every problem).
    path : Path or None
        The UTF-8 CSV (comma-separated for workbooks), None when unreadable.
    headers : tuple of str
        The header row exactly as written (byte-order mark removed).
    delimiter : str
        Field separator of ``path``.
    encoding : str
        Key of :data:`ENCODING_LABELS`.
    encoding_guessed : bool
        True when no byte-order mark or UTF-8 validity told us; a warning names it.
    problems : tuple of Problem
        Whole-file problems (unreadable, empty); empty when the file can be staged.
    """

    file_name: str
    path: Path | None
    headers: tuple[str, ...] = ()
    delimiter: str = ","
    encoding: str = "utf-8"
    encoding_guessed: bool = False
    problems: tuple[Problem, ...] = ()

    @property
    def readable(self) -> bool:
        """Whether the file can be staged (no whole-file error)."""
        return self.path is not None and not any(p.severity == "error" for p in self.problems)


def _problem(file_name: str, message: str, expected: str = "", severity: str = "error",
             value: str | None = None) -> Problem:
    return Problem(file_name, None, None, value, expected, severity, message)


def _sniff_binary(data: bytes, file_name: str) -> Problem | None:
    for signature, what in _SIGNATURES:
        if what and data.startswith(signature):
            return _problem(
                file_name, f"This file is {what}, not a table. Save the data as CSV "
                "(comma-separated) or as an Excel .xlsx workbook and upload that.",
                "a CSV or .xlsx file")
    return None


def _is_xlsx(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _plausibility(text: str) -> int:
    """Score decoded text: plausible accented letters and punctuation count for, the rest against."""
    score = 0
    for char in text:
        if ord(char) < 128:
            continue
        score += 2 if char in _PLAUSIBLE else -1
    return score


def _decode_text(data: bytes) -> tuple[str, str, bool] | None:
    """Text, encoding key and whether it was guessed; None when no encoding fits."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig", False
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", False
        except UnicodeDecodeError:
            return None
    if b"\x00" in data[:4096]:
        # UTF-16 without a byte-order mark: ASCII text with every other byte NUL.
        head = data[:4096]
        even_nul = head[0::2].count(0) / max(1, len(head[0::2]))
        odd_nul = head[1::2].count(0) / max(1, len(head[1::2]))
        if odd_nul > 0.9 and even_nul < 0.1:
            codec = "utf-16-le"
        elif even_nul > 0.9 and odd_nul < 0.1:
            codec = "utf-16-be"
        else:
            return None
        try:
            return data.decode(codec), "utf-16", True
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8"), "utf-8", False
    except UnicodeDecodeError:
        pass
    candidates = []
    for codec in ("cp1252", "mac_roman"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        candidates.append((_plausibility(text), codec == "cp1252", text, codec))
    if not candidates:
        return None
    _, _, text, codec = max(candidates)
    return text, codec, True


def _first_record(text: str) -> str:
    """The header line (a header spanning lines via quotes is read to its end)."""
    end = 0
    in_quotes = False
    while end < len(text):
        char = text[end]
        if char == '"':
            in_quotes = not in_quotes
        elif char in "\r\n" and not in_quotes:
            break
        end += 1
    return text[:end]


def _parse_header(header_line: str, delimiter: str) -> tuple[str, ...] | None:
    """The column names of a header line; None when it cannot be parsed as CSV."""
    try:
        return tuple(next(csv.reader([header_line], delimiter=delimiter), []))
    except csv.Error:
        return None


def sniff_delimiter(header_line: str) -> str:
    """The separator used by a header line: comma, semicolon or tab (most frequent wins).

    Examples
    --------
    >>> sniff_delimiter("respondent_id;wave;survey_date")
    ';'
    """
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return normalize_newlines(str(value))


def normalize_newlines(text: str) -> str:
    """Every line ending (``\\r\\n``, ``\\r`` or ``\\n``, mixed or not) as ``\\n``.

    Examples
    --------
    >>> normalize_newlines("a\\r\\nb\\rc\\n")
    'a\\nb\\nc\\n'
    """
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _xlsx_to_csv(data: bytes, target: Path, file_name: str = "") -> None:
    from openpyxl import load_workbook  # noqa: PLC0415 - only workbooks need it

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        # The stored dimension can claim 16,384 columns; rows are read as they are.
        sheet.reset_dimensions()
        with target.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            width = None
            pending_blank = 0
            for number, row in enumerate(sheet.iter_rows(values_only=True), 1):
                too_big = limits.sheet_problem(file_name, max(len(row), width or 0), number)
                if too_big is not None:
                    raise limits.LimitExceeded(too_big)
                cells = [_cell_text(v) for v in row]
                while cells and cells[-1] == "" and (width is None or len(cells) > width):
                    cells.pop()
                if width is None:
                    if not any(cells):
                        continue  # blank rows above the header
                    width = len(cells)
                cells = (cells + [""] * width)[:max(width, len(cells))]
                if not any(cells):
                    pending_blank += 1  # trailing blank rows are dropped; inner ones kept
                    continue
                for _ in range(pending_blank):
                    writer.writerow([""] * width)
                pending_blank = 0
                writer.writerow(cells)
    finally:
        workbook.close()


def _decode_xlsx(data: bytes, file_name: str, target: Path) -> DecodedFile:
    """The first sheet of a workbook as a UTF-8 CSV at ``target`` (see :func:`decode`);
    too large a workbook is refused before it is unpacked."""
    too_big = limits.xlsx_problem(data, file_name)
    if too_big is not None:
        return DecodedFile(file_name, None, encoding="xlsx", problems=(too_big,))
    try:
        _xlsx_to_csv(data, target, file_name)
    except limits.LimitExceeded as exceeded:
        target.unlink(missing_ok=True)
        return DecodedFile(file_name, None, encoding="xlsx", problems=(exceeded.problem,))
    except Exception as error:  # noqa: BLE001 - a damaged workbook is the user's problem
        return DecodedFile(file_name, None, problems=(_problem(
            file_name, f"This Excel workbook could not be read ({type(error).__name__}). "
            "Open it in Excel, save it again as .xlsx or CSV, and upload that.",
            "a readable .xlsx workbook"),))
    text = target.read_text(encoding="utf-8")
    if not text.strip():
        return DecodedFile(file_name, None, encoding="xlsx", problems=(_problem(
            file_name, "The first sheet of this workbook is empty.",
            "a header row and at least one data row on the first sheet"),))
    headers = _parse_header(_first_record(text), ",") or ()
    return DecodedFile(file_name, target, headers, ",", "xlsx", False)


def decode(data: bytes, file_name: str, workdir: str | Path) -> DecodedFile:
    """Normalise an uploaded file to a UTF-8 CSV in ``workdir``.

    Parameters
    ----------
    data : bytes
        The file's content.
    file_name : str
        Its name as uploaded (``.xlsx`` workbooks are recognised by content as well).
    workdir : str or Path
        A temporary folder the caller removes afterwards.

    Returns
    -------
    DecodedFile
        With whole-file problems (binary, empty, unknown encoding) instead of an exception.
    """
    workdir = Path(workdir)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(file_name).name) or "upload"
    target = workdir / f"{len(list(workdir.iterdir()))}_{safe}.csv"
    problems: list[Problem] = []
    if _BLANK_FILE.fullmatch(data):
        return DecodedFile(file_name, None, problems=(_problem(
            file_name, "The file is empty: it has no header row and no data.",
            "a header row and at least one data row"),))
    if _is_xlsx(data):
        return _decode_xlsx(data, file_name, target)
    if data.startswith(b"PK\x03\x04"):
        return DecodedFile(file_name, None, problems=(_problem(
            file_name, "This file is a zip archive, not a table. Unzip it and upload the CSV "
            "or .xlsx file inside.", "a CSV or .xlsx file"),))
    binary = _sniff_binary(data, file_name)
    if binary is not None:
        return DecodedFile(file_name, None, problems=(binary,))
    too_big = limits.text_problem(data, file_name)
    if too_big is not None:
        return DecodedFile(file_name, None, problems=(too_big,))
    if _plain_utf8(data):
        # Already what DuckDB reads (UTF-8, no byte-order mark, no carriage return, no
        # NUL): the original bytes are written as they are, not decoded, normalised and
        # encoded again; only the header line is looked at here.
        return _decode_plain(data, file_name, target)
    decoded = _decode_text(data)
    if decoded is None or "\x00" in decoded[0]:
        return DecodedFile(file_name, None, problems=(_problem(
            file_name, "This file does not look like text: it contains binary data. Save the "
            "data as CSV (comma-separated) or as an Excel .xlsx workbook and upload that.",
            "a CSV or .xlsx file"),))
    text, encoding, guessed = decoded
    # Windows, Unix and classic Mac line endings, even mixed in one file, all become \n.
    text = normalize_newlines(text.lstrip("\ufeff"))
    header = _read_header(_first_record(text), file_name, encoding)
    if isinstance(header, DecodedFile):
        return header
    headers, delimiter = header
    try:
        target.write_text(text, encoding="utf-8", newline="")
    except UnicodeEncodeError:
        return DecodedFile(file_name, None, encoding=encoding, problems=(_problem(
            file_name, "This file contains characters that are not valid text (broken "
            "UTF-16 surrogates). Open it in a spreadsheet program, save it again as CSV "
            "(UTF-8) and upload that.", "valid text"),))
    if guessed:
        problems.append(_problem(
            file_name, f"The file is not UTF-8; it was read as {ENCODING_LABELS[encoding]}. "
            "Check that accented letters look right in the preview.",
            "UTF-8 text", severity="warning", value=ENCODING_LABELS[encoding]))
    return DecodedFile(file_name, target, headers, delimiter, encoding, guessed, tuple(problems))


#: A file of nothing but these bytes is empty (matched without copying the file, as
#: ``data.strip(...)`` would).
_BLANK_FILE = re.compile(b"[ \t\r\n\x00\xef\xbb\xbf\xff\xfe]*")


def _plain_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 without a byte-order mark, NUL or ``\\r``: the text
    :func:`decode` would write is then ``data`` itself, byte for byte."""
    if data.startswith(b"\xef\xbb\xbf") or b"\r" in data or b"\x00" in data:
        return False
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


#: How much of a plain UTF-8 file is decoded to find its header line (more when a quoted
#: header runs on beyond it).
_HEADER_PROBE = 1 << 16


def _header_text(data: bytes) -> str:
    """The header line of a plain UTF-8 file, decoding no more than needed to find it."""
    size = _HEADER_PROBE
    while True:
        head = data[:size]
        text = head.decode("utf-8", errors="ignore") if size < len(data) else \
            data.decode("utf-8")
        record = _first_record(text)
        if len(record) < len(text) or size >= len(data):
            return record
        size *= 4


def _decode_plain(data: bytes, file_name: str, target: Path) -> DecodedFile:
    """:func:`decode` for a file :func:`_plain_utf8` accepts (same result, no copy)."""
    header = _read_header(_header_text(data), file_name, "utf-8")
    if isinstance(header, DecodedFile):
        return header
    headers, delimiter = header
    target.write_bytes(data)
    return DecodedFile(file_name, target, headers, delimiter, "utf-8", False)


def _read_header(header_line: str, file_name: str,
                 encoding: str) -> tuple[tuple[str, ...], str] | DecodedFile:
    """The column names and delimiter of a header line, or the refusal to return."""
    if not header_line.strip(" \t"):
        return DecodedFile(file_name, None, encoding=encoding, problems=(Problem(
            file_name, 1, None, None, "the column names on the first line", "error",
            f"The first line of {file_name} is empty: it must hold the column names. "
            "Delete the empty line(s) above the header and upload the file again."),))
    delimiter = sniff_delimiter(header_line)
    headers = _parse_header(header_line, delimiter)
    if headers is None:
        return DecodedFile(file_name, None, encoding=encoding, problems=(Problem(
            file_name, 1, None, None, "the column names on the first line", "error",
            "The header line could not be read: a double quote in it is never closed, so "
            "the column names run on into the data. Fix or remove the quote."),))
    return headers, delimiter
