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
    "respondents_table",
    "role_table_counts",
    "role_visibility",
    "suppress_descriptives",
    "suppress_with_forced",
]

GROUPS: tuple[str, ...] = ("participants", "comparison", "all")
"""The group column's values in every report table."""


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
    >>> check_filter(3, 40, 5).reason
    'This selection covers 3 people; at least 5 are needed so that no one can be identified.'
    """
    k = validate_min_group_size(k)
    n_selected, n_total = int(n_selected), int(n_total)
    if n_selected < 0 or n_total < n_selected:
        raise ValueError(f"inconsistent filter sizes: {n_selected} of {n_total}")
    remainder = n_total - n_selected
    if n_selected < k:
        people = "person" if n_selected == 1 else "people"
        return FilterDecision(
            False,
            f"This selection covers {n_selected} {people}; at least {k} are needed "
            "so that no one can be identified.",
        )
    if 0 < remainder < k:
        return FilterDecision(
            False,
            f"This selection covers {n_selected} people, but the people left out "
            f"would number {remainder}, which could identify them by subtraction. "
            f"Choose a selection that leaves out none or at least {k}.",
        )
    return FilterDecision(True, f"This selection covers {n_selected} people.")


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
    frame = panel[["wave", "wave_index", "site", "participant"]].copy()
    frame["group"] = np.where(frame["participant"].astype(bool), "participants", "comparison")
    parts = []
    for by_site in (True, False):
        for by_group in (True, False):
            keys = ["wave", "wave_index"] + (["site"] if by_site else []) + (["group"] if by_group else [])
            part = frame.groupby(keys, observed=True).size().rename("n").reset_index()
            if not by_site:
                part["site"] = "all"
            if not by_group:
                part["group"] = "all"
            parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    table = _complete_grid(table, ["wave", "wave_index"], "n")
    return suppress_with_forced(table, "n", [], "site", "group", ["wave"], k)


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


def guard_filter(panel: pd.DataFrame, filters: Filters, respondents: pd.DataFrame, k: int) -> None:
    """Refuse a filter that shows a small group directly or by subtraction."""
    sites_all = panel["site"].to_numpy()
    roles_all = panel["role"].to_numpy()
    site_mask = (np.isin(sites_all, list(filters.sites)) if filters.sites is not None
                 else np.ones(len(panel), dtype=bool))
    role_mask = (np.isin(roles_all, list(filters.roles)) if filters.roles is not None
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
        roles = role_visibility(panel, k)
        hidden_roles = sorted(r for r in filters.roles if not roles.get(r, False))
        if hidden_roles:
            raise FilterRefused(
                "These roles are not shown on their own because too few people hold them: "
                + ", ".join(hidden_roles) + ".")
    selection = site_mask & role_mask
    comparisons = [("everyone", np.ones(len(panel), dtype=bool))]
    if filters.sites is not None and filters.roles is not None:
        comparisons += [("the selected practices", site_mask), ("the selected roles", role_mask)]
        # each selected practice on its own is shown unfiltered: its role split must be safe too
        for site in filters.sites:
            comparisons.append((site, sites_all == site))
    for where, reference in comparisons:
        chosen = selection & reference
        sel = _counts_by(panel, chosen)
        ref = _counts_by(panel, reference)
        for wave in sel.index:
            for group in GROUPS:
                n_sel, n_ref = int(sel.loc[wave, group]), int(ref.loc[wave, group])
                if n_sel == 0 and where != "everyone":
                    continue
                if n_sel == 0 and group != "all":
                    continue
                decision = check_filter(n_sel, n_ref, k)
                if not decision.allowed:
                    raise FilterRefused(
                        f"This selection cannot be shown: at wave {wave}, within {where}, "
                        f"the {group if group != 'all' else 'respondents'} it selects or leaves "
                        f"out are fewer than {k}, which could identify people. "
                        "Choose a wider selection.")


def role_visibility(panel: pd.DataFrame, k: int) -> dict[str, bool]:
    table = role_table_counts(panel)
    shown = suppress_with_forced(table, "n", [], "role", "group", ["wave"], k)
    hidden = set(shown.loc[shown["suppressed"].astype(bool), "role"])
    return {r: r not in hidden for r in panel["role"].unique()}


def role_table_counts(panel: pd.DataFrame) -> pd.DataFrame:
    frame = panel[["wave", "role", "participant"]].copy()
    frame["group"] = np.where(frame["participant"].astype(bool), "participants", "comparison")
    parts = []
    for by_role in (True, False):
        for by_group in (True, False):
            keys = ["wave"] + (["role"] if by_role else []) + (["group"] if by_group else [])
            part = frame.groupby(keys, observed=True).size().rename("n").reset_index()
            if not by_role:
                part["role"] = "all"
            if not by_group:
                part["group"] = "all"
            parts.append(part)
    table = pd.concat(parts, ignore_index=True).rename(columns={"role": "site"})
    table = _complete_grid(table, ["wave"], "n").rename(columns={"site": "role"})
    return table


def suppress_descriptives(raw: pd.DataFrame, respondents: pd.DataFrame, value_cols: Sequence[str],
                          k: int) -> pd.DataFrame:
    """Two-way suppression per outcome × wave, consistent across outcomes and with
    the respondents table (a cell hidden anywhere is hidden everywhere)."""
    forced = hidden_cells(respondents)
    for _ in range(10):
        keys = list(zip(raw["wave"].astype(str), raw["site"].astype(str), raw["group"].astype(str)))
        mask = pd.Series([key in forced for key in keys], index=raw.index)
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
