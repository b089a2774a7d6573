"""The two aggregates the report does not carry, each suppressed below the anonymity
threshold: score quantiles for box plots and sessions per calendar month."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.privacy.suppression import (
    INSUFFICIENT,
    OK,
    suppress_breakdown,
)
from analysis.reporting.group_tables import overall_site
from analysis.views.figure_base import (
    row_status,
)

#: Fewest people for quartiles: below this a quartile is too close to one person's score.
QUANTILE_MIN_N = 10


#: Fewest people for 5th/95th-percentile whiskers (below, whiskers stop at the box).
TAIL_MIN_N = 20


def score_quantiles(panel: pd.DataFrame, outcome: str, k: int) -> pd.DataFrame:
    """Quartiles and 5th/95th percentiles of an outcome per wave and group.

    Groups below ``max(k, QUANTILE_MIN_N)`` people are suppressed (with complementary
    suppression against the ``all`` row of the same wave); whiskers need ``TAIL_MIN_N``
    people, below that they are blank and the box stands alone.

    Returns
    -------
    DataFrame
        ``wave, wave_index, group, n, p05, q1, median, q3, p95, suppressed, status``.
    """
    columns = ["wave", "wave_index", "group", "n", "p05", "q1", "median", "q3", "p95"]
    if panel.empty or outcome not in panel.columns:
        return pd.DataFrame(columns=columns + ["suppressed", "status"])
    frame = panel[["wave", "wave_index", "participant", outcome]].dropna(subset=[outcome])
    frame = frame.assign(group=np.where(frame["participant"].astype(bool), "participants",
                                        "comparison"))
    both = pd.concat([frame, frame.assign(group="all")], ignore_index=True)
    grouped = both.groupby(["wave", "wave_index", "group"], sort=True)[outcome]
    table = grouped.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
    table.columns = ["p05", "q1", "median", "q3", "p95"]
    table = table.join(grouped.size().rename("n")).reset_index()
    threshold = max(int(k), QUANTILE_MIN_N)
    table = suppress_breakdown(table, "n", ["p05", "q1", "median", "q3", "p95"], ["wave"],
                               threshold, category_col="group", total_value="all")
    small_tails = table["n"].astype("Float64").fillna(0) < TAIL_MIN_N
    table["p05"] = table["p05"].mask(small_tails)
    table["p95"] = table["p95"].mask(small_tails)
    return table.sort_values(["wave_index", "group"]).reset_index(drop=True)


def follow_descriptives(quantiles: pd.DataFrame, descriptives: pd.DataFrame,
                        outcome: str) -> pd.DataFrame:
    """Hide every quantile group whose organization-wide descriptives cell is hidden.

    The report hides some cells only to protect others (complementary suppression,
    across outcomes too); a box plot showing that cell's ``n`` would undo it.
    """
    if quantiles.empty:
        return quantiles
    cells = descriptives.loc[(descriptives["outcome"] == outcome)
                             & (descriptives["site"] == overall_site(descriptives))]
    hidden = cells.loc[row_status(cells) != OK, ["wave", "group"]]
    mask = pd.MultiIndex.from_frame(quantiles[["wave", "group"]].astype(str)).isin(
        pd.MultiIndex.from_frame(hidden.astype(str)))
    if not mask.any():
        return quantiles
    out = quantiles.copy()
    for column in ("n", "p05", "q1", "median", "q3", "p95"):
        out[column] = out[column].astype("Float64").mask(mask)
    out["suppressed"] = out["suppressed"].astype(bool) | mask
    out["status"] = np.where(mask, INSUFFICIENT, out["status"])
    return out
