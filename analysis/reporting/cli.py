"""The ``report`` and ``export`` subcommands of ``python -m analysis``: arguments, run, summary.

Thin glue: the work is :func:`analysis.reporting.report.build_report` /
:func:`analysis.reporting.report.write_report` and
:func:`analysis.reporting.export.build_export_bundle`. Exit codes: 0 done, 2 input
refused, 1 anything else; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from analysis.access.scope import LOCAL
from analysis.access.settings import load_settings
from analysis.privacy.guard import FilterRefused
from analysis.privacy.suppression import ABSOLUTE_MIN_GROUP_SIZE
from analysis.reporting import bundle_fields
from analysis.reporting.bundle_fields import ExportOptions
from analysis.reporting.export import build_export_bundle, record_export
from analysis.reporting.report import ReportTables, build_report, write_report
from analysis.storage.queries import Filters
from analysis.storage.store import Store, StoreUnavailable

__all__ = ["add_export_arguments", "add_report_arguments", "run_export_command", "run_report_command",
           "summary_paragraph"]


_METHOD = {"did": "DiD", "dr_did": "doubly robust DiD"}


def summary_paragraph(tables: ReportTables, out_dir: str | Path | None = None) -> str:
    """One paragraph for the command line: what was written and the headline."""
    est = tables.estimates
    shown = int((~est["suppressed"].astype(bool)).sum()) if len(est) else 0
    hidden = int(est["suppressed"].astype(bool).sum()) if len(est) else 0
    where = f" to {out_dir}" if out_dir is not None else ""
    text = (f"Wrote the report{where}: {shown} estimates shown and {hidden} suppressed "
            f"(groups under {tables.settings.min_group_size}), "
            f"{len(tables.descriptives)} descriptive cells.")
    if tables.headline is not None:
        method = _METHOD.get(tables.headline.analysis, "DiD")
        text += f" Headline ({tables.headline.outcome_label}, {tables.headline.wave}, {method}): " \
                f"{tables.headline.sentence}"
        if tables.headline.lords_paradox:
            text += " " + tables.headline.lords_paradox
    for note in tables.notes:
        text += " " + note
    return text


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``report`` subcommand's arguments (for the CLI registry)."""
    parser.add_argument("--db", required=True, help="the DuckDB database file")
    parser.add_argument("--out", required=True, help="directory for the CSV files")
    parser.add_argument("--min-group-size", type=int, default=None,
                        help="anonymity threshold k (at least 3; default: the stored setting)")
    parser.add_argument("--min-sessions", type=int, default=None,
                        help="participant = attended at least N sessions (default: the stored "
                             "setting); only thresholds the privacy guard offers are accepted")
    parser.add_argument("--practice", action="append", default=None, metavar="NAME",
                        help="report on these practices only (repeatable); refused when the "
                             "selection could identify people")


def run_report_command(args: argparse.Namespace) -> int:
    """Run ``report``: exit 0 done, 2 input refused, 1 anything else."""

    if args.min_group_size is not None and args.min_group_size < ABSOLUTE_MIN_GROUP_SIZE:
        print(f"--min-group-size {args.min_group_size} refused: the anonymity threshold must be at "
              f"least {ABSOLUTE_MIN_GROUP_SIZE} so that no one can be identified.",
              file=sys.stderr)
        return 2
    if args.min_sessions is not None and args.min_sessions < 1:
        print(f"--min-sessions {args.min_sessions} refused: a participant attended at least 1 "
              "session.", file=sys.stderr)
        return 2
    if not Path(args.db).is_file():
        print(f"--db {args.db}: no database file there.", file=sys.stderr)
        return 2
    try:
        with Store(args.db) as store:
            settings = load_settings(store)
            if args.min_group_size is not None:
                settings = replace(settings, min_group_size=int(args.min_group_size))
            if args.min_sessions is not None:
                settings = replace(settings, min_sessions=int(args.min_sessions))
            sites = tuple(dict.fromkeys(args.practice)) if args.practice else None
            tables = build_report(store, LOCAL, settings=settings, filters=Filters(sites=sites))
            write_report(tables, args.out)
    except StoreUnavailable as error:
        print(str(error), file=sys.stderr)
        return 1
    except (FilterRefused, ValueError) as error:
        print(f"report refused: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # the CLI reports, never tracebacks
        print(f"report failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(summary_paragraph(tables, args.out))
    return 0


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``export`` subcommand's arguments (for the CLI registry)."""
    parser.add_argument("--db", required=True, help="the DuckDB database file")
    parser.add_argument("--out", required=True, help="the zip file to write")
    parser.add_argument("--org-label", default=bundle_fields.ANONYMOUS,
                        help="the organization's name as a consortium will see it "
                             "(default: anonymous)")
    parser.add_argument("--program-type", default="not stated",
                        help="the program's type for meta-regression, e.g. group, online, mixed")


def run_export_command(args: argparse.Namespace) -> int:
    """Run ``export``: exit 0 done, 2 input refused, 1 anything else."""

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
            bundle = build_export_bundle(store, LOCAL, settings=load_settings(store),
                                         options=options)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_bytes(bundle.zip_bytes)
            record_export(store, LOCAL, bundle)
    except FilterRefused as error:
        print(f"export refused: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # the CLI reports, never tracebacks
        print(f"export failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    failed = int(bundle.summary["fail"].sum()) if len(bundle.summary) else 0
    review = int(bundle.summary["review"].sum()) if len(bundle.summary) else 0
    print(f"Wrote {args.out}: {len(bundle.files)} files ({', '.join(bundle.files)}). Output checks: "
          f"{failed} cells failed and were blanked, {review} marked for review (see checks.csv).")
    return 0
