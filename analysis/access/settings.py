"""Installation settings, declared as data, stored in the ``settings`` table.

Only admins change them (audited); everyone reads them through :func:`load_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from analysis.access.scope import Scope, require
from analysis.storage import audit
from analysis.storage.store import Store, read_settings, write_setting


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its key, bounds and what it means for users."""

    key: str
    minimum: int
    maximum: int
    description: str
    label: str = ""
    unit: str = ""

    @property
    def is_switch(self) -> bool:
        """Whether the setting is on/off (0 or 1) rather than a number."""
        return (self.minimum, self.maximum) == (0, 1)

    def allowed(self) -> str:
        """The allowed range in words ("" for a switch), e.g. "From 3 to 100 people."."""
        if self.is_switch:
            return ""
        unit = f" {self.unit}" if self.unit else ""
        return f"From {self.minimum:,} to {self.maximum:,}{unit}."

    def value_in_words(self, value: int) -> str:
        """A value as the pages say it: "on"/"off" for a switch, else the number."""
        if self.is_switch:
            return "on" if value else "off"
        return f"{value:,}" + (f" {self.unit}" if self.unit else "")


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
    pseudonymize: int = 1
    idle_minutes: int = 30


SETTING_SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("min_group_size", 3, 100,
                "Anonymity threshold: no group smaller than this is ever shown.",
                "Smallest group shown", "people"),
    SettingSpec("export_min_cell", 5, 100,
                "Researcher export: no cell smaller than this leaves the building.",
                "Smallest group in the researcher export", "people"),
    SettingSpec("min_sessions", 1, 50,
                "Participation rule: sessions attended on or before the survey date.",
                "Sessions that make a participant", "sessions"),
    SettingSpec("pseudonymize", 0, 1,
                "Replace every respondent ID by a keyed hash before it is stored, so that "
                "names, e-mail addresses or staff numbers used as IDs are never kept.",
                "Pseudonymize IDs on upload"),
    SettingSpec("idle_minutes", 5, 24 * 60,
                "Signed-in sessions end after this long without any activity.",
                "Sign out after inactivity", "minutes"),
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
            f"{spec.label or key}: {spec.allowed()[:1].lower() + spec.allowed()[1:-1]} "
            f"allowed; got {value}." if not spec.is_switch else
            f"{spec.label or key} is either on or off; got {value}."
        )
    with store.transaction() as cur:
        old = read_settings(cur).get(key)
        write_setting(cur, key, str(int(value)))
        audit.record(cur, scope.user, "setting", "ok",
                     {"key": key, "old": old, "new": int(value)})
    return load_settings(store)
