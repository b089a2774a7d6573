"""The Practices page model: each practice's average against the organization's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.privacy.suppression import (
    INSUFFICIENT,
    NO_DATA,
    OK,
)
from analysis.views.figure_base import (
    Chart,
    row_status,
    visible,
)
from analysis.views.help import HOW_TO_READ
from analysis.views.practices_figures import practices_heatmap
from analysis.views.report_tables import (
    latest_wave_of,
)


def practices_matrix(tables: Any, outcomes: Sequence[str] | None = None,
                     waves: Sequence[str] | None = None) -> pd.DataFrame:
    """Sites × outcomes at the latest wave: each site's average relative to the organization.

    Returns
    -------
    DataFrame
        ``site, outcome, wave, n, mean, org_mean, difference, better, status`` where
        ``difference`` is site minus organization (outcome points) and ``better`` the same
        signed so that positive is better for staff. ``status`` is ``ok``,
        ``insufficient`` (too few people: no number) or ``no data`` (nobody).
    """
    d = tables.descriptives
    rows = d.loc[d["group"] == "all"]
    if outcomes is not None:
        rows = rows.loc[rows["outcome"].isin(list(outcomes))]
    columns = ["site", "outcome", "wave", "n", "mean", "org_mean", "difference", "better", "status"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    sites = sorted(s for s in rows["site"].unique() if s != "all")
    out = []
    for outcome in dict.fromkeys(rows["outcome"]):
        wave = latest_wave_of(d, outcome, waves)
        part = rows.loc[(rows["outcome"] == outcome) & (rows["wave"] == wave)]
        org = visible(part.loc[part["site"] == "all"])
        org_mean = float(org["mean"].iloc[0]) if not org.empty and pd.notna(org["mean"].iloc[0]) else None
        sign = -1.0 if SCALES_BY_KEY.get(outcome) is None or SCALES_BY_KEY[outcome].higher_is_worse else 1.0
        status_of = row_status(part)
        by_site = part.assign(_status=status_of).set_index("site")
        for site in sites:
            if site not in by_site.index:
                out.append((site, outcome, wave, pd.NA, np.nan, org_mean, np.nan, np.nan, NO_DATA))
                continue
            row = by_site.loc[site]
            if isinstance(row, pd.DataFrame):
                row = row.iloc[0]
            status = row["_status"]
            if status == OK and org_mean is not None and pd.notna(row["mean"]):
                diff = float(row["mean"]) - org_mean
                out.append((site, outcome, wave, int(row["n"]), float(row["mean"]), org_mean,
                            diff, sign * diff, OK))
            else:
                out.append((site, outcome, wave, pd.NA, np.nan, org_mean, np.nan, np.nan,
                            status if status != OK else NO_DATA))
    table = pd.DataFrame(out, columns=columns)
    table["n"] = table["n"].astype("Int64")
    return table


def practices_chart(matrix: pd.DataFrame, k: int) -> Chart:
    """The heatmap with its takeaway."""
    return practices_heatmap(matrix, k, takeaway=practices_takeaway(matrix),
                             how_to_read=HOW_TO_READ["practices"])


def practices_takeaway(matrix: pd.DataFrame) -> str:
    """Which practice does best and which least well, and how many are too small to show."""
    rows = visible(matrix).dropna(subset=["better"])
    hidden = matrix.loc[row_status(matrix) == INSUFFICIENT, "site"].nunique() if not matrix.empty else 0
    if rows.empty:
        return "Not enough people per practice to compare practices."
    per_site = rows.groupby("site")["better"].mean().sort_values()
    text = (f"Compared with the organization, {per_site.index[-1]} does best and "
            f"{per_site.index[0]} least well across the outcomes shown")
    if hidden:
        text += f"; {hidden} practice(s) are too small to show"
    return text + "."
