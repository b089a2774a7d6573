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
    download_table,
    hidden_labels,
    lower_first,
    outcome_digits,
    outcome_label,
    outcome_unit,
    people_text,
    vega_empty,
    vega_estimates,
    vega_hidden_rows,
    vega_insufficient,
    vega_spec,
    vega_wrapped_labels,
    vega_zero_line,
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
        vega_zero_line(axis=x_axis, **x_scale),
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
        layers += vega_estimates(y, {"field": "estimate", "type": "quantitative"}, _FOREST_NAME,
                                 tooltip)
    layers += vega_hidden_rows(part, "row_label", "method", y, label)
    return {"data": {"values": points}, "height": {"step": 46}, "layer": layers}


#: At most this many characteristics drawn (every one stays in the table): 200 practices
#: made a 10,000-pixel chart that took a second to draw and could not be read.
LOVE_ROWS = 12


def love_figure(balance: pd.DataFrame, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Love plot: standardized mean differences before and after weighting, ±0.1 band.

    Every characteristic but the practices is drawn; practices fill the rest of
    :data:`LOVE_ROWS`, least balanced first, and a subtitle says what the others reach.
    """
    rows = visible(balance).dropna(subset=["smd_before"]) if not balance.empty else balance
    title = "Were the groups alike at the start?"
    if rows.empty:
        spec = vega_empty(title, "Balance cannot be shown for the current selection.")
    else:
        drawn = _least_balanced(rows, LOVE_ROWS)
        spec = _love_spec(drawn, _n_text(balance), title)
        if len(drawn) < len(rows):
            spec["title"] = {"text": title, "subtitle": _love_subtitle(rows, drawn)}
    alt = ("Dot plot of how different participants and comparison were in each background "
           "characteristic, before and after weighting, with a shaded band from -0.1 to 0.1 "
           "marking good balance.")
    return Chart("balance", VegaLite(spec), alt, download_table(balance), takeaway, how_to_read)


def _least_balanced(rows: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Every covariate that is not a practice, then the practices least balanced after
    weighting (ties: before weighting), up to ``limit`` rows in all."""
    practice = rows["covariate"].astype(str).str.startswith("site=")
    room = max(limit - int((~practice).sum()), 0)
    after = rows["smd_after"] if "smd_after" in rows.columns else rows["smd_before"]
    ranked = (pd.DataFrame({"after": after.abs().fillna(0), "before": rows["smd_before"].abs()})
              .loc[practice].sort_values(["after", "before"], ascending=False))
    return rows.loc[~practice | rows.index.isin(ranked.index[:room])]


def _love_subtitle(rows: pd.DataFrame, drawn: pd.DataFrame) -> list[str]:
    """What the chart leaves out and what it reaches (lines short enough for a phone)."""
    rest = rows.drop(index=drawn.index)
    practices = int(drawn["covariate"].astype(str).str.startswith("site=").sum())
    after = rest["smd_after"].abs().max() if "smd_after" in rest.columns else float("nan")
    reach = ("." if pd.isna(after) else " by less than 0.01 SD after weighting." if after < 0.005
             else f" by at most {after:.2f} SD after weighting.")
    words = (f"Drawn: {len(drawn) - practices} characteristics and the {practices} least "
             f"balanced practices. The other {len(rest)} practices differ{reach} All "
             f"{len(rows)} are in the table (download).")
    return wrap_label(words, 44).split("<br>")


def _wrapped_axis(labels: list[str]) -> dict:
    """A category axis whose labels break at spaces onto lines of about 24 characters, so
    long names fit a phone without being cut mid-word."""
    return {"labelExpr": vega_wrapped_labels(labels, 24), "labelLimit": 200, "labelOverlap": False}


#: Height per category row (room for three lines of label): a fixed pixel height drew the
#: rows squeezed together in Streamlit.
_ROW_STEP = {"step": 50}


def _love_spec(rows: pd.DataFrame, n_text: str, title: str) -> dict:
    """The love plot's spec: one point per covariate and weighting, largest imbalance on top."""
    points = [dict(covariate=_covariate_label(c), weighting=name, smd=round(float(v), 6),
                   smd_text=f"{v:+.2f} SD", n_text=n_text)
              for column, name in (("smd_before", "Before weighting"), ("smd_after", "After weighting"))
              if column in rows.columns
              for c, v in zip(rows["covariate"], rows[column]) if pd.notna(v)]
    order = [_covariate_label(c) for c in
             rows.assign(a=rows["smd_before"].abs()).sort_values("a", ascending=False)["covariate"]]
    names = ["Before weighting", "After weighting"]
    # one above the other: side by side they overflow a phone
    legend = {"field": "weighting", "type": "nominal", "title": None,
              "legend": {"orient": "top", "direction": "vertical"}}
    x = {"field": "smd", "type": "quantitative", "scale": {"padding": 10},  # no dot cut at an edge
         "title": ["Difference at the start", "(standard deviations)",
                   "shaded: within ±0.1, well balanced"]}
    layers = [
        {"data": {"values": [{"x": -0.1, "x2": 0.1}]},
         "mark": {"type": "rect", "color": "#DDDDDD", "opacity": 0.5, "tooltip": None},
         "encoding": {"x": {"field": "x", "type": "quantitative"}, "x2": {"field": "x2"}}},
        {"data": {"values": [{"x": -0.1}, {"x": 0.1}]},
         "mark": {"type": "rule", "color": "#999999", "strokeDash": [4, 3], "tooltip": None},
         "encoding": {"x": {"field": "x", "type": "quantitative"}}},
        {"mark": {"type": "rule", "color": "#333333", "tooltip": None}, "encoding": {"x": {"datum": 0}}},
        {"mark": {"type": "point", "filled": True, "opacity": 1, "size": 110, "strokeWidth": 2},
         "encoding": {
             "x": x,
             "y": {"field": "covariate", "type": "nominal", "title": None,
                   "scale": {"domain": order}, "axis": _wrapped_axis(order)},
             # before: an open orange ring; after: a filled blue dot (one legend for both)
             "stroke": {**legend, "scale": {"domain": names, "range": [COMPARISON, PARTICIPANTS]}},
             "fill": {**legend, "scale": {"domain": names, "range": ["#FFFFFF", PARTICIPANTS]}},
             "tooltip": [{"field": "covariate", "title": "Characteristic"},
                         {"field": "weighting", "title": "Weighting"},
                         {"field": "smd_text", "title": "Difference"},
                         {"field": "n_text", "title": "People"}]}},
    ]
    return vega_spec(title, {"data": {"values": points}, "layer": layers, "height": _ROW_STEP})


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
            return people_text(shown["n_participants"].dropna().iloc[0],
                               shown["n_comparison"].dropna().iloc[0])
    return people_text(None, None)


def dose_response_figure(dose: pd.DataFrame, outcome: str,
                         k: int | None = None, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Mean change from baseline by dose band (sessions attended), with 95% intervals."""
    label = outcome_label(outcome)
    rows = dose.loc[dose["outcome"] == outcome] if "outcome" in dose.columns else dose
    if "dose_band" in rows.columns:
        rows = rows.loc[rows["dose_band"].astype(str) != "all"]
    shown = visible(rows).dropna(subset=["mean_change"])
    gaps = hidden_labels(rows, ["dose_band"])
    hidden = [str(b) for b in gaps.loc[gaps["status"] == INSUFFICIENT, "dose_band"]]
    # The per-session slope is in the takeaway, beside what the bars show; a title
    # quoting the straight line alone read as contradicting the bars.
    title = "Change by sessions attended"
    bands = [b for b in dict.fromkeys(rows["dose_band"].astype(str)) if b in hidden
             or b in set(shown["dose_band"].astype(str))] if len(rows) else []
    spec = (_dose_spec(shown, bands, hidden, title, outcome, k) if len(shown) or hidden
            else vega_empty(title, "Not enough participants to show change by sessions attended."))
    alt = (f"Bar chart of the average change in {label.lower()} since baseline for people who "
           "attended 0, 1–2, 3–5 and 6 or more sessions, with 95% intervals.")
    return Chart("dose_response", VegaLite(spec), alt, download_table(rows), takeaway, how_to_read)


def _dose_spec(shown: pd.DataFrame, bands: list[str], hidden: list[str], title: str,
               outcome: str, k: int | None) -> dict:
    """Bars of the mean change per band drawn, each with its interval; hidden bands keep
    their place on the axis, marked insufficient."""
    unit, digits = outcome_unit(outcome), outcome_digits(outcome)
    has_ci = {"ci_low", "ci_high"} <= set(shown.columns)
    bars = []
    for _, row in shown.iterrows():
        m = float(row["mean_change"])
        lo, hi = (row["ci_low"], row["ci_high"]) if has_ci else (np.nan, np.nan)
        ci = pd.notna(lo) and pd.notna(hi)
        bars.append(dict(
            band=str(row["dose_band"]), change=round(m, 6),
            low=round(float(lo), 6) if ci else None, high=round(float(hi), 6) if ci else None,
            band_text=f"{row['dose_band']} sessions", change_text=f"{m:+.{digits}f} {unit}",
            interval_text=f"{lo:+.{digits}f} to {hi:+.{digits}f}" if ci else "",
            n_text=f"n = {int(row['n']):,} people" if pd.notna(row.get("n")) else "n: see table"))
    x = {"field": "band", "type": "ordinal", "title": "Sessions attended (band)",
         "scale": {"domain": bands},
         "axis": {"labelAngle": 0}}
    y_title = f"Change since baseline ({unit})"  # on both layers, or the titles are joined
    tooltip = [{"field": "band_text", "title": "Sessions attended"},
               {"field": "change_text", "title": "Average change"},
               {"field": "interval_text", "title": "95% interval"},
               {"field": "n_text", "title": "People"}]
    layers: list[dict] = [
        {"mark": {"type": "bar", "color": PARTICIPANTS, "width": {"band": 0.7}},
         "encoding": {"x": x, "y": {"field": "change", "type": "quantitative", "title": y_title},
                      "tooltip": tooltip}},
        {"mark": {"type": "errorbar", "ticks": {"color": "#333333", "size": 14},
                  "rule": {"color": "#333333", "strokeWidth": 1.5}},
         "transform": [{"filter": "datum.low !== null"}],
         "encoding": {"x": x, "y": {"field": "low", "type": "quantitative", "title": y_title},
                      "y2": {"field": "high"}, "tooltip": tooltip}},
        {"mark": {"type": "rule", "color": "#333333", "tooltip": None}, "encoding": {"y": {"datum": 0}}},
    ]
    if hidden:
        layers.append(_insufficient_layer("band", hidden, x, "Sessions attended", "Change", k))
    return vega_spec(title, {"data": {"values": bars}, "layer": layers}, height=420)


def _insufficient_layer(field: str, labels: list[str], position: dict, label_title: str,
                        value_title: str, k: int | None, horizontal: bool = False) -> dict:
    """:func:`vega_insufficient` with a tooltip saying why (the label and no number)."""
    layer = vega_insufficient(field, labels, position, horizontal=horizontal)
    why = f"insufficient — {f'fewer than {k} people' if k else 'too few people'}; not shown"
    for value in layer["data"]["values"]:
        value["why"] = why
    layer["encoding"]["tooltip"] = [{"field": field, "title": label_title},
                                    {"field": "why", "title": value_title}]
    return layer


def mde_figure(mde: pd.DataFrame, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Smallest difference each outcome's data could reliably detect, beside the observed one."""
    rows = visible(mde)
    # in standard deviations of the baseline score, so that 0–100 and 1–5 scales share the axis
    standardized = {"mde_d", "baseline_sd"} <= set(rows.columns)
    value = "mde_d" if standardized else ("mde_points" if "mde_points" in rows.columns else None)
    title = "What size of difference could this data detect?"
    shown = rows.dropna(subset=[value]) if value else rows.iloc[0:0]
    gaps = hidden_labels(mde, ["outcome"])
    hidden = [outcome_label(o) for o in gaps.loc[gaps["status"] == INSUFFICIENT, "outcome"]]
    spec = (_mde_spec(shown, value, standardized, hidden, title) if value and not shown.empty
            else vega_empty(title, "Not enough people to judge what this data could detect."))
    alt = ("Horizontal bars of the smallest difference between participants and comparison "
           "the data could detect with 80% power per outcome, with the observed difference as "
           "a diamond.")
    return Chart("mde", VegaLite(spec), alt, download_table(mde), takeaway, how_to_read)


def _mde_spec(shown: pd.DataFrame, value: str, standardized: bool, hidden: list[str],
              title: str) -> dict:
    """One bar per outcome drawn (its smallest detectable difference) with the observed
    difference as a diamond; outcomes too small to show marked insufficient in their row."""
    rows = []
    for _, row in shown.iterrows():
        unit = outcome_unit(row["outcome"])
        what = "SD" if standardized else unit
        mde, points = float(row[value]), row.get("mde_points")
        observed = row.get("observed")
        if pd.notna(observed):
            observed = abs(float(observed)) / (float(row["baseline_sd"]) if standardized else 1.0)
        rows.append(dict(
            outcome=outcome_label(row["outcome"]), mde=round(mde, 6),
            mde_text=f"{mde:.2f} {what}" + (f" ({float(points):.2f} {unit})"
                                             if standardized and pd.notna(points) else ""),
            observed=round(observed, 6) if pd.notna(observed) else None,
            observed_text=f"{observed:.2f} {what}" if pd.notna(observed) else "",
            n_text=people_text(row.get("n_participants"), row.get("n_comparison"))))
    names = ["Smallest detectable difference", "Difference observed (size)"]
    # one legend for both layers; its observed entry drawn as a diamond, like the mark
    colour = {"title": None, "scale": {"domain": names, "range": [NEUTRAL, PARTICIPANTS]},
              "legend": {"orient": "top", "direction": "vertical", "labelLimit": 300,
                         "symbolType": {"expr": f"datum.value === '{names[1]}' ? 'diamond' : 'square'"}}}
    labels = [*dict.fromkeys([r["outcome"] for r in rows] + hidden)]
    y = {"field": "outcome", "type": "nominal", "title": None, "scale": {"domain": labels},
         "axis": _wrapped_axis(labels)}
    x = {"type": "quantitative",
         "title": ["Difference (standard deviations", "of the baseline score)"] if standardized
         else "Difference (outcome points)"}
    people = {"field": "n_text", "title": "People"}
    layers = [
        {"mark": {"type": "bar", "height": {"band": 0.6}},
         "encoding": {"y": y, "x": {"field": "mde", **x}, "color": {"datum": names[0], **colour},
                      "tooltip": [{"field": "outcome", "title": "Outcome"},
                                  {"field": "mde_text", "title": "Smallest detectable difference"},
                                  people]}},
        {"mark": {"type": "point", "shape": "diamond", "filled": True, "opacity": 1, "size": 150,
                  "stroke": "#FFFFFF", "strokeWidth": 1},
         "transform": [{"filter": "datum.observed !== null"}],
         "encoding": {"y": y, "x": {"field": "observed", **x}, "color": {"datum": names[1], **colour},
                      "tooltip": [{"field": "outcome", "title": "Outcome"},
                                  {"field": "observed_text", "title": "Observed difference"},
                                  people]}},
    ]
    if hidden:
        layers.append(_insufficient_layer("outcome", hidden, y, "Outcome", "Difference", None,
                                          horizontal=True))
    return vega_spec(title, {"data": {"values": rows}, "layer": layers, "height": _ROW_STEP})
