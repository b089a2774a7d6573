"""Row numbers in a file larger than one of DuckDB's CSV read buffers: the file is read
in pieces (in parallel), and each problem still names its spreadsheet row and column."""

from __future__ import annotations

import pytest

from analysis.access.scope import LOCAL
from analysis.intake import staging
from analysis.intake.ingest import validate_upload
from analysis.intake.values import UploadFile
from tests.factories import csv_bytes


@pytest.mark.parametrize("buffer_size", [staging.BUFFER_SIZE, 2 << 20])
def test_bad_cells_beyond_the_first_read_buffer_keep_their_rows(store, monkeypatch, buffer_size):
    # About 20 MB: two pieces with the staging buffer, ten when at most 2 MB; either way
    # the pieces are read in parallel.
    monkeypatch.setattr(staging, "BUFFER_SIZE", buffer_size)
    n = 230_000
    rows = [[f"P{i:07d}", "2025-Q1", "2025-02-01", "Harbor Practice North",
             "marriage and family therapist",
             *[(i + j) % 5 + 1 for j in range(6)]] for i in range(n)]
    rows[120_000][6] = "9"         # spreadsheet row 120,002, column cbi_2
    rows[229_990][9] = "often-ish"  # row 229,992 (one rejected row before it), cbi_5
    data = bytearray(csv_bytes(rows))
    assert len(data) > 8 * (2 << 20)
    # A row with one value too many between the two bad cells: spreadsheet row 200,002.
    lines = data.split(b"\n")
    lines[200_001] += b",extra"
    report = validate_upload(store, [UploadFile("survey", "big.csv", bytes(b"\n".join(lines)))],
                             LOCAL)
    errors = [(p.row, p.column, p.value) for p in report.problems if p.severity == "error"]
    assert errors == [(120_002, "cbi_2", "9"), (200_002, None, None),
                      (229_992, "cbi_5", "often-ish")]


def test_the_piece_size_is_half_the_file_within_duckdbs_default_and_the_cap():
    mb = 1 << 20
    assert staging.buffer_size(0) == staging.buffer_size(30 * mb) == staging.DEFAULT_BUFFER_SIZE
    assert staging.buffer_size(114 * mb) == 58 * mb  # the 1M-row bench survey: two pieces
    assert staging.buffer_size(10 * 1024 * mb) == staging.BUFFER_SIZE
