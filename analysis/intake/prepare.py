"""Everything an upload needs before writing: decode, stage, map, validate, check scope.

Each file is decoded (:mod:`analysis.intake.readers`) and read by DuckDB into a temporary
table of text columns (:mod:`analysis.intake.staging`); headers are mapped to the contract's canonical names
(:mod:`analysis.intake.mapping`); a temporary view per file gives the canonical columns
and the respondent key (as written; when pseudonymizing, :mod:`analysis.intake.keys` maps it
to its pseudonym where the upload meets stored data and where it is written). Validation
(:mod:`analysis.intake.validate`) runs over those views, then the checks against the
stored data (:mod:`analysis.intake.stored_checks`). Nothing is written to stored tables.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import duckdb

from analysis.access.scope import Scope, require
from analysis.definitions.instruments import INSTRUMENTS, ITEM_COLUMNS, instrument_of_item
from analysis.definitions.scoring_sql import item_code_sql
from analysis.definitions.scoring_sql import quote_identifier as q
from analysis.intake import scoped
from analysis.intake.keys import map_keys
from analysis.intake.labels import label_problems, normalized_sql
from analysis.intake.mapping import resolve_mapping, saved_for
from analysis.intake.problems import Problem, has_errors, sort_problems
from analysis.intake.pseudonymize import (
    key_problem,
    load_secret,
    pseudonymize_by_default,
)
from analysis.intake.readers import DecodedFile, decode
from analysis.intake.staging import SYSTEM_ERRORS, StagedFile, row_number_sql, stage
from analysis.intake.stored_checks import (
    attendance_problems,
    existing_key_problems,
    pseudonymization_mismatch,
    scope_sites,
    score_overlap_warnings,
)
from analysis.intake.validate import (
    DIGITS,
    FileView,
    digit_column,
    joined_sql,
    validate_view,
)
from analysis.intake.values import KINDS, FileSummary, Progress, UploadFile, with_changes
from analysis.storage.store import first, single_value

_log = logging.getLogger(__name__)


@dataclass
class Prepared:
    files: dict[str, UploadFile]
    decoded: dict[str, DecodedFile]
    staged: dict[str, StagedFile]
    views: dict[str, FileView]
    problems: list[Problem]
    summary: dict[str, FileSummary]
    present: dict[str, set[str]]
    pseudonymized: bool
    #: Per kind, each checked column's distinct values as validation found them (see
    #: :func:`~analysis.intake.validate.run_checks`); item answers are coded from these.
    values: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)


class Refused(Exception):
    """An upload refused because of its data (nothing written); carries the problems."""

    def __init__(self, prepared: Prepared) -> None:
        super().__init__("refused")
        self.prepared = prepared


def check_kinds(files: Sequence[UploadFile]) -> None:
    kinds = [f.kind for f in files]
    if not files:
        raise ValueError("no file to upload: give a survey file, an attendance file or both")
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"unknown file kind: {kind!r}")
    if len(set(kinds)) != len(kinds):
        raise ValueError("one upload takes at most one survey file and one attendance file")


def key_sql(chosen: Mapping[str, int]) -> str:
    """SQL (over the file's text columns) for the trimmed respondent ID (NULL when blank);
    its pseudonym, when asked, is found by :func:`~analysis.intake.keys.map_keys`."""
    id_index = chosen.get("respondent_id")
    if id_index is None:
        return "NULL::VARCHAR"
    return f"nullif(trim(c{id_index}), '')"


def split_items(chosen: Mapping[str, int]) -> frozenset[str]:
    """The item columns of a file, which are staged as numbers when every answer in
    them is blank, one ASCII digit or one of the file's listed answers
    (:func:`stage_canonical`)."""
    return frozenset(c for c in chosen if c in ITEM_COLUMNS)


#: An item cell staged as a number that is neither blank, nor one digit, nor a listed
#: answer (see :func:`answer_code_sql`): the file is then staged again as text.
UNLISTED = -128
#: At most this many answers other than one digit are listed (codes -1 … -127).
MAX_ANSWERS = 127


def answer_code_sql(expression: str, codes: str | None = None) -> str:
    """An item answer as a TINYINT: the digit when it is one ASCII digit, NULL when it
    is blank; for the k-th of the listed answers (parameter ``$answers``, the file's
    labels) its code in the parameter ``$<codes>`` (see :func:`answer_codes`) when it has
    one, else ``-k``; :data:`UNLISTED` when it is anything else."""
    position = f"list_position(CAST($answers AS VARCHAR[]), {expression})"
    coded = f"CAST(${codes} AS TINYINT[])[{position}], " if codes else ""
    return (f"CASE WHEN strlen({expression}) = 1 AND {expression} BETWEEN '0' AND '9' "
            f"THEN CAST({expression} AS TINYINT) WHEN {expression} IS NULL THEN NULL "
            f"ELSE coalesce({coded}CAST(-{position} AS TINYINT), {UNLISTED}) END")


def codes_parameter(column: str) -> str | None:
    """The parameter :func:`answer_codes` gives an item column's instrument's codes in."""
    inst = instrument_of_item(column)
    return f"codes_{inst.key}" if inst is not None else None


def answer_codes(cur: duckdb.DuckDBPyConnection, answers: Sequence[str],
                 items: frozenset[str]) -> dict[str, list[int | None]]:
    """For each instrument of ``items``, the code of each listed answer as
    :func:`~analysis.definitions.scoring_sql.item_code_sql` gives it (None: no code), in
    the order of ``answers``, keyed by :func:`codes_parameter`.

    A label is staged as the code it stands for, so the insert stores the staged number
    as it is; the view reads it back as that code (the same answer to every check).
    """
    instruments = {codes_parameter(c): instrument_of_item(c) for c in items}
    return {key: first(cur, f"SELECT list_transform(CAST($answers AS VARCHAR[]), lambda a: "
                            f"CAST(({item_code_sql(inst, 'a')}) AS TINYINT))",
                       {"answers": list(answers)})[0] or []
            for key, inst in instruments.items() if key is not None and inst is not None}


def staged_columns(chosen: Mapping[str, int], key: str,
                   split: frozenset[str] = frozenset()) -> list[str]:
    """What is staged of a file: ``_key``, the canonical columns (labels normalised; the
    ``split`` items as :func:`answer_code_sql` in their
    :func:`~analysis.intake.validate.digit_column`) and ``_blank`` (every stored column
    empty), computed while DuckDB reads the file.

    One pass: the staged table is what every check and the write read, so neither the
    normalisation nor the item codes are computed again, and no copy of the rows is made.
    """
    cols = [f"{answer_code_sql(f'c{index}', codes_parameter(canonical))} "
            f"AS {digit_column(canonical)}" if canonical in split
            else f"{normalized_sql(canonical, f'c{index}')} AS {q(canonical)}"
            for canonical, index in chosen.items()]
    indexes = list(chosen.values())
    blank = " AND ".join(f"nullif(trim(c{i}), '') IS NULL" for i in indexes)
    if indexes:
        # The same truth, but a row whose first column holds a value (nearly every row)
        # is not blank without trimming its other columns: DuckDB evaluates every term
        # of an AND in a projection, and 30 trims a row cost as much as the read.
        blank = (f"CASE WHEN nullif(trim(c{indexes[0]}), '') IS NOT NULL THEN false "
                 f"ELSE ({blank}) END")
    return [f"{key} AS _key", *cols, f"({blank or 'false'}) AS _blank"]


#: Bytes at the start of a file looked at by :func:`answers_at_start`.
SAMPLE_BYTES = 1 << 16


def answers_at_start(decoded: DecodedFile, chosen: Mapping[str, int],
                     items: frozenset[str]) -> list[str] | None:
    """The ``items`` answers other than blank or one ASCII digit on the first lines of a
    file (:data:`SAMPLE_BYTES`), in order of appearance; None when there are more than
    :data:`MAX_ANSWERS` of them, or no items.

    A file answered with labels (a survey tool's "choice text" export) shows them on its
    first lines, and a file of free text shows that it is one.
    """
    if not items or decoded.path is None:
        return None
    with open(decoded.path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES).decode("utf-8", errors="ignore")
    lines = head.split("\n")[1:-1]  # the header, and a line the sample may have cut
    indexes = [chosen[c] for c in items]
    found: dict[str, None] = {}
    for row in csv.reader(lines, delimiter=decoded.delimiter or ","):
        for i in indexes:
            if i < len(row) and row[i] != "" and row[i] not in DIGITS:
                found[row[i]] = None
        if len(found) > MAX_ANSWERS:
            return None
    return list(found)


def listed_answers(seen: Sequence[str], items: frozenset[str]) -> list[str]:
    """The answers items may be staged as numbers for: those ``seen`` at the start
    of the file, then the labels of the items' instruments as a survey tool writes them
    (as listed, Capitalised, Title Case), at most :data:`MAX_ANSWERS`.

    An answer not listed makes the file be staged again as text: still right, only
    slower, so the list covers what exports commonly hold.
    """
    answers = dict.fromkeys(seen)
    for inst in INSTRUMENTS:
        if any(c in items for c in inst.item_columns):
            for label, _ in inst.labels:
                answers.update(dict.fromkeys((label, label.capitalize(), label.title())))
    return list(answers)[:MAX_ANSWERS]


def answers_variable(staged: StagedFile) -> str:
    """The SQL variable holding the answers a staged file's items were coded against."""
    return f"{staged.table}_answers"


def stage_canonical(cur: duckdb.DuckDBPyConnection, decoded: DecodedFile, name: str,
                    chosen: Mapping[str, int]
                    ) -> tuple[StagedFile, frozenset[str], frozenset[str]]:
    """:func:`~analysis.intake.staging.stage` a file as :func:`staged_columns`.

    Item columns are staged as numbers (:func:`answer_code_sql`) when every answer in
    them is blank, one ASCII digit or a listed answer (:func:`listed_answers`), which
    are kept in the SQL variable :func:`answers_variable`; a listed answer that is a
    code or label of the item's instrument is staged as its code (:func:`answer_codes`).
    That is decided while reading: the file is staged so unless its first lines hold too
    many different answers (:func:`answers_at_start`), and staged again as text if any
    cell then turns out to be none of those.

    Returns the staged file, the items staged as numbers, and those of them with a
    negative code somewhere (:func:`negative_columns`). IDs are pseudonymized after
    every file is staged (:func:`~analysis.intake.keys.map_keys`).
    """
    items = split_items(chosen)
    seen = answers_at_start(decoded, chosen, items)
    split = items if seen is not None else frozenset()
    answers = listed_answers(seen or (), items)
    params = {"answers": answers, **answer_codes(cur, answers, split)} if split else None
    staged = stage(cur, decoded, name, select=staged_columns(chosen, key_sql(chosen), split),
                   params=params)
    negative = negative_columns(cur, staged, split) if split and not staged.failed else None
    if split and not staged.failed and negative is None:
        split = frozenset()
        staged = stage(cur, decoded, name, select=staged_columns(chosen, key_sql(chosen)))
    if split and not staged.failed:
        cur.execute(f"SET VARIABLE {answers_variable(staged)} = CAST($answers AS VARCHAR[])",
                    {"answers": answers})
    return staged, split, negative or frozenset()


def negative_columns(cur: duckdb.DuckDBPyConnection, staged: StagedFile,
                     split: frozenset[str]) -> frozenset[str] | None:
    """The ``split`` items with a cell staged as a negative code (an answer that is no
    code of the item: a blank of spaces, or one validation refuses), or None when a
    cell is :data:`UNLISTED` (one scan of the numbers, a minimum per column)."""
    columns = sorted(split)
    mins = first(cur, "SELECT " + ", ".join(f"min({digit_column(c)})" for c in columns)
                 + f" FROM {staged.table}") or ()
    if any(m is not None and m <= UNLISTED for m in mins):
        return None
    return frozenset(c for c, m in zip(columns, mins) if m is not None and m < 0)


def view_sql(name: str, staged: StagedFile, split: frozenset[str] = frozenset()) -> str:
    """The view checks read: ``_rid``, the staged columns, and each item staged as
    numbers read back as text under its own name."""
    answers = answers_variable(staged)
    joined = "".join(f", {joined_sql(c, answers)} AS {q(c)}" for c in sorted(split))
    return (f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {staged.position_sql('s')} AS _rid, "
            f"* EXCLUDE (_blank){joined} FROM {staged.table} s")


def file_view(cur: duckdb.DuckDBPyConnection, file_name: str, kind: str, staged: StagedFile,
              chosen: Mapping[str, int], unmapped: tuple[str, ...],
              split: frozenset[str], negative: frozenset[str] = frozenset(),
              keyed: bool = False) -> FileView:
    """The staged file as checks read it: blank rows dropped, view ``v_<kind>`` made."""
    drop_blank_rows(cur, staged)
    cur.execute(view_sql(f"v_{kind}", staged, split))
    return FileView(file_name, kind, f"v_{kind}",
                    {c: staged.headers[i] for c, i in chosen.items()},
                    lambda rid: row_number_sql(staged, rid), unmapped, split,
                    answers_variable(staged), negative, keyed)


def drop_blank_rows(cur: duckdb.DuckDBPyConnection, staged: StagedFile) -> None:
    """Forget rows with every stored column empty (spreadsheets export them at the end).

    Deleting keeps the other rows' rowids, so their spreadsheet row numbers stay right.
    """
    cur.execute(f"DELETE FROM {staged.table} WHERE _blank")


def file_summary(cur: duckdb.DuckDBPyConnection, view: FileView, n_rows: int | None = None,
                 values: Mapping[str, Sequence[str]] | None = None) -> FileSummary:
    """Rows, people, waves and sites of a staged file. ``n_rows`` and the distinct
    ``values`` validation listed (see :func:`~analysis.intake.validate.run_checks`) are
    used when given rather than read again."""
    cols = view.columns
    values = values or {}
    params: dict[str, list[str]] = {}

    def distinct(column: str) -> str:
        # Over the column's distinct values (a few per million rows), trimmed once each.
        if column not in cols:
            return "[]::VARCHAR[]"
        if column in values:
            params[column] = list(values[column])
            listed = f"SELECT CAST(unnest(${column}) AS VARCHAR) AS _v"
        else:
            listed = f"SELECT {q(column)} AS _v FROM {view.relation} GROUP BY {q(column)}"
        return (f"(SELECT list(DISTINCT trim(_v) ORDER BY trim(_v)) FILTER "
                f"(WHERE nullif(trim(_v), '') IS NOT NULL) FROM ({listed}))")

    count = "count(*)" if n_rows is None else str(int(n_rows))
    rows, people, waves, sites = first(
        cur, f"SELECT {count}, count(DISTINCT _key), {distinct('wave')}, {distinct('site')} "
        f"FROM {view.relation}", params or None)
    return FileSummary(view.file_name, view.kind, int(rows), int(people),
                       tuple(waves or ()), tuple(sites or ()))


def prepare(cur: duckdb.DuckDBPyConnection, files: Sequence[UploadFile], scope: Scope,
             pseudonymize: bool | None, replace: bool, workdir: str,
             progress: Progress | None = None) -> Prepared:
    """Decode, stage, map, validate: everything but writing. Raises PermissionDenied."""
    report = progress or (lambda fraction, text: None)
    # None follows the installation's setting, on unless an administrator switched it off.
    pseudonymized = pseudonymize_by_default(cur) if pseudonymize is None else bool(pseudonymize)
    by_kind = {f.kind: f for f in files}
    problems: list[Problem] = []
    decoded: dict[str, DecodedFile] = {}
    staged: dict[str, StagedFile] = {}
    chosen: dict[str, dict[str, int]] = {}
    unmapped: dict[str, tuple[str, ...]] = {}
    splits: dict[str, frozenset[str]] = {}
    negatives: dict[str, frozenset[str]] = {}
    saved = {k: saved_for(cur, k, scope) for k in by_kind}
    # A missing key refuses the upload, with the problems the files' reading finds.
    missing_key = key_problem(cur, files[0].file_name) if pseudonymized else None
    secret: bytes | None = None
    for number, (kind, upload) in enumerate(by_kind.items()):
        report(0.05 + 0.25 * number / len(by_kind), f"Reading {upload.file_name}")
        d = decode(upload.data, upload.file_name, workdir)
        decoded[kind] = d
        problems.extend(d.problems)
        if not d.readable:
            continue
        if pseudonymized and missing_key is None and secret is None:
            secret = load_secret()
        chosen[kind], unmapped[kind], mapping_problems = resolve_mapping(upload, d.headers,
                                                                          saved[kind])
        s, splits[kind], negatives[kind] = stage_canonical(cur, d, f"stage_{kind}",
                                                           chosen[kind])
        problems.extend(s.problems)
        if s.failed:
            # DuckDB's reader gave up on the file: the cursor's transaction is aborted,
            # so nothing more can be checked. Refuse with what was found so far.
            return unreadable_upload(files, decoded, problems)
        staged[kind] = s
        problems.extend(mapping_problems)
    if staged and missing_key is not None:
        return unreadable_upload(files, decoded, problems + [missing_key])
    with_ids = [s.table for kind, s in staged.items() if "respondent_id" in chosen[kind]]
    keyed = secret is not None and bool(with_ids) and map_keys(cur, with_ids, secret)
    views = {kind: file_view(cur, by_kind[kind].file_name, kind, s, chosen[kind],
                             unmapped[kind], splits[kind], negatives[kind], keyed)
             for kind, s in staged.items()}
    problems.extend(scoped.limit_to_scope(cur, scope, views))
    summary = {}
    values: dict[str, dict[str, tuple[str, ...]]] = {}
    for number, (kind, view) in enumerate(views.items()):
        report(0.3 + 0.3 * number / len(views), f"Checking {view.file_name}")
        n_rows = single_value(cur, f"SELECT count(*) FROM {view.relation}")
        problems.extend(validate_view(cur, view, n_rows, pseudonymized,
                                      values=values.setdefault(kind, {})))
        problems.extend(label_problems(cur, view, values=values[kind]))
        summary[view.file_name] = file_summary(cur, view, n_rows, values[kind])
        if kind == "survey":
            problems.extend(score_overlap_warnings(view))
    for kind, upload in by_kind.items():
        summary.setdefault(upload.file_name, FileSummary(upload.file_name, kind))
    replace_count = 0
    if "survey" in views:
        key_problems, replace_count = existing_key_problems(cur, views["survey"], replace)
        problems.extend(key_problems)
        name = views["survey"].file_name
        summary[name] = with_changes(summary[name], replaced=replace_count if replace else 0)
    if "attendance" in views:
        att_problems, skipped = attendance_problems(cur, views)
        problems.extend(att_problems)
        name = views["attendance"].file_name
        summary[name] = with_changes(summary[name], skipped=skipped)
    problems.extend(pseudonymization_mismatch(cur, pseudonymized, files))
    sites = scope_sites(cur, views, replace_count, summary)
    require(scope, "upload", set().union(*sites.values()) if sites else set())
    for kind, view in views.items():
        summary[view.file_name] = with_changes(summary[view.file_name],
                                        sites=tuple(sorted(sites.get(kind, ()))))
    return Prepared(by_kind, decoded, staged, views, sort_problems(problems), summary,
                     {k: set(v.columns) for k, v in views.items()}, pseudonymized, values)


def unreadable_upload(files: Sequence[UploadFile], decoded: Mapping[str, DecodedFile],
                       problems: list[Problem]) -> Prepared:
    """A refusal for an upload that could not be read (nothing further is checked)."""
    if not has_errors(problems):
        names = ", ".join(f.file_name for f in files)
        problems = problems + [Problem(
            files[0].file_name, None, None, None, "a well-formed CSV or .xlsx file", "error",
            f"{names} could not be read as a table. Open the file in a spreadsheet program, "
            "save it again as CSV (UTF-8) and upload that.")]
    by_kind = {f.kind: f for f in files}
    summary = {f.file_name: FileSummary(f.file_name, f.kind) for f in files}
    return Prepared(by_kind, dict(decoded), {}, {}, sort_problems(problems), summary, {},
                     False)


def prepare_or_refuse(cur: duckdb.DuckDBPyConnection, files: Sequence[UploadFile],
                       scope: Scope, pseudonymize: bool | None, replace: bool, workdir: str,
                       progress: Progress | None = None) -> Prepared:
    """:func:`prepare`, with any DuckDB error caused by a file's content turned into a
    refusal (errors of the machine or the database, see ``SYSTEM_ERRORS``, propagate)."""
    try:
        return prepare(cur, files, scope, pseudonymize, replace, workdir, progress)
    except SYSTEM_ERRORS:
        raise
    except duckdb.Error:
        _log.warning("upload of %s refused: a check failed inside DuckDB",
                     [f.file_name for f in files], exc_info=True)
        return unreadable_upload(files, {}, [])
