"""Consortium meta-analysis end to end: five organizations' bundles, made with
``python -m analysis export`` from seeded synthetic data, combined with ``python -m analysis
combine``; the ``did`` rows of pooled.csv checked against R's metafor.

The reference (``DID_REFERENCE``) was made once: the did estimates and standard errors of
these bundles (``yi``, ``sei``, stored below in display-label order) went through
``tooling/metafor_reference.R`` (metafor 3.8.1: ``rma(yi, sei = sei, method = "REML",
test = "knha")`` and ``predict()``). CI has no R, so the numbers are stored. The data are
deterministic (fixed seeds, fixed configuration); when the estimators or the synthetic
generator change on purpose, regenerate the reference with that script.
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


#: did estimates and standard errors of the five bundles, per (outcome, wave), as read
#: from the bundles (order of the display labels of the run that made them).
DID_DATA: dict[tuple[str, str], dict[str, list]] = {
    ('cbi_client', '2025-Q2'): {
        'organizations': ['Harbor Peer Network', 'Lakeshore Circle', 'Organization A', 'Organization B',
            'Organization C'],
        'yi': [-0.8369786143513609, -0.23480392156862773, -2.5970873786407767, -2.691645133505599,
            -2.7247782705099786],
        'sei': [2.1265517875948534, 2.502869833698275, 2.2981323698022686, 2.396376276342264,
            1.9729834605505812],
    },
    ('cbi_client', '2025-Q3'): {
        'organizations': ['Harbor Peer Network', 'Lakeshore Circle', 'Organization A',
            'Organization B'],
        'yi': [-2.705471611721611, -0.7841130604288504, -1.3212242101869756, -2.75005348737698],
        'sei': [2.371241651815994, 2.610553730370433, 2.1370015417141, 2.193510413304666],
    },
    ('cbi_personal', '2025-Q2'): {
        'organizations': ['Harbor Peer Network', 'Lakeshore Circle', 'Organization A', 'Organization B',
            'Organization C'],
        'yi': [1.9834747260516086, 1.7269607843137256, -5.069275889967637, -4.3659560723514215,
            -6.199741315594974],
        'sei': [2.504789821134178, 2.5514670677023132, 2.3284298162259747, 2.464591434635068,
            2.3681150322746025],
    },
    ('cbi_personal', '2025-Q3'): {
        'organizations': ['Harbor Peer Network', 'Lakeshore Circle', 'Organization A',
            'Organization B'],
        'yi': [-2.7336118742368747, 2.8469785575048725, -3.975257898130238, -3.8360255313079445],
        'sei': [2.174605773306564, 2.109466265951404, 2.4421042915651214, 2.1607012220842847],
    },
    ('cbi_work', '2025-Q2'): {
        'organizations': ['Harbor Peer Network', 'Lakeshore Circle', 'Organization A', 'Organization B',
            'Organization C'],
        'yi': [0.02843634802807593, 1.0278011204481798, -6.053947064262597, -5.652300972068414,
            -9.948395100834126],
        'sei': [2.1128687004570317, 2.4587662105626062, 2.306487421591847, 2.070377774656039,
            2.350538863889894],
    },
    ('cbi_work', '2025-Q3'): {
        'organizations': ['Harbor Peer Network', 'Lakeshore Circle', 'Organization A',
            'Organization B'],
        'yi': [-2.4925322693179837, -1.1542745753272066, -6.865271253569127, -8.86392811296534],
        'sei': [2.290506722898206, 2.433992325251581, 2.399896682875602, 1.8912826733024988],
    },
    ('miniz_burnout', '2025-Q2'): {
        'organizations': ['Harbor Peer Network', 'Lakeshore Circle', 'Organization A', 'Organization B',
            'Organization C'],
        'yi': [-0.04442456768038163, 0.39444444444444443, 0.08896551724137931, -0.17561121049493145,
            -0.3190883190883191],
        'sei': [0.19343590728538698, 0.23202893686450007, 0.21067470964857812, 0.21507550708249742,
            0.19354368798913074],
    },
    ('miniz_burnout', '2025-Q3'): {
        'organizations': ['Harbor Peer Network', 'Lakeshore Circle', 'Organization A',
            'Organization B'],
        'yi': [0.002527805864509597, -0.1581196581196581, -0.17424242424242425, -0.2761569416498994],
        'sei': [0.18436041499696196, 0.23597427932798537, 0.2088483237664896, 0.19494621379204125],
    },
    ('ucla3_loneliness', '2025-Q2'): {
        'organizations': ['Harbor Peer Network', 'Lakeshore Circle', 'Organization A', 'Organization B',
            'Organization C'],
        'yi': [-0.44107744107744107, -0.26016260162601623, 0.0492063492063492, 0.03167808219178081,
            -0.5232142857142857],
        'sei': [0.299960306249045, 0.2608651317809281, 0.3238768618979535, 0.3384065269183625,
            0.3371184695939351],
    },
    ('ucla3_loneliness', '2025-Q3'): {
        'organizations': ['Harbor Peer Network', 'Lakeshore Circle', 'Organization A',
            'Organization B'],
        'yi': [-0.06644736842105263, -0.46291666666666664, -0.37122736418511065, -0.2828282828282829],
        'sei': [0.29633242100456036, 0.29427986816551344, 0.29278326695965323, 0.28399489954330237],
    },
}

#: metafor 3.8.1 on DID_DATA: rma(yi, sei = sei, method = M, test = "knha") and predict().
DID_REFERENCE: dict[str, dict[tuple[str, str], dict[str, float]]] = {
    'REML': {
        ('cbi_client', '2025-Q2'): {
            'estimate': -1.88085824642779, 'std_error': 0.516439239800398, 'ci_low': -3.31472344590367,
                'ci_high': -0.446993046951902, 'p_value': 0.0219263596890485, 'tau2': 0, 'i2': 0,
                'h2': 1, 'q': 1.06805079273938, 'q_p_value': 0.89930760644798,
                'pi_low': -3.31472344590367, 'pi_high': -0.446993046951902,
        },
        ('cbi_client', '2025-Q3'): {
            'estimate': -1.93918954302698, 'std_error': 0.4805156033307, 'ci_low': -3.46840464947794,
                'ci_high': -0.409974436576019, 'p_value': 0.027364918949839, 'tau2': 0, 'i2': 0,
                'h2': 1, 'q': 0.520478439862134, 'q_p_value': 0.914369896554025,
                'pi_low': -3.46840464947794, 'pi_high': -0.409974436576019,
        },
        ('cbi_personal', '2025-Q2'): {
            'estimate': -2.46610189681483, 'std_error': 1.75030812639687, 'ci_low': -7.32573632693733,
                'ci_high': 2.39353253330768, 'p_value': 0.231635828537558, 'tau2': 9.25679899341267,
                'i2': 60.8461858693544, 'h2': 2.55402959380476, 'q': 10.1731156140206,
                'q_p_value': 0.0376103836574406, 'pi_low': -12.2115339802379,
                'pi_high': 7.27933018660823,
        },
        ('cbi_personal', '2025-Q3'): {
            'estimate': -1.84107555277016, 'std_error': 1.63335467873695, 'ci_low': -7.03913911533442,
                'ci_high': 3.3569880097941, 'p_value': 0.341682876218511, 'tau2': 6.02073425724143,
                'i2': 55.0896133017429, 'h2': 2.22665640070921, 'q': 6.7159002922793,
                'q_p_value': 0.0815259457992296, 'pi_low': -11.2217816849079,
                'pi_high': 7.5396305793676,
        },
        ('cbi_work', '2025-Q2'): {
            'estimate': -4.12341652232367, 'std_error': 2.03145227562587, 'ci_low': -9.76363224942804,
                'ci_high': 1.51679920478071, 'p_value': 0.112239835691115, 'tau2': 15.2467290725645,
                'i2': 75.0685523096752, 'h2': 4.01099852852937, 'q': 15.6375741240268,
                'q_p_value': 0.00354611470986623, 'pi_low': -16.3440422104841,
                'pi_high': 8.09720916583682,
        },
        ('cbi_work', '2025-Q3'): {
            'estimate': -5.00370567426755, 'std_error': 1.82951023693038, 'ci_low': -10.8260237682654,
                'ci_high': 0.81861241973025, 'p_value': 0.0716389044890234, 'tau2': 8.67017717644566,
                'i2': 63.4062989165735, 'h2': 2.73271074090099, 'q': 8.37842474233286,
                'q_p_value': 0.0388051856045622, 'pi_low': -16.0359599551561,
                'pi_high': 6.02854860662103,
        },
        ('miniz_burnout', '2025-Q2'): {
            'estimate': -0.0275493368157122, 'std_error': 0.118714628499302,
                'ci_low': -0.357153986027973, 'ci_high': 0.302055312396548,
                'p_value': 0.827877857100806, 'tau2': 0.024028680398538, 'i2': 35.7171996615306,
                'h2': 1.55562606908019, 'q': 6.35599631425123, 'q_p_value': 0.174092948592537,
                'pi_low': -0.569645130928559, 'pi_high': 0.514546457297134,
        },
        ('miniz_burnout', '2025-Q3'): {
            'estimate': -0.145172652933077, 'std_error': 0.0620405902004802,
                'ci_low': -0.342613499994216, 'ci_high': 0.052268194128062,
                'p_value': 0.101225172220753, 'tau2': 0, 'i2': 0, 'h2': 1, 'q': 1.11567579372289,
                'q_p_value': 0.77329129589252, 'pi_low': -0.342613499994216,
                'pi_high': 0.052268194128062,
        },
        ('ucla3_loneliness', '2025-Q2'): {
            'estimate': -0.237989022855549, 'std_error': 0.110935220713434,
                'ci_low': -0.545994573399399, 'ci_high': 0.0700165276883013,
                'p_value': 0.0985001105169793, 'tau2': 0, 'i2': 0, 'h2': 1, 'q': 2.60277386874885,
                'q_p_value': 0.626331823873327, 'pi_low': -0.545994573399399,
                'pi_high': 0.0700165276883013,
        },
        ('ucla3_loneliness', '2025-Q3'): {
            'estimate': -0.296586802366173, 'std_error': 0.0837913300174857,
                'ci_low': -0.563248210995128, 'ci_high': -0.0299253937372176,
                'p_value': 0.0383750050765824, 'tau2': 0, 'i2': 0, 'h2': 1, 'q': 0.989948566089674,
                'q_p_value': 0.803684089066592, 'pi_low': -0.563248210995128,
                'pi_high': -0.0299253937372176,
        },
    },
    'DL': {
        ('cbi_client', '2025-Q2'): {
            'estimate': -1.88085824642779, 'std_error': 0.516439239800398, 'ci_low': -3.31472344590367,
                'ci_high': -0.446993046951902, 'p_value': 0.0219263596890485, 'tau2': 0, 'i2': 0,
                'h2': 1, 'q': 1.06805079273938, 'q_p_value': 0.89930760644798,
                'pi_low': -3.31472344590367, 'pi_high': -0.446993046951902,
        },
        ('cbi_client', '2025-Q3'): {
            'estimate': -1.93918954302698, 'std_error': 0.4805156033307, 'ci_low': -3.46840464947794,
                'ci_high': -0.409974436576019, 'p_value': 0.027364918949839, 'tau2': 0, 'i2': 0,
                'h2': 1, 'q': 0.520478439862134, 'q_p_value': 0.914369896554025,
                'pi_low': -3.46840464947794, 'pi_high': -0.409974436576019,
        },
        ('cbi_personal', '2025-Q2'): {
            'estimate': -2.46644415347466, 'std_error': 1.75028201209199, 'ci_low': -7.3260060786632,
                'ci_high': 2.39311777171389, 'p_value': 0.231576528143236, 'tau2': 9.19276097281087,
                'i2': 60.6806788425054, 'h2': 2.54327890350516, 'q': 10.1731156140206,
                'q_p_value': 0.0376103836574406, 'pi_low': -12.1864799188661,
                'pi_high': 7.25359161191675,
        },
        ('cbi_personal', '2025-Q3'): {
            'estimate': -1.84151059247295, 'std_error': 1.63325883853038, 'ci_low': -7.03926914872592,
                'ci_high': 3.35624796378002, 'p_value': 0.341562274559117, 'tau2': 6.07952049524883,
                'i2': 55.3298907154883, 'h2': 2.23863343075977, 'q': 6.7159002922793,
                'q_p_value': 0.0815259457992296, 'pi_low': -11.2537293360517,
                'pi_high': 7.57070815110579,
        },
        ('cbi_work', '2025-Q2'): {
            'estimate': -4.12346470041582, 'std_error': 2.03105943090213, 'ci_low': -9.76258971570987,
                'ci_high': 1.51566031487823, 'p_value': 0.11218667020258, 'tau2': 14.7322340122154,
                'i2': 74.4205848792487, 'h2': 3.9093935310067, 'q': 15.6375741240268,
                'q_p_value': 0.00354611470986623, 'pi_low': -16.180219184077,
                'pi_high': 7.93328978324538,
        },
        ('cbi_work', '2025-Q3'): {
            'estimate': -5.00003666893768, 'std_error': 1.8291454725412, 'ci_low': -10.8211939198529,
                'ci_high': 0.821120581977499, 'p_value': 0.0717269424181573, 'tau2': 8.97089443830207,
                'i2': 64.1937465303926, 'h2': 2.79280824744429, 'q': 8.37842474233286,
                'q_p_value': 0.0388051856045622, 'pi_low': -16.1688670472175,
                'pi_high': 6.16879370934212,
        },
        ('miniz_burnout', '2025-Q2'): {
            'estimate': -0.0272242825846958, 'std_error': 0.118781386824064,
                'ci_low': -0.357014282620973, 'ci_high': 0.302565717451581,
                'p_value': 0.829958255537194, 'tau2': 0.02547193409634, 'i2': 37.0673014546702,
                'h2': 1.58899907856281, 'q': 6.35599631425123, 'q_p_value': 0.174092948592537,
                'pi_low': -0.579596985778415, 'pi_high': 0.525148420609023,
        },
        ('miniz_burnout', '2025-Q3'): {
            'estimate': -0.145172652933077, 'std_error': 0.0620405902004802,
                'ci_low': -0.342613499994216, 'ci_high': 0.052268194128062,
                'p_value': 0.101225172220753, 'tau2': 0, 'i2': 0, 'h2': 1, 'q': 1.11567579372289,
                'q_p_value': 0.77329129589252, 'pi_low': -0.342613499994216,
                'pi_high': 0.052268194128062,
        },
        ('ucla3_loneliness', '2025-Q2'): {
            'estimate': -0.237989022855549, 'std_error': 0.110935220713434,
                'ci_low': -0.545994573399399, 'ci_high': 0.0700165276883013,
                'p_value': 0.0985001105169793, 'tau2': 0, 'i2': 0, 'h2': 1, 'q': 2.60277386874885,
                'q_p_value': 0.626331823873327, 'pi_low': -0.545994573399399,
                'pi_high': 0.0700165276883013,
        },
        ('ucla3_loneliness', '2025-Q3'): {
            'estimate': -0.296586802366173, 'std_error': 0.0837913300174857,
                'ci_low': -0.563248210995128, 'ci_high': -0.0299253937372176,
                'p_value': 0.0383750050765824, 'tau2': 0, 'i2': 0, 'h2': 1, 'q': 0.989948566089674,
                'q_p_value': 0.803684089066592, 'pi_low': -0.563248210995128,
                'pi_high': -0.0299253937372176,
        },
    },
}


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
    assert present == set(DID_DATA)
    for key, data in DID_DATA.items():
        rows = did.loc[(did["outcome"] == key[0]) & (did["wave"] == key[1])]
        named = {o for o in data["organizations"] if not o.startswith("Organization ")}
        assert len(rows) == len(data["yi"]) and named <= set(rows["organization"]), key
        # anonymous letters follow the manifests' hashes, which change with the export time
        # stamped into results.xlsx: compare as sets of (estimate, standard error)
        got = np.array(sorted(zip(rows["estimate"], rows["std_error"])))
        want = np.array(sorted(zip(data["yi"], data["sei"])))
        np.testing.assert_allclose(got, want, rtol=1e-9, err_msg=f"{key}: bundles changed, regenerate")
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
    assert set(shipped["df_class"]) <= {"10-29", "30-99", "100-299", "300+"}
    assert estimates.loc[estimates["analysis"] == "high_burnout_rd", "std_error"].isna().all()
    did = shipped.loc[shipped["analysis"] == "did"].iloc[0]
    assert did["ci_high"] - did["ci_low"] == pytest.approx(2 * 1.96 * did["std_error"], rel=0.05)
    assert set(estimates["organization"]) == {"Harbor Peer Network"}
    assert estimates["scale_version"].str.match(r"^[a-z0-9_]+@[0-9a-f]{8}$").all()
    assert set(estimates["months_since_baseline"]) == {3, 6}
    assert manifest["app_version"] and manifest["format"].startswith("peer-program-impact-bundle")
    assert manifest["export_settings"]["organization"] == "Harbor Peer Network"
    assert manifest["export_settings"]["min_cell"] == 10
    assert config["consortium"] == {"organization": "Harbor Peer Network", "program_type": "group",
                                    "size_band": "50-199"}


@pytest.mark.parametrize("value, expected", [(None, None), (9.9, None), (10, "10-29"), (29.5, "10-29"),
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
