"""What the leadership dashboards show: pure functions the pages call.

The pages draw; this module decides. It turns the report's disclosure-checked tables
(:func:`analysis.reporting.report.build_report`) into page models and :class:`~analysis.views.figures.Chart`
objects with their takeaway sentences, guards the shared filters against small groups,
and computes the two aggregates the report does not carry (score quantiles for box
plots, sessions per calendar month), each suppressed below the anonymity threshold.
No function here imports streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.views import figures
from analysis.definitions.analyses import ANALYSES, MEAN_DIFFERENCE_ANALYSES
from analysis.reporting import interpret
from analysis.storage import queries
from analysis.reporting import report
from analysis.stats.estimates import Estimate
from analysis.privacy.guard import FilterDecision, FilterRefused, check_filter, guard_filter, respondents_table
from analysis.privacy.suppression import INSUFFICIENT, NO_DATA, OK, suppress_breakdown
from analysis.views.figures import METHOD_LABELS, Chart, outcome_label, outcome_unit, visible
from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.access.scope import PermissionDenied, Scope, require
from analysis.access.settings import Settings
from analysis.storage.store import Store

__all__ = [
    "FilterDecision", "guard_filters", "site_from_selection", "score_quantiles",
    "monthly_attendance", "OverviewModel", "overview_model", "practices_matrix",
    "impact_charts", "participation_charts", "practices_chart", "quality_charts",
    "lords_paradox_note", "HOW_TO_READ", "QUANTILE_MIN_N", "TAIL_MIN_N",
]

#: Fewest people for quartiles: below this a quartile is too close to one person's score.
QUANTILE_MIN_N = 10
#: Fewest people for 5th/95th-percentile whiskers (below, whiskers stop at the box).
TAIL_MIN_N = 20
#: Each method in words, for help texts.
METHOD_HELP = {a.name: a.help for a in ANALYSES}
#: The methods that count as "the" adjusted effect, in order of preference.
HEADLINE_METHODS = ("did", "ancova", "ipw")

HOW_TO_READ: dict[str, str] = {
    "change": (
        "Both lines start at 0 at the baseline survey. Each later point is how much a group's "
        "average score has changed since then, counting only the people who answered both "
        "the baseline survey and that wave: **participants** (solid blue) had attended at "
        "least the chosen number of peer-support sessions by that wave; the **comparison** "
        "group (dashed orange) had not. The vertical gap between the lines at a wave is the "
        "program effect in the headline (difference-in-differences: participants' change "
        "minus the comparison group's change). Below 0 means scores fell; for burnout, "
        "falling is good. The shaded band is the 95% interval of each group's change: the "
        "range its true change plausibly lies in."),
    "trend": (
        "Each line is a group's average score (its level, not its change) at each survey "
        "wave. **Participants** (solid blue) at a wave are everyone who had attended at least "
        "the chosen number of sessions by that survey, so the group grows from wave to wave, "
        "and at the baseline survey, before the program, nobody had attended yet: the "
        "participants' line starts at the first follow-up. The **comparison** group (dashed "
        "orange) had not attended. People who join may start out more (or less) burned out "
        "than those who do not, so the distance between the lines says little about the "
        "program; the change since baseline compares the same people over time. The shaded "
        "band is the 95% interval: the range the true average plausibly lies in."),
    "distribution": (
        "Each box holds the middle half of people's scores; the line inside is the middle "
        "score (median). The whiskers reach from the 5th to the 95th percentile, so 9 in 10 "
        "people lie between them. Boxes are drawn from group summaries, never from individual "
        "answers, and groups too small to protect anonymity are left out."),
    "forest": (
        "Each row is one way of comparing participants with the comparison group on the "
        "selected outcome, in its own units; the diamond is the difference (participants "
        "minus comparison) and the line its 95% interval. Left of the dotted zero line means "
        "participants score lower; an interval crossing zero means the data cannot tell. "
        + " ".join(f"*{a.label}* {a.how_to_read}" for a in MEAN_DIFFERENCE_ANALYSES)
        + " When the methods agree, the result is sturdier."),
    "effect_sizes": (
        "Outcomes are measured on different scales (0–100, 1–5, 3–9), so to compare them each "
        "difference-in-differences estimate is divided by the spread of that outcome's "
        "baseline scores (its standard deviation, SD): an effect size of −0.3 means "
        "participants' scores fell by three tenths of an SD more than the comparison "
        "group's. By convention, about 0.2 SD is a small effect and 0.5 a moderate one "
        "(dashed lines). Left of 0 means lower scores for participants: better for burnout "
        "and loneliness, worse for outcomes marked *higher = better*. The lines are 95% "
        "intervals; one crossing 0 means the data cannot tell."),
    "balance": (
        "Each row is a background characteristic. A dot far from zero means participants "
        "and comparison differed in it before any peer support. Hollow orange dots are the "
        "raw difference; blue dots are after weighting. Dots inside the grey band (±0.1 "
        "standard deviations) mean the groups are alike enough for a fair comparison."),
    "dose_response": (
        "Bars show how much scores changed since the first survey, on average, for people "
        "who attended different numbers of sessions. If more sessions go with larger "
        "improvements, that supports (but does not prove) an effect of the program, "
        "because people choose how often they attend."),
    "mde": (
        "With few people, only large differences can be told apart from chance. The bar is "
        "the smallest difference this data would detect 8 times in 10; a diamond inside the "
        "bar is a difference the data is too small to confirm either way. Outcomes are on "
        "different scales, so both are in standard deviations of the baseline score (hover "
        "for the outcome's own points)."),
    "monthly_attendance": (
        "Bars count peer-support sessions attended each calendar month. Months in which "
        "fewer people attended than the anonymity threshold are greyed out and not counted."),
    "dose_histogram": (
        "How many respondents had attended 0, 1–2, 3–5 or 6 or more sessions by the time of "
        "their latest survey in the selection."),
    "retention": (
        "The solid line is the share of respondents who took part; the dashed line is the "
        "share of participants who attended in at least two different months (kept coming)."),
    "breakdown": (
        "The share of respondents who took part in each group. Groups too small to protect "
        "anonymity are greyed out without a number."),
    "practices": (
        "Each cell compares one practice with the whole organization on one outcome: the "
        "number is the practice's average minus the organization's, in the outcome's points; "
        "blue is better for staff, red is worse. Grey cells marked **insufficient** have too "
        "few people to show; blank cells marked **no data** had nobody answer. Click a "
        "practice to focus every dashboard on it."),
    "responses": "Survey responses received per wave, within your selection.",
    "missing_items": (
        "The percentage of questions people left blank. A scale score still counts when "
        "enough of its questions were answered; many blanks can bias the results."),
    "alpha": (
        "Cronbach's α (alpha) measures whether a scale's questions move together (0 to 1). "
        "Below 0.7, the scale's scores are noisy in this data and should be read with "
        "caution. The line is the 95% interval."),
}


# ---------------------------------------------------------------- filters


def guard_filters(store: Store, scope: Scope, settings: Settings,
                  filters: queries.Filters, waves: Sequence[str] | None = None) -> FilterDecision:
    """May this selection be shown? Refuses, with the reason, what could identify people.

    1. Sites outside the viewer's access are refused.
    2. :func:`analysis.privacy.guard.check_filter` with ``settings.min_group_size`` on the
       respondents of the selection and of the rest of the viewer's scope (in the chosen
       waves): fewer than K selected, or between 1 and K - 1 left out, is refused.
    3. The report's own, finer rule (per wave and group, hidden practices and roles), so
       that a selection allowed here is never refused by :func:`analysis.reporting.report.build_report`.
    """
    try:
        require(scope, "view", filters.sites or ())
    except PermissionDenied as error:
        return FilterDecision(False, str(error))
    k = settings.min_group_size
    if filters == queries.Filters():
        # nothing selected: only the head count is needed, one aggregate query
        n_total = queries.count_respondents(store, scope, waves)
        if 0 < n_total < k:
            return check_filter(n_total, n_total, k)
        return FilterDecision(True, f"This selection covers {n_total} people.")
    panel = queries.load_panel(store, scope, outcomes=[], min_sessions=settings.min_sessions)
    in_waves = panel["wave"].isin(list(waves)).to_numpy() if waves else np.ones(len(panel), bool)
    n_total = int(panel.loc[in_waves, "person"].nunique())
    selected = in_waves.copy()
    if filters.sites is not None:
        selected &= panel["site"].isin(list(filters.sites)).to_numpy()
    if filters.roles is not None:
        selected &= panel["role"].isin(list(filters.roles)).to_numpy()
    decision = check_filter(int(panel.loc[selected, "person"].nunique()), n_total, k)
    if not decision.allowed:
        return decision
    try:
        guard_filter(panel, filters, respondents_table(panel, k), k)
    except FilterRefused as refusal:
        return FilterDecision(False, str(refusal))
    return decision


def site_from_selection(event: Any) -> str | None:
    """The practice clicked in the practices heatmap, from a plotly ``on_select`` event.

    Accepts the event Streamlit returns (``{"selection": {"points": [...]}}``, a dict or
    attribute-style object) or the selection itself; the practice is the ``y`` of the
    first point (or its ``customdata`` site). None when nothing is selected.

    Examples
    --------
    >>> site_from_selection({"selection": {"points": [{"x": "Personal burnout", "y": "Harbor"}]}})
    'Harbor'
    >>> site_from_selection({"selection": {"points": []}}) is None
    True
    """
    if event is None:
        return None
    selection = _get(event, "selection", event)
    points = _get(selection, "points", None) or []
    for point in points:
        site = _get(point, "y", None)
        if isinstance(site, str) and site.strip():
            return site
    return None


def _get(obj: Any, key: str, default: Any) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


# ---------------------------------------------------------------- extra aggregates


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
    cells = descriptives.loc[(descriptives["outcome"] == outcome) & (descriptives["site"] == "all")]
    hidden = cells.loc[figures._status(cells) != OK, ["wave", "group"]]
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


def monthly_attendance(attendance: pd.DataFrame, k: int) -> pd.DataFrame:
    """Sessions and distinct people per calendar month; months of fewer than ``k``
    people suppressed (and, as in every breakdown, enough others that none is derivable).

    Returns
    -------
    DataFrame
        ``month`` (``YYYY-MM``), ``people``, ``sessions``, ``suppressed``, ``status``.
    """
    if attendance.empty:
        return pd.DataFrame(columns=["month", "people", "sessions", "suppressed", "status"])
    month = attendance["session_date"].dt.strftime("%Y-%m")
    table = (attendance.assign(month=month).groupby("month", sort=True)
             .agg(people=("person", "nunique"), sessions=("person", "size")).reset_index())
    return suppress_breakdown(table, "people", ["sessions"], [], k)


# ---------------------------------------------------------------- overview


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


def format_effect(model: "OverviewModel") -> str:
    """The headline effect in the outcome's units, or why there is none."""
    if model.effect is None:
        return "cannot tell yet"
    return f"{model.effect:+.1f} {model.unit}"


def format_interval(model: "OverviewModel") -> str:
    """The headline effect's 95% interval in words (empty when there is no effect)."""
    if model.effect is None:
        return ""
    return (f"95% interval {model.effect_low:+.1f} to {model.effect_high:+.1f} {model.unit} "
            f"({model.effect_method.lower() if model.effect_method else 'adjusted'})")


def latest_wave(tables: Any, outcome: str, waves: Sequence[str] | None = None) -> str | None:
    """The latest wave with descriptives for ``outcome`` (within ``waves`` when given)."""
    return _latest_wave(tables.descriptives, outcome, waves)


def _latest_wave(descriptives: pd.DataFrame, outcome: str, waves: Sequence[str] | None) -> str | None:
    rows = descriptives.loc[(descriptives["outcome"] == outcome) & (descriptives["site"] == "all")]
    if rows.empty:
        return None
    if waves:
        present = [w for w in waves if w in set(rows["wave"])]
        return present[-1] if present else None
    if "wave_index" in rows.columns:
        return str(rows.sort_values("wave_index")["wave"].iloc[-1])
    return str(sorted(rows["wave"])[-1])


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
    return GroupLevel(group, _int(row.get("n")), _float(row.get("mean")),
                      _float(row.get("share_high")), OK)


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


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
    the change since baseline behind it, from the report's tables. Says so where the data cannot support a claim.
    """
    descriptives = tables.descriptives
    wave = _latest_wave(descriptives, outcome, waves)
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
                   + (f"{_int(estimate.get('n_participants')):,} participants and "
                      f"{_int(estimate.get('n_comparison')):,} comparison respondents."
                      if estimate is not None and _int(estimate.get("n_participants")) else
                      "too few people to estimate."))
    change = change_chart(tables, outcome, waves, wave, k)
    return OverviewModel(
        outcome=outcome, outcome_label=outcome_label(outcome), unit=outcome_unit(outcome),
        wave=wave, respondents=respondents, participation_rate=rate,
        participants=participants, comparison=comparison,
        effect=_float(estimate["estimate"]) if estimate is not None else None,
        effect_low=_float(estimate["ci_low"]) if estimate is not None else None,
        effect_high=_float(estimate["ci_high"]) if estimate is not None else None,
        effect_method=METHOD_LABELS.get(str(estimate["analysis"])) if estimate is not None else None,
        sentence=sentence, can_claim=can_claim, caveats=tuple(dict.fromkeys(caveats)),
        effect_help=effect_help, change=change)


# ---------------------------------------------------------------- takeaways


def change_chart(tables: Any, outcome: str, waves: Sequence[str] | None, wave: str | None,
                 k: int | None) -> Chart:
    """Change since baseline for both groups (the report's ``change`` table), with its
    takeaway at ``wave`` (the headline's wave)."""
    change = _table(tables, "change")
    return figures.change_figure(change, outcome, waves, k=k,
                                 takeaway=change_takeaway(change, outcome, wave),
                                 how_to_read=HOW_TO_READ["change"])


def _lower_first(label: str) -> str:
    """A label inside a sentence: "Work-related burnout" → "work-related burnout", names
    such as "Mini-Z" kept."""
    return label[:1].lower() + label[1:]


def _moved(value: float, unit: str, digits: int) -> str:
    if round(abs(value), digits) == 0:
        return "stayed about the same"
    return f"{'fell' if value < 0 else 'rose'} {abs(value):.{digits}f} {unit}"


def change_takeaway(change: pd.DataFrame, outcome: str, wave: str | None) -> str:
    """Each group's change since baseline at ``wave`` and the gap between them (the DiD)."""
    label = _lower_first(outcome_label(outcome))
    rows = (visible(change.loc[(change["outcome"] == outcome) & (change["wave"].astype(str) == str(wave))])
            .dropna(subset=["mean_change"]) if not change.empty and wave is not None else change)
    means = dict(zip(rows["group"], rows["mean_change"])) if not rows.empty else {}
    if "participants" not in means or "comparison" not in means:
        return (f"Not enough people answered both the baseline survey and {wave or 'a later wave'} "
                f"in both groups to show how {label} changed.")
    unit, digits = outcome_unit(outcome), figures._digits(outcome)
    p, c = float(means["participants"]), float(means["comparison"])
    gap = abs(p - c)
    size = (f"a {gap:.{digits}f}-point difference" if unit == "points"
            else f"a difference of {gap:.{digits}f} {unit}")
    return (f"Since baseline, participants' {label} {_moved(p, unit, digits)} by {wave} while "
            f"non-participants' {_moved(c, unit, digits).replace(f' {unit}', '')}: {size}.")


def trend_takeaway(descriptives: pd.DataFrame, outcome: str, waves: Sequence[str] | None) -> str:
    """Where the two groups' averages stand at the latest wave both can be shown.

    Never a change from one wave to another: 'participants' at each wave are whoever
    had attended by then (nobody at baseline), so a group's first and last waves hold
    different people; change is :func:`change_takeaway`'s.
    """
    rows = visible(descriptives.loc[(descriptives["outcome"] == outcome)
                                    & (descriptives["site"] == "all")
                                    & descriptives["group"].isin(["participants", "comparison"])])
    rows = rows.dropna(subset=["mean"])
    if waves:
        rows = rows.loc[rows["wave"].isin(list(waves))]
    label, unit, digits = outcome_label(outcome), outcome_unit(outcome), figures._digits(outcome)
    both = rows.groupby("wave")["group"].nunique()
    both = both[both == 2].index
    if not len(both):
        return f"{label}: not enough people in both groups at any one wave to compare their levels."
    ranked = rows.loc[rows["wave"].isin(both)]
    if "wave_index" in ranked.columns:
        ranked = ranked.sort_values("wave_index")
    wave = ranked["wave"].iloc[-1]
    means = dict(zip(ranked.loc[ranked["wave"] == wave, "group"], ranked.loc[ranked["wave"] == wave, "mean"]))
    return (f"At {wave}, participants' {_lower_first(label)} averaged {means['participants']:.{digits}f} {unit} "
            f"and the comparison group's {means['comparison']:.{digits}f}. These are levels of "
            "different people at each wave; the change since baseline (above) is what shows "
            "the program's effect.")


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
                                 row["ci_high"], row.get("p_value"), _int(row.get("n_participants")),
                                 _int(row.get("n_comparison")))
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
            f"{_lower_first(outcome_label(str(top['outcome'])))} "
            f"({float(top['effect_size']):+.2f} standard deviations"
            + (f", {word}" if word else "") + ").")


# ---------------------------------------------------------------- page chart sets


def _estimates_for(tables: Any, analysis: str, outcome: str, wave: str | None) -> pd.Series | None:
    est = tables.estimates
    rows = est.loc[(est["analysis"] == analysis) & (est["outcome"] == outcome)
                   & (est["wave"].astype(str) == str(wave))]
    return None if rows.empty else rows.iloc[0]


def impact_charts(tables: Any, quantiles: pd.DataFrame, outcome: str,
                  waves: Sequence[str] | None, outcomes: Sequence[str], k: int) -> list[Chart]:
    """The Impact page's charts, in storyboard order."""
    descriptives, estimates = tables.descriptives, tables.estimates
    wave = _latest_wave(descriptives, outcome, waves)
    label = outcome_label(outcome)
    quantiles = follow_descriptives(quantiles, descriptives, outcome)
    charts = [
        change_chart(tables, outcome, waves, wave, k),
        figures.trend_figure(descriptives, outcome, waves, k=k,
                             takeaway=trend_takeaway(descriptives, outcome, waves),
                             how_to_read=HOW_TO_READ["trend"]),
        figures.distribution_figure(quantiles, outcome, waves, k=k,
                                    takeaway=distribution_takeaway(quantiles, label, wave),
                                    how_to_read=HOW_TO_READ["distribution"]),
        figures.forest_figure(estimates, [outcome], wave or "", k=k,
                              takeaway=forest_takeaway(estimates, [outcome], wave),
                              how_to_read=HOW_TO_READ["forest"]),
        figures.effect_size_figure(estimates, outcomes, wave or "",
                                   takeaway=effect_size_takeaway(estimates, outcomes, wave),
                                   how_to_read=HOW_TO_READ["effect_sizes"]),
    ]
    balance = _table(tables, "balance")
    if "outcome" in balance.columns:
        balance = balance.loc[balance["outcome"] == outcome]
    if "wave" in balance.columns and wave is not None:
        balance = balance.loc[balance["wave"].astype(str) == str(wave)]
    charts.append(figures.love_figure(balance, takeaway=balance_takeaway(balance),
                                      how_to_read=HOW_TO_READ["balance"]))
    dose = _table(tables, "dose")
    if "wave" in dose.columns and wave is not None:
        dose = dose.loc[dose["wave"].astype(str) == str(wave)]
    slope = _estimates_for(tables, "dose_response", outcome, wave)
    charts.append(figures.dose_response_figure(dose, outcome, slope, k=k,
                                               takeaway=dose_takeaway(slope, outcome),
                                               how_to_read=HOW_TO_READ["dose_response"]))
    mde = _table(tables, "mde")
    if "wave" in mde.columns and wave is not None:
        mde = mde.loc[mde["wave"].astype(str) == str(wave)]
    mde = _with_observed(mde, estimates)
    charts.append(figures.mde_figure(mde, takeaway=mde_takeaway(mde, outcome),
                                     how_to_read=HOW_TO_READ["mde"]))
    return charts


def _with_observed(mde: pd.DataFrame, estimates: pd.DataFrame) -> pd.DataFrame:
    """The MDE rows with the headline method's observed difference beside them."""
    if mde.empty:
        return mde
    observed = visible(estimates.loc[estimates["analysis"] == HEADLINE_METHODS[0]])
    observed = observed[["outcome", "wave", "estimate"]].rename(columns={"estimate": "observed"})
    return mde.merge(observed, on=["outcome", "wave"], how="left")


def _table(tables: Any, name: str) -> pd.DataFrame:
    table = getattr(tables, name, None)
    return table if isinstance(table, pd.DataFrame) else pd.DataFrame()


def distribution_takeaway(quantiles: pd.DataFrame, label: str, wave: str | None) -> str:
    rows = visible(quantiles.loc[quantiles["wave"] == wave]) if not quantiles.empty else quantiles
    medians = {g: float(r["median"]) for g, r in rows.set_index("group").iterrows()} if not rows.empty else {}
    if "participants" in medians and "comparison" in medians:
        return (f"At {wave}, the middle participant scores {medians['participants']:.0f} on "
                f"{label.lower()}, the middle non-participant {medians['comparison']:.0f}.")
    return f"Not enough people in both groups at {wave} to compare the spread of scores."


def balance_takeaway(balance: pd.DataFrame) -> str:
    rows = visible(balance)
    if rows.empty or "smd_before" not in rows.columns:
        return "Balance between the groups cannot be shown for this selection."
    before = int((rows["smd_before"].abs() > 0.1).sum())
    after = int((rows["smd_after"].abs() > 0.1).sum()) if "smd_after" in rows.columns else before
    return (f"{before} of {len(rows)} background characteristics differed between the groups "
            f"at the start; after weighting, {after} still do.")


def dose_takeaway(slope: pd.Series | None, outcome: str) -> str:
    unit = outcome_unit(outcome)
    if slope is None or slope.get("status", OK) != OK or pd.isna(slope.get("estimate")):
        return "Too few participants to relate the number of sessions to change in scores."
    value, low, high = float(slope["estimate"]), float(slope["ci_low"]), float(slope["ci_high"])
    if low <= 0 <= high:
        return (f"No clear link between sessions attended and change ({value:+.2f} {unit} per "
                "session, interval includes zero).")
    return f"Each session attended goes with a change of about {value:+.2f} {unit} (95% interval {low:+.2f} to {high:+.2f})."


def mde_takeaway(mde: pd.DataFrame, outcome: str) -> str:
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


def participation_charts(tables: Any, monthly: pd.DataFrame, outcome: str,
                         waves: Sequence[str] | None, k: int) -> list[Chart]:
    """The Participation page's charts: attendance over time, dose, retention, breakdowns."""
    participation = _table(tables, "participation")
    by = _participation_parts(participation)
    per_wave = by.get("wave", pd.DataFrame())
    charts = [figures.monthly_attendance_figure(monthly, k, takeaway=monthly_takeaway(monthly),
                                                how_to_read=HOW_TO_READ["monthly_attendance"])]
    doses = _dose_bands(_table(tables, "dose"), outcome, waves)
    charts.append(figures.dose_histogram_figure(doses, k, takeaway=dose_histogram_takeaway(doses),
                                                how_to_read=HOW_TO_READ["dose_histogram"]))
    charts.append(figures.retention_figure(per_wave, waves, k,
                                           takeaway=retention_takeaway(per_wave, waves),
                                           how_to_read=HOW_TO_READ["retention"]))
    for category, title in (("site", "Took part, by practice"), ("role", "Took part, by role"),
                            ("session_type", "Took part, by session type")):
        table = by.get(category)
        if table is None:
            continue
        table = _latest(table, waves)
        charts.append(figures.breakdown_figure(table, category, title, k,
                                               takeaway=breakdown_takeaway(table, category),
                                               how_to_read=HOW_TO_READ["breakdown"],
                                               key=f"by_{category}"))
    return charts


def _participation_parts(participation: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split the report's participation table into its breakdowns (by wave, site, ...)."""
    if participation.empty:
        return {}
    if "breakdown" in participation.columns:
        parts = {}
        for name, part in participation.groupby("breakdown", sort=False):
            parts[str(name)] = part.reset_index(drop=True)
        return parts
    parts = {}
    extra = [c for c in ("site", "role", "session_type") if c in participation.columns]
    if not extra:
        return {"wave": participation}
    all_mask = np.ones(len(participation), dtype=bool)
    for c in extra:
        all_mask &= participation[c].astype(str).eq("all").to_numpy()
    parts["wave"] = participation.loc[all_mask]
    for c in extra:
        mask = ~participation[c].astype(str).eq("all")
        for other in extra:
            if other != c:
                mask &= participation[other].astype(str).eq("all")
        parts[c] = participation.loc[mask]
    return parts


def _latest(table: pd.DataFrame, waves: Sequence[str] | None) -> pd.DataFrame:
    if "wave" not in table.columns or table.empty:
        return table
    order = list(waves) if waves else (list(table.sort_values("wave_index")["wave"].unique())
                                        if "wave_index" in table.columns else sorted(table["wave"].unique()))
    present = [w for w in order if w in set(table["wave"])]
    return table.loc[table["wave"] == present[-1]] if present else table


def _dose_bands(dose: pd.DataFrame, outcome: str, waves: Sequence[str] | None) -> pd.DataFrame:
    """People per sessions-attended band at the latest wave, from the report's dose table."""
    rows = dose.loc[dose["outcome"] == outcome] if "outcome" in dose.columns else dose
    rows = _latest(rows, waves)
    if "dose_band" in rows.columns:
        rows = rows.loc[rows["dose_band"].astype(str) != "all"]
    return rows[[c for c in ("wave", "dose_band", "n", "suppressed", "status") if c in rows.columns]]


def monthly_takeaway(monthly: pd.DataFrame) -> str:
    rows = visible(monthly)
    if rows.empty:
        return "No months with enough people attending to show."
    best = rows.loc[rows["sessions"].idxmax()]
    return (f"{int(rows['sessions'].sum()):,} sessions over {len(rows)} months shown; the busiest "
            f"month was {best['month']} with {int(best['sessions']):,} sessions.")


def dose_histogram_takeaway(doses: pd.DataFrame) -> str:
    rows = visible(doses).dropna(subset=["n"])
    if rows.empty:
        return "Not enough people to show how many sessions they attended."
    total = int(rows["n"].sum())
    none = rows.loc[rows["dose_band"] == "0", "n"]
    some = total - (int(none.iloc[0]) if len(none) else 0)
    return f"{some:,} of the {total:,} respondents shown had attended at least one session by their survey."


def retention_takeaway(per_wave: pd.DataFrame, waves: Sequence[str] | None) -> str:
    latest = visible(_latest(per_wave, waves))
    if latest.empty:
        return "Not enough people to show participation for this selection."
    row = latest.iloc[0]
    text = f"At {row['wave']}, {row['participation_rate'] * 100:.0f}% of respondents took part"
    if "retention" in row and pd.notna(row["retention"]):
        text += f", and {row['retention'] * 100:.0f}% of participants kept coming for 2+ months"
    return text + "."


def breakdown_takeaway(table: pd.DataFrame, category: str) -> str:
    rows = visible(table).dropna(subset=["participation_rate"])
    name = {"site": "practice"}.get(category, category.replace("_", " "))
    if rows.empty:
        return f"Not enough people to compare participation by {name}."
    hi = rows.loc[rows["participation_rate"].idxmax()]
    lo = rows.loc[rows["participation_rate"].idxmin()]
    if len(rows) == 1:
        return f"{hi[category]}: {hi['participation_rate'] * 100:.0f}% took part."
    return (f"Participation by {name} ranges from {lo['participation_rate'] * 100:.0f}% "
            f"({lo[category]}) to {hi['participation_rate'] * 100:.0f}% ({hi[category]}).")


# ---------------------------------------------------------------- practices


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
        wave = _latest_wave(d, outcome, waves)
        part = rows.loc[(rows["outcome"] == outcome) & (rows["wave"] == wave)]
        org = visible(part.loc[part["site"] == "all"])
        org_mean = float(org["mean"].iloc[0]) if not org.empty and pd.notna(org["mean"].iloc[0]) else None
        sign = -1.0 if SCALES_BY_KEY.get(outcome) is None or SCALES_BY_KEY[outcome].higher_is_worse else 1.0
        status_of = figures._status(part)
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
    return figures.practices_heatmap(matrix, k, takeaway=practices_takeaway(matrix),
                                     how_to_read=HOW_TO_READ["practices"])


def practices_takeaway(matrix: pd.DataFrame) -> str:
    rows = visible(matrix).dropna(subset=["better"])
    hidden = matrix.loc[figures._status(matrix) == INSUFFICIENT, "site"].nunique() if not matrix.empty else 0
    if rows.empty:
        return "Not enough people per practice to compare practices."
    per_site = rows.groupby("site")["better"].mean().sort_values()
    text = (f"Compared with the organization, {per_site.index[-1]} does best and "
            f"{per_site.index[0]} least well across the outcomes shown")
    if hidden:
        text += f"; {hidden} practice(s) are too small to show"
    return text + "."


# ---------------------------------------------------------------- data quality


def quality_charts(tables: Any, waves: Sequence[str] | None, k: int) -> list[Chart]:
    """The Data quality page's charts: responses per wave, missing items, α per scale."""
    quality = _table(tables, "quality")
    if "outcome" in quality.columns and not quality.empty:
        per_wave = (quality.sort_values("n_responses", ascending=False)
                    .drop_duplicates("wave")[[c for c in ("wave", "wave_index", "n_responses",
                                                          "suppressed", "status")
                                              if c in quality.columns]])
    else:
        per_wave = quality
    reliability = _table(tables, "reliability")
    if "scale" in reliability.columns and "outcome" not in reliability.columns:
        reliability = reliability.rename(columns={"scale": "outcome"})
    return [
        figures.responses_figure(per_wave, waves, k, takeaway=responses_takeaway(per_wave),
                                 how_to_read=HOW_TO_READ["responses"]),
        figures.missing_items_figure(quality, waves, takeaway=missing_takeaway(quality),
                                     how_to_read=HOW_TO_READ["missing_items"]),
        figures.alpha_figure(reliability, takeaway=alpha_takeaway(reliability),
                             how_to_read=HOW_TO_READ["alpha"]),
    ]


def responses_takeaway(per_wave: pd.DataFrame) -> str:
    rows = visible(per_wave).dropna(subset=["n_responses"]) if not per_wave.empty else per_wave
    if rows.empty:
        return "No survey responses to show for this selection."
    return (f"{int(rows['n_responses'].sum()):,} responses over {len(rows)} waves, between "
            f"{int(rows['n_responses'].min()):,} and {int(rows['n_responses'].max()):,} per wave.")


def missing_takeaway(quality: pd.DataFrame) -> str:
    rows = visible(quality).dropna(subset=["share_items_missing"]) if not quality.empty else quality
    if rows.empty:
        return "No item-level answers to check."
    worst = rows.loc[rows["share_items_missing"].idxmax()]
    return (f"At most {worst['share_items_missing'] * 100:.1f}% of questions were left blank "
            f"({outcome_label(worst['outcome'])}, {worst['wave']}).")


def alpha_takeaway(reliability: pd.DataFrame) -> str:
    rows = visible(reliability).dropna(subset=["alpha"]) if not reliability.empty else reliability
    if rows.empty:
        return "Not enough complete answers to judge the scales' consistency."
    low = rows.loc[rows["alpha"] < figures.ALPHA_CAUTION_LINE]
    if low.empty:
        return f"All {len(rows)} scale measurements shown are consistent (α at least 0.7)."
    names = ", ".join(sorted({outcome_label(o) for o in low["outcome"]}))
    return f"Read with caution: α is below 0.7 for {names}."
