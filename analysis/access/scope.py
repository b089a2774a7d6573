"""Who is looking: the viewer's scope, and what each role may do.

Every data access in :mod:`analysis` takes a :class:`Scope`; this module is where the
rules live, so hiding a page in the UI is convenience, never the protection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "leadership", "researcher", "practice_manager", "local"]
Action = Literal[
    "view", "upload", "undo", "export", "settings", "accounts", "audit", "delete_data",
]

#: What each role may do (the product brief's table, as data).
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "practice_manager": frozenset({"view", "upload", "undo"}),
    "leadership": frozenset({"view"}),
    "researcher": frozenset({"view", "export"}),
    "admin": frozenset(
        {"view", "upload", "undo", "export", "settings", "accounts", "audit", "delete_data"}
    ),
    # Before the first account exists the app runs for one person on localhost.
    "local": frozenset(
        {"view", "upload", "undo", "export", "settings", "accounts", "audit", "delete_data"}
    ),
}

ROLE_LABELS: dict[str, str] = {
    "practice_manager": "Practice manager",
    "leadership": "Leadership",
    "researcher": "Researcher",
    "admin": "Administrator",
    "local": "Local single user",
}


class PermissionDenied(Exception):
    """A request outside the viewer's scope. The message is safe to show to the user."""


@dataclass(frozen=True)
class Scope:
    """The viewer: role, the practices they may see (None = all) and a name for the audit.

    Parameters
    ----------
    role : str
        One of :data:`ROLE_ACTIONS`.
    practices : frozenset of str or None
        Sites the viewer may see and change; None means every site.
    user : str
        Account name (for the audit log).
    """

    role: Role
    practices: frozenset[str] | None = None
    user: str = "local"

    def __post_init__(self) -> None:
        if self.role not in ROLE_ACTIONS:
            raise ValueError(f"unknown role: {self.role!r}")
        if self.role == "practice_manager" and self.practices is None:
            raise ValueError("a practice manager's scope must name their practices")

    def may(self, action: str) -> bool:
        """Whether the role allows ``action`` at all."""
        return action in ROLE_ACTIONS[self.role]

    def sees_site(self, site: str) -> bool:
        """Whether ``site`` is inside the scope."""
        return self.practices is None or site in self.practices

    def site_list(self) -> list[str] | None:
        """The sites as a list for a SQL parameter (None = no restriction)."""
        return None if self.practices is None else sorted(self.practices)


def require(scope: Scope, action: str, sites: Iterable[str] = ()) -> None:
    """Raise :class:`PermissionDenied` unless ``scope`` may do ``action`` on ``sites``.

    Parameters
    ----------
    scope : Scope
    action : str
    sites : iterable of str
        Sites the action touches; each must be inside the scope.
    """
    if not scope.may(action):
        raise PermissionDenied(
            f"Your role ({ROLE_LABELS[scope.role]}) does not allow this: {action}."
        )
    outside = sorted({s for s in sites if not scope.sees_site(s)})
    if outside:
        raise PermissionDenied(
            "This touches practices outside your access: " + ", ".join(outside) + "."
        )


#: The scope of the command line and of the local single-user session.
LOCAL = Scope(role="local")

#: The name :func:`viewing_scope` gives: results computed under it are no one person's.
SHARED_VIEWER = "dashboard viewers"


def viewing_scope(scope: Scope) -> Scope:
    """What the dashboards' results depend on in ``scope``: its practices, with the one
    permission they need (``view``) and no person's name.

    Every role may view, and nothing a dashboard computes depends on who asks, so
    viewers with the same practices share one cached result: after an upload the
    organization's report is built once, not once per person who opens a dashboard.
    The viewer's own scope is checked here (``view``), and must be checked for anything
    beyond viewing: the returned scope carries only ``view``.

    Examples
    --------
    >>> a = viewing_scope(Scope("leadership", user="ada"))
    >>> a == viewing_scope(Scope("admin", user="bo")) and a.user == SHARED_VIEWER
    True
    >>> viewing_scope(Scope("practice_manager", frozenset({"North"}), "cy")).may("upload")
    False
    """
    require(scope, "view")
    return Scope("leadership", scope.practices, SHARED_VIEWER)
