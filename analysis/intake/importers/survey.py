"""From a survey export's columns to a contract table: the step every survey importer shares.

A survey importer knows its tool's layout (header rows, metadata columns, where the
e-mail address and the completion time are); it describes them as a
:class:`SurveyLayout` and :func:`build_survey` does the rest the same way for every tool:

1. ``--map TARGET=SOURCE`` choices (SOURCE is the question text or the tool's field name);
2. instrument items by their published wording (:func:`~.wording.match_item`), answers to
   codes (:func:`~.wording.answer_code`);
3. a column whose header already is a contract name (``Site``, ``Role``) kept;
4. free text (long, mostly unique answers) dropped, like names, IPs and locations;
5. anything else passed on under its own header, to be mapped on the Upload page;
6. rows without an e-mail address left out and counted; e-mail trimmed, lower-cased.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from analysis.definitions.contract import columns_for, normalize_header
from analysis.definitions.instruments import ITEM_COLUMNS, SCORED_COLUMNS
from analysis.intake.importers.common import email_share
from analysis.intake.importers.dates import iso_dates
from analysis.intake.importers.model import Conversion, normalize_email, problem
from analysis.intake.importers.wording import answer_code, match_item, normalize_text
from analysis.intake.problems import Problem

#: Canonical survey columns an export's column may become.
SURVEY_TARGETS: tuple[str, ...] = (tuple(c.name for c in columns_for("survey"))
                                   + ITEM_COLUMNS + SCORED_COLUMNS)
_OWN = ("respondent_id", "wave", "survey_date")


@dataclass(frozen=True)
class SurveyLayout:
    """A survey export as its importer understood it.

    Attributes
    ----------
    source : str
        What the export is ("a Qualtrics export (choice text)").
    file_name : str
    headers : sequence of str
        One display header per column (the question text where there is one).
    rows : sequence of sequence of str
        Data rows (already without previews and other rows the importer left out).
    email, date : int or None
        Column of the e-mail address and of the completion (or recorded) time.
    texts : sequence of str
        Text matched against item wording, per column (default: ``headers``).
    aliases : sequence of sequence of str
        Other names of each column that ``--map`` may use (field IDs, variable names).
    waves : sequence of str, optional
        Per-row wave from the export itself (REDCap events).
    dropped : mapping of int to str
        Columns never passed on, with why.
    left_out : mapping of str to int
        Rows the importer already left out, by reason.
    answer_labels : mapping of int to mapping of str to str
        Per column, raw answer → label (REDCap raw codes, via the data dictionary).
    day_first : bool
        The source writes day-first dates when the values do not say.
    """

    source: str
    file_name: str
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    email: int | None
    date: int | None
    texts: Sequence[str] = ()
    aliases: Sequence[Sequence[str]] = ()
    waves: Sequence[str] | None = None
    dropped: Mapping[int, str] = field(default_factory=dict)
    left_out: Mapping[str, int] = field(default_factory=dict)
    answer_labels: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    day_first: bool = False
    problems: Sequence[Problem] = ()
    #: The export's spreadsheet row (header rows counted) of each of ``rows``.
    row_numbers: Sequence[int] = ()
    #: True when ``--map respondent_id=…`` chose the link column (not an e-mail column).
    id_mapped: bool = False


#: Header words of a question that asks for free text.
FREE_TEXT_WORDS = ("comment", "comments", "anything else", "feedback", "please specify",
                   "please describe", "please explain", "tell us")


def is_free_text(values: Sequence[str], header: str = "") -> bool:
    """Whether a column holds free text: its question asks for comments, an answer is
    long, or the answers are wordy and mostly different from each other.

    Examples
    --------
    >>> is_free_text(["Harbor"] * 9), is_free_text([""], "Any comments?")
    (False, True)
    """
    words = f" {normalize_text(header)} "
    if any(f" {w} " in words for w in FREE_TEXT_WORDS):
        return True
    given = [v for v in values if v.strip()]
    if not given:
        return False
    if max(len(v) for v in given) > 80:
        return True
    return (len(given) >= 5 and len(set(given)) / len(given) > 0.5
            and sum(len(v.split()) for v in given) / len(given) >= 4)


def _resolve_map(layout: SurveyLayout, mapping: Mapping[str, str]
                 ) -> tuple[dict[int, str], list[Problem]]:
    """``--map`` choices as column index → target, with problems for bad ones."""
    names = []
    for index, header in enumerate(layout.headers):
        text = layout.texts[index] if layout.texts else header
        alias = layout.aliases[index] if layout.aliases else ()
        names.append({normalize_text(n) for n in (header, text, *alias) if n})
    chosen: dict[int, str] = {}
    problems: list[Problem] = []
    for target, source in mapping.items():
        if target not in SURVEY_TARGETS:
            problems.append(problem(layout.file_name, f"--map {target}=…: '{target}' is not "
                                    "a column of the data contract.",
                                    "a contract column such as site or role"))
            continue
        wanted = normalize_text(source)
        # The whole header, field name or question text; else a part of exactly one.
        found = [i for i, n in enumerate(names) if wanted in n] or \
            [i for i, n in enumerate(names) if wanted and any(wanted in x for x in n)]
        if len(found) != 1:
            several = ", ".join(f"'{layout.headers[i]}'" for i in found[:5])
            problems.append(problem(
                layout.file_name, f"--map {target}={source}: " + (
                    f"the export has no column '{source}'." if not found else
                    f"'{source}' fits several columns ({several}); give more of the text."),
                "a header of the export", column=source))
            continue
        chosen[found[0]] = target
    return chosen, problems


def _with_own_columns(layout: SurveyLayout, chosen: dict[int, str]) -> SurveyLayout:
    """The layout with ``--map`` choices for respondent_id, wave or survey_date applied
    (they replace the e-mail, the wave and the date the importer found)."""
    own = {target: index for index, target in chosen.items() if target in _OWN}
    for index in own.values():
        del chosen[index]
    if not own:
        return layout
    dropped = dict(layout.dropped)
    waves = layout.waves
    if "wave" in own:
        waves = [cell(r, own["wave"]) for r in layout.rows]
        dropped[own["wave"]] = "read as the wave"
    return replace(layout, email=own.get("respondent_id", layout.email),
                   date=own.get("survey_date", layout.date), waves=waves, dropped=dropped,
                   id_mapped="respondent_id" in own)


def _roles(layout: SurveyLayout, chosen: Mapping[int, str]
           ) -> tuple[dict[int, str], dict[int, str], list[int]]:
    """Columns kept as a canonical column, dropped (with why), passed on unrecognised."""
    kept: dict[int, str] = dict(chosen)
    dropped = dict(layout.dropped)
    passed: list[int] = []
    taken = set(chosen.values())
    for index, header in enumerate(layout.headers):
        if index in kept or index in dropped or index in (layout.email, layout.date):
            continue
        text = layout.texts[index] if layout.texts else header
        item = match_item(text)
        name = normalize_header(header)
        if item and item not in taken:
            kept[index] = item
        elif name in SURVEY_TARGETS and name not in _OWN and name not in taken:
            kept[index] = name
        elif email_share(values := [row[index] for row in layout.rows if index < len(row)]) > 0.5:
            dropped[index] = "e-mail address"
            continue
        elif is_free_text(values, header):
            dropped[index] = "free text"
            continue
        else:
            passed.append(index)
            continue
        taken.add(kept[index])
    return kept, dropped, passed


def build_survey(layout: SurveyLayout, wave: str | None = None,
                 mapping: Mapping[str, str] | None = None) -> Conversion:
    """Turn a described export into a survey contract table.

    Parameters
    ----------
    layout : SurveyLayout
    wave : str, optional
        The wave of a one-wave export (ignored when the export names its waves).
    mapping : mapping of str to str, optional
        ``target → source`` choices from ``--map``.

    Returns
    -------
    Conversion
    """
    chosen, problems = _resolve_map(layout, mapping or {})
    layout = _with_own_columns(layout, chosen)
    problems = list(layout.problems) + problems
    kept, dropped, passed = _roles(layout, chosen)
    left_out = dict(layout.left_out)
    order = sorted(kept, key=lambda i: (SURVEY_TARGETS.index(kept[i]), i))
    passed_headers = _unique([layout.headers[i] or f"column {i + 1}" for i in passed],
                             set(kept.values()) | set(_OWN))
    header = ["respondent_id", "wave", "survey_date"] + [kept[i] for i in order] \
        + passed_headers
    dates = iso_dates([cell(r, layout.date) for r in layout.rows],
                      layout.headers[layout.date] if layout.date is not None else "",
                      layout.day_first)
    waves_seen: list[str] = []
    rows = []
    numbers: list[int] = []
    for number, row in enumerate(layout.rows):
        email = normalize_email(cell(row, layout.email))
        if not email and layout.id_mapped:
            email = cell(row, layout.email)  # a mapped ID column: hashed as it is
        if not email:
            left_out["no e-mail address to link the response"] = \
                left_out.get("no e-mail address to link the response", 0) + 1
            continue
        this_wave = (layout.waves[number] if layout.waves is not None else wave) or ""
        if this_wave and this_wave not in waves_seen:
            waves_seen.append(this_wave)
        values = [email, this_wave, dates[number]]
        for index in order:
            raw = cell(row, index)
            raw = layout.answer_labels.get(index, {}).get(raw, raw)
            target = kept[index]
            values.append(answer_code(target, raw) if target in ITEM_COLUMNS else raw)
        values += [cell(row, i) for i in passed]
        rows.append(tuple(values))
        if layout.row_numbers:
            numbers.append(layout.row_numbers[number])
    if layout.waves is None and not wave:
        problems.append(problem(
            layout.file_name, f"{layout.file_name} is {layout.source} of one wave: say which "
            "wave it is (--wave LABEL on the command line, or the wave box on the Upload "
            "page).", "a wave label such as baseline or 2025-Q1", column="wave"))
    if layout.email is None:
        problems.append(problem(
            layout.file_name, "No e-mail address column was found, so the responses cannot "
            "be linked to each other or to attendance. Collect e-mail addresses in the "
            "survey, or map a column to respondent_id.", "an e-mail column"))
    recognised = [(kept[i], layout.headers[i]) for i in order]
    if layout.email is not None:
        recognised.insert(0, ("respondent_id", layout.headers[layout.email]))
    if layout.date is not None:
        recognised.insert(1, ("survey_date", layout.headers[layout.date]))
    return Conversion(
        "survey", layout.source, layout.file_name, tuple(header), tuple(rows),
        tuple(waves_seen), tuple(recognised),
        tuple((layout.headers[i] or f"column {i + 1}", why) for i, why in sorted(dropped.items())),
        tuple(left_out.items()), tuple(passed_headers), tuple(problems), tuple(numbers))


def cell(row: Sequence[str], index: int | None) -> str:
    """A row's value in a column, trimmed; empty when the row is short or no column."""
    if index is None or index >= len(row):
        return ""
    return str(row[index]).strip()


def _unique(headers: Sequence[str], taken: set[str]) -> list[str]:
    """Headers made unique (a repeated question text gets " (2)"), avoiding taken names."""
    out: list[str] = []
    seen = set(taken)
    for header in headers:
        name, n = header, 1
        while name in seen or normalize_header(name) in seen:
            n += 1
            name = f"{header} ({n})"
        seen.add(name)
        out.append(name)
    return out
