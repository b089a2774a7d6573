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
    VegaLite,
    apply_layout,
    download_table,
    empty_figure,
    hidden_labels,
    new_figure,
    outcome_digits,
    outcome_label,
    outcome_unit,
    rgba,
    vega_empty,
    vega_insufficient,
    vega_spec,
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
    difference-in-differences estimate at that wave. The first chart of the Overview and
    of Impact, so drawn with Vega-Lite (see :class:`VegaLite`).
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
    order = list(dict.fromkeys(([baseline] if baseline else []) + (
        list(rows.sort_values("wave_index")["wave"].astype(str)) if not rows.empty else [])))
    points = _change_points(visible(rows).dropna(subset=["mean_change"]), baseline, unit, digits)
    gaps = hidden_labels(rows, ["wave", "group"])
    hidden = [w for w in order if w in set(gaps["wave"].astype(str))]
    title = f"Change since baseline ({baseline or 'first wave'})"
    spec = (_change_spec(points, order, hidden, title, unit, digits) if points
            else vega_empty(title, "Not enough people seen at baseline and later to show "
                                    "change for this selection."))
    alt = (f"Line chart of the average change in {label.lower()} ({unit}) since the baseline "
           "survey for participants and the comparison group, both starting at 0, with shaded "
           "95% intervals; the vertical gap at each wave is the program effect"
           + (f"; waves marked insufficient had fewer than {k} people in a group." if len(gaps) and k
              else "."))
    return Chart("change", VegaLite(spec), alt, download_table(rows), takeaway, how_to_read)


def _change_points(shown: pd.DataFrame, baseline: str | None, unit: str,
                   digits: int) -> list[dict]:
    """One data row per group and wave drawn (the baseline at 0 first), with the words of
    its tooltip; only rows that may be shown reach here."""
    points: list[dict] = []
    for group in ("participants", "comparison"):
        part = shown.loc[shown["group"] == group].sort_values("wave_index")
        if part.empty or baseline is None:
            continue
        name = GROUP_LABELS[group]
        points.append(dict(group=name, wave=baseline, change=0.0, low=None, high=None,
                           change_text="0: the starting point, by definition",
                           interval_text="", n_text=""))
        for w, m, lo, hi, n in zip(part["wave"].astype(str), part["mean_change"], part["ci_low"],
                                   part["ci_high"], part["n"]):
            points.append(dict(
                group=name, wave=w, change=round(float(m), 6), low=round(float(lo), 6),
                high=round(float(hi), 6), change_text=f"{m:+.{digits}f} {unit}",
                interval_text=f"{lo:+.{digits}f} to {hi:+.{digits}f}",
                n_text=f"n = {int(n):,} people seen at baseline and at {w}"))
    return points


def _change_spec(points: list[dict], order: list[str], hidden: list[str], title: str,
                 unit: str, digits: int) -> dict:
    groups = [GROUP_LABELS["participants"], GROUP_LABELS["comparison"]]
    x = {"field": "wave", "type": "ordinal", "title": "Survey wave",
         "scale": {"domain": order}, "axis": {"labelAngle": 0, "labelLimit": 140}}
    colour = {"field": "group", "type": "nominal", "title": None,
              "legend": {"orient": "top", "direction": "horizontal", "symbolSize": 120},
              "scale": {"domain": groups, "range": [GROUP_COLOURS["participants"],
                                                    GROUP_COLOURS["comparison"]]}}
    # one band per group in a fixed colour: a band on the shared colour scale would merge
    # into (and, unlisted, switch off) the lines' legend
    layers: list[dict] = [
        {"mark": {"type": "area", "opacity": 0.15, "color": GROUP_COLOURS[group]},
         "transform": [{"filter": {"and": [{"field": "group", "equal": GROUP_LABELS[group]},
                                           "datum.low !== null"]}}],
         "encoding": {"x": x, "y": {"field": "low", "type": "quantitative"},
                      "y2": {"field": "high"}}}
        for group in ("participants", "comparison")
    ] + [
        {"mark": {"type": "rule", "strokeDash": [2, 3], "color": "#333333"},
         "encoding": {"y": {"datum": 0}}},
        {"mark": {"type": "line", "strokeWidth": 3, "point": {"size": 90, "filled": True}},
         "encoding": {
             "x": x,
             "y": {"field": "change", "type": "quantitative",
                   "title": f"Change since baseline ({unit}); below 0 = fell"},
             "color": colour,
             # the same field as the colour: one legend, shape and dash in it
             "strokeDash": {"field": "group", "type": "nominal", "title": None,
                            "scale": {"domain": groups, "range": [[1, 0], [7, 4]]}},
             "shape": {"field": "group", "type": "nominal", "title": None,
                       "scale": {"domain": groups, "range": ["circle", "square"]}},
             "tooltip": [{"field": "group", "title": "Group"},
                         {"field": "wave", "title": "Wave"},
                         {"field": "change_text", "title": "Change since baseline"},
                         {"field": "interval_text", "title": "95% interval"},
                         {"field": "n_text", "title": "People"}]}},
    ]
    gap = _gap_layers(points, digits, unit)
    layers += gap
    if hidden:
        layers.append(vega_insufficient("wave", hidden, x))
    # room on the right for the gap's two-line label
    return vega_spec(title, {"data": {"values": points}, "layer": layers}, height=380,
                     padding={"left": 5, "top": 5, "bottom": 5, "right": 105 if gap else 5})


def _gap_layers(points: list[dict], digits: int, unit: str) -> list[dict]:
    """The vertical gap at the last wave both groups show: the program effect there."""
    last = {}
    for point in points:
        last[point["group"]] = point
    p, c = last.get(GROUP_LABELS["participants"]), last.get(GROUP_LABELS["comparison"])
    if p is None or c is None or p["wave"] != c["wave"] or p["low"] is None:
        return []
    gap = {"wave": p["wave"], "p": p["change"], "c": c["change"], "mid": (p["change"] + c["change"]) / 2,
           "text": [f"gap {p['change'] - c['change']:+.{digits}f} {unit}", "= program effect"]}
    x = {"field": "wave", "type": "ordinal"}
    return [{"data": {"values": [gap]}, "mark": {"type": "rule", "color": "#333333", "strokeWidth": 2},
             "encoding": {"x": x, "y": {"field": "c", "type": "quantitative"}, "y2": {"field": "p"}}},
            {"data": {"values": [gap]},
             "mark": {"type": "text", "align": "left", "dx": 10, "color": "#333333", "fontSize": 12,
                      "lineHeight": 15},
             "encoding": {"x": x, "y": {"field": "mid", "type": "quantitative"},
                          "text": {"field": "text"}}}]
