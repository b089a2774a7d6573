"""The report: the one composition layer that the dashboards, the CLI and the export share.

:func:`build_report` reads the stored data once (panel and attendance, through
:mod:`analysis.storage.queries` with the viewer's scope), runs every analysis of
:mod:`analysis.stats.adjust`, and passes every table through :mod:`analysis.privacy`
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

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from analysis.stats import adjust
from analysis.privacy import guard, suppression
from analysis.privacy.csv_safety import neutralize_frame
from analysis.privacy.guard import GROUPS, FilterRefused
from analysis.stats.effects import Estimate, minimum_detectable_effect
from analysis.definitions.analyses import analysis as registered_analysis
from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.reporting import interpret
from analysis.panel.participation import descriptives as _descriptives
from analysis.panel.participation import CONTRIBUTION_COLUMNS
from analysis.panel.participation import attendance_timing, dose_band, participation_summary
from analysis.storage.queries import Filters, available, load_attendance, load_item_scores, load_panel, response_quality
from analysis.access.scope import Scope, require
from analysis.access.settings import Settings
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

#: Contract columns of estimates.csv, in order (DESIGN.md).
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "analysis", "outcome", "wave", "estimate", "ci_low", "ci_high", "p_value", "n_participants",
    "n_comparison", "effect_size", "effect_size_kind", "suppressed",
)
#: Contract columns of descriptives.csv, in order (DESIGN.md).
DESCRIPTIVE_COLUMNS: tuple[str, ...] = (
    "outcome", "wave", "site", "group", "n", "mean", "sd", "ci_low", "ci_high", "share_high",
    "suppressed",
)
#: Headline outcome: the first of these present in the data.
PRIMARY_OUTCOMES: tuple[str, ...] = (
    "cbi_work", "cbi_personal", "proqol_bo", "olbi_exhaustion", "mbi_ee", "miniz_burnout",
)
HEADLINE_ANALYSIS = "did"
_DESCRIPTIVE_VALUES = ("mean", "sd", "ci_low", "ci_high", "share_high", "share_high_ci_low",
                       "share_high_ci_high")
_ESTIMATE_EXTRAS = ("p_adjusted", "adjust_method", "residual_df", "status", "sentence", "caveat")
_PARTICIPATION_LABELS = ("breakdown", "wave", "site", "role", "session_type")


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


# ------------------------------------------------------------------ entry points


def build_report(
    store: Store,
    scope: Scope,
    *,
    settings: Settings,
    filters: Filters = Filters(),
    outcomes: Sequence[str] | None = None,
    waves: Sequence[str] | None = None,
    with_contributions: bool = False,
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

    Raises
    ------
    PermissionDenied
        When the scope may not view, or names a site outside the scope.
    FilterRefused
        When a filter is refused.
    """
    with adjust.single_blas_thread():
        return _build_report(store, scope, settings, filters, outcomes, waves,
                             with_contributions)


def _build_report(store: Store, scope: Scope, settings: Settings, filters: Filters,
                  outcomes: Sequence[str] | None, waves: Sequence[str] | None,
                  with_contributions: bool = False) -> ReportTables:
    require(scope, "view", filters.sites or ())
    k = suppression.validate_min_group_size(settings.min_group_size)
    present = available(store, scope).outcomes
    chosen = [o for o in (outcomes if outcomes is not None else present) if o in present]
    panel_all = load_panel(store, scope, chosen, settings.min_sessions)
    attendance_all = load_attendance(store, scope)
    filtered = filters.sites is not None or filters.roles is not None

    respondents = guard.respondents_table(panel_all, k)
    if filtered:
        guard.guard_filter(panel_all, filters, respondents, k)
        keep = np.ones(len(panel_all), dtype=bool)
        if filters.sites is not None:
            keep &= panel_all["site"].isin(list(filters.sites)).to_numpy()
        if filters.roles is not None:
            keep &= panel_all["role"].isin(list(filters.roles)).to_numpy()
        panel = panel_all.loc[keep].reset_index(drop=True)
        attendance = attendance_all.loc[attendance_all["person"].isin(panel["person"].unique())]
    else:
        panel, attendance = panel_all, attendance_all
    report_waves = list(waves) if waves is not None else None

    cutoffs = {o: (SCALES_BY_KEY[o].cutoff, SCALES_BY_KEY[o].cutoff_direction)
               for o in chosen if SCALES_BY_KEY[o].cutoff is not None}
    descriptives = _descriptive_table(panel_all, panel, chosen, cutoffs, respondents, filters, k,
                                      with_contributions)
    participation = _participation_table(panel_all, attendance_all, panel, attendance, respondents,
                                         filters, k)
    estimates, results = _estimate_table(panel, chosen, cutoffs, k)
    headline_outcome = next((o for o in PRIMARY_OUTCOMES if o in chosen), chosen[0] if chosen else None)
    follow_ups = adjust.follow_up_waves(panel) if len(panel) else []
    headline_wave = follow_ups[-1] if follow_ups else None
    index = adjust.PanelIndex(panel) if len(panel) else None
    balance = _balance_table(panel, headline_outcome, headline_wave, k, index)
    dose, mde = _dose_and_mde_tables(panel, chosen, k, index)
    change = _change_table(panel, chosen, estimates, k, index)
    del index
    reliability = _reliability_table(store, scope, filters, chosen, k)
    quality = _quality_table(store, scope, filters, k)

    if report_waves is not None:
        wanted = set(map(str, report_waves))
        descriptives = descriptives.loc[descriptives["wave"].astype(str).isin(wanted)]
        estimates = estimates.loc[estimates["wave"].astype(str).isin(wanted)]
        participation = participation.loc[participation["wave"].astype(str).isin(wanted)]
        dose = dose.loc[dose["wave"].astype(str).isin(wanted)]
        mde = mde.loc[mde["wave"].astype(str).isin(wanted)]
        change = change.loc[change["wave"].astype(str).isin(wanted)]
        if headline_wave not in wanted:
            kept = [w for w in follow_ups if w in wanted]
            headline_wave = kept[-1] if kept else None

    descriptives, contributions = _split_contributions(descriptives)
    headline = _headline(estimates, results, headline_outcome, headline_wave)
    notes = _notes(panel, estimates, reliability, headline_outcome, k)
    return ReportTables(
        estimates=estimates.reset_index(drop=True),
        descriptives=descriptives.reset_index(drop=True),
        participation=participation.reset_index(drop=True),
        balance=balance, dose=dose.reset_index(drop=True), mde=mde.reset_index(drop=True),
        reliability=reliability, quality=quality, notes=tuple(notes), headline=headline,
        settings=settings, data_version=store.data_version(),
        change=change.reset_index(drop=True),
        descriptive_contributions=(contributions.reset_index(drop=True)
                                   if with_contributions else None),
    )


def write_report(tables: ReportTables, out_dir: str | Path) -> list[Path]:
    """Write estimates.csv, descriptives.csv, participation.csv and balance.csv.

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
    }
    paths = []
    for name, frame in frames.items():
        path = out / name
        csv_text(frame).encode("utf-8")
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


# ------------------------------------------------------------------ suppression helpers


# ------------------------------------------------------------------ descriptives


def _descriptive_table(panel_all: pd.DataFrame, panel: pd.DataFrame, outcomes: Sequence[str],
                       cutoffs: dict, respondents: pd.DataFrame, filters: Filters,
                       k: int, with_contributions: bool = False) -> pd.DataFrame:
    columns = [*DESCRIPTIVE_COLUMNS, "status", "wave_index", "share_high_ci_low", "share_high_ci_high",
               *(CONTRIBUTION_COLUMNS if with_contributions else ())]
    if not outcomes or panel_all.empty:
        return pd.DataFrame(columns=columns)
    floors = ({o: float(SCALES_BY_KEY[o].low) for o in outcomes} if with_contributions
              else None)
    full = guard.suppress_descriptives(_descriptives(panel_all, outcomes, cutoffs, by_site=True, floors=floors),
                                       respondents, _DESCRIPTIVE_VALUES, k)
    if filters.sites is None and filters.roles is None:
        return full[columns]
    selection = (_descriptives(panel, outcomes, cutoffs, by_site=False, floors=floors) if len(panel)
                 else full.iloc[:0])
    selection = selection.copy()
    selection["site"] = "selection"
    if filters.roles is None:
        members = full.loc[full["site"].isin(list(filters.sites))]
        any_hidden = members.groupby(["outcome", "wave"])["suppressed"].any()
    else:
        members = full.iloc[:0]
        any_hidden = pd.Series(dtype=bool)
    small = pd.to_numeric(selection["n"], errors="coerce").fillna(0)
    small = (small > 0) & (small < k)
    key = list(zip(selection["outcome"], selection["wave"]))
    row_small = (small.groupby([selection["outcome"], selection["wave"]]).transform("any")
                 if len(selection) else small)
    hide = row_small.to_numpy(dtype=bool) | np.array(
        [bool(any_hidden.get(kk, False)) for kk in key], dtype=bool)
    selection = guard.blank_rows(selection, "n", _DESCRIPTIVE_VALUES, hide)
    out = pd.concat([selection, members], ignore_index=True)
    return out[columns]


def _split_contributions(descriptives: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The public descriptives (no contribution columns) and the dominance inputs by cell key."""
    present = [c for c in CONTRIBUTION_COLUMNS if c in descriptives.columns]
    contributions = descriptives[["outcome", "wave", "site", "group", *present]].copy()
    return descriptives.drop(columns=present), contributions


# ------------------------------------------------------------------ participation


def _participation_table(panel_all: pd.DataFrame, attendance_all: pd.DataFrame, panel: pd.DataFrame,
                         attendance: pd.DataFrame, respondents: pd.DataFrame, filters: Filters,
                         k: int) -> pd.DataFrame:
    columns = [*_PARTICIPATION_LABELS, "n_respondents", "n_participants", "participation_rate",
               "sessions_median", "sessions_q1", "sessions_q3", "sessions_per_month", "retention",
               "suppressed", "status"]
    if panel.empty:
        return pd.DataFrame(columns=columns)
    participant_stats = ["participation_rate", "sessions_median", "sessions_q1", "sessions_q3",
                         "sessions_per_month", "retention"]
    parts = []
    # sessions up to each survey date: computed once for the whole panel, shared below
    timing_all = attendance_timing(panel_all, attendance_all)
    timing = timing_all if panel is panel_all and attendance is attendance_all else None

    # by wave × site, following the respondents table's pattern (no new hidden cells)
    if filters.roles is None:
        by_site = participation_summary(panel_all, attendance_all, by=("wave", "site"), timing=timing_all)
        if filters.sites is not None:
            by_site = by_site.loc[by_site["site"].isin(list(filters.sites))]
        parts.append(guard.apply_pattern(by_site.assign(breakdown="site"), respondents, participant_stats))
    # by wave (the whole selection)
    by_wave = participation_summary(panel, attendance, by=("wave",), timing=timing).assign(
        breakdown="wave", site="all")
    if filters.sites is None and filters.roles is None:
        parts.append(guard.apply_pattern(by_wave, respondents, participant_stats))
    else:
        sel_rows = [p for p in parts if len(p)]
        member_hidden = (pd.concat(sel_rows).groupby("wave")["suppressed"].any()
                         if sel_rows else pd.Series(dtype=bool))
        resp = pd.to_numeric(by_wave["n_respondents"], errors="coerce").fillna(0)
        part = pd.to_numeric(by_wave["n_participants"], errors="coerce").fillna(0)
        small = ((resp > 0) & (resp < k)) | ((part > 0) & (part < k)) | \
            ((resp - part > 0) & (resp - part < k))
        hide = small.to_numpy() | by_wave["wave"].map(lambda w: bool(member_hidden.get(w, False))).to_numpy()
        blanked = guard.blank_rows(by_wave, "n_respondents", ["n_participants", *participant_stats], hide)
        blanked["n_participants"] = pd.to_numeric(blanked["n_participants"], errors="coerce").round().astype("Int64")
        blanked["site"] = "selection"
        parts.append(blanked)
    # by wave × role (whole selection), two-way role × group with margins
    if filters.roles is None and filters.sites is None:
        by_role = participation_summary(panel, attendance, by=("wave", "role"), timing=timing).assign(
            breakdown="role")
        role_counts = guard.role_table_counts(panel)
        role_pattern = guard.suppress_with_forced(role_counts, "n", [], "role", "group", ["wave"], k)
        parts.append(guard.apply_pattern(by_role, role_pattern.rename(columns={"role": "site"}),
                                    participant_stats, cell_col="role"))
        # by session type: overlapping categories (no additive total), primary + complementary
        by_type = participation_summary(panel, attendance, by=("wave", "session_type"))
        by_type = by_type.assign(breakdown="session_type")
        by_type = suppression.suppress_breakdown(by_type, "n_participants", participant_stats, ["wave"], k)
        by_type["n_respondents"] = pd.NA
        parts.append(by_type)
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    for col in ("site", "role", "session_type"):
        if col not in out.columns:
            out[col] = "all"
        out[col] = out[col].fillna("all")
    for col in ("n_respondents", "n_participants"):
        out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
    out["suppressed"] = out["suppressed"].fillna(False).astype(bool)
    return out.reindex(columns=columns)


# ------------------------------------------------------------------ estimates


def _primary_families(outcomes: Sequence[str]) -> dict[str, str]:
    return {o: SCALES_BY_KEY[o].instrument for o in outcomes if SCALES_BY_KEY[o].primary}


def _estimate_table(panel: pd.DataFrame, outcomes: Sequence[str], cutoffs: dict, k: int
                    ) -> tuple[pd.DataFrame, list[Estimate]]:
    columns = [*ESTIMATE_COLUMNS, *_ESTIMATE_EXTRAS]
    if panel.empty or not outcomes:
        return pd.DataFrame(columns=columns), []
    results = adjust.compare_all(panel, outcomes, cutoffs=cutoffs, primary=_primary_families(outcomes))
    frame = adjust.estimates_frame(results)
    reasons = frame["status"].copy()
    frame = frame.drop(columns=["status"])
    label_cols = (*suppression.ESTIMATE_LABEL_COLUMNS, "adjust_method")
    dose = frame["analysis"] == "dose_response"
    guarded = pd.concat([
        suppression.guard_estimates(frame.loc[~dose], k, label_cols=label_cols),
        suppression.guard_estimates(frame.loc[dose], k, count_cols=("n_participants",),
                                   label_cols=label_cols),
    ]).sort_index()
    guarded["adjust_method"] = guarded["adjust_method"].mask(guarded["suppressed"])
    # keep the estimator's reason when nothing was suppressed but nothing could be computed
    computed_fail = (guarded["status"] == suppression.OK) & guarded["estimate"].isna()
    guarded.loc[computed_fail, "status"] = reasons[computed_fail]
    if dose.any():
        guarded.loc[dose, "n_comparison"] = pd.NA
    sentences, caveats = _texts(results, guarded["suppressed"].to_numpy(dtype=bool), k)
    guarded["sentence"] = sentences
    guarded["caveat"] = caveats
    return guarded.reindex(columns=columns).reset_index(drop=True), results


def _texts(results: Sequence[Estimate], suppressed: np.ndarray, k: int) -> tuple[list[str], list[str]]:
    """A plain-English sentence and caveat per estimate (:mod:`analysis.reporting.interpret`).

    Written from the estimates before guarding, then dropped on suppressed rows: a
    hidden row says only that it is hidden.
    """
    sentences, caveats = [], []
    for est, hidden in zip(results, suppressed):
        if hidden:
            sentences.append(f"Not shown: a group has fewer than {k} people.")
            caveats.append("")
            continue
        scale = SCALES_BY_KEY[est.outcome]
        try:
            sentences.append(str(interpret.sentence(est, scale.label.lower(), scale.unit,
                                                    scale.higher_is_worse, est.wave)))
            caveats.append(" ".join(interpret.caveats(est)))
        except Exception:  # noqa: BLE001 - keep the report whole; fall back to our words
            del sentences[len(caveats):]
            sentences.append(_fallback_sentence(est))
            record = registered_analysis(est.analysis)
            caveats.append(record.assumption if record else "")
    return sentences, caveats


def _fallback_sentence(est: Estimate) -> str:
    row = {"analysis": est.analysis, "outcome": est.outcome, "wave": est.wave,
           "ci_low": est.ci_low, "ci_high": est.ci_high}
    scale = SCALES_BY_KEY.get(str(row["outcome"]))
    label = scale.label if scale else str(row["outcome"])
    estimate = est.estimate
    if estimate is None or row["ci_low"] is None or row["ci_high"] is None:
        return f"{label} at {row['wave']}: no estimate ({est.status})."
    unit = "percentage points" if row["analysis"] == "high_burnout_rd" else (scale.unit if scale else "points")
    if row["analysis"] == "dose_response":
        return (f"{label} at {row['wave']}: each session attended went with a change of "
                f"{estimate:+.2f} {unit} (95% CI {row['ci_low']:+.2f} to {row['ci_high']:+.2f}).")
    words = "lower" if estimate < 0 else "higher"
    if row["analysis"] == "high_burnout_rd":
        return (f"{label} at {row['wave']}: the share above the cut-off was {abs(estimate):.1f} "
                f"percentage points {words} among participants (95% CI {row['ci_low']:+.1f} to "
                f"{row['ci_high']:+.1f}).")
    record = registered_analysis(str(row["analysis"]))
    lead = record.sentence_lead if record else "Participants scored"
    return (f"{label} at {row['wave']}: {lead} {abs(estimate):.1f} {unit} {words} than the comparison "
            f"group (95% CI {row['ci_low']:+.1f} to {row['ci_high']:+.1f}).")


# ------------------------------------------------------------------ pairs-based tables


def _pairs_all(panel: pd.DataFrame, outcome: str, index: adjust.PanelIndex | None = None) -> pd.DataFrame:
    """Every follow-up row with the person's baseline score (last baseline row), all waves.

    Built from row positions (:class:`analysis.stats.adjust.PanelIndex`) instead of a merge,
    with only the columns the dose, MDE and balance tables read. With ``index`` the
    latest outcome's frame is kept for the next caller (one at a time: at 1M rows each
    is ~60 MB).
    """
    if index is None:
        index = adjust.PanelIndex(panel)
    key = ("pairs_all", outcome)
    if key in index.memo:
        return index.memo[key]  # type: ignore[return-value]
    follow = np.flatnonzero(panel["wave_index"].to_numpy() > 0)
    follow = follow[index.person[follow] >= 0]
    base = index.baseline_row[index.person[follow]]
    values = index.values(outcome)
    follow_up = values[follow]
    baseline = np.where(base >= 0, values[np.maximum(base, 0)], np.nan)
    keep = (base >= 0) & ~np.isnan(follow_up) & ~np.isnan(baseline)
    rows = follow[keep]
    pairs = panel[["person", "wave", "wave_index", "participant", "sessions"]].iloc[rows]
    pairs = pairs.reset_index(drop=True)
    pairs.insert(3, "follow_up", follow_up[keep])
    pairs["baseline"] = baseline[keep]
    pairs["change"] = pairs["follow_up"] - pairs["baseline"]
    pairs["participant"] = pairs["participant"].astype(bool)
    for old in [k for k in index.memo if k[0] == "pairs_all"]:
        del index.memo[old]
    index.memo[key] = pairs
    return pairs


CHANGE_COLUMNS: tuple[str, ...] = (
    "outcome", "wave", "wave_index", "baseline_wave", "group", "n", "mean_change", "sd_change",
    "ci_low", "ci_high", "suppressed", "status",
)


def _change_table(panel: pd.DataFrame, outcomes: Sequence[str], estimates: pd.DataFrame, k: int,
                  index: adjust.PanelIndex | None) -> pd.DataFrame:
    """Change since baseline per outcome × follow-up wave × group (participants, comparison).

    The people are those :func:`analysis.stats.adjust.did` uses at that wave (its pairs: seen
    at baseline and at the wave with the outcome at both; group = participant at the
    wave), so ``mean_change(participants) - mean_change(comparison)`` is the DiD
    estimate and ``n`` its ``n_participants`` / ``n_comparison``. The 95% interval is
    the t interval of each group's mean change. Suppressed like that estimate
    (:func:`analysis.privacy.suppression.guard_estimates` on the same two counts): both rows of
    a wave are hidden when either group has 1 to k - 1 people (or the DiD row is
    hidden), and carry no numbers when either group is empty.
    """
    if index is None or not outcomes or panel.empty:
        return pd.DataFrame(columns=list(CHANGE_COLUMNS))
    from scipy import stats  # noqa: PLC0415 - only here

    base_waves = panel.loc[panel["wave_index"] == 0, "wave"]
    baseline_wave = str(base_waves.iloc[0]) if len(base_waves) else None
    wave_index = panel[["wave", "wave_index"]].drop_duplicates("wave")
    wave_index = dict(zip(wave_index["wave"].astype(str), wave_index["wave_index"]))
    did_hidden = set()
    if len(estimates):
        did_rows = estimates.loc[(estimates["analysis"] == "did") & estimates["suppressed"].astype(bool)]
        did_hidden = set(zip(did_rows["outcome"], did_rows["wave"].astype(str)))
    rows = []
    for outcome in outcomes:
        for wave in adjust.follow_up_waves(panel):
            # the DiD's own pairs, built without keeping them in the index's memo
            pairs = adjust._build_pairs(panel, outcome, wave, (), index)
            group = pairs["participant"].to_numpy(dtype=bool)
            change = pairs["change"].to_numpy(dtype="float64")
            n1, n0 = int(group.sum()), int((~group).sum())
            small = (0 < n1 < k) or (0 < n0 < k) or (outcome, str(wave)) in did_hidden
            empty = (n1 == 0 or n0 == 0) and not small
            status = suppression.INSUFFICIENT if small else (suppression.NO_DATA if empty else suppression.OK)
            for name, values in (("participants", change[group]), ("comparison", change[~group])):
                row = {"outcome": outcome, "wave": str(wave), "wave_index": wave_index.get(str(wave)),
                       "baseline_wave": baseline_wave, "group": name, "suppressed": small,
                       "status": status}
                if status == suppression.OK:
                    n = len(values)
                    mean = float(values.mean())
                    sd = float(values.std(ddof=1)) if n > 1 else float("nan")
                    half = float(stats.t.ppf(0.975, max(n - 1, 1))) * sd / math.sqrt(n)
                    row.update(n=n, mean_change=mean, sd_change=sd, ci_low=mean - half,
                               ci_high=mean + half)
                rows.append(row)
            del pairs
    out = pd.DataFrame(rows).reindex(columns=list(CHANGE_COLUMNS))
    out["n"] = pd.to_numeric(out["n"], errors="coerce").round().astype("Int64")
    for col in ("mean_change", "sd_change", "ci_low", "ci_high"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    out["wave_index"] = pd.to_numeric(out["wave_index"], errors="coerce").astype("Int64")
    out["suppressed"] = out["suppressed"].fillna(False).astype(bool)
    return out


def _dose_and_mde_tables(panel: pd.DataFrame, outcomes: Sequence[str], k: int,
                         index: adjust.PanelIndex | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The dose and MDE tables, one pass over the outcomes (each outcome's pairs once)."""
    parts, rows = [], []
    for outcome in outcomes:
        pairs = _pairs_all(panel, outcome, index)
        if not pairs.empty:
            parts.append(_dose_part(pairs, outcome))
        rows.extend(_mde_rows(pairs, outcome, k))
    return _dose_table(parts, k), _mde_table(rows)


def _dose_part(pairs: pd.DataFrame, outcome: str) -> pd.DataFrame:
    pairs = pairs[["wave", "wave_index", "sessions", "change"]].assign(
        dose_band=dose_band(pairs["sessions"]).astype(str))  # a copy: pairs are shared
    banded = pairs.groupby(["wave", "wave_index", "dose_band"], observed=True)["change"].agg(
        n="count", mean_change="mean", sd_change="std").reset_index()
    total = pairs.groupby(["wave", "wave_index"], observed=True)["change"].agg(
        n="count", mean_change="mean", sd_change="std").reset_index().assign(dose_band="all")
    return pd.concat([banded, total], ignore_index=True).assign(outcome=outcome)


def _dose_table(parts: list[pd.DataFrame], k: int) -> pd.DataFrame:
    columns = ["outcome", "wave", "wave_index", "dose_band", "n", "mean_change", "sd_change", "ci_low",
               "ci_high", "suppressed", "status"]
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True)
    n = table["n"].to_numpy(dtype="float64")
    from scipy import stats  # noqa: PLC0415 - only here
    half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * table["sd_change"] / np.sqrt(np.maximum(n, 1))
    table["ci_low"] = table["mean_change"] - half
    table["ci_high"] = table["mean_change"] + half
    table = suppression.suppress_breakdown(table, "n", ["mean_change", "sd_change", "ci_low", "ci_high"],
                                          ["outcome", "wave"], k, category_col="dose_band",
                                          total_value="all")
    return table.sort_values(["outcome", "wave_index", "dose_band"], kind="stable").reindex(columns=columns)


def _mde_rows(pairs: pd.DataFrame, outcome: str, k: int) -> list[dict]:
    rows = []
    scale = SCALES_BY_KEY[outcome]
    for (wave, _), group in pairs.groupby(["wave", "wave_index"], sort=False):
        n1 = int(group["participant"].sum())
        n0 = int(len(group) - n1)
        small = (0 < n1 < k) or (0 < n0 < k)
        if small or n1 == 0 or n0 == 0:
            rows.append({"outcome": outcome, "wave": wave, "unit": scale.unit, "suppressed": small,
                         "status": suppression.INSUFFICIENT if small else suppression.NO_DATA})
            continue
        a = group.loc[group["participant"], "baseline"]
        b = group.loc[~group["participant"], "baseline"]
        pooled = ((n1 - 1) * a.var(ddof=1) + (n0 - 1) * b.var(ddof=1)) / (n1 + n0 - 2)
        sd = math.sqrt(pooled) if pooled > 0 else None
        d = minimum_detectable_effect(n1, n0)
        rows.append({"outcome": outcome, "wave": wave, "n_participants": n1, "n_comparison": n0,
                     "mde_d": d, "baseline_sd": sd,
                     "mde_points": d * sd if d is not None and sd is not None else None,
                     "unit": scale.unit, "suppressed": False, "status": suppression.OK})
    return rows


def _mde_table(rows: list[dict]) -> pd.DataFrame:
    columns = ["outcome", "wave", "n_participants", "n_comparison", "mde_d", "baseline_sd", "mde_points",
               "unit", "suppressed", "status"]
    out = pd.DataFrame(rows).reindex(columns=columns)
    for col in ("n_participants", "n_comparison"):
        out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
    for col in ("mde_d", "baseline_sd", "mde_points"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    out["suppressed"] = out["suppressed"].fillna(False).astype(bool)
    return out


def _balance_table(panel: pd.DataFrame, outcome: str | None, wave: str | None, k: int,
                   index: adjust.PanelIndex | None = None) -> pd.DataFrame:
    """IPW balance for the headline; only when both groups, and every covariate level
    shown, have at least ``k`` people in each group (an SMD of a tiny level reveals it)."""
    columns = ["outcome", "wave", "covariate", "smd_before", "smd_after", "variance_ratio_before",
               "variance_ratio_after", "flag"]
    if outcome is None or wave is None:
        return pd.DataFrame(columns=columns)
    pairs = _pairs_all(panel, outcome, index)
    pairs = pairs.loc[pairs["wave"].astype(str) == str(wave)]
    n1 = int(pairs["participant"].sum())
    n0 = int(len(pairs) - n1)
    if n1 < k or n0 < k:
        return pd.DataFrame(columns=columns)
    balance = adjust.balance_table(panel, outcome, wave, index=index)
    table = balance.table.copy()
    # covariate levels are taken at baseline inside adjust; count them the same way
    base = panel.loc[panel["wave_index"] == 0, ["person", "site", "role"]].drop_duplicates("person", keep="last")
    people = pairs[["person", "participant"]].merge(base, on="person", how="left")
    keep = []
    for name in table["covariate"].astype(str):
        if "=" not in name:
            keep.append(True)
            continue
        covariate, level = name.split("=", 1)
        if covariate not in people.columns:
            keep.append(False)
            continue
        at_level = people[covariate].astype(str) == level
        c1 = int((at_level & people["participant"]).sum())
        c0 = int((at_level & ~people["participant"]).sum())
        keep.append(c1 >= k and c0 >= k)
    table = table.loc[keep]
    table.insert(0, "wave", str(wave))
    table.insert(0, "outcome", outcome)
    return table.reindex(columns=columns).reset_index(drop=True)


# ------------------------------------------------------------------ reliability and quality


def _reliability_table(store: Store, scope: Scope, filters: Filters, outcomes: Sequence[str],
                       k: int) -> pd.DataFrame:
    from analysis.stats.reliability import RELIABILITY_COLUMNS, reliability_table  # noqa: PLC0415

    columns = [*RELIABILITY_COLUMNS, "suppressed"]
    parts = []
    for outcome in outcomes:
        scale = SCALES_BY_KEY[outcome]
        if scale.scored_only:
            continue
        items = load_item_scores(store, scope, outcome, filters)
        if items.empty:
            continue
        # load_item_scores already reversed the reversed items: hand them over as item scores
        items = items.rename(columns={c: f"{c}_score" for c in scale.item_columns})
        parts.append(reliability_table(items, [scale]))
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True)
    small = (table["n"] > 0) & (table["n"] < k)
    table["suppressed"] = small
    for col in ("alpha", "ci_low", "ci_high"):
        table[col] = table[col].mask(small)
    table["n"] = table["n"].astype("Int64").mask(small)
    table.loc[small, "caution"] = False
    table.loc[small, "status"] = suppression.INSUFFICIENT
    return table.reindex(columns=columns)


def _quality_table(store: Store, scope: Scope, filters: Filters, k: int) -> pd.DataFrame:
    quality = response_quality(store, scope, filters)
    small = ((quality["n_responses"] > 0) & (quality["n_responses"] < k)) | \
        ((quality["n_scored"] > 0) & (quality["n_scored"] < k))
    quality["suppressed"] = small.to_numpy()
    for col in ("n_responses", "n_scored"):
        quality[col] = pd.to_numeric(quality[col], errors="coerce").astype("Int64").mask(small)
    quality["share_items_missing"] = quality["share_items_missing"].mask(small)
    return quality


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


def _notes(panel: pd.DataFrame, estimates: pd.DataFrame, reliability: pd.DataFrame,
           headline_outcome: str | None, k: int) -> list[str]:
    notes = []
    if len(panel):
        started = panel.groupby("wave_index")["sessions"].max().fillna(0) > 0
        pre_waves = int((~started).sum())
        if pre_waves < 2:
            notes.append(
                "Only one wave was collected before anyone attended a session, so whether "
                "participants and the comparison group were already moving differently "
                "(parallel trends) cannot be tested; the DiD estimate assumes it.")
    if len(estimates) and estimates["suppressed"].any():
        notes.append(f"Some estimates are not shown because a group has fewer than {k} people.")
    if len(reliability):
        low = reliability.loc[reliability["caution"].fillna(False).astype(bool)]
        for scale_key in dict.fromkeys(low["scale"]):
            waves = ", ".join(map(str, low.loc[low["scale"] == scale_key, "wave"]))
            notes.append(f"{SCALES_BY_KEY[scale_key].label}: Cronbach's α below 0.70 at {waves}; "
                         "read its results with caution.")
    return notes


# ------------------------------------------------------------------ command line


def summary_paragraph(tables: ReportTables, out_dir: str | Path | None = None) -> str:
    """One paragraph for the command line: what was written and the headline."""
    est = tables.estimates
    shown = int((~est["suppressed"].astype(bool)).sum()) if len(est) else 0
    hidden = int(est["suppressed"].astype(bool).sum()) if len(est) else 0
    where = f" to {out_dir}" if out_dir is not None else ""
    text = (f"Wrote the report{where}: {shown} estimates shown and {hidden} suppressed "
            f"(groups under {tables.settings.min_group_size}), "
            f"{len(tables.descriptives)} descriptive cells.")
    if tables.headline is not None:
        text += f" Headline ({tables.headline.outcome_label}, {tables.headline.wave}, DiD): " \
                f"{tables.headline.sentence}"
        if tables.headline.lords_paradox:
            text += " " + tables.headline.lords_paradox
    for note in tables.notes:
        text += " " + note
    return text


def add_report_arguments(parser: "argparse.ArgumentParser") -> None:  # noqa: F821
    """The ``report`` subcommand's arguments (for the CLI registry)."""
    parser.add_argument("--db", required=True, help="the DuckDB database file")
    parser.add_argument("--out", required=True, help="directory for the CSV files")
    parser.add_argument("--min-group-size", type=int, default=None,
                        help="anonymity threshold k (at least 3; default: the stored setting)")


def run_report_command(args: "argparse.Namespace") -> int:  # noqa: F821
    """Run ``report``: exit 0 done, 2 input refused, 1 anything else."""
    import sys  # noqa: PLC0415
    from dataclasses import replace  # noqa: PLC0415

    from analysis.access.scope import LOCAL  # noqa: PLC0415
    from analysis.access.settings import load_settings  # noqa: PLC0415
    from analysis.storage.store import StoreUnavailable  # noqa: PLC0415

    if args.min_group_size is not None and args.min_group_size < suppression.ABSOLUTE_MIN_GROUP_SIZE:
        print(f"--min-group-size {args.min_group_size} refused: the anonymity threshold must be at "
              f"least {suppression.ABSOLUTE_MIN_GROUP_SIZE} so that no one can be identified.",
              file=sys.stderr)
        return 2
    if not Path(args.db).is_file():
        print(f"--db {args.db}: no database file there.", file=sys.stderr)
        return 2
    try:
        with Store(args.db) as store:
            settings = load_settings(store)
            if args.min_group_size is not None:
                settings = replace(settings, min_group_size=int(args.min_group_size))
            tables = build_report(store, LOCAL, settings=settings)
            write_report(tables, args.out)
    except StoreUnavailable as error:
        print(str(error), file=sys.stderr)
        return 1
    except (FilterRefused, ValueError) as error:
        print(f"report refused: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - the CLI reports, never tracebacks
        print(f"report failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(summary_paragraph(tables, args.out))
    return 0
