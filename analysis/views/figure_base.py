"""What every figure shares: the :class:`Chart` record, the colours, the base layout and the
rules for rows that may not be drawn.

Every figure function (``*_figures`` modules) takes a table that :mod:`analysis.reporting.report`
or a page model has already checked and returns a :class:`Chart`: the figure, a one-sentence
``alt`` text, and the table behind it (what the download offers). Nothing in the figure modules
reads the database or decides a threshold.

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
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.privacy.suppression import INSUFFICIENT, OK

PARTICIPANTS = "#0072B2"


COMPARISON = "#E69F00"


NEUTRAL = "#009E73"


INSUFFICIENT_GREY = "#BBBBBB"


GROUP_COLOURS = {"participants": PARTICIPANTS, "comparison": COMPARISON, "all": NEUTRAL}


GROUP_LABELS = {"participants": "Participants", "comparison": "Comparison", "all": "Everyone"}


_FONT = dict(family="sans-serif", size=13, color="#222222")
#: Axis text at 4.5:1 or more on white (Streamlit's chart theme draws it in a light grey).
_AXIS_TEXT = "#444444"


#: What every Vega-Lite chart shares: the plotly figures' font and axis text colours.
VEGA_CONFIG: Mapping[str, Any] = {
    "font": "sans-serif",
    "axis": {"labelColor": _AXIS_TEXT, "titleColor": _AXIS_TEXT, "labelFontSize": 12,
             "titleFontSize": 13, "titleFontWeight": "normal"},
    "legend": {"orient": "bottom", "labelColor": "#222222", "labelFontSize": 13,
               "titleColor": "#222222", "symbolStrokeWidth": 3},
    "title": {"anchor": "start", "color": "#222222", "fontSize": 15, "fontWeight": "normal"},
    "view": {"stroke": None},
}


VEGA_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"


def vega_spec(title: str, body: Mapping[str, Any], *, height: int | None = None,
              **extra: Any) -> dict[str, Any]:
    """A whole Vega-Lite specification: schema, title, the shared :data:`VEGA_CONFIG` and
    ``body`` (``data`` with ``layer`` or ``mark``/``encoding``, ``facet``…).

    Only JSON values go in (numbers rounded by the caller), so the page sends what it shows.
    """
    spec: dict[str, Any] = {"$schema": VEGA_SCHEMA, "title": title}
    if height is not None:
        spec["height"] = height
    spec.update(body)
    spec.update(extra)
    spec["config"] = dict(VEGA_CONFIG)
    return spec


def vega_empty(title: str, message: str) -> dict[str, Any]:
    """A Vega-Lite chart holding only ``message`` (nothing to draw), in lines short
    enough for a phone (Vega draws a list of strings as lines)."""
    lines = wrap_label(message, 36).split("<br>")
    return vega_spec(title, {"data": {"values": [{"message": lines}]},
                             "mark": {"type": "text", "fontSize": 15, "color": "#555555",
                                      "lineHeight": 20, "tooltip": None},
                             "encoding": {"text": {"field": "message"}}}, height=200)


def vega_insufficient(field: str, labels: Sequence[str], position: Mapping[str, Any],
                      *, horizontal: bool = False) -> dict[str, Any]:
    """A layer writing "insufficient" at each category in ``labels`` (rows too small to
    show), with no number attached: at the foot of the plot, or (``horizontal``) at the
    left of each row. ``position`` is the category channel's encoding (``x``, or ``y``
    when horizontal), so the label sits where the hidden row would have been."""
    # no automatic tooltip (Streamlit's theme gives every mark one): the word says it all
    mark: dict[str, Any] = {"type": "text", "text": "insufficient", "color": "#555555",
                            "fontSize": 11, "tooltip": None}
    mark.update({"align": "left", "dx": 4, "x": 0} if horizontal
                else {"baseline": "bottom", "y": {"expr": "height"}})
    return {"data": {"values": [{field: str(label)} for label in labels]}, "mark": mark,
            "encoding": {"y" if horizontal else "x": dict(position)}}


@dataclass(frozen=True, eq=False)
class VegaLite:
    """A chart as a Vega-Lite specification (JSON values only), for the charts a page
    shows first.

    Why a second chart library: plotly's browser bundle (4.6 MB) costs a new tab about a
    second before any plotly chart appears on a two-core machine; Streamlit draws a
    Vega-Lite chart with far less. The rules above hold for both kinds.
    """

    spec: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the specification (Streamlit may add to what it is given)."""
        return copy.deepcopy(dict(self.spec))

    def to_json(self) -> str:
        """The specification as JSON text."""
        return json.dumps(self.spec)


@dataclass(frozen=True, eq=False)
class Chart:
    """One chart as a page shows it.

    Parameters
    ----------
    key : str
        Stable name (widget keys, file names).
    figure : plotly Figure or VegaLite
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
    figure: go.Figure | VegaLite
    alt: str
    table: pd.DataFrame
    takeaway: str = ""
    how_to_read: str = ""

    def with_text(self, takeaway: str | None = None, how_to_read: str | None = None) -> Chart:
        """Copy with the takeaway and/or help text replaced."""
        return replace(self, takeaway=self.takeaway if takeaway is None else takeaway,
                       how_to_read=self.how_to_read if how_to_read is None else how_to_read)

    def __reduce__(self):
        # st.cache_data pickles a chart and unpickles it on every hit. Plotly's own
        # pickling rebuilds the figure with full validation (~10 ms a figure); the figure
        # was validated when built, so it travels as its JSON dict and comes back as is.
        figure = self.figure if isinstance(self.figure, VegaLite) else self.figure.to_plotly_json()
        return (_chart_from_pickle, (self.key, figure, self.alt, self.table, self.takeaway,
                                     self.how_to_read))


def _chart_from_pickle(key: str, figure: dict | VegaLite, alt: str, table: pd.DataFrame,
                       takeaway: str, how_to_read: str) -> Chart:
    if not isinstance(figure, VegaLite):
        figure = go.Figure(figure, _validate=False)
    return Chart(key, figure, alt, table, takeaway, how_to_read)


def outcome_label(outcome: str) -> str:
    """The outcome's name for people ("Work-related burnout")."""
    scale = SCALES_BY_KEY.get(outcome)
    return scale.label if scale else outcome


def outcome_unit(outcome: str) -> str:
    """Unit words for an axis ("points", "scale points")."""
    scale = SCALES_BY_KEY.get(outcome)
    return scale.unit if scale else "points"


def outcome_digits(outcome: str) -> int:
    """Decimals for an outcome's numbers: 2 on short scales (1–5, 3–9), else 1."""
    scale = SCALES_BY_KEY.get(outcome)
    return 2 if scale is not None and float(scale.high) - float(scale.low) <= 10 else 1


def lower_first(label: str) -> str:
    """A label inside a sentence: "Work-related burnout" → "work-related burnout", names
    such as "Mini-Z" kept."""
    return label[:1].lower() + label[1:]


def row_status(table: pd.DataFrame) -> pd.Series:
    """Each row's status: its ``status`` column (ok when absent), ``insufficient`` where
    ``suppressed`` is set."""
    status = (table["status"].astype("string").fillna(OK) if "status" in table.columns
              else pd.Series(OK, index=table.index, dtype="string"))
    if "suppressed" in table.columns:
        status = status.mask(table["suppressed"].fillna(False).astype(bool), INSUFFICIENT)
    return status


def visible(table: pd.DataFrame) -> pd.DataFrame:
    """Rows that may be drawn: ``status`` ok and not suppressed."""
    if table is None or table.empty:
        return pd.DataFrame(columns=[] if table is None else table.columns)
    return table.loc[row_status(table) == OK]


def hidden_labels(table: pd.DataFrame, label_cols: Sequence[str]) -> pd.DataFrame:
    """Labels (and status) of rows that must not be drawn, without any number."""
    if table is None or table.empty:
        return pd.DataFrame(columns=[*label_cols, "status"])
    status = row_status(table)
    out = table.loc[status != OK, [c for c in label_cols if c in table.columns]].copy()
    out["status"] = status[status != OK]
    return out


#: The layout every figure starts from, validated once here: validating the
#: ``plotly_white`` template cost ~10 ms per figure (60 ms under load), most of a warm
#: Impact page. :func:`new_figure` copies it without validating it again.
_BASE_LAYOUT: dict = go.Layout(
    # Legend below the chart (never over the title, readable on a phone) and plotly's
    # toolbar upright at the right edge, so it never covers the title.
    template="plotly_white", font=_FONT,
    legend=dict(orientation="h", yref="container", yanchor="bottom", y=0.01, x=0),
    modebar=dict(orientation="v"), title=dict(yref="container", y=0.97, yanchor="top"),
    margin=dict(l=10, r=40, t=50, b=110), hoverlabel=dict(namelength=-1)).to_plotly_json()


def new_figure() -> go.Figure:
    """An empty figure on :data:`_BASE_LAYOUT` (about 0.5 ms instead of 10).

    Only the base layout, already validated at import, skips validation; what the
    figure functions add afterwards is validated as usual.
    """
    fig = go.Figure(layout=copy.deepcopy(_BASE_LAYOUT), _validate=False)
    fig._validate = True
    fig._layout_obj._validate = True
    return fig


def apply_layout(fig: go.Figure, title: str, x_title: str | None, y_title: str | None,
                 **extra) -> go.Figure:
    """Title and axis titles (None: leave the axes' own titles, e.g. one per panel)."""
    fig.update_layout(title=dict(text=title, x=0, xanchor="left", yref="container", y=0.97,
                                 yanchor="top"), **extra)
    if x_title is not None:
        fig.update_xaxes(title_text=x_title)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title)
    fig.update_xaxes(tickfont_color=_AXIS_TEXT, title_font_color=_AXIS_TEXT)
    fig.update_yaxes(tickfont_color=_AXIS_TEXT, title_font_color=_AXIS_TEXT)
    return fig


def wrap_label(label: str, width: int = 18) -> str:
    """``label`` broken onto lines of about ``width`` characters (plotly's ``<br>``).

    >>> wrap_label("Lakeshore Divorce and Family Counseling")
    'Lakeshore Divorce<br>and Family<br>Counseling'
    """
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines) or label


def reference_line(fig: go.Figure, axis: str, value: float, line: dict) -> None:
    """A full-height (``axis="x"``) or full-width (``"y"``) line at ``value``: what
    ``add_vline``/``add_hline`` draw, at a fraction of their cost (~6 ms each)."""
    if axis == "x":
        fig.add_shape(type="line", x0=value, x1=value, y0=0, y1=1, xref="x", yref="paper", line=line)
    else:
        fig.add_shape(type="line", y0=value, y1=value, x0=0, x1=1, yref="y", xref="paper", line=line)


def insufficient_bars(fig: go.Figure, x: Sequence, height: float, k: int | None,
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


def wave_order(table: pd.DataFrame, waves: Sequence[str] | None) -> list[str]:
    """The waves in survey order: ``waves`` when given (those present), else by ``wave_index``."""
    if waves:
        return [w for w in waves if w in set(table["wave"])] or list(waves)
    if "wave_index" in table.columns:
        return list(table.sort_values("wave_index")["wave"].drop_duplicates())
    return sorted(table["wave"].dropna().unique())


def empty_figure(fig: go.Figure, message: str) -> go.Figure:
    """``fig`` with ``message`` in its middle and no axes: what a chart shows with nothing to draw."""
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper",
                       yref="paper", font=dict(size=15, color="#555555"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def rgba(hex_colour: str, alpha: float) -> str:
    """``"#0072B2"`` and 0.15 → ``"rgba(0,114,178,0.15)"`` (a translucent band of a group's colour)."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def download_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table offered for download: numbers blanked on every row that is not ok."""
    if table is None or table.empty:
        return pd.DataFrame() if table is None else table.copy()
    out = table.copy()
    status = row_status(out)
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


def count_bars(table: pd.DataFrame, category: str, count: str, name: str, hover: str,
               title: str, x_title: str, y_title: str, empty: str, k: int | None,
               order: Sequence | None = None) -> go.Figure:
    """Vertical bars of a count per category; hidden categories as hatched grey bars.

    ``hover`` is the hover text after the category, with ``%{y}`` the count (drawn only
    for rows that are ok).
    """
    fig = new_figure()
    shown = visible(table).dropna(subset=[count])
    extra = {}
    if "people" in shown.columns and count != "people":
        extra["customdata"] = shown[["people"]].to_numpy()
    if not shown.empty:
        fig.add_bar(x=shown[category], y=shown[count], name=name, marker_color=PARTICIPANTS,
                    hovertemplate=f"%{{x}}<br>{hover}<extra></extra>", **extra)
    gaps = hidden_labels(table, [category])
    height = float(shown[count].max()) if not shown.empty else 1.0
    insufficient_bars(fig, list(gaps.loc[gaps["status"] == INSUFFICIENT, category]), height, k)
    if not fig.data:
        empty_figure(fig, empty)
    apply_layout(fig, title, x_title, y_title, barmode="overlay")
    fig.update_xaxes(type="category", **({"categoryorder": "array", "categoryarray": list(order)}
                                         if order is not None else {}))
    return fig


def people_text(n_participants: object, n_comparison: object) -> str:
    """ "n = 40 participants, 80 comparison" for a tooltip ("n: see table" when unknown)."""
    if pd.isna(n_participants) or pd.isna(n_comparison):
        return "n: see table"
    return f"n = {int(n_participants):,} participants, {int(n_comparison):,} comparison"


def vega_wrapped_labels(labels: Sequence[str], width: int) -> str:
    """A Vega-Lite ``labelExpr`` (axis or legend) drawing each of ``labels`` on lines of
    about ``width`` characters (Vega draws an array as lines), never cut mid-word."""
    expr = "datum.label"
    for label in dict.fromkeys(str(x) for x in labels):
        lines = wrap_label(label, width).split("<br>")
        if len(lines) > 1:
            expr = f"datum.label === {json.dumps(label)} ? {json.dumps(lines)} : {expr}"
    return expr


def vega_hidden_rows(table: pd.DataFrame, label_col: str, field: str, y: Mapping[str, Any],
                     title: str) -> list[dict[str, Any]]:
    """A layer for the rows of ``table`` that may not be shown (a dot plot with a row per
    category, ``y`` its row encoding on ``field``): each row's status in words
    ("insufficient") at the left of the row and in its tooltip (``title``: what the row
    is), with no number. No layer when every row may be shown."""
    gaps = hidden_labels(table, [label_col])
    if gaps.empty:
        return []
    values = [{field: str(label), "status": str(status)}
              for label, status in zip(gaps[label_col], gaps["status"])]
    return [{"data": {"values": values},
             "mark": {"type": "text", "align": "left", "dx": 4, "x": 0, "color": "#555555",
                      "fontSize": 11},
             "encoding": {"y": dict(y), "text": {"field": "status"},
                          "tooltip": [{"field": field, "title": title},
                                      {"field": "status", "title": "Not shown"}]}}]


def vega_zero_line(**x: Any) -> dict[str, Any]:
    """A dotted vertical line at 0 (no difference) across the plot; ``x`` adds to its x
    encoding (an axis or scale the chart hangs on it)."""
    return {"data": {"values": [{}]},
            "mark": {"type": "rule", "strokeDash": [2, 3], "color": "#333333", "tooltip": None},
            "encoding": {"x": {"datum": 0, "type": "quantitative", **x}}}


def vega_estimates(y: Mapping[str, Any], x: Mapping[str, Any], name: str,
                   tooltip: Sequence[Mapping[str, Any]], **legend: Any) -> list[dict[str, Any]]:
    """Estimates with their 95% intervals, one row each: a rule from ``low`` to ``high``
    and a diamond at ``x``, both with ``tooltip``; ``name`` is the legend's one entry
    (``legend`` adds to it)."""
    return [
        {"mark": {"type": "rule", "strokeWidth": 2, "color": PARTICIPANTS},
         "encoding": {"y": y, "x": {"field": "low", "type": "quantitative"},
                      "x2": {"field": "high"}, "tooltip": tooltip}},
        {"mark": {"type": "point", "shape": "diamond", "filled": True, "size": 150, "opacity": 1},
         "encoding": {
             "y": y, "x": x,
             "color": {"datum": name, "title": None,
                       "scale": {"domain": [name], "range": [PARTICIPANTS]},
                       "legend": {"orient": "top", "symbolType": "diamond", "labelLimit": 330,
                                  **legend}},
             "tooltip": tooltip}},
    ]
