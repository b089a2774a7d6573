"""The Impact page model: its charts in storyboard order, each with its takeaway sentence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.privacy.suppression import (
    OK,
)
from analysis.reporting import interpret
from analysis.reporting.group_tables import overall_site
from analysis.stats.estimates import Estimate
from analysis.views.aggregates import follow_descriptives
from analysis.views.estimate_figures import effect_size_figure, event_study_figure
from analysis.views.figure_base import (
    Chart,
    lower_first,
    outcome_digits,
    outcome_label,
    outcome_unit,
    visible,
)
from analysis.views.help import HOW_TO_READ, METHOD_LABELS
from analysis.views.impact_figures import (
    dose_response_figure,
    forest_figure,
    love_figure,
    mde_figure,
)
from analysis.views.report_tables import (
    HEADLINE_METHODS,
    as_int,
    latest_wave_of,
    report_table,
)
from analysis.views.trend_figures import change_figure, distribution_figure, trend_figure


@dataclass(frozen=True)
class ImpactTab:
    """One tab of the Impact page: a question, the sentence under its label, its charts.

    Parameters
    ----------
    label : str
        The tab's label (also its value in the page's URL, so keep it stable).
    purpose : str
        One sentence under the tab saying what its charts answer.
    keys : tuple of str
        The :class:`~analysis.views.figure_base.Chart` keys it draws, in order.
    """

    label: str
    purpose: str
    keys: tuple[str, ...]


#: The Impact page's charts in three questions. Only the open tab is drawn, so a filter
#: change redraws three charts, not nine; the headline question comes first.
IMPACT_TABS: tuple[ImpactTab, ...] = (
    ImpactTab("Over time",
              "How each group's score changed since the baseline survey, and where the "
              "groups stand at each wave.",
              ("change", "trend", "distribution")),
    ImpactTab("Size of the effect",
              "The program's effect estimated four ways, as effect sizes for every outcome, "
              "and whether more sessions go with lower scores.",
              ("forest", "effect_sizes", "dose_response")),
    ImpactTab("Checks",
              "Is the comparison fair? Whether the groups moved alike before anyone joined, "
              "whether they are alike in who they are, and what effect the data could detect.",
              ("event_study", "balance", "mde")),
)


def impact_tabs(charts: Sequence[Chart]) -> list[tuple[ImpactTab, list[Chart]]]:
    """``charts`` (from :func:`impact_charts`) grouped by :data:`IMPACT_TABS`, in tab order.

    Raises
    ------
    ValueError
        When a chart belongs to no tab, so a new chart cannot silently go undrawn.
    """
    by_key = {chart.key: chart for chart in charts}
    placed = {key for tab in IMPACT_TABS for key in tab.keys}
    if missing := [key for key in by_key if key not in placed]:
        raise ValueError(f"Impact charts without a tab: {', '.join(missing)}")
    return [(tab, [by_key[key] for key in tab.keys if key in by_key]) for tab in IMPACT_TABS]


def impact_charts(tables: Any, quantiles: pd.DataFrame, outcome: str,
                  waves: Sequence[str] | None, outcomes: Sequence[str], k: int) -> list[Chart]:
    """The Impact page's charts, in storyboard order."""
    descriptives, estimates = tables.descriptives, tables.estimates
    wave = latest_wave_of(descriptives, outcome, waves)
    label = outcome_label(outcome)
    quantiles = follow_descriptives(quantiles, descriptives, outcome)
    charts = [
        change_chart(tables, outcome, waves, wave, k),
        trend_figure(descriptives, outcome, waves, k=k,
                     takeaway=trend_takeaway(descriptives, outcome, waves),
                     how_to_read=HOW_TO_READ["trend"]),
        distribution_figure(quantiles, outcome, waves, k=k,
                            takeaway=distribution_takeaway(quantiles, label, wave),
                            how_to_read=HOW_TO_READ["distribution"]),
        forest_figure(estimates, [outcome], wave or "", k=k,
                      takeaway=forest_takeaway(estimates, [outcome], wave),
                      how_to_read=HOW_TO_READ["forest"]),
        effect_size_figure(estimates, outcomes, wave or "",
                           takeaway=effect_size_takeaway(estimates, outcomes, wave),
                           how_to_read=HOW_TO_READ["effect_sizes"]),
    ]
    event = report_table(tables, "event_study")
    charts.append(event_study_figure(event, outcome, takeaway=event_study_takeaway(event, outcome),
                                     how_to_read=HOW_TO_READ["event_study"]))
    balance = report_table(tables, "balance")
    if "outcome" in balance.columns:
        balance = balance.loc[balance["outcome"] == outcome]
    if "wave" in balance.columns and wave is not None:
        balance = balance.loc[balance["wave"].astype(str) == str(wave)]
    charts.append(love_figure(balance, takeaway=balance_takeaway(balance),
                              how_to_read=HOW_TO_READ["balance"]))
    dose = report_table(tables, "dose")
    if "wave" in dose.columns and wave is not None:
        dose = dose.loc[dose["wave"].astype(str) == str(wave)]
    slope = _estimates_for(tables, "dose_response", outcome, wave)
    charts.append(dose_response_figure(dose, outcome, k=k,
                                       takeaway=dose_takeaway(slope, outcome, dose),
                                       how_to_read=HOW_TO_READ["dose_response"]))
    mde = report_table(tables, "mde")
    if "wave" in mde.columns and wave is not None:
        mde = mde.loc[mde["wave"].astype(str) == str(wave)]
    mde = _with_observed(mde, estimates)
    charts.append(mde_figure(mde, takeaway=mde_takeaway(mde, outcome),
                             how_to_read=HOW_TO_READ["mde"]))
    return charts


def _estimates_for(tables: Any, analysis: str, outcome: str, wave: str | None) -> pd.Series | None:
    est = tables.estimates
    rows = est.loc[(est["analysis"] == analysis) & (est["outcome"] == outcome)
                   & (est["wave"].astype(str) == str(wave))]
    return None if rows.empty else rows.iloc[0]


def _with_observed(mde: pd.DataFrame, estimates: pd.DataFrame) -> pd.DataFrame:
    """The MDE rows with the headline method's observed difference beside them."""
    if mde.empty:
        return mde
    observed = visible(estimates.loc[estimates["analysis"] == HEADLINE_METHODS[0]])
    observed = observed[["outcome", "wave", "estimate"]].rename(columns={"estimate": "observed"})
    return mde.merge(observed, on=["outcome", "wave"], how="left")


def change_chart(tables: Any, outcome: str, waves: Sequence[str] | None, wave: str | None,
                 k: int | None) -> Chart:
    """Change since baseline for both groups (the report's ``change`` table), with its
    takeaway at ``wave`` (the headline's wave)."""
    change = report_table(tables, "change")
    return change_figure(change, outcome, waves, k=k,
                         takeaway=change_takeaway(change, outcome, wave),
                         how_to_read=HOW_TO_READ["change"])


def _moved(value: float, unit: str, digits: int) -> str:
    if round(abs(value), digits) == 0:
        return "stayed about the same"
    return f"{'fell' if value < 0 else 'rose'} {abs(value):.{digits}f} {unit}"


def change_takeaway(change: pd.DataFrame, outcome: str, wave: str | None) -> str:
    """Each group's change since baseline at ``wave`` and the gap between them (the DiD)."""
    label = lower_first(outcome_label(outcome))
    rows = (visible(change.loc[(change["outcome"] == outcome) & (change["wave"].astype(str) == str(wave))])
            .dropna(subset=["mean_change"]) if not change.empty and wave is not None else change)
    means = dict(zip(rows["group"], rows["mean_change"])) if not rows.empty else {}
    if "participants" not in means or "comparison" not in means:
        return (f"Not enough people answered both the baseline survey and {wave or 'a later wave'} "
                f"in both groups to show how {label} changed.")
    unit, digits = outcome_unit(outcome), outcome_digits(outcome)
    p, c = float(means["participants"]), float(means["comparison"])
    # Signed as every tile is (participants minus comparison), never as a bare magnitude.
    size = f"a difference of {p - c:+.{digits}f} {unit}"
    return (f"Since baseline, participants' {label} {_moved(p, unit, digits)} by {wave} while "
            f"non-participants' {_moved(c, unit, digits).replace(f' {unit}', '')}: {size}.")


def trend_takeaway(descriptives: pd.DataFrame, outcome: str, waves: Sequence[str] | None) -> str:
    """Where the two groups' averages stand at the latest wave both can be shown.

    Never a change from one wave to another: 'participants' at each wave are whoever
    had attended by then (nobody at baseline), so a group's first and last waves hold
    different people; change is :func:`change_takeaway`'s.
    """
    rows = visible(descriptives.loc[(descriptives["outcome"] == outcome)
                                    & (descriptives["site"] == overall_site(descriptives))
                                    & descriptives["group"].isin(["participants", "comparison"])])
    rows = rows.dropna(subset=["mean"])
    if waves:
        rows = rows.loc[rows["wave"].isin(list(waves))]
    label, unit, digits = outcome_label(outcome), outcome_unit(outcome), outcome_digits(outcome)
    both = rows.groupby("wave")["group"].nunique()
    both = both[both == 2].index
    if not len(both):
        return f"{label}: not enough people in both groups at any one wave to compare their levels."
    ranked = rows.loc[rows["wave"].isin(both)]
    if "wave_index" in ranked.columns:
        ranked = ranked.sort_values("wave_index")
    wave = ranked["wave"].iloc[-1]
    at_wave = ranked.loc[ranked["wave"] == wave]
    means = dict(zip(at_wave["group"], at_wave["mean"]))
    return (f"At {wave}, participants' {lower_first(label)} averaged "
            f"{means['participants']:.{digits}f} {unit} "
            f"and the comparison group's {means['comparison']:.{digits}f}. These are levels of "
            "different people at each wave; the change since baseline (above) is what shows "
            "the program's effect.")


def distribution_takeaway(quantiles: pd.DataFrame, label: str, wave: str | None) -> str:
    """The two groups' medians at ``wave``, or why they cannot be compared."""
    rows = visible(quantiles.loc[quantiles["wave"] == wave]) if not quantiles.empty else quantiles
    medians = {g: float(r["median"]) for g, r in rows.set_index("group").iterrows()} if not rows.empty else {}
    if "participants" in medians and "comparison" in medians:
        return (f"At {wave}, the middle participant scores {medians['participants']:.0f} on "
                f"{label.lower()}, the middle non-participant {medians['comparison']:.0f}.")
    return f"Not enough people in both groups at {wave} to compare the spread of scores."


def lords_paradox_note(estimates: pd.DataFrame, outcome: str, wave: str | None) -> str:
    """The Lord's paradox note of :mod:`analysis.reporting.interpret` when the difference-in-differences
    and ANCOVA rows of ``outcome`` at ``wave`` disagree, else ``""``."""
    if estimates is None or estimates.empty or wave is None:
        return ""
    rows = visible(estimates.loc[(estimates["outcome"] == outcome)
                                 & (estimates["wave"].astype(str) == str(wave))])
    found = {}
    for method in ("did", "ancova"):
        hit = rows.loc[(rows["analysis"] == method) & rows["estimate"].notna()]
        if hit.empty:
            return ""
        row = hit.iloc[0]
        found[method] = Estimate(method, outcome, str(wave), row["estimate"], row["ci_low"],
                                 row["ci_high"], row.get("p_value"), as_int(row.get("n_participants")),
                                 as_int(row.get("n_comparison")))
    return interpret.lords_paradox_note(found["did"], found["ancova"]) or ""


def forest_takeaway(estimates: pd.DataFrame, outcomes: Sequence[str], wave: str | None) -> str:
    """How many of the ways of comparing show participants better off, beyond chance."""
    if wave is None:
        return "No follow-up wave to compare yet."
    rows = visible(estimates.loc[estimates["analysis"].isin(list(METHOD_LABELS))
                                 & estimates["outcome"].isin(list(outcomes))
                                 & (estimates["wave"].astype(str) == str(wave))]).dropna(
        subset=["estimate", "ci_low", "ci_high"])
    if rows.empty:
        return f"Too few people at {wave} to compare the groups."
    better = sum(1 for _, row in rows.iterrows() if _better_beyond_chance(row))
    what = "ways of comparing" if len(set(rows["outcome"])) == 1 else "comparisons"
    if better == len(rows):
        return f"All {len(rows)} {what} at {wave} show participants better off, beyond chance."
    if better == 0:
        return (f"None of the {len(rows)} {what} at {wave} shows participants better off "
                "beyond chance.")
    return (f"{better} of {len(rows)} {what} at {wave} show participants better off beyond "
            "chance; the others cannot tell the groups apart.")


def _better_beyond_chance(row: pd.Series) -> bool:
    worse_high = SCALES_BY_KEY[row["outcome"]].higher_is_worse if row["outcome"] in SCALES_BY_KEY else True
    beyond = not (row["ci_low"] <= 0 <= row["ci_high"])
    return beyond and ((row["estimate"] < 0) == worse_high)


def effect_size_takeaway(estimates: pd.DataFrame, outcomes: Sequence[str], wave: str | None,
                         analysis: str = HEADLINE_METHODS[0]) -> str:
    """Across outcomes: how many favour participants, and the largest standardized effect."""
    if wave is None:
        return "No follow-up wave to compare yet."
    rows = visible(estimates.loc[(estimates["analysis"] == analysis)
                                 & estimates["outcome"].isin(list(outcomes))
                                 & (estimates["wave"].astype(str) == str(wave))]).dropna(
        subset=["estimate", "ci_low", "ci_high", "effect_size"])
    if rows.empty:
        return f"Too few people at {wave} to compare the outcomes."
    better = sum(1 for _, row in rows.iterrows() if _better_beyond_chance(row))
    top = rows.loc[rows["effect_size"].abs().idxmax()]
    word = interpret.effect_size_word(float(top["effect_size"])) or ""
    return (f"{METHOD_LABELS.get(analysis, analysis)} shows participants better off beyond chance "
            f"on {better} of {len(rows)} outcomes; the largest effect is "
            f"{lower_first(outcome_label(str(top['outcome'])))} "
            f"({float(top['effect_size']):+.2f} standard deviations"
            + (f", {word}" if word else "") + ").")


def balance_takeaway(balance: pd.DataFrame) -> str:
    """How many background characteristics differed between the groups, before and after weighting."""
    rows = visible(balance)
    if rows.empty or "smd_before" not in rows.columns:
        return "Balance between the groups cannot be shown for this selection."
    before = int((rows["smd_before"].abs() > 0.1).sum())
    after = int((rows["smd_after"].abs() > 0.1).sum()) if "smd_after" in rows.columns else before
    return (f"{before} of {len(rows)} background characteristics differed between the groups "
            f"at the start; after weighting, {after} still do.")


def dose_takeaway(slope: pd.Series | None, outcome: str, dose: pd.DataFrame | None = None) -> str:
    """The change in scores per session attended, said together with what the bars show.

    The slope is a straight line through everyone; when the bands' averages do not fall
    (or rise) steadily with more sessions, the sentence says which band breaks the
    pattern, so the headline never reads as contradicting the bars below it.
    """
    unit = outcome_unit(outcome)
    if slope is None or slope.get("status", OK) != OK or pd.isna(slope.get("estimate")):
        return "Too few participants to relate the number of sessions to change in scores."
    value, low, high = float(slope["estimate"]), float(slope["ci_low"]), float(slope["ci_high"])
    if low <= 0 <= high:
        return (f"No clear link between sessions attended and change ({value:+.2f} {unit} per "
                "session, interval includes zero).")
    text = (f"On a straight line through everyone, each session attended goes with a change of "
            f"about {value:+.2f} {unit} (95% interval {low:+.2f} to {high:+.2f})")
    bands = _band_means(dose, outcome)
    breaks = [later for (_, before), (later, after) in zip(bands, bands[1:])
              if (after - before) * value < 0]
    if breaks:
        steepest = min(bands, key=lambda band: band[1] * (1 if value < 0 else -1))[0]
        against = "higher" if value < 0 else "lower"
        return (text + f", but not steadily: the {', '.join(breaks)}-session band averaged "
                f"{against} than the band before it; the largest change is at {steepest} sessions.")
    return text + ", and the bars move steadily in that direction."


def _band_means(dose: pd.DataFrame | None, outcome: str) -> list[tuple[str, float]]:
    """(band, average change) for the shown sessions-attended bands, in band order."""
    if dose is None or dose.empty or "dose_band" not in dose.columns:
        return []
    rows = visible(dose.loc[(dose["outcome"] == outcome) & (dose["dose_band"].astype(str) != "all")])
    rows = rows.dropna(subset=["mean_change"]).sort_values("dose_band", key=lambda c: c.astype(str))
    return [(str(band), float(mean)) for band, mean in zip(rows["dose_band"], rows["mean_change"])]


def mde_takeaway(mde: pd.DataFrame, outcome: str) -> str:
    """The smallest difference in ``outcome`` this data could tell apart from chance."""
    rows = visible(mde)
    if rows.empty or "mde_points" not in rows.columns:
        return "Not enough people to say what size of difference this data could detect."
    row = rows.loc[rows["outcome"] == outcome] if "outcome" in rows.columns else rows
    if row.empty:
        row = rows
    value = float(row["mde_points"].iloc[0])
    return (f"With these numbers of people, only differences of about {value:.1f} "
            f"{outcome_unit(outcome)} or more in {outcome_label(str(row['outcome'].iloc[0])).lower()} "
            "can be told apart from chance.")


def event_study_takeaway(event: pd.DataFrame, outcome: str) -> str:
    """One sentence on the pre-program checks and the effect over time since joining."""
    if event.empty or "outcome" not in event.columns:
        return "Not enough people joined at different times to show the effect by time since joining."
    shown = (event["outcome"] == outcome) & ~event["suppressed"].astype(bool)
    rows = event.loc[shown].dropna(subset=["estimate"])
    pre = rows.loc[rows["period"] == "pre"]
    if pre.empty:
        check = ("Nobody answered two surveys before joining, so trends before the program cannot be "
                 "checked here.")
    elif ((pre["ci_low"] <= 0) & (pre["ci_high"] >= 0)).all():
        check = "Before joining, participants and the comparison group moved alike (every check includes 0)."
    else:
        check = ("Before joining, participants and the comparison group already moved differently: read "
                 "the change-from-baseline estimate with caution.")
    return check
