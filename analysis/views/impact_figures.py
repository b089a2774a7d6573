"""Figures of the program's effect: forest plot, covariate balance, dose-response and the
smallest detectable difference (effect sizes and the event study:
:mod:`analysis.views.estimate_figures`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.privacy.suppression import INSUFFICIENT
from analysis.views.figure_base import (
    COMPARISON,
    NEUTRAL,
    PARTICIPANTS,
    Chart,
    VegaLite,
    apply_layout,
    download_table,
    empty_figure,
    hidden_labels,
    insufficient_bars,
    lower_first,
    new_figure,
    outcome_digits,
    outcome_label,
    outcome_unit,
    people_text,
    reference_line,
    vega_empty,
    vega_hidden_rows,
    vega_spec,
    visible,
    wrap_label,
)
from analysis.views.help import METHOD_LABELS


def forest_figure(estimates: pd.DataFrame, outcomes: Sequence[str], wave: str,
                  k: int | None = None, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Forest plot: each method's estimate (participants minus comparison) with its CI.

    One panel per outcome (Vega-Lite ``vconcat``), each with its own x axis in the
    outcome's units (a 0–100 scale and a 1–5 scale on one axis would flatten the short
    one to a dot); with one outcome, one panel whose rows are the four methods.
    """
    rows = estimates.loc[estimates["analysis"].isin(list(METHOD_LABELS))
                         & estimates["outcome"].isin(list(outcomes))
                         & (estimates["wave"].astype(str) == str(wave))].copy()
    rows["_o"] = rows["outcome"].map({o: i for i, o in enumerate(outcomes)})
    rows["_m"] = rows["analysis"].map({m: i for i, m in enumerate(METHOD_LABELS)})
    rows = rows.sort_values(["_o", "_m"])
    rows["row_label"] = [METHOD_LABELS[a] for a in rows["analysis"]]
    present = [o for o in outcomes if o in set(rows["outcome"])]
    title = (f"Four ways of comparing ({wave})" if len(present) == 1
             else f"Each outcome in its own units ({wave})")
    panels = [_forest_panel(rows.loc[rows["outcome"] == outcome], outcome) for outcome in present]
    # each outcome its own x scale (its units) and its own rows
    spec = (vega_spec(title, {"vconcat": panels, "spacing": 28,
                              "resolve": {"scale": {"x": "independent", "y": "independent",
                                                    "color": "shared"}}})
            if panels else vega_empty(title, f"No comparisons at {wave} for the current selection."))
    alt = (f"Forest plot of the difference between participants and comparison at {wave} for "
           f"{len(present)} outcome(s) by {len(METHOD_LABELS)} methods, each a point with a "
           "95% interval against a dotted line at zero (no difference), each outcome on its "
           "own axis in its own units.")
    table = rows.drop(columns=["_o", "_m", "row_label"])
    return Chart("forest", VegaLite(spec), alt, download_table(table), takeaway, how_to_read)


#: The forest plot's legend entry: every point is this difference.
_FOREST_NAME = "Participants minus comparison (95% interval)"


def _forest_panel(part: pd.DataFrame, outcome: str) -> dict:
    """One outcome's panel: a row per method, the x axis in the outcome's units; rows
    that may not be shown carry their status in words and no number.

    Each method's name is written above its row inside the plot, not in a column of axis
    labels: Streamlit gives every panel the page's width, so a label column would push
    the panels past a phone's screen.
    """
    label, unit, digits = outcome_label(outcome), outcome_unit(outcome), outcome_digits(outcome)
    methods = list(part["row_label"])
    shown = visible(part).dropna(subset=["estimate", "ci_low", "ci_high"])
    points = [dict(method=m, estimate=round(float(e), 6), low=round(float(lo), 6),
                   high=round(float(hi), 6), difference_text=f"{e:+.{digits}f} {unit}",
                   interval_text=f"{lo:.{digits}f} to {hi:.{digits}f}",
                   n_text=people_text(n1, n0))
              for m, e, lo, hi, n1, n0 in zip(shown["row_label"], shown["estimate"], shown["ci_low"],
                                              shown["ci_high"], shown["n_participants"],
                                              shown["n_comparison"])]
    y = {"field": "method", "type": "nominal", "title": None, "axis": None,
         "scale": {"domain": methods, "paddingOuter": 0.3}}
    title = [f"{label} ({unit})", "participants minus comparison; left of 0 = lower"]
    # nothing to place: an unnumbered axis (a scale of one value would draw no axis)
    x_scale = {} if points else {"scale": {"domain": [-1, 1]}}
    x_axis = {"title": title, "titleFontSize": 12} if points else {
        "title": title, "titleFontSize": 12, "labels": False, "ticks": False, "grid": False}
    layers: list[dict] = [
        {"data": {"values": [{}]}, "mark": {"type": "rule", "strokeDash": [2, 3], "color": "#333333",
                                             "tooltip": None},
         "encoding": {"x": {"datum": 0, "type": "quantitative", "axis": x_axis, **x_scale}}},
        {"data": {"values": [{"method": m} for m in methods]},
         "mark": {"type": "text", "align": "left", "baseline": "bottom", "x": 0, "dy": -8,
                  "fontSize": 12, "color": "#222222", "tooltip": None},
         "encoding": {"y": y, "text": {"field": "method"}}},
    ]
    tooltip = [{"field": "method", "title": label},
               {"field": "difference_text", "title": "Difference"},
               {"field": "interval_text", "title": "95% interval"},
               {"field": "n_text", "title": "People"}]
    if points:
        layers += [
            {"mark": {"type": "rule", "strokeWidth": 2, "color": PARTICIPANTS},
             "encoding": {"y": y, "x": {"field": "low", "type": "quantitative"},
                          "x2": {"field": "high"}, "tooltip": tooltip}},
            {"mark": {"type": "point", "shape": "diamond", "filled": True, "size": 150, "opacity": 1},
             "encoding": {
                 "y": y, "x": {"field": "estimate", "type": "quantitative"},
                 "color": {"datum": _FOREST_NAME, "title": None,
                           "scale": {"domain": [_FOREST_NAME], "range": [PARTICIPANTS]},
                           "legend": {"orient": "top", "symbolType": "diamond", "labelLimit": 330}},
                 "tooltip": tooltip}},
        ]
    layers += vega_hidden_rows(part, "row_label", "method", y, label)
    return {"data": {"values": points}, "height": {"step": 46}, "layer": layers}


def love_figure(balance: pd.DataFrame, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Love plot: standardized mean differences before and after weighting, ±0.1 band."""
    rows = visible(balance).dropna(subset=["smd_before"]) if not balance.empty else balance
    fig = new_figure()
    if not rows.empty:
        order = [_covariate_label(c) for c in
                 rows.assign(a=rows["smd_before"].abs()).sort_values("a")["covariate"]]
        fig.add_vrect(x0=-0.1, x1=0.1, fillcolor="#DDDDDD", opacity=0.5, line_width=0,
                      annotation_text="±0.1", annotation_position="top left")
        n_text = _n_text(balance)
        for column, name, colour, symbol in (("smd_before", "Before weighting", COMPARISON, "circle-open"),
                                             ("smd_after", "After weighting", PARTICIPANTS, "circle")):
            if column not in rows.columns:
                continue
            fig.add_scatter(x=rows[column], y=[_covariate_label(c) for c in rows["covariate"]],
                            mode="markers", name=name,
                            marker=dict(color=colour, size=11, symbol=symbol, line=dict(width=2)),
                            hovertemplate=(f"%{{y}}<br>{name.lower()}: %{{x:+.2f}} SD"
                                           f"{n_text}<extra></extra>"))
        fig.update_yaxes(categoryorder="array", categoryarray=order, tickvals=order,
                         ticktext=[wrap_label(str(c), 32) for c in order])
    else:
        empty_figure(fig, "Balance cannot be shown for the current selection.")
    reference_line(fig, "x", 0, dict(color="#333333", width=1))
    apply_layout(fig, "Were the groups alike at the start?",
                 "Difference at the start<br>(standard deviations)", "",
                 height=max(320, 120 + 44 * len(rows)))
    alt = ("Dot plot of how different participants and comparison were in each background "
           "characteristic, before and after weighting, with a shaded band from -0.1 to 0.1 "
           "marking good balance.")
    return Chart("balance", fig, alt, download_table(balance), takeaway, how_to_read)


def _covariate_label(name: str) -> str:
    """A balance covariate in words: "site=Harbor" → "Practice: Harbor",
    "baseline cbi_work" → "Baseline work-related burnout"."""
    name = str(name)
    if name.startswith("baseline "):
        return "Baseline " + lower_first(outcome_label(name.removeprefix("baseline ")))
    if "=" in name:
        covariate, level = name.split("=", 1)
        words = {"site": "Practice", "role": "Role", "years_band": "Years in practice",
                 "caseload_band": "Caseload"}.get(covariate, covariate.replace("_", " ").capitalize())
        return f"{words}: {level}"
    return name.replace("_", " ")


def _n_text(table: pd.DataFrame) -> str:
    if {"n_participants", "n_comparison"} <= set(table.columns):
        shown = visible(table)
        if not shown.empty and shown["n_participants"].notna().any():
            n1 = int(shown["n_participants"].dropna().iloc[0])
            n0 = int(shown["n_comparison"].dropna().iloc[0])
            return f"<br>n = {n1:,} participants, {n0:,} comparison"
    return "<br>n: see table"


def dose_response_figure(dose: pd.DataFrame, outcome: str,
                         k: int | None = None, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Mean change from baseline by dose band (sessions attended), with 95% intervals."""
    label, unit = outcome_label(outcome), outcome_unit(outcome)
    rows = dose.loc[dose["outcome"] == outcome] if "outcome" in dose.columns else dose
    if "dose_band" in rows.columns:
        rows = rows.loc[rows["dose_band"].astype(str) != "all"]
    fig = new_figure()
    shown = visible(rows).dropna(subset=["mean_change"])
    if not shown.empty:
        has_ci = {"ci_low", "ci_high"} <= set(shown.columns)
        fig.add_bar(
            x=shown["dose_band"], y=shown["mean_change"], name="Average change since baseline",
            marker_color=PARTICIPANTS,
            error_y=dict(type="data", symmetric=False,
                         array=(shown["ci_high"] - shown["mean_change"]) if has_ci else None,
                         arrayminus=(shown["mean_change"] - shown["ci_low"]) if has_ci else None),
            customdata=shown[["n"]].to_numpy(),
            hovertemplate=(f"%{{x}} sessions<br>average change %{{y:+.1f}} {unit}"
                           "<br>n = %{customdata[0]:,.0f} people<extra></extra>"))
    gaps = hidden_labels(rows, ["dose_band"])
    height = float(np.nanmax(np.abs(shown["mean_change"]))) if not shown.empty else 1.0
    insufficient_bars(fig, list(gaps.loc[gaps["status"] == INSUFFICIENT, "dose_band"]), height, k)
    # The per-session slope is in the takeaway, beside what the bars show; a title
    # quoting the straight line alone read as contradicting the bars.
    title = "Change by sessions attended"
    if not fig.data:
        empty_figure(fig, "Not enough participants to show change by sessions attended.")
    apply_layout(fig, title, "Sessions attended (band)", f"Change since baseline ({unit})")
    fig.update_xaxes(type="category")
    alt = (f"Bar chart of the average change in {label.lower()} since baseline for people who "
           "attended 0, 1–2, 3–5 and 6 or more sessions, with 95% intervals.")
    return Chart("dose_response", fig, alt, download_table(rows), takeaway, how_to_read)


def mde_figure(mde: pd.DataFrame, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Smallest difference each outcome's data could reliably detect, beside the observed one."""
    rows = visible(mde)
    fig = new_figure()
    # in standard deviations of the baseline score, so that 0–100 and 1–5 scales share the axis
    standardized = {"mde_d", "baseline_sd"} <= set(rows.columns)
    value = "mde_d" if standardized else ("mde_points" if "mde_points" in rows.columns else None)
    if value and not rows.empty:
        labels = [outcome_label(o) for o in rows["outcome"]]
        units = [outcome_unit(o) for o in rows["outcome"]]
        custom = np.c_[rows.get("n_participants", pd.Series(np.nan, index=rows.index)).astype("Float64"),
                       rows.get("n_comparison", pd.Series(np.nan, index=rows.index)).astype("Float64"),
                       units, rows.get("mde_points", pd.Series(np.nan, index=rows.index)).astype("Float64")]
        what = "SD" if standardized else "%{customdata[2]}"
        fig.add_bar(y=labels, x=rows[value], orientation="h", name="Smallest detectable difference",
                    marker_color=NEUTRAL, customdata=custom,
                    hovertemplate=(f"%{{y}}<br>smallest detectable difference %{{x:.2f}} {what}"
                                   " (%{customdata[3]:.2f} %{customdata[2]})"
                                   "<br>n = %{customdata[0]:,.0f} participants, "
                                   "%{customdata[1]:,.0f} comparison<extra></extra>"))
        if "observed" in rows.columns:
            observed = rows["observed"].abs() / (rows["baseline_sd"] if standardized else 1.0)
            fig.add_scatter(y=labels, x=observed, mode="markers",
                            name="Difference observed (size)", customdata=custom,
                            marker=dict(color=PARTICIPANTS, size=12, symbol="diamond"),
                            hovertemplate=(f"%{{y}}<br>observed difference %{{x:.2f}} {what}"
                                           "<br>n = %{customdata[0]:,.0f} participants, "
                                           "%{customdata[1]:,.0f} comparison<extra></extra>"))
    else:
        empty_figure(fig, "Not enough people to judge what this data could detect.")
    apply_layout(fig, "What size of difference could this data detect?",
                 "Difference (standard deviations of the baseline score)" if standardized
                 else "Difference (outcome points)", "", height=max(300, 90 + 40 * len(rows)))
    alt = ("Horizontal bars of the smallest difference between participants and comparison "
           "the data could detect with 80% power per outcome, with the observed difference as "
           "a diamond.")
    return Chart("mde", fig, alt, download_table(mde), takeaway, how_to_read)
