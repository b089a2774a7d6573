"""The leadership report: one self-contained HTML file that works offline.

Built from the report's disclosure-checked tables only (never row-level data):
headline, overview (means per wave), impact (forest plot of every analysis),
sentences and caveats, notes and a methods summary, rendered by a Jinja2 template
with autoescaping.

Charts: a Vega-Lite chart (:class:`~analysis.views.figure_base.VegaLite`, what the
dashboards draw) is drawn here, at build time, into static SVG by ``vl-convert``
(:mod:`analysis.reporting.report_svg`): the page needs no script for it, prints as
vectors and looks the same in viewers that block scripts (mail and document
previews). A plotly figure (custom figures, the fallback figures below) is embedded
with plotly.js inline once; every later plotly figure reuses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from jinja2 import Environment, FileSystemLoader, select_autoescape

from analysis.definitions.analyses import ANALYSES
from analysis.definitions.analyses import analysis as registered_analysis
from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.reporting.report import ReportTables
from analysis.reporting.report_svg import vega_lite_svg
from analysis.views.figure_base import VegaLite

__all__ = ["build_html_report", "default_figures"]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:960px;margin:2rem auto;
padding:0 1rem;color:#1f2933;line-height:1.5}
h1{font-size:1.7rem} h2{margin-top:2.2rem;border-bottom:1px solid #d9e2ec;padding-bottom:.3rem}
.headline{background:#f0f4f8;border-left:4px solid #2f6f9f;padding:1rem 1.2rem;margin:1rem 0}
.note{color:#52606d;font-size:.95rem} table{border-collapse:collapse;font-size:.9rem}
td,th{border-bottom:1px solid #e4e7eb;padding:.3rem .6rem;text-align:left}
figure{margin:1.5rem 0} figure svg{display:block;max-width:100%;height:auto}
@media print{body{max-width:none;margin:0} h2{break-after:avoid} figure{break-inside:avoid}
figure svg{width:auto;max-height:24cm}}
"""


def _short_label(name: str) -> str:
    record = registered_analysis(name)
    return record.short_label if record else str(name)


Figure: TypeAlias = go.Figure | VegaLite


def default_figures(tables: ReportTables) -> list[tuple[str, Figure]]:
    """Overview and impact figures from the tables (figures.py when present)."""
    headline = tables.headline
    outcome = headline.outcome if headline else (
        str(tables.descriptives["outcome"].iloc[0]) if len(tables.descriptives) else None)
    wave = headline.wave if headline else None
    k = tables.settings.min_group_size
    figures: list[tuple[str, Figure]] = []
    try:
        # the dashboards' figure functions
        from analysis.views.impact_figures import forest_figure  # noqa: PLC0415
        from analysis.views.trend_figures import trend_figure  # noqa: PLC0415
        if outcome is not None:
            chart = trend_figure(tables.descriptives, outcome, k=k)
            figures.append((chart.alt or "Mean score per wave", chart.figure))
        if wave is not None:
            outcomes = list(dict.fromkeys(tables.estimates["outcome"]))
            chart = forest_figure(tables.estimates, outcomes, wave, k=k)
            figures.append((chart.alt or "Estimates by method", chart.figure))
        return figures
    except Exception:  # fall back to the minimal figures below
        figures = []
    if outcome is not None:
        figures.append((f"Mean {SCALES_BY_KEY[outcome].label.lower()} per wave",
                        _trend(tables.descriptives, outcome)))
    if wave is not None:
        figures.append((f"Participants minus comparison at {wave}", _forest(tables.estimates, wave)))
    return figures


def _trend(descriptives: pd.DataFrame, outcome: str) -> go.Figure:
    rows = descriptives.loc[(descriptives["outcome"] == outcome) & (descriptives["site"] == "all")
                            & ~descriptives["suppressed"].astype(bool)]
    fig = go.Figure()
    for group in ("participants", "comparison"):
        part = rows.loc[rows["group"] == group]
        fig.add_trace(go.Scatter(
            x=part["wave"].astype(str), y=part["mean"].astype(float), name=group, mode="lines+markers",
            error_y={"type": "data", "symmetric": False,
                     "array": (part["ci_high"] - part["mean"]).astype(float),
                     "arrayminus": (part["mean"] - part["ci_low"]).astype(float)}))
    fig.update_layout(title=f"{SCALES_BY_KEY[outcome].label}: mean per wave (95% CI)",
                      xaxis_title="wave", yaxis_title=SCALES_BY_KEY[outcome].unit, height=380)
    return fig


def _forest(estimates: pd.DataFrame, wave: str) -> go.Figure:
    rows = estimates.loc[(estimates["wave"].astype(str) == str(wave))
                         & ~estimates["suppressed"].astype(bool) & estimates["estimate"].notna()
                         & (estimates["analysis"] != "high_burnout_rd")]
    labels = [f"{SCALES_BY_KEY[o].label} · {_short_label(a)}"
              for o, a in zip(rows["outcome"], rows["analysis"])]
    fig = go.Figure(go.Scatter(
        x=rows["estimate"].astype(float), y=labels, mode="markers",
        error_x={"type": "data", "symmetric": False,
                 "array": (rows["ci_high"] - rows["estimate"]).astype(float),
                 "arrayminus": (rows["estimate"] - rows["ci_low"]).astype(float)}))
    fig.add_vline(x=0, line_dash="dot")
    fig.update_layout(title=f"Participants minus comparison at {wave} (95% CI)",
                      xaxis_title="difference (outcome units)", height=max(300, 22 * len(labels) + 120))
    return fig


_ENVIRONMENT = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                           autoescape=select_autoescape(["html", "j2"], default_for_string=True,
                                                        default=True),
                           keep_trailing_newline=False)


def _results(tables: ReportTables) -> dict[str, Any] | None:
    """Every analysis's sentence and caveat at the headline's wave (else the last wave)."""
    est = tables.estimates
    if est.empty:
        return None
    h = tables.headline
    wave = h.wave if h else str(est["wave"].iloc[-1])
    rows = est.loc[est["wave"].astype(str) == wave]
    return {"wave": wave,
            "rows": [{"label": _short_label(row.analysis), "sentence": row.sentence, "caveat": row.caveat}
                     for row in rows.itertuples(index=False)]}


def build_html_report(tables: ReportTables,
                      figures: Sequence[Any] | None = None, synthetic: bool = False) -> str:
    """The leadership report as one HTML string (self-contained, offline).

    Rendered from ``templates/leadership.html.j2`` with autoescaping: every text from
    the tables is escaped; only the figures are inserted as markup (Vega-Lite as SVG,
    whose texts vl-convert escapes; plotly as its own HTML).

    Parameters
    ----------
    tables : ReportTables
        From :func:`analysis.reporting.report.build_report` (already disclosure-checked).
    figures : sequence, optional
        plotly Figures, :class:`analysis.views.figure_base.Chart` objects (plotly or
        Vega-Lite) or ``(title, figure)`` pairs; default :func:`default_figures`.
    synthetic : bool
        True when the data is the app's synthetic sample: the report says so at the top.
    """
    chosen = default_figures(tables) if figures is None else [_as_pair(f) for f in figures]
    blocks, plotly_included = [], False
    for title, fig in chosen:
        if isinstance(fig, VegaLite):
            html = vega_lite_svg(fig)
        else:  # plotly.js goes in with the first plotly figure only
            html = pio.to_html(fig, full_html=False, include_plotlyjs=not plotly_included,
                               config={"displaylogo": False})
            plotly_included = True
        blocks.append({"title": title, "html": html})
    template = _ENVIRONMENT.get_template("leadership.html.j2")
    return template.render(style=_STYLE, synthetic=synthetic, headline=tables.headline, figures=blocks,
                           results=_results(tables), notes=list(tables.notes), analyses=ANALYSES,
                           min_sessions=tables.settings.min_sessions,
                           min_group_size=tables.settings.min_group_size)


def _as_pair(item: Any) -> tuple[str, Figure]:
    if isinstance(item, tuple):
        return str(item[0]), item[1]
    if isinstance(item, go.Figure):
        return str(item.layout.title.text or ""), item
    if isinstance(item, VegaLite):
        title = item.spec.get("title", "")
        return str(title.get("text", "") if isinstance(title, dict) else title), item
    return str(getattr(item, "alt", "") or ""), item.figure
