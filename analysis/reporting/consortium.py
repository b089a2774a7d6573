"""Consortium meta-analysis: pool the researcher bundles of many organizations.

Not a single row of person-level data is pooled: each organization's bundle carries its
own disclosure-checked estimates with standard errors (:mod:`analysis.reporting.bundle_fields`).

Pipeline::

    read_bundles      verify every manifest (SHA-256 of every file, the manifest's own
                      hash); all or nothing: one changed byte refuses the whole run
    study_table       one row per organization × (analysis, outcome, scale version, wave),
                      waves aligned by label or by months since baseline
    combine           pool each group present in >= 2 bundles (analysis.stats.meta), with
                      leave-one-out, Egger's test (k >= 10) and meta-regression (k allows)
    write_combined    pooled.csv, studies.csv, leave_one_out.csv, egger.csv,
                      meta_regression.csv, methods.md

Organizations are shown by the label they chose at export; the others as
"Organization A", "B", ... in the order of their manifests' hashes (not of file names or
upload order, which could identify them).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.access.scope import Scope, require
from analysis.reporting.bundle_fields import ANONYMOUS, verify_manifest_bytes
from analysis.reporting.bundle_zip import container_problems
from analysis.stats import meta

__all__ = ["ALIGNMENTS", "POOLED_COLUMNS", "WITHHELD", "Bundle", "BundleRefused", "CombineResult",
           "combine", "combine_uploaded", "combined_files", "combined_zip", "display_labels",
           "public_studies", "read_bundle", "read_bundles", "regression_descriptors", "study_table",
           "write_combined"]

ALIGNMENTS: tuple[str, ...] = ("labels", "months")
POOLED_COLUMNS: tuple[str, ...] = (
    "analysis", "outcome", "scale_version", "wave", "months_since_baseline", "k", "estimate",
    "std_error", "ci_low", "ci_high", "p_value", "tau2", "i2", "q", "q_p_value", "pi_low",
    "pi_high", "method", "test", "t_df", "n_participants", "n_comparison",
)
GROUP_KEYS: tuple[str, ...] = ("analysis", "outcome", "scale_version", "wave")
#: Egger's test and the funnel plot need at least this many organizations (Sterne 2011).
MIN_K_EGGER = 10
#: Leave-one-out up to this many organizations: beyond, no single one carries more than
#: a few percent of the weight and a table of hundreds of refits helps no reader.
MAX_K_LEAVE_ONE_OUT = 100
#: Meta-regression: at least this many organizations per descriptor in the model.
MIN_K_PER_DESCRIPTOR = 10
#: Every level of a descriptor must hold at least this many organizations (else a
#: coefficient is one organization's own deviation, tied to its descriptor).
MIN_PER_LEVEL = 2
DESCRIPTORS: tuple[str, ...] = ("program_type", "size_band")
WITHHELD = "withheld (fewer than 2 organizations)"
_REQUIRED_FILES = ("estimates.csv", "config.json")
_STUDY_COLUMNS = ("analysis", "outcome", "wave", "estimate", "std_error", "suppressed",
                  "scale_version", "months_since_baseline")


class BundleRefused(Exception):
    """One or more bundles failed verification; ``problems`` says which file and why."""

    def __init__(self, problems: Sequence[str]):
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Bundle:
    """One verified bundle: its estimates and the organization's descriptors.

    ``source`` is the file name, for messages only (never written to the output);
    ``fingerprint`` is the SHA-256 of its manifest.
    """

    source: str
    fingerprint: str
    organization: str
    program_type: str
    size_band: str
    app_version: str
    estimates: pd.DataFrame = field(repr=False)


@dataclass(frozen=True)
class CombineResult:
    """Every table ``combine`` makes, and the settings it used."""

    pooled: pd.DataFrame
    studies: pd.DataFrame
    leave_one_out: pd.DataFrame
    egger: pd.DataFrame
    meta_regression: pd.DataFrame
    align: str
    method: str
    n_bundles: int
    not_pooled: int
    notes: tuple[str, ...]


# ------------------------------------------------------------------ reading and verifying


def read_bundle(data: bytes, source: str) -> Bundle:
    """Verify and read one bundle (zip bytes); ``source`` names it in messages.

    Raises
    ------
    BundleRefused
        When the zip is unreadable, a file is missing, unlisted or changed (SHA-256 or
        size differs from the manifest), or the manifest itself changed.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            container = container_problems(data, archive)
            if container:
                raise BundleRefused([f"{source}: {problem}" for problem in container])
            members = {info.filename: archive.read(info) for info in archive.infolist()}
    except BundleRefused:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
        raise BundleRefused([f"{source}: not a readable bundle zip ({error})"]) from None
    except Exception as error:  # noqa: BLE001 - zlib errors from a changed compressed byte
        raise BundleRefused([f"{source}: a file inside the zip is damaged ({error})"]) from None
    if "manifest.json" not in members:
        raise BundleRefused([f"{source}: no manifest.json (not a researcher bundle)"])
    try:
        manifest = verify_manifest_bytes(members["manifest.json"])
    except ValueError as error:
        raise BundleRefused([f"{source}: manifest.json: {error}"]) from None
    problems = _file_problems(source, manifest, members)
    if problems:
        raise BundleRefused(problems)
    try:
        config = json.loads(members["config.json"].decode("utf-8"))
        estimates = pd.read_csv(io.BytesIO(members["estimates.csv"]), dtype={"wave": str})
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise BundleRefused([f"{source}: estimates.csv or config.json unreadable ({error})"]) from None
    missing = [c for c in _STUDY_COLUMNS if c not in estimates.columns]
    if missing:
        raise BundleRefused([f"{source}: estimates.csv lacks {', '.join(missing)} (exported by an "
                             "older version? export it again)"])
    consortium = config.get("consortium", {}) if isinstance(config, dict) else {}
    return Bundle(
        source=source, fingerprint=hashlib.sha256(members["manifest.json"]).hexdigest(),
        organization=str(consortium.get("organization", ANONYMOUS)),
        program_type=str(consortium.get("program_type", "not stated")),
        size_band=str(consortium.get("size_band", "not stated")),
        app_version=str(manifest.get("app_version", "")), estimates=estimates)


def _file_problems(source: str, manifest: dict, members: dict[str, bytes]) -> list[str]:
    listed = manifest.get("files")
    if not isinstance(listed, list):
        return [f"{source}: manifest.json lists no files"]
    problems, names = [], set()
    for entry in listed:
        name = str(entry.get("name", "")) if isinstance(entry, dict) else ""
        names.add(name)
        if name not in members:
            problems.append(f"{source}: {name or '(unnamed)'} is listed in the manifest but missing")
        elif hashlib.sha256(members[name]).hexdigest() != entry.get("sha256") or \
                len(members[name]) != entry.get("bytes"):
            problems.append(f"{source}: {name} changed after export (SHA-256 differs from the manifest)")
    extra = sorted(set(members) - names - {"manifest.json"})
    problems += [f"{source}: {name} is not listed in the manifest" for name in extra]
    problems += [f"{source}: {name} is missing" for name in _REQUIRED_FILES if name not in names]
    return problems


def read_bundles(sources: Sequence[tuple[str, bytes]]) -> list[Bundle]:
    """Verify every bundle; all or nothing (every problem of every bundle is collected).

    Raises
    ------
    BundleRefused
        With every problem found, including the same bundle given twice or two bundles
        with the same organization label (either would count an organization twice).
    """
    bundles: list[Bundle] = []
    problems: list[str] = []
    for source, data in sources:
        try:
            bundles.append(read_bundle(data, source))
        except BundleRefused as refused:
            problems.extend(refused.problems)
    seen: dict[str, str] = {}
    labels: dict[str, str] = {}
    for bundle in bundles:
        if bundle.fingerprint in seen:
            problems.append(f"{bundle.source}: the same bundle as {seen[bundle.fingerprint]}")
        seen.setdefault(bundle.fingerprint, bundle.source)
        if bundle.organization != ANONYMOUS:
            if bundle.organization in labels:
                problems.append(f"{bundle.source}: organization label {bundle.organization!r} is "
                                f"also in {labels[bundle.organization]}")
            labels.setdefault(bundle.organization, bundle.source)
    if problems:
        raise BundleRefused(problems)
    return bundles


def display_labels(bundles: Sequence[Bundle]) -> list[str]:
    """How each organization is shown: its own label, or "Organization A", "B", ...

    Anonymous organizations are lettered in the order of their manifests' SHA-256, which
    says nothing about who they are or in which order their files were given.
    """
    anonymous = sorted((b.fingerprint, i) for i, b in enumerate(bundles) if b.organization == ANONYMOUS)
    taken = {b.organization for b in bundles}
    names = (f"Organization {_letters(n)}" for n in range(len(bundles) + len(taken)))
    free = (name for name in names if name not in taken)  # a chosen label is never reused
    letters = {i: next(free) for _, i in anonymous}
    return [letters.get(i, b.organization) for i, b in enumerate(bundles)]


def _letters(n: int) -> str:
    text = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        text = chr(65 + rest) + text
    return text


# ------------------------------------------------------------------ aligning and pooling


def study_table(bundles: Sequence[Bundle], align: str = "labels") -> pd.DataFrame:
    """One row per organization and estimate that can be pooled.

    Columns: ``organization`` (display label), ``program_type``, ``size_band``,
    ``analysis, outcome, scale_version, wave, months_since_baseline, estimate,
    std_error, df_class, n_participants, n_comparison``. ``align="months"`` names each
    wave ``month N`` by its months since baseline. Suppressed rows and rows without a
    standard error (risk differences) are left out.

    Raises
    ------
    BundleRefused
        With ``align="months"`` when two waves of one bundle fall in the same month.
    """
    if align not in ALIGNMENTS:
        raise ValueError(f"align must be one of {', '.join(ALIGNMENTS)}, not {align!r}")
    frames = []
    for label, bundle in zip(display_labels(bundles), bundles):
        rows = bundle.estimates.drop(columns=["organization", "program_type", "size_band"],
                                     errors="ignore")
        # bundles write true/false as 1/0 (older ones as True/False): both mean suppressed
        usable = ~rows["suppressed"].astype(str).str.strip().str.lower().isin(("true", "1", "1.0"))
        for column in ("estimate", "std_error", "months_since_baseline"):
            rows[column] = pd.to_numeric(rows[column], errors="coerce")
        usable &= rows["estimate"].notna() & rows["std_error"].gt(0)
        rows = rows.loc[usable].copy()
        if align == "months":
            rows = _months_aligned(rows, bundle.source)
        rows.insert(0, "organization", label)
        rows.insert(1, "program_type", bundle.program_type)
        rows.insert(2, "size_band", bundle.size_band)
        frames.append(rows)
    columns = ["organization", "program_type", "size_band", "analysis", "outcome", "scale_version",
               "wave", "months_since_baseline", "estimate", "std_error", "df_class",
               "n_participants", "n_comparison"]
    if not frames:
        return pd.DataFrame(columns=columns)
    table = _integers(pd.concat(frames, ignore_index=True).reindex(columns=columns))
    return table.sort_values([*GROUP_KEYS, "organization"], kind="stable").reset_index(drop=True)


def _months_aligned(rows: pd.DataFrame, source: str) -> pd.DataFrame:
    months = rows.drop_duplicates("wave").set_index("wave")["months_since_baseline"]
    if months.isna().any():
        raise BundleRefused([f"{source}: waves without months since baseline "
                             f"({', '.join(months.index[months.isna()])}); use --align labels"])
    clash = months[months.duplicated(keep=False)]
    if len(clash):
        raise BundleRefused([f"{source}: waves {', '.join(clash.index)} fall in the same month after "
                             "baseline; use --align labels"])
    out = rows.copy()
    out["wave"] = [f"month {int(m)}" for m in out["months_since_baseline"]]
    return out


def combine(bundles: Sequence[Bundle], *, align: str = "labels", method: str = "REML") -> CombineResult:
    """Pool every (analysis, outcome, scale version, wave) present in >= 2 bundles.

    ``method`` is REML or DL (random effects, HKSJ interval, prediction interval) or FE
    (fixed effect, z interval). See :mod:`analysis.stats.meta` for the formulas.
    """
    if method not in meta.METHODS:
        raise ValueError(f"method must be one of {', '.join(meta.METHODS)}, not {method!r}")
    studies = study_table(bundles, align)
    pooled, loo, egger, regression = [], [], [], []
    not_pooled, failed = 0, []
    for keys, group in studies.groupby(list(GROUP_KEYS), sort=False):
        if len(group) < 2:
            not_pooled += 1
            continue
        labels = dict(zip(GROUP_KEYS, keys))
        yi, sei = group["estimate"].to_numpy(), group["std_error"].to_numpy()
        try:
            pooled.append(_pooled_row(labels, group, meta.pool(yi, sei, method)))  # type: ignore[arg-type]
            if 3 <= len(group) <= MAX_K_LEAVE_ONE_OUT:
                frame = meta.leave_one_out(yi, sei, list(group["organization"]), method)  # type: ignore[arg-type]
                loo.append(frame.assign(**labels))
        except ArithmeticError:  # REML did not converge: as metafor, no estimate
            failed.append(" ".join(str(k) for k in keys[:2]) + f" {keys[3]}")
            continue
        if len(group) >= MIN_K_EGGER and np.ptp(sei) > 0:
            test = meta.egger_test(yi, sei, method)  # type: ignore[arg-type]
            egger.append({**labels, "k": test.k, "statistic": test.statistic, "p_value": test.p_value,
                          "limit_estimate": test.limit_estimate, "t_df": test.t_df})
        fit = _regression(group, method)
        if fit is not None:
            regression.append(fit.frame().assign(**labels, k=fit.k, tau2=fit.tau2, r2=fit.r2,
                                                 qm=fit.qm, qm_p_value=fit.qm_p_value))
    notes = (f"{not_pooled} estimate(s) were present in only one bundle and were not pooled."
             if not_pooled else "",
             f"{method} did not converge for {', '.join(failed)}: not pooled (try --method DL)."
             if failed else "")
    return CombineResult(
        pooled=_integers(pd.DataFrame(pooled, columns=list(POOLED_COLUMNS))),
        studies=studies, leave_one_out=_concat(loo, "left_out"), egger=pd.DataFrame(egger),
        meta_regression=_concat(regression, "term"), align=align, method=method,
        n_bundles=len(bundles), not_pooled=not_pooled, notes=tuple(n for n in notes if n))


def _integers(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts, months and df as nullable integers (CSV ``185``, not ``185.0``)."""
    for column in ("months_since_baseline", "k", "t_df", "n_participants", "n_comparison"):
        if column in frame.columns:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").round().astype("Int64")
    return frame


def _pooled_row(labels: dict, group: pd.DataFrame, result: meta.Pooled) -> dict:
    months = group["months_since_baseline"].dropna().unique()
    counts = {c: pd.to_numeric(group[c], errors="coerce") for c in ("n_participants", "n_comparison")}
    return {
        **labels, "months_since_baseline": int(months[0]) if len(months) == 1 else pd.NA,
        "k": result.k, "estimate": result.estimate, "std_error": result.std_error,
        "ci_low": result.ci_low, "ci_high": result.ci_high, "p_value": result.p_value,
        "tau2": result.tau2, "i2": result.i2, "q": result.q, "q_p_value": result.q_p_value,
        "pi_low": result.pi_low, "pi_high": result.pi_high, "method": result.method,
        "test": result.test, "t_df": result.t_df,
        # sums of counts each bundle already rounded to a multiple of 5
        **{c: int(v.sum()) if v.notna().all() else pd.NA for c, v in counts.items()},
    }


def regression_descriptors(group: pd.DataFrame) -> list[str]:
    """The descriptors a meta-regression of ``group`` may use (see module constants).

    A descriptor enters when it has at least two levels, every level holds at least
    :data:`MIN_PER_LEVEL` organizations, and there are at least
    :data:`MIN_K_PER_DESCRIPTOR` organizations per descriptor in the model.
    """
    usable = []
    for name in DESCRIPTORS:
        sizes = group[name].astype(str).value_counts()
        if len(sizes) >= 2 and sizes.min() >= MIN_PER_LEVEL:
            usable.append(name)
    while usable and len(group) < MIN_K_PER_DESCRIPTOR * len(usable):
        usable.pop()
    return usable


def public_studies(studies: pd.DataFrame) -> pd.DataFrame:
    """``studies`` as it may be shown: an anonymous organization's program type or size
    band is withheld when fewer than :data:`MIN_PER_LEVEL` organizations share it (a
    rare descriptor would name it). Labelled organizations chose to be seen.
    """
    out = studies.copy()
    anonymous = out["organization"].str.startswith("Organization ")
    for name in DESCRIPTORS:
        per_level = out.drop_duplicates("organization").groupby(name)["organization"].nunique()
        rare = out[name].map(per_level).fillna(0) < MIN_PER_LEVEL
        out.loc[anonymous & rare, name] = WITHHELD
    return out


def _regression(group: pd.DataFrame, method: str) -> meta.MetaRegression | None:
    descriptors = regression_descriptors(group)
    if not descriptors:
        return None
    try:
        return meta.meta_regression(group["estimate"], group["std_error"],
                                    group[descriptors].astype(str).reset_index(drop=True),
                                    method)  # type: ignore[arg-type]
    except ValueError:
        return None  # descriptors collinear: no meta-regression for this group


def _concat(frames: list[pd.DataFrame], first: str) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    front = [*GROUP_KEYS, first]
    return table[front + [c for c in table.columns if c not in front]]


# ------------------------------------------------------------------ writing


def combined_files(result: CombineResult) -> dict[str, bytes]:
    """Every output file's bytes: the tables as CSV (text cells neutralised against
    formula injection, studies with rare descriptors withheld) and ``methods.md``."""
    from analysis.privacy.csv_safety import neutralize_frame  # noqa: PLC0415
    from analysis.reporting.consortium_methods import methods_note  # noqa: PLC0415

    tables = {"pooled.csv": result.pooled, "studies.csv": public_studies(result.studies),
              "leave_one_out.csv": result.leave_one_out, "egger.csv": result.egger,
              "meta_regression.csv": result.meta_regression}
    files = {name: neutralize_frame(frame).to_csv(index=False, na_rep="", lineterminator="\n")
             .encode("utf-8") for name, frame in tables.items()}
    files["methods.md"] = methods_note(result).encode("utf-8")
    return files


def combined_zip(result: CombineResult) -> bytes:
    """Every output file of :func:`combined_files` in one zip (for a download)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in combined_files(result).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write_combined(result: CombineResult, out_dir: str | Path) -> list[Path]:
    """Write every file of :func:`combined_files` into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in combined_files(result).items():
        (out / name).write_bytes(data)
        written.append(out / name)
    return written


def combine_uploaded(scope: Scope, sources: Sequence[tuple[str, bytes]], *, align: str = "labels",
                     method: str = "REML") -> CombineResult:
    """Verify and combine uploaded bundles for a viewer who may use researcher outputs.

    Raises
    ------
    PermissionDenied
        When the viewer's role may not export (researchers and admins may).
    BundleRefused
        When fewer than two bundles are given or any fails verification.
    """
    require(scope, "export")
    if len(sources) < 2:
        raise BundleRefused(["combine needs at least two bundles"])
    return combine(read_bundles(sources), align=align, method=method)


def pooled_summary(result: CombineResult) -> str:
    """One paragraph for the command line."""
    if result.pooled.empty:
        return (f"{result.n_bundles} bundles verified; no estimate was present in two or more "
                "bundles, so nothing was pooled.")
    return (f"{result.n_bundles} bundles verified; {len(result.pooled)} estimates pooled "
            f"({result.method}, waves aligned by {result.align}), k = "
            f"{int(result.pooled['k'].min())}-{int(result.pooled['k'].max())}. "
            + " ".join(result.notes))


# ------------------------------------------------------------------ command line


def add_combine_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``combine`` subcommand's arguments (for the CLI registry)."""
    parser.add_argument("bundles", nargs="+", metavar="BUNDLE.zip",
                        help="researcher bundles made with python -m analysis export")
    parser.add_argument("--out", required=True, help="folder for pooled.csv and the other tables")
    parser.add_argument("--align", choices=ALIGNMENTS, default="labels",
                        help="match waves by label (default) or by months since baseline")
    parser.add_argument("--method", choices=meta.METHODS, default="REML",
                        help="REML (default) or DL random effects with the HKSJ interval, or FE")


def run_combine_command(args: argparse.Namespace) -> int:
    """Run ``combine``: exit 0 done, 2 a bundle refused (nothing written), 1 anything else."""
    sources, problems = [], []
    for name in args.bundles:
        path = Path(name)
        if not path.is_file():
            problems.append(f"{name}: no such file")
        else:
            sources.append((str(name), path.read_bytes()))
    if len(args.bundles) < 2:
        problems.append("combine needs at least two bundles")
    try:
        bundles = read_bundles(sources) if not problems else []
        result = combine(bundles, align=args.align, method=args.method) if not problems else None
    except BundleRefused as refused:
        problems.extend(refused.problems)
    if problems or result is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        print("Nothing was written.", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".combine-", dir=out.parent))
    try:
        written = write_combined(result, staging)
        out.mkdir(exist_ok=True)
        for path in written:
            os.replace(path, out / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"Wrote {out}: " + ", ".join(p.name for p in written) + ". " + pooled_summary(result))
    return 0
