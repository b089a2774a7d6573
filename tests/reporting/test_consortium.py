"""Consortium meta-analysis end to end: five organizations' bundles, made with
``python -m analysis export`` from seeded synthetic data, combined with ``python -m analysis
combine``; the ``did`` rows of pooled.csv checked against R's metafor.

The reference (``consortium_reference.json``) is made by ``python -m
tooling.consortium_reference``: it builds these bundles, takes the did estimates and
standard errors (``yi``, ``sei``) and runs them through ``tooling/metafor_reference.R``
(metafor: ``rma(yi, sei = sei, method = "REML" or "DL", test = "knha")`` and
``predict()``). CI has no R, so the numbers are stored. The data are deterministic (fixed
seeds, fixed configuration, bundles carry no export time); when the estimators or the
synthetic generator change on purpose, rebuild the reference with that command.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from streamlit.testing.v1 import AppTest

from analysis.__main__ import main
from analysis.access.scope import Scope
from analysis.reporting import consortium
from analysis.reporting.bundle_fields import ANONYMOUS, df_class, manifest_bytes, verify_manifest_bytes
from tooling.synthetic import SyntheticConfig, generate, write_csv
from ui import auth

#: The five organizations: seed, waves, effect multiplier (so that they differ), label,
#: program type. The third has no third wave: those rows pool four bundles.
ORGANIZATIONS: tuple[tuple[int, int, float, str, str], ...] = (
    (1801, 3, 0.4, "Harbor Peer Network", "group"),
    (1802, 3, 1.0, ANONYMOUS, "online"),
    (1803, 2, 1.8, ANONYMOUS, "group"),
    (1804, 3, 0.7, "Lakeshore Circle", "mixed"),
    (1805, 3, 1.3, ANONYMOUS, "online"),
)
N_PEOPLE = 160
RTOL = 1e-6
#: pooled.csv columns checked against metafor (every number of the row).
CHECKED = ("estimate", "std_error", "ci_low", "ci_high", "p_value", "tau2", "i2", "q", "q_p_value",
           "pi_low", "pi_high")


def organization_config(seed: int, waves: int, multiplier: float) -> SyntheticConfig:
    """The synthetic data of one organization."""
    base = SyntheticConfig(n_people=N_PEOPLE, n_waves=waves, seed=seed)
    effects = tuple((name, value * multiplier) for name, value in base.effect_per_session)
    return replace(base, effect_per_session=effects)


def make_bundles(folder: Path) -> list[Path]:
    """Ingest and export each organization with the command line (in process)."""
    paths = []
    for seed, waves, multiplier, label, program in ORGANIZATIONS:
        home = folder / f"org{seed}"
        survey, attendance = write_csv(generate(organization_config(seed, waves, multiplier)), home)
        db, bundle = str(home / "db.duckdb"), home / "bundle.zip"
        assert main(["ingest", "--db", db, "--survey", str(survey), "--attendance", str(attendance)]) == 0
        assert main(["export", "--db", db, "--out", str(bundle), "--org-label", label,
                     "--program-type", program]) == 0
        paths.append(bundle)
    return paths


#: did rows of the five bundles (``yi``, ``sei`` per ``"outcome|wave"``, in display-label order)
#: and metafor's numbers on them; rebuilt by ``python -m tooling.consortium_reference``.
REFERENCE_FILE = Path(__file__).with_name("consortium_reference.json")
REGENERATE = ("the did rows of the bundles changed; if the estimators or the synthetic generator "
              "changed on purpose, rebuild the reference: python -m tooling.consortium_reference")


def _keyed(table: dict) -> dict:
    return {tuple(key.split("|")): value for key, value in table.items()}


_STORED = json.loads(REFERENCE_FILE.read_text(encoding="utf-8"))
DID_DATA: dict[tuple[str, str], dict[str, list]] = _keyed(_STORED["did_data"])
DID_REFERENCE: dict[str, dict[tuple[str, str], dict[str, float]]] = {
    method: _keyed(values) for method, values in _STORED["reference"].items()}


@pytest.fixture(scope="module")
def bundle_paths(tmp_path_factory) -> list[Path]:
    return make_bundles(tmp_path_factory.mktemp("consortium"))


@pytest.fixture(scope="module")
def combined(bundle_paths, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("combined") / "out"
    assert main(["combine", "--out", str(out), *map(str, bundle_paths)]) == 0
    return out


def read_all(paths: list[Path]) -> list[consortium.Bundle]:
    return consortium.read_bundles([(str(p), p.read_bytes()) for p in paths])


def rezip(data: bytes, changes: dict[str, bytes]) -> bytes:
    """The bundle with some files' bytes replaced (the manifest left as it was)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            out.writestr(info, changes.get(info.filename, source.read(info)))
    return buffer.getvalue()


def test_did_rows_of_pooled_csv_match_metafor(bundle_paths, combined) -> None:
    """Done when: every did outcome and wave present in >= 2 bundles matches metafor to 1e-6."""
    studies = consortium.study_table(read_all(bundle_paths))
    did = studies.loc[studies["analysis"] == "did"]
    present = {key for key, group in did.groupby(["outcome", "wave"]) if len(group) >= 2}
    assert present == set(DID_DATA), REGENERATE
    for key, data in DID_DATA.items():
        rows = did.loc[(did["outcome"] == key[0]) & (did["wave"] == key[1])]
        named = {o for o in data["organizations"] if not o.startswith("Organization ")}
        assert len(rows) == len(data["yi"]) and named <= set(rows["organization"]), f"{key}: {REGENERATE}"
        # anonymous letters follow the manifests' hashes, which differ between fresh ingests
        # (config.json's data version): compare as sets of (estimate, standard error)
        got = np.array(sorted(zip(rows["estimate"], rows["std_error"])))
        want = np.array(sorted(zip(data["yi"], data["sei"])))
        np.testing.assert_allclose(got, want, rtol=1e-9, err_msg=f"{key}: {REGENERATE}")
    pooled = pd.read_csv(combined / "pooled.csv", dtype={"wave": str})
    pooled_did = pooled.loc[pooled["analysis"] == "did"]
    assert set(zip(pooled_did["outcome"], pooled_did["wave"])) == set(DID_DATA)
    for key, expected in DID_REFERENCE["REML"].items():
        row = pooled_did.loc[(pooled_did["outcome"] == key[0]) & (pooled_did["wave"] == key[1])].iloc[0]
        assert row["k"] == len(DID_DATA[key]["yi"]) and row["method"] == "REML" and row["test"] == "knha"
        for field in CHECKED:
            np.testing.assert_allclose(row[field], expected[field], rtol=RTOL, atol=1e-9, err_msg=f"{key} {field}")
    assert any(v["tau2"] > 0 for v in DID_REFERENCE["REML"].values())
    assert any(v["tau2"] == 0 for v in DID_REFERENCE["REML"].values())


def test_dersimonian_laird_matches_metafor(bundle_paths) -> None:
    result = consortium.combine(read_all(bundle_paths), method="DL")
    did = result.pooled.loc[result.pooled["analysis"] == "did"].set_index(["outcome", "wave"])
    for key, expected in DID_REFERENCE["DL"].items():
        for field in CHECKED:
            np.testing.assert_allclose(did.loc[key, field], expected[field], rtol=RTOL, atol=1e-9,
                                       err_msg=f"{key} {field}")


def test_bundle_carries_what_a_meta_analysis_needs(bundle_paths) -> None:
    with zipfile.ZipFile(bundle_paths[0]) as archive:
        estimates = pd.read_csv(io.BytesIO(archive.read("estimates.csv")))
        manifest = verify_manifest_bytes(archive.read("manifest.json"))
        config = json.loads(archive.read("config.json"))
    assert "residual_df" not in estimates.columns
    shipped = estimates.loc[estimates["std_error"].notna()]
    assert set(shipped["df_class"]) <= {"under 10", "10-29", "30-99", "100-299", "300+"}
    assert estimates.loc[estimates["analysis"] == "high_burnout_rd", "std_error"].isna().all()
    # every did row ships (CR2 by site: Satterthwaite df under 10, model residual df far above)
    did = estimates.loc[estimates["analysis"] == "did"]
    assert did["std_error"].gt(0).all() and set(did["df_class"]) == {"under 10"}
    t_quantile = (did["ci_high"] - did["ci_low"]) / (2 * did["std_error"])
    assert t_quantile.gt(stats.t.ppf(0.975, 10)).all() and t_quantile.lt(stats.t.ppf(0.975, 1)).all()
    assert set(estimates["organization"]) == {"Harbor Peer Network"}
    assert estimates["scale_version"].str.match(r"^[a-z0-9_]+@[0-9a-f]{8}$").all()
    assert set(estimates["months_since_baseline"]) == {3, 6}
    assert manifest["app_version"] and manifest["format"].startswith("peer-program-impact-bundle")
    assert manifest["export_settings"]["organization"] == "Harbor Peer Network"
    assert manifest["export_settings"]["min_cell"] == 10
    assert config["consortium"] == {"organization": "Harbor Peer Network", "program_type": "group",
                                    "size_band": "50-199"}


@pytest.mark.parametrize("value, expected", [(None, None), (0, None), (4.6, "under 10"),
                                             (9.9, "under 10"), (10, "10-29"), (29.5, "10-29"),
                                             (30, "30-99"), (299, "100-299"), (300, "300+")])
def test_df_class_bands(value, expected) -> None:
    assert df_class(value) == expected


@pytest.mark.parametrize("member", ["estimates.csv", "config.json", "manifest.json"])
def test_one_changed_byte_is_refused_with_exit_2_and_nothing_written(bundle_paths, tmp_path, capsys,
                                                                     member) -> None:
    data = bundle_paths[2].read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        content = bytearray(archive.read(member))
    position = content.index(b"0") if member != "manifest.json" else content.index(b'"0.')
    content[position + (member == "manifest.json")] ^= 0x01  # '0' -> '1': one byte
    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(rezip(data, {member: bytes(content)}))
    out = tmp_path / "out"
    code = main(["combine", "--out", str(out), str(bundle_paths[0]), str(tampered), str(bundle_paths[1])])
    error = capsys.readouterr().err
    assert code == 2
    assert f"{tampered}: {member}" in error if member != "manifest.json" else "manifest" in error
    assert "Nothing was written" in error and not out.exists()


def test_any_changed_byte_of_the_zip_file_is_refused(bundle_paths) -> None:
    """Not only the files' contents: headers, directory and end record are checked too."""
    data = bundle_paths[3].read_bytes()
    consortium.read_bundle(data, "b")  # the untouched bundle reads
    positions = [*np.random.default_rng(18).choice(len(data), size=300, replace=False),
                 *range(0, 46), *range(len(data) - 22 - 70, len(data))]  # first header; last record, end
    for position in positions:
        flipped = bytearray(data)
        flipped[position] ^= 0xFF
        with pytest.raises(consortium.BundleRefused):
            consortium.read_bundle(bytes(flipped), "b")


def test_the_same_bundle_twice_or_a_label_twice_is_refused(bundle_paths, tmp_path, capsys) -> None:
    first = str(bundle_paths[0])
    assert main(["combine", "--out", str(tmp_path / "a"), first, first]) == 2
    assert "the same bundle" in capsys.readouterr().err
    again = _exported_again(bundle_paths[3].read_bytes())
    with pytest.raises(consortium.BundleRefused, match="'Lakeshore Circle' is also in z.zip"):
        consortium.read_bundles([("z.zip", bundle_paths[3].read_bytes()), ("w.zip", again)])


def _exported_again(data: bytes) -> bytes:
    """The same organization exported again (a different bundle with the same label)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {info.filename: archive.read(info) for info in archive.infolist()}
    files["methods.md"] += b"\n"
    manifest = json.loads(files.pop("manifest.json"))
    files["manifest.json"] = manifest_bytes(files, manifest["export_settings"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # as the export writes
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, content)
    return buffer.getvalue()


def test_missing_file_or_single_bundle_is_refused(bundle_paths, tmp_path, capsys) -> None:
    assert main(["combine", "--out", str(tmp_path / "o"), str(bundle_paths[0]), str(tmp_path / "no.zip")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["combine", "--out", str(tmp_path / "o"), str(bundle_paths[0])]) == 2
    assert "at least two" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_anonymous_organizations_are_lettered_by_manifest_hash_not_input_order(bundle_paths) -> None:
    forward = read_all(bundle_paths)
    backward = read_all(bundle_paths[::-1])
    by_fingerprint = dict(zip((b.fingerprint for b in forward), consortium.display_labels(forward)))
    assert dict(zip((b.fingerprint for b in backward), consortium.display_labels(backward))) == by_fingerprint
    assert sorted(by_fingerprint.values()) == ["Harbor Peer Network", "Lakeshore Circle",
                                               "Organization A", "Organization B", "Organization C"]


def test_outputs_never_name_a_bundle_file(combined, bundle_paths) -> None:
    text = "".join(path.read_text(encoding="utf-8") for path in combined.iterdir())
    for path in bundle_paths:
        assert path.parent.name not in text and str(path) not in text
    assert "Hartung-Knapp-Sidik-Jonkman" in text and "Organization A" in text


def test_waves_align_by_months_when_labels_differ(bundle_paths) -> None:
    bundles = read_all(bundle_paths)
    renamed = [replace(b, estimates=b.estimates.assign(wave=b.estimates["wave"].str.replace("2025", "2024")))
               if i == 0 else b for i, b in enumerate(bundles)]
    by_label = consortium.combine(renamed, align="labels").pooled
    by_month = consortium.combine(renamed, align="months").pooled
    did_label = by_label.loc[(by_label["analysis"] == "did") & (by_label["outcome"] == "cbi_work")]
    did_month = by_month.loc[(by_month["analysis"] == "did") & (by_month["outcome"] == "cbi_work")]
    assert sorted(did_label["k"]) == [3, 4] and set(did_label["wave"]) == {"2025-Q2", "2025-Q3"}
    assert sorted(did_month["k"]) == [4, 5] and set(did_month["wave"]) == {"month 3", "month 6"}


def test_rare_descriptors_of_anonymous_organizations_are_withheld(bundle_paths) -> None:
    bundles = read_all(bundle_paths)
    labels = consortium.display_labels(bundles)
    odd = labels.index("Organization B")
    changed = [replace(b, size_band="1000+") if i == odd else b for i, b in enumerate(bundles)]
    shown = consortium.public_studies(consortium.study_table(changed))
    rows = shown.drop_duplicates("organization").set_index("organization")
    assert rows.loc["Organization B", "size_band"] == consortium.WITHHELD
    assert rows.loc["Lakeshore Circle", "program_type"] == "mixed"  # labelled: chose to be seen
    assert rows.loc["Organization A", "size_band"] == "50-199"


def test_meta_regression_only_when_k_allows() -> None:
    small = pd.DataFrame({"program_type": ["group", "online"] * 3, "size_band": ["a"] * 6})
    assert consortium.regression_descriptors(small) == []
    rng = np.random.default_rng(3)
    large = pd.DataFrame({"program_type": ["group", "online"] * 10, "size_band": ["a", "a", "b", "b"] * 5,
                          "estimate": rng.normal(-2, 1, 20), "std_error": rng.uniform(0.5, 1.5, 20)})
    assert consortium.regression_descriptors(large) == ["program_type", "size_band"]
    assert consortium.regression_descriptors(large.iloc[:12]) == ["program_type"]
    lonely = large.assign(program_type=["solo"] + ["group"] * 19)
    assert consortium.regression_descriptors(lonely) == ["size_band"]


# ------------------------------------------------------------------ the researchers' page

PAGE = Path(__file__).resolve().parents[2] / "screens" / "consortium.py"


def _page(scope) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state[auth.SCOPE_KEY] = scope
    at.session_state[auth.METHOD_KEY] = "local"
    return at.run()


def test_page_pools_uploaded_bundles_and_draws_forest_and_funnel(bundle_paths) -> None:
    at = _page(Scope(role="researcher", user="r"))
    assert not at.exception and at.info  # asks for bundles first
    at.file_uploader(key="bundles").set_value(
        [(f"{p.parent.name}.zip", p.read_bytes(), "application/zip") for p in bundle_paths]).run()
    assert not at.exception and not at.error
    assert "5 bundles verified" in at.success[0].value
    assert len(at.get("plotly_chart")) == 2
    shown = " ".join(str(e.value) for e in at.markdown) + " ".join(
        str(d.value.to_csv()) for d in at.dataframe)
    assert "org1802" not in shown and "Organization A" in shown


def test_page_refuses_a_changed_bundle_and_combines_nothing(bundle_paths) -> None:
    data = bundle_paths[1].read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        estimates = archive.read("estimates.csv").replace(b"did,", b"dId,", 1)
    at = _page(Scope(role="researcher", user="r"))
    at.file_uploader(key="bundles").set_value([
        ("a.zip", bundle_paths[0].read_bytes(), "application/zip"),
        ("b.zip", rezip(data, {"estimates.csv": estimates}), "application/zip")]).run()
    assert not at.exception
    assert "b.zip: estimates.csv changed after export" in at.error[0].value
    assert not at.success and not at.get("plotly_chart")


def test_page_is_refused_to_a_role_without_researcher_outputs(bundle_paths) -> None:
    at = _page(Scope(role="leadership", user="l"))
    at.file_uploader(key="bundles").set_value(
        [(f"{p.parent.name}.zip", p.read_bytes(), "application/zip") for p in bundle_paths[:2]]).run()
    assert not at.exception and not at.success and not at.get("plotly_chart")


def test_export_page_lets_the_organization_choose_its_label(bundle_paths, monkeypatch) -> None:
    import streamlit as st

    from analysis.access.scope import LOCAL
    from analysis.storage.store import DB_ENV

    monkeypatch.setenv(DB_ENV, str(bundle_paths[0].parent / "db.duckdb"))
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(PAGE.parent / "export.py"), default_timeout=120)
        at.session_state[auth.SCOPE_KEY] = LOCAL
        at.session_state[auth.METHOD_KEY] = "local"
        at.run()
        assert not at.exception and at.text_input[0].value == ANONYMOUS
        at.text_input[0].set_value('Bad "label"').run()
        assert at.error and not at.get("download_button")
        at.text_input[0].set_value("Harbor Peer Network").run()
        assert not at.exception and not at.error and at.get("download_button")
    finally:
        st.cache_resource.clear()


def test_forest_and_funnel_plots_show_display_labels_only(bundle_paths) -> None:
    from analysis.views.consortium_figures import forest_plot, funnel_plot, group_rows

    result = consortium.combine(read_all(bundle_paths))
    rows, pooled = group_rows(result.studies, result.pooled, "did", "cbi_work", "2025-Q2")
    forest = forest_plot(rows, pooled, "cbi_work")
    names = set(forest.figure.data[0].y)
    assert names == set(consortium.display_labels(read_all(bundle_paths)))
    assert len(forest.figure.data) == 3  # organizations, pooled diamond, prediction interval
    assert forest.table["weight_percent"].sum() == pytest.approx(100)
    assert f"I² {pooled['i2']:.0f}%" in forest.alt
    funnel = funnel_plot(rows, pooled, "cbi_work")
    assert list(funnel.figure.data[0].y) == list(rows["std_error"])
    assert "needs at least 10" in funnel.alt


def test_results_workbook_carries_no_export_time(bundle_paths) -> None:
    from analysis.reporting.bundle_zip import XLSX_DATE

    with zipfile.ZipFile(bundle_paths[0]) as archive:
        book = archive.read("results.xlsx")
    with zipfile.ZipFile(io.BytesIO(book)) as workbook:
        core = workbook.read("docProps/core.xml").decode()
        assert {info.date_time for info in workbook.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert core.count(XLSX_DATE) == 2 and "2026" not in core
