"""The report's group tables: descriptives and participation, by wave, site and group.

Each table is computed for the whole scope and passed through :mod:`analysis.privacy.guard`, which
keeps its hidden cells consistent with the respondents table; a filtered selection is shown
beside its members exactly as the unfiltered report shows them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.panel.participation import (
    CONTRIBUTION_COLUMNS,
    attendance_timing,
    participation_summary,
)
from analysis.panel.participation import descriptives as _descriptives
from analysis.privacy import guard, suppression
from analysis.storage.queries import Filters

__all__ = ["DESCRIPTIVE_COLUMNS", "balance_following", "descriptive_table", "latest_wave_of", "monthly_table",
           "organization_descriptives", "overall_site", "participation_table", "split_contributions"]

#: Contract columns of descriptives.csv, in order (DESIGN.md).
DESCRIPTIVE_COLUMNS: tuple[str, ...] = (
    "outcome", "wave", "site", "group", "n", "mean", "sd", "ci_low", "ci_high", "share_high",
    "suppressed",
)
_DESCRIPTIVE_VALUES = ("mean", "sd", "ci_low", "ci_high", "share_high", "share_high_ci_low",
                       "share_high_ci_high")
_PARTICIPATION_LABELS = ("breakdown", "wave", "site", "role", "session_type")

# ------------------------------------------------------------------ descriptives


def organization_descriptives(panel_all: pd.DataFrame, outcomes: Sequence[str], cutoffs: dict,
                              respondents: pd.DataFrame, k: int,
                              with_contributions: bool = False) -> pd.DataFrame:
    """The scope's descriptives by wave, site and group, suppressed: the unfiltered table,
    and what a filtered one is shown beside (the same for every filter)."""
    floors = ({o: float(SCALES_BY_KEY[o].low) for o in outcomes} if with_contributions
              else None)
    return guard.suppress_descriptives(
        _descriptives(panel_all, outcomes, cutoffs, by_site=True, floors=floors),
        respondents, _DESCRIPTIVE_VALUES, k)


def descriptive_table(panel_all: pd.DataFrame, panel: pd.DataFrame, outcomes: Sequence[str],
                       cutoffs: dict, respondents: pd.DataFrame, filters: Filters,
                       k: int, with_contributions: bool = False,
                       full: pd.DataFrame | None = None) -> pd.DataFrame:
    """``full``: :func:`organization_descriptives` of the same arguments when the caller
    keeps it (else computed here); it is not changed."""
    columns = [*DESCRIPTIVE_COLUMNS, "status", "wave_index", "share_high_ci_low", "share_high_ci_high",
               *(CONTRIBUTION_COLUMNS if with_contributions else ())]
    if not outcomes or panel_all.empty:
        return pd.DataFrame(columns=columns)
    if full is None:
        full = organization_descriptives(panel_all, outcomes, cutoffs, respondents, k, with_contributions)
    if filters.sites is None and filters.roles is None:
        return full[columns]
    floors = ({o: float(SCALES_BY_KEY[o].low) for o in outcomes} if with_contributions
              else None)
    selection = (_descriptives(panel, outcomes, cutoffs, by_site=False, floors=floors) if len(panel)
                 else full.iloc[:0])
    selection = selection.copy()
    selection["site"] = "selection"
    if filters.roles is None:
        members = full.loc[full["site"].isin(list(filters.sites))]
        any_hidden = members.groupby(["outcome", "wave"])["suppressed"].any()
    else:
        members = full.iloc[:0]
        any_hidden = pd.Series(dtype=bool)
    small = pd.to_numeric(selection["n"], errors="coerce").fillna(0)
    small = (small > 0) & (small < k)
    key = list(zip(selection["outcome"], selection["wave"]))
    row_small = (small.groupby([selection["outcome"], selection["wave"]]).transform("any")
                 if len(selection) else small)
    hide = row_small.to_numpy(dtype=bool) | np.array(
        [bool(any_hidden.get(kk, False)) for kk in key], dtype=bool)
    selection = guard.blank_rows(selection, "n", _DESCRIPTIVE_VALUES, hide)
    out = pd.concat([selection, members], ignore_index=True)
    return out[columns]


def split_contributions(descriptives: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The public descriptives (no contribution columns) and the dominance inputs by cell key."""
    present = [c for c in CONTRIBUTION_COLUMNS if c in descriptives.columns]
    contributions = descriptives[["outcome", "wave", "site", "group", *present]].copy()
    return descriptives.drop(columns=present), contributions


# ------------------------------------------------------------------ participation


def participation_table(panel_all: pd.DataFrame, attendance_all: pd.DataFrame, panel: pd.DataFrame,
                         attendance: pd.DataFrame, respondents: pd.DataFrame, filters: Filters,
                         k: int) -> pd.DataFrame:
    columns = [*_PARTICIPATION_LABELS, "n_respondents", "n_participants", "participation_rate",
               "sessions_median", "sessions_q1", "sessions_q3", "sessions_per_month", "retention",
               "suppressed", "status"]
    if panel.empty:
        return pd.DataFrame(columns=columns)
    participant_stats = ["participation_rate", "sessions_median", "sessions_q1", "sessions_q3",
                         "sessions_per_month", "retention"]
    parts = []
    # sessions up to each survey date: computed once for the whole panel, shared below
    timing_all = attendance_timing(panel_all, attendance_all)
    timing = timing_all if panel is panel_all and attendance is attendance_all else None

    # by wave × site, following the respondents table's pattern (no new hidden cells)
    if filters.roles is None:
        by_site = participation_summary(panel_all, attendance_all, by=("wave", "site"), timing=timing_all)
        if filters.sites is not None:
            by_site = by_site.loc[by_site["site"].isin(list(filters.sites))]
        parts.append(guard.apply_pattern(by_site.assign(breakdown="site"), respondents, participant_stats))
    # by wave (the whole selection)
    by_wave = participation_summary(panel, attendance, by=("wave",), timing=timing).assign(
        breakdown="wave", site="all")
    if filters.sites is None and filters.roles is None:
        parts.append(guard.apply_pattern(by_wave, respondents, participant_stats))
    else:
        sel_rows = [p for p in parts if len(p)]
        member_hidden = (pd.concat(sel_rows).groupby("wave")["suppressed"].any()
                         if sel_rows else pd.Series(dtype=bool))
        resp = pd.to_numeric(by_wave["n_respondents"], errors="coerce").fillna(0)
        part = pd.to_numeric(by_wave["n_participants"], errors="coerce").fillna(0)
        small = ((resp > 0) & (resp < k)) | ((part > 0) & (part < k)) | \
            ((resp - part > 0) & (resp - part < k))
        hide = small.to_numpy() | by_wave["wave"].map(lambda w: bool(member_hidden.get(w, False))).to_numpy()
        blanked = guard.blank_rows(by_wave, "n_respondents", ["n_participants", *participant_stats], hide)
        participants = pd.to_numeric(blanked["n_participants"], errors="coerce")
        blanked["n_participants"] = participants.round().astype("Int64")
        blanked["site"] = "selection"
        parts.append(blanked)
    # by wave × role (whole selection), two-way role × group with margins
    if filters.roles is None and filters.sites is None:
        by_role = participation_summary(panel, attendance, by=("wave", "role"), timing=timing).assign(
            breakdown="role")
        role_counts = guard.role_table_counts(panel)
        role_pattern = guard.suppress_with_forced(role_counts, "n", [], "role", "group", ["wave"], k)
        parts.append(guard.apply_pattern(by_role, role_pattern.rename(columns={"role": "site"}),
                                    participant_stats, cell_col="role"))
        # by session type: overlapping categories (no additive total), primary + complementary
        by_type = participation_summary(panel, attendance, by=("wave", "session_type"))
        by_type = by_type.assign(breakdown="session_type")
        by_type = suppression.suppress_breakdown(by_type, "n_participants", participant_stats, ["wave"], k)
        by_type["n_respondents"] = pd.NA
        parts.append(by_type)
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    for col in ("site", "role", "session_type"):
        if col not in out.columns:
            out[col] = "all"
        out[col] = out[col].fillna("all")
    for col in ("n_respondents", "n_participants"):
        out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
    out["suppressed"] = out["suppressed"].fillna(False).astype(bool)
    return out.reindex(columns=columns)


# ------------------------------------------------------------------ monthly attendance and balance


def monthly_table(attendance: pd.DataFrame, k: int) -> pd.DataFrame:
    """Sessions and distinct people per calendar month; months of fewer than ``k``
    people suppressed (and enough others that none is derivable).

    Returns
    -------
    DataFrame
        ``month`` (``YYYY-MM``), ``people``, ``sessions``, ``suppressed``, ``status``.
    """
    if attendance.empty:
        return pd.DataFrame(columns=["month", "people", "sessions", "suppressed", "status"])
    month = attendance["session_date"].dt.strftime("%Y-%m")
    table = (attendance.assign(month=month).groupby("month", sort=True)
             .agg(people=("person", "nunique"), sessions=("person", "size")).reset_index())
    return suppression.suppress_breakdown(table, "people", ["sessions"], [], k)


def balance_following(balance: pd.DataFrame, estimates: pd.DataFrame, outcome: str | None,
                      wave: str | None) -> pd.DataFrame:
    """The balance table, blanked when the headline DiD estimate it describes is hidden."""
    if balance.empty or outcome is None or wave is None:
        return balance
    did = estimates.loc[(estimates["analysis"] == "did") & (estimates["outcome"] == outcome)
                        & (estimates["wave"].astype(str) == str(wave))]
    if len(did) and not bool(did["suppressed"].astype(bool).any()):
        return balance
    return balance.iloc[:0]


def overall_site(descriptives: pd.DataFrame) -> str:
    """The ``site`` label of a descriptives table's overall rows: ``"selection"`` when the
    report was filtered to practices or roles (:func:`descriptive_table`), else ``"all"``."""
    return "selection" if "site" in descriptives.columns and (descriptives["site"] == "selection").any() \
        else "all"


def latest_wave_of(descriptives: pd.DataFrame, outcome: str, waves: Sequence[str] | None) -> str | None:
    """The latest wave with overall descriptives (organization, or the selection) for
    ``outcome`` (within ``waves`` when given); None when there is none."""
    rows = descriptives.loc[(descriptives["outcome"] == outcome)
                            & (descriptives["site"] == overall_site(descriptives))]
    if rows.empty:
        return None
    if waves:
        present = [w for w in waves if w in set(rows["wave"])]
        return present[-1] if present else None
    if "wave_index" in rows.columns:
        return str(rows.sort_values("wave_index")["wave"].iloc[-1])
    return str(sorted(rows["wave"])[-1])
