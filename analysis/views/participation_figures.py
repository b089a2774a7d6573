"""Figures of who takes part: sessions per month, sessions attended, participation per
wave and by practice, role or session type."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.privacy.suppression import INSUFFICIENT
from analysis.views.figure_base import (
    NEUTRAL,
    PARTICIPANTS,
    Chart,
    apply_layout,
    count_bars,
    download_table,
    empty_figure,
    hidden_labels,
    insufficient_bars,
    new_figure,
    visible,
    wave_order,
    wrap_label,
)


def monthly_attendance_figure(monthly: pd.DataFrame, k: int | None = None, takeaway: str = "",
                              how_to_read: str = "") -> Chart:
    """Sessions per month, with months of fewer than ``k`` distinct people hatched grey."""
    fig = count_bars(monthly, "month", "sessions", "Sessions attended",
                     "%{y:,.0f} sessions<br>n = %{customdata[0]:,.0f} people attended",
                     "Sessions attended per month", "Month", "Sessions (count)",
                     "No sessions recorded for the current selection.", k)
    alt = ("Bar chart of peer-support sessions attended per calendar month"
           + (f"; months with fewer than {k} people attending are greyed out and not counted."
              if k else "."))
    return Chart("monthly_attendance", fig, alt, download_table(monthly), takeaway, how_to_read)


def dose_histogram_figure(doses: pd.DataFrame, k: int | None = None, takeaway: str = "",
                          how_to_read: str = "") -> Chart:
    """Respondents per dose band (sessions attended by the survey): ``dose_band, n, status``."""
    fig = count_bars(doses, "dose_band", "n", "People", "n = %{y:,.0f} people",
                     "How many sessions people attended", "Sessions attended by the survey (band)",
                     "People (count)", "No respondents for the current selection.", k,
                     order=list(doses["dose_band"]))
    alt = "Bar chart of how many respondents attended 0, 1–2, 3–5 and 6 or more sessions."
    return Chart("dose_histogram", fig, alt, download_table(doses), takeaway, how_to_read)


def retention_figure(participation: pd.DataFrame, waves: Sequence[str] | None = None,
                     k: int | None = None, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Participation rate and retention (share attending in 2+ months) per wave."""
    fig = new_figure()
    order = wave_order(participation, waves) if not participation.empty else list(waves or [])
    shown = visible(participation).set_index("wave").reindex(order).dropna(
        subset=["participation_rate"])
    for column, name, colour, dash in (("participation_rate", "Took part (share of respondents)",
                                        PARTICIPANTS, "solid"),
                                       ("retention", "Kept coming (2+ months, share of participants)",
                                        NEUTRAL, "dash")):
        if column not in shown.columns or shown[column].isna().all():
            continue
        part = shown.dropna(subset=[column])
        count = "n_respondents" if column == "participation_rate" else "n_participants"
        fig.add_scatter(x=list(part.index), y=part[column] * 100, mode="lines+markers", name=name,
                        line=dict(color=colour, width=3, dash=dash), marker=dict(size=9),
                        customdata=part[[count]].to_numpy(),
                        hovertemplate=(f"%{{x}}<br>{name.split(' (')[0].lower()}: %{{y:.0f}}%"
                                       "<br>n = %{customdata[0]:,.0f} people<extra></extra>"))
    if not fig.data:
        empty_figure(fig, "Not enough people to show participation for the current selection.")
    apply_layout(fig, "Who takes part, and who keeps coming", "Survey wave", "Share (%)")
    fig.update_yaxes(range=[0, 100])
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=order)
    alt = ("Line chart of the share of respondents who took part in peer support and the share "
           "of participants who attended in two or more months, per survey wave.")
    return Chart("retention", fig, alt, download_table(participation), takeaway, how_to_read)


def breakdown_figure(table: pd.DataFrame, category: str, title: str, k: int | None = None,
                     takeaway: str = "", how_to_read: str = "", key: str = "") -> Chart:
    """Participation rate per category (site, role or session type) as horizontal bars."""
    fig = new_figure()
    shown = visible(table).dropna(subset=["participation_rate"])
    if not shown.empty:
        shown = shown.sort_values("participation_rate")
        fig.add_bar(y=shown[category], x=shown["participation_rate"] * 100, orientation="h",
                    name="Took part", marker_color=PARTICIPANTS,
                    customdata=shown[["n_respondents", "n_participants"]].to_numpy(dtype=float),
                    hovertemplate=("%{y}<br>%{x:.0f}% took part<br>n = %{customdata[1]:,.0f} "
                                   "of %{customdata[0]:,.0f} people<extra></extra>"))
    gaps = hidden_labels(table, [category])
    insufficient_bars(fig, list(gaps.loc[gaps["status"] == INSUFFICIENT, category]), 100.0, k,
                      horizontal=True)
    if not fig.data:
        empty_figure(fig, "Not enough people to show this breakdown.")
    apply_layout(fig, title, "Took part (%)", "", barmode="overlay",
                 height=max(300, 90 + 40 * len(table)))
    fig.update_xaxes(range=[0, 100])
    # Long names on two lines, so the bars keep their width on a phone.
    labels = [str(v) for v in table[category]] if category in table.columns else []
    fig.update_yaxes(type="category", tickvals=labels, ticktext=[wrap_label(v) for v in labels])
    alt = (f"Horizontal bar chart of the share of respondents who took part, by "
           f"{category.replace('_', ' ')}; groups too small to show are greyed out.")
    return Chart(key or f"by_{category}", fig, alt, download_table(table), takeaway, how_to_read)
