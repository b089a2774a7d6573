"""Figures: aggregated, disclosure-checked tables in, plotly figures out.

Every function here takes a table that :mod:`analysis.reporting.report` (or
:mod:`analysis.views.dashboard`) has already checked and returns a :class:`Chart`: the
figure, a one-sentence ``alt`` text, and the table behind it (what the download
offers). Nothing here reads the database or decides a threshold.

Rules every figure keeps
------------------------
* A row that is not ``status == "ok"`` never becomes a trace, a hover label or a
  tick value: its numbers are dropped *here as well*, even if a caller passed them.
  Such rows are drawn as a grey, hatched "insufficient" marker (too few people to
  show) or a blank "no data" marker (nobody there), with no number attached.
* Colours are Okabe-Ito (colour-blind safe): participants blue ``#0072B2``,
  comparison orange ``#E69F00``.
* Every hover label shows how many people stand behind the number (``n``).
* Axis titles carry the unit.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.definitions.analyses import MEAN_DIFFERENCE_ANALYSES
from analysis.privacy.suppression import INSUFFICIENT, NO_DATA, OK
from analysis.definitions.instruments import SCALES_BY_KEY

__all__ = [
    "Chart", "PARTICIPANTS", "COMPARISON", "INSUFFICIENT_GREY", "GROUP_COLOURS",
    "METHOD_LABELS", "outcome_label", "outcome_unit", "visible",
    "trend_figure", "change_figure", "distribution_figure", "forest_figure", "effect_size_figure",
    "love_figure",
    "dose_response_figure", "mde_figure", "monthly_attendance_figure",
    "dose_histogram_figure", "retention_figure", "breakdown_figure",
    "practices_heatmap", "responses_figure", "missing_items_figure", "alpha_figure",
]

PARTICIPANTS = "#0072B2"
COMPARISON = "#E69F00"
NEUTRAL = "#009E73"
INSUFFICIENT_GREY = "#BBBBBB"
GROUP_COLOURS = {"participants": PARTICIPANTS, "comparison": COMPARISON, "all": NEUTRAL}
GROUP_LABELS = {"participants": "Participants", "comparison": "Comparison", "all": "Everyone"}
#: The four ways of comparing the groups, in the order the forest plot lists them.
METHOD_LABELS = {a.name: a.label for a in MEAN_DIFFERENCE_ANALYSES}
ALPHA_CAUTION_LINE = 0.7
_FONT = dict(family="sans-serif", size=13)


@dataclass(frozen=True, eq=False)
class Chart:
    """One chart as a page shows it.

    Parameters
    ----------
    key : str
        Stable name (widget keys, file names).
    figure : plotly Figure
    alt : str
        One sentence describing the chart for people who cannot see it.
    table : DataFrame
        The aggregated table behind the chart (suppressed rows keep their labels,
        lose their numbers); offered as the CSV download.
    takeaway : str
        One-line conclusion shown above the chart.
    how_to_read : str
        Plain-language help shown in an expander.
    """

    key: str
    figure: go.Figure
    alt: str
    table: pd.DataFrame
    takeaway: str = ""
    how_to_read: str = ""

    def with_text(self, takeaway: str | None = None, how_to_read: str | None = None) -> "Chart":
        """Copy with the takeaway and/or help text replaced."""
        return replace(self, takeaway=self.takeaway if takeaway is None else takeaway,
                       how_to_read=self.how_to_read if how_to_read is None else how_to_read)

    def __reduce__(self):
        # st.cache_data pickles a chart and unpickles it on every hit. Plotly's own
        # pickling rebuilds the figure with full validation (~10 ms a figure); the figure
        # was validated when built, so it travels as its JSON dict and comes back as is.
        return (_chart_from_pickle, (self.key, self.figure.to_plotly_json(), self.alt, self.table,
                                     self.takeaway, self.how_to_read))


def _chart_from_pickle(key: str, figure: dict, alt: str, table: pd.DataFrame, takeaway: str,
                       how_to_read: str) -> Chart:
    return Chart(key, go.Figure(figure, _validate=False), alt, table, takeaway, how_to_read)


# ---------------------------------------------------------------- helpers


def outcome_label(outcome: str) -> str:
    """The outcome's name for people ("Work-related burnout")."""
    scale = SCALES_BY_KEY.get(outcome)
    return scale.label if scale else outcome


def outcome_unit(outcome: str) -> str:
    """Unit words for an axis ("points", "scale points")."""
    scale = SCALES_BY_KEY.get(outcome)
    return scale.unit if scale else "points"


def _status(table: pd.DataFrame) -> pd.Series:
    status = (table["status"].astype("string").fillna(OK) if "status" in table.columns
              else pd.Series(OK, index=table.index, dtype="string"))
    if "suppressed" in table.columns:
        status = status.mask(table["suppressed"].fillna(False).astype(bool), INSUFFICIENT)
    return status


def visible(table: pd.DataFrame) -> pd.DataFrame:
    """Rows that may be drawn: ``status`` ok and not suppressed."""
    if table is None or table.empty:
        return pd.DataFrame(columns=[] if table is None else table.columns)
    return table.loc[_status(table) == OK]


def hidden_labels(table: pd.DataFrame, label_cols: Sequence[str]) -> pd.DataFrame:
    """Labels (and status) of rows that must not be drawn, without any number."""
    if table is None or table.empty:
        return pd.DataFrame(columns=[*label_cols, "status"])
    status = _status(table)
    out = table.loc[status != OK, [c for c in label_cols if c in table.columns]].copy()
    out["status"] = status[status != OK]
    return out


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{value:,.{digits}f}"


#: The layout every figure starts from, validated once here: validating the
#: ``plotly_white`` template cost ~10 ms per figure (60 ms under load), most of a warm
#: Impact page. :func:`_new_figure` copies it without validating it again.
_BASE_LAYOUT: dict = go.Layout(
    template="plotly_white", font=_FONT, legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    margin=dict(l=10, r=10, t=70, b=40), hoverlabel=dict(namelength=-1)).to_plotly_json()


def _new_figure() -> go.Figure:
    """An empty figure on :data:`_BASE_LAYOUT` (about 0.5 ms instead of 10).

    Only the base layout, already validated at import, skips validation; what the
    figure functions add afterwards is validated as usual.
    """
    fig = go.Figure(layout=copy.deepcopy(_BASE_LAYOUT), _validate=False)
    fig._validate = True
    fig._layout_obj._validate = True
    return fig


def _layout(fig: go.Figure, title: str, x_title: str | None, y_title: str | None,
            **extra) -> go.Figure:
    """Title and axis titles (None: leave the axes' own titles, e.g. one per panel)."""
    fig.update_layout(title=dict(text=title, x=0, xanchor="left"), **extra)
    if x_title is not None:
        fig.update_xaxes(title_text=x_title)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title)
    return fig


def _reference_line(fig: go.Figure, axis: str, value: float, line: dict) -> None:
    """A full-height (``axis="x"``) or full-width (``"y"``) line at ``value``: what
    ``add_vline``/``add_hline`` draw, at a fraction of their cost (~6 ms each)."""
    if axis == "x":
        fig.add_shape(type="line", x0=value, x1=value, y0=0, y1=1, xref="x", yref="paper", line=line)
    else:
        fig.add_shape(type="line", y0=value, y1=value, x0=0, x1=1, yref="y", xref="paper", line=line)


def _insufficient_bars(fig: go.Figure, x: Sequence, height: float, k: int | None,
                       horizontal: bool = False, name: str = "Insufficient") -> None:
    """Full-height grey hatched bars for categories too small to show (no number)."""
    if not len(x):
        return
    who = f"fewer than {k} people" if k else "too few people"
    values = [height] * len(x)
    fig.add_bar(
        **({"y": list(x), "x": values, "orientation": "h"} if horizontal
           else {"x": list(x), "y": values}),
        name=f"{name} ({who}; not shown)", marker=dict(
            color="rgba(187,187,187,0.35)", line=dict(color=INSUFFICIENT_GREY, width=1),
            pattern=dict(shape="/", fgcolor=INSUFFICIENT_GREY)),
        text=["insufficient"] * len(x), textposition="inside", insidetextanchor="middle",
        hovertemplate=f"%{{{'y' if horizontal else 'x'}}}: insufficient — {who}<extra></extra>",
    )


def _wave_order(table: pd.DataFrame, waves: Sequence[str] | None) -> list[str]:
    if waves:
        return [w for w in waves if w in set(table["wave"])] or list(waves)
    if "wave_index" in table.columns:
        return list(table.sort_values("wave_index")["wave"].drop_duplicates())
    return sorted(table["wave"].dropna().unique())


def _empty(fig: go.Figure, message: str) -> go.Figure:
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper",
                       yref="paper", font=dict(size=15, color="#555555"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


# ---------------------------------------------------------------- impact


def trend_figure(descriptives: pd.DataFrame, outcome: str, waves: Sequence[str] | None = None,
                 site: str = "all", k: int | None = None, takeaway: str = "",
                 how_to_read: str = "") -> Chart:
    """Mean score per wave for participants and comparison, with 95 % CI bands.

    ``descriptives`` has ``outcome, wave, site, group, n, mean, ci_low, ci_high``
    and ``status``/``suppressed``.
    """
    rows = descriptives.loc[(descriptives["outcome"] == outcome) & (descriptives["site"] == site)
                            & descriptives["group"].isin(["participants", "comparison"])]
    order = _wave_order(rows, waves) if not rows.empty else list(waves or [])
    label, unit = outcome_label(outcome), outcome_unit(outcome)
    fig = _new_figure()
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
            fill="toself", fillcolor=_rgba(colour, 0.15), line=dict(width=0), mode="lines",
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
                           text="insufficient", font=dict(color="#666666", size=11))
    if not fig.data:
        _empty(fig, "Not enough people to show this outcome for the current selection.")
    _layout(fig, f"{label}: average per wave", "Survey wave", f"{label} ({unit})")
    fig.update_xaxes(categoryorder="array", categoryarray=order, type="category")
    alt = (f"Line chart of average {label.lower()} ({unit}) per survey wave for participants "
           f"and the comparison group, with shaded 95% intervals"
           + (f"; waves marked insufficient had fewer than {k} people in a group." if len(gaps) and k
              else "."))
    return Chart("trend", fig, alt, _download(rows), takeaway, how_to_read)


def distribution_figure(quantiles: pd.DataFrame, outcome: str, waves: Sequence[str] | None = None,
                        k: int | None = None, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Box plots from precomputed quantiles (never individual scores).

    ``quantiles`` has ``wave, group, n, p05, q1, median, q3, p95, status``; whiskers
    are the 5th and 95th percentiles (missing when the group is too small for tails).
    """
    label, unit = outcome_label(outcome), outcome_unit(outcome)
    fig = _new_figure()
    rows = quantiles.loc[quantiles["group"].isin(["participants", "comparison"])]
    order = _wave_order(rows, waves) if not rows.empty else list(waves or [])
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
        _empty(fig, "Not enough people to show the spread for the current selection.")
    _layout(fig, f"{label}: spread of scores per wave", "Survey wave", f"{label} ({unit})")
    fig.update_xaxes(categoryorder="array", categoryarray=order, type="category")
    alt = (f"Box plots of {label.lower()} per wave for participants and comparison: box from "
           "the 25th to the 75th percentile, line at the median, whiskers at the 5th and 95th "
           "percentiles; built from group summaries, not individual answers.")
    return Chart("distribution", fig, alt, _download(quantiles), takeaway, how_to_read)


def _digits(outcome: str) -> int:
    """Decimals for an outcome's numbers: 2 on short scales (1–5, 3–9), else 1."""
    scale = SCALES_BY_KEY.get(outcome)
    return 2 if scale is not None and float(scale.high) - float(scale.low) <= 10 else 1


def forest_figure(estimates: pd.DataFrame, outcomes: Sequence[str], wave: str,
                  k: int | None = None, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Forest plot: each method's estimate (participants minus comparison) with its CI.

    One panel per outcome, each with its own x axis in the outcome's units (a 0–100
    scale and a 1–5 scale on one axis would flatten the short one to a dot); with
    one outcome, one panel whose rows are the four methods.
    """
    rows = estimates.loc[estimates["analysis"].isin(list(METHOD_LABELS))
                         & estimates["outcome"].isin(list(outcomes))
                         & (estimates["wave"].astype(str) == str(wave))].copy()
    rows["_o"] = rows["outcome"].map({o: i for i, o in enumerate(outcomes)})
    rows["_m"] = rows["analysis"].map({m: i for i, m in enumerate(METHOD_LABELS)})
    rows = rows.sort_values(["_o", "_m"])
    rows["row_label"] = [METHOD_LABELS[a] for a in rows["analysis"]]
    present = [o for o in outcomes if o in set(rows["outcome"])]
    fig = _new_figure()
    row_height, gap, top, bottom = 34, 70, 80, 60
    height = top + bottom + sum(row_height * max(1, int((rows["outcome"] == o).sum())) + gap
                                for o in present) - (gap if present else 0)
    plot_height = max(1, height - top - bottom)
    cursor = 1.0
    for i, outcome in enumerate(present):
        suffix = "" if i == 0 else str(i + 1)
        part = rows.loc[rows["outcome"] == outcome]
        span = row_height * max(1, len(part)) / plot_height
        domain = [max(0.0, cursor - span), cursor]
        cursor = domain[0] - gap / plot_height
        label, unit, digits = outcome_label(outcome), outcome_unit(outcome), _digits(outcome)
        categories = list(part["row_label"])[::-1]
        shown = visible(part).dropna(subset=["estimate", "ci_low", "ci_high"])
        if not shown.empty:
            fig.add_scatter(
                x=shown["estimate"], y=shown["row_label"], mode="markers",
                xaxis=f"x{suffix}", yaxis=f"y{suffix}", legendgroup="estimate",
                name="Participants minus comparison (95% interval)", showlegend=i == 0,
                marker=dict(color=PARTICIPANTS, size=11, symbol="diamond"),
                error_x=dict(type="data", symmetric=False,
                             array=shown["ci_high"] - shown["estimate"],
                             arrayminus=shown["estimate"] - shown["ci_low"], thickness=2),
                customdata=np.c_[shown["ci_low"], shown["ci_high"],
                                 shown["n_participants"].astype("Float64").fillna(np.nan),
                                 shown["n_comparison"].astype("Float64").fillna(np.nan)],
                hovertemplate=(f"{label} · %{{y}}<br>difference %{{x:+.{digits}f}} {unit}"
                               f"<br>95% interval %{{customdata[0]:.{digits}f}} to "
                               f"%{{customdata[1]:.{digits}f}}"
                               "<br>n = %{customdata[2]:,.0f} participants, "
                               "%{customdata[3]:,.0f} comparison<extra></extra>"))
        for _, row in hidden_labels(part, ["row_label"]).iterrows():
            fig.add_annotation(x=0, y=row["row_label"], xref=f"x{suffix}", yref=f"y{suffix}",
                               text=str(row["status"]), showarrow=False, xanchor="left", xshift=6,
                               font=dict(color="#666666", size=11))
        fig.add_shape(type="line", x0=0, x1=0, y0=0, y1=1, xref=f"x{suffix}",
                      yref=f"y{suffix} domain", line=dict(color="#333333", width=1, dash="dot"))
        x_title = f"{label}: participants minus comparison ({unit}); left of 0 = lower for participants"
        fig.update_layout({
            f"xaxis{suffix}": dict(anchor=f"y{suffix}", title=dict(text=x_title, font=dict(size=12)),
                                   zeroline=False),
            f"yaxis{suffix}": dict(domain=domain, anchor=f"x{suffix}", type="category",
                                   categoryorder="array", categoryarray=categories,
                                   automargin=True),
        })
    if not present:
        _empty(fig, f"No comparisons at {wave} for the current selection.")
    title = (f"{outcome_label(present[0])} at {wave}: four ways of comparing the groups"
             if len(present) == 1 else f"Participants minus comparison at {wave}, each outcome in its own units")
    _layout(fig, title, None, None, height=max(300, height),
            margin=dict(l=10, r=10, t=top, b=bottom))
    alt = (f"Forest plot of the difference between participants and comparison at {wave} for "
           f"{len(present)} outcome(s) by {len(METHOD_LABELS)} methods, each a point with a "
           "95% interval against a dotted line at zero (no difference), each outcome on its "
           "own axis in its own units.")
    table = rows.drop(columns=["_o", "_m", "row_label"])
    return Chart("forest", fig, alt, _download(table), takeaway, how_to_read)


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
    categories = list(rows["row_label"])[::-1]
    fig = _new_figure()
    shown = visible(rows).dropna(subset=["estimate", "ci_low", "ci_high", "effect_size"])
    shown = shown.loc[shown["estimate"] != 0]
    kind = str(shown["effect_size_kind"].dropna().iloc[0]) if "effect_size_kind" in shown.columns \
        and shown["effect_size_kind"].notna().any() else "d_baseline_sd"
    for size, word in EFFECT_SIZE_MARKS:
        for sign in (-1, 1):
            _reference_line(fig, "x", sign * size, dict(color="#CCCCCC", width=1, dash="dash"))
        fig.add_annotation(x=-size, y=1, yref="paper", yanchor="bottom", text=word, showarrow=False,
                           font=dict(color="#888888", size=11))
    if not shown.empty:
        scale = shown["effect_size"] / shown["estimate"]
        low = np.minimum(shown["ci_low"] * scale, shown["ci_high"] * scale)
        high = np.maximum(shown["ci_low"] * scale, shown["ci_high"] * scale)
        fig.add_scatter(
            x=shown["effect_size"], y=shown["row_label"], mode="markers",
            name=f"{METHOD_LABELS.get(analysis, analysis)} (95% interval)",
            marker=dict(color=PARTICIPANTS, size=11, symbol="diamond"),
            error_x=dict(type="data", symmetric=False, array=high - shown["effect_size"],
                         arrayminus=shown["effect_size"] - low, thickness=2),
            customdata=np.c_[low, high, shown["estimate"],
                             shown["n_participants"].astype("Float64").fillna(np.nan),
                             shown["n_comparison"].astype("Float64").fillna(np.nan),
                             [outcome_unit(o) for o in shown["outcome"]]],
            hovertemplate=("%{y}<br>effect size %{x:+.2f} SD (95% interval %{customdata[0]:+.2f} "
                           "to %{customdata[1]:+.2f})<br>in the outcome's units: "
                           "%{customdata[2]:+.2f} %{customdata[5]}"
                           "<br>n = %{customdata[3]:,.0f} participants, "
                           "%{customdata[4]:,.0f} comparison<extra></extra>"))
    for _, row in hidden_labels(rows, ["row_label"]).iterrows():
        fig.add_annotation(x=0, y=row["row_label"], text=str(row["status"]), showarrow=False,
                           xanchor="left", xshift=6, font=dict(color="#666666", size=11))
    _reference_line(fig, "x", 0, dict(color="#333333", width=1, dash="dot"))
    if not categories:
        _empty(fig, f"No comparisons at {wave} for the current selection.")
    _layout(fig, f"All outcomes on one scale: {METHOD_LABELS.get(analysis, analysis).lower()} at {wave}",
            f"Effect size ({EFFECT_SIZE_KINDS.get(kind, 'standard deviations')}); "
            "left of 0 = lower for participants", "", height=max(300, 110 + 40 * len(categories)))
    fig.update_yaxes(categoryorder="array", categoryarray=categories, type="category", automargin=True)
    limit = float(np.nanmax(np.abs(np.r_[shown["ci_low"] * (shown["effect_size"] / shown["estimate"]),
                                         shown["ci_high"] * (shown["effect_size"] / shown["estimate"]),
                                         0.6]))) if not shown.empty else 0.6
    fig.update_xaxes(range=[-limit * 1.1, limit * 1.1], zeroline=False)
    alt = (f"Dot plot of the {METHOD_LABELS.get(analysis, analysis).lower()} effect at {wave} for "
           f"{len(categories)} outcome(s) in standard deviations, each with a 95% interval, with "
           "a dotted line at zero and dashed lines at 0.2 (small) and 0.5 (moderate).")
    table = rows.drop(columns=["_o", "row_label"])
    return Chart("effect_sizes", fig, alt, _download(table), takeaway, how_to_read)


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
    label, unit, digits = outcome_label(outcome), outcome_unit(outcome), _digits(outcome)
    baseline = (str(rows["baseline_wave"].dropna().iloc[0])
                if not rows.empty and rows["baseline_wave"].notna().any() else None)
    order = ([baseline] if baseline else []) + (
        list(rows.sort_values("wave_index")["wave"].astype(str).drop_duplicates()) if not rows.empty else [])
    fig = _new_figure()
    shown = visible(rows).dropna(subset=["mean_change"])
    last_points: dict[str, float] = {}
    for group in ("participants", "comparison"):
        part = shown.loc[shown["group"] == group].sort_values("wave_index")
        if part.empty or baseline is None:
            continue
        colour = GROUP_COLOURS[group]
        x = [baseline] + list(part["wave"].astype(str))
        fig.add_scatter(
            x=list(part["wave"].astype(str)) + list(part["wave"].astype(str))[::-1],
            y=list(part["ci_high"]) + list(part["ci_low"])[::-1], fill="toself",
            fillcolor=_rgba(colour, 0.15), line=dict(width=0), mode="lines", hoverinfo="skip",
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
    _reference_line(fig, "y", 0, dict(color="#333333", width=1, dash="dot"))
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
                           text="insufficient", font=dict(color="#666666", size=11))
    if not fig.data:
        _empty(fig, "Not enough people seen at baseline and later to show change for this selection.")
    _layout(fig, f"{label}: change since the baseline survey ({baseline or 'first wave'})",
            "Survey wave", f"Change since baseline ({unit}); below 0 = fell")
    fig.update_xaxes(categoryorder="array", categoryarray=order, type="category")
    alt = (f"Line chart of the average change in {label.lower()} ({unit}) since the baseline "
           "survey for participants and the comparison group, both starting at 0, with shaded "
           "95% intervals; the vertical gap at each wave is the difference-in-differences estimate"
           + (f"; waves marked insufficient had fewer than {k} people in a group." if len(gaps) and k
              else "."))
    return Chart("change", fig, alt, _download(rows), takeaway, how_to_read)


def love_figure(balance: pd.DataFrame, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Love plot: standardized mean differences before and after weighting, ±0.1 band."""
    rows = visible(balance).dropna(subset=["smd_before"]) if not balance.empty else balance
    fig = _new_figure()
    if not rows.empty:
        order = [_covariate_label(c) for c in
                 rows.assign(a=rows["smd_before"].abs()).sort_values("a")["covariate"]]
        fig.add_vrect(x0=-0.1, x1=0.1, fillcolor="#DDDDDD", opacity=0.5, line_width=0,
                      annotation_text="well balanced (±0.1)", annotation_position="top left")
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
        fig.update_yaxes(categoryorder="array", categoryarray=order)
    else:
        _empty(fig, "Balance cannot be shown for the current selection.")
    _reference_line(fig, "x", 0, dict(color="#333333", width=1))
    _layout(fig, "Were participants and comparison alike at the start?",
            "Standardized difference (in standard deviations)", "",
            height=max(320, 80 + 28 * len(rows)))
    alt = ("Dot plot of how different participants and comparison were in each background "
           "characteristic, before and after weighting, with a shaded band from -0.1 to 0.1 "
           "marking good balance.")
    return Chart("balance", fig, alt, _download(balance), takeaway, how_to_read)


def _covariate_label(name: str) -> str:
    """A balance covariate in words: "site=Harbor" → "Practice: Harbor",
    "baseline cbi_work" → "Baseline work-related burnout"."""
    name = str(name)
    if name.startswith("baseline "):
        return "Baseline " + _lower(outcome_label(name.removeprefix("baseline ")))
    if "=" in name:
        covariate, level = name.split("=", 1)
        words = {"site": "Practice", "role": "Role", "years_band": "Years in practice",
                 "caseload_band": "Caseload"}.get(covariate, covariate.replace("_", " ").capitalize())
        return f"{words}: {level}"
    return name.replace("_", " ")


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:]


def _n_text(table: pd.DataFrame) -> str:
    if {"n_participants", "n_comparison"} <= set(table.columns):
        shown = visible(table)
        if not shown.empty and shown["n_participants"].notna().any():
            n1 = int(shown["n_participants"].dropna().iloc[0])
            n0 = int(shown["n_comparison"].dropna().iloc[0])
            return f"<br>n = {n1:,} participants, {n0:,} comparison"
    return "<br>n: see table"


def dose_response_figure(dose: pd.DataFrame, outcome: str, slope: pd.Series | None = None,
                         k: int | None = None, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Mean change from baseline by dose band (sessions attended), with CIs and the slope."""
    label, unit = outcome_label(outcome), outcome_unit(outcome)
    rows = dose.loc[dose["outcome"] == outcome] if "outcome" in dose.columns else dose
    if "dose_band" in rows.columns:
        rows = rows.loc[rows["dose_band"].astype(str) != "all"]
    fig = _new_figure()
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
    _insufficient_bars(fig, list(gaps.loc[gaps["status"] == INSUFFICIENT, "dose_band"]), height, k)
    title = f"{label}: change since baseline by sessions attended"
    if slope is not None and slope.get("status", OK) == OK and pd.notna(slope.get("estimate")):
        title += (f"<br><sup>about {slope['estimate']:+.2f} {unit} per session (95% interval "
                  f"{slope['ci_low']:+.2f} to {slope['ci_high']:+.2f})</sup>")
    if not fig.data:
        _empty(fig, "Not enough participants to show change by sessions attended.")
    _layout(fig, title, "Sessions attended (band)", f"Change since baseline ({unit})")
    fig.update_xaxes(type="category")
    alt = (f"Bar chart of the average change in {label.lower()} since baseline for people who "
           "attended 0, 1–2, 3–5 and 6 or more sessions, with 95% intervals.")
    return Chart("dose_response", fig, alt, _download(rows), takeaway, how_to_read)


def mde_figure(mde: pd.DataFrame, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Smallest difference each outcome's data could reliably detect, beside the observed one."""
    rows = visible(mde)
    fig = _new_figure()
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
        _empty(fig, "Not enough people to judge what this data could detect.")
    _layout(fig, "What size of difference could this data detect?",
            "Difference (standard deviations of the baseline score)" if standardized
            else "Difference (outcome points)", "", height=max(300, 90 + 40 * len(rows)))
    alt = ("Horizontal bars of the smallest difference between participants and comparison "
           "the data could detect with 80% power per outcome, with the observed difference as "
           "a diamond.")
    return Chart("mde", fig, alt, _download(mde), takeaway, how_to_read)


# ---------------------------------------------------------------- participation


def _count_bars(table: pd.DataFrame, category: str, count: str, name: str, hover: str,
                title: str, x_title: str, y_title: str, empty: str, k: int | None,
                order: Sequence | None = None) -> go.Figure:
    """Vertical bars of a count per category; hidden categories as hatched grey bars.

    ``hover`` is the hover text after the category, with ``%{y}`` the count (drawn only
    for rows that are ok).
    """
    fig = _new_figure()
    shown = visible(table).dropna(subset=[count])
    extra = {}
    if "people" in shown.columns and count != "people":
        extra["customdata"] = shown[["people"]].to_numpy()
    if not shown.empty:
        fig.add_bar(x=shown[category], y=shown[count], name=name, marker_color=PARTICIPANTS,
                    hovertemplate=f"%{{x}}<br>{hover}<extra></extra>", **extra)
    gaps = hidden_labels(table, [category])
    height = float(shown[count].max()) if not shown.empty else 1.0
    _insufficient_bars(fig, list(gaps.loc[gaps["status"] == INSUFFICIENT, category]), height, k)
    if not fig.data:
        _empty(fig, empty)
    _layout(fig, title, x_title, y_title, barmode="overlay")
    fig.update_xaxes(type="category", **({"categoryorder": "array", "categoryarray": list(order)}
                                         if order is not None else {}))
    return fig


def monthly_attendance_figure(monthly: pd.DataFrame, k: int | None = None, takeaway: str = "",
                              how_to_read: str = "") -> Chart:
    """Sessions per month, with months of fewer than ``k`` distinct people hatched grey."""
    fig = _count_bars(monthly, "month", "sessions", "Sessions attended",
                      "%{y:,.0f} sessions<br>n = %{customdata[0]:,.0f} people attended",
                      "Sessions attended per month", "Month", "Sessions (count)",
                      "No sessions recorded for the current selection.", k)
    alt = ("Bar chart of peer-support sessions attended per calendar month"
           + (f"; months with fewer than {k} people attending are greyed out and not counted."
              if k else "."))
    return Chart("monthly_attendance", fig, alt, _download(monthly), takeaway, how_to_read)


def dose_histogram_figure(doses: pd.DataFrame, k: int | None = None, takeaway: str = "",
                          how_to_read: str = "") -> Chart:
    """Respondents per dose band (sessions attended by the survey): ``dose_band, n, status``."""
    fig = _count_bars(doses, "dose_band", "n", "People", "n = %{y:,.0f} people",
                      "How many sessions people attended", "Sessions attended by the survey (band)",
                      "People (count)", "No respondents for the current selection.", k,
                      order=list(doses["dose_band"]))
    alt = "Bar chart of how many respondents attended 0, 1–2, 3–5 and 6 or more sessions."
    return Chart("dose_histogram", fig, alt, _download(doses), takeaway, how_to_read)


def retention_figure(participation: pd.DataFrame, waves: Sequence[str] | None = None,
                     k: int | None = None, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Participation rate and retention (share attending in 2+ months) per wave."""
    fig = _new_figure()
    order = _wave_order(participation, waves) if not participation.empty else list(waves or [])
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
        _empty(fig, "Not enough people to show participation for the current selection.")
    _layout(fig, "Who takes part, and who keeps coming", "Survey wave", "Share (%)")
    fig.update_yaxes(range=[0, 100])
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=order)
    alt = ("Line chart of the share of respondents who took part in peer support and the share "
           "of participants who attended in two or more months, per survey wave.")
    return Chart("retention", fig, alt, _download(participation), takeaway, how_to_read)


def breakdown_figure(table: pd.DataFrame, category: str, title: str, k: int | None = None,
                     takeaway: str = "", how_to_read: str = "", key: str = "") -> Chart:
    """Participation rate per category (site, role or session type) as horizontal bars."""
    fig = _new_figure()
    shown = visible(table).dropna(subset=["participation_rate"])
    if not shown.empty:
        shown = shown.sort_values("participation_rate")
        fig.add_bar(y=shown[category], x=shown["participation_rate"] * 100, orientation="h",
                    name="Took part", marker_color=PARTICIPANTS,
                    customdata=shown[["n_respondents", "n_participants"]].to_numpy(dtype=float),
                    hovertemplate=("%{y}<br>%{x:.0f}% took part<br>n = %{customdata[1]:,.0f} "
                                   "of %{customdata[0]:,.0f} people<extra></extra>"))
    gaps = hidden_labels(table, [category])
    _insufficient_bars(fig, list(gaps.loc[gaps["status"] == INSUFFICIENT, category]), 100.0, k,
                       horizontal=True)
    if not fig.data:
        _empty(fig, "Not enough people to show this breakdown.")
    _layout(fig, title, "Took part (% of respondents)", "", barmode="overlay",
            height=max(300, 90 + 34 * len(table)))
    fig.update_xaxes(range=[0, 100])
    fig.update_yaxes(type="category")
    alt = (f"Horizontal bar chart of the share of respondents who took part, by "
           f"{category.replace('_', ' ')}; groups too small to show are greyed out.")
    return Chart(key or f"by_{category}", fig, alt, _download(table), takeaway, how_to_read)


# ---------------------------------------------------------------- practices


def practices_heatmap(matrix: pd.DataFrame, k: int | None = None, takeaway: str = "",
                      how_to_read: str = "") -> Chart:
    """Sites × outcomes: each site's average relative to the organization.

    ``matrix`` has ``site, outcome, n, mean, org_mean, difference, better, status``
    where ``better`` is the difference signed so that positive is better for staff
    (lower burnout, higher resilience). Insufficient cells are grey with the word
    "insufficient"; no-data cells are blank with "no data".
    """
    fig = _new_figure()
    if matrix.empty:
        _empty(fig, "No practices to compare for the current selection.")
        return Chart("practices", fig, "No practices to compare.", matrix, takeaway, how_to_read)
    sites = sorted(matrix["site"].unique())
    outcomes = list(dict.fromkeys(matrix["outcome"]))
    columns = [outcome_label(o) for o in outcomes]
    status = _status(matrix)
    grid = matrix.assign(_status=status, _col=matrix["outcome"].map(outcome_label))
    shown = grid.loc[grid["_status"] == OK]
    z = shown.pivot(index="site", columns="_col", values="better").reindex(index=sites, columns=columns)
    diff = shown.pivot(index="site", columns="_col", values="difference").reindex(index=sites, columns=columns)
    n = shown.pivot(index="site", columns="_col", values="n").reindex(index=sites, columns=columns)
    text = diff.map(lambda v: "" if pd.isna(v) else f"{v:+.1f}")
    limit = float(np.nanmax(np.abs(z.to_numpy(dtype=float)))) if z.notna().any().any() else 1.0
    fig.add_heatmap(
        z=z.to_numpy(dtype=float), x=columns, y=sites, text=text.to_numpy(), texttemplate="%{text}",
        colorscale=[[0, "#D55E00"], [0.5, "#FFFFFF"], [1, "#0072B2"]], zmid=0,
        zmin=-limit, zmax=limit, name="Compared with the organization", xgap=2, ygap=2,
        colorbar=dict(title=dict(text="Compared with<br>the organization", side="top"),
                      tickvals=[-limit, 0, limit],
                      ticktext=["worse", "same", "better"]),
        hoverinfo="skip")
    for word, fill in ((INSUFFICIENT, INSUFFICIENT_GREY), (NO_DATA, "rgba(0,0,0,0)")):
        cells = grid.loc[grid["_status"] == word]
        if cells.empty:
            continue
        mask = pd.DataFrame(np.nan, index=sites, columns=columns)
        for site, col in zip(cells["site"], cells["_col"]):
            mask.loc[site, col] = 1.0
        words = mask.map(lambda v: word if v == 1.0 else "")
        fig.add_heatmap(z=mask.to_numpy(), x=columns, y=sites, text=words.to_numpy(),
                        texttemplate="%{text}", textfont=dict(color="#444444"),
                        colorscale=[[0, fill], [1, fill]], showscale=False, xgap=2, ygap=2,
                        name=word, hoverinfo="skip")
    # Heatmaps cannot be selected in plotly: an invisible marker on every cell takes the
    # click (Streamlit's on_select) and carries the hover text, numbers only where shown.
    units = {outcome_label(o): outcome_unit(o) for o in outcomes}
    who = f"fewer than {k} people: not shown" if k else "too few people: not shown"
    xs, ys, hovers = [], [], []
    for site in sites:
        for col in columns:
            xs.append(col)
            ys.append(site)
            value, count = diff.loc[site, col], n.loc[site, col]
            if pd.notna(value):
                hovers.append(f"{site}<br>{col}: {value:+.1f} {units[col]} vs the organization"
                              f"<br>n = {int(count):,} people<br>click to focus on this practice")
            else:
                state = grid.loc[(grid["site"] == site) & (grid["_col"] == col), "_status"]
                hovers.append(f"{site}<br>{col}: " + (who if len(state) and state.iloc[0] == INSUFFICIENT
                                                      else "nobody answered this"))
    fig.add_scatter(x=xs, y=ys, mode="markers", name="practice", showlegend=False,
                    marker=dict(symbol="square", size=30, color="rgba(0,0,0,0)"),
                    hovertext=hovers, hovertemplate="%{hovertext}<extra></extra>")
    _layout(fig, "Practices compared with the organization (click a practice to focus on it)",
            "", "", height=max(320, 130 + 38 * len(sites)))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    alt = ("Grid of practices (rows) by outcomes (columns); each cell shows how far the "
           "practice's average is from the organization's, blue for better and red for worse; "
           "grey cells marked insufficient have too few people and blank cells have no data.")
    return Chart("practices", fig, alt, _download(matrix), takeaway, how_to_read)


# ---------------------------------------------------------------- data quality


def responses_figure(quality: pd.DataFrame, waves: Sequence[str] | None = None, k: int | None = None,
                     takeaway: str = "", how_to_read: str = "") -> Chart:
    """Responses per wave (``wave, n_responses, status``)."""
    order = _wave_order(quality, waves) if not quality.empty else list(waves or [])
    fig = _count_bars(quality, "wave", "n_responses", "Responses", "n = %{y:,.0f} responses",
                      "Survey responses per wave", "Survey wave", "Responses (count)",
                      "No responses for the current selection.", k, order=order)
    alt = "Bar chart of the number of survey responses received in each wave."
    return Chart("responses", fig, alt, _download(quality), takeaway, how_to_read)


def missing_items_figure(quality: pd.DataFrame, waves: Sequence[str] | None = None,
                         takeaway: str = "", how_to_read: str = "") -> Chart:
    """Share of items left blank per scale and wave (``wave, outcome, n_responses,
    share_items_missing``)."""
    rows = visible(quality).dropna(subset=["share_items_missing"])
    order = _wave_order(quality, waves) if not quality.empty else list(waves or [])
    fig = _new_figure()
    palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
    for i, (outcome, part) in enumerate(rows.groupby("outcome", sort=False)):
        fig.add_bar(x=part["wave"], y=part["share_items_missing"] * 100, name=outcome_label(outcome),
                    marker_color=palette[i % len(palette)],
                    customdata=part[["n_responses"]].to_numpy(),
                    hovertemplate=(f"{outcome_label(outcome)} · %{{x}}<br>%{{y:.1f}}% of items blank"
                                   "<br>n = %{customdata[0]:,.0f} responses<extra></extra>"))
    if not fig.data:
        _empty(fig, "No item-level answers to check (scores were uploaded ready-made).")
    _layout(fig, "Questions left blank", "Survey wave", "Items left blank (%)", barmode="group")
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=order)
    alt = "Grouped bar chart of the percentage of questions left blank per scale and wave."
    return Chart("missing_items", fig, alt, _download(quality), takeaway, how_to_read)


def alpha_figure(reliability: pd.DataFrame, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Cronbach's α with its 95 % CI per scale, with the 0.7 caution line."""
    rows = visible(reliability).dropna(subset=["alpha"])
    fig = _new_figure()
    if not rows.empty:
        labels = [outcome_label(o) + (f" · {w}" if "wave" in rows.columns and w not in (None, "all")
                                      and not pd.isna(w) else "")
                  for o, w in zip(rows["outcome"], rows.get("wave", pd.Series("all", index=rows.index)))]
        colours = [COMPARISON if a < ALPHA_CAUTION_LINE else PARTICIPANTS for a in rows["alpha"]]
        fig.add_scatter(
            x=rows["alpha"], y=labels, mode="markers", name="Consistency (α)",
            marker=dict(color=colours, size=11),
            error_x=dict(type="data", symmetric=False, array=rows["ci_high"] - rows["alpha"],
                         arrayminus=rows["alpha"] - rows["ci_low"]),
            customdata=np.c_[rows["ci_low"], rows["ci_high"], rows["n"]],
            hovertemplate=("%{y}<br>α = %{x:.2f} (95% interval %{customdata[0]:.2f}–"
                           "%{customdata[1]:.2f})<br>n = %{customdata[2]:,.0f} complete responses"
                           "<extra></extra>"))
    else:
        _empty(fig, "Not enough complete answers to judge consistency.")
    fig.add_vline(x=ALPHA_CAUTION_LINE, line=dict(color=COMPARISON, dash="dash"),
                  annotation_text="0.7: below this, read with caution",
                  annotation_position="top left")
    _layout(fig, "Do the questions of each scale hang together?",
            "Cronbach's α (0 to 1; higher = more consistent)", "",
            height=max(300, 90 + 30 * len(rows)))
    fig.update_xaxes(range=[min(0.4, float(rows["ci_low"].min()) - 0.05) if not rows.empty else 0.4, 1.0])
    alt = ("Dot plot of Cronbach's alpha with 95% intervals per scale, with a dashed line at 0.7 "
           "below which a scale's scores should be read with caution.")
    return Chart("alpha", fig, alt, _download(reliability), takeaway, how_to_read)


# ---------------------------------------------------------------- internals


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _download(table: pd.DataFrame) -> pd.DataFrame:
    """The table offered for download: numbers blanked on every row that is not ok."""
    if table is None or table.empty:
        return pd.DataFrame() if table is None else table.copy()
    out = table.copy()
    status = _status(out)
    blank = (status != OK).to_numpy()
    if blank.any():
        for col in out.columns:
            if col in ("status", "suppressed") or not pd.api.types.is_numeric_dtype(out[col]):
                continue
            if col in ("wave_index",):
                continue
            out[col] = out[col].astype("Float64").mask(blank)
        out["status"] = status
    return out
