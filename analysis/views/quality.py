"""The Data quality page model: responses per wave, missing items, consistency per scale."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from analysis.views.figure_base import (
    Chart,
    outcome_label,
    visible,
)
from analysis.views.help import HOW_TO_READ
from analysis.views.quality_figures import (
    ALPHA_CAUTION_LINE,
    alpha_figure,
    missing_items_figure,
    responses_figure,
)
from analysis.views.report_tables import (
    report_table,
)


def quality_charts(tables: Any, waves: Sequence[str] | None, k: int) -> list[Chart]:
    """The Data quality page's charts: responses per wave, missing items, α per scale."""
    quality = report_table(tables, "quality")
    if "outcome" in quality.columns and not quality.empty:
        per_wave = (quality.sort_values("n_responses", ascending=False)
                    .drop_duplicates("wave")[[c for c in ("wave", "wave_index", "n_responses",
                                                          "suppressed", "status")
                                              if c in quality.columns]])
    else:
        per_wave = quality
    reliability = report_table(tables, "reliability")
    if "scale" in reliability.columns and "outcome" not in reliability.columns:
        reliability = reliability.rename(columns={"scale": "outcome"})
    return [
        responses_figure(per_wave, waves, k, takeaway=responses_takeaway(per_wave),
                         how_to_read=HOW_TO_READ["responses"]),
        missing_items_figure(quality, waves, takeaway=missing_takeaway(quality),
                             how_to_read=HOW_TO_READ["missing_items"]),
        alpha_figure(reliability, takeaway=alpha_takeaway(reliability),
                     how_to_read=HOW_TO_READ["alpha"]),
    ]


def responses_takeaway(per_wave: pd.DataFrame) -> str:
    """Responses over the waves shown, lowest and highest per wave."""
    rows = visible(per_wave).dropna(subset=["n_responses"]) if not per_wave.empty else per_wave
    if rows.empty:
        return "No survey responses to show for this selection."
    return (f"{int(rows['n_responses'].sum()):,} responses over {len(rows)} waves, between "
            f"{int(rows['n_responses'].min()):,} and {int(rows['n_responses'].max()):,} per wave.")


def missing_takeaway(quality: pd.DataFrame) -> str:
    """The largest share of questions left blank, with its scale and wave."""
    rows = visible(quality).dropna(subset=["share_items_missing"]) if not quality.empty else quality
    if rows.empty:
        return "No item-level answers to check."
    worst = rows.loc[rows["share_items_missing"].idxmax()]
    return (f"At most {worst['share_items_missing'] * 100:.1f}% of questions were left blank "
            f"({outcome_label(worst['outcome'])}, {worst['wave']}).")


def alpha_takeaway(reliability: pd.DataFrame) -> str:
    """Whether every scale's α reaches 0.7, else which scales to read with caution."""
    rows = visible(reliability).dropna(subset=["alpha"]) if not reliability.empty else reliability
    if rows.empty:
        return "Not enough complete answers to judge the scales' consistency."
    low = rows.loc[rows["alpha"] < ALPHA_CAUTION_LINE]
    if low.empty:
        return f"All {len(rows)} scale measurements shown are consistent (α at least 0.7)."
    names = ", ".join(sorted({outcome_label(o) for o in low["outcome"]}))
    return f"Read with caution: α is below 0.7 for {names}."
