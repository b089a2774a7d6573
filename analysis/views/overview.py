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
from analysis.views.figure_base import (
    Chart,
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
class OverviewModel:
    """Everything the Overview page shows, decided here."""

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
    """The headline effect's 95% interval in words (empty when there is no effect)."""
    if model.effect is None:
        return ""
    return (f"95% interval {model.effect_low:+.1f} to {model.effect_high:+.1f} {model.unit} "
            f"({model.effect_method.lower() if model.effect_method else 'adjusted'})")


def _group_level(descriptives: pd.DataFrame, outcome: str, wave: str | None, group: str) -> GroupLevel:
    rows = descriptives.loc[(descriptives["outcome"] == outcome) & (descriptives["site"] == "all")
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


def effect_sentence(estimate: pd.Series | None, outcome: str, wave: str | None) -> tuple[str, bool]:
    """A plain sentence about the headline effect, and whether the data supports a claim."""
    label, unit = outcome_label(outcome).lower(), outcome_unit(outcome)
    if estimate is None:
        return (f"The data cannot support a claim about {label} yet: too few people were "
                "surveyed in both groups at the first and the latest wave.", False)
    if isinstance(estimate.get("sentence"), str) and estimate.get("sentence"):
        base = str(estimate["sentence"])
    else:
        base = ""
    value, low, high = float(estimate["estimate"]), float(estimate["ci_low"]), float(estimate["ci_high"])
    worse_is_higher = SCALES_BY_KEY[outcome].higher_is_worse if outcome in SCALES_BY_KEY else True
    if low <= 0 <= high:
        text = (f"At {wave}, participants' {label} differs from the comparison group by "
                f"{value:+.1f} {unit} (95% interval {low:+.1f} to {high:+.1f}). The interval "
                "includes zero, so the data cannot yet tell whether the program helps.")
        return (base or text, False)
    better = (value < 0) == worse_is_higher
    direction = "lower" if value < 0 else "higher"
    verdict = "better" if better else "worse"
    text = (f"At {wave}, participants' {label} is {abs(value):.1f} {unit} {direction} than "
            f"comparable non-participants (95% interval {low:+.1f} to {high:+.1f}): "
            f"{verdict} for participants, comparing each group's change since the first survey.")
    return (base or text, True)


def overview_model(tables: Any, outcome: str, waves: Sequence[str] | None = None,
                   k: int | None = None) -> OverviewModel:
    """Respondents, participation, burnout now for both groups, the headline effect and
    the change since baseline behind it, from the report's tables. Says so where the data
    cannot support a claim.
    """
    descriptives = tables.descriptives
    wave = latest_wave_of(descriptives, outcome, waves)
    participants = _group_level(descriptives, outcome, wave, "participants")
    comparison = _group_level(descriptives, outcome, wave, "comparison")
    everyone = _group_level(descriptives, outcome, wave, "all")
    respondents = everyone.n
    rate = None
    if participants.n is not None and everyone.n:
        rate = participants.n / everyone.n
    estimate = headline_estimate(tables.estimates, outcome, wave)
    sentence, can_claim = effect_sentence(estimate, outcome, wave)
    caveats = []
    if estimate is not None and isinstance(estimate.get("caveat"), str) and estimate.get("caveat"):
        caveats.append(str(estimate["caveat"]))
    note = lords_paradox_note(tables.estimates, outcome, wave)
    if note:
        caveats.append(note)
        can_claim = False
    caveats.extend(str(n) for n in getattr(tables, "notes", ()) if n)
    method = str(estimate["analysis"]) if estimate is not None else HEADLINE_METHODS[0]
    effect_help = ("Participants minus comparison. "
                   f"{METHOD_HELP.get(method, '')} Shown with its 95% interval; negative means "
                   "participants score lower. Based on "
                   + (f"{as_int(estimate.get('n_participants')):,} participants and "
                      f"{as_int(estimate.get('n_comparison')):,} comparison respondents."
                      if estimate is not None and as_int(estimate.get("n_participants")) else
                      "too few people to estimate."))
    change = change_chart(tables, outcome, waves, wave, k)
    return OverviewModel(
        outcome=outcome, outcome_label=outcome_label(outcome), unit=outcome_unit(outcome),
        wave=wave, respondents=respondents, participation_rate=rate,
        participants=participants, comparison=comparison,
        effect=as_float(estimate["estimate"]) if estimate is not None else None,
        effect_low=as_float(estimate["ci_low"]) if estimate is not None else None,
        effect_high=as_float(estimate["ci_high"]) if estimate is not None else None,
        effect_method=METHOD_LABELS.get(str(estimate["analysis"])) if estimate is not None else None,
        sentence=sentence, can_claim=can_claim, caveats=tuple(dict.fromkeys(caveats)),
        effect_help=effect_help, change=change)
