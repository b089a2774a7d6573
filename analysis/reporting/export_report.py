"""The leadership report as it leaves through the export page: under the export's rules.

Inside the app the leadership report is built at the dashboards' ``k``; a copy that
leaves (the export page's download) is built at the export's threshold, its tables
pass the export's checks (minimum cell, dominance), counts are rounded and every
interval, p-value and rate is derived from the rounded counts
(:mod:`analysis.privacy.rounded_statistics`). Sentences are written again from the
released numbers, so no exact value from the unreleased tables reaches the page.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from analysis.access.scope import Scope
from analysis.access.settings import Settings
from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.privacy.export_tables import check_table
from analysis.reporting.export import descriptive_contributions, export_settings
from analysis.reporting.html_report import build_html_report
from analysis.reporting.report import (
    DESCRIPTIVE_COLUMNS,
    ESTIMATE_COLUMNS,
    Headline,
    ReportTables,
    build_report,
    ordered,
)
from analysis.storage.store import Store

__all__ = ["leadership_report_for_export", "released_tables"]


def _sentence(row: pd.Series) -> str:
    if bool(row.get("suppressed", False)) or pd.isna(row.get("estimate")):
        return "Not shown: a group is too small for a released report."
    label = SCALES_BY_KEY[row["outcome"]].label if row["outcome"] in SCALES_BY_KEY else row["outcome"]
    text = f"{label} at {row['wave']}: participants minus comparison {float(row['estimate']):+.1f}"
    if pd.notna(row.get("ci_low")) and pd.notna(row.get("ci_high")):
        text += f" (95% CI {float(row['ci_low']):+.1f} to {float(row['ci_high']):+.1f})"
    return text + "."


def released_tables(tables: ReportTables) -> ReportTables:
    """``tables`` (built at the export's k) as the export would release them."""
    k = tables.settings.min_group_size
    contributions = descriptive_contributions(ordered(tables.descriptives, DESCRIPTIVE_COLUMNS),
                                              tables.descriptive_contributions)
    descriptives, _ = check_table("descriptives", ordered(tables.descriptives, DESCRIPTIVE_COLUMNS),
                                  k, contributions)
    descriptives["wave_index"] = tables.descriptives["wave_index"].to_numpy()
    estimates, _ = check_table("estimates", ordered(tables.estimates, ESTIMATE_COLUMNS), k)
    estimates["sentence"] = [_sentence(row) for _, row in estimates.iterrows()]
    estimates["caveat"] = ""
    participation, _ = check_table("participation", tables.participation, k)
    return replace(tables, descriptives=descriptives, estimates=estimates, participation=participation,
                   headline=_released_headline(tables.headline, estimates),
                   descriptive_contributions=None)


def _released_headline(headline: Headline | None, estimates: pd.DataFrame) -> Headline | None:
    if headline is None:
        return None
    rows = estimates.loc[(estimates["analysis"] == headline.analysis)
                         & (estimates["outcome"] == headline.outcome)
                         & (estimates["wave"].astype(str) == headline.wave)]
    if rows.empty:
        return replace(headline, estimate=None, ci_low=None, ci_high=None, p_value=None,
                       n_participants=None, n_comparison=None, suppressed=True,
                       sentence="Not shown: a group is too small for a released report.",
                       lords_paradox=None, ancova_estimate=None, ancova_ci_low=None,
                       ancova_ci_high=None)
    row = rows.iloc[0]

    def number(column: str) -> float | None:
        value = row.get(column)
        return None if value is None or pd.isna(value) else float(value)

    n1, n0 = number("n_participants"), number("n_comparison")
    return replace(headline, estimate=number("estimate"), ci_low=number("ci_low"),
                   ci_high=number("ci_high"), p_value=number("p_value"),
                   n_participants=None if n1 is None else int(n1),
                   n_comparison=None if n0 is None else int(n0),
                   suppressed=bool(row["suppressed"]), sentence=_sentence(row),
                   ancova_estimate=None, ancova_ci_low=None, ancova_ci_high=None)


def leadership_report_for_export(store: Store, scope: Scope, *, settings: Settings,
                                 synthetic: bool = False) -> str:
    """The leadership HTML report under the export's rules (for the export page);
    ``synthetic`` labels it as made from the synthetic sample."""
    tables = build_report(store, scope, settings=export_settings(settings), with_contributions=True)
    return build_html_report(released_tables(tables), synthetic=synthetic)
