"""Figures of an outcome over the survey waves: averages, spread, change since baseline."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.reporting.group_tables import overall_site
from analysis.views.figure_base import (
    GROUP_COLOURS,
    GROUP_LABELS,
    Chart,
    VegaLite,
    download_table,
    hidden_labels,
    outcome_digits,
    outcome_label,
    outcome_unit,
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
    and ``status``/``suppressed``. Drawn with Vega-Lite (see :class:`VegaLite`).
    """
    site = site if site is not None else overall_site(descriptives)  # organization or selection
    rows = descriptives.loc[(descriptives["outcome"] == outcome) & (descriptives["site"] == site)
                            & descriptives["group"].isin(["participants", "comparison"])]
    order, gaps, hidden = _waves_shown_and_hidden(rows, waves)
    label, unit, digits = outcome_label(outcome), outcome_unit(outcome), outcome_digits(outcome)
    points = _trend_points(visible(rows).dropna(subset=["mean"]), order, unit, digits)
    title = "Average per wave"
    spec = (_trend_spec(points, order, hidden, title, f"{label} ({unit})") if points
            else vega_empty(title, "Not enough people to show this outcome for the current selection."))
    alt = (f"Line chart of average {label.lower()} ({unit}) per survey wave for participants "
           f"and the comparison group, with shaded 95% intervals"
           + (f"; waves marked insufficient had fewer than {k} people in a group." if len(gaps) and k
              else "."))
    return Chart("trend", VegaLite(spec), alt, download_table(rows), takeaway, how_to_read)


def _trend_points(shown: pd.DataFrame, order: list[str], unit: str, digits: int) -> list[dict]:
    """One data row per group and wave drawn, with the words of its tooltip; only rows
    that may be shown reach here."""
    points: list[dict] = []
    for group in ("participants", "comparison"):
        part = shown.loc[(shown["group"] == group) & shown["wave"].astype(str).isin(order)]
        for w, m, lo, hi, n in sorted(zip(part["wave"].astype(str), part["mean"], part["ci_low"],
                                          part["ci_high"], part["n"]), key=lambda r: order.index(r[0])):
            band = pd.notna(lo) and pd.notna(hi)
            points.append(dict(
                group=GROUP_LABELS[group], wave=w, mean=round(float(m), 6),
                low=round(float(lo), 6) if band else None, high=round(float(hi), 6) if band else None,
                mean_text=f"{m:.{digits}f} {unit}",
                interval_text=f"{lo:.{digits}f}–{hi:.{digits}f}" if band else "",
                n_text=f"n = {int(n):,} people"))
    return points


def _trend_spec(points: list[dict], order: list[str], hidden: list[str], title: str,
                y_title: str) -> dict:
    x = _wave_axis(order)
    layers = _band_layers(x) + [
        {"mark": {"type": "line", "strokeWidth": 3, "point": {"size": 90, "filled": True}},
         "encoding": {
             "x": x,
             "y": {"field": "mean", "type": "quantitative", "title": y_title,
                   "scale": {"zero": False}},
             **_group_encodings(),
             "tooltip": [{"field": "group", "title": "Group"},
                         {"field": "wave", "title": "Wave"},
                         {"field": "mean_text", "title": "Average"},
                         {"field": "interval_text", "title": "95% interval"},
                         {"field": "n_text", "title": "People"}]}},
    ]
    if hidden:
        layers.append(vega_insufficient("wave", hidden, x))
    return vega_spec(title, {"data": {"values": points}, "layer": layers}, height=380)


def _waves_shown_and_hidden(rows: pd.DataFrame, waves: Sequence[str] | None
                            ) -> tuple[list[str], pd.DataFrame, list[str]]:
    """The wave axis (survey order), the rows that may not be drawn (labels and status
    only), and the waves on the axis holding such a row (marked "insufficient")."""
    order = [str(w) for w in (wave_order(rows, waves) if not rows.empty else list(waves or []))]
    gaps = hidden_labels(rows, ["wave", "group"])
    hidden = [w for w in order if w in set(gaps["wave"].astype(str))]
    return order, gaps, hidden


def distribution_figure(quantiles: pd.DataFrame, outcome: str, waves: Sequence[str] | None = None,
                        k: int | None = None, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Box plots from precomputed quantiles (never individual scores).

    ``quantiles`` has ``wave, group, n, p05, q1, median, q3, p95, status``; whiskers
    are the 5th and 95th percentiles (missing when the group is too small for tails).
    Drawn with Vega-Lite: a rule per whisker, a bar from q1 to q3 and a tick at the
    median, the two groups side by side at each wave.
    """
    label, unit, digits = outcome_label(outcome), outcome_unit(outcome), outcome_digits(outcome)
    rows = quantiles.loc[quantiles["group"].isin(["participants", "comparison"])]
    order, _, hidden = _waves_shown_and_hidden(rows, waves)
    points = _box_points(visible(rows).dropna(subset=["median"]), order, unit, digits)
    title = "Spread of scores per wave"
    spec = (_box_spec(points, order, hidden, title, f"{label} ({unit})") if points
            else vega_empty(title, "Not enough people to show the spread for the current selection."))
    alt = (f"Box plots of {label.lower()} per wave for participants and comparison: box from "
           "the 25th to the 75th percentile, line at the median, whiskers at the 5th and 95th "
           "percentiles; built from group summaries, not individual answers.")
    return Chart("distribution", VegaLite(spec), alt, download_table(quantiles), takeaway, how_to_read)


def _box_points(shown: pd.DataFrame, order: list[str], unit: str, digits: int) -> list[dict]:
    """One data row per group and wave drawn: the five quantiles (a whisker missing when
    the group is too small for tails falls back to the box edge) and the tooltip words."""
    points: list[dict] = []
    for group in ("participants", "comparison"):
        part = shown.loc[(shown["group"] == group) & shown["wave"].astype(str).isin(order)]
        for row in sorted(part.itertuples(index=False), key=lambda r: order.index(str(r.wave))):
            q1, median, q3 = float(row.q1), float(row.median), float(row.q3)
            tails = pd.notna(row.p05) and pd.notna(row.p95)
            low = float(row.p05) if pd.notna(row.p05) else q1
            high = float(row.p95) if pd.notna(row.p95) else q3
            points.append(dict(
                group=GROUP_LABELS[group], wave=str(row.wave), low=round(low, 6), q1=round(q1, 6),
                median=round(median, 6), q3=round(q3, 6), high=round(high, 6),
                median_text=f"{median:.{digits}f} {unit}",
                box_text=f"{q1:.{digits}f}–{q3:.{digits}f}",
                whisker_text=(f"{low:.{digits}f}–{high:.{digits}f}" if tails
                              else "not drawn: too few people for the 5th and 95th percentiles"),
                n_text=f"n = {int(row.n):,} people"))
    return points


def _box_spec(points: list[dict], order: list[str], hidden: list[str], title: str,
              y_title: str) -> dict:
    x = _wave_axis(order)
    groups = [GROUP_LABELS["participants"], GROUP_LABELS["comparison"]]
    # the two groups side by side within each wave, participants left
    side = {"field": "group", "type": "nominal", "scale": {"domain": groups, "paddingInner": 0.15}}
    colour = _group_encodings()["color"]
    tooltip = [{"field": "group", "title": "Group"}, {"field": "wave", "title": "Wave"},
               {"field": "median_text", "title": "Middle value"},
               {"field": "box_text", "title": "Middle half"},
               {"field": "whisker_text", "title": "Whiskers (5th–95th percentile)"},
               {"field": "n_text", "title": "People"}]
    y = {"type": "quantitative", "title": y_title, "scale": {"zero": False}}

    def layer(mark: dict, low: str, high: str | None = None) -> dict:
        encoding = {"x": x, "xOffset": side, "color": colour, "y": dict(y, field=low),
                    "tooltip": tooltip}
        if high is not None:
            encoding["y2"] = {"field": high}
        return {"mark": mark, "encoding": encoding}

    layers = [layer({"type": "rule", "strokeWidth": 1.5}, "low", "q1"),
              layer({"type": "rule", "strokeWidth": 1.5}, "q3", "high"),
              layer({"type": "bar", "fillOpacity": 0.35, "strokeWidth": 1.5,
                     "stroke": {"expr": "scale('color', datum.group)"}}, "q1", "q3"),
              layer({"type": "tick", "thickness": 3}, "median")]
    if hidden:
        layers.append(vega_insufficient("wave", hidden, x))
    return vega_spec(title, {"data": {"values": points}, "layer": layers}, height=380)


def _wave_axis(order: list[str]) -> dict:
    """The survey waves along x, in survey order (hidden waves keep their place)."""
    return {"field": "wave", "type": "ordinal", "title": "Survey wave",
            "scale": {"domain": order}, "axis": {"labelAngle": 0, "labelLimit": 140}}


def _group_encodings() -> dict:
    """Colour, dash and point shape by group (participants solid circles, comparison
    dashed squares), on one legend."""
    groups = [GROUP_LABELS["participants"], GROUP_LABELS["comparison"]]
    return {
        "color": {"field": "group", "type": "nominal", "title": None,
                  "legend": {"orient": "top", "direction": "horizontal", "symbolSize": 120},
                  "scale": {"domain": groups, "range": [GROUP_COLOURS["participants"],
                                                        GROUP_COLOURS["comparison"]]}},
        # the same field as the colour: one legend, shape and dash in it
        "strokeDash": {"field": "group", "type": "nominal", "title": None,
                       "scale": {"domain": groups, "range": [[1, 0], [7, 4]]}},
        "shape": {"field": "group", "type": "nominal", "title": None,
                  "scale": {"domain": groups, "range": ["circle", "square"]}},
    }


def _band_layers(x: dict) -> list[dict]:
    """The shaded 95% interval of each group (rows with ``low``/``high``)."""
    # one band per group in a fixed colour: a band on the shared colour scale would merge
    # into (and, unlisted, switch off) the lines' legend
    return [
        {"mark": {"type": "area", "opacity": 0.15, "color": GROUP_COLOURS[group], "tooltip": None},
         "transform": [{"filter": {"and": [{"field": "group", "equal": GROUP_LABELS[group]},
                                           "datum.low !== null"]}}],
         "encoding": {"x": x, "y": {"field": "low", "type": "quantitative"},
                      "y2": {"field": "high"}}}
        for group in ("participants", "comparison")
    ]


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
    x = _wave_axis(order)
    layers: list[dict] = _band_layers(x) + [
        {"mark": {"type": "rule", "strokeDash": [2, 3], "color": "#333333", "tooltip": None},
         "encoding": {"y": {"datum": 0}}},
        {"mark": {"type": "line", "strokeWidth": 3, "point": {"size": 90, "filled": True}},
         "encoding": {
             "x": x,
             "y": {"field": "change", "type": "quantitative",
                   "title": f"Change since baseline ({unit}); below 0 = fell"},
             **_group_encodings(),
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
    return [{"data": {"values": [gap]},
             "mark": {"type": "rule", "color": "#333333", "strokeWidth": 2, "tooltip": None},
             "encoding": {"x": x, "y": {"field": "c", "type": "quantitative"}, "y2": {"field": "p"}}},
            {"data": {"values": [gap]},
             "mark": {"type": "text", "align": "left", "dx": 10, "color": "#333333", "fontSize": 12,
                      "lineHeight": 15, "tooltip": None},
             "encoding": {"x": x, "y": {"field": "mid", "type": "quantitative"},
                          "text": {"field": "text"}}}]
