"""Reading uploads: encodings, delimiters, workbooks, binary files, rejected rows."""

from __future__ import annotations

import io
import zipfile

import duckdb
import pytest
from openpyxl import Workbook

from analysis.intake.readers import decode, sniff_delimiter
from analysis.intake.staging import drop_staged, row_number_sql, stage

TEXT = "respondent_id,site,note\nP1,Café Ödön,it’s fine\nP2,Zoë’s place,né\n"


def _read(data: bytes, name: str, tmp_path):
    decoded = decode(data, name, tmp_path)
    assert decoded.readable, decoded.problems
    con = duckdb.connect()
    staged = stage(con, decoded, "stage_t")
    rows = con.execute(f"SELECT * FROM {staged.table} ORDER BY rowid").fetchall()
    return decoded, staged, rows, con


@pytest.mark.parametrize("encoding, data", [
    ("utf-8", TEXT.encode("utf-8")),
    ("utf-8-sig", TEXT.encode("utf-8-sig")),
    ("utf-16", TEXT.encode("utf-16")),
    ("cp1252", TEXT.encode("cp1252")),
    ("mac_roman", TEXT.encode("mac_roman")),
])
def test_encodings_are_read_back_exactly(encoding, data, tmp_path):
    decoded, _, rows, _ = _read(data, "survey.csv", tmp_path)
    assert decoded.encoding == encoding
    assert decoded.headers == ("respondent_id", "site", "note")
    assert rows == [("P1", "Café Ödön", "it’s fine"), ("P2", "Zoë’s place", "né")]
    guessed = [p for p in decoded.problems if p.severity == "warning"]
    if encoding in ("cp1252", "mac_roman"):
        assert decoded.encoding_guessed and guessed
        assert ("Windows-1252" if encoding == "cp1252" else "Mac Roman") in guessed[0].message
    else:
        assert not guessed


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters_are_sniffed_from_the_header(delimiter, tmp_path):
    data = delimiter.join(["a", "b", "c"]) + "\r\n" + delimiter.join(["1", "2,5" if delimiter
                                                                    != "," else "2", "3"])
    decoded, _, rows, _ = _read((data + "\r\n").encode(), "x.csv", tmp_path)
    assert decoded.delimiter == delimiter
    assert len(rows) == 1 and rows[0][0] == "1" and rows[0][2] == "3"


def test_sniff_delimiter_ignores_quoted_separators():
    assert sniff_delimiter('"a,b";c;d') == ";"
    assert sniff_delimiter("single") == ","


def test_quoted_values_with_separators_and_newlines(tmp_path):
    data = b'id,note\nP1,"a, b"\nP2,"two\nlines"\nP3,"say ""hi"""\n'
    _, _, rows, _ = _read(data, "x.csv", tmp_path)
    assert rows == [("P1", "a, b"), ("P2", "two\nlines"), ("P3", 'say "hi"')]


def test_wrong_field_counts_are_problems_with_spreadsheet_rows(tmp_path):
    data = b'a,b,c\n1,2,3\n4,5\n"x\ny",z,w\n6,7,8,9\n10,11,12\n'
    decoded, staged, rows, con = _read(data, "survey.csv", tmp_path)
    assert [(p.row, p.file) for p in staged.problems] == [(3, "survey.csv"), (5, "survey.csv")]
    assert "2 values but the header has 3 columns" in staged.problems[0].message
    assert "4 values" in staged.problems[1].message
    # Rows read keep their own spreadsheet row numbers despite the gaps.
    numbers = con.execute(
        f"SELECT c0, {row_number_sql(staged, staged.position_sql('s'))} FROM {staged.table} s "
        "ORDER BY s.rowid").fetchall()
    assert numbers == [("1", 2), ("x\ny", 4), ("10", 6)]
    drop_staged(con, staged)


def test_row_numbers_hold_for_large_files_and_inside_transactions(tmp_path):
    lines = ["n,x"]
    for i in range(300_000):
        lines.append(f"{i},a,extra" if i % 50_000 == 7 else f"{i},a")
    decoded = decode(("\n".join(lines) + "\n").encode(), "big.csv", tmp_path)
    con = duckdb.connect(str(tmp_path / "db.duckdb"))
    con.execute("BEGIN TRANSACTION")
    staged = stage(con, decoded, "stage_big")
    assert staged.n_rejected == 6
    wrong = con.execute(
        f"SELECT count(*) FROM (SELECT c0, {row_number_sql(staged, staged.position_sql('s'))} "
        f"AS r FROM {staged.table} s WHERE CAST(c0 AS BIGINT) % 997 = 0) "
        "WHERE CAST(c0 AS BIGINT) + 2 <> r").fetchone()[0]
    assert wrong == 0
    con.execute("ROLLBACK")


def _xlsx(rows) -> bytes:
    from datetime import date, datetime  # noqa: F401

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_first_sheet_becomes_text_with_iso_dates(tmp_path):
    from datetime import date, datetime

    data = _xlsx([["respondent_id", "survey_date", "cbi_1", "note"],
                  ["P1", date(2025, 3, 1), 3, "Sömething"],
                  ["P2", datetime(2025, 3, 2, 14, 30), 4.0, None],
                  [None, None, None, None]])
    decoded, _, rows, _ = _read(data, "upload.xlsx", tmp_path)
    assert decoded.encoding == "xlsx"
    assert rows == [("P1", "2025-03-01", "3", "Sömething"), ("P2", "2025-03-02 14:30:00", "4", None)]


@pytest.mark.parametrize("data, words", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
    (b"%PDF-1.7\n%\xe2\xe3", "PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "old-style Excel"),
    (b"abc\x00\x01\x02\x03\xff\xfe\x00\x00binary", "binary"),
    (b"", "empty"),
    (b"\n\n  \n", "empty"),
])
def test_unreadable_files_are_problems_not_crashes(data, words, tmp_path):
    decoded = decode(data, "upload.csv", tmp_path)
    assert not decoded.readable
    assert len(decoded.problems) == 1
    problem = decoded.problems[0]
    assert problem.severity == "error" and problem.row is None and problem.file == "upload.csv"
    assert words in problem.message


def test_zip_that_is_not_a_workbook(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("survey.csv", "a,b\n1,2\n")
    decoded = decode(buffer.getvalue(), "survey.zip", tmp_path)
    assert not decoded.readable and "zip archive" in decoded.problems[0].message


def test_damaged_workbook(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "not xml at all")
    decoded = decode(buffer.getvalue(), "survey.xlsx", tmp_path)
    assert not decoded.readable and "could not be read" in decoded.problems[0].message


def test_mixed_line_endings_are_normalised(tmp_path):
    data = b"a,b\r\n1,2\n3,4\r5,6\r\n\"x\r\ny\",7\n"
    decoded, staged, rows, _ = _read(data, "mixed.csv", tmp_path)
    assert decoded.headers == ("a", "b") and not staged.problems
    assert rows == [("1", "2"), ("3", "4"), ("5", "6"), ("x\ny", "7")]


@pytest.mark.parametrize("data", [b"\nrespondent_id,wave\nP1,w1\n",
                                  b"\r\n\r\nrespondent_id,wave\r\nP1,w1\r\n",
                                  b"  \t\nrespondent_id,wave\nP1,w1\n"])
def test_an_empty_first_line_is_refused_with_a_clear_message(data, tmp_path):
    decoded = decode(data, "survey.csv", tmp_path)
    assert not decoded.readable
    [problem] = decoded.problems
    assert (problem.file, problem.row, problem.severity) == ("survey.csv", 1, "error")
    assert problem.message.startswith(
        "The first line of survey.csv is empty: it must hold the column names.")


def test_a_header_whose_quote_never_closes_is_refused(tmp_path):
    data = b'respondent_id,"wave\nP1,w1\n' + b"P2,w2\n" * 30_000
    decoded = decode(data, "survey.csv", tmp_path)
    assert not decoded.readable
    assert "header line" in decoded.problems[0].message


def test_a_file_duckdb_gives_up_on_is_a_problem_not_an_exception(tmp_path):
    from analysis.intake.readers import DecodedFile

    # Bypass decode()'s normalisation: mixed line ends stop DuckDB's strict reader.
    raw = tmp_path / "raw.csv"
    raw.write_bytes(b"a,b\r\n1,2\n3,4\r5,6\n")
    decoded = DecodedFile("survey.csv", raw, ("a", "b"))
    con = duckdb.connect()
    con.execute("BEGIN TRANSACTION")
    staged = stage(con, decoded, "stage_bad")
    assert staged.failed and staged.n_rows == 0
    [problem] = staged.problems
    assert (problem.file, problem.severity) == ("survey.csv", "error")
    assert "could not be read as a table" in problem.message
    assert "Error" not in problem.message and "duckdb" not in problem.message.lower()
    con.execute("ROLLBACK")  # the failed read aborted the transaction; nothing else ran
    # No column names at all (read_csv would need a column list): a problem too.
    empty = stage(con, DecodedFile("s.csv", raw, ()), "stage_none")
    assert empty.failed and "first line of s.csv is empty" in empty.problems[0].message


def test_a_rejected_record_with_a_line_break_still_gets_a_message():
    from analysis.intake.staging import reject_message

    message, expected = reject_message("TOO MANY COLUMNS", 3, 'a,b\nc,"d', ",")
    assert "different number of values" in message and expected == "3 values"
    message, _ = reject_message("MISSING COLUMNS", 3, "a,b", ",")
    assert "2 values" in message


def test_plain_utf8_is_written_byte_for_byte(tmp_path):
    data = "respondent_id,site\nP1,Zürich\nP2,\"a, b\"\n".encode()
    decoded = decode(data, "plain.csv", tmp_path)
    assert decoded.readable and decoded.encoding == "utf-8" and not decoded.encoding_guessed
    assert decoded.headers == ("respondent_id", "site") and decoded.delimiter == ","
    assert decoded.path.read_bytes() == data


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbfrespondent_id,site\nP1,H\n",  # byte-order mark: removed
    b"respondent_id,site\r\nP1,H\r\n",  # CR LF: normalised
    "respondent_id;site\r\nP1;Zürich\n".encode(),  # mixed, semicolons
])
def test_files_needing_normalisation_are_not_copied_as_they_are(tmp_path, data):
    decoded = decode(data, "other.csv", tmp_path)
    assert decoded.readable
    text = decoded.path.read_text(encoding="utf-8")
    assert "\r" not in text and not text.startswith("\ufeff")
    assert decoded.headers == ("respondent_id", "site")


def test_a_long_quoted_header_is_read_whole_in_the_plain_path(tmp_path):
    long_name = "x" * 70_000 + "\ny"
    data = f'"{long_name}",b\n1,2\n'.encode()
    decoded = decode(data, "long.csv", tmp_path)
    assert decoded.headers == (long_name, "b")
    assert decoded.path.read_bytes() == data


def test_a_whitespace_only_file_is_empty(tmp_path):
    decoded = decode(b" \r\n\t\x00\xef\xbb\xbf\n", "blank.csv", tmp_path)
    assert not decoded.readable and "empty" in decoded.problems[0].message
