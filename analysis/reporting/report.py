"""The report: the one composition layer that the dashboards, the CLI and the export share.

:func:`build_report` reads the stored data once (panel and attendance, through
:mod:`analysis.storage.queries` with the viewer's scope), runs every analysis of
:mod:`analysis.stats.compare`, and passes every table through :mod:`analysis.privacy`
before it is returned, so nothing that leaves this module can show a group smaller
than ``settings.min_group_size``. :func:`write_report` writes the contract CSVs.

Headline choice
---------------
DiD and ANCOVA are reported side by side. The headline uses **difference-in-
differences**: people choose to join a peer-support program because of how they
generally are (a stable trait such as chronic strain), not because of one
questionnaire score, and selection on a stable trait with parallel trends is DiD's
assumption. ANCOVA's assumption (selection on the measured baseline score) fits
when the baseline survey itself decides who is invited. When the two disagree
(different signs, or one interval excludes zero and the other does not) the
headline carries the Lord's paradox note.

Disclosure
----------
Every decision of what may be shown is made in :mod:`analysis.privacy`: small cells in
:mod:`analysis.privacy.suppression`, selections and the consistency of the report's tables
with each other in :mod:`analysis.privacy.guard` (see its docstring for what protects what).
Filtered reports show the selected sites' rows exactly as the unfiltered report does and
hide a selection total when any of its members is hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.access.scope import LOCAL, Scope, require
from analysis.access.settings import Settings
from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.panel.index import PanelIndex, follow_up_waves
from analysis.privacy import guard, suppression
from analysis.privacy.csv_safety import neutralize_frame
from analysis.privacy.guard import FilterRefused
from analysis.privacy.remembered import organization_slice_cells, scope_respondents, scope_roles
from analysis.privacy.slice_tables import guard_tables
from analysis.privacy.slicing import Atoms, Slice, check_slice, organization_atoms
from analysis.reporting import interpret
from analysis.reporting.effect_tables import (
    ESTIMATE_COLUMNS,
    balance_table,
    change_table,
    dose_and_mde_tables,
    estimate_table,
    event_study_table,
    quality_table,
    reliability_table,
)
from analysis.reporting.group_tables import (
    DESCRIPTIVE_COLUMNS,
    balance_following,
    descriptive_table,
    latest_wave_of,
    monthly_table,
    participation_table,
    split_contributions,
)
from analysis.reporting.kept import outcome_cutoffs, scope_attendance, scope_available, scope_descriptives
from analysis.stats.compare import ANALYSES
from analysis.stats.dr_did import weighted_did
from analysis.stats.estimates import Estimate
from analysis.stats.group_time import program_timing
from analysis.stats.headline import ANCOVA_ASSUMPTION, DID_ASSUMPTION
from analysis.stats.headline import headline as headline_of
from analysis.stats.regression import one_blas_thread
from analysis.storage.queries import Filters, load_panel
from analysis.storage.store import Store

__all__ = [
    "ESTIMATE_COLUMNS",
    "DESCRIPTIVE_COLUMNS",
    "PRIMARY_OUTCOMES",
    "FilterRefused",
    "Headline",
    "ReportTables",
    "build_report",
    "write_report",
]

#: Headline outcome: the first of these present in the data.
PRIMARY_OUTCOMES: tuple[str, ...] = (
    "cbi_work", "cbi_personal", "proqol_bo", "olbi_exhaustion", "mbi_ee", "miniz_burnout",
)
HEADLINE_ANALYSIS = "did"
_QUALITY_COLUMNS = ["wave", "outcome", "n_responses", "n_scored", "share_items_missing", "suppressed"]



@dataclass(frozen=True)
class Headline:
    """The one result leadership reads first.

    ``estimate`` and its interval are None when the row is suppressed or could not be
    computed; ``sentence`` always says what happened.
    """

    outcome: str
    outcome_label: str
    wave: str
    analysis: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_participants: int | None
    n_comparison: int | None
    unit: str
    higher_is_worse: bool
    sentence: str
    why_this_analysis: str
    ancova_estimate: float | None
    ancova_ci_low: float | None
    ancova_ci_high: float | None
    lords_paradox: str | None
    suppressed: bool
    #: one plain sentence on each end of the DiD-ANCOVA bracket, and who was left out
    bracket: str | None = None
    #: E-value and how large a parallel-trends violation would overturn the result
    sensitivity: str | None = None
    left_out: str | None = None


@dataclass(frozen=True)
class ReportTables:
    """Everything a report shows, already disclosure-checked at ``settings.min_group_size``.

    Frames (one row per cell; suppressed cells have ``suppressed`` True and NA numbers):

    * ``estimates``: contract columns then ``p_adjusted, adjust_method, residual_df,
      status, sentence, caveat``.
    * ``descriptives``: contract columns then ``status, wave_index, share_high_ci_low,
      share_high_ci_high``.
    * ``participation``: ``breakdown`` (wave, site, role, session_type), ``wave, site,
      role, session_type`` (``all`` when not broken down), ``n_respondents,
      n_participants, participation_rate, sessions_median, sessions_q1, sessions_q3,
      sessions_per_month, retention, suppressed, status``.
    * ``balance``: ``outcome, wave, covariate, smd_before, smd_after,
      variance_ratio_before, variance_ratio_after, flag`` (headline outcome and wave).
    * ``dose``: ``outcome, wave, dose_band, n, mean_change, sd_change, ci_low, ci_high,
      suppressed, status`` (participants and comparison seen at baseline and the wave).
    * ``mde``: ``outcome, wave, n_participants, n_comparison, mde_d, baseline_sd,
      mde_points, unit, suppressed, status``.
    * ``change``: ``outcome, wave, wave_index, baseline_wave, group, n, mean_change,
      sd_change, ci_low, ci_high, suppressed, status``: per follow-up wave, each group's
      change since baseline for exactly the people that wave's DiD estimate uses (so
      participants' minus comparison's ``mean_change`` is the DiD estimate), shown only
      when that estimate is (the same counts, no new group size).
    * ``reliability``: ``scale, wave, alpha, ci_low, ci_high, n, k, caution, status,
      suppressed``.
    * ``quality``: ``wave, outcome, n_responses, n_scored, share_items_missing,
      suppressed``.
    * ``monthly``: ``month, people, sessions, suppressed, status``: sessions attended per
      calendar month by the people of the selection.
    * ``descriptive_contributions``: ``outcome, wave, site, group`` and
      :data:`analysis.panel.participation.CONTRIBUTION_COLUMNS` per descriptives cell (the
      two largest individual contributions and the cell total, for the export's
      dominance rule). Individual values: never shown or exported; only
      :func:`analysis.privacy.suppression.export_check` reads them.
    """

    estimates: pd.DataFrame
    descriptives: pd.DataFrame
    participation: pd.DataFrame
    balance: pd.DataFrame
    dose: pd.DataFrame
    mde: pd.DataFrame
    reliability: pd.DataFrame
    quality: pd.DataFrame
    notes: tuple[str, ...]
    headline: Headline | None
    settings: Settings
    data_version: str
    change: pd.DataFrame = field(default_factory=pd.DataFrame)
    descriptive_contributions: pd.DataFrame | None = None
    #: effect by waves since the first session, with pre-program placebos (event_study.csv)
    event_study: pd.DataFrame = field(default_factory=pd.DataFrame)
    monthly: pd.DataFrame = field(default_factory=pd.DataFrame)


# ------------------------------------------------------------------ entry points


@dataclass(frozen=True)
class Focus:
    """What one dashboard page draws (see :func:`build_report`'s ``focus``).

    ``outcome``: its descriptives, change and event study; every outcome's estimates, dose
    and MDE at its latest wave; reliability of its scale only. ``detail``: every analysis
    and the event study, dose, MDE and balance tables (the Impact page); without it the
    headline analyses only and those tables empty (the Overview draws none). Neither page
    draws participation, response quality or monthly attendance: those tables are empty.
    """

    outcome: str
    detail: bool = True

    def analyses(self) -> tuple[str, ...]:
        """The estimates the page reads: all of them with ``detail`` (the forest plot),
        else the three that can lead a headline (``did``, ``ancova``, ``ipw``). A
        multiplicity family is one analysis at one wave, so the rows are the same."""
        return ANALYSES if self.detail else ("did", "ancova", "ipw")


def build_report(
    store: Store,
    scope: Scope,
    *,
    settings: Settings,
    filters: Filters = Filters(),
    outcomes: Sequence[str] | None = None,
    waves: Sequence[str] | None = None,
    with_contributions: bool = False,
    focus: Focus | None = None,
) -> ReportTables:
    """Compose every table of the report for ``scope``, disclosure-checked.

    Parameters
    ----------
    store, scope
        The data and the viewer; every read is limited to the viewer's practices.
    settings : Settings
        ``min_group_size`` (k), ``min_sessions`` (participation rule).
    filters : Filters
        Sites and roles selected; refused with :class:`FilterRefused` when the
        selection could identify people (see module docstring).
    outcomes : sequence of str, optional
        Scored outcomes to report (default: every outcome present).
    waves : sequence of str, optional
        Waves to report (default: all); the baseline is always used for change.
    with_contributions : bool
        Also compute each descriptives cell's largest individual contributions (the
        export's dominance check). Off for dashboards: they are individual values and
        cost time, so they are made only for the one caller that checks them.
    focus : Focus, optional
        What a dashboard page draws (Overview, Impact): the focus outcome's descriptives,
        change and event study; every outcome's estimates, dose and MDE at the focus
        outcome's latest wave (within ``waves``); no headline. Each of these rows is the
        row the full report has (a multiplicity family is one analysis at one wave;
        suppression and the slice guard work per outcome and wave), for a fraction of
        the work.

    Raises
    ------
    PermissionDenied
        When the scope may not view, or names a site outside the scope.
    FilterRefused
        When a filter is refused.
    """
    one_blas_thread()
    with store.pinned_version():  # one version for every kept table the report reads
        return _build_report(store, scope, settings, filters, outcomes, waves, with_contributions, focus)


def _build_report(store: Store, scope: Scope, settings: Settings, filters: Filters,
                  outcomes: Sequence[str] | None, waves: Sequence[str] | None,
                  with_contributions: bool = False, focus: Focus | None = None) -> ReportTables:
    require(scope, "view", filters.sites or ())
    k = suppression.validate_min_group_size(settings.min_group_size)
    present = scope_available(store, scope).outcomes
    chosen = [o for o in (outcomes if outcomes is not None else present) if o in present]
    panel_all = load_panel(store, scope, chosen, settings.min_sessions)
    attendance_all = scope_attendance(store, scope)
    filtered = filters.sites is not None or filters.roles is not None

    slice_, org = _checked_slice(store, scope, settings, filters, chosen, panel_all)
    # the guard's references do not change with the filters: kept per scope, threshold and k
    respondents = scope_respondents(store, scope, settings.min_sessions, k, panel_all)
    if filtered:
        roles = scope_roles(store, scope, settings.min_sessions, k, panel_all) if filters.roles else None
        guard.guard_filter(panel_all, filters, respondents, k, roles)
        panel, attendance = _selected(panel_all, attendance_all, filters)
    else:
        panel, attendance = panel_all, attendance_all
    report_waves = list(waves) if waves is not None else None

    cutoffs = outcome_cutoffs(chosen)
    drawn = chosen if focus is None else [o for o in chosen if o == focus.outcome]
    detail = focus is None or focus.detail
    full = scope_descriptives(store, scope, drawn, settings.min_sessions, k, with_contributions,
                              panel_all, respondents)
    descriptives = descriptive_table(panel_all, panel, drawn, cutoffs, respondents, filters, k,
                                      with_contributions, full)
    focus_waves = _focus_waves(descriptives, focus, report_waves)
    # what no dashboard page with a focus draws (participation, quality, monthly): empty there
    wide = focus is None
    participation = participation_table(panel_all, attendance_all, panel if wide else panel.iloc[:0],
                                        attendance, respondents, filters, k)
    index = PanelIndex(panel) if len(panel) else None  # one for every table (the estimates' timing kept)
    estimates, results = estimate_table(panel, chosen, cutoffs, k, focus_waves, _analyses(focus), index)
    headline_outcome = next((o for o in PRIMARY_OUTCOMES if o in chosen), chosen[0] if chosen else None)
    follow_ups = follow_up_waves(panel) if len(panel) else []
    headline_wave = follow_ups[-1] if follow_ups else None
    balance = balance_table(panel, headline_outcome if detail else None, headline_wave, k, index)
    dose, mde = dose_and_mde_tables(panel, chosen if detail else [], k, index, focus_waves)
    change = change_table(panel, drawn, estimates, k, index)
    event = event_study_table(panel, drawn if detail else [], k, index)
    lead = _lead_estimates(panel, results, headline_outcome, headline_wave, index) if focus is None else {}
    del index
    reliability = reliability_table(store, scope, filters, drawn, k)
    quality = quality_table(store, scope, filters, k) if wide else pd.DataFrame(columns=_QUALITY_COLUMNS)
    monthly = monthly_table(attendance if wide else attendance.iloc[:0], k)
    if not slice_.is_base():  # every table held to the one guard's cell rule
        descriptives, estimates, mde, participation, change, dose, reliability, quality, monthly = _guarded(
            store, settings, chosen, slice_, org, attendance_all if scope.practices is None else None,
            (descriptives, estimates, mde, participation, change, dose, reliability, quality, monthly))
        balance = balance_following(balance, estimates, headline_outcome, headline_wave)

    if report_waves is not None:
        wanted = set(map(str, report_waves))
        descriptives, estimates, participation, dose, mde, change = (
            _in_waves(frame, wanted) for frame in (descriptives, estimates, participation, dose, mde,
                                                   change))
        if headline_wave not in wanted:
            kept = [w for w in follow_ups if w in wanted]
            headline_wave = kept[-1] if kept else None

    descriptives, contributions = split_contributions(descriptives)
    headline = _headline(estimates, results, headline_outcome, headline_wave) if focus is None else None
    if headline is not None and not headline.suppressed:
        headline = _with_sensitivity(headline, lead, event, k)
    notes = _notes(panel, estimates, reliability, headline_outcome, k)
    return ReportTables(
        estimates=estimates.reset_index(drop=True),
        descriptives=descriptives.reset_index(drop=True),
        participation=participation.reset_index(drop=True),
        balance=balance, dose=dose.reset_index(drop=True), mde=mde.reset_index(drop=True),
        reliability=reliability, quality=quality, notes=tuple(notes), headline=headline,
        settings=settings, data_version=store.data_version(),
        change=change.reset_index(drop=True), event_study=event.reset_index(drop=True),
        monthly=monthly.reset_index(drop=True),
        descriptive_contributions=(contributions.reset_index(drop=True)
                                   if with_contributions else None),
    )


_GUARDED = ("descriptives", "estimates", "mde", "participation", "change", "dose", "reliability", "quality",
            "monthly")


def _guarded(store: Store, settings: Settings, chosen: list[str], slice_: Slice,
             org: tuple[pd.DataFrame, Atoms], org_attendance: pd.DataFrame | None,
             tables: tuple[pd.DataFrame, ...]) -> list[pd.DataFrame]:
    """The :data:`_GUARDED` tables (in that order) held to the slice guard's cell rule; the
    organization's cells are kept by the store (per outcomes, threshold, k, role choice).
    ``org``: the organization's panel and the guard's atoms, as :func:`_checked_slice`
    read them; ``org_attendance``: its attendance (None: not read yet)."""
    k = settings.min_group_size
    panel, atoms = org
    counted = organization_slice_cells(store, chosen, settings.min_sessions, k, slice_.roles is not None,
                                       panel, org_attendance, atoms)
    guarded = guard_tables(dict(zip(_GUARDED, tables)), counted.for_slice(slice_))
    return [guarded[name] for name in _GUARDED]


def _analyses(focus: Focus | None) -> tuple[str, ...]:
    return ANALYSES if focus is None else focus.analyses()


def _focus_waves(descriptives: pd.DataFrame, focus: Focus | None,
                 waves: Sequence[str] | None) -> list[str] | None:
    """The focus outcome's latest wave (the one its page shows), or None without a focus."""
    if focus is None:
        return None
    latest = latest_wave_of(descriptives, focus.outcome, waves)
    return [latest] if latest is not None else []


def _selected(panel: pd.DataFrame, attendance: pd.DataFrame,
              filters: Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The panel rows (and their people's sessions) of the practices and roles chosen."""
    keep = np.ones(len(panel), dtype=bool)
    if filters.sites is not None:
        keep &= panel["site"].isin(list(filters.sites)).to_numpy()
    if filters.roles is not None:
        keep &= panel["role"].isin(list(filters.roles)).to_numpy()
    chosen = panel.loc[keep].reset_index(drop=True)
    return chosen, attendance.loc[attendance["person"].isin(chosen["person"].unique())]


def _in_waves(frame: pd.DataFrame, wanted: set[str]) -> pd.DataFrame:
    return frame.loc[frame["wave"].astype(str).isin(wanted)]


def _checked_slice(store: Store, scope: Scope, settings: Settings, filters: Filters,
                   chosen: Sequence[str],
                   panel_all: pd.DataFrame) -> tuple[Slice, tuple[pd.DataFrame, Atoms]]:
    """The viewer's slice (scope included), and the organization's panel with the guard's atoms.

    Raises :class:`FilterRefused` when the one guard refuses the slice.
    """
    slice_ = Slice(sites=filters.sites, roles=filters.roles, min_sessions=int(settings.min_sessions),
                   scope_sites=None if scope.practices is None else tuple(sorted(scope.practices)))
    # a scope is a selection: the guard reads the organization's counts (never shown)
    org = panel_all if scope.practices is None else load_panel(store, LOCAL, chosen, settings.min_sessions)
    k = settings.min_group_size
    return slice_, (org, check_slice(org, slice_, k, organization_atoms(store, k, org)))


def write_report(tables: ReportTables, out_dir: str | Path) -> list[Path]:
    """Write every aggregate table the dashboards draw, one CSV each.

    estimates, descriptives (contract), participation, balance, dose (dose bands),
    change, mde, reliability, quality and monthly_attendance.

    Contract columns first, in contract order; suppressed and missing numbers are
    empty cells; text cells are neutralised against formula injection.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames = {
        "estimates.csv": ordered(tables.estimates, ESTIMATE_COLUMNS),
        "descriptives.csv": ordered(tables.descriptives, DESCRIPTIVE_COLUMNS),
        "participation.csv": tables.participation,
        "balance.csv": tables.balance,
        "event_study.csv": tables.event_study,
        "dose.csv": tables.dose,
        "change.csv": tables.change,
        "mde.csv": tables.mde,
        "reliability.csv": tables.reliability,
        "quality.csv": tables.quality,
        "monthly_attendance.csv": tables.monthly,
    }
    paths = []
    for name, frame in frames.items():
        path = out / name
        path.write_text(csv_text(frame), encoding="utf-8")
        paths.append(path)
    return paths


def ordered(frame: pd.DataFrame, first: Sequence[str]) -> pd.DataFrame:
    """``frame`` with the ``first`` columns first (in that order), then the rest."""
    rest = [c for c in frame.columns if c not in first]
    return frame.reindex(columns=[*first, *rest])


def csv_text(frame: pd.DataFrame) -> str:
    """CSV text of a report table: blanks for missing, injection-safe text, no index."""
    return neutralize_frame(frame).to_csv(index=False, na_rep="", lineterminator="\n")


# ------------------------------------------------------------------ headline and notes


def _value(row: pd.Series | None, column: str) -> float | None:
    if row is None:
        return None
    value = row.get(column)
    return None if value is None or pd.isna(value) else float(value)


def _disagree(a: pd.Series | None, b: pd.Series | None) -> bool:
    """DiD and ANCOVA disagree: opposite signs, or one interval excludes 0 and the other not."""
    if a is None or b is None:
        return False
    values = [_value(a, c) for c in ("estimate", "ci_low", "ci_high")] + \
        [_value(b, c) for c in ("estimate", "ci_low", "ci_high")]
    if any(v is None for v in values):
        return False
    ea, la, ha, eb, lb, hb = values
    excludes_a = la > 0 or ha < 0
    excludes_b = lb > 0 or hb < 0
    return (ea * eb < 0) or (excludes_a != excludes_b)


def _lords_note(did_est: Estimate, ancova_est: Estimate, outcome: str) -> str:
    note = interpret.lords_paradox_note(did_est, ancova_est)
    if note:
        return str(note)
    return (f"DiD and ANCOVA disagree for {SCALES_BY_KEY[outcome].label} (Lord's paradox): the groups "
            "already differed at baseline. DiD assumes people joined because of a stable trait "
            "and both groups would have changed alike; ANCOVA assumes joining depended on the "
            "baseline score itself. Which is right depends on why people joined.")


def _headline(estimates: pd.DataFrame, results: Sequence[Estimate], outcome: str | None,
              wave: str | None) -> Headline | None:
    if outcome is None or wave is None or estimates.empty:
        return None
    here = estimates.loc[(estimates["outcome"] == outcome) & (estimates["wave"].astype(str) == str(wave))]
    did_rows = here.loc[here["analysis"] == "did"]
    ancova_rows = here.loc[here["analysis"] == "ancova"]
    did_row = did_rows.iloc[0] if len(did_rows) else None
    ancova_row = ancova_rows.iloc[0] if len(ancova_rows) else None
    scale = SCALES_BY_KEY[outcome]
    suppressed = bool(did_row["suppressed"]) if did_row is not None else True
    lords = None
    if not suppressed and ancova_row is not None and not bool(ancova_row["suppressed"]) \
            and _disagree(did_row, ancova_row):
        found = {e.analysis: e for e in results if e.outcome == outcome and str(e.wave) == str(wave)}
        lords = _lords_note(found["did"], found["ancova"], outcome)
    sentence = str(did_row["sentence"]) if did_row is not None else "No estimate."
    n1 = _value(did_row, "n_participants")
    n0 = _value(did_row, "n_comparison")
    return Headline(
        outcome=outcome, outcome_label=scale.label, wave=str(wave), analysis=HEADLINE_ANALYSIS,
        estimate=_value(did_row, "estimate"), ci_low=_value(did_row, "ci_low"),
        ci_high=_value(did_row, "ci_high"), p_value=_value(did_row, "p_value"),
        n_participants=None if n1 is None else int(n1), n_comparison=None if n0 is None else int(n0),
        unit=scale.unit, higher_is_worse=scale.higher_is_worse, sentence=sentence,
        why_this_analysis=(
            "Difference-in-differences compares each person with their own baseline. It fits "
            "when people join because of a stable trait (how burned out they generally are), "
            "which is the usual reason to join peer support; it assumes both groups would "
            "have changed alike without the program. ANCOVA is shown beside it."),
        ancova_estimate=_value(ancova_row, "estimate"), ancova_ci_low=_value(ancova_row, "ci_low"),
        ancova_ci_high=_value(ancova_row, "ci_high"), lords_paradox=lords, suppressed=suppressed,
    )


def _lead_estimates(panel: pd.DataFrame, results: Sequence[Estimate], outcome: str | None,
                    wave: str | None, index: PanelIndex | None) -> dict[str, Estimate]:
    """The headline's estimates by analysis, with the doubly robust DiD computed for it."""
    if outcome is None or wave is None or index is None:
        return {}
    found = {e.analysis: e for e in results if e.outcome == outcome and str(e.wave) == str(wave)}
    found["dr_did"] = weighted_did(panel, outcome, wave, method="dr", index=index)
    return found


def _with_sensitivity(head: Headline, lead: dict[str, Estimate], event: pd.DataFrame, k: int) -> Headline:
    """Lead with a credible doubly robust estimate; add the bracket, the E-value and trends sentences."""
    if not lead:
        return head
    dr = lead.get("dr_did")
    if dr is not None and dr.ok and min(dr.n_participants or 0, dr.n_comparison or 0) < k:
        lead = {name: est for name, est in lead.items() if name != "dr_did"}  # too few to show
    placebo = event.loc[(event["outcome"] == head.outcome) & ~event["suppressed"].astype(bool)] \
        if len(event) else None
    result = headline_of(lead, placebo)
    changes: dict[str, object] = {"bracket": f"{DID_ASSUMPTION} {ANCOVA_ASSUMPTION}"}
    if result.bracket is not None:
        low, high = result.bracket
        changes["bracket"] = (f"The two standard comparisons put the difference between {low:+.1f} and "
                              f"{high:+.1f} {head.unit}. " + changes["bracket"])
    lead_est = result.lead
    if lead_est is not None and lead_est.analysis == "dr_did":
        scale = SCALES_BY_KEY[head.outcome]
        changes.update(analysis="dr_did", estimate=lead_est.estimate, ci_low=lead_est.ci_low,
                       ci_high=lead_est.ci_high, p_value=lead_est.p_value,
                       n_participants=lead_est.n_participants, n_comparison=lead_est.n_comparison,
                       sentence=str(interpret.sentence(lead_est, scale.label.lower(), scale.unit,
                                                       scale.higher_is_worse, head.wave)),
                       why_this_analysis=("The doubly robust comparison (weighting for who joined and "
                                          "modelling the change together) balanced the groups well, so it "
                                          "leads; " + head.why_this_analysis[0].lower()
                                          + head.why_this_analysis[1:]))
    parts = [s.sentence for s in (result.e_value, result.trends) if s is not None]
    changes["sensitivity"] = " ".join(parts) or None
    if result.left_out:
        who = f"{result.left_out} people" if result.left_out >= k else f"Fewer than {k} people"
        changes["left_out"] = (f"{who} had attended a session by their first survey: with no measure from "
                               "before the program, they are left out of the change-from-baseline and "
                               "weighted comparisons.")
    return replace(head, **changes)  # type: ignore[arg-type]


def _notes(panel: pd.DataFrame, estimates: pd.DataFrame, reliability: pd.DataFrame,
           headline_outcome: str | None, k: int) -> list[str]:
    notes = []
    if len(panel):
        timing = program_timing(panel)
        late = timing.cohort >= 2  # joined after two surveys: their trend before joining is seen
        if int(late.sum()) < k:
            notes.append(
                "Too few people answered two surveys before joining, so whether participants and "
                "the comparison group were already moving differently (parallel trends) cannot be "
                "checked; the change-from-baseline (DiD) estimate assumes it.")
        else:
            notes.append(
                "The event-study table (event_study.csv) shows, for people who answered two or more "
                "surveys before joining, how participants and the comparison group moved before the "
                "program: estimates near 0 before the start support the DiD's assumption of "
                "parallel trends.")
        if timing.left_out.any():
            notes.append(
                "People who had attended a session by their first survey have no measure from before "
                "the program: they are left out of the change-from-baseline (did) and weighted (ipw) "
                "comparisons; estimates.csv counts them per wave (left_out, hidden under k).")
    if len(estimates) and estimates["suppressed"].any():
        notes.append(f"Some estimates are not shown because a group has fewer than {k} people.")
    if len(reliability):
        low = reliability.loc[reliability["caution"].fillna(False).astype(bool)]
        for scale_key in dict.fromkeys(low["scale"]):
            waves = ", ".join(map(str, low.loc[low["scale"] == scale_key, "wave"]))
            notes.append(f"{SCALES_BY_KEY[scale_key].label}: Cronbach's α below 0.70 at {waves}; "
                         "read its results with caution.")
    return notes


