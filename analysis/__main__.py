"""Command line: ``python -m analysis demo | ingest | status | undo | report | export ...``.

Exit status (the stable contract in DESIGN.md): 0 done, with a one-paragraph summary on
stdout; 2 input refused, every problem on stderr naming file, row and column, and the
database exactly as before; 1 anything else, as one clear line (never a traceback).

Adding a subcommand
-------------------
Subcommands are a registry, name → ``(add_arguments, run)``: ``add_arguments(parser)``
declares the options, ``run(args) -> int`` does the work and returns the exit status.
Commands living in other modules are listed in :data:`LAZY_COMMANDS` as
``name: ("module", "add_arguments_function", "run_function", "help")`` and imported only
when that subcommand is asked for, so ``ingest`` never pays for importing statsmodels.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]


def _add_db(parser: argparse.ArgumentParser) -> None:
    from analysis.storage.store import default_db_path  # noqa: PLC0415

    parser.add_argument("--db", default=None,
                        help=f"the DuckDB database file (default: $PPI_DB or "
                             f"{default_db_path()})")


def _open_store(args: argparse.Namespace):
    from analysis.storage.store import Store  # noqa: PLC0415

    return Store(args.db) if args.db else Store()


def _print_problems(problems, only_errors: bool = False) -> None:
    for problem in problems:
        if only_errors and problem.severity != "error":
            continue
        prefix = "" if problem.severity == "error" else "warning: "
        print(prefix + problem.text(), file=sys.stderr)


def _report_result(result) -> int:
    if result.status == "refused":
        _print_problems([p for p in result.problems if p.severity == "error"])
        _print_problems([p for p in result.problems if p.severity == "warning"])
        print(result.message(), file=sys.stderr)
        return 2
    _print_problems(result.problems)
    print(result.message())
    return 0


# ---------------------------------------------------------------------- ingest


def add_ingest_arguments(parser: argparse.ArgumentParser) -> None:
    _add_db(parser)
    parser.add_argument("--survey", help="survey CSV (or .xlsx) with the canonical headers")
    parser.add_argument("--attendance", help="attendance CSV (or .xlsx)")
    parser.add_argument("--replace", action="store_true",
                        help="replace stored survey rows with the same respondent and wave")
    parser.add_argument("--pseudonymize", action=argparse.BooleanOptionalAction,
                        default=None,
                        help="replace every respondent ID by a keyed hash before storage "
                             "(default: the installation's setting, on unless switched off)")
    # Exports of survey and meeting tools (analysis.intake.importers).
    parser.add_argument("--wave", help="the wave of a one-wave survey export")
    parser.add_argument("--map", action="append", default=[], metavar="TARGET=SOURCE",
                        help='map what an export does not say, e.g. '
                             '"site=Which practice do you work at?" (repeatable)')
    parser.add_argument("--dictionary", help="the REDCap data dictionary of a raw export")


def run_ingest(args: argparse.Namespace) -> int:
    from analysis.access.scope import LOCAL  # noqa: PLC0415
    from analysis.intake.importers.command import locate_problems, prepare_uploads, remember_mapping  # noqa: PLC0415
    from analysis.intake.ingest import ingest  # noqa: PLC0415
    from analysis.intake.values import UploadFile  # noqa: PLC0415

    if not args.survey and not args.attendance:
        print("ingest needs --survey CSV, --attendance CSV, or both.", file=sys.stderr)
        return 2
    prepared, problems = prepare_uploads(args.survey, args.attendance, wave=args.wave,
                                         maps=args.map, dictionary=args.dictionary)
    for f in prepared:
        if f.conversion is not None:
            print(f.conversion.describe())
    if any(p.severity == "error" for p in problems):
        _print_problems(problems)
        return 2
    files = [UploadFile(f.kind, f.file_name, f.data) for f in prepared]
    # E-mail addresses link exports: they are always replaced by the keyed hash. Otherwise
    # --[no-]pseudonymize decides, and without either the installation's setting (on unless
    # an administrator switched it off) does: None must reach ingest as None.
    converted = any(f.conversion is not None for f in prepared)
    pseudonymize = True if converted else args.pseudonymize
    with _open_store(args) as store:
        result = ingest(store, files, LOCAL, replace=args.replace,
                        pseudonymize=pseudonymize)
        if result.status == "applied":
            remember_mapping(store, prepared, args.map)
    return _report_result(locate_problems(result, prepared))


# ------------------------------------------------------------------------ demo


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    _add_db(parser)


def run_demo(args: argparse.Namespace) -> int:
    from analysis.access.scope import LOCAL  # noqa: PLC0415
    from analysis.intake.sample import load_sample  # noqa: PLC0415
    from analysis.intake.uploads import status  # noqa: PLC0415

    with _open_store(args) as store:
        result = load_sample(store, LOCAL)
        code = _report_result(result)
        if code == 0:
            print("Sample data (synthetic) loaded. " + status(store, LOCAL).message())
    return code


# ---------------------------------------------------------------------- status


def add_status_arguments(parser: argparse.ArgumentParser) -> None:
    _add_db(parser)
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")


def run_status(args: argparse.Namespace) -> int:
    from analysis.access.scope import LOCAL  # noqa: PLC0415
    from analysis.intake.uploads import history, status  # noqa: PLC0415

    if args.json:
        import json  # noqa: PLC0415

        from analysis.storage.counts import status_counts  # noqa: PLC0415

        with _open_store(args) as store:
            print(json.dumps(status_counts(store, LOCAL)))
        return 0
    with _open_store(args) as store:
        state = status(store, LOCAL)
        frame = history(store, LOCAL)
    print(state.message())
    applied = frame[frame["status"] == "applied"] if len(frame) else frame
    for row in applied.itertuples():
        sample = ", sample" if row.is_sample else ""
        print(f"  upload {row.upload_id}: {row.kind} {row.file_name}, {row.n_rows:,} rows, "
              f"{row.created_at:%Y-%m-%d %H:%M}{sample}")
    return 0


# ------------------------------------------------------------------------ undo


def add_undo_arguments(parser: argparse.ArgumentParser) -> None:
    _add_db(parser)
    parser.add_argument("--upload", required=True, type=int, help="the upload number")


def run_undo(args: argparse.Namespace) -> int:
    from analysis.access.scope import LOCAL  # noqa: PLC0415
    from analysis.intake.uploads import undo  # noqa: PLC0415
    from analysis.intake.values import UploadNotFound  # noqa: PLC0415

    with _open_store(args) as store:
        try:
            result = undo(store, args.upload, LOCAL)
        except UploadNotFound as error:
            print(str(error), file=sys.stderr)
            return 2
    print(result.message())
    return 0


# -------------------------------------------------------------------- registry

#: Subcommands defined here: name → (add_arguments, run, help).
COMMANDS: dict[str, tuple[AddArguments, Run, str]] = {
    "demo": (add_demo_arguments, run_demo, "load the synthetic sample data"),
    "ingest": (add_ingest_arguments, run_ingest,
               "load a survey file, an attendance file or both, all or nothing"),
    "status": (add_status_arguments, run_status,
               "what is stored: uploads, rows, respondents, waves, sites"),
    "undo": (add_undo_arguments, run_undo, "take one upload back out, whole"),
}

#: Subcommands defined in other modules, imported only when used:
#: name → (module, add_arguments function, run function, help).
LAZY_COMMANDS: dict[str, tuple[str, str, str, str]] = {
    "report": ("analysis.reporting.cli", "add_report_arguments", "run_report_command",
               "write estimates.csv and descriptives.csv"),
    "export": ("analysis.reporting.cli", "add_export_arguments", "run_export_command",
               "write the researcher export bundle (.zip)"),
    "combine": ("analysis.reporting.consortium", "add_combine_arguments", "run_combine_command",
                "pool researcher bundles of several organizations (meta-analysis)"),
    "user": ("analysis.access.user_cli", "add_arguments", "run_command",
             "accounts: user add | list | disable | enable | reset-password"),
    "bench": ("tooling.bench", "add_arguments", "run_command",
              "time loading and analysing a large synthetic data set"),
    "proxy-config": ("tooling.proxy", "add_arguments", "run_command",
                     "print an nginx configuration for serving a team (TLS, HTTP/2)"),
}


def _lazy(name: str) -> tuple[AddArguments, Run] | None:
    module_name, add_name, run_name, _ = LAZY_COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            return None
        raise
    add, run = getattr(module, add_name, None), getattr(module, run_name, None)
    return (add, run) if add and run else None


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser; only the lazy subcommand named in ``argv`` (if any) is imported."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Peer Program Impact: load survey and attendance data, report impact.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (add, run, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add(p)
        p.set_defaults(run=run)
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (_, _, _, help_text) in LAZY_COMMANDS.items():
        if name == wanted:
            found = _lazy(name)
            if found is None:
                continue
            p = sub.add_parser(name, help=help_text, description=help_text)
            found[0](p)
            p.set_defaults(run=found[1])
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    from analysis.access.scope import PermissionDenied  # noqa: PLC0415
    from analysis.storage.store import StoreUnavailable  # noqa: PLC0415

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return 0 if not exit_.code else 2
    try:
        return int(args.run(args))
    except StoreUnavailable as error:
        print(str(error), file=sys.stderr)
    except PermissionDenied as error:
        print(str(error), file=sys.stderr)
    except KeyboardInterrupt:
        print("Interrupted; nothing was half-applied.", file=sys.stderr)
    except Exception as error:  # noqa: BLE001 - one clear line, never a traceback
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"{args.command} failed: {text}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
