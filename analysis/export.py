"""The researcher export: aggregated, output-checked results in one zip.

Pipeline (the order matters, see :func:`analysis.disclosure.export_check`)::

    build_report with k = settings.export_min_cell   (suppression at the export threshold)
    -> export_check per table on unrounded counts   (min cell, dominance, residual df)
    -> round_counts (base 5)
    -> drop columns that would give exact counts back (residual df)
    -> neutralize_frame -> CSV and XLSX

The zip holds tidy CSVs (descriptives, estimates, participation, balance, reliability),
one XLSX workbook with the same sheets, ``methods.md``, ``config.json``, ``checks.csv``
and ``manifest.json`` (SHA-256 of every other file). No row-level data, no IDs, no free
text and no dates (wave labels only) ever enter it: every table comes from the report,
which holds aggregates only.

Residual risk: a mean's confidence interval and SD together imply its n; rounding
protects against differencing of counts between tables, not against that.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import zipfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pandas as pd

from . import audit, disclosure
from .instruments import SCALES_BY_KEY
from .report import DESCRIPTIVE_COLUMNS, ESTIMATE_COLUMNS, ReportTables, build_report, ordered
from .scope import Scope, require
from .settings import Settings
from .store import Store

__all__ = ["ExportBundle", "build_export", "build_export_bundle", "checks_summary", "write_export"]

#: Fixed timestamp of zip entries: the bundle carries no date and is reproducible.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
#: Columns that never leave: they give exact counts back (df = n - 2; sentences may quote
#: group sizes) or are internal.
_DROP = {"estimates": ("residual_df", "sentence", "caveat"), "descriptives": ("wave_index",), "participation": (),
         "balance": (), "reliability": ()}
_COUNTS = {
    "descriptives": ("n",),
    "estimates": ("n_participants", "n_comparison"),
    "participation": ("n_respondents", "n_participants"),
    "balance": (),
    "reliability": ("n",),
}
_KEYS = {
    "descriptives": ("outcome", "wave", "site", "group"),
    "estimates": ("analysis", "outcome", "wave"),
    "participation": ("breakdown", "wave", "site", "role", "session_type"),
    "balance": ("outcome", "wave", "covariate"),
    "reliability": ("scale", "wave"),
}

ANALYSIS_NOTES: dict[str, str] = {
    "unadjusted": "Difference of means at a wave (Welch t-test; Hedges' g). Assumes nothing about "
                  "who joined: a raw comparison.",
    "did": "Difference-in-differences of change from baseline (OLS with person-clustered SEs). "
           "Assumes parallel trends: without the program both groups would have changed alike. "
           "With one pre-program wave this cannot be tested.",
    "ancova": "Follow-up score adjusted for baseline score, site and role (OLS, HC3). Assumes "
              "selection on the measured baseline score. Differs from DiD when groups differ at "
              "baseline (Lord's paradox).",
    "ipw": "Inverse-probability-weighted difference at follow-up (logistic propensity on baseline "
           "score, site and role; stabilised weights capped at the 1st/99th percentiles; HC1). "
           "Assumes no unmeasured confounding and overlap.",
    "high_burnout_rd": "Risk difference of the share above the instrument's cut-off, in percentage "
                       "points (Newcombe hybrid-score CI). Unadjusted.",
    "dose_response": "Change from baseline per session attended, participants only (OLS, HC3). "
                     "Attendance is self-chosen: descriptive support, not proof.",
}


@dataclass(frozen=True)
class ExportBundle:
    """The zip and what the checks found (for the export page)."""

    zip_bytes: bytes
    checks: pd.DataFrame
    summary: pd.DataFrame
    files: tuple[str, ...]


def build_export(store: Store, scope: Scope, *, settings: Settings) -> bytes:
    """The researcher bundle as zip bytes (see module docstring). Audited.

    Raises
    ------
    PermissionDenied
        When the scope may not export.
    """
    return build_export_bundle(store, scope, settings=settings).zip_bytes


def build_export_bundle(store: Store, scope: Scope, *, settings: Settings,
                        tables: ReportTables | None = None) -> ExportBundle:
    """The bundle with its checks; ``tables`` must have been built at the export threshold."""
    try:
        require(scope, "export")
    except Exception:
        with store.transaction() as cur:
            audit.record(cur, scope.user, "export", "refused", {"reason": "role may not export"})
        raise
    k_export = disclosure.validate_min_group_size(max(settings.export_min_cell, settings.min_group_size))
    export_settings = replace(settings, min_group_size=k_export)
    if tables is None:
        tables = build_report(store, scope, settings=export_settings)
    frames = {
        "descriptives": ordered(tables.descriptives, DESCRIPTIVE_COLUMNS),
        "estimates": ordered(tables.estimates, ESTIMATE_COLUMNS),
        "participation": tables.participation,
        "balance": tables.balance,
        "reliability": tables.reliability,
    }
    checked: dict[str, pd.DataFrame] = {}
    all_checks: list[disclosure.Check] = []
    for name, frame in frames.items():
        out, checks = _check(name, frame, k_export)
        checked[name] = out
        all_checks.extend(checks)
    checks = disclosure.checks_frame(all_checks)

    files: dict[str, bytes] = {}
    for name, frame in checked.items():
        files[f"{name}.csv"] = _csv(frame)
    files["results.xlsx"] = _xlsx(checked)
    outcomes = sorted(set(tables.estimates["outcome"]) | set(tables.descriptives["outcome"]),
                      key=list(SCALES_BY_KEY).index)
    files["methods.md"] = methods_markdown(outcomes, export_settings, k_export).encode("utf-8")
    files["config.json"] = json.dumps(_config(export_settings, k_export, outcomes, tables),
                                      indent=2, sort_keys=True).encode("utf-8")
    files["checks.csv"] = _csv(checks)
    manifest = {"files": [{"name": n, "bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                          for n, b in files.items()]}
    files["manifest.json"] = json.dumps(manifest, indent=2).encode("utf-8")
    zip_bytes = _zip(files)
    summary = checks_summary(checks)
    with store.transaction() as cur:
        audit.record(cur, scope.user, "export", "ok", {
            "files": sorted(files), "sha256": hashlib.sha256(zip_bytes).hexdigest(),
            "k_export": k_export, "failed_cells": int((checks["outcome"] == "fail").sum()),
        })
    return ExportBundle(zip_bytes, checks, summary, tuple(files))


def write_export(store: Store, scope: Scope, out_file: str | Path, *, settings: Settings) -> Path:
    """Write the bundle to ``out_file`` (a .zip)."""
    path = Path(out_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build_export(store, scope, settings=settings))
    return path


def checks_summary(checks: pd.DataFrame) -> pd.DataFrame:
    """One row per table and rule: pass, fail and review counts and the reasons seen."""
    if checks.empty:
        return pd.DataFrame(columns=["table", "rule", "pass", "fail", "review", "result", "reasons"])
    counts = checks.pivot_table(index=["table", "rule"], columns="outcome", values="row_key",
                                aggfunc="count", fill_value=0)
    counts = counts.reindex(columns=["pass", "fail", "review"], fill_value=0).reset_index()
    reasons = (checks.loc[checks["outcome"] != "pass"].groupby(["table", "rule"])["reason"]
               .agg(lambda r: "; ".join(dict.fromkeys(r))[:300]))
    counts["reasons"] = [reasons.get((t, r), "") for t, r in zip(counts["table"], counts["rule"])]
    counts["result"] = ["fail" if f else "review" if v else "pass"
                        for f, v in zip(counts["fail"], counts["review"])]
    counts.columns.name = None
    return counts[["table", "rule", "pass", "fail", "review", "result", "reasons"]]


# ------------------------------------------------------------------ pieces


def _check(name: str, frame: pd.DataFrame, k_export: int) -> tuple[pd.DataFrame, list[disclosure.Check]]:
    count_cols = [c for c in _COUNTS[name] if c in frame.columns]
    keys = [c for c in _KEYS[name] if c in frame.columns]
    kind = {"estimates": "regression", "descriptives": "magnitude", "reliability": "magnitude",
            "balance": "magnitude", "participation": "frequency"}[name]
    residual = "residual_df" if name == "estimates" else None
    frame = frame.reset_index(drop=True)
    labels = [*keys, *(c for c in ("effect_size_kind", "adjust_method", "unit") if c in frame.columns)]
    out, checks = disclosure.export_check(f"{name}.csv", frame, kind, count_cols, k_export,
                                          residual_df_col=residual, key_cols=keys, label_cols=labels)
    if name == "estimates":
        failed = out["suppressed"].astype(bool) & ~frame["suppressed"].astype(bool)
        out.loc[out["suppressed"].astype(bool), ["sentence", "caveat"]] = ""
        out.loc[failed, "status"] = disclosure.INSUFFICIENT
    if "status" in out.columns:
        # estimator reasons can quote exact group sizes: ship the category only
        out["status"] = out["status"].where(
            out["status"].isin([disclosure.OK, disclosure.INSUFFICIENT, disclosure.NO_DATA]),
            "not enough data")
    out = disclosure.round_counts(out, count_cols)
    out = out.drop(columns=[c for c in _DROP[name] if c in out.columns])
    return out, checks


def _csv(frame: pd.DataFrame) -> bytes:
    return disclosure.neutralize_frame(frame).to_csv(index=False, na_rep="", lineterminator="\n").encode("utf-8")


def _xlsx(frames: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in frames.items():
            safe = disclosure.neutralize_frame(frame)
            safe = safe.astype(object).where(safe.notna(), None)
            safe.to_excel(writer, sheet_name=name[:31], index=False)
    book = buffer.getvalue()
    return book


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def _versions() -> dict[str, str]:
    import duckdb  # noqa: PLC0415
    import scipy  # noqa: PLC0415
    import statsmodels  # noqa: PLC0415

    return {"python": platform.python_version(), "duckdb": duckdb.__version__,
            "pandas": pd.__version__, "scipy": scipy.__version__,
            "statsmodels": statsmodels.__version__}


def _config(settings: Settings, k_export: int, outcomes: list[str], tables: ReportTables) -> dict:
    return {
        "settings": asdict(settings),
        "export": {
            "min_cell": k_export, "rounding_base": disclosure.EXPORT_ROUNDING_BASE,
            "min_residual_df": disclosure.MIN_RESIDUAL_DF,
            "dominance": {"n": disclosure.DOMINANCE_N, "k": disclosure.DOMINANCE_K},
        },
        "outcomes": outcomes,
        "waves": [str(w) for w in dict.fromkeys(tables.descriptives["wave"].astype(str))],
        "confidence": 0.95,
        "power_for_mde": 0.8,
        "data_version": tables.data_version,
        "software": _versions(),
    }


def methods_markdown(outcomes: list[str], settings: Settings, k_export: int) -> str:
    """The methods note shipped with the export."""
    from .methods import methods_text  # noqa: PLC0415

    lines = ["# Methods", "", "## Participants and comparison", "",
             f"A respondent counts as a participant at a wave when they attended at least "
             f"{settings.min_sessions} session(s) on or before that wave's survey date; the comparison "
             "group attended none by then. The first wave (earliest survey dates) is the baseline. "
             "Dose is the number of sessions attended by the survey date.", "",
             "## Analyses", "",
             "Every estimate is participants minus comparison, in the outcome's own units, at each "
             "follow-up wave, with a 95% confidence interval.", ""]
    lines += [f"- **{name}**: {text}" for name, text in ANALYSIS_NOTES.items()]
    lines += ["",
              "Multiplicity: within one analysis at one wave, the primary outcomes of an instrument "
              "are Holm-adjusted together; other outcomes are Benjamini-Hochberg-adjusted "
              "(`p_adjusted`, `adjust_method`).", "",
              "The headline analysis is DiD (selection on a stable trait); ANCOVA is shown beside it, "
              "and a Lord's paradox note is given when they disagree.", "",
              "Minimum detectable effects are for 80% power, two-sided alpha 0.05, at the observed "
              "group sizes. Reliability: Cronbach's alpha with the Feldt interval; alpha below 0.70 "
              "is flagged.", "",
              "## Disclosure control", "",
              f"- No cell with fewer than {k_export} people is shown; complementary cells are hidden "
              "so that no hidden cell can be found by subtraction.",
              f"- Counts are rounded to a multiple of {disclosure.EXPORT_ROUNDING_BASE}.",
              f"- Regression rows need at least {disclosure.MIN_RESIDUAL_DF} residual degrees of "
              "freedom; residual degrees of freedom are not shipped (they give counts back).",
              f"- Dominance (N-K rule, N={disclosure.DOMINANCE_N}, K={disclosure.DOMINANCE_K:.0%}) "
              "for means and other magnitudes is marked for review in `checks.csv`.",
              "- No row-level data, identifiers, free text or dates; waves are named by their labels.",
              "- Text cells that a spreadsheet would run as a formula are prefixed with an apostrophe.",
              "", "## Software", ""]
    lines += [f"- {name} {version}" for name, version in _versions().items()]
    lines += ["", methods_text(outcomes) if outcomes else ""]
    return "\n".join(lines).rstrip() + "\n"


# ------------------------------------------------------------------ command line


def add_export_arguments(parser: "argparse.ArgumentParser") -> None:  # noqa: F821
    """The ``export`` subcommand's arguments (for the CLI registry)."""
    parser.add_argument("--db", required=True, help="the DuckDB database file")
    parser.add_argument("--out", required=True, help="the zip file to write")


def run_export_command(args: "argparse.Namespace") -> int:  # noqa: F821
    """Run ``export``: exit 0 done, 2 input refused, 1 anything else."""
    import sys  # noqa: PLC0415

    from .scope import LOCAL  # noqa: PLC0415
    from .settings import load_settings  # noqa: PLC0415

    if not Path(args.db).is_file():
        print(f"--db {args.db}: no database file there.", file=sys.stderr)
        return 2
    if not str(args.out).lower().endswith(".zip"):
        print(f"--out {args.out}: the export is a .zip file.", file=sys.stderr)
        return 2
    try:
        with Store(args.db) as store:
            bundle = build_export_bundle(store, LOCAL, settings=load_settings(store))
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_bytes(bundle.zip_bytes)
    except Exception as error:  # noqa: BLE001 - the CLI reports, never tracebacks
        print(f"export failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    failed = int(bundle.summary["fail"].sum()) if len(bundle.summary) else 0
    review = int(bundle.summary["review"].sum()) if len(bundle.summary) else 0
    print(f"Wrote {args.out}: {len(bundle.files)} files ({', '.join(bundle.files)}). Output checks: "
          f"{failed} cells failed and were blanked, {review} marked for review (see checks.csv).")
    return 0


def main(argv=None) -> int:
    """``python -m analysis.export --db PATH --out FILE.zip``."""
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m analysis export",
                                     description="Write the researcher export bundle.")
    add_export_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return 2 if exit_.code else 0
    return run_export_command(args)


if __name__ == "__main__":
    raise SystemExit(main())
