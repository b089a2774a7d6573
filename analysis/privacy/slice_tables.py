"""Every table of a report, held to :mod:`analysis.privacy.slicing`'s cell rule.

For a slice other than the base slice, each count cell of each table is matched to the
people it counts over the whole organization, cut into atoms; a cell in which some atom
holds 1 to ``k - 1`` people is not shown (see :mod:`analysis.privacy.slicing`). Tables whose
sample is a subset of such a cell (estimates, the minimum detectable effect, reliability,
response quality) are shown only where their counts equal the cell's, so that the
sample is exactly the checked cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from analysis.panel.index import distinct
from analysis.privacy.slicing import Atoms, KeyedCells, Slice, atom_labels, follow_cells

__all__ = ["OrganizationCells", "SliceCells", "checked_cells", "follow_group_totals", "guard_tables",
           "organization_cells", "slice_cells"]

_ALL = "__all__"
_ANY = "__any__"
_DESC_VALUES = ("n", "mean", "sd", "ci_low", "ci_high", "share_high", "share_high_ci_low",
                "share_high_ci_high")
_EST_VALUES = ("estimate", "ci_low", "ci_high", "p_value", "n_participants", "n_comparison",
               "effect_size", "std_error", "p_adjusted", "residual_df", "sentence", "caveat")
_PART_VALUES = ("n_respondents", "n_participants", "participation_rate", "sessions_median",
                "sessions_q1", "sessions_q3", "sessions_per_month", "retention")
_CHANGE_VALUES = ("n", "mean_change", "sd_change", "ci_low", "ci_high")
_ANSWER_KEYS = ["outcome", "wave", "site", "group"]
_PAIR_KEYS = ["outcome", "wave", "group", "dose_band"]


@dataclass(frozen=True)
class SliceCells:
    """Checked cells of a slice: ``keys``, ``safe`` and ``n`` (the slice's count).

    ``answers``: outcome (or ``__any__``) × wave × site (or ``__all__``) × group.
    ``pairs``: outcome × wave × group × dose_band, people seen at baseline and the wave.
    ``months``: month, people attending.
    """

    answers: pd.DataFrame
    pairs: pd.DataFrame
    months: pd.DataFrame
    #: the three keyed (answers, pairs, months) when the maker has them (the organization's keys)
    keyed: tuple[KeyedCells, KeyedCells, KeyedCells] | None = field(default=None, repr=False, compare=False)

    # each looked up a dozen times per report: keyed once (kept on the instance)
    @cached_property
    def keyed_answers(self) -> KeyedCells:
        return self.keyed[0] if self.keyed else KeyedCells.of(self.answers, _ANSWER_KEYS)

    @cached_property
    def keyed_pairs(self) -> KeyedCells:
        return self.keyed[1] if self.keyed else KeyedCells.of(self.pairs, _PAIR_KEYS)

    @cached_property
    def keyed_months(self) -> KeyedCells:
        return self.keyed[2] if self.keyed else KeyedCells.of(self.months, ["month"])


def checked_cells(rows: pd.DataFrame, keys: list[str], k: int) -> pd.DataFrame:
    """Per cell (``keys``): ``safe`` (every atom in it holds 0 or at least ``k`` people,
    over the whole organization) and ``n``, the people of the slice in it.

    ``rows``: ``keys``, ``atom``, ``person``, ``in_slice``; rows missing a key count in no
    cell (as a grouping drops them)."""
    complete = rows[keys].notna().all(axis=1).to_numpy()
    if not complete.all():
        rows = rows.loc[complete]
    counted = _counted_cells(rows, keys, k)
    return counted.for_slice(rows["in_slice"].to_numpy(dtype=bool))


@dataclass(frozen=True)
class _CountedCells:
    """A one-key-set table's cells over the organization (the part no slice changes).

    ``cell`` and ``person``: each row's codes; ``present``: the cells (sorted codes);
    ``frame``: their labels and ``safe``.
    """

    keys: list[str]
    cell: np.ndarray
    person: np.ndarray
    present: np.ndarray
    frame: pd.DataFrame

    def for_slice(self, in_slice: np.ndarray) -> pd.DataFrame:
        """The cells with ``n``, the people of the slice (``in_slice`` per row) in each."""
        if not len(self.cell):
            return pd.DataFrame(columns=[*self.keys, "safe", "n"])
        n_people = int(self.person.max()) + 1
        chosen = distinct(self.cell[in_slice] * n_people + self.person[in_slice]) // n_people
        shown_cells, shown_n = np.unique(chosen, return_counts=True)
        n = np.zeros(len(self.present), dtype="int64")
        n[np.searchsorted(self.present, shown_cells)] = shown_n
        return self.frame.assign(n=n.astype("float64"))

    @cached_property
    def keyed(self) -> KeyedCells:
        """The cells keyed for look-ups (the same for every slice; counts added per slice)."""
        return KeyedCells.of(self.frame, self.keys)


def _counted_cells(rows: pd.DataFrame, keys: list[str], k: int) -> _CountedCells:
    """The organization's part of :func:`checked_cells`: one sort of cell × atom × person.

    The guard's frames hold every row of the organization several times (per outcome,
    group and margin), millions at 100k survey rows: a grouped ``nunique`` over text keys
    took seconds where this takes a fraction of one.
    """
    if rows.empty:
        none = np.zeros(0, dtype="int64")
        return _CountedCells(keys, none, none, none, pd.DataFrame(columns=[*keys, "safe"]))
    coded = [pd.factorize(rows[column], sort=True) for column in keys]
    labels = [np.asarray(u) for _, u in coded]
    shape = tuple(len(u) for u in labels)
    cell = np.ravel_multi_index(tuple(c.astype("int64") for c, _ in coded), shape)
    atom = pd.factorize(rows["atom"], sort=False)[0]
    person = pd.factorize(rows["person"], sort=False)[0].astype("int64")
    n_atoms, n_people = int(atom.max()) + 1, int(person.max()) + 1
    triple = distinct((cell * n_atoms + atom) * n_people + person)
    cell_atom, per_atom = np.unique(triple // n_people, return_counts=True)
    bad_cells = distinct(cell_atom[(per_atom > 0) & (per_atom < k)] // n_atoms)
    present = distinct(cell)
    frame = pd.DataFrame({name: names[codes] for name, names, codes in
                          zip(keys, labels, np.unravel_index(present, shape))})
    frame["safe"] = ~np.isin(present, bad_cells)
    return _CountedCells(keys, cell, person, present, frame)


_DOSE_BANDS = np.array(["0", "1–2", "3–5", "6+", _ALL], dtype=object)
_GROUPS = np.array(["participants", "comparison", "all"], dtype=object)


@dataclass(frozen=True)
class OrganizationCells:
    """What :func:`slice_cells` counts over the whole organization, shared by every slice
    of one kind (see :func:`organization_cells`): per table, each row's cell and the
    cells' ``safe`` flags; a slice adds only its own counts."""

    answers: _MarginCells
    pairs: _MarginCells
    months: _CountedCells
    #: whether the atoms split roles (slices that choose roles)
    by_role: bool
    #: each panel row's and each attendance row's practice and role
    panel_members: _Members
    attendance_members: _Members

    def for_slice(self, slice_: Slice) -> SliceCells:
        """The slice's checked cells: these cells with the slice's own counts."""
        if self.by_role != (slice_.roles is not None):
            raise ValueError("these cells' atoms are for slices that "
                             + ("choose" if self.by_role else "do not choose") + " roles")
        in_slice = self.panel_members.in_slice(slice_)
        answers, pairs = self.answers.for_slice(in_slice), self.pairs.for_slice(in_slice)
        months = self.months.for_slice(self.attendance_members.in_slice(slice_))
        keyed = (self.answers.keyed.with_counts(answers["n"].to_numpy(dtype=float)),
                 self.pairs.keyed.with_counts(pairs["n"].to_numpy(dtype=float)),
                 self.months.keyed.with_counts(months["n"].to_numpy(dtype=float)))
        return SliceCells(answers, pairs, months, keyed)


@dataclass(frozen=True)
class _Members:
    """Each row's practice and role as codes into their labels (-1: missing)."""

    sites: np.ndarray
    site_labels: pd.Index
    roles: np.ndarray
    role_labels: pd.Index

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _Members:
        if frame.empty:
            none = np.zeros(0, dtype="int64")
            return cls(none, pd.Index([]), none, pd.Index([]))
        sites, site_labels = pd.factorize(frame["site"])
        roles, role_labels = pd.factorize(frame["role"])
        return cls(sites, pd.Index(site_labels), roles, pd.Index(role_labels))

    def in_slice(self, slice_: Slice) -> np.ndarray:
        """The rows of the slice's practices (scope included) and roles."""
        keep = np.ones(len(self.sites), dtype=bool)
        for chosen, codes, labels in ((slice_.site_choice(), self.sites, self.site_labels),
                                      (slice_.roles, self.roles, self.role_labels)):
            if chosen is not None:
                keep &= np.append(labels.isin(list(chosen)), False)[codes]  # -1: the appended False
        return keep


def organization_cells(org: pd.DataFrame, attendance: pd.DataFrame, outcomes: list[str],
                       atoms: Atoms, k: int, by_role: bool) -> OrganizationCells:
    """The slice-independent part of :func:`slice_cells`.

    Depends on the organization's panel (its data and threshold), attendance, the
    outcomes, the atoms (and so ``k``) and on whether the slice chooses roles (the atoms
    then split roles) only: a cache of it is keyed by these, never by the viewer.

    Counted on integer codes: a person answers once per wave (the store refuses a second
    answer), so within one outcome and wave each person is in exactly one practice, group
    and atom, and a margin's count per atom is the sum of its parts' counts.
    """
    kind = Slice(roles=("",) if by_role else None)  # atom labels read only whether roles are chosen
    person = org["person"].to_numpy(dtype="int64")
    wave, wave_labels = pd.factorize(org["wave"], sort=True)
    if len(org) and len(distinct(person * (len(wave_labels) + 1) + wave)) != len(org):
        raise ValueError("the panel holds a person twice at one wave")  # the store refuses this
    site, site_labels = pd.factorize(org["site"], sort=True)
    atom, _ = pd.factorize(atom_labels(org, kind, atoms), sort=False)
    any_dose, _ = pd.factorize(atom_labels(org, kind, atoms, sessions_col=None), sort=False)
    any_of = np.zeros(int(atom.max()) + 1 if len(atom) else 0, dtype="int64")
    any_of[atom] = any_dose  # each dose atom lies in one atom without dose step
    group = np.where(org["participant"].to_numpy(dtype=bool), 0, 1)
    band = np.digitize(org["sessions"].to_numpy(dtype="float64"), [0, 2, 5], right=True)
    names = np.array([_ANY, *outcomes], dtype=object)
    first = org["wave_index"].to_numpy() == 0
    answer_parts, pair_parts = [], []
    for number, outcome in enumerate(names):
        answered = np.ones(len(org), dtype=bool) if outcome == _ANY else org[outcome].notna().to_numpy()
        rows = np.flatnonzero(answered)
        answer_parts.append((np.full(rows.size, number), wave[rows], site[rows], group[rows], atom[rows],
                             rows))
        if outcome != _ANY:
            rows = np.flatnonzero(~first & answered & np.isin(person, person[first & answered]))
            pair_parts.append((np.full(rows.size, number), wave[rows], group[rows], band[rows], atom[rows],
                               rows))
    waves = np.asarray(wave_labels, dtype=object)
    answers = _margin_cells(answer_parts, _Margins(
        ["outcome", "wave", "site", "group"],
        [names, waves, np.append(np.asarray(site_labels, dtype=object), _ALL), _GROUPS], total=2, group=3),
        any_of, k)
    pairs = _margin_cells(pair_parts, _Margins(
        ["outcome", "wave", "group", "dose_band"], [names, waves, _GROUPS, _DOSE_BANDS], total=3, group=2),
        any_of, k)
    return OrganizationCells(answers, pairs, _month_plan(attendance, kind, atoms, k), by_role,
                             _Members.of(org), _Members.of(attendance))


def slice_cells(org: pd.DataFrame, attendance: pd.DataFrame, outcomes: list[str], slice_: Slice,
                atoms: Atoms, k: int, counted: OrganizationCells | None = None) -> SliceCells:
    """The checked cells of every table, from the organization's panel and attendance.

    ``answers``: each outcome (and ``__any__``) × wave × practice (and ``__all__``) × group
    (participants and comparison by dose atom; ``all`` by the atom without dose step).
    ``pairs``: the people seen at baseline and a follow-up wave with the outcome, × group
    × dose band (and ``__all__``).

    ``counted``: :func:`organization_cells` of the same ``org``, ``attendance``,
    ``outcomes``, ``atoms`` and ``k``, for ``slice_.roles is not None``, when the caller
    keeps it (else counted here); the slice then only counts its own people per cell
    (``org`` and ``attendance`` are not read).
    """
    if counted is None or counted.by_role != (slice_.roles is not None):
        counted = organization_cells(org, attendance, outcomes, atoms, k, slice_.roles is not None)
    return counted.for_slice(slice_)


@dataclass(frozen=True)
class _Margins:
    """A table's cell keys, their labels (a margin's total label last), the key with a
    total margin and the group key (its ``all`` counts atoms without dose step)."""

    names: list[str]
    labels: list[np.ndarray]
    total: int
    group: int


#: The four views of a table: (total margin, ``all`` group), in the order the frames are joined.
_VARIANTS = ((False, False), (False, True), (True, False), (True, True))


@dataclass(frozen=True)
class _MarginCells:
    """A table's cells with margins over the organization: each row's cell code and its
    row of the panel; per view (:data:`_VARIANTS`) the cells present and their labels and
    ``safe`` flags."""

    keys: _Margins
    cell: np.ndarray
    rows: np.ndarray
    views: tuple[tuple[np.ndarray, pd.DataFrame], ...]

    def for_slice(self, in_slice: np.ndarray) -> pd.DataFrame:
        """Safe and ``n`` per cell for the slice (``in_slice``: per row of the panel)."""
        if not self.views:
            return pd.DataFrame(columns=[*self.keys.names, "safe", "n"])
        shape = tuple(len(labels) for labels in self.keys.labels)
        chosen, chosen_n = np.unique(self.cell[in_slice[self.rows]], return_counts=True)
        frames = []
        for (total, everyone), (present, frame) in zip(_VARIANTS, self.views):
            shown, where = np.unique(_moved(chosen, shape, self.keys, total, everyone), return_inverse=True)
            n = np.zeros(len(present))
            n[np.searchsorted(present, shown)] = np.bincount(where, weights=chosen_n)
            frames.append(frame.assign(n=n))
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def keyed(self) -> KeyedCells:
        """The cells keyed for look-ups, in :meth:`for_slice`'s row order (counts added per slice)."""
        frame = (pd.concat([frame for _, frame in self.views], ignore_index=True) if self.views
                 else pd.DataFrame(columns=[*self.keys.names, "safe"]))
        return KeyedCells.of(frame, self.keys.names)


def _margin_cells(parts: list[tuple[np.ndarray, ...]], keys: _Margins, any_of: np.ndarray,
                  k: int) -> _MarginCells:
    """Safe per cell, margins included, from one row per person and cell."""
    if not parts or not sum(part[0].size for part in parts):
        return _MarginCells(keys, np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64"), ())
    columns = [np.concatenate([part[i] for part in parts]).astype("int64") for i in range(5)]
    rows = np.concatenate([part[5] for part in parts])
    shape = tuple(len(labels) for labels in keys.labels)
    n_atoms = max(len(any_of), int(any_of.max()) + 1) if len(any_of) else 1
    cell = np.ravel_multi_index(tuple(columns[:4]), shape)
    cell_atom, people = np.unique(cell * n_atoms + columns[4], return_counts=True)
    views = []
    for total, everyone in _VARIANTS:
        moved = _moved(cell_atom // n_atoms, shape, keys, total, everyone)
        atom = any_of[cell_atom % n_atoms] if everyone else cell_atom % n_atoms
        per_atom, where = np.unique(moved * n_atoms + atom, return_inverse=True)
        counts = np.bincount(where, weights=people)
        bad = distinct(per_atom[(counts > 0) & (counts < k)] // n_atoms)
        present = distinct(moved)
        frame = pd.DataFrame({name: labels[codes] for name, labels, codes in
                              zip(keys.names, keys.labels, np.unravel_index(present, shape))})
        views.append((present, frame.assign(safe=~np.isin(present, bad))))
    # kept per data version: 4-byte codes halve what the store holds (a cell code fits)
    small = "int32" if np.prod(shape, dtype=np.float64) < 2**31 and len(rows) < 2**31 else "int64"
    return _MarginCells(keys, cell.astype(small), rows.astype(small), tuple(views))


def _moved(cells: np.ndarray, shape: tuple[int, ...], keys: _Margins, total: bool,
           everyone: bool) -> np.ndarray:
    """The cells' codes with the total margin and/or the ``all`` group put in."""
    codes = list(np.unravel_index(cells, shape))
    if total:
        codes[keys.total] = np.full(cells.size, shape[keys.total] - 1)
    if everyone:
        codes[keys.group] = np.full(cells.size, 2)
    return np.ravel_multi_index(tuple(codes), shape)


def _month_plan(attendance: pd.DataFrame, kind: Slice, atoms: Atoms, k: int) -> _CountedCells:
    if attendance.empty:
        return _counted_cells(pd.DataFrame(), ["month"], k)
    rows = pd.DataFrame({"month": attendance["session_date"].dt.strftime("%Y-%m").to_numpy(),
                         "atom": atom_labels(attendance, kind, atoms, sessions_col=None).to_numpy(),
                         "person": attendance["person"].to_numpy()})
    return _counted_cells(rows, ["month"], k)


# ------------------------------------------------------------------ per table


def _site_key(frame: pd.DataFrame) -> pd.Series:
    site = frame["site"].astype(str)
    return site.where(~site.isin(["all", "selection"]), _ALL)


def guard_descriptives(table: pd.DataFrame, cells: SliceCells) -> pd.DataFrame:
    """Hide descriptives cells with a small atom (counts are the slice's own)."""
    if table.empty:
        return table
    keyed = table.assign(site=_site_key(table))
    out = follow_cells(keyed, cells.keyed_answers, _ANSWER_KEYS, None, _DESC_VALUES)
    out["site"] = table["site"].to_numpy()
    return out


def _pair_of_groups(table: pd.DataFrame, cells: KeyedCells, keys: list[str],
                    extra: dict[str, str]) -> np.ndarray:
    """Rows whose participants and comparison counts both match a safe cell."""
    ok = np.ones(len(table), dtype=bool)  # written in place below
    for group, col in (("participants", "n_participants"), ("comparison", "n_comparison")):
        if col not in table.columns:
            continue
        probe = table[[*keys, col]].copy().assign(group=group, **extra)
        probe["suppressed"] = False
        checked = follow_cells(probe, cells, [*keys, "group", *extra], col, [])
        counted = pd.to_numeric(table[col], errors="coerce").notna().to_numpy()
        ok &= ~checked["suppressed"].to_numpy(dtype=bool) | ~counted
    return ok


def guard_group_pairs(table: pd.DataFrame, cells: SliceCells, value_cols: tuple[str, ...]) -> pd.DataFrame:
    """Estimates and MDE rows: shown only when their two groups are a checked cell each."""
    if table.empty:
        return table
    on_answers = _pair_of_groups(table, cells.keyed_answers, ["outcome", "wave"], {"site": _ALL})
    on_pairs = _pair_of_groups(table, cells.keyed_pairs, ["outcome", "wave"], {"dose_band": _ALL})
    return _hide(table, ~(on_answers | on_pairs), value_cols)


def _hide(table: pd.DataFrame, hide: np.ndarray, value_cols: tuple[str, ...]) -> pd.DataFrame:
    if not hide.any():
        return table
    out = table.copy()
    mask = pd.Series(hide, index=out.index)
    for col in value_cols:
        if col in out.columns:
            out[col] = out[col].mask(mask)
    out["suppressed"] = out["suppressed"].fillna(False).astype(bool) | mask
    if "status" in out.columns:
        out["status"] = out["status"].mask(mask, "insufficient")
    return out


def guard_participation(table: pd.DataFrame, cells: SliceCells) -> pd.DataFrame:
    """Participation rows: respondents, participants and comparison cells all safe."""
    if table.empty:
        return table
    hide = np.array(table["breakdown"].astype(str).eq("session_type"), dtype=bool)  # overlapping: no atoms
    by_role = table["breakdown"].astype(str).eq("role").to_numpy()
    hide |= by_role  # role rows are not a practice breakdown: not shown outside the base slice
    keyed = table.assign(site=_site_key(table), outcome=_ANY)
    for group in ("participants", "comparison", "all"):
        probe = keyed.assign(group=group)
        probe["suppressed"] = False
        checked = follow_cells(probe, cells.keyed_answers, _ANSWER_KEYS, None, [])  # outcome: __any__
        hide |= checked["suppressed"].to_numpy(dtype=bool)
    return _hide(table, hide, _PART_VALUES)


def guard_change(table: pd.DataFrame, cells: SliceCells) -> pd.DataFrame:
    if table.empty:
        return table
    probe = table.assign(dose_band=_ALL)
    checked = follow_cells(probe, cells.keyed_pairs, _PAIR_KEYS, "n", [])
    hide = checked["suppressed"].to_numpy(dtype=bool)
    # both rows of a wave go together, as with the estimate they explain
    wave_hidden = pd.Series(hide).groupby([table["outcome"].to_numpy(),
                                           table["wave"].astype(str).to_numpy()]).transform("any")
    return _hide(table, wave_hidden.to_numpy(dtype=bool), _CHANGE_VALUES)


def guard_dose(table: pd.DataFrame, cells: SliceCells) -> pd.DataFrame:
    if table.empty:
        return table
    band = table["dose_band"].astype(str)
    probe = table.assign(group="all", dose_band=band.where(band != "all", _ALL))
    checked = follow_cells(probe, cells.keyed_pairs, _PAIR_KEYS, "n", [])
    return _hide(table, checked["suppressed"].to_numpy(dtype=bool), _CHANGE_VALUES)


def guard_counted(table: pd.DataFrame, cells: SliceCells, outcome_col: str, count_col: str,
                  value_cols: tuple[str, ...], any_outcome: bool = False) -> pd.DataFrame:
    """Reliability and quality rows: their count must equal a safe 'all' cell."""
    if table.empty:
        return table
    probe = table.assign(outcome=_ANY if any_outcome else table[outcome_col], site=_ALL, group="all")
    probe["suppressed"] = False
    checked = follow_cells(probe, cells.keyed_answers, _ANSWER_KEYS, count_col, [])
    return _hide(table, checked["suppressed"].to_numpy(dtype=bool), (count_col, *value_cols))


def guard_months(table: pd.DataFrame, cells: SliceCells) -> pd.DataFrame:
    if table.empty:
        return table
    checked = follow_cells(table.assign(suppressed=False), cells.keyed_months, ["month"], "people", [])
    return _hide(table, checked["suppressed"].to_numpy(dtype=bool), ("people", "sessions"))


def guard_tables(tables: dict[str, pd.DataFrame], cells: SliceCells) -> dict[str, pd.DataFrame]:
    """Every table of a non-base slice with its unsafe cells hidden."""
    out = dict(tables)
    out["descriptives"] = guard_descriptives(tables["descriptives"], cells)
    out["estimates"] = guard_group_pairs(tables["estimates"], cells, _EST_VALUES)
    out["mde"] = guard_group_pairs(tables["mde"], cells,
                                   ("n_participants", "n_comparison", "mde_d", "baseline_sd", "mde_points"))
    out["participation"] = guard_participation(tables["participation"], cells)
    out["change"] = guard_change(tables["change"], cells)
    out["dose"] = guard_dose(tables["dose"], cells)
    out["reliability"] = guard_counted(tables["reliability"], cells, "scale", "n",
                                       ("alpha", "ci_low", "ci_high"))
    quality = guard_counted(tables["quality"], cells, "outcome", "n_scored", ("share_items_missing",))
    out["quality"] = guard_counted(quality, cells, "outcome", "n_responses", (), any_outcome=True)
    out["monthly"] = guard_months(tables["monthly"], cells)
    return out


def follow_group_totals(table: pd.DataFrame, descriptives: pd.DataFrame, outcome: str,
                        value_cols: tuple[str, ...] = ("n", "p05", "q1", "median", "q3", "p95")
                        ) -> pd.DataFrame:
    """Hide rows (``wave, group, n``) not shown, with the same ``n``, by the report's total.

    For aggregates the report does not carry (score quantiles of the dashboards): a row
    counting exactly the people of a shown total cell (organization or selection) of
    the guarded descriptives adds no group size; any other row is hidden.
    """
    if table.empty:
        return table
    totals = descriptives.loc[(descriptives["outcome"] == outcome)
                              & descriptives["site"].astype(str).isin(["all", "selection"])]
    cells = totals.assign(safe=~totals["suppressed"].astype(bool))[["wave", "group", "safe", "n"]]
    checked = follow_cells(table.assign(suppressed=False), cells, ["wave", "group"], "n", [])
    hide = checked["suppressed"].to_numpy(dtype=bool)
    out = _hide(table, hide, tuple(c for c in value_cols if c in table.columns))
    return out
