"""Every table of a report, held to :mod:`analysis.privacy.slicing`'s cell rule.

For a slice other than the base slice, each count cell of each table is matched to the
people it counts over the whole organization, cut into atoms; a cell in which some atom
holds 1 to ``k - 1`` people is not shown (see :mod:`analysis.privacy.slicing`). Tables whose
sample is a subset of such a cell (estimates, the minimum detectable effect, reliability,
response quality) are shown only where their counts equal the cell's, so that the
sample is exactly the checked cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.panel.index import distinct
from analysis.privacy.slicing import Atoms, Slice, atom_labels, follow_cells

__all__ = ["SliceCells", "checked_cells", "follow_group_totals", "guard_tables", "slice_cells"]

_ALL = "__all__"
_ANY = "__any__"
_DESC_VALUES = ("n", "mean", "sd", "ci_low", "ci_high", "share_high", "share_high_ci_low",
                "share_high_ci_high")
_EST_VALUES = ("estimate", "ci_low", "ci_high", "p_value", "n_participants", "n_comparison",
               "effect_size", "std_error", "p_adjusted", "residual_df", "sentence", "caveat")
_PART_VALUES = ("n_respondents", "n_participants", "participation_rate", "sessions_median",
                "sessions_q1", "sessions_q3", "sessions_per_month", "retention")
_CHANGE_VALUES = ("n", "mean_change", "sd_change", "ci_low", "ci_high")


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


def _groups(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows per group; the ``all`` group does not depend on the threshold: no dose step."""
    group = np.where(frame["participant"].astype(bool), "participants", "comparison")
    everyone = frame.assign(group="all", atom=frame["atom_any_dose"])
    return pd.concat([frame.assign(group=group), everyone], ignore_index=True)


def checked_cells(rows: pd.DataFrame, keys: list[str], k: int) -> pd.DataFrame:
    """Per cell (``keys``): ``safe`` (:func:`analysis.privacy.slicing.atom_safe_cells`'s rule)
    and ``n``, the people of the slice in it.

    Counted on integer codes (one sort of cell × atom × person), not with a grouped
    ``nunique`` over text keys: the frames hold every row of the organization several
    times (per outcome, group and margin), millions at 100k survey rows.
    """
    complete = rows[keys].notna().all(axis=1).to_numpy()
    if not complete.all():
        rows = rows.loc[complete]  # a cell needs every key (as a grouping drops missing keys)
    if rows.empty:
        return pd.DataFrame(columns=[*keys, "safe", "n"])
    cell_codes, cell_labels = [], []
    for column in keys:
        codes, labels = pd.factorize(rows[column], sort=True)
        cell_codes.append(codes.astype("int64"))
        cell_labels.append(labels)
    shape = tuple(len(labels) for labels in cell_labels)
    cell = np.ravel_multi_index(tuple(cell_codes), shape)
    atom, _ = pd.factorize(rows["atom"], sort=False)
    person, _ = pd.factorize(rows["person"], sort=False)
    n_atoms, n_people = int(atom.max()) + 1, int(person.max()) + 1
    # distinct (cell, atom, person): people per atom in each cell
    triple = distinct((cell * n_atoms + atom) * n_people + person)
    cell_atom, per_atom = np.unique(triple // n_people, return_counts=True)
    bad_cells = distinct(cell_atom[(per_atom > 0) & (per_atom < k)] // n_atoms)
    cells = distinct(cell)
    in_slice = rows["in_slice"].to_numpy(dtype=bool)
    chosen = distinct(cell[in_slice] * n_people + person[in_slice]) // n_people
    shown_cells, shown_n = np.unique(chosen, return_counts=True)
    n = np.zeros(len(cells), dtype="int64")
    n[np.searchsorted(cells, shown_cells)] = shown_n
    out = pd.DataFrame({column: labels[codes] for column, labels, codes in
                        zip(keys, cell_labels, np.unravel_index(cells, shape))})
    out["safe"] = ~np.isin(cells, bad_cells)
    out["n"] = n.astype("float64")
    return out


def slice_cells(org: pd.DataFrame, attendance: pd.DataFrame, outcomes: list[str], slice_: Slice,
                atoms: Atoms, k: int) -> SliceCells:
    """The checked cells of every table, from the organization's panel and attendance."""
    frame = org.copy()
    frame["atom"] = atom_labels(frame, slice_, atoms)
    frame["atom_any_dose"] = atom_labels(frame, slice_, atoms, sessions_col=None)
    in_slice = np.ones(len(frame), dtype=bool)
    sites = slice_.site_choice()
    if sites is not None:
        in_slice &= frame["site"].isin(list(sites)).to_numpy()
    if slice_.roles is not None:
        in_slice &= frame["role"].isin(list(slice_.roles)).to_numpy()
    frame["in_slice"] = in_slice
    base_cols = ["person", "wave", "site", "role", "participant", "atom", "atom_any_dose", "in_slice"]
    answer_parts, pair_parts = [], []
    baseline = frame.loc[frame["wave_index"] == 0]
    for outcome in [_ANY, *outcomes]:
        rows = frame if outcome == _ANY else frame.loc[frame[outcome].notna()]
        answer_parts.append(rows[base_cols].assign(outcome=outcome))
        if outcome == _ANY:
            continue
        seen = baseline.loc[baseline[outcome].notna(), "person"].unique()
        follow = frame.loc[(frame["wave_index"] > 0) & frame[outcome].notna()
                           & frame["person"].isin(seen)]
        band = pd.cut(follow["sessions"].astype("float64"), bins=[-np.inf, 0, 2, 5, np.inf],
                      labels=["0", "1–2", "3–5", "6+"]).astype(str)
        pair_parts.append(follow[base_cols].assign(outcome=outcome, dose_band=band))
    answers = _groups(pd.concat(answer_parts, ignore_index=True))
    answers = pd.concat([answers, answers.assign(site=_ALL)], ignore_index=True)
    answers_cells = checked_cells(answers, ["outcome", "wave", "site", "group"], k)
    pairs = _groups(pd.concat(pair_parts, ignore_index=True)) if pair_parts else answers.iloc[:0]
    if len(pairs):
        pairs = pd.concat([pairs, pairs.assign(dose_band=_ALL)], ignore_index=True)
        pairs_cells = checked_cells(pairs, ["outcome", "wave", "group", "dose_band"], k)
    else:
        pairs_cells = pd.DataFrame(columns=["outcome", "wave", "group", "dose_band", "safe", "n"])
    months = _month_cells(attendance, slice_, atoms, k)
    return SliceCells(answers_cells, pairs_cells, months)


def _month_cells(attendance: pd.DataFrame, slice_: Slice, atoms: Atoms, k: int) -> pd.DataFrame:
    if attendance.empty:
        return pd.DataFrame(columns=["month", "safe", "n"])
    rows = attendance.assign(month=attendance["session_date"].dt.strftime("%Y-%m"))
    rows["atom"] = atom_labels(rows, slice_, atoms, sessions_col=None)
    in_slice = np.ones(len(rows), dtype=bool)
    sites = slice_.site_choice()
    if sites is not None:
        in_slice &= rows["site"].isin(list(sites)).to_numpy()
    if slice_.roles is not None:
        in_slice &= rows["role"].isin(list(slice_.roles)).to_numpy()
    rows["in_slice"] = in_slice
    return checked_cells(rows, ["month"], k)


# ------------------------------------------------------------------ per table


def _site_key(frame: pd.DataFrame) -> pd.Series:
    site = frame["site"].astype(str)
    return site.where(~site.isin(["all", "selection"]), _ALL)


def guard_descriptives(table: pd.DataFrame, cells: SliceCells) -> pd.DataFrame:
    """Hide descriptives cells with a small atom (counts are the slice's own)."""
    if table.empty:
        return table
    keyed = table.assign(site=_site_key(table))
    out = follow_cells(keyed, cells.answers, ["outcome", "wave", "site", "group"], None, _DESC_VALUES)
    out["site"] = table["site"].to_numpy()
    return out


def _pair_of_groups(table: pd.DataFrame, cells: pd.DataFrame, keys: list[str],
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
    on_answers = _pair_of_groups(table, cells.answers, ["outcome", "wave"],
                                 {"site": _ALL})
    on_pairs = _pair_of_groups(table, cells.pairs, ["outcome", "wave"], {"dose_band": _ALL})
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
    answers = cells.answers.loc[cells.answers["outcome"] == _ANY]
    hide = np.array(table["breakdown"].astype(str).eq("session_type"), dtype=bool)  # overlapping: no atoms
    by_role = table["breakdown"].astype(str).eq("role").to_numpy()
    hide |= by_role  # role rows are not a practice breakdown: not shown outside the base slice
    keyed = table.assign(site=_site_key(table), outcome=_ANY)
    for group in ("participants", "comparison", "all"):
        probe = keyed.assign(group=group)
        probe["suppressed"] = False
        checked = follow_cells(probe, answers, ["outcome", "wave", "site", "group"], None, [])
        hide |= checked["suppressed"].to_numpy(dtype=bool)
    return _hide(table, hide, _PART_VALUES)


def guard_change(table: pd.DataFrame, cells: SliceCells) -> pd.DataFrame:
    if table.empty:
        return table
    probe = table.assign(dose_band=_ALL)
    checked = follow_cells(probe, cells.pairs, ["outcome", "wave", "group", "dose_band"], "n", [])
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
    checked = follow_cells(probe, cells.pairs, ["outcome", "wave", "group", "dose_band"], "n", [])
    return _hide(table, checked["suppressed"].to_numpy(dtype=bool), _CHANGE_VALUES)


def guard_counted(table: pd.DataFrame, cells: SliceCells, outcome_col: str, count_col: str,
                  value_cols: tuple[str, ...], any_outcome: bool = False) -> pd.DataFrame:
    """Reliability and quality rows: their count must equal a safe 'all' cell."""
    if table.empty:
        return table
    probe = table.assign(outcome=_ANY if any_outcome else table[outcome_col], site=_ALL, group="all")
    probe["suppressed"] = False
    checked = follow_cells(probe, cells.answers, ["outcome", "wave", "site", "group"], count_col, [])
    return _hide(table, checked["suppressed"].to_numpy(dtype=bool), (count_col, *value_cols))


def guard_months(table: pd.DataFrame, cells: SliceCells) -> pd.DataFrame:
    if table.empty:
        return table
    checked = follow_cells(table.assign(suppressed=False), cells.months, ["month"], "people", [])
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
