"""Figures of the program's effect: forest plot, effect sizes, covariate balance,
dose-response and the smallest detectable difference."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.definitions.instruments import SCALES_BY_KEY
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
    vega_empty,
    vega_insufficient,
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
                   n_text=_people_text(n1, n0))
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
    layers += _status_layers(part, "row_label", "method", y, label)
    return {"data": {"values": points}, "height": {"step": 46}, "layer": layers}


def _people_text(n_participants: object, n_comparison: object) -> str:
    """ "n = 40 participants, 80 comparison" for a tooltip ("n: see table" when unknown)."""
    if pd.isna(n_participants) or pd.isna(n_comparison):
        return "n: see table"
    return f"n = {int(n_participants):,} participants, {int(n_comparison):,} comparison"


def _wrapped_labels(labels: Sequence[str], width: int) -> str:
    """An axis ``labelExpr`` drawing each of ``labels`` on lines of about ``width``
    characters (Vega draws an array as lines), so a long label is never cut mid-word."""
    expr = "datum.label"
    for label in dict.fromkeys(str(x) for x in labels):
        lines = wrap_label(label, width).split("<br>")
        if len(lines) > 1:
            expr = f"datum.label === {json.dumps(label)} ? {json.dumps(lines)} : {expr}"
    return expr


def _status_layers(part: pd.DataFrame, label_col: str, field: str, y: dict,
                   title: str) -> list[dict]:
    """Rows that may not be shown: their status in words ("insufficient") at the left of
    their row and in its tooltip (``title``: what the row is), with no number."""
    gaps = hidden_labels(part, [label_col])
    if gaps.empty:
        return []
    values = [{field: str(label), "status": str(status)}
              for label, status in zip(gaps[label_col], gaps["status"])]
    return [{"data": {"values": values},
             "mark": {"type": "text", "align": "left", "dx": 4, "x": 0, "color": "#555555",
                      "fontSize": 11},
             "encoding": {"y": y, "text": {"field": "status"},
                          "tooltip": [{"field": field, "title": title},
                                      {"field": "status", "title": "Not shown"}]}}]


#: Cohen's benchmarks for a standardized difference, drawn as faint lines.
EFFECT_SIZE_MARKS = ((0.2, "small"), (0.5, "moderate"))


EFFECT_SIZE_KINDS = {
    "d_baseline_sd": "standard deviations of the baseline score",
    "d_follow_up_sd": "standard deviations of the follow-up score",
    "hedges_g": "standard deviations (Hedges' g)",
}


def effect_size_figure(estimates: pd.DataFrame, outcomes: Sequence[str], wave: str,
                       analysis: str = "did", takeaway: str = "", how_to_read: str = "") -> Chart:
    """Every outcome on one axis: one method's effect in standard deviations.

    ``effect_size`` is the estimate divided by a standard deviation
    (``effect_size_kind``: DiD divides by the pooled baseline SD), so scales of any
    range compare. The interval is the estimate's interval divided by the same SD
    (``ci × effect_size / estimate``; the SD's own uncertainty is not added).
    """
    rows = estimates.loc[(estimates["analysis"] == analysis) & estimates["outcome"].isin(list(outcomes))
                         & (estimates["wave"].astype(str) == str(wave))].copy()
    rows["_o"] = rows["outcome"].map({o: i for i, o in enumerate(outcomes)})
    rows = rows.sort_values("_o")
    rows["row_label"] = [outcome_label(o) + ("" if SCALES_BY_KEY.get(o) is None
                                             or SCALES_BY_KEY[o].higher_is_worse
                                             else " (higher = better)") for o in rows["outcome"]]
    categories = list(rows["row_label"])
    shown = visible(rows).dropna(subset=["estimate", "ci_low", "ci_high", "effect_size"])
    shown = shown.loc[shown["estimate"] != 0]
    kind = str(shown["effect_size_kind"].dropna().iloc[0]) if "effect_size_kind" in shown.columns \
        and shown["effect_size_kind"].notna().any() else "d_baseline_sd"
    title = f"All outcomes on one scale ({wave})"
    name = f"{METHOD_LABELS.get(analysis, analysis)} (95% interval)"
    spec = (_effect_size_spec(_effect_size_points(shown), rows, title, name, kind) if categories
            else vega_empty(title, f"No comparisons at {wave} for the current selection."))
    alt = (f"Dot plot of the {METHOD_LABELS.get(analysis, analysis).lower()} effect at {wave} for "
           f"{len(categories)} outcome(s) in standard deviations, each with a 95% interval, with "
           "a dotted line at zero and dashed lines at 0.2 (small) and 0.5 (moderate).")
    table = rows.drop(columns=["_o", "row_label"])
    return Chart("effect_sizes", VegaLite(spec), alt, download_table(table), takeaway, how_to_read)


def _effect_size_points(shown: pd.DataFrame) -> list[dict]:
    """One data row per outcome shown: the effect size and its interval scaled by the same
    SD as the estimate (``effect_size / estimate``), with the words of its tooltip."""
    points = []
    for _, row in shown.iterrows():
        scale = float(row["effect_size"]) / float(row["estimate"])
        low, high = sorted((float(row["ci_low"]) * scale, float(row["ci_high"]) * scale))
        effect = float(row["effect_size"])
        points.append(dict(
            outcome=str(row["row_label"]), effect=round(effect, 6), low=round(low, 6),
            high=round(high, 6), effect_text=f"{effect:+.2f} SD",
            interval_text=f"{low:+.2f} to {high:+.2f} SD",
            units_text=f"{float(row['estimate']):+.2f} {outcome_unit(row['outcome'])}",
            n_text=_people_text(row.get("n_participants"), row.get("n_comparison"))))
    return points


def _effect_size_spec(points: list[dict], rows: pd.DataFrame, title: str, name: str,
                      kind: str) -> dict:
    categories = list(rows["row_label"])
    limit = max([abs(p[key]) for p in points for key in ("low", "high")] + [0.6]) * 1.1
    y = {"field": "outcome", "type": "nominal", "title": None, "scale": {"domain": categories},
         "axis": {"labelExpr": _wrapped_labels(categories, 22), "labelLimit": 180}}
    x = {"field": "effect", "type": "quantitative",
         "title": [*wrap_label(f"Effect size ({EFFECT_SIZE_KINDS.get(kind, 'standard deviations')})",
                               36).split("<br>"), "left of 0 = lower for participants"],
         "scale": {"domain": [round(-limit, 6), round(limit, 6)], "nice": True, "zero": False}}
    marks = [{"at": sign * size, "word": word} for size, word in EFFECT_SIZE_MARKS for sign in (-1, 1)]
    layers: list[dict] = [
        {"data": {"values": marks},
         "mark": {"type": "rule", "color": "#CCCCCC", "strokeDash": [5, 4], "tooltip": None},
         "encoding": {"x": {"field": "at", "type": "quantitative", "scale": x["scale"]}}},
        {"data": {"values": [m for m in marks if m["at"] < 0]},
         "mark": {"type": "text", "color": "#555555", "fontSize": 11, "baseline": "bottom",
                  "y": 0, "dy": -2, "tooltip": None},
         "encoding": {"x": {"field": "at", "type": "quantitative"}, "text": {"field": "word"}}},
        {"data": {"values": [{}]}, "mark": {"type": "rule", "strokeDash": [2, 3], "color": "#333333",
                                             "tooltip": None},
         "encoding": {"x": {"datum": 0, "type": "quantitative"}}},
    ]
    tooltip = [{"field": "outcome", "title": "Outcome"},
               {"field": "effect_text", "title": "Effect size"},
               {"field": "interval_text", "title": "95% interval"},
               {"field": "units_text", "title": "In the outcome's units"},
               {"field": "n_text", "title": "People"}]
    if points:
        layers += [
            {"mark": {"type": "rule", "strokeWidth": 2, "color": PARTICIPANTS},
             "encoding": {"y": y, "x": {"field": "low", "type": "quantitative"},
                          "x2": {"field": "high"}, "tooltip": tooltip}},
            {"mark": {"type": "point", "shape": "diamond", "filled": True, "size": 150, "opacity": 1},
             "encoding": {
                 "y": y, "x": x,
                 "color": {"datum": name, "title": None,
                           "scale": {"domain": [name], "range": [PARTICIPANTS]},
                           "legend": {"orient": "top", "symbolType": "diamond", "labelLimit": 330,
                                      "labelExpr": _wrapped_labels([name], 34)}},
                 "tooltip": tooltip}},
        ]
    layers += _status_layers(rows, "row_label", "outcome", y, "Outcome")
    # the rules and labels carry the x axis when no outcome can be shown
    layers[0]["encoding"]["x"].update(title=x["title"])
    # a row height, not a total: Streamlit leaves a fixed height on a discrete axis unused
    return vega_spec(title, {"data": {"values": points}, "height": {"step": 44}, "layer": layers})


def love_figure(balance: pd.DataFrame, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Love plot: standardized mean differences before and after weighting, ±0.1 band."""
    rows = visible(balance).dropna(subset=["smd_before"]) if not balance.empty else balance
    title = "Were the groups alike at the start?"
    spec = (_love_spec(rows, _n_text(balance), title) if not rows.empty
            else vega_empty(title, "Balance cannot be shown for the current selection."))
    alt = ("Dot plot of how different participants and comparison were in each background "
           "characteristic, before and after weighting, with a shaded band from -0.1 to 0.1 "
           "marking good balance.")
    return Chart("balance", VegaLite(spec), alt, download_table(balance), takeaway, how_to_read)


#: A category label wrapped at spaces onto lines of at most about 24 characters (Vega draws
#: an array as lines), so long names fit a phone without being cut mid-word.
_WRAPPED_AXIS = {"labelExpr": "split(trim(replace(datum.label, regexp('(.{1,24})( +|$)', 'g'), "
                                "'$1\\n')), '\\n')",
                 "labelLimit": 200, "labelOverlap": False}


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
                   "scale": {"domain": order}, "axis": _WRAPPED_AXIS},
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
            n1 = int(shown["n_participants"].dropna().iloc[0])
            n0 = int(shown["n_comparison"].dropna().iloc[0])
            return f"n = {n1:,} participants, {n0:,} comparison"
    return "n: see table"


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
            n_text=_pair_n(row.get("n_participants"), row.get("n_comparison"))))
    names = ["Smallest detectable difference", "Difference observed (size)"]
    # one legend for both layers; its observed entry drawn as a diamond, like the mark
    colour = {"title": None, "scale": {"domain": names, "range": [NEUTRAL, PARTICIPANTS]},
              "legend": {"orient": "top", "direction": "vertical", "labelLimit": 300,
                         "symbolType": {"expr": f"datum.value === '{names[1]}' ? 'diamond' : 'square'"}}}
    y = {"field": "outcome", "type": "nominal", "title": None,
         "scale": {"domain": [*dict.fromkeys([r["outcome"] for r in rows] + hidden)]},
         "axis": _WRAPPED_AXIS}
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


def _pair_n(n_participants: object, n_comparison: object) -> str:
    """"n = 40 participants, 80 comparison" (or where to find them when not given)."""
    if pd.notna(n_participants) and pd.notna(n_comparison):
        return f"n = {int(n_participants):,} participants, {int(n_comparison):,} comparison"
    return "n: see table"


def event_study_figure(event: pd.DataFrame, outcome: str, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Effect by waves since the first session, with the pre-program placebo estimates.

    ``event`` is the report's event-study table (``outcome, event_time, period, estimate,
    ci_low, ci_high, ..., suppressed``); suppressed rows never become points: their
    waves since joining are marked "insufficient", without a number.
    """
    rows = event.loc[event["outcome"] == outcome] if "outcome" in event.columns else event
    hidden = (sorted({int(e) for e in rows.loc[rows["suppressed"].astype(bool), "event_time"].dropna()})
              if len(rows) else [])
    rows = rows.loc[~rows["suppressed"].astype(bool)].dropna(subset=["estimate"]) if len(rows) else rows
    title = "Effect by time since joining"
    unit, digits = outcome_unit(outcome), outcome_digits(outcome)
    spec = (_event_study_spec(_event_points(rows, unit, digits), hidden, title, unit) if len(rows)
            else vega_empty(title, "The effect by time since joining cannot be shown for the "
                                   "current selection."))
    alt = ("Dot plot with 95% intervals of the difference between participants and the comparison group "
           "by waves since the first session; dots left of 0 are checks from before people joined.")
    return Chart("event_study", VegaLite(spec), alt, download_table(rows), takeaway, how_to_read)


#: The event study's two kinds of points, in legend order, and their colours.
_EVENT_PERIODS = {"pre": ("Before joining (should be near 0)", COMPARISON),
                  "post": ("After the first session", PARTICIPANTS)}


def _event_points(rows: pd.DataFrame, unit: str, digits: int) -> list[dict]:
    """One data row per wave since joining shown, with the words of its tooltip."""
    n1 = rows["n_participants"] if "n_participants" in rows.columns else pd.Series(np.nan, index=rows.index)
    n0 = rows["n_comparison"] if "n_comparison" in rows.columns else pd.Series(np.nan, index=rows.index)
    return [dict(event_time=int(e), period=_EVENT_PERIODS[str(p)][0], estimate=round(float(v), 6),
                 low=round(float(lo), 6), high=round(float(hi), 6),
                 when_text=f"{int(e)} waves since the first session",
                 effect_text=f"{v:+.{digits}f} {unit}",
                 interval_text=f"{lo:+.{digits}f} to {hi:+.{digits}f}", n_text=_people_text(a, b))
            for e, p, v, lo, hi, a, b in zip(rows["event_time"], rows["period"], rows["estimate"],
                                             rows["ci_low"], rows["ci_high"], n1, n0)
            if str(p) in _EVENT_PERIODS]


def _event_study_spec(points: list[dict], hidden: list[int], title: str, unit: str) -> dict:
    names = [name for name, _ in _EVENT_PERIODS.values()]
    x = {"field": "event_time", "type": "quantitative",
         "title": "Waves since the first session (0 = first survey after it)",
         "scale": {"nice": False, "padding": 16}, "axis": {"tickMinStep": 1, "format": "d"}}
    colour = {"field": "period", "type": "nominal", "title": None,
              "legend": {"orient": "top", "direction": "vertical", "labelLimit": 330},
              "scale": {"domain": names, "range": [colour for _, colour in _EVENT_PERIODS.values()]}}
    tooltip = [{"field": "when_text", "title": "When"},
               {"field": "effect_text", "title": "Difference"},
               {"field": "interval_text", "title": "95% interval"},
               {"field": "n_text", "title": "People"}]
    joining = {"values": [{"at": -0.5, "word": "first session"}]}
    layers: list[dict] = [
        {"data": {"values": [{}]}, "mark": {"type": "rule", "color": "#333333", "tooltip": None},
         "encoding": {"y": {"datum": 0, "type": "quantitative"}}},
        # people join between the last wave before (-1) and the first after (0)
        {"data": joining, "mark": {"type": "rule", "color": "#888888", "strokeDash": [5, 4],
                                   "tooltip": None},
         "encoding": {"x": {"field": "at", "type": "quantitative"}}},
        {"data": joining,
         "mark": {"type": "text", "color": "#555555", "fontSize": 11, "align": "center",
                  "baseline": "bottom", "y": 0, "dy": -2, "tooltip": None},
         "encoding": {"x": {"field": "at", "type": "quantitative"}, "text": {"field": "word"}}},
        {"mark": {"type": "rule", "strokeWidth": 2},
         "encoding": {"x": x, "y": {"field": "low", "type": "quantitative"}, "y2": {"field": "high"},
                      "color": colour, "tooltip": tooltip}},
        {"mark": {"type": "point", "filled": True, "size": 110, "opacity": 1},
         "encoding": {
             "x": x, "y": {"field": "estimate", "type": "quantitative",
                           "title": f"Participants minus comparison ({unit})"},
             "color": colour,
             "shape": {"field": "period", "type": "nominal", "title": None,
                       "scale": {"domain": names, "range": ["square", "circle"]}},
             "tooltip": tooltip}},
    ]
    if hidden:
        values = [{"when_text": f"{e} waves since the first session", "event_time": e,
                   "status": "insufficient (too few people; not shown)"} for e in hidden]
        layers.append({"data": {"values": values},
                       "mark": {"type": "text", "text": "insufficient", "color": "#555555",
                                "fontSize": 11, "baseline": "bottom", "y": {"expr": "height"}},
                       "encoding": {"x": {"field": "event_time", "type": "quantitative"},
                                    "tooltip": [{"field": "when_text", "title": "When"},
                                                {"field": "status", "title": "Not shown"}]}})
    return vega_spec(title, {"data": {"values": points}, "layer": layers}, height=340)
