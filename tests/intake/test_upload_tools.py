"""The Upload page's helpers in analysis/intake: date order, grouped problems, workbook
sheets, the template and data dictionary."""

from __future__ import annotations

import doctest
import io

import pandas as pd
import pytest

from analysis.intake import dates, problem_groups, template, workbook
from analysis.intake.problems import Problem
from analysis.storage.store import Store


@pytest.mark.parametrize("module", [dates, problem_groups])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize(("values", "order"), [
    (["31/03/2025", "01/04/2025", ""], dates.DAY_FIRST),
    (["03/31/2025", "04/01/2025"], dates.MONTH_FIRST),
    (["01/02/2025", "03/04/2025"], dates.AMBIGUOUS),
    (["31/03/2025", "03/31/2025"], dates.MIXED),
    (["2025-03-31", "2025-04-01"], dates.ISO),
])
def test_date_order_is_read_from_the_whole_column(values, order):
    assert dates.detect_order(values).order == order


def test_impossible_dates_are_left_for_the_validator():
    assert dates.to_iso("31/02/2025", dates.DAY_FIRST) == "31/02/2025"
    assert dates.to_iso("2025-02-01", dates.DAY_FIRST) == "2025-02-01"


def test_rewrite_changes_only_the_date_column():
    data = "id;survey_date;note\nA;14/03/2025;3/4\nB;01/02/2025;x\n".encode("cp1252")
    assert dates.column_orders(data, "s.csv", ["survey_date"])["survey_date"].order == dates.DAY_FIRST
    out = dates.rewrite_dates(data, "s.csv", {"survey_date": dates.DAY_FIRST}).decode()
    assert out.splitlines() == ["id,survey_date,note", "A,2025-03-14,3/4", "B,2025-02-01,x"]


def test_problems_group_by_column_and_rule_errors_first():
    found = ([Problem("s.csv", r, "survey_date", "bad", "a date", "error", "m") for r in range(2, 38)]
             + [Problem("s.csv", 5, "cbi_1", "7", "a code 1-5", "error", "found '7'")]
             + [Problem("s.csv", None, "notes", None, "", "warning", "not stored")])
    grouped = problem_groups.group_problems(found)
    assert list(grouped["column"]) == ["survey_date", "cbi_1", "notes"]
    assert list(grouped["count"]) == [36, 1, 1]
    assert grouped["problem"].iloc[1] == "found '7'"  # a single problem keeps its message


def test_a_chosen_sheet_becomes_the_upload():
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        pd.DataFrame({"a": [1]}).to_excel(writer, sheet_name="First", index=False)
        pd.DataFrame({"respondent_id": ["R1"], "survey_date": [pd.Timestamp("2025-03-14")],
                      "score": [2.0]}).to_excel(writer, sheet_name="Data", index=False)
    data = buffer.getvalue()
    assert workbook.sheet_names(data) == ["First", "Data"]
    assert workbook.sheet_as_csv(data, "Data").decode().splitlines() == [
        "respondent_id,survey_date,score", "R1,2025-03-14,2"]
    assert workbook.sheet_names(b"a,b\n1,2\n") == []


def test_old_excel_is_recognised():
    assert workbook.is_old_excel(workbook.XLS_MAGIC + b"\0" * 10, "x.bin")
    assert workbook.is_old_excel(b"anything", "report.XLS")
    assert not workbook.is_old_excel(b"a,b\n", "data.csv")


def test_template_sheets_validate_against_the_contract(tmp_path):
    from analysis.access.scope import LOCAL
    from analysis.intake.ingest import validate_upload
    from analysis.intake.values import UploadFile

    data = template.template_workbook()
    assert workbook.sheet_names(data) == ["survey", "attendance", "dictionary"]
    files = [UploadFile(kind, f"{kind}.csv", workbook.sheet_as_csv(data, kind))
             for kind in ("survey", "attendance")]
    store = Store(tmp_path / "t.duckdb")
    try:
        report = validate_upload(store, files, LOCAL, False)
    finally:
        store.close()
    assert report.ok, [p.text() for p in report.errors]
    dictionary = template.data_dictionary()
    assert {"respondent_id", "survey_date", "session_date", "cbi_work"} <= set(dictionary["column"])
