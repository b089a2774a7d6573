"""The command line's side of the importers: files from paths, converted when recognised.

``python -m analysis ingest`` calls :func:`prepare_uploads`; a recognised export becomes
a contract table (its one-line description printed), anything else is uploaded as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from analysis.intake.importers import (
    Conversion,
    attendance_files,
    convert_attendance,
    convert_survey,
    parse_map,
)
from analysis.intake.importers.model import problem
from analysis.intake.problems import Problem


@dataclass(frozen=True)
class PreparedFile:
    """One file for the ingest: kind, name, bytes, and the conversion it came from."""

    kind: str
    file_name: str
    data: bytes
    conversion: Conversion | None


def prepare_uploads(survey: str | None, attendance: str | None, *, wave: str | None = None,
                    maps: Sequence[str] = (), dictionary: str | None = None
                    ) -> tuple[list[PreparedFile], list[Problem]]:
    """Read the paths given on the command line, converting recognised exports.

    Returns
    -------
    files, problems
        Problems are whole-file refusals (a missing path, a bad ``--map``, an export
        that cannot be converted); any error means nothing may be ingested.
    """
    files: list[PreparedFile] = []
    problems: list[Problem] = []
    try:
        mapping = parse_map(maps)
    except ValueError as error:
        return [], [problem("--map", str(error), "TARGET=SOURCE")]
    if survey:
        path = Path(survey)
        if not path.is_file():
            return [], [problem(survey, "no such file.", "a survey file")]
        extra = Path(dictionary).read_bytes() if dictionary and Path(dictionary).is_file() \
            else None
        if dictionary and extra is None:
            problems.append(problem(dictionary, "no such file.",
                                    "a REDCap data dictionary (CSV)"))
        data = path.read_bytes()
        converted = convert_survey(path.name, data, wave=wave, mapping=mapping,
                                   dictionary=extra)
        if converted is None and (mapping or wave):
            problems.append(problem(path.name, f"{path.name} is not an export this program "
                                    "recognises, so --wave and --map do not apply; write "
                                    "the file in the data contract instead.",
                                    "a Qualtrics, SurveyMonkey, Forms or REDCap export"))
        files.append(_file("survey", path.name, data, converted))
    if attendance:
        path = Path(attendance)
        if not path.exists():
            return [], [problem(attendance, "no such file or folder.",
                                "an attendance file, folder or zip")]
        reports = attendance_files(path)
        converted = convert_attendance(reports) if reports else None
        if converted is None and (path.is_dir() or len(reports) != 1):
            problems.append(problem(path.name, f"{path.name} holds no attendance report "
                                    "this program recognises.",
                                    "Zoom or Teams reports or a sign-in sheet"))
        else:
            data = reports[0][1] if converted is None else b""
            files.append(_file("attendance", path.name, data, converted))
    for f in files:
        if f.conversion is not None:
            problems.extend(f.conversion.problems)
    return files, problems


def _file(kind: str, name: str, data: bytes, converted: Conversion | None) -> PreparedFile:
    return PreparedFile(kind, name, converted.data if converted else data, converted)


def locate_problems(result, prepared: Sequence[PreparedFile]):
    """The ingest's result with each problem in a converted export pointed back at the
    export's own rows and headers (see :meth:`Conversion.locate`)."""
    from dataclasses import replace  # noqa: PLC0415

    conversions = [f.conversion for f in prepared if f.conversion is not None]
    problems = list(result.problems)
    for conversion in conversions:
        problems = [conversion.locate(p) for p in problems]
    return replace(result, problems=tuple(problems))


def mapped_headers(conversion: Conversion, maps: Sequence[str]) -> dict[str, str]:
    """The export's headers chosen by ``--map`` → their target (to be remembered)."""
    targets = set(parse_map(maps))
    return {source: target for target, source in conversion.recognised if target in targets}


def remember_mapping(store, prepared: Sequence[PreparedFile], maps: Sequence[str]) -> None:
    """Save the ``--map`` choices under the export's own headers, so that the next export
    of the same layout is mapped without them (the Upload page reads the same table)."""
    from analysis.intake.mapping import save_mapping  # noqa: PLC0415

    for f in prepared:
        if f.kind == "survey" and f.conversion is not None and maps:
            chosen = mapped_headers(f.conversion, maps)
            if chosen:
                save_mapping(store, "survey", chosen)
