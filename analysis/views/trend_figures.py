"""Figures of an outcome over the survey waves: averages, spread, change since baseline."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.reporting.group_tables import overall_site
from analysis.views.figure_base import (
    GROUP_COLOURS,
    GROUP_LABELS,
    Chart,
    apply_layout,
    download_table,
    empty_figure,
    hidden_labels,
    new_figure,
    outcome_digits,
    outcome_label,
    outcome_unit,
    reference_line,
    rgba,
    visible,
    wave_order,
)


def trend_figure(descriptives: pd.DataFrame, outcome: str, waves: Sequence[str] | None = None,
                 site: str | None = None, k: int | None = None, takeaway: str = "",
                 how_to_read: str = "") -> Chart:
    """Mean score per wave for participants and comparison, with 95 % CI bands.

    ``descriptives`` has ``outcome, wave, site, group, n, mean, ci_low, ci_high``
    and ``status``/``suppressed``.
    """
    site = site if site is not None else overall_site(descriptives)  # organization or selection
    rows = descriptives.loc[(descriptives["outcome"] == outcome) & (descriptives["site"] == site)
                            & descriptives["group"].isin(["participants", "comparison"])]
    order = wave_order(rows, waves) if not rows.empty else list(waves or [])
    label, unit = outcome_label(outcome), outcome_unit(outcome)
    fig = new_figure()
    shown = visible(rows)
    for group in ("participants", "comparison"):
        part = shown.loc[shown["group"] == group].set_index("wave").reindex(order)
        part = part.loc[part["mean"].notna()]
        if part.empty:
            continue
        x = list(part.index)
        colour = GROUP_COLOURS[group]
        fig.add_scatter(
            x=x + x[::-1], y=list(part["ci_high"]) + list(part["ci_low"])[::-1],
            fill="toself", fillcolor=rgba(colour, 0.15), line=dict(width=0), mode="lines",
            hoverinfo="skip", showlegend=False, name=f"{GROUP_LABELS[group]} 95% interval")
        fig.add_scatter(
            x=x, y=part["mean"], mode="lines+markers", name=GROUP_LABELS[group],
            line=dict(color=colour, width=3, dash="solid" if group == "participants" else "dash"),
            marker=dict(size=9, symbol="circle" if group == "participants" else "square"),
            customdata=np.c_[part["n"], part["ci_low"], part["ci_high"]],
            hovertemplate=(f"{GROUP_LABELS[group]} · %{{x}}<br>average %{{y:.1f}} {unit}"
                           "<br>95% interval %{customdata[1]:.1f}–%{customdata[2]:.1f}"
                           "<br>n = %{customdata[0]:,.0f} people<extra></extra>"))
    gaps = hidden_labels(rows, ["wave", "group"])
    for wave in sorted(set(gaps["wave"]) & set(order), key=order.index):
        fig.add_annotation(x=wave, y=0, yref="paper", yanchor="bottom", showarrow=False,
                           text="insufficient", font=dict(color="#555555", size=11))
    if not fig.data:
        empty_figure(fig, "Not enough people to show this outcome for the current selection.")
    apply_layout(fig, "Average per wave", "Survey wave", f"{label} ({unit})")
    fig.update_xaxes(categoryorder="array", categoryarray=order, type="category")
    alt = (f"Line chart of average {label.lower()} ({unit}) per survey wave for participants "
           f"and the comparison group, with shaded 95% intervals"
           + (f"; waves marked insufficient had fewer than {k} people in a group." if len(gaps) and k
              else "."))
    return Chart("trend", fig, alt, download_table(rows), takeaway, how_to_read)


def distribution_figure(quantiles: pd.DataFrame, outcome: str, waves: Sequence[str] | None = None,
                        k: int | None = None, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Box plots from precomputed quantiles (never individual scores).

    ``quantiles`` has ``wave, group, n, p05, q1, median, q3, p95, status``; whiskers
    are the 5th and 95th percentiles (missing when the group is too small for tails).
    """
    label, unit = outcome_label(outcome), outcome_unit(outcome)
    fig = new_figure()
    rows = quantiles.loc[quantiles["group"].isin(["participants", "comparison"])]
    order = wave_order(rows, waves) if not rows.empty else list(waves or [])
    shown = visible(rows)
    for group in ("participants", "comparison"):
        part = shown.loc[shown["group"] == group].set_index("wave").reindex(order).dropna(
            subset=["median"])
        if part.empty:
            continue
        x = list(part.index)
        colour = GROUP_COLOURS[group]
        low = part["p05"].fillna(part["q1"])
        high = part["p95"].fillna(part["q3"])
        fig.add_box(x=x, q1=part["q1"], median=part["median"], q3=part["q3"],
                    lowerfence=low, upperfence=high, name=GROUP_LABELS[group],
                    marker_color=colour, boxpoints=False, hoverinfo="skip",
                    offsetgroup=group, legendgroup=group)
        fig.add_scatter(
            x=x, y=part["median"], mode="markers", showlegend=False, legendgroup=group,
            offsetgroup=group, marker=dict(color=colour, size=1, opacity=0),
            customdata=np.c_[part["n"], part["q1"], part["q3"], low, high],
            hovertemplate=(f"{GROUP_LABELS[group]} · %{{x}}<br>middle value %{{y:.1f}} {unit}"
                           "<br>middle half %{customdata[1]:.1f}–%{customdata[2]:.1f}"
                           "<br>whiskers %{customdata[3]:.1f}–%{customdata[4]:.1f}"
                           "<br>n = %{customdata[0]:,.0f} people<extra></extra>"))
    fig.update_layout(boxmode="group", scattermode="group")
    if not fig.data:
        empty_figure(fig, "Not enough people to show the spread for the current selection.")
    apply_layout(fig, "Spread of scores per wave", "Survey wave", f"{label} ({unit})")
    fig.update_xaxes(categoryorder="array", categoryarray=order, type="category")
    alt = (f"Box plots of {label.lower()} per wave for participants and comparison: box from "
           "the 25th to the 75th percentile, line at the median, whiskers at the 5th and 95th "
           "percentiles; built from group summaries, not individual answers.")
    return Chart("distribution", fig, alt, download_table(quantiles), takeaway, how_to_read)


def change_figure(change: pd.DataFrame, outcome: str, waves: Sequence[str] | None = None,
                  k: int | None = None, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Change since baseline per wave for participants and comparison, both from 0.

    ``change`` is the report's ``change`` table (``outcome, wave, wave_index,
    baseline_wave, group, n, mean_change, ci_low, ci_high, status``): at each wave the
    people seen at baseline and then, so the vertical gap between the lines is the
    difference-in-differences estimate at that wave.
    """
    if change is None or change.empty:
        change = pd.DataFrame(columns=["outcome", "wave", "wave_index", "baseline_wave", "group", "n",
                                       "mean_change", "ci_low", "ci_high", "status"])
    rows = change.loc[(change["outcome"] == outcome) & change["group"].isin(["participants", "comparison"])]
    if waves and not rows.empty:
        rows = rows.loc[rows["wave"].astype(str).isin([str(w) for w in waves])]
    label, unit, digits = outcome_label(outcome), outcome_unit(outcome), outcome_digits(outcome)
    baseline = (str(rows["baseline_wave"].dropna().iloc[0])
                if not rows.empty and rows["baseline_wave"].notna().any() else None)
    order = ([baseline] if baseline else []) + (
        list(rows.sort_values("wave_index")["wave"].astype(str).drop_duplicates()) if not rows.empty else [])
    fig = new_figure()
    shown = visible(rows).dropna(subset=["mean_change"])
    last_points: dict[str, tuple[str, float]] = {}
    for group in ("participants", "comparison"):
        part = shown.loc[shown["group"] == group].sort_values("wave_index")
        if part.empty or baseline is None:
            continue
        colour = GROUP_COLOURS[group]
        x = [baseline] + list(part["wave"].astype(str))
        fig.add_scatter(
            x=list(part["wave"].astype(str)) + list(part["wave"].astype(str))[::-1],
            y=list(part["ci_high"]) + list(part["ci_low"])[::-1], fill="toself",
            fillcolor=rgba(colour, 0.15), line=dict(width=0), mode="lines", hoverinfo="skip",
            showlegend=False, name=f"{GROUP_LABELS[group]} 95% interval")
        hover = [f"{GROUP_LABELS[group]} · {baseline} (baseline): the starting point, 0 by definition"]
        hover += [f"{GROUP_LABELS[group]} · {w}<br>change since baseline {m:+.{digits}f} {unit}"
                  f"<br>95% interval {lo:+.{digits}f} to {hi:+.{digits}f}"
                  f"<br>n = {int(n):,} people seen at baseline and at {w}"
                  for w, m, lo, hi, n in zip(part["wave"], part["mean_change"], part["ci_low"],
                                             part["ci_high"], part["n"])]
        fig.add_scatter(
            x=x, y=[0.0] + list(part["mean_change"]), mode="lines+markers", name=GROUP_LABELS[group],
            line=dict(color=colour, width=3, dash="solid" if group == "participants" else "dash"),
            marker=dict(size=9, symbol="circle" if group == "participants" else "square"),
            hovertext=hover, hovertemplate="%{hovertext}<extra></extra>")
        last_points[group] = (str(part["wave"].iloc[-1]), float(part["mean_change"].iloc[-1]))
    reference_line(fig, "y", 0, dict(color="#333333", width=1, dash="dot"))
    if len(last_points) == 2 and last_points["participants"][0] == last_points["comparison"][0]:
        wave, p = last_points["participants"]
        c = last_points["comparison"][1]
        fig.add_shape(type="line", x0=wave, x1=wave, y0=c, y1=p, xref="x", yref="y",
                      line=dict(color="#333333", width=2))
        fig.add_annotation(x=wave, y=(p + c) / 2, xref="x", yref="y", showarrow=False,
                           xanchor="left", xshift=8, align="left",
                           text=f"gap {p - c:+.{digits}f} {unit}<br>= program effect",
                           font=dict(color="#333333", size=12))
    gaps = hidden_labels(rows, ["wave", "group"])
    for wave in sorted(set(gaps["wave"].astype(str)) & set(order), key=order.index):
        fig.add_annotation(x=wave, y=0, yref="paper", yanchor="bottom", showarrow=False,
                           text="insufficient", font=dict(color="#555555", size=11))
    if not fig.data:
        empty_figure(fig, "Not enough people seen at baseline and later to show change for this selection.")
    apply_layout(fig, f"Change since baseline ({baseline or 'first wave'})",
                 "Survey wave", f"Change since baseline ({unit}); below 0 = fell")
    fig.update_xaxes(categoryorder="array", categoryarray=order, type="category")
    alt = (f"Line chart of the average change in {label.lower()} ({unit}) since the baseline "
           "survey for participants and the comparison group, both starting at 0, with shaded "
           "95% intervals; the vertical gap at each wave is the program effect"
           + (f"; waves marked insufficient had fewer than {k} people in a group." if len(gaps) and k
              else "."))
    return Chart("change", fig, alt, download_table(rows), takeaway, how_to_read)
