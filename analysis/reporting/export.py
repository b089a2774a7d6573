"""The researcher export: aggregated, output-checked results in one zip.

Pipeline (the order matters, see :func:`analysis.privacy.export_checks.export_check`)::

    build_report with k = settings.export_min_cell   (suppression at the export threshold)
    -> export_check per table on unrounded counts   (min cell, dominance, residual df)
    -> round_counts (base 5)
    -> drop columns that would give exact counts back (residual df)
    -> neutralize_frame -> CSV and XLSX

The zip holds ``README.md`` (app version, export date, how to cite, the synthetic-sample
label when the sample is the source), tidy CSVs (descriptives, estimates, participation,
balance, reliability; true/false as 1/0), one XLSX workbook with the same sheets,
``codebook.csv``, ``methods.md``, ``config.json``, ``checks.csv`` (pass/fail in
``result``) and ``manifest.json`` (SHA-256 of every other file). No row-level data, no
IDs, no free text and no data dates (wave labels only; the one date is the export's own,
in the README) ever enter it: every table comes from the report, which holds aggregates
only. Building the bundle is not an export: the export is audited when it is written
(command line) or downloaded (the page's download callback, :func:`record_export`).

Residual risk: a mean's confidence interval and SD together imply its n; rounding
protects against differencing of counts between tables, not against that.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from analysis.access.scope import Scope, require
from analysis.access.settings import Settings
from analysis.definitions.analyses import ANALYSES
from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.intake.sample import has_sample
from analysis.panel.participation import CONTRIBUTION_COLUMNS
from analysis.privacy import export_checks, releases, suppression
from analysis.privacy.csv_safety import neutralize_frame
from analysis.privacy.export_tables import check_table, public_reason
from analysis.reporting import bundle_fields
from analysis.reporting.bundle_docs import booleans_as_numbers, codebook, readme
from analysis.reporting.bundle_fields import ExportOptions
from analysis.reporting.bundle_zip import undated_xlsx
from analysis.reporting.report import (
    DESCRIPTIVE_COLUMNS,
    ESTIMATE_COLUMNS,
    ReportTables,
    build_report,
    ordered,
)
from analysis.storage import audit
from analysis.storage.queries import count_respondents
from analysis.storage.store import Store

__all__ = ["ExportBundle", "build_export", "build_export_bundle", "checks_summary",
           "descriptive_contributions", "export_settings", "record_export", "write_export"]

#: Fixed timestamp of zip entries: the bundle carries no date and is reproducible.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
@dataclass(frozen=True)
class ExportBundle:
    """The zip and what the checks found (for the export page)."""

    zip_bytes: bytes
    checks: pd.DataFrame
    summary: pd.DataFrame
    files: tuple[str, ...]
    k_export: int = 0
    #: Exact counts of the shown cells (never shipped): recorded as a release by
    #: :func:`record_export` when the bundle leaves the app, so later exports are checked
    #: against what was really released, not against bundles only built for the page.
    released: Mapping[str, int] = field(default_factory=dict)


def build_export(store: Store, scope: Scope, *, settings: Settings,
                 options: ExportOptions = ExportOptions()) -> bytes:
    """The researcher bundle as zip bytes (see module docstring). Audited.

    Raises
    ------
    PermissionDenied
        When the scope may not export.
    """
    bundle = build_export_bundle(store, scope, settings=settings, options=options)
    record_export(store, scope, bundle)
    return bundle.zip_bytes


def record_export(store: Store, scope: Scope, bundle: ExportBundle) -> None:
    """Audit one export that left the app (written by the command line, or downloaded:
    the export page calls this from the download button, never on opening the page),
    and record its exact counts as a release (:mod:`analysis.privacy.releases`)."""
    releases.record_release(store, "export", scope.user, bundle.k_export, bundle.released)
    with store.transaction() as cur:
        audit.record(cur, scope.user, "export", "ok", {
            "files": sorted(bundle.files), "sha256": hashlib.sha256(bundle.zip_bytes).hexdigest(),
            "k_export": bundle.k_export,
            "failed_cells": int((bundle.checks["outcome"] == "fail").sum()),
        })


def build_export_bundle(store: Store, scope: Scope, *, settings: Settings,
                        tables: ReportTables | None = None,
                        options: ExportOptions = ExportOptions(), exported_on: date | None = None,
                        synthetic: bool | None = None) -> ExportBundle:
    """The bundle with its checks; ``tables`` must have been built at the export threshold.

    ``options`` (organization label, program type) are the organization's own choices
    for a consortium meta-analysis (:mod:`analysis.reporting.bundle_fields`).
    ``exported_on`` (default today, UTC) is the date in the README; ``synthetic`` (default:
    whether the store holds the sample data) labels the bundle as the synthetic sample.
    Refused (:class:`~analysis.privacy.releases.ReleaseRefused`) when, with an earlier
    release, it would give a small group by subtraction. Not audited or recorded as a
    release here: see :func:`record_export`.
    """
    try:
        require(scope, "export")
    except Exception:
        with store.transaction() as cur:
            audit.record(cur, scope.user, "export", "refused", {"reason": "role may not export"})
        raise
    export_settings_ = export_settings(settings)
    k_export = export_settings_.min_group_size
    if tables is None:
        tables = build_report(store, scope, settings=export_settings_, with_contributions=True)
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
    # from here on residual_df is what the disclosure rule checks (the model's, not the inference df)
    frames["estimates"]["residual_df"] = bundle_fields.disclosure_df(frames["estimates"])
    contributions = descriptive_contributions(frames["descriptives"], tables.descriptive_contributions)
    checked: dict[str, pd.DataFrame] = {}
    all_checks: list[export_checks.Check] = []
    for name, frame in frames.items():
        out, checks = check_table(name, frame, k_export,
                                  contributions if name == "descriptives" else None)
        if name == "estimates":  # a blanked row still says whose, which scale and when
            labels = list(bundle_fields.LABEL_FIELDS)
            out[labels] = frame[labels].reset_index(drop=True)
        checked[name] = out
        all_checks.extend(checks)
    checks = export_checks.checks_frame(all_checks)
    checks["reason"] = checks["reason"].map(public_reason)
    # exact counts of what ships, checked against every earlier export (differencing over time)
    released = releases.release_cells(
        {name: frame.reset_index(drop=True).assign(suppressed=checked[name]["suppressed"].to_numpy())
         for name, frame in frames.items() if "suppressed" in checked[name].columns})
    releases.check_release(store, "export", released, k_export)

    outcomes = sorted(set(tables.estimates["outcome"]) | set(tables.descriptives["outcome"]),
                      key=list(SCALES_BY_KEY).index)
    # The settings as the Settings page shows them; the export's own threshold beside them.
    config = _config(settings, k_export, outcomes, tables)
    config["consortium"] = {**asdict(options), "size_band": bundle_fields.size_band(
        count_respondents(store, scope))}
    docs = {"methods.md": methods_markdown(outcomes, export_settings_, k_export),
            "config.json": json.dumps(config, indent=2, sort_keys=True)}
    synthetic = has_sample(store) if synthetic is None else synthetic
    files = _bundle_files(checked, checks, docs, readme_args={
        "exported_on": exported_on or datetime.now(UTC).date(), "synthetic": synthetic,
        "k_export": k_export, "min_group_size": settings.min_group_size})
    files["manifest.json"] = bundle_fields.manifest_bytes(
        files, {**config["export"], "settings": config["settings"], **asdict(options)})
    return ExportBundle(_zip(files), checks, checks_summary(checks), tuple(files), k_export,
                        released)


def _bundle_files(checked: dict[str, pd.DataFrame], checks: pd.DataFrame, docs: dict[str, str],
                  readme_args: dict) -> dict[str, bytes]:
    """Every file but the manifest, README first: tables (true/false as 1/0), workbook,
    codebook, ``docs`` (methods, config) and ``checks.csv``."""
    shipped = {name: booleans_as_numbers(frame) for name, frame in checked.items()}
    # The pass/fail column is "result" in the file ("outcome" is an outcome scale elsewhere).
    checks_file = checks.rename(columns={"outcome": "result"})
    files: dict[str, bytes] = {f"{name}.csv": _csv(frame) for name, frame in shipped.items()}
    files["results.xlsx"] = _xlsx(shipped)
    files["codebook.csv"] = _csv(codebook({**shipped, "checks": checks_file}))
    files.update({name: text.encode("utf-8") for name, text in docs.items()})
    files["checks.csv"] = _csv(checks_file)
    return {"README.md": readme([*files, "manifest.json"], **readme_args).encode("utf-8"), **files}


def export_settings(settings: Settings) -> Settings:
    """The settings every export-bound output is built at: k = the export's minimum cell."""
    k_export = suppression.validate_min_group_size(max(settings.export_min_cell, settings.min_group_size))
    return replace(settings, min_group_size=k_export)


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
    columns = ["outcome", "wave", "n_participants", "n_comparison"]
    sizes = (estimates.loc[estimates["analysis"] == "ipw", columns]
             .assign(wave=lambda f: f["wave"].astype(str))
             .drop_duplicates(["outcome", "wave"]))
    out["wave"] = out["wave"].astype(str)
    merged = out.merge(sizes, on=["outcome", "wave"], how="left")
    return merged.set_axis(out.index)


def descriptive_contributions(descriptives: pd.DataFrame, contributions: pd.DataFrame | None
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


def _csv(frame: pd.DataFrame) -> bytes:
    return neutralize_frame(frame).to_csv(index=False, na_rep="", lineterminator="\n").encode("utf-8")


def _xlsx(frames: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in frames.items():
            safe = neutralize_frame(frame)
            safe = safe.astype(object).where(safe.notna(), None)
            safe.to_excel(writer, sheet_name=name[:31], index=False)
    return undated_xlsx(buffer.getvalue())


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
    # The settings as the Settings page shows them; the export's own threshold beside them
    # (the larger of export_min_cell and min_group_size), so the two never seem to disagree.
    return {
        "settings": asdict(settings),
        "export": {
            "min_cell": k_export,
            "min_cell_rule": "max(settings.export_min_cell, settings.min_group_size)",
            "rounding_base": export_checks.EXPORT_ROUNDING_BASE,
            "min_residual_df": export_checks.MIN_RESIDUAL_DF,
            "dominance": {"n": export_checks.DOMINANCE_N, "k": export_checks.DOMINANCE_K},
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
    lines += [f"- **{a.name}** ({a.label}): {a.method} Reference: {a.citation}." for a in ANALYSES]
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
              f"- Counts are rounded to a multiple of {export_checks.EXPORT_ROUNDING_BASE}.",
              f"- Regression rows need at least {export_checks.MIN_RESIDUAL_DF} residual degrees of "
              "freedom; residual degrees of freedom are not shipped (they give counts back). They are: "
              "Welch's df for `unadjusted`; participants plus comparison minus 2 for `did` (its model of "
              "change from baseline; the CR2 standard error's Satterthwaite df is only shipped as a band, "
              "`df_class`); clusters minus 1 for `ipw`; n minus the "
              "number of model columns for `ancova`; n minus 2 for `dose_response`; "
              "n1 + n2 - 2 for `high_burnout_rd` (its score interval uses no t distribution, so this "
              "is the conservative analogue: the df of the two-group linear probability model). A row "
              "whose estimate could not be computed ships no model numbers and passes this rule; its "
              "counts are checked like any other.",
              f"- Dominance (N-K rule, N={export_checks.DOMINANCE_N}, K={export_checks.DOMINANCE_K:.0%}) "
              "for the descriptives (means, SDs and their intervals): in every cell the two largest "
              "individual contributions to the cell's sum of scores, counted from the scale's lowest "
              "possible score (score minus scale minimum, so every contribution is non-negative), "
              f"must not exceed {export_checks.DOMINANCE_K:.0%} of that sum. A cell that fails is blanked, "
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
