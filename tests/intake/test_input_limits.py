"""Small files that ask for huge work are refused early, clearly, with nothing changed and
no temporary file left; labels are stored as plain, normalised text.

The limits are made small here; ``tooling/check_input_limits.py`` runs the full-size
attacks (5M header fields, 20k columns, a 40 MB line, a 300 MB+ workbook) under a
memory cap and reports the times.
"""

from __future__ import annotations

import io
import tempfile

import pytest
from openpyxl import Workbook

from analysis.__main__ import main
from analysis.access.scope import LOCAL
from analysis.definitions.plain_text import markdown_escape
from analysis.intake import limits
from analysis.intake.ingest import ingest
from analysis.intake.limits import InputLimits
from analysis.intake.values import UploadFile
from analysis.storage.store import Store
from tests.factories import SURVEY_HEADER, csv_bytes, survey_rows

SMALL = InputLimits(max_columns=40, max_line_bytes=2_000, max_cells=5_000,
                    max_xlsx_uncompressed_bytes=200_000, max_sheet_xml_bytes=60_000,
                    max_categories=20)


@pytest.fixture
def small_limits(monkeypatch, tmp_path):
    monkeypatch.setattr(limits, "DEFAULT", SMALL)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


def _fingerprint(store):
    with store.cursor() as cur:
        return [cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("uploads", "survey", "attendance", "wave_registry")]


def _refused(store, data, name="survey.csv"):
    before = _fingerprint(store)
    result = ingest(store, [UploadFile("survey", name, data)], LOCAL)
    assert result.status == "refused"
    assert _fingerprint(store) == before
    return [p.message for p in result.problems if p.severity == "error"]


def _valid_csv(extra_columns=0, rows=3, line_padding=0):
    header = list(SURVEY_HEADER) + [f"extra_{i}" for i in range(extra_columns)]
    body = [r + [""] * extra_columns for r in survey_rows(rows)]
    if line_padding:
        body[1][-1] = "x" * line_padding
    return csv_bytes(body, header)


@pytest.mark.parametrize("data, words", [
    (b"a," * 100 + b"b\n1\n", "columns"),                       # header fields
    (_valid_csv(extra_columns=45), "columns"),                  # too wide
    (_valid_csv(line_padding=3_000), "Line 3"),                 # one long line
    (_valid_csv(rows=600), "cells"),                            # lines x columns
])
def test_oversized_csv_is_refused_before_reading(store, small_limits, data, words):
    messages = _refused(store, data)
    assert len(messages) == 1 and words in messages[0] and "Nothing was stored" in messages[0]
    assert not list(small_limits.iterdir())


def test_text_checks_count_on_raw_bytes():
    assert limits.text_problem(b"a;" * 50 + b"\n", "f", SMALL) is not None
    assert limits.text_problem("a,b\n1,2\n".encode("utf-16"), "f", SMALL) is None
    assert limits.text_problem(_valid_csv(), "f", SMALL) is None


def _workbook(rows: int, columns: int) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(SURVEY_HEADER) + [f"x{i}" for i in range(columns - len(SURVEY_HEADER))])
    for row in survey_rows(rows):
        sheet.append([str(v) for v in row] + ["filler text"] * (columns - len(row)))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_workbook_inflating_past_the_limit_is_refused(store, small_limits):
    data = _workbook(rows=400, columns=30)
    assert len(data) < SMALL.max_sheet_xml_bytes  # small on disk, large unpacked
    messages = _refused(store, data, "big.xlsx")
    assert "too large once unpacked" in messages[0]
    assert not list(small_limits.iterdir())


def test_wide_workbook_is_refused_while_converting(store, small_limits, monkeypatch):
    monkeypatch.setattr(limits, "DEFAULT", InputLimits(max_columns=40))
    messages = _refused(store, _workbook(rows=2, columns=45), "wide.xlsx")
    assert "45 columns" in messages[0]
    assert not list(small_limits.iterdir())


def test_command_line_refuses_with_exit_2(tmp_path, small_limits, capsys):
    path = tmp_path / "wide.csv"
    path.write_bytes(_valid_csv(extra_columns=45))
    db = tmp_path / "cli.duckdb"
    assert main(["ingest", "--db", str(db), "--survey", str(path)]) == 2
    assert "columns" in capsys.readouterr().err
    with Store(db) as store:
        assert _fingerprint(store) == [0, 0, 0, 0]


def test_labels_are_normalised_and_markup_refused(store, small_limits):
    rows = survey_rows(3)
    rows[0][1] = "![w](http://host/px.png) 6m"
    messages = _refused(store, csv_bytes(rows))
    assert any("markup" in m for m in messages)
    rows = survey_rows(3)
    for row in rows:
        row[3] = "Cafe\u0301 \u202eNorth\u200b"   # decomposed é, bidi override, zero width
    assert ingest(store, [UploadFile("survey", "s.csv", csv_bytes(rows))],
                         LOCAL).status == "applied"
    with store.cursor() as cur:
        assert cur.execute("SELECT DISTINCT site FROM survey").fetchall() == [("Café North",)]


def test_too_many_categories_are_refused(store, small_limits):
    rows = survey_rows(30)
    for i, row in enumerate(rows):
        row[4] = f"role {i}"
    messages = _refused(store, csv_bytes(rows))
    assert any("different values" in m for m in messages)


def test_markdown_escape_renders_labels_as_written():
    assert markdown_escape("![w](http://host/px.png)") == \
        "\\!\\[w\\]\\(http\\://host/px\\.png\\)"
    assert markdown_escape(":red[alarm]") == "\\:red\\[alarm\\]"
