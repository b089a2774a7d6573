"""The leadership report: one self-contained HTML file that works offline.

Built from the report's disclosure-checked tables only (never row-level data):
headline, overview (means per wave), impact (forest plot of every analysis),
sentences and caveats, notes and a methods summary. plotly.js is embedded inline
once; every later figure reuses it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.reporting.report import ReportTables

__all__ = ["build_html_report", "default_figures"]

_METHOD_NAMES = {"unadjusted": "Unadjusted", "did": "Difference-in-differences", "ancova": "ANCOVA",
                 "ipw": "Weighted (IPW)", "high_burnout_rd": "Share above cut-off (pp)",
                 "dose_response": "Per session"}
_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:960px;margin:2rem auto;
padding:0 1rem;color:#1f2933;line-height:1.5}
h1{font-size:1.7rem} h2{margin-top:2.2rem;border-bottom:1px solid #d9e2ec;padding-bottom:.3rem}
.headline{background:#f0f4f8;border-left:4px solid #2f6f9f;padding:1rem 1.2rem;margin:1rem 0}
.note{color:#52606d;font-size:.95rem} table{border-collapse:collapse;font-size:.9rem}
td,th{border-bottom:1px solid #e4e7eb;padding:.3rem .6rem;text-align:left}
"""


def _esc(text: Any) -> str:
    return html.escape("" if text is None else str(text))


def default_figures(tables: ReportTables) -> list[tuple[str, go.Figure]]:
    """Overview and impact figures from the tables (figures.py when present)."""
    headline = tables.headline
    outcome = headline.outcome if headline else (
        str(tables.descriptives["outcome"].iloc[0]) if len(tables.descriptives) else None)
    wave = headline.wave if headline else None
    k = tables.settings.min_group_size
    figures: list[tuple[str, go.Figure]] = []
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
    except Exception:  # noqa: BLE001 - fall back to the minimal figures below
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
    labels = [f"{SCALES_BY_KEY[o].label} · {_METHOD_NAMES.get(a, a)}"
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


def _headline_html(tables: ReportTables) -> str:
    h = tables.headline
    if h is None:
        return "<p>There is not enough data for a headline result yet.</p>"
    parts = [f"<div class='headline'><strong>{_esc(h.outcome_label)}, {_esc(h.wave)}</strong>"
             f"<p>{_esc(h.sentence)}</p><p class='note'>{_esc(h.why_this_analysis)}</p>"]
    if h.ancova_estimate is not None:
        parts.append(f"<p class='note'>ANCOVA beside it: {h.ancova_estimate:+.1f} {_esc(h.unit)} "
                     f"(95% CI {h.ancova_ci_low:+.1f} to {h.ancova_ci_high:+.1f}).</p>")
    if h.lords_paradox:
        parts.append(f"<p class='note'>{_esc(h.lords_paradox)}</p>")
    parts.append("</div>")
    return "".join(parts)


def _sentences_html(tables: ReportTables) -> str:
    est = tables.estimates
    if est.empty:
        return "<p>No estimates.</p>"
    h = tables.headline
    wave = h.wave if h else str(est["wave"].iloc[-1])
    rows = est.loc[est["wave"].astype(str) == wave]
    items = []
    for row in rows.itertuples(index=False):
        caveat = f" <span class='note'>{_esc(row.caveat)}</span>" if row.caveat else ""
        items.append(f"<li><em>{_esc(_METHOD_NAMES.get(row.analysis, row.analysis))}</em>: "
                     f"{_esc(row.sentence)}{caveat}</li>")
    return f"<p>All results at {_esc(wave)}:</p><ul>{''.join(items)}</ul>"


def _methods_html(tables: ReportTables) -> str:
    from analysis.reporting.export import ANALYSIS_NOTES  # noqa: PLC0415

    k = tables.settings.min_group_size
    items = "".join(f"<li><strong>{_esc(_METHOD_NAMES.get(a, a))}</strong>: {_esc(t)}</li>"
                    for a, t in ANALYSIS_NOTES.items())
    return (f"<p>A participant attended at least {tables.settings.min_sessions} session(s) by the "
            f"wave's survey date; the comparison group attended none. Estimates are participants "
            f"minus comparison with 95% confidence intervals.</p><ul>{items}</ul>"
            f"<p class='note'>No group of fewer than {k} people is shown; cells that would let a "
            f"hidden one be worked out are hidden too.</p>")


def build_html_report(tables: ReportTables,
                      figures: Sequence[Any] | None = None) -> str:
    """The leadership report as one HTML string (self-contained, offline).

    Parameters
    ----------
    tables : ReportTables
        From :func:`analysis.reporting.report.build_report` (already disclosure-checked).
    figures : sequence, optional
        plotly Figures, :class:`analysis.views.figure_base.Chart` objects or ``(title, Figure)``
        pairs; default :func:`default_figures`.
    """
    chosen = default_figures(tables) if figures is None else [_as_pair(f) for f in figures]
    blocks = []
    for index, (title, fig) in enumerate(chosen):
        blocks.append(f"<figure><figcaption class='note'>{_esc(title)}</figcaption>"
                      + pio.to_html(fig, full_html=False, include_plotlyjs=(index == 0),
                                    config={"displaylogo": False}) + "</figure>")
    notes = "".join(f"<li>{_esc(n)}</li>" for n in tables.notes)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Peer Program Impact: leadership report</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>Peer Program Impact: leadership report</h1>"
        "<p class='note'>Does the peer-support program lower burnout? Aggregated, anonymised "
        "results from the organisation's own survey and attendance data.</p>"
        "<h2>Headline</h2>" + _headline_html(tables)
        + "<h2>Overview and impact</h2>" + "".join(blocks)
        + "<h2>What each analysis says</h2>" + _sentences_html(tables)
        + (f"<h2>Caveats</h2><ul>{notes}</ul>" if notes else "")
        + "<h2>Methods</h2>" + _methods_html(tables)
        + "</body></html>"
    )


def _as_pair(item: Any) -> tuple[str, go.Figure]:
    if isinstance(item, tuple):
        return str(item[0]), item[1]
    if isinstance(item, go.Figure):
        return str(item.layout.title.text or ""), item
    return str(getattr(item, "alt", "") or ""), item.figure
