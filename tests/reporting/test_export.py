"""Researcher export: contents, checks, manifest, formula injection."""
from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile

import openpyxl
import pandas as pd
import pytest

from analysis.access.scope import LOCAL, PermissionDenied, Scope
from analysis.access.settings import Settings
from analysis.reporting.export import build_export, build_export_bundle
from tests.factories import SAMPLE, make_store

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
    for name in (*TABLES, "README.md", "codebook.csv", "results.xlsx", "methods.md", "config.json",
                 "checks.csv", "manifest.json"):
        assert name in files, name
    methods = files["methods.md"].decode()
    for word in ("Copenhagen", "participant", "parallel trends", "statsmodels", "duckdb"):
        assert word.lower() in methods.lower()
    config = json.loads(files["config.json"])
    assert config["settings"]["export_min_cell"] == 10 and config["export"]["rounding_base"] == 5
    # the settings as the Settings page shows them; the export's threshold beside them
    assert config["settings"]["min_group_size"] == Settings().min_group_size
    assert config["export"]["min_cell"] == max(10, Settings().min_group_size)


def test_readme_codebook_and_booleans(files):
    readme = files["README.md"].decode()
    assert "version" in readme and "Exported:" in readme and "How to cite" in readme
    assert "SYNTHETIC SAMPLE DATA" in readme  # make_store loads the sample
    assert "1 = true, 0 = false" in readme
    book = pd.read_csv(io.BytesIO(files["codebook.csv"]))
    for table in TABLES:
        shipped = pd.read_csv(io.BytesIO(files[table]), nrows=1)
        listed = book.loc[book["file"] == table, "column"].tolist()
        assert listed == list(shipped.columns), table
    assert (book["meaning"].str.len() > 0).all()
    for table in TABLES:
        text = files[table].decode()
        assert ",True" not in text and ",False" not in text, table
    descriptives = pd.read_csv(io.BytesIO(files["descriptives.csv"]))
    assert set(descriptives["suppressed"].dropna()) <= {0, 1}


def test_no_ids_or_dates_anywhere(files):
    survey = pd.read_csv(SAMPLE / "survey.csv", usecols=["respondent_id"], dtype=str)
    ids = set(survey["respondent_id"])
    hashes = {hashlib.sha256(i.encode()).hexdigest()[:16] for i in ids}
    text = "\n".join(_text_of(name, data) for name, data in files.items())
    assert not any(i in text for i in ids)
    assert not any(h in text for h in hashes)
    # the one date is the export's own, on the README's "Exported:" line (and its citation)
    readme = files["README.md"].decode()
    exported = re.search(r"Exported: (\d{4}-\d{2}-\d{2})", readme).group(1)
    text = text.replace(exported, "")
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
    assert set(checks["result"]) <= {"pass", "fail", "review"}
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


# ------------------------------------------------------------------ dominance and residual df


def _checks(files) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(files["checks.csv"]), keep_default_na=False)


def test_sample_review_is_small_and_explained(files, bundle):
    checks = _checks(files)
    review = checks.loc[checks["result"] == "review"]
    assert len(review) <= 5, review.groupby(["table", "rule", "reason"]).size()
    assert (review["reason"].str.strip() != "").all()
    assert (checks["reason"].str.strip() != "").all()
    # every table has a min-cell line per row; magnitude/statistic tables a dominance line too
    for table in ("descriptives.csv", "balance.csv", "reliability.csv"):
        rules = checks.loc[checks["table"] == table].groupby("rule").size()
        assert rules["dominance"] == rules["min_cell"], table
    not_applicable = checks.loc[checks["table"].isin(["balance.csv", "reliability.csv"])
                                & (checks["rule"] == "dominance")]
    assert (not_applicable["result"] == "pass").all()
    assert not_applicable["reason"].str.startswith("dominance: not applicable").all()
    residual = checks.loc[(checks["table"] == "estimates.csv") & (checks["rule"] == "residual_df")]
    assert set(residual["result"]) <= {"pass", "fail"}


def test_check_reasons_give_no_exact_numbers_back(files):
    reasons = " ".join(_checks(files)["reason"])
    assert not re.search(r"residual df \d+(?!\d)", reasons.replace("at least 10", "")), reasons[:300]
    assert not re.search(r"\d+% of the cell total(?! \()", reasons.replace("at most 50%", ""))
    assert not re.search(r"=\d+", reasons)


def test_contribution_columns_appear_nowhere(files, bundle):
    from analysis.panel.participation import CONTRIBUTION_COLUMNS

    for name, data in files.items():
        text = _text_of(name, data).lower()
        assert "contrib_" not in text, name
        assert not any(col in text for col in CONTRIBUTION_COLUMNS), name
    for name in TABLES:
        header = pd.read_csv(io.BytesIO(files[name]), nrows=0).columns
        assert not {"largest", "second_largest", "total"} & set(header), name


def test_report_keeps_contributions_out_of_public_descriptives(tmp_path):
    from analysis.panel.participation import CONTRIBUTION_COLUMNS
    from analysis.reporting.report import build_report

    with make_store(tmp_path / "s.duckdb") as store:
        dashboard_tables = build_report(store, LOCAL, settings=Settings())
        tables = build_report(store, LOCAL, settings=Settings(), with_contributions=True)
    # dashboards never hold individual contributions, not even in the cached tables
    assert dashboard_tables.descriptive_contributions is None
    assert not set(CONTRIBUTION_COLUMNS) & set(dashboard_tables.descriptives.columns)
    assert not set(CONTRIBUTION_COLUMNS) & set(tables.descriptives.columns)
    contributions = tables.descriptive_contributions
    assert set(CONTRIBUTION_COLUMNS) <= set(contributions.columns)
    assert len(contributions) == len(tables.descriptives)
    shown = tables.descriptives["n"].fillna(0).astype(int) > 0
    assert contributions.loc[shown.to_numpy(), "contrib_total"].gt(0).all()


def test_dominated_cell_fails_and_is_blanked(tmp_path):
    """Two people hold more than half of a cell's total: the cell and its block are blanked."""
    from dataclasses import replace

    from analysis.reporting.report import build_report

    settings = Settings()
    export_settings = replace(settings, min_group_size=max(settings.export_min_cell, settings.min_group_size))
    with make_store(tmp_path / "s.duckdb") as store:
        tables = build_report(store, LOCAL, settings=export_settings, with_contributions=True)
        shown = tables.descriptives.loc[~tables.descriptives["suppressed"].astype(bool)
                                        & (tables.descriptives["site"] != "all")]
        target = shown.iloc[0]
        key = (target["outcome"], target["wave"], target["site"], target["group"])
        contributions = tables.descriptive_contributions.copy()
        at = ((contributions["outcome"] == key[0]) & (contributions["wave"] == key[1])
              & (contributions["site"] == key[2]) & (contributions["group"] == key[3]))
        assert at.sum() == 1
        total = float(contributions.loc[at, "contrib_total"].iloc[0])
        contributions.loc[at, ["contrib_largest", "contrib_second_largest"]] = [0.3 * total, 0.25 * total]
        bundle = build_export_bundle(store, LOCAL, settings=settings,
                                     tables=replace(tables, descriptive_contributions=contributions))
    row_key = f"outcome={key[0]}|wave={key[1]}|site={key[2]}|group={key[3]}"
    checks = bundle.checks
    dominance = checks.loc[(checks["table"] == "descriptives.csv") & (checks["rule"] == "dominance")]
    failed = dominance.loc[dominance["outcome"] == "fail"]
    assert failed["row_key"].tolist() == [row_key]
    assert "exceed 50%" in failed["reason"].iloc[0] and "55%" not in failed["reason"].iloc[0]
    archive = zipfile.ZipFile(io.BytesIO(bundle.zip_bytes))
    shipped = pd.read_csv(io.BytesIO(archive.read("descriptives.csv")))
    block = shipped.loc[(shipped["outcome"] == key[0]) & (shipped["wave"].astype(str) == str(key[1]))]
    cell = block.loc[(block["site"] == key[2]) & (block["group"] == key[3])].iloc[0]
    assert cell[["n", "mean", "sd", "ci_low", "ci_high", "share_high"]].isna().all()
    assert bool(cell["suppressed"]) and cell["status"] == "insufficient"
    # the rest of that outcome and wave goes too (no margin to subtract from)
    assert block[["n", "mean", "sd"]].isna().all().all() and block["suppressed"].all()
    complement = checks.loc[checks["rule"] == "dominance_complement"]
    assert len(complement) and (complement["outcome"] == "fail").all()
    # other blocks are untouched
    other = shipped.loc[(shipped["outcome"] != key[0]) & ~shipped["suppressed"]]
    assert other["mean"].notna().all()
    assert bundle.summary.loc[bundle.summary["rule"] == "dominance", "fail"].sum() == 1


def test_building_is_not_exporting_only_the_download_is_audited(tmp_path):
    from analysis.reporting.export import record_export

    with make_store(tmp_path / "s.duckdb") as store:
        bundle = build_export_bundle(store, LOCAL, settings=Settings())  # what opening the page does
        with store.cursor() as cur:
            before = cur.execute("SELECT count(*) FROM audit_log WHERE action = 'export'").fetchone()[0]
        record_export(store, LOCAL, bundle)                               # the download callback
        with store.cursor() as cur:
            after = cur.execute("SELECT outcome FROM audit_log WHERE action = 'export'").fetchall()
    assert before == 0 and [r[0] for r in after] == ["ok"]


def test_the_release_is_recorded_when_the_bundle_leaves_not_when_built(tmp_path):
    # Issue 13's release record (differencing over time) and issue 15's audit on download:
    # a bundle only built for the page is no release; the written or downloaded one is.
    from analysis.reporting.export import record_export

    def releases(store) -> int:
        with store.cursor() as cur:
            return cur.execute("SELECT count(*) FROM releases WHERE kind = 'export'").fetchone()[0]

    with make_store(tmp_path / "s.duckdb") as store:
        bundle = build_export_bundle(store, LOCAL, settings=Settings())
        built = releases(store)
        assert bundle.released and all(isinstance(n, int) for n in bundle.released.values())
        record_export(store, LOCAL, bundle)
        assert (built, releases(store)) == (0, 1)
