"""Figures of the program's effect beside the forest plot: every outcome's effect in
standard deviations, and the effect by time since joining (event study), both drawn with
Vega-Lite (see :class:`~analysis.views.figure_base.VegaLite`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.views.figure_base import (
    COMPARISON,
    PARTICIPANTS,
    Chart,
    VegaLite,
    download_table,
    outcome_digits,
    outcome_label,
    outcome_unit,
    people_text,
    vega_empty,
    vega_estimates,
    vega_hidden_rows,
    vega_spec,
    vega_wrapped_labels,
    vega_zero_line,
    visible,
    wrap_label,
)
from analysis.views.help import METHOD_LABELS

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
            n_text=people_text(row.get("n_participants"), row.get("n_comparison"))))
    return points


def _effect_size_spec(points: list[dict], rows: pd.DataFrame, title: str, name: str,
                      kind: str) -> dict:
    categories = list(rows["row_label"])
    limit = max([abs(p[key]) for p in points for key in ("low", "high")] + [0.6]) * 1.1
    y = {"field": "outcome", "type": "nominal", "title": None, "scale": {"domain": categories},
         "axis": {"labelExpr": vega_wrapped_labels(categories, 22), "labelLimit": 180}}
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
        vega_zero_line(),
    ]
    tooltip = [{"field": "outcome", "title": "Outcome"},
               {"field": "effect_text", "title": "Effect size"},
               {"field": "interval_text", "title": "95% interval"},
               {"field": "units_text", "title": "In the outcome's units"},
               {"field": "n_text", "title": "People"}]
    if points:
        layers += vega_estimates(y, x, name, tooltip, labelExpr=vega_wrapped_labels([name], 34))
    layers += vega_hidden_rows(rows, "row_label", "outcome", y, "Outcome")
    # the rules and labels carry the x axis when no outcome can be shown
    layers[0]["encoding"]["x"].update(title=x["title"])
    # a row height, not a total: Streamlit leaves a fixed height on a discrete axis unused
    return vega_spec(title, {"data": {"values": points}, "height": {"step": 44}, "layer": layers})


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
                 when_text=_since_joining(int(e)),
                 effect_text=f"{v:+.{digits}f} {unit}",
                 interval_text=f"{lo:+.{digits}f} to {hi:+.{digits}f}", n_text=people_text(a, b))
            for e, p, v, lo, hi, a, b in zip(rows["event_time"], rows["period"], rows["estimate"],
                                             rows["ci_low"], rows["ci_high"], n1, n0)
            if str(p) in _EVENT_PERIODS]


def _since_joining(event_time: int) -> str:
    """ "-1 wave since the first session", "2 waves since…" for a tooltip."""
    return f"{event_time} wave{'' if abs(event_time) == 1 else 's'} since the first session"


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
        values = [{"when_text": _since_joining(e), "event_time": e,
                   "status": "insufficient (too few people; not shown)"} for e in hidden]
        layers.append({"data": {"values": values},
                       "mark": {"type": "text", "text": "insufficient", "color": "#555555",
                                "fontSize": 11, "baseline": "bottom", "y": {"expr": "height"}},
                       "encoding": {"x": {"field": "event_time", "type": "quantitative"},
                                    "tooltip": [{"field": "when_text", "title": "When"},
                                                {"field": "status", "title": "Not shown"}]}})
    return vega_spec(title, {"data": {"values": points}, "layer": layers}, height=340)
