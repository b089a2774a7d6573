"""Figures of a consortium meta-analysis: forest plot and funnel plot.

Plain functions: the tables of :func:`analysis.reporting.consortium.combine` in, a
:class:`ConsortiumChart` (plotly figure, one-sentence alt text, the table behind it) out.
Organizations appear under their display labels only (their own label, or "Organization
A", ...); nothing here reads a bundle or decides a threshold.

Colours are Okabe-Ito (colour-blind safe): organizations blue, the pooled estimate
vermilion, the prediction interval orange.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from analysis.definitions.instruments import SCALES_BY_KEY

__all__ = ["ConsortiumChart", "forest_plot", "funnel_plot", "group_rows"]

ORGANIZATION = "#0072B2"
POOLED = "#D55E00"
PREDICTION = "#E69F00"
_Z = float(stats.norm.isf(0.025))
_FONT = dict(family="sans-serif", size=13)


@dataclass(frozen=True, eq=False)
class ConsortiumChart:
    """A figure with its alt text and the table it draws."""

    figure: go.Figure
    alt: str
    table: pd.DataFrame


def group_rows(studies: pd.DataFrame, pooled: pd.DataFrame, analysis: str, outcome: str,
               wave: str) -> tuple[pd.DataFrame, pd.Series | None]:
    """The organizations' rows and the pooled row of one (analysis, outcome, wave)."""
    def pick(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.loc[(frame["analysis"] == analysis) & (frame["outcome"] == outcome)
                         & (frame["wave"].astype(str) == str(wave))]
    rows = pick(studies).reset_index(drop=True)
    found = pick(pooled)
    return rows, (found.iloc[0] if len(found) else None)


def _unit(outcome: str) -> str:
    scale = SCALES_BY_KEY.get(outcome)
    return f"{scale.label} ({scale.unit})" if scale else outcome


def forest_plot(rows: pd.DataFrame, pooled: pd.Series | None, outcome: str) -> ConsortiumChart:
    """Each organization's estimate with its 95% interval (estimate ± 1.96 SE), marker
    area by its random-effects weight, then the pooled estimate with its confidence
    interval (diamond) and prediction interval (whisker).
    """
    tau2 = float(pooled["tau2"]) if pooled is not None else 0.0
    table = rows[["organization", "estimate", "std_error"]].copy()
    table["ci_low"] = table["estimate"] - _Z * table["std_error"]
    table["ci_high"] = table["estimate"] + _Z * table["std_error"]
    weights = 1 / (table["std_error"] ** 2 + tau2)
    table["weight_percent"] = 100 * weights / weights.sum()
    table = table.sort_values("estimate", kind="stable").reset_index(drop=True)
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=table["estimate"], y=table["organization"], mode="markers", name="Organization",
        marker=dict(color=ORGANIZATION, symbol="square",
                    size=8 + 16 * np.sqrt(table["weight_percent"] / 100)),
        error_x=dict(type="data", symmetric=False, array=table["ci_high"] - table["estimate"],
                     arrayminus=table["estimate"] - table["ci_low"], color=ORGANIZATION),
        customdata=table[["ci_low", "ci_high", "weight_percent"]].to_numpy(),
        hovertemplate="%{y}: %{x:.2f} (95% CI %{customdata[0]:.2f} to %{customdata[1]:.2f}); "
                      "weight %{customdata[2]:.0f}%<extra></extra>"))
    alt = f"Forest plot of {len(table)} organizations' estimates for {_unit(outcome)}."
    if pooled is not None:
        label = f"Pooled ({pooled['method']}, k = {int(pooled['k'])})"
        estimate, low, high = (float(pooled[c]) for c in ("estimate", "ci_low", "ci_high"))
        fig.add_trace(go.Scatter(
            x=[low, estimate, high, estimate, low], y=[label] * 5, mode="lines", fill="toself",
            line=dict(color=POOLED), name="Pooled estimate (95% CI)",
            hovertemplate=f"{label}: {estimate:.2f} (95% CI {low:.2f} to {high:.2f})<extra></extra>"))
        if pd.notna(pooled.get("pi_low")):
            fig.add_trace(go.Scatter(
                x=[float(pooled["pi_low"]), float(pooled["pi_high"])], y=[label, label],
                mode="lines+markers", marker=dict(symbol="line-ns-open", size=14, color=PREDICTION),
                line=dict(color=PREDICTION, dash="dot"), name="95% prediction interval",
                hovertemplate="Prediction interval %{x:.2f}<extra></extra>"))
        alt += (f" Pooled {estimate:.2f} (95% CI {low:.2f} to {high:.2f}), I² "
                f"{float(pooled['i2']):.0f}%.")
    fig.add_vline(x=0, line=dict(color="#555555", width=1))
    order = [*table["organization"]] + ([label] if pooled is not None else [])
    fig.update_yaxes(categoryorder="array", categoryarray=order[::-1], title=None)
    _layout(fig, f"Participants minus comparison, {_unit(outcome)}", max(320, 40 * len(order) + 120))
    return ConsortiumChart(fig, alt, table)


def funnel_plot(rows: pd.DataFrame, pooled: pd.Series | None, outcome: str,
                egger: pd.Series | None = None) -> ConsortiumChart:
    """Estimate against standard error (smaller studies lower), with the pooled estimate
    and its pseudo 95% limits (pooled ± 1.96 SE). Asymmetry can mean small-study effects
    (e.g. selective reporting) or true heterogeneity linked to size; Egger's test is
    shown when the caller has one (k >= 10).
    """
    table = rows[["organization", "estimate", "std_error"]].reset_index(drop=True)
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=table["estimate"], y=table["std_error"], mode="markers", name="Organization",
        marker=dict(color=ORGANIZATION, size=10), text=table["organization"],
        hovertemplate="%{text}: %{x:.2f}, SE %{y:.2f}<extra></extra>"))
    alt = f"Funnel plot of {len(table)} organizations' estimates for {_unit(outcome)}."
    if pooled is not None:
        centre = float(pooled["estimate"])
        top = float(table["std_error"].max()) * 1.1
        fig.add_trace(go.Scatter(
            x=[centre - _Z * top, centre, centre + _Z * top], y=[top, 0, top], mode="lines",
            line=dict(color="#777777", dash="dash"), name="Pseudo 95% limits", hoverinfo="skip"))
        fig.add_vline(x=centre, line=dict(color=POOLED, width=2))
    if egger is not None:
        text = (f"Egger's test: {'t' if pd.notna(egger.get('t_df')) else 'z'} = "
                f"{float(egger['statistic']):.2f}, p = {float(egger['p_value']):.3f}")
        fig.add_annotation(text=text, xref="paper", yref="paper", x=0, y=1.08, showarrow=False)
        alt += f" {text}."
    else:
        alt += " Egger's test needs at least 10 organizations."
    fig.update_yaxes(autorange="reversed", title="Standard error")
    _layout(fig, f"Participants minus comparison, {_unit(outcome)}", 420)
    return ConsortiumChart(fig, alt, table)


def _layout(fig: go.Figure, x_title: str, height: int) -> None:
    fig.update_layout(template="plotly_white", font=_FONT, height=height, xaxis_title=x_title,
                      legend=dict(orientation="h", y=-0.25), margin=dict(l=10, r=10, t=40, b=10))
