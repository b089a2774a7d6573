"""Survey and attendance exports from the tools practices already use, recognised by shape.

A pre-step of the ingest: :func:`convert_survey` and :func:`convert_attendance` take an
export's bytes, recognise the tool (:mod:`.detect`), and return a :class:`Conversion`
whose :attr:`~Conversion.data` is a table in the data contract; that table is then
uploaded through the ordinary validated, all-or-nothing ingest. Both return None for a
file that is already in the contract or is no export they know, which the ingest then
reads as it always has. What each importer takes from which column is listed in
``docs/importers.md``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from analysis.intake.importers.attendance import build_attendance
from analysis.intake.importers.detect import (
    attendance_format,
    in_contract,
    survey_format,
)
from analysis.intake.importers.model import Conversion, problem, read_rows
from analysis.intake.importers.survey import build_survey

__all__ = ["Conversion", "convert_survey", "convert_attendance", "attendance_files",
           "report_files", "parse_map"]

#: Files in a folder or zip that may be attendance reports.
REPORT_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")


def convert_survey(file_name: str, data: bytes, *, wave: str | None = None,
                   mapping: Mapping[str, str] | None = None,
                   dictionary: bytes | None = None) -> Conversion | None:
    """Recognise a survey export and turn it into a contract table.

    Parameters
    ----------
    file_name : str
    data : bytes
        The export as downloaded (CSV, TSV, UTF-16 text or .xlsx).
    wave : str, optional
        The wave of a one-wave export.
    mapping : mapping of str to str, optional
        ``target → source`` for what is not recognised (``{"site": "Which practice …"}``).
    dictionary : bytes, optional
        A REDCap data dictionary (CSV), for REDCap raw exports.

    Returns
    -------
    Conversion or None
        None when the file is in the contract already or is no known export.
    """
    rows, problems = read_rows(file_name, data)
    found = survey_format(rows) if not problems else None
    if found is None:
        return None
    name, reader = found
    if name == "redcap-raw":
        dict_rows = read_rows("data dictionary", dictionary)[0] if dictionary else None
        layout = reader(rows, file_name, dict_rows)
    else:
        layout = reader(rows, file_name)
    # Importers keep the row objects they were given: their positions are the export's
    # rows (decode drops only blank rows above a workbook's first row).
    position = {id(row): number for number, row in enumerate(rows, start=1)}
    numbers = [position.get(id(row), 0) for row in layout.rows]
    if all(numbers):
        layout = replace(layout, row_numbers=numbers)
    return build_survey(layout, wave, mapping)


def convert_attendance(files: Sequence[tuple[str, bytes]]) -> Conversion | None:
    """Recognise attendance reports (one or many) and turn them into one contract table.

    Returns None when there is one file and it is in the contract already or unknown;
    with several files, each must be a known report (one that is not is an error).
    """
    parts, problems = [], []
    for file_name, data in files:
        rows, read_problems = read_rows(file_name, data)
        found = attendance_format(rows) if not read_problems else None
        if found is None:
            if len(files) == 1:
                return None
            why = "it is written in the data contract; upload it on its own" \
                if in_contract(rows) else "it is no Zoom or Teams report or sign-in sheet"
            problems.append(problem(file_name, f"{file_name} cannot be read with the other "
                                    f"reports: {why}.", "a Zoom, Teams or sign-in report"))
            continue
        parts.append(found[1](rows, file_name))
    conversion = build_attendance(parts)
    if problems:
        conversion = replace(conversion, problems=conversion.problems + tuple(problems))
    return conversion


def attendance_files(path: str | Path) -> list[tuple[str, bytes]]:
    """The report files of a file, a folder (not recursive) or a zip archive."""
    path = Path(path)
    if path.is_dir():
        return [f for p in sorted(path.iterdir())
                if p.is_file() and not p.name.startswith(".")
                and p.suffix.lower() in REPORT_SUFFIXES + (".zip",)
                for f in attendance_files(p)]
    return report_files(path.name, path.read_bytes())


def report_files(file_name: str, data: bytes) -> list[tuple[str, bytes]]:
    """The reports in one uploaded file: the file itself, or each report in a zip."""
    if not data.startswith(b"PK\x03\x04") or _is_workbook(data):
        return [(file_name, data)]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [(Path(n).name, archive.read(n)) for n in sorted(archive.namelist())
                    if Path(n).suffix.lower() in REPORT_SUFFIXES and not n.endswith("/")
                    and not Path(n).name.startswith(".")]
    except zipfile.BadZipFile:
        return [(file_name, data)]


def _is_workbook(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def parse_map(pairs: Sequence[str]) -> dict[str, str]:
    """``["site=Which practice do you work at?"]`` → ``{"site": "Which practice …"}``.

    Raises
    ------
    ValueError
        For a pair without ``=``.
    """
    out = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise ValueError(f"--map {pair!r}: write it as TARGET=SOURCE, e.g. "
                             "site=Which practice do you work at?")
        out[target.strip()] = source.strip()
    return out
