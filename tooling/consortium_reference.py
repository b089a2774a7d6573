"""Rebuild the metafor reference of the consortium test (tests/reporting/consortium_reference.json).

    python -m tooling.consortium_reference

Makes the five organizations' bundles exactly as ``tests/reporting/test_consortium.py``
does (same seeds, same command line), reads the ``did`` estimates and standard errors of
every outcome and wave present in at least two bundles (``yi``, ``sei``), runs them
through ``tooling/metafor_reference.R`` (metafor: ``rma(yi, sei = sei, method = M,
test = "knha")`` and ``predict()``, M = REML and DL) and writes the JSON the test reads.
Run it when the estimators or the synthetic generator change on purpose; needs Rscript
with metafor and jsonlite.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "reporting" / "consortium_reference.json"
SCRIPT = ROOT / "tooling" / "metafor_reference.R"
METHODS = ("REML", "DL")


def did_data(studies: pd.DataFrame) -> dict[str, dict[str, list]]:
    """``"outcome|wave"`` → organizations, yi, sei of the did rows present in >= 2 bundles."""
    did = studies.loc[(studies["analysis"] == "did") & studies["std_error"].notna()]
    data = {}
    for (outcome, wave), group in did.groupby(["outcome", "wave"]):
        if len(group) >= 2:
            group = group.sort_values("organization")
            data[f"{outcome}|{wave}"] = {"organizations": list(group["organization"]),
                                         "yi": [float(v) for v in group["estimate"]],
                                         "sei": [float(v) for v in group["std_error"]]}
    return data


def metafor(data: dict[str, dict[str, list]], folder: Path) -> dict[str, dict[str, dict[str, float]]]:
    """method → ``"outcome|wave"`` → metafor's numbers (``tooling/metafor_reference.R``)."""
    source = folder / "did.json"
    source.write_text(json.dumps({k: {"yi": v["yi"], "sei": v["sei"]} for k, v in data.items()}))
    run = subprocess.run(["Rscript", str(SCRIPT), str(source)], capture_output=True, text=True,
                         check=True, timeout=600)
    fitted = json.loads(run.stdout)
    return {m: {key: fitted[key][m] for key in data} for m in METHODS}


def metafor_version() -> str:
    run = subprocess.run(["Rscript", "-e", 'cat(as.character(packageVersion("metafor")))'],
                         capture_output=True, text=True, check=True, timeout=120)
    return run.stdout.strip()


def main() -> int:
    from analysis.reporting import consortium  # noqa: PLC0415
    from tests.reporting.test_consortium import make_bundles, read_all  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        paths = make_bundles(Path(tmp))
        data = did_data(consortium.study_table(read_all(paths)))
        reference = metafor(data, Path(tmp))
    OUT.write_text(json.dumps({"metafor": metafor_version(), "did_data": data, "reference": reference},
                              indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(data)} outcome x wave groups", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
