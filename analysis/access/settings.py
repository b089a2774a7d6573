"""Installation settings, declared as data, stored in the ``settings`` table.

Only admins change them (audited); everyone reads them through :func:`load_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from analysis.storage import audit
from analysis.access.scope import Scope, require
from analysis.storage.store import Store, read_settings, write_setting


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its key, bounds and what it means for users."""

    key: str
    minimum: int
    maximum: int
    description: str


@dataclass(frozen=True)
class Settings:
    """The settings in force.

    Parameters
    ----------
    min_group_size : int
        Smallest group shown in any view (never below 3).
    export_min_cell : int
        Smallest cell that may leave the building in the researcher export.
    min_sessions : int
        Sessions attended (on or before the survey date) that make a participant.
    pseudonymize : int
        1 when uploads have their IDs replaced by a keyed hash before storage.
    idle_minutes : int
        Signed-in sessions expire after this many idle minutes.
    """

    min_group_size: int = 5
    export_min_cell: int = 10
    min_sessions: int = 1
    pseudonymize: int = 0
    idle_minutes: int = 30


SETTING_SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("min_group_size", 3, 100,
                "Anonymity threshold: no group smaller than this is ever shown."),
    SettingSpec("export_min_cell", 5, 100,
                "Researcher export: no cell smaller than this leaves the building."),
    SettingSpec("min_sessions", 1, 50,
                "Participation rule: sessions attended on or before the survey date."),
    SettingSpec("pseudonymize", 0, 1,
                "Replace every respondent ID by a keyed hash before storage (1 = on)."),
    SettingSpec("idle_minutes", 5, 24 * 60,
                "Sign-in sessions expire after this many idle minutes."),
)
SPECS_BY_KEY = {s.key: s for s in SETTING_SPECS}


def load_settings(store: Store) -> Settings:
    """The settings in force (defaults for anything never set)."""
    with store.cursor() as cur:
        rows = read_settings(cur)
    values = {}
    for f in fields(Settings):
        if f.name in rows:
            try:
                values[f.name] = int(rows[f.name])
            except ValueError:
                continue
    return replace(Settings(), **values)


def save_setting(store: Store, scope: Scope, key: str, value: int) -> Settings:
    """Change one setting (admins only), checked against its bounds, and audit it.

    Raises
    ------
    PermissionDenied
        When the scope may not change settings.
    ValueError
        When the key is unknown or the value outside its bounds (message for the user).
    """
    require(scope, "settings")
    spec = SPECS_BY_KEY.get(key)
    if spec is None:
        raise ValueError(f"Unknown setting: {key}.")
    if not spec.minimum <= int(value) <= spec.maximum:
        raise ValueError(
            f"{key} must be between {spec.minimum} and {spec.maximum}; got {value}."
        )
    with store.transaction() as cur:
        old = read_settings(cur).get(key)
        write_setting(cur, key, str(int(value)))
        audit.record(cur, scope.user, "setting", "ok",
                     {"key": key, "old": old, "new": int(value)})
    return load_settings(store)
