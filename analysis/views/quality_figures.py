"""Figures of the data's quality: responses per wave, questions left blank, Cronbach's alpha."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.views.figure_base import (
    COMPARISON,
    PARTICIPANTS,
    Chart,
    apply_layout,
    count_bars,
    download_table,
    empty_figure,
    new_figure,
    outcome_label,
    visible,
    wave_order,
)

ALPHA_CAUTION_LINE = 0.7


def responses_figure(quality: pd.DataFrame, waves: Sequence[str] | None = None, k: int | None = None,
                     takeaway: str = "", how_to_read: str = "") -> Chart:
    """Responses per wave (``wave, n_responses, status``)."""
    order = wave_order(quality, waves) if not quality.empty else list(waves or [])
    fig = count_bars(quality, "wave", "n_responses", "Responses", "n = %{y:,.0f} responses",
                     "Survey responses per wave", "Survey wave", "Responses (count)",
                     "No responses for the current selection.", k, order=order)
    alt = "Bar chart of the number of survey responses received in each wave."
    return Chart("responses", fig, alt, download_table(quality), takeaway, how_to_read)


def missing_items_figure(quality: pd.DataFrame, waves: Sequence[str] | None = None,
                         takeaway: str = "", how_to_read: str = "") -> Chart:
    """Share of items left blank per scale and wave (``wave, outcome, n_responses,
    share_items_missing``)."""
    rows = visible(quality).dropna(subset=["share_items_missing"])
    order = wave_order(quality, waves) if not quality.empty else list(waves or [])
    fig = new_figure()
    palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
    for i, (outcome, part) in enumerate(rows.groupby("outcome", sort=False)):
        fig.add_bar(x=part["wave"], y=part["share_items_missing"] * 100, name=outcome_label(outcome),
                    marker_color=palette[i % len(palette)],
                    customdata=part[["n_responses"]].to_numpy(),
                    hovertemplate=(f"{outcome_label(outcome)} · %{{x}}<br>%{{y:.1f}}% of items blank"
                                   "<br>n = %{customdata[0]:,.0f} responses<extra></extra>"))
    if not fig.data:
        empty_figure(fig, "No item-level answers to check (scores were uploaded ready-made).")
    apply_layout(fig, "Questions left blank", "Survey wave", "Items left blank (%)", barmode="group")
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=order)
    alt = "Grouped bar chart of the percentage of questions left blank per scale and wave."
    return Chart("missing_items", fig, alt, download_table(quality), takeaway, how_to_read)


def alpha_figure(reliability: pd.DataFrame, takeaway: str = "", how_to_read: str = "") -> Chart:
    """Cronbach's α with its 95 % CI per scale, with the 0.7 caution line."""
    rows = visible(reliability).dropna(subset=["alpha"])
    fig = new_figure()
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
        empty_figure(fig, "Not enough complete answers to judge consistency.")
    fig.add_vline(x=ALPHA_CAUTION_LINE, line=dict(color=COMPARISON, dash="dash"),
                  annotation_text="0.7: below this, read with caution",
                  annotation_position="top left")
    apply_layout(fig, "Do each scale's questions agree?",
                 "Cronbach's α (0 to 1; higher = more consistent)", "",
                 height=max(300, 90 + 30 * len(rows)))
    fig.update_xaxes(range=[min(0.4, float(rows["ci_low"].min()) - 0.05) if not rows.empty else 0.4, 1.0])
    alt = ("Dot plot of Cronbach's alpha with 95% intervals per scale, with a dashed line at 0.7 "
           "below which a scale's scores should be read with caution.")
    return Chart("alpha", fig, alt, download_table(reliability), takeaway, how_to_read)
