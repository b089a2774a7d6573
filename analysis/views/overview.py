"""The Overview page model: respondents, participation, where both groups stand now and
the headline effect, with the sentences that say what the data supports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.privacy.suppression import (
    INSUFFICIENT,
    NO_DATA,
    OK,
)
from analysis.reporting.group_tables import overall_site
from analysis.views.figure_base import (
    Chart,
    lower_first,
    outcome_label,
    outcome_unit,
    visible,
)
from analysis.views.help import METHOD_HELP, METHOD_LABELS
from analysis.views.impact import change_chart, lords_paradox_note
from analysis.views.report_tables import (
    HEADLINE_METHODS,
    as_float,
    as_int,
    latest_wave_of,
    report_table,
)


@dataclass(frozen=True)
class GroupLevel:
    """Where one group stands now: average and share above the cut-off."""

    group: str
    n: int | None
    mean: float | None
    share_high: float | None
    status: str


@dataclass(frozen=True)
class GroupChange:
    """How one group's average moved from the baseline survey to the headline wave, for
    the people the headline effect uses (those who answered both surveys)."""

    group: str
    n: int | None
    change: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class OverviewModel:
    """Everything the Overview page shows, decided here.

    The page leads with ``verdict`` and ``sentence`` (the effect in words, its interval
    signed as the effect tile is), then each group's change since ``baseline_wave``; the
    levels at ``wave`` (``participants``, ``comparison``) are context, labelled as such.
    """

    outcome: str
    outcome_label: str
    unit: str
    wave: str | None
    respondents: int | None
    participation_rate: float | None
    participants: GroupLevel
    comparison: GroupLevel
    effect: float | None
    effect_low: float | None
    effect_high: float | None
    effect_method: str | None
    sentence: str
    can_claim: bool
    caveats: tuple[str, ...] = ()
    effect_help: str = ""
    change: Chart | None = field(default=None, compare=False)
    verdict: str = ""
    direction: str = ""
    baseline_wave: str | None = None
    participants_change: GroupChange | None = None
    comparison_change: GroupChange | None = None
    respondents_note: str = ""


def format_count(value: int | None) -> str:
    """A count for a metric tile; "insufficient" when it may not be shown."""
    return "insufficient" if value is None else f"{value:,}"


def format_share(value: float | None) -> str:
    """A share as a whole percentage; "insufficient" when it may not be shown."""
    return "insufficient" if value is None or pd.isna(value) else f"{value * 100:.0f}%"


def format_level(level: GroupLevel) -> str:
    """A group's average for a metric tile, or why it is not shown."""
    if level.mean is None:
        return INSUFFICIENT if level.status != NO_DATA else NO_DATA
    return f"{level.mean:.1f}"


def format_effect(model: OverviewModel) -> str:
    """The headline effect in the outcome's units, or why there is none."""
    if model.effect is None:
        return "cannot tell yet"
    return f"{model.effect:+.1f} {model.unit}"


def format_interval(model: OverviewModel) -> str:
    """The headline effect's 95% interval, signed as the effect is (empty when none)."""
    if model.effect is None:
        return ""
    return f"95% interval {model.effect_low:+.1f} to {model.effect_high:+.1f} {model.unit}"


def format_change(change: GroupChange | None, unit: str) -> str:
    """A group's change since baseline for a metric tile, or why it is not shown."""
    if change is None or change.change is None:
        return "cannot tell yet"
    return f"{change.change:+.1f} {unit}"


def format_change_interval(change: GroupChange | None) -> str:
    """A group's change interval and how many people it rests on (empty when none)."""
    if change is None or change.change is None or change.ci_low is None:
        return ""
    people = f"; {change.n:,} people" if change.n else ""
    return f"95% interval {change.ci_low:+.1f} to {change.ci_high:+.1f}{people}"


def higher_is_worse(outcome: str) -> bool:
    """True for burnout-like outcomes (lower is better), False for resilience-like ones."""
    return SCALES_BY_KEY[outcome].higher_is_worse if outcome in SCALES_BY_KEY else True


def direction_note(outcome: str) -> str:
    """The page's one statement of the sign convention."""
    label = lower_first(outcome_label(outcome))
    if higher_is_worse(outcome):
        return (f"Lower {label} is better. Every difference is participants minus the "
                "comparison group, so a negative number favours participants.")
    return (f"Higher {label} is better. Every difference is participants minus the "
            "comparison group, so a positive number favours participants.")


def _group_level(descriptives: pd.DataFrame, outcome: str, wave: str | None, group: str) -> GroupLevel:
    rows = descriptives.loc[(descriptives["outcome"] == outcome)
                            & (descriptives["site"] == overall_site(descriptives))
                            & (descriptives["wave"] == wave) & (descriptives["group"] == group)]
    if rows.empty:
        return GroupLevel(group, None, None, None, NO_DATA)
    ok = visible(rows)
    if ok.empty:
        status = str(rows["status"].iloc[0]) if "status" in rows.columns else INSUFFICIENT
        return GroupLevel(group, None, None, None, INSUFFICIENT if status == OK else status)
    row = ok.iloc[0]
    return GroupLevel(group, as_int(row.get("n")), as_float(row.get("mean")),
                      as_float(row.get("share_high")), OK)


def headline_estimate(estimates: pd.DataFrame, outcome: str, wave: str | None) -> pd.Series | None:
    """The effect the Overview leads with, as the report chooses: DiD, else ANCOVA, else IPW."""
    if estimates is None or estimates.empty or wave is None:
        return None
    rows = visible(estimates.loc[(estimates["outcome"] == outcome)
                                 & (estimates["wave"].astype(str) == str(wave))])
    for method in HEADLINE_METHODS:
        hit = rows.loc[(rows["analysis"] == method) & rows["estimate"].notna()]
        if not hit.empty:
            return hit.iloc[0]
    return None


def _moved(value: float, unit: str) -> str:
    if round(abs(value), 1) == 0:
        return "stayed about the same"
    return f"{'fell' if value < 0 else 'rose'} {abs(value):.1f} {unit}"


def effect_sentence(estimate: pd.Series | None, outcome: str, wave: str | None,
                    changes: tuple[GroupChange | None, GroupChange | None] = (None, None),
                    baseline: str | None = None) -> tuple[str, str, bool]:
    """The verdict (a few words), a plain sentence about the headline effect with its
    interval signed as the effect tile shows it, and whether the data supports a claim.
    """
    label, unit = lower_first(outcome_label(outcome)), outcome_unit(outcome)
    if estimate is None:
        return (f"{outcome_label(outcome)}: cannot tell yet whether the program helps",
                f"The data cannot support a claim about {label} yet: too few people were "
                "surveyed in both groups at the first and the latest wave.", False)
    value, low, high = float(estimate["estimate"]), float(estimate["ci_low"]), float(estimate["ci_high"])
    interval = f"{value:+.1f} {unit} (95% interval {low:+.1f} to {high:+.1f})"
    participants, comparison = changes
    moved = ""
    if participants is not None and comparison is not None and participants.change is not None \
            and comparison.change is not None:
        moved = (f"Since the baseline survey{f' ({baseline})' if baseline else ''}, "
                 f"participants' {label} {_moved(participants.change, unit)} and the comparison "
                 f"group's {_moved(comparison.change, unit).replace(f' {unit}', '')} by {wave}. ")
    if low <= 0 <= high:
        return (f"{outcome_label(outcome)}: cannot tell yet whether the program helps",
                f"{moved}The difference between the groups' changes is {interval}; the interval "
                "includes zero, so the data cannot yet tell whether the program helps.", False)
    better = (value < 0) == higher_is_worse(outcome)
    side = "in participants' favour" if better else "against participants"
    verdict = (f"Participants' {label} improved more than the comparison group's" if better
               else f"Participants' {label} did worse than the comparison group's")
    return (verdict,
            f"{moved}The difference between the groups' changes, the program's estimated "
            f"effect, is {interval}: {side}.",
            True)


def group_changes(change: pd.DataFrame, outcome: str,
                  wave: str | None) -> tuple[GroupChange | None, GroupChange | None, str | None]:
    """Participants' and the comparison group's change since baseline at ``wave`` (the
    people the headline effect uses), and the baseline wave's label."""
    if change.empty or wave is None:
        return None, None, None
    rows = visible(change.loc[(change["outcome"] == outcome) & (change["wave"].astype(str) == str(wave))])
    found: dict[str, GroupChange] = {}
    for _, row in rows.iterrows():
        found[str(row["group"])] = GroupChange(str(row["group"]), as_int(row.get("n")),
                                               as_float(row.get("mean_change")),
                                               as_float(row.get("ci_low")), as_float(row.get("ci_high")))
    baseline = str(rows["baseline_wave"].iloc[0]) if "baseline_wave" in rows.columns and len(rows) else None
    return found.get("participants"), found.get("comparison"), baseline


def overview_model(tables: Any, outcome: str, waves: Sequence[str] | None = None,
                   k: int | None = None) -> OverviewModel:
    """The verdict and the headline effect, each group's change since baseline behind it,
    respondents and participation, and both groups' levels at the latest wave (context),
    from the report's tables. Says so where the data cannot support a claim.
    """
    descriptives = tables.descriptives
    wave = latest_wave_of(descriptives, outcome, waves)
    participants = _group_level(descriptives, outcome, wave, "participants")
    comparison = _group_level(descriptives, outcome, wave, "comparison")
    everyone = _group_level(descriptives, outcome, wave, "all")
    rate = None
    if participants.n is not None and everyone.n:
        rate = participants.n / everyone.n
    estimate = headline_estimate(tables.estimates, outcome, wave)
    p_change, c_change, baseline = group_changes(report_table(tables, "change"), outcome, wave)
    verdict, sentence, can_claim = effect_sentence(estimate, outcome, wave, (p_change, c_change), baseline)
    caveats = []
    if estimate is not None and isinstance(estimate.get("caveat"), str) and estimate.get("caveat"):
        caveats.append(str(estimate["caveat"]))
    note = lords_paradox_note(tables.estimates, outcome, wave)
    model_label = outcome_label(outcome)
    if note:
        caveats.append(note)
        can_claim = False
        verdict = f"{model_label}: cannot tell yet; two ways of comparing disagree"
        sentence = (sentence.rsplit(": ", 1)[0] + ". But comparing people who started at the "
                    "same score gives no clear difference, and the groups started apart; until "
                    "both ways agree, the data cannot say the program helps.")
    caveats.extend(str(n) for n in getattr(tables, "notes", ()) if n)
    method = str(estimate["analysis"]) if estimate is not None else HEADLINE_METHODS[0]
    effect_help = ("Participants' change minus the comparison group's change. "
                   f"{METHOD_HELP.get(method, '')} Based on "
                   + (f"{as_int(estimate.get('n_participants')):,} participants and "
                      f"{as_int(estimate.get('n_comparison')):,} comparison respondents "
                      "who answered both surveys."
                      if estimate is not None and as_int(estimate.get("n_participants")) else
                      "too few people to estimate."))
    both = sum(c.n for c in (p_change, c_change) if c is not None and c.n) or None
    respondents_note = (f"{everyone.n:,} people answered at {wave}; the change since baseline "
                        f"uses the {both:,} of them who also answered the baseline survey."
                        if everyone.n and both else "")
    return OverviewModel(
        outcome=outcome, outcome_label=outcome_label(outcome), unit=outcome_unit(outcome),
        wave=wave, respondents=everyone.n, participation_rate=rate,
        participants=participants, comparison=comparison,
        effect=as_float(estimate["estimate"]) if estimate is not None else None,
        effect_low=as_float(estimate["ci_low"]) if estimate is not None else None,
        effect_high=as_float(estimate["ci_high"]) if estimate is not None else None,
        effect_method=METHOD_LABELS.get(str(estimate["analysis"])) if estimate is not None else None,
        sentence=sentence, can_claim=can_claim, caveats=tuple(dict.fromkeys(caveats)),
        effect_help=effect_help, change=change_chart(tables, outcome, waves, wave, k),
        verdict=verdict, direction=direction_note(outcome), baseline_wave=baseline,
        participants_change=p_change, comparison_change=c_change,
        respondents_note=respondents_note)
