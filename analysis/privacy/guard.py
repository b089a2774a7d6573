"""Selection guards: whether a filtered view may be shown at all.

A filter (practices, roles) is refused when the selection, or the people it leaves
out, number fewer than ``k`` (Culture Amp's rule: a small *remainder* shows a small
group by subtraction from the unfiltered view), and the report's tables are kept
consistent with each other so that one table cannot undo another's complementary
suppression.

Rules of the report (what protects what)
----------------------------------------
* Descriptives: :func:`analysis.privacy.suppression.suppress_two_way` per outcome ×
  wave (site × group, both margins). Cells hidden in any outcome's table, or in the
  respondents table (participation), are hidden in all of them
  (:func:`suppress_descriptives`).
* Filters (:func:`guard_filter`): a site may be selected only when it is shown in the
  unfiltered report (not hidden, not a complementary cell); a role only when it is
  shown in the role breakdown; selections and what they leave out must number 0 or at
  least ``k`` (:func:`check_filter`) for every wave and group, also within the
  selected sites and within the selected roles. A refused filter raises
  :class:`FilterRefused`.

References
----------
* Culture Amp reporting: minimum group size 5 and the filter rule that the people
  *not* selected must also number at least the minimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.privacy.suppression import (
    DEFAULT_MIN_GROUP_SIZE,
    INSUFFICIENT,
    NO_DATA,
    OK,
    suppress_two_way,
    validate_min_group_size,
)
from analysis.storage.queries import Filters

__all__ = [
    "GROUPS",
    "FilterDecision",
    "FilterRefused",
    "apply_pattern",
    "blank_rows",
    "check_filter",
    "guard_filter",
    "hidden_cells",
    "refusal_text",
    "respondents_table",
    "role_table_counts",
    "role_visibility",
    "suppress_descriptives",
    "suppress_with_forced",
]

GROUPS: tuple[str, ...] = ("participants", "comparison", "all")
"""The group column's values in every report table."""


def refusal_text(kind: str, k: int) -> str:
    """The sentence a refusal shows; it states no count but ``k``.

    Examples
    --------
    >>> refusal_text("remainder", 5).count("5")
    2
    """
    texts = {
        "small": (f"This selection cannot be shown: it would show a group of fewer than {k} "
                  "people, who could be identified directly or by comparison with another view. "
                  "Choose a wider selection."),
        "remainder": (f"This selection cannot be shown: the people it leaves out would be fewer "
                      f"than {k}, who could be identified by subtraction. Choose a selection "
                      f"that leaves out no one or at least {k} people."),
        "threshold": (f"This participation threshold is not offered: moving to it from another "
                      f"threshold would change the groups by fewer than {k} people. Choose one "
                      "of the thresholds offered."),
        "empty": "No one in this selection answered the survey.",
    }
    return texts[kind]


class FilterRefused(Exception):
    """A filter that would show a group smaller than the minimum, directly or by subtraction."""


@dataclass(frozen=True)
class FilterDecision:
    """Whether a filtered view may be shown, and why not in plain English."""

    allowed: bool
    reason: str


def check_filter(n_selected: int, n_total: int, k: int = DEFAULT_MIN_GROUP_SIZE) -> FilterDecision:
    """Decide whether a filter (role, band, site, ...) may be applied.

    Rule
    ----
    Refuse when the selection covers fewer than ``k`` people, or when the
    people left out (``n_total - n_selected``) number between 1 and ``k - 1``
    (Culture Amp's rule).

    Why
    ---
    A small selection shows a small group directly. A small *remainder* shows
    it by subtraction: the unfiltered view minus this view is the people left
    out.

    Returns
    -------
    FilterDecision
        ``allowed`` and a reason a practice manager can read.

    Raises
    ------
    ValueError
        If ``k`` < 3, or ``n_selected`` is negative or exceeds ``n_total``.

    Examples
    --------
    >>> check_filter(3, 40, 5).allowed
    False
    >>> "3" in check_filter(3, 40, 5).reason
    False
    """
    k = validate_min_group_size(k)
    n_selected, n_total = int(n_selected), int(n_total)
    if n_selected < 0 or n_total < n_selected:
        raise ValueError(f"inconsistent filter sizes: {n_selected} of {n_total}")
    remainder = n_total - n_selected
    # the reasons state no count but k: "covers 3 people" would itself tell the group's size
    if n_selected < k:
        return FilterDecision(False, refusal_text("small", k))
    if 0 < remainder < k:
        return FilterDecision(False, refusal_text("remainder", k))
    return FilterDecision(True, "This selection may be shown.")


# ------------------------------------------------------------------ tables kept consistent


def suppress_with_forced(frame: pd.DataFrame, count_col: str, value_cols: Sequence[str], row_dim: str,
                    col_dim: str, keys: Sequence[str], k: int,
                    forced: pd.Series | None = None) -> pd.DataFrame:
    """:func:`analysis.privacy.suppression.suppress_two_way` with some cells hidden whatever their count.

    A forced cell enters the suppression with the count ``min(count, k - 1)`` (so it is
    primary-suppressed); the complementary rule then treats it as a hidden cell of at
    most that size, which is conservative (the real hidden sums are at least as large). Counts and
    values come back from
    the real frame; hidden rows lose them as usual.
    """
    work = frame.copy()
    real = pd.to_numeric(work[count_col], errors="coerce").fillna(0)
    if forced is not None:
        force = forced.to_numpy(dtype=bool) & (real.to_numpy() > 0)
        work[count_col] = np.where(force, np.minimum(real, k - 1), real)
    out = suppress_two_way(work, count_col, value_cols, row_dim, col_dim, k, keys=keys)
    shown = ~out["suppressed"].to_numpy(dtype=bool)
    counts = pd.array(np.where(shown, real.round().to_numpy(), np.nan), dtype="Float64")
    out[count_col] = pd.array(counts.round(), dtype="Int64")
    return out


def respondents_table(panel: pd.DataFrame, k: int) -> pd.DataFrame:
    """Respondents per wave × site × group (with margins), suppressed: the reference.

    Every count breakdown by site follows the hidden pattern of this table.
    """
    table = pd.concat(margin_counts(panel, ["wave", "wave_index"], "site"), ignore_index=True)
    table = _complete_grid(table, ["wave", "wave_index"], "n")
    return suppress_with_forced(table, "n", [], "site", "group", ["wave"], k)


def margin_counts(panel: pd.DataFrame, keys: list[str], split: str) -> list[pd.DataFrame]:
    """Rows per ``keys`` × ``split`` × group, with margins: four frames, by split and group,
    by split, by group, by neither (``split`` and ``group`` "all" where not grouped by).

    Each is ``frame.groupby([*keys, split?, "group"?], observed=True).size()`` as a frame
    (column ``n``) of ``panel`` with ``group`` "participants" or "comparison" from its
    ``participant`` flag: the same rows, order and dtypes, counted on integer codes (a
    sorted factorize orders codes as the groupby orders the values; a row with a missing
    key is left out where that key is grouped by) instead of grouping a million texts
    four times.
    """
    columns = [*keys, split]
    factorized = {name: pd.factorize(panel[name], sort=True) for name in columns}
    codes = pd.DataFrame({name: factorized[name][0] for name in columns})
    codes["group"] = panel["participant"].astype(bool).to_numpy()
    known = np.all([codes[name].to_numpy() >= 0 for name in keys], axis=0)
    parts = []
    for by_split in (True, False):
        for by_group in (True, False):
            by = [*keys, *([split] if by_split else []), *(["group"] if by_group else [])]
            rows = known & (codes[split].to_numpy() >= 0) if by_split else known
            part = codes.loc[rows].groupby(by).size().rename("n").reset_index()
            for name in columns:
                if name in by:
                    part[name] = factorized[name][1].take(part[name].to_numpy())
            if by_group:
                part["group"] = np.where(part["group"].to_numpy(), "participants", "comparison")
            if not by_split:
                part[split] = "all"
            if not by_group:
                part["group"] = "all"
            parts.append(part)
    return parts


def _complete_grid(table: pd.DataFrame, keys: list[str], count_col: str) -> pd.DataFrame:
    """Add the missing site × group cells of each key with count 0 (shown as no data)."""
    sites = table["site"].unique()
    key_frame = table[keys].drop_duplicates()
    grid = key_frame.merge(pd.DataFrame({"site": sites}), how="cross").merge(
        pd.DataFrame({"group": list(GROUPS)}), how="cross")
    out = grid.merge(table, on=[*keys, "site", "group"], how="left")
    out[count_col] = out[count_col].fillna(0)
    return out


def hidden_cells(frame: pd.DataFrame) -> set[tuple[str, str, str]]:
    hidden = frame.loc[frame["suppressed"].astype(bool), ["wave", "site", "group"]].astype(str)
    return set(map(tuple, hidden.to_numpy()))


# ------------------------------------------------------------------ the report's filter guard


def _counts_by(panel: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """Respondents per wave and group (participants, comparison, all) within ``mask``."""
    rows = panel.loc[mask, ["wave", "participant"]]
    waves = panel["wave"].astype(str).unique()
    part = rows.groupby("wave")["participant"].agg(["sum", "size"]).reindex(waves, fill_value=0)
    return pd.DataFrame({"participants": part["sum"], "comparison": part["size"] - part["sum"],
                         "all": part["size"]})


def guard_filter(panel: pd.DataFrame, filters: Filters, respondents: pd.DataFrame, k: int,
                 roles: dict[str, bool] | None = None) -> None:
    """Refuse a filter that shows a small group directly or by subtraction.

    ``respondents``: :func:`respondents_table` of ``panel``; ``roles``: its
    :func:`role_visibility` when the caller keeps it (else computed here)."""
    # hashed membership: np.isin sorts object arrays
    site_mask = (panel["site"].isin(list(filters.sites)).to_numpy(dtype=bool) if filters.sites is not None
                 else np.ones(len(panel), dtype=bool))
    role_mask = (panel["role"].isin(list(filters.roles)).to_numpy(dtype=bool) if filters.roles is not None
                 else np.ones(len(panel), dtype=bool))
    if filters.sites is not None:
        site_rows = respondents.loc[respondents["site"].isin(list(filters.sites))]
        hidden = sorted(set(site_rows.loc[site_rows["suppressed"].astype(bool), "site"]))
        if hidden:
            raise FilterRefused(
                "These practices are not shown on their own because too few people answered "
                "there (or showing them would let a smaller one be worked out): "
                + ", ".join(hidden) + ". Choose other practices or show all.")
        if not site_mask.any():
            raise FilterRefused("No one in this selection answered the survey.")
    if filters.roles is not None:
        roles = roles if roles is not None else role_visibility(panel, k)
        hidden_roles = sorted(r for r in filters.roles if not roles.get(r, False))
        if hidden_roles:
            raise FilterRefused(
                "These roles are not shown on their own because too few people hold them: "
                + ", ".join(hidden_roles) + ".")
    selection = site_mask & role_mask
    within = _counts_by(panel, selection)  # within each reference below, the selection is the same
    chosen, waves = within.to_numpy(), within.index
    comparisons = [("everyone", chosen, _counts_by(panel, np.ones(len(panel), dtype=bool)).to_numpy())]
    if filters.sites is not None and filters.roles is not None:
        comparisons += [("the selected practices", chosen, _counts_by(panel, site_mask).to_numpy()),
                        ("the selected roles", chosen, _counts_by(panel, role_mask).to_numpy())]
        # each selected practice on its own is shown unfiltered: its role split must be safe too
        comparisons += _counts_by_site(panel, selection, list(filters.sites))
    for where, sel, ref in comparisons:
        refused = _first_refused(sel, ref, where == "everyone", k)
        if refused is not None:
            wave, group = waves[refused[0]], GROUPS[refused[1]]
            raise FilterRefused(
                f"This selection cannot be shown: at wave {wave}, within {where}, "
                f"the {group if group != 'all' else 'respondents'} it selects or leaves "
                f"out are fewer than {k}, which could identify people. "
                "Choose a wider selection.")


def _counts_by_site(panel: pd.DataFrame, selection: np.ndarray,
                    sites: list[str]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``_counts_by`` within each site (selected, and everyone there) as arrays, from one grouping."""
    waves = panel["wave"].astype(str).unique()
    rows = panel[["site", "wave", "participant"]].assign(chosen=selection, size=1)
    rows["chosen_participant"] = rows["participant"] & selection
    rows = rows.loc[rows["site"].isin(sites)]
    columns = ["participant", "chosen", "chosen_participant", "size"]
    where = {site: i for i, site in enumerate(dict.fromkeys(sites))}
    unique = list(where)
    grid = pd.MultiIndex.from_product([unique, waves], names=["site", "wave"])
    sums = (rows.groupby(["site", "wave"])[columns].sum().reindex(grid, fill_value=0)
            .to_numpy(dtype=np.int64).reshape(len(unique), len(waves), len(columns)))
    found = []
    for site in sites:
        part, chosen, chosen_part, size = np.moveaxis(sums[where[site]], -1, 0)
        found.append((site, np.stack([chosen_part, chosen - chosen_part, chosen], axis=1),
                      np.stack([part, size - part, size], axis=1)))
    return found


def _first_refused(sel: np.ndarray, ref: np.ndarray, everyone: bool, k: int) -> tuple[int, int] | None:
    """The first (wave, group) cell, in row order, that :func:`check_filter` refuses."""
    k = validate_min_group_size(k)
    sel, ref = sel.astype(np.int64), ref.astype(np.int64)
    if (sel < 0).any() or (ref < sel).any():
        raise ValueError("inconsistent filter sizes")
    remainder = ref - sel
    refused = (sel < k) | ((remainder > 0) & (remainder < k))
    skip = sel == 0
    if everyone:
        skip[:, -1] = False  # an empty selection is refused against everyone ('all' column)
    cells = np.flatnonzero((refused & ~skip).ravel())
    if not cells.size:
        return None
    return divmod(int(cells[0]), sel.shape[1])


def role_visibility(panel: pd.DataFrame, k: int) -> dict[str, bool]:
    table = role_table_counts(panel)
    shown = suppress_with_forced(table, "n", [], "role", "group", ["wave"], k)
    hidden = set(shown.loc[shown["suppressed"].astype(bool), "role"])
    return {r: r not in hidden for r in panel["role"].unique()}


def role_table_counts(panel: pd.DataFrame) -> pd.DataFrame:
    table = pd.concat(margin_counts(panel, ["wave"], "role"), ignore_index=True)
    table = table.rename(columns={"role": "site"})
    table = _complete_grid(table, ["wave"], "n").rename(columns={"site": "role"})
    return table


def suppress_descriptives(raw: pd.DataFrame, respondents: pd.DataFrame, value_cols: Sequence[str],
                          k: int) -> pd.DataFrame:
    """Two-way suppression per outcome × wave, consistent across outcomes and with
    the respondents table (a cell hidden anywhere is hidden everywhere)."""
    forced = hidden_cells(respondents)
    cells = pd.MultiIndex.from_arrays([raw[c].astype(str) for c in ("wave", "site", "group")])
    for _ in range(10):
        mask = pd.Series(cells.isin(list(forced)) if forced else np.zeros(len(raw), dtype=bool),
                         index=raw.index)
        out = suppress_with_forced(raw, "n", value_cols, "site", "group", ["outcome", "wave"], k, mask)
        now = forced | hidden_cells(out)
        if now == forced:
            return out
        forced = now
    return out


def blank_rows(frame: pd.DataFrame, count_col: str, value_cols: Sequence[str],
               hide: np.ndarray) -> pd.DataFrame:
    out = frame.copy()
    counts = pd.to_numeric(out[count_col], errors="coerce").fillna(0).to_numpy()
    no_data = (counts <= 0) & ~hide
    hide_s = pd.Series(hide, index=out.index)
    out[count_col] = pd.array(np.where(hide, np.nan, counts), dtype="Float64").round().astype("Int64")
    for col in value_cols:
        if col in out.columns:
            out[col] = out[col].mask(hide_s | pd.Series(no_data, index=out.index))
    out["suppressed"] = hide
    out["status"] = np.where(hide, INSUFFICIENT, np.where(no_data, NO_DATA,
                                                                     OK))
    return out


def apply_pattern(summary: pd.DataFrame, pattern: pd.DataFrame, participant_stats: Sequence[str],
                   cell_col: str = "site") -> pd.DataFrame:
    """Blank participation counts where the reference pattern hides the matching cell.

    ``pattern`` has ``wave, site, group, suppressed``; ``summary`` rows are one
    ``cell_col`` value (or ``all`` when the column is absent) at one wave.
    """
    out = summary.copy()
    cell = out[cell_col].astype(str) if cell_col in out.columns else pd.Series("all", index=out.index)
    hidden = hidden_cells(pattern)
    waves = out["wave"].astype(str)
    hide_all = np.array([(w, c, "all") in hidden for w, c in zip(waves, cell)])
    hide_part = np.array([(w, c, "participants") in hidden for w, c in zip(waves, cell)])
    hide_comp = np.array([(w, c, "comparison") in hidden for w, c in zip(waves, cell)])
    hide_p = hide_part | hide_comp  # participants are the count whose complement is comparison
    out["n_respondents"] = pd.to_numeric(out["n_respondents"], errors="coerce").mask(hide_all)
    out["n_participants"] = pd.to_numeric(out["n_participants"], errors="coerce").mask(hide_p)
    for col in participant_stats:
        if col in out.columns:
            out[col] = out[col].mask(hide_p | hide_all)
    # sessions statistics describe participants: only for groups of at least k
    resp = pd.to_numeric(summary["n_respondents"], errors="coerce").fillna(0).to_numpy()
    suppressed = hide_all | hide_p
    out["suppressed"] = suppressed
    out["status"] = np.where(suppressed, INSUFFICIENT,
                             np.where(resp <= 0, NO_DATA, OK))
    return out
