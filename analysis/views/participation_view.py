"""The Participation page model: attendance over time, sessions attended, retention and
breakdowns, each with its takeaway sentence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.views.figure_base import (
    Chart,
    visible,
)
from analysis.views.help import HOW_TO_READ
from analysis.views.participation_figures import (
    breakdown_figure,
    dose_histogram_figure,
    monthly_attendance_figure,
    retention_figure,
)
from analysis.views.report_tables import (
    latest_rows,
    report_table,
)


def participation_charts(tables: Any, monthly: pd.DataFrame, outcome: str,
                         waves: Sequence[str] | None, k: int) -> list[Chart]:
    """The Participation page's charts: attendance over time, dose, retention, breakdowns."""
    participation = report_table(tables, "participation")
    by = _participation_parts(participation)
    per_wave = by.get("wave", pd.DataFrame())
    charts = [monthly_attendance_figure(monthly, k, takeaway=monthly_takeaway(monthly),
                                        how_to_read=HOW_TO_READ["monthly_attendance"])]
    doses = _dose_bands(report_table(tables, "dose"), outcome, waves)
    charts.append(dose_histogram_figure(doses, k, takeaway=dose_histogram_takeaway(doses),
                                        how_to_read=HOW_TO_READ["dose_histogram"]))
    charts.append(retention_figure(per_wave, waves, k,
                                   takeaway=retention_takeaway(per_wave, waves),
                                   how_to_read=HOW_TO_READ["retention"]))
    for category, title in (("site", "Took part, by practice"), ("role", "Took part, by role"),
                            ("session_type", "Took part, by session type")):
        table = by.get(category)
        if table is None:
            continue
        table = latest_rows(table, waves)
        charts.append(breakdown_figure(table, category, title, k,
                                       takeaway=breakdown_takeaway(table, category),
                                       how_to_read=HOW_TO_READ["breakdown"],
                                       key=f"by_{category}"))
    return charts


def _participation_parts(participation: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split the report's participation table into its breakdowns (by wave, site, ...)."""
    if participation.empty:
        return {}
    if "breakdown" in participation.columns:
        parts = {}
        for name, part in participation.groupby("breakdown", sort=False):
            parts[str(name)] = part.reset_index(drop=True)
        return parts
    parts = {}
    extra = [c for c in ("site", "role", "session_type") if c in participation.columns]
    if not extra:
        return {"wave": participation}
    all_mask = np.ones(len(participation), dtype=bool)
    for c in extra:
        all_mask &= participation[c].astype(str).eq("all").to_numpy()
    parts["wave"] = participation.loc[all_mask]
    for c in extra:
        mask = ~participation[c].astype(str).eq("all")
        for other in extra:
            if other != c:
                mask &= participation[other].astype(str).eq("all")
        parts[c] = participation.loc[mask]
    return parts


def _dose_bands(dose: pd.DataFrame, outcome: str, waves: Sequence[str] | None) -> pd.DataFrame:
    """People per sessions-attended band at the latest wave, from the report's dose table."""
    rows = dose.loc[dose["outcome"] == outcome] if "outcome" in dose.columns else dose
    rows = latest_rows(rows, waves)
    if "dose_band" in rows.columns:
        rows = rows.loc[rows["dose_band"].astype(str) != "all"]
    return rows[[c for c in ("wave", "dose_band", "n", "suppressed", "status") if c in rows.columns]]


def monthly_takeaway(monthly: pd.DataFrame) -> str:
    """Sessions over the months shown and the busiest month."""
    rows = visible(monthly)
    if rows.empty:
        return "No months with enough people attending to show."
    best = rows.loc[rows["sessions"].idxmax()]
    return (f"{int(rows['sessions'].sum()):,} sessions over {len(rows)} months shown; the busiest "
            f"month was {best['month']} with {int(best['sessions']):,} sessions.")


def dose_histogram_takeaway(doses: pd.DataFrame) -> str:
    """How many respondents shown had attended at least one session."""
    rows = visible(doses).dropna(subset=["n"])
    if rows.empty:
        return "Not enough people to show how many sessions they attended."
    total = int(rows["n"].sum())
    none = rows.loc[rows["dose_band"] == "0", "n"]
    some = total - (int(none.iloc[0]) if len(none) else 0)
    wave = f" at {rows['wave'].iloc[0]}" if "wave" in rows.columns else ""
    # The dose bands hold only people who also answered the baseline survey (the people
    # the change since baseline uses), fewer than all respondents at the wave: say so.
    return (f"{some:,} of the {total:,} respondents{wave} who also answered the baseline survey "
            "had attended at least one session by their survey (the Overview counts everyone "
            "who answered at the wave).")


def retention_takeaway(per_wave: pd.DataFrame, waves: Sequence[str] | None) -> str:
    """Participation and retention at the latest wave."""
    latest = visible(latest_rows(per_wave, waves))
    if latest.empty:
        return "Not enough people to show participation for this selection."
    row = latest.iloc[0]
    text = (f"At {row['wave']}, {row['participation_rate'] * 100:.0f}% of respondents took part "
            f"({int(row['n_participants']):,} of {int(row['n_respondents']):,})"
            if pd.notna(row.get("n_participants")) and pd.notna(row.get("n_respondents"))
            else f"At {row['wave']}, {row['participation_rate'] * 100:.0f}% of respondents took part")
    if "retention" in row and pd.notna(row["retention"]):
        text += f", and {row['retention'] * 100:.0f}% of participants kept coming for 2+ months"
    return text + "."


def breakdown_takeaway(table: pd.DataFrame, category: str) -> str:
    """The range of participation across a breakdown (practice, role, session type)."""
    rows = visible(table).dropna(subset=["participation_rate"])
    name = {"site": "practice"}.get(category, category.replace("_", " "))
    if rows.empty:
        return f"Not enough people to compare participation by {name}."
    hi = rows.loc[rows["participation_rate"].idxmax()]
    lo = rows.loc[rows["participation_rate"].idxmin()]
    if len(rows) == 1:
        return f"{hi[category]}: {hi['participation_rate'] * 100:.0f}% took part."
    return (f"Participation by {name} ranges from {lo['participation_rate'] * 100:.0f}% "
            f"({lo[category]}) to {hi['participation_rate'] * 100:.0f}% ({hi[category]}).")
