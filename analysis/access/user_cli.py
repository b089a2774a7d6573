"""``python -m analysis user add | list | disable | enable | reset-password``: accounts on
the command line.

The first administrator of a server installation is made here, on the server, so the
web app never has to offer a "create the first administrator" form to a stranger.
Passwords are read from the first line of standard input (never from an argument, which
other users of the machine could see in the process list)::

    printf '%s\\n' "$PASSWORD" | python -m analysis user add --db PATH --username ada \\
        --role admin

Exit status: 0 done; 2 refused, with the reason on stderr (weak password, taken name,
unknown account, last administrator, ...); 1 anything else.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from analysis.access import accounts
from analysis.access.scope import LOCAL, ROLE_LABELS, PermissionDenied
from analysis.storage.store import Store, default_db_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``user``'s own subcommands and their options."""
    sub = parser.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    def with_db(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--db", default=None,
                       help=f"the DuckDB database file (default: $PPI_DB or "
                            f"{default_db_path()})")
        return p

    add = with_db("add", "create an account; the password is the first line of stdin")
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=accounts.ASSIGNABLE_ROLES)
    add.add_argument("--practice", action="append", default=[], metavar="NAME",
                     help="a practice of a practice manager (repeat for several)")
    with_db("list", "list the accounts (never passwords)")
    for name, text in (("disable", "deactivate an account (its sessions end at once)"),
                       ("enable", "reactivate an account")):
        with_db(name, text).add_argument("--username", required=True)
    with_db("reset-password", "set a new password (first line of stdin); lifts any "
                              "sign-in delay and ends the account's sessions"
            ).add_argument("--username", required=True)


def _password_from_stdin() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise ValueError("No password: give it as the first line of standard input.")
    return password


def _add(store: Store, args: argparse.Namespace) -> str:
    scope = accounts.create_account(store, LOCAL, args.username, _password_from_stdin(),
                                    args.role, args.practice or None)
    where = f" for {', '.join(sorted(scope.practices))}" if scope.practices else ""
    return f"Account {scope.user} created: {ROLE_LABELS[scope.role]}{where}."


def _list(store: Store, args: argparse.Namespace) -> str:
    table = accounts.list_accounts(store, LOCAL)
    if table.empty:
        return "No accounts yet."
    lines = [f"{'username':<24} {'role':<18} {'status':<12} practices"]
    for row in table.itertuples():
        status = "active" if row.active else "deactivated"
        lines.append(f"{row.username:<24} {ROLE_LABELS.get(row.role, row.role):<18} "
                     f"{status:<12} {row.practices or 'all'}")
    return "\n".join(lines)


def _disable(store: Store, args: argparse.Namespace) -> str:
    accounts.set_active(store, LOCAL, args.username, False)
    return f"Account {args.username.strip().lower()} deactivated."


def _enable(store: Store, args: argparse.Namespace) -> str:
    accounts.set_active(store, LOCAL, args.username, True)
    return f"Account {args.username.strip().lower()} reactivated."


def _reset(store: Store, args: argparse.Namespace) -> str:
    accounts.reset_password(store, LOCAL, args.username, _password_from_stdin())
    return f"Password of {args.username.strip().lower()} reset."


_ACTIONS: dict[str, Callable[[Store, argparse.Namespace], str]] = {
    "add": _add, "list": _list, "disable": _disable, "enable": _enable,
    "reset-password": _reset,
}


def run_command(args: argparse.Namespace) -> int:
    """Run one ``user`` action; returns the exit status (0 done, 2 refused)."""
    with (Store(args.db) if args.db else Store()) as store:
        try:
            print(_ACTIONS[args.user_command](store, args))
        except (ValueError, PermissionDenied) as error:
            print(f"user {args.user_command} refused: {error}", file=sys.stderr)
            return 2
    return 0
