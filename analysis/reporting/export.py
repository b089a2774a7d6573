"""The researcher export: aggregated, output-checked results in one zip.

Pipeline (the order matters, see :func:`analysis.privacy.disclosure.export_check`)::

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
import re
import zipfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.storage import audit
from analysis.reporting import bundle_fields
from analysis.reporting.bundle_fields import ExportOptions
from analysis.privacy import disclosure
from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.panel.participation import CONTRIBUTION_COLUMNS
from analysis.reporting.report import DESCRIPTIVE_COLUMNS, ESTIMATE_COLUMNS, ReportTables, build_report, ordered
from analysis.access.scope import Scope, require
from analysis.access.settings import Settings
from analysis.storage.queries import count_respondents
from analysis.storage.store import Store

__all__ = ["ExportBundle", "build_export", "build_export_bundle", "checks_summary", "write_export"]

#: Fixed timestamp of zip entries: the bundle carries no date and is reproducible.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
#: Columns that never leave: they give exact counts back (df = n - 2; sentences may quote
#: group sizes) or are internal.
#: Balance carries its comparison's group sizes only for the min-cell check.
_DROP = {"estimates": ("residual_df", "sentence", "caveat"),
         "descriptives": ("wave_index", *CONTRIBUTION_COLUMNS), "participation": (),
         "balance": ("n_participants", "n_comparison"), "reliability": ()}
_COUNTS = {
    "descriptives": ("n",),
    "estimates": ("n_participants", "n_comparison"),
    "participation": ("n_respondents", "n_participants"),
    "balance": ("n_participants", "n_comparison"),
    "reliability": ("n",),
}
#: How each table is checked: magnitude tables get the dominance rule, regression
#: tables the residual-df rule, and every table the min-cell rule.
_KIND = {"estimates": "regression", "descriptives": "magnitude", "reliability": "frequency",
         "balance": "frequency", "participation": "frequency"}
#: Tables whose statistics are not sums or means of individual values: dominance is
#: recorded as not applicable (a pass with this reason) rather than left for review.
_DOMINANCE_NOT_APPLICABLE = {
    "reliability": "dominance: not applicable (statistic is not a sum or mean of individual values: "
                   "Cronbach's alpha is a ratio of variances)",
    "balance": "dominance: not applicable (statistic is not a sum or mean of individual values: "
               "standardised differences and variance ratios)",
}
_NO_MODEL_OUTPUT = ("no model output shipped (the estimate could not be computed); "
                    "its counts are checked by min_cell")
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


def build_export(store: Store, scope: Scope, *, settings: Settings,
                 options: ExportOptions = ExportOptions()) -> bytes:
    """The researcher bundle as zip bytes (see module docstring). Audited.

    Raises
    ------
    PermissionDenied
        When the scope may not export.
    """
    return build_export_bundle(store, scope, settings=settings, options=options).zip_bytes


def build_export_bundle(store: Store, scope: Scope, *, settings: Settings,
                        tables: ReportTables | None = None,
                        options: ExportOptions = ExportOptions()) -> ExportBundle:
    """The bundle with its checks; ``tables`` must have been built at the export threshold.

    ``options`` (organization label, program type) are the organization's own choices
    for a consortium meta-analysis (:mod:`analysis.reporting.bundle_fields`).
    """
    try:
        require(scope, "export")
    except Exception:
        with store.transaction() as cur:
            audit.record(cur, scope.user, "export", "refused", {"reason": "role may not export"})
        raise
    k_export = disclosure.validate_min_group_size(max(settings.export_min_cell, settings.min_group_size))
    export_settings = replace(settings, min_group_size=k_export)
    if tables is None:
        tables = build_report(store, scope, settings=export_settings, with_contributions=True)
    frames = {
        "descriptives": ordered(tables.descriptives, DESCRIPTIVE_COLUMNS),
        "estimates": ordered(tables.estimates, ESTIMATE_COLUMNS),
        "participation": tables.participation,
        "balance": tables.balance,
        "reliability": tables.reliability,
    }
    frames["balance"] = _with_group_sizes(frames["balance"], tables.estimates)
    frames["estimates"] = bundle_fields.add_estimate_fields(
        frames["estimates"], bundle_fields.months_since_baseline(store), options)
    contributions = _descriptive_contributions(frames["descriptives"], tables.descriptive_contributions)
    checked: dict[str, pd.DataFrame] = {}
    all_checks: list[disclosure.Check] = []
    for name, frame in frames.items():
        out, checks = _check(name, frame, k_export,
                             contributions if name == "descriptives" else None)
        checked[name] = out
        all_checks.extend(checks)
    checks = disclosure.checks_frame(all_checks)
    checks["reason"] = checks["reason"].map(_public_reason)

    files: dict[str, bytes] = {}
    for name, frame in checked.items():
        files[f"{name}.csv"] = _csv(frame)
    files["results.xlsx"] = _xlsx(checked)
    outcomes = sorted(set(tables.estimates["outcome"]) | set(tables.descriptives["outcome"]),
                      key=list(SCALES_BY_KEY).index)
    files["methods.md"] = methods_markdown(outcomes, export_settings, k_export).encode("utf-8")
    config = _config(export_settings, k_export, outcomes, tables)
    config["consortium"] = {**asdict(options), "size_band": bundle_fields.size_band(
        count_respondents(store, scope))}
    files["config.json"] = json.dumps(config, indent=2, sort_keys=True).encode("utf-8")
    files["checks.csv"] = _csv(checks)
    files["manifest.json"] = bundle_fields.manifest_bytes(
        files, {**config["export"], "settings": config["settings"], **asdict(options)})
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


def _with_group_sizes(balance: pd.DataFrame, estimates: pd.DataFrame) -> pd.DataFrame:
    """Balance rows with the group sizes of the IPW comparison they describe (unrounded).

    The balance table has no counts of its own; its SMDs are over the same people as
    the IPW row of the same outcome and wave. Unknown sizes stay NA (then 'review').
    """
    out = balance.reset_index(drop=True).copy()
    if out.empty:
        return out.assign(n_participants=pd.Series(dtype="Int64"), n_comparison=pd.Series(dtype="Int64"))
    sizes = (estimates.loc[estimates["analysis"] == "ipw", ["outcome", "wave", "n_participants", "n_comparison"]]
             .assign(wave=lambda f: f["wave"].astype(str))
             .drop_duplicates(["outcome", "wave"]))
    out["wave"] = out["wave"].astype(str)
    merged = out.merge(sizes, on=["outcome", "wave"], how="left")
    return merged.set_axis(out.index)


def _descriptive_contributions(descriptives: pd.DataFrame, contributions: pd.DataFrame | None
                               ) -> pd.DataFrame | None:
    """Dominance inputs aligned on the descriptives' rows (``largest``, ``second_largest``,
    ``total``), or None when the report did not compute them (then 'review')."""
    if contributions is None or not set(CONTRIBUTION_COLUMNS) <= set(contributions.columns):
        return None
    keys = ["outcome", "wave", "site", "group"]
    left = descriptives[keys].reset_index(drop=True).astype(str)
    right = contributions[[*keys, *CONTRIBUTION_COLUMNS]].copy()
    right[keys] = right[keys].astype(str)
    aligned = left.merge(right.drop_duplicates(keys), on=keys, how="left")
    out = pd.DataFrame({
        "largest": pd.to_numeric(aligned["contrib_largest"], errors="coerce"),
        "second_largest": pd.to_numeric(aligned["contrib_second_largest"], errors="coerce"),
        "total": pd.to_numeric(aligned["contrib_total"], errors="coerce"),
    })
    # a cell with nobody in it has no contributions: its total is 0 (nothing to dominate)
    empty = pd.to_numeric(descriptives["n"].reset_index(drop=True), errors="coerce").fillna(0) <= 0
    out.loc[empty, ["largest", "second_largest", "total"]] = 0.0
    return out


def _check(name: str, frame: pd.DataFrame, k_export: int, contributions: pd.DataFrame | None = None
           ) -> tuple[pd.DataFrame, list[disclosure.Check]]:
    count_cols = [c for c in _COUNTS[name] if c in frame.columns]
    keys = [c for c in _KEYS[name] if c in frame.columns]
    kind = _KIND[name]
    residual = "residual_df" if name == "estimates" else None
    frame = frame.reset_index(drop=True)
    labels = [*keys, *(c for c in ("effect_size_kind", "adjust_method", "unit") if c in frame.columns)]
    out, checks = disclosure.export_check(f"{name}.csv", frame, kind, count_cols, k_export,
                                          contributions=contributions, residual_df_col=residual,
                                          key_cols=keys, label_cols=labels)
    if name == "balance":
        checks = _balance_checks(checks, frame)
    if name in _DOMINANCE_NOT_APPLICABLE:
        checks = checks + [disclosure.Check(c.table, c.row_key, "dominance", "pass", _DOMINANCE_NOT_APPLICABLE[name])
                           for c in checks if c.rule == "min_cell"]
    if name == "estimates":
        checks = _no_model_checks(checks, frame)
    if name == "descriptives":
        out, checks = _complete_dominance(out, checks, frame, labels)
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


def _balance_checks(checks: list[disclosure.Check], frame: pd.DataFrame) -> list[disclosure.Check]:
    """Balance rows whose comparison's group sizes are unknown need a person to look."""
    unknown = frame[["n_participants", "n_comparison"]].isna().all(axis=1).to_numpy()
    already = (frame["suppressed"].fillna(False).astype(bool).to_numpy() if "suppressed" in frame.columns
               else np.zeros(len(frame), dtype=bool))
    out, row = [], 0
    for check in checks:
        if check.rule == "min_cell":
            if unknown[row] and not already[row]:
                check = replace(check, outcome="review", reason="group sizes of the IPW comparison not found")
            elif check.outcome == "pass" and not already[row]:
                check = replace(check, reason="both groups (and every covariate level shown) have at least "
                                              "the minimum cell count")
            row += 1
        out.append(check)
    return out


def _no_model_checks(checks: list[disclosure.Check], frame: pd.DataFrame) -> list[disclosure.Check]:
    """An estimate row without any model number has nothing for the residual-df rule to protect."""
    numbers = [c for c in ("estimate", "ci_low", "ci_high", "p_value", "effect_size") if c in frame.columns]
    empty = frame[numbers].apply(pd.to_numeric, errors="coerce").isna().all(axis=1).to_numpy()
    out, row = [], 0
    for check in checks:
        if check.rule == "residual_df":
            if check.outcome == "review" and empty[row]:
                check = replace(check, outcome="pass", reason=_NO_MODEL_OUTPUT)
            row += 1
        out.append(check)
    return out


def _complete_dominance(out: pd.DataFrame, checks: list[disclosure.Check], frame: pd.DataFrame,
                        labels: list[str]) -> tuple[pd.DataFrame, list[disclosure.Check]]:
    """Blank the rest of an outcome × wave block in which a cell failed dominance.

    The descriptives hold the site × group table with both margins, and a mean's n is
    implied by its SD and CI: one blanked cell would come back as margin minus the
    visible cells. Blanking the whole block of that outcome and wave leaves nothing to
    subtract (conservative; dominance failures at n >= 10 are rare).
    """
    failed = np.array([c.outcome == "fail" for c in checks if c.rule == "dominance"], dtype=bool)
    if not failed.any():
        return out, checks
    block = frame["outcome"].astype(str) + "\x1f" + frame["wave"].astype(str)
    in_block = block.isin(set(block[failed])).to_numpy()
    extra = in_block & ~out["suppressed"].fillna(False).astype(bool).to_numpy()
    if not extra.any():
        return out, checks
    mask = pd.Series(extra, index=out.index)
    for col in out.columns:
        if col not in labels and col not in ("suppressed", "status"):
            out[col] = out[col].mask(mask)
    out["suppressed"] = out["suppressed"].astype(bool) | extra
    out.loc[mask, "status"] = disclosure.INSUFFICIENT
    keys = [c.row_key for c in checks if c.rule == "min_cell"]
    table = checks[0].table
    added = [disclosure.Check(table, keys[i], "dominance_complement", "fail",
                              "blanked with a cell of the same outcome and wave that failed dominance "
                              "(it could otherwise be recovered by subtraction from the margins)")
             for i in np.flatnonzero(extra)]
    return out, checks + added


_REASON_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(\w+)=\d+ below (\d+)"), r"\1 below \2"),
    (re.compile(r"^residual df \S+ below (\d+)$"), r"residual df below \1"),
    (re.compile(r"^residual df \S+$"), f"residual df at least {disclosure.MIN_RESIDUAL_DF}"),
    (re.compile(r"^largest (\d+) contributions are \d+% of the cell total \(limit (\d+%)\)$"),
     r"largest \1 contributions exceed \2 of the cell total"),
    (re.compile(r"^largest (\d+) contributions are \d+% of the cell total$"),
     rf"largest \1 contributions at most {disclosure.DOMINANCE_K:.0%} of the cell total"),
)


def _public_reason(reason: str) -> str:
    """A check's reason without the exact numbers behind it.

    checks.csv ships in the bundle: a blanked cell's exact count, a residual df (n - p)
    or a dominance share would give back what the check protects.
    """
    for pattern, replacement in _REASON_PATTERNS:
        reason = pattern.sub(replacement, reason)
    return reason


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
    from analysis.reporting.methods import methods_text  # noqa: PLC0415

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
              "freedom; residual degrees of freedom are not shipped (they give counts back). They are: "
              "Welch's df for `unadjusted`; people minus 1 for `did` (person clusters); n minus the "
              "number of model columns for `ancova` and `ipw`; n minus 2 for `dose_response`; "
              "n1 + n2 - 2 for `high_burnout_rd` (its score interval uses no t distribution, so this "
              "is the conservative analogue: the df of the two-group linear probability model). A row "
              "whose estimate could not be computed ships no model numbers and passes this rule; its "
              "counts are checked like any other.",
              f"- Dominance (N-K rule, N={disclosure.DOMINANCE_N}, K={disclosure.DOMINANCE_K:.0%}) "
              "for the descriptives (means, SDs and their intervals): in every cell the two largest "
              "individual contributions to the cell's sum of scores, counted from the scale's lowest "
              "possible score (score minus scale minimum, so every contribution is non-negative), "
              f"must not exceed {disclosure.DOMINANCE_K:.0%} of that sum. A cell that fails is blanked, "
              "and so is the rest of its outcome and wave (else it could be recovered by subtraction "
              "from the margins). The individual contributions are used for the check only and never "
              "leave the machine.",
              "- Dominance does not apply to reliability (Cronbach's alpha, a ratio of variances) or to "
              "balance (standardised differences and variance ratios): they are not sums or means of "
              "individual values. `checks.csv` records this as a pass with the reason \"dominance: not "
              "applicable\". Reliability is checked for its minimum cell count; balance rows for the "
              "group sizes of the IPW comparison they describe (covariate levels with fewer people "
              "than the minimum in either group are left out beforehand).",
              "- `checks.csv` has one line per row of every table and rule (pass, fail or review, "
              "with the reason); reasons name thresholds, not the exact counts or shares behind them.",
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
    parser.add_argument("--org-label", default=bundle_fields.ANONYMOUS,
                        help="the organization's name as a consortium will see it "
                             "(default: anonymous)")
    parser.add_argument("--program-type", default="not stated",
                        help="the program's type for meta-regression, e.g. group, online, mixed")


def run_export_command(args: "argparse.Namespace") -> int:  # noqa: F821
    """Run ``export``: exit 0 done, 2 input refused, 1 anything else."""
    import sys  # noqa: PLC0415

    from analysis.access.scope import LOCAL  # noqa: PLC0415
    from analysis.access.settings import load_settings  # noqa: PLC0415

    if not Path(args.db).is_file():
        print(f"--db {args.db}: no database file there.", file=sys.stderr)
        return 2
    if not str(args.out).lower().endswith(".zip"):
        print(f"--out {args.out}: the export is a .zip file.", file=sys.stderr)
        return 2
    try:
        options = ExportOptions(organization=args.org_label, program_type=args.program_type)
    except ValueError as error:
        print(f"--org-label/--program-type: {error}", file=sys.stderr)
        return 2
    try:
        with Store(args.db) as store:
            bundle = build_export_bundle(store, LOCAL, settings=load_settings(store), options=options)
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
