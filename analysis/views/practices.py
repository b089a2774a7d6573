"""The Practices page model: each practice's average against the organization's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.definitions.plain_text import markdown_escape
from analysis.privacy.suppression import (
    INSUFFICIENT,
    NO_DATA,
    OK,
)
from analysis.reporting.group_tables import overall_site
from analysis.views.figure_base import (
    Chart,
    outcome_label,
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
        ``site, outcome, wave, n, mean, org_mean, difference, better, status,
        difference_low, difference_high, clear`` where ``difference`` is site minus
        organization (outcome points), ``better`` the same signed so that positive is better
        for staff, ``difference_low``/``difference_high`` the practice average's 95% interval
        less the organization's average (the organization, which includes the practice, is
        taken as fixed), and ``clear`` whether that interval leaves out 0. ``status`` is
        ``ok``, ``insufficient`` (too few people: no number) or ``no data`` (nobody).
    """
    d = tables.descriptives
    rows = d.loc[d["group"] == "all"]
    if outcomes is not None:
        rows = rows.loc[rows["outcome"].isin(list(outcomes))]
    columns = ["site", "outcome", "wave", "n", "mean", "org_mean", "difference", "better", "status",
               "difference_low", "difference_high", "clear"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    overall = overall_site(d)  # the organization, or the selection when filtered
    sites = sorted(s for s in rows["site"].unique() if s not in ("all", "selection"))
    out = []
    for outcome in dict.fromkeys(rows["outcome"]):
        wave = latest_wave_of(d, outcome, waves)
        part = rows.loc[(rows["outcome"] == outcome) & (rows["wave"] == wave)]
        org = visible(part.loc[part["site"] == overall])
        org_mean = float(org["mean"].iloc[0]) if not org.empty and pd.notna(org["mean"].iloc[0]) else None
        sign = -1.0 if SCALES_BY_KEY.get(outcome) is None or SCALES_BY_KEY[outcome].higher_is_worse else 1.0
        status_of = row_status(part)
        by_site = part.assign(_status=status_of).set_index("site")
        for site in sites:
            if site not in by_site.index:
                out.append((site, outcome, wave, pd.NA, np.nan, org_mean, np.nan, np.nan, NO_DATA,
                            np.nan, np.nan, False))
                continue
            row = by_site.loc[site]
            if isinstance(row, pd.DataFrame):
                row = row.iloc[0]
            status = row["_status"]
            if status == OK and org_mean is not None and pd.notna(row["mean"]):
                diff = float(row["mean"]) - org_mean
                low, high = row.get("ci_low"), row.get("ci_high")
                low = float(low) - org_mean if pd.notna(low) else np.nan
                high = float(high) - org_mean if pd.notna(high) else np.nan
                out.append((site, outcome, wave, int(row["n"]), float(row["mean"]), org_mean,
                            diff, sign * diff, OK, low, high, bool(low > 0 or high < 0)))
            else:
                out.append((site, outcome, wave, pd.NA, np.nan, org_mean, np.nan, np.nan,
                            status if status != OK else NO_DATA, np.nan, np.nan, False))
    table = pd.DataFrame(out, columns=columns)
    table["n"] = table["n"].astype("Int64")
    return table


#: What the heatmap adds to the shared help text: intervals, and why there is no ranking.
INTERVAL_NOTE = (
    " A number in brackets (white cell) is within what chance alone would give: the 95% "
    "interval of the practice's average, less the organization's, includes 0. Practices "
    "are not ranked: with groups this size, an order of practices would mostly be noise.")


def practices_chart(matrix: pd.DataFrame, k: int) -> Chart:
    """The heatmap with its takeaway."""
    return practices_heatmap(matrix, k, takeaway=practices_takeaway(matrix),
                             how_to_read=HOW_TO_READ["practices"] + INTERVAL_NOTE)


def practices_lines(matrix: pd.DataFrame) -> tuple[str, ...]:
    """The heatmap as a list of markdown lines, one per practice (for narrow screens);
    empty when there is nothing to compare (fewer than two practices)."""
    if matrix.empty or matrix["site"].nunique() < 2:
        return ()
    table = practices_list(matrix)
    lines = []
    for site, part in table.groupby("Practice", sort=True):
        cells = [f"{row['Outcome']}: " + (f"{row['Difference']} ({row['95% interval']}), "
                                          if row["Difference"] else "")
                 + str(row["Compared with the organization"]) for _, row in part.iterrows()]
        # practice names come from uploads: escaped, so only the list and the bold are markdown
        lines.append(f"- **{markdown_escape(site)}**: " + markdown_escape("; ".join(cells)))
    return tuple(lines)


def practices_takeaway(matrix: pd.DataFrame) -> str:
    """Which practices differ from the organization beyond chance, and how many are too
    small to show. Never a ranking: with intervals this wide, an order of practices is
    mostly noise."""
    if matrix.empty:
        return "No practices to compare for the current selection."
    sites = list(dict.fromkeys(matrix["site"]))
    if len(sites) == 1:
        return (f"Your view covers one practice ({sites[0]}): comparing practices needs at "
                "least two.")
    rows = visible(matrix).dropna(subset=["better"])
    hidden = matrix.loc[row_status(matrix) == INSUFFICIENT, "site"].nunique()
    if rows.empty:
        return "Not enough people per practice to compare practices."
    clear = rows.loc[rows["clear"].astype(bool)]
    if clear.empty:
        text = ("No practice differs from the organization beyond chance on the outcomes shown: "
                "the differences are within what chance alone would give")
    else:
        parts = [f"{site} {_direction(part['better'])} on {len(part)} outcome(s)"
                 for site, part in clear.groupby("site", sort=True)]
        text = ("Beyond chance, compared with the organization: " + "; ".join(parts)
                + ". Every other practice cannot be told apart from the organization")
    if hidden:
        text += f"; {hidden} practice(s) are too small to show"
    return text + "."


def _direction(better: pd.Series) -> str:
    return "better" if (better > 0).all() else "worse" if (better < 0).all() else "mixed"


def practices_list(matrix: pd.DataFrame) -> pd.DataFrame:
    """The heatmap as a list (for narrow screens and screen readers): one row per practice
    and outcome, the difference with its interval and what it means, in words."""
    rows = []
    for _, row in matrix.iterrows():
        if row["status"] != OK or pd.isna(row["difference"]):
            meaning, difference, interval = str(row["status"]), "", ""
        else:
            difference = f"{row['difference']:+.1f}"
            interval = (f"{row['difference_low']:+.1f} to {row['difference_high']:+.1f}"
                        if pd.notna(row["difference_low"]) else "")
            meaning = (("better" if row["better"] > 0 else "worse") if row["clear"]
                       else "about the same")
        rows.append({"Practice": row["site"], "Outcome": outcome_label(str(row["outcome"])),
                     "Difference": difference, "95% interval": interval,
                     "Compared with the organization": meaning})
    return pd.DataFrame(rows)
