"""Single sign-on (OpenID Connect through ``st.login``): who gets which role.

Organisations with an identity provider sign in through it; a TOML role map
(``config/roles.example.toml``) gives each person a role, matched by e-mail, group claim
or e-mail domain. A person the map does not admit is refused.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.access.accounts import practices_for, scope_for
from analysis.access.scope import Scope
from analysis.storage import audit
from analysis.storage.store import Store

#: Environment variable naming the role map; else ``.streamlit/roles.toml`` in the repository.
ROLE_MAP_ENV = "PPI_ROLE_MAP"
DEFAULT_ROLE_MAP = Path(__file__).resolve().parents[2] / ".streamlit" / "roles.toml"


def role_map_path() -> Path:
    """Where the role map is read from: ``$PPI_ROLE_MAP``, else ``.streamlit/roles.toml``."""
    return Path(os.environ.get(ROLE_MAP_ENV) or DEFAULT_ROLE_MAP)


def _entry_problem(where: str, entry: Any) -> str | None:
    if not isinstance(entry, Mapping):
        return f"{where}: expected a table like {{ role = \"leadership\" }}"
    try:
        practices_for(entry.get("role", ""), entry.get("practices"))
    except ValueError as error:
        return f"{where}: {error}"
    return None


def load_role_map(path: str | Path | None = None) -> dict[str, Any]:
    """Read and check the role map (see ``config/roles.example.toml`` for its format).

    A missing file gives an empty map: every single-sign-on user is then refused.

    Raises
    ------
    ValueError
        The file is not valid TOML or an entry is invalid (message names the entry).
    """
    target = Path(path) if path is not None else role_map_path()
    if not target.exists():
        return {}
    try:
        role_map = tomllib.loads(target.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"The role map {target} is not valid TOML: {error}") from error
    problems = [
        problem
        for section in ("users", "groups", "domains")
        for key, entry in role_map.get(section, {}).items()
        if (problem := _entry_problem(f"[{section}] {key!r}", entry))
    ]
    if problems:
        raise ValueError(f"The role map {target} has invalid entries: " + "; ".join(problems))
    return role_map


def _claim_values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return []


def sso_scope(
    email: str | None, claims: Mapping[str, Any], role_map: Mapping[str, Any]
) -> Scope | None:
    """The scope of a single-sign-on user, or None when the role map does not admit them.

    Matching, first hit wins: ``[users]`` by e-mail (case-insensitive); then ``[groups]``
    by the values of the claim named by ``claim`` (e.g. ``groups`` or ``roles``), in the
    map's order; then ``[domains]`` by the e-mail's domain. A user whose provider says
    ``email_verified = false`` is matched by groups only, never by e-mail or domain.
    """
    mail = (email or "").strip().lower()
    verified = claims.get("email_verified") is not False
    entry: Mapping[str, Any] | None = None
    if verified and mail:
        users = {k.lower(): v for k, v in role_map.get("users", {}).items()}
        entry = users.get(mail)
    claim = role_map.get("claim")
    if entry is None and claim:
        held = set(_claim_values(claims.get(claim)))
        entry = next((v for k, v in role_map.get("groups", {}).items() if k in held), None)
    if entry is None and verified and "@" in mail:
        domains = {k.lower(): v for k, v in role_map.get("domains", {}).items()}
        entry = domains.get(mail.rsplit("@", 1)[1])
    if entry is None or _entry_problem("entry", entry):
        return None
    role = entry["role"]
    return scope_for({"username": sso_identity(email, claims), "role": role,
                      "practices": practices_for(role, entry.get("practices"))})


def sso_identity(email: str | None, claims: Mapping[str, Any]) -> str:
    """The name a single-sign-on user has in scopes and the audit log: the e-mail in
    lower case, else the provider's subject identifier."""
    return (email or "").strip().lower() or str(claims.get("sub") or "(no e-mail)")


def record_sso_sign_in(store: Store, email: str | None, scope: Scope | None) -> None:
    """Audit a single-sign-on arrival: ``ok`` with the mapped role, or ``refused``."""
    with store.transaction() as cur:
        audit.record(cur, scope.user if scope else sso_identity(email, {}), "sign_in",
                     "ok" if scope else "refused",
                     {"method": "sso", "role": scope.role if scope else None,
                      "reason": None if scope else "not in the role map"})

