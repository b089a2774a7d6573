"""The practices heatmap: each practice against the organization, per outcome."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.privacy.suppression import INSUFFICIENT, NO_DATA, OK
from analysis.views.figure_base import (
    INSUFFICIENT_GREY,
    Chart,
    apply_layout,
    download_table,
    empty_figure,
    new_figure,
    outcome_label,
    outcome_unit,
    row_status,
)


def practices_heatmap(matrix: pd.DataFrame, k: int | None = None, takeaway: str = "",
                      how_to_read: str = "") -> Chart:
    """Sites × outcomes: each site's average relative to the organization.

    ``matrix`` has ``site, outcome, n, mean, org_mean, difference, better, status``
    where ``better`` is the difference signed so that positive is better for staff
    (lower burnout, higher resilience). Insufficient cells are grey with the word
    "insufficient"; no-data cells are blank with "no data".
    """
    fig = new_figure()
    if matrix.empty:
        empty_figure(fig, "No practices to compare for the current selection.")
        return Chart("practices", fig, "No practices to compare.", matrix, takeaway, how_to_read)
    sites = sorted(matrix["site"].unique())
    outcomes = list(dict.fromkeys(matrix["outcome"]))
    columns = [outcome_label(o) for o in outcomes]
    status = row_status(matrix)
    grid = matrix.assign(_status=status, _col=matrix["outcome"].map(outcome_label))
    shown = grid.loc[grid["_status"] == OK]
    def grid_of(values: str) -> pd.DataFrame:
        return shown.pivot(index="site", columns="_col", values=values).reindex(index=sites, columns=columns)

    # Colour only what differs beyond chance; a difference within chance stays white and
    # its number is bracketed, so the grid never suggests a ranking the data cannot carry.
    clear = grid_of("clear").fillna(False).astype(bool) if "clear" in shown.columns else None
    z = grid_of("better")
    if clear is not None:
        z = z.where(clear | z.isna(), 0.0)
    diff, n = grid_of("difference"), grid_of("n")
    low = grid_of("difference_low") if "difference_low" in shown.columns else diff * np.nan
    high = grid_of("difference_high") if "difference_high" in shown.columns else diff * np.nan
    text = pd.DataFrame([[("" if pd.isna(diff.loc[s, c]) else
                           f"{diff.loc[s, c]:+.1f}" if clear is None or clear.loc[s, c]
                           else f"({diff.loc[s, c]:+.1f})") for c in columns] for s in sites],
                        index=sites, columns=columns)
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
        words = mask.map(lambda v, word=word: word if v == 1.0 else "")
        fig.add_heatmap(z=mask.to_numpy(), x=columns, y=sites, text=words.to_numpy(),
                        texttemplate="%{text}", textfont=dict(color="#444444"),
                        colorscale=[[0, fill], [1, fill]], showscale=False, xgap=2, ygap=2,
                        name=word, hoverinfo="skip")
    # Heatmaps cannot be selected in plotly: an invisible marker on every cell takes the
    # click (Streamlit's on_select) and carries the hover text, numbers only where shown.
    units = {outcome_label(o): outcome_unit(o) for o in outcomes}
    xs, ys, hovers = _hover_texts(grid, sites, columns, units, k,
                                  {"diff": diff, "n": n, "low": low, "high": high})
    fig.add_scatter(x=xs, y=ys, mode="markers", name="practice", showlegend=False,
                    marker=dict(symbol="square", size=30, color="rgba(0,0,0,0)"),
                    hovertext=hovers, hovertemplate="%{hovertext}<extra></extra>")
    apply_layout(fig, "Practices vs the organization",
                 "", "", height=max(320, 130 + 38 * len(sites)),
                 margin=dict(l=10, r=150, t=50, b=40))  # room for the colour bar left of the toolbar
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    alt = ("Grid of practices (rows) by outcomes (columns); each cell shows how far the "
           "practice's average is from the organization's, blue for better and red for worse "
           "beyond chance, white with the number in brackets where chance could explain it; "
           "grey cells marked insufficient have too few people and blank cells have no data.")
    return Chart("practices", fig, alt, download_table(matrix), takeaway, how_to_read)


def _hover_texts(grid: pd.DataFrame, sites: list, columns: list[str], units: dict[str, str],
                 k: int | None, cells: dict[str, pd.DataFrame]) -> tuple[list, list, list[str]]:
    """x, y and hover text of every cell (numbers only where shown); ``cells`` holds the
    site × column grids ``diff``, ``n``, ``low`` and ``high``."""
    diff, n, low, high = cells["diff"], cells["n"], cells["low"], cells["high"]
    who = f"fewer than {k} people: not shown" if k else "too few people: not shown"
    xs, ys, hovers = [], [], []
    for site in sites:
        for col in columns:
            xs.append(col)
            ys.append(site)
            value, count = diff.loc[site, col], n.loc[site, col]
            if pd.notna(value):
                span = (f" (95% interval {low.loc[site, col]:+.1f} to {high.loc[site, col]:+.1f})"
                        if pd.notna(low.loc[site, col]) else "")
                hovers.append(f"{site}<br>{col}: {value:+.1f} {units[col]} vs the organization{span}"
                              f"<br>n = {int(count):,} people<br>click to focus on this practice")
            else:
                state = grid.loc[(grid["site"] == site) & (grid["_col"] == col), "_status"]
                hovers.append(f"{site}<br>{col}: " + (who if len(state) and state.iloc[0] == INSUFFICIENT
                                                      else "nobody answered this"))
    return xs, ys, hovers
