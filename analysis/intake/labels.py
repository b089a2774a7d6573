"""Labels are text: normalised when they arrive, and never markup.

Wave, site and category labels end up in headings, captions, chart titles and exports.
At ingest they are

* normalised to NFC and stripped of invisible formatting characters (bidirectional
  overrides and isolates, zero-width spaces and joiners, soft hyphens, byte-order
  marks), so that two practices can never look alike while being different text, nor
  a label display reversed;
* refused when they carry markup (a Markdown link or image, an HTML tag, a backtick, a
  Streamlit colour or icon directive): a wave named ``![w](http://host/px.png)`` would
  otherwise be a tracking pixel aimed at leadership wherever a page forgot to escape it;
* refused when one column has more distinct values than :class:`InputLimits` allows
  (each category becomes a chart bar, a filter entry and a table row).

Pages render labels as plain text as well (:func:`analysis.definitions.plain_text`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb

from analysis.definitions.contract import ATTENDANCE_COLUMNS, SURVEY_COLUMNS
from analysis.definitions.scoring_sql import quote_identifier as q
from analysis.intake import limits as bounds
from analysis.intake.problems import Problem
from analysis.intake.validate import MAX_PER_CHECK, FileView

#: Canonical columns holding a label or a category.
LABEL_COLUMNS = frozenset(c.name for c in SURVEY_COLUMNS + ATTENDANCE_COLUMNS
                          if c.kind in ("label", "category"))
#: Invisible characters removed from labels (RE2 class).
INVISIBLE = (r"[\x{00AD}\x{061C}\x{180E}\x{200B}-\x{200F}\x{202A}-\x{202E}"
             r"\x{2060}-\x{2064}\x{2066}-\x{2069}\x{FEFF}]")
#: Markup refused in labels (RE2): a link or image, an HTML tag, a backtick, a directive.
MARKUP = r"\]\s*\(|!\[|<[A-Za-z/!?]|`|:[a-z-]+(\[|/)"


def normalized_sql(canonical: str, expression: str) -> str:
    """SQL for a stored value of ``canonical``: NFC, invisible characters removed, for
    labels and categories; other columns unchanged."""
    if canonical not in LABEL_COLUMNS:
        return expression
    # ASCII text is NFC and holds no invisible character: only other text pays for it.
    return unless_ascii(expression,
                        f"regexp_replace(nfc_normalize({expression}), '{INVISIBLE}', '', 'g')")


def unless_ascii(expression: str, otherwise: str) -> str:
    """SQL for ``expression`` itself when it is ASCII text (as many bytes as characters),
    else ``otherwise``: a cheap test that spares most text a costly rewrite."""
    return (f"CASE WHEN strlen({expression}) = length({expression}) THEN {expression} "
            f"ELSE {otherwise} END")


def label_problems(cur: duckdb.DuckDBPyConnection, view: FileView,
                   limits: bounds.InputLimits | None = None,
                   values: Mapping[str, Sequence[str]] | None = None) -> list[Problem]:
    """Labels with markup (errors, first rows named) and columns with too many values.

    One statement counts every label column's values and its values with markup; only
    a column with markup is read again, for its first rows. A column whose distinct
    values validation listed (``values``, see
    :func:`~analysis.intake.validate.run_checks`) is counted over that list, not read.
    """
    limits = limits or bounds.DEFAULT
    values = values or {}
    problems: list[Problem] = []
    columns = [(c, s) for c, s in view.columns.items() if c in LABEL_COLUMNS]
    if not columns:
        return problems
    # Over each column's distinct values (labels repeat: a few hundred per million rows),
    # not row by row. HyperLogLog keeps the largest register per bucket, so repeated
    # values do not change approx_count_distinct: the count is the one of every row.
    params: dict[str, list[str]] = {}
    parts = []
    for number, (c, _) in enumerate(columns):
        if c in values:
            params[f"v{number}"] = list(values[c])
            distinct = f"SELECT CAST(unnest($v{number}) AS VARCHAR) AS _v"
        else:
            distinct = f"SELECT {q(c)} AS _v FROM {view.relation} GROUP BY {q(c)}"
        parts.append(f"SELECT {number} AS _c, approx_count_distinct(nullif(trim(_v), '')) "
                     f"AS _d, count(*) FILTER (WHERE regexp_matches(_v, '{MARKUP}')) AS _m "
                     f"FROM ({distinct})")
    found = {c: (d, m) for c, d, m in
             cur.execute(" UNION ALL ".join(parts), params or None).fetchall()}
    for number, (canonical, source) in enumerate(columns):
        distinct, marked = (int(v or 0) for v in found.get(number, (0, 0)))
        column = q(canonical)
        if distinct > limits.max_categories:
            problems.append(Problem(
                view.file_name, None, source, None,
                f"at most {limits.max_categories:,} different values", "error",
                f"this column has about {distinct:,} different values; a {canonical} column "
                f"may have at most {limits.max_categories:,}. Is it mapped to the right "
                "column?"))
            continue
        if not marked:
            continue
        rows = cur.execute(
            f"SELECT {view.row_sql('_rid')}, {column} FROM {view.relation} WHERE "
            f"regexp_matches({column}, '{MARKUP}') ORDER BY _rid LIMIT {MAX_PER_CHECK}"
        ).fetchall()
        problems.extend(Problem(
            view.file_name, int(row), source, str(value)[:80], "plain text", "error",
            "this label contains markup (a link, an image, an HTML tag, a backtick or a "
            "directive); labels are shown as plain text. Remove those characters")
            for row, value in rows)
    return problems
