"""Storage layout (schema 2): item columns stored only once uploaded.

An old-layout database (schema 1, every instrument's 75 item columns) is built in a
fixture by running the old schema SQL (``MIGRATIONS[0]``) and uploading through the
app; reopening it migrates it. Every upload and undo must keep working, before and
after, and the answers must be unchanged.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from analysis.access.scope import LOCAL
from analysis.definitions.instruments import ITEM_COLUMNS
from analysis.intake.ingest import ingest
from analysis.intake.uploads import undo
from analysis.intake.values import UploadFile
from analysis.storage import queries
from analysis.storage import schema as schema_module
from analysis.storage.schema import SCHEMA_VERSION, stored_item_columns
from analysis.storage.store import Store
from tests.factories import SURVEY_HEADER, attendance_rows, csv_bytes, survey_rows

CBI_1_6 = tuple(f"cbi_{i}" for i in range(1, 7))


def _survey(name: str, rows: list, header=SURVEY_HEADER) -> UploadFile:
    return UploadFile("survey", name, csv_bytes(rows, header))


def _columns(store: Store, table: str) -> list[str]:
    with store.cursor() as cur:
        return [r[0] for r in cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position", [table]).fetchall()]


def _rows(store: Store, table: str, columns=("respondent_id", "wave", *CBI_1_6,
                                               "cbi_personal")) -> list[tuple]:
    cols = ", ".join(columns)
    with store.cursor() as cur:
        return cur.execute(f"SELECT {cols} FROM {table} ORDER BY ALL").fetchall()


def _upload(store: Store, files: list[UploadFile], replace: bool = False) -> tuple[int, ...]:
    result = ingest(store, files, LOCAL, replace=replace)
    assert result.status == "applied", result.problems
    return result.upload_ids


@pytest.fixture()
def old_layout_db(tmp_path: Path, monkeypatch) -> tuple[Path, dict]:
    """A database at the schema before item columns were trimmed (every migration but the
    last), holding an upload, a replacing upload and attendance."""
    path = tmp_path / "old.duckdb"
    with monkeypatch.context() as patch:
        patch.setattr(schema_module, "MIGRATIONS", schema_module.MIGRATIONS[:-1])
        with Store(path) as store:
            assert store.schema_version() == SCHEMA_VERSION - 1
            assert stored_item_columns(store._root) == ITEM_COLUMNS
            first_ids = _upload(store, [_survey("q1.csv", survey_rows(6)),
                                        UploadFile("attendance", "att.csv",
                                                   csv_bytes(attendance_rows(4),
                                                             ("respondent_id", "session_date",
                                                              "session_type",
                                                              "duration_minutes")))])
            changed = [[*r[:5], *[5] * 6] for r in survey_rows(3)]
            (second,) = _upload(store, [_survey("q1_fixed.csv", changed)], replace=True)
            before = {"survey": _rows(store, "survey"),
                      "replaced": _rows(store, "survey_replaced"),
                      "first": first_ids[0], "second": second}
    return path, before


def test_old_layout_migrates_and_keeps_its_answers(old_layout_db) -> None:
    path, before = old_layout_db
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION == 4
        assert _columns(store, "survey_replaced")[1:] == _columns(store, "survey")
        with store.cursor() as cur:
            assert stored_item_columns(cur) == CBI_1_6
        assert _rows(store, "survey") == before["survey"]
        assert _rows(store, "survey_replaced") == before["replaced"]
        # Undo of the replacing upload puts the replaced answers back.
        result = undo(store, before["second"], LOCAL)
        assert (result.rows_removed, result.rows_restored) == (3, 3)
        replaced_ids = {r[0] for r in before["replaced"]}
        assert _rows(store, "survey") == sorted(
            [r for r in before["survey"] if r[0] not in replaced_ids] + before["replaced"])
        assert _rows(store, "survey_replaced") == []
        undo(store, before["first"], LOCAL)
        assert _rows(store, "survey") == []


def test_migrated_store_takes_new_instruments_and_undoes_them(old_layout_db) -> None:
    path, before = old_layout_db
    header = (*SURVEY_HEADER, "ucla3_1", "ucla3_2", "ucla3_3")
    rows = [[*r, 1, 2, 3] for r in survey_rows(6, wave="2025-Q2", date="2025-05-01")]
    with Store(path) as store:
        (upload_id,) = _upload(store, [_survey("q2.csv", rows, header)])
        with store.cursor() as cur:
            assert stored_item_columns(cur) == (*CBI_1_6, "ucla3_1", "ucla3_2", "ucla3_3")
        assert _columns(store, "survey_replaced")[1:] == _columns(store, "survey")
        scores = queries.load_item_scores(store, LOCAL, "ucla3_loneliness")
        assert len(scores) == 12 and scores["ucla3_1"].notna().sum() == 6
        undo(store, upload_id, LOCAL)
        assert _rows(store, "survey") == before["survey"]
        # The first upload's rows were replaced before the new columns came: undoing the
        # replacing upload still restores them, blank in the new columns.
        undo(store, before["second"], LOCAL)
        with store.cursor() as cur:
            assert cur.execute("SELECT count(*), count(ucla3_1) FROM survey").fetchone() == (6, 0)


def test_fresh_store_holds_only_uploaded_items(store: Store) -> None:
    assert stored_item_columns(store._root) == ()
    _upload(store, [_survey("q1.csv", survey_rows(6))])
    assert [c for c in _columns(store, "survey") if c in ITEM_COLUMNS] == list(CBI_1_6)
    # A replacing upload bringing more items adds them to both tables, then moves rows.
    header = (*SURVEY_HEADER, "cbi_7")
    (second,) = _upload(store, [_survey("more.csv", [[*r, 4] for r in survey_rows(2)],
                                        header)], replace=True)
    assert _columns(store, "survey_replaced")[1:] == _columns(store, "survey")
    with store.cursor() as cur:
        assert cur.execute("SELECT count(cbi_7) FROM survey_replaced").fetchone() == (0,)
    quality = queries.response_quality(store, LOCAL)
    work = quality[quality["outcome"] == "cbi_work"]
    # cbi_work has 7 items; only cbi_7 was ever uploaded (2 rows), so it is not scored.
    assert work.empty
    personal = quality[quality["outcome"] == "cbi_personal"].iloc[0]
    assert personal["n_responses"] == 6 and math.isclose(personal["share_items_missing"], 0.0)
    undo(store, second, LOCAL)
    assert len(_rows(store, "survey")) == 6


def test_missing_item_columns_read_as_blank(store: Store) -> None:
    _upload(store, [_survey("q1.csv", survey_rows(6))])
    frame = queries.load_item_scores(store, LOCAL, "cbi_work")
    assert len(frame) == 6 and frame.drop(columns="wave").isna().all().all()
