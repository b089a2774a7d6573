"""Researcher export: contents, checks, manifest, formula injection."""
from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from analysis.export import build_export, build_export_bundle
from analysis.scope import LOCAL, PermissionDenied, Scope
from analysis.settings import Settings
from analysis.store import Store
from tests.test_report import SAMPLE, make_store

TABLES = ("descriptives.csv", "estimates.csv", "participation.csv", "balance.csv", "reliability.csv")
COUNT_COLS = ("n", "n_participants", "n_comparison", "n_respondents")
INJECTED = ("=HYPERLINK(\"http://x\",\"y\")", "+cmd")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    with make_store(tmp_path_factory.mktemp("export") / "s.duckdb") as store:
        return build_export_bundle(store, LOCAL, settings=Settings())


@pytest.fixture(scope="module")
def files(bundle) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(bundle.zip_bytes))
    return {name: archive.read(name) for name in archive.namelist()}


def test_bundle_has_every_file(files):
    for name in (*TABLES, "results.xlsx", "methods.md", "config.json", "checks.csv", "manifest.json"):
        assert name in files, name
    methods = files["methods.md"].decode()
    for word in ("Copenhagen", "participant", "parallel trends", "statsmodels", "duckdb"):
        assert word.lower() in methods.lower()
    config = json.loads(files["config.json"])
    assert config["settings"]["export_min_cell"] == 10 and config["export"]["rounding_base"] == 5


def test_no_ids_or_dates_anywhere(files):
    survey = pd.read_csv(SAMPLE / "survey.csv", usecols=["respondent_id"], dtype=str)
    ids = set(survey["respondent_id"])
    hashes = {hashlib.sha256(i.encode()).hexdigest()[:16] for i in ids}
    text = "\n".join(_text_of(name, data) for name, data in files.items())
    assert not any(i in text for i in ids)
    assert not any(h in text for h in hashes)
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", text), re.search(r"\b\d{4}-\d{2}-\d{2}\b", text)


def _text_of(name: str, data: bytes) -> str:
    if name.endswith(".xlsx"):
        book = openpyxl.load_workbook(io.BytesIO(data))
        return "\n".join(str(c.value) for ws in book for row in ws.iter_rows() for c in row
                         if c.value is not None)
    return data.decode("utf-8")


def test_counts_rounded_and_at_least_ten(files):
    for name in TABLES:
        frame = pd.read_csv(io.BytesIO(files[name]))
        for col in COUNT_COLS:
            if col in frame.columns:
                values = frame[col].dropna()
                assert (values % 5 == 0).all(), (name, col)
                assert ((values == 0) | (values >= 10)).all(), (name, col)
    estimates = pd.read_csv(io.BytesIO(files["estimates.csv"]))
    assert "residual_df" not in estimates.columns


def test_manifest_hashes_verify(files):
    manifest = json.loads(files["manifest.json"])
    listed = {entry["name"]: entry["sha256"] for entry in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json"}
    for name, digest in listed.items():
        assert hashlib.sha256(files[name]).hexdigest() == digest


def test_checks_row_per_table(files, bundle):
    checks = pd.read_csv(io.BytesIO(files["checks.csv"]))
    assert set(TABLES) <= set(checks["table"])
    assert set(checks["outcome"]) <= {"pass", "fail", "review"}
    assert set(TABLES) <= set(bundle.summary["table"])


def test_export_requires_permission_and_is_audited(tmp_path):
    with make_store(tmp_path / "s.duckdb") as store:
        with pytest.raises(PermissionDenied):
            build_export(store, Scope(role="leadership", user="lead"), settings=Settings())
        build_export(store, LOCAL, settings=Settings())
        with store.cursor() as cur:
            rows = cur.execute("SELECT outcome FROM audit_log WHERE action = 'export'").fetchall()
    assert [r[0] for r in rows] == ["refused", "ok"]


def test_injected_site_names_are_neutralised(tmp_path):
    survey = pd.read_csv(SAMPLE / "survey.csv", dtype=str)
    rename = {"Harbor Family Therapy": INJECTED[0], "Riverside Counseling Collective": INJECTED[1]}
    survey["site"] = survey["site"].replace(rename)
    path = tmp_path / "survey.csv"
    survey.to_csv(path, index=False)
    with make_store(tmp_path / "s.duckdb", survey=path) as store:
        data = build_export(store, LOCAL, settings=Settings())
    archive = zipfile.ZipFile(io.BytesIO(data))
    descriptives = archive.read("descriptives.csv").decode()
    for name in INJECTED:
        assert "'" + name.replace('"', '""') in descriptives or "'" + name in descriptives
        for line in descriptives.splitlines():
            for cell in line.split(","):
                assert not cell.startswith(("=", "+", "@")), cell
    book = openpyxl.load_workbook(io.BytesIO(archive.read("results.xlsx")))
    values = [c.value for ws in book for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "'" + INJECTED[0] in values and "'" + INJECTED[1] in values
    assert not any(v.startswith(("=", "+", "@")) for v in values)
    assert all(c.data_type != "f" for ws in book for row in ws.iter_rows() for c in row)
