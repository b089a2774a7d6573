"""Group-time average effects on participants (Callaway & Sant'Anna 2021) and the event study.

Who is compared
---------------
A person's program start is their first session. A person's *cohort* ``g`` is the first
wave at whose survey they had taken part (``participant`` true); ``g`` is known only
when they were also surveyed, not yet taking part, at wave ``g - 1``. People who had
attended a session by their first survey (their baseline) have no measure from before
the program: they are **left out** of every comparison here and counted per wave
(:func:`left_out_counts`).

Estimates
---------
``ATT(g, t)`` (t ≥ g) is the mean change from wave ``g - 1`` to ``t`` of cohort ``g`` minus
the mean change over the same waves of people not (yet) taking part at ``t``: the
never-treated and the not-yet-treated, seen at both waves (Callaway & Sant'Anna's
"not yet treated" control group, base period ``g - 1``). Before the start (t < g)
the placebo ``ATT(g, t)`` compares the change from ``t - 1`` to ``t`` (their "varying"
base period): under parallel trends it is 0.

The ``did`` row at wave ``w`` averages, over cohorts ``g ≤ w`` weighted by their size,
the group-time ATTs *from baseline* (base wave 0 for every cohort: Y_w - Y_0 of
cohort g minus that of the people not taking part at w): the average effect at ``w``
among people who took part by ``w`` but had not by their baseline survey, as the data
contract's "change from baseline" says (:func:`did_at_wave`). The event study keeps
Callaway & Sant'Anna's base ``g - 1`` (the cells above, checked against csdid) and
averages ``ATT(g, g + e)`` over cohorts for each time since start ``e``.

Inference: the cells are stacked (one row per person and cell, the change as outcome,
a mean and a participant shift per cell); every estimate here is a linear combination
of that saturated OLS, so its standard error is CR2 with Satterthwaite df
(:func:`analysis.stats.clustering.cr2_contrast`), clustered by person (a person used in
several cells is one cluster) or by site when participation is concentrated by site
(:func:`analysis.stats.clustering.choose_clusters`). Cohort weights are treated as
fixed.

References
----------
Callaway B, Sant'Anna PHC (2021). J Econometrics 225:200-230.
Roth J, Sant'Anna PHC, Bilinski A, Poe J (2023). J Econometrics 235:2218-2244.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.panel.index import PanelIndex
from analysis.panel.participation import as_flag
from analysis.stats.clustering import ClusterChoice, DesignBlock, choose_clusters, cr2_blocks
from analysis.stats.effect_sizes import standardize
from analysis.stats.estimates import Estimate, not_enough, t_inference

__all__ = [
    "Cell",
    "ProgramTiming",
    "baseline_cell",
    "did_at_wave",
    "event_study",
    "group_time_cells",
    "left_out_counts",
    "outcome_matrix",
    "program_timing",
]

NEVER = -1
LEFT_OUT_NOTE = (
    "people who had attended a session by their first survey have no measure from before "
    "the program and are left out"
)


@dataclass(frozen=True, eq=False)
class ProgramTiming:
    """Each person's waves, participation and cohort (arrays over people × waves)."""

    people: np.ndarray  # person ids, sorted
    waves: tuple[str, ...]  # labels by wave_index (position = index)
    observed: np.ndarray  # bool, people × waves
    participant: np.ndarray  # bool, people × waves (False where not observed)
    cohort: np.ndarray  # wave index of the first participation, NEVER, or -2 (unknown)
    left_out: np.ndarray  # bool: had started by their first survey
    site: np.ndarray | None  # site at the first survey
    rows: np.ndarray  # panel row per person × wave (-1 where not observed)
    clusters: ClusterChoice
    cluster_codes: np.ndarray  # cluster code per person (their position, or their site's code)


def program_timing(panel: pd.DataFrame, index: PanelIndex | None = None) -> ProgramTiming:
    """People × waves arrays of :class:`ProgramTiming` (memoised on ``index``)."""
    if index is not None and ("program timing",) in index.memo:
        return index.memo[("program timing",)]  # type: ignore[return-value]
    frame = panel[["person", "wave", "wave_index", "sessions", "participant"]]
    labels = frame.drop_duplicates("wave_index").sort_values("wave_index")
    n_waves = int(frame["wave_index"].max()) + 1 if len(frame) else 0
    waves = [""] * n_waves
    for label, position in zip(labels["wave"].astype(str), labels["wave_index"].astype(int)):
        waves[position] = label
    people, person_code = np.unique(frame["person"].to_numpy(), return_inverse=True)
    wave_code = frame["wave_index"].to_numpy(dtype="int64")
    rows = np.full((people.size, n_waves), -1, dtype="int64")
    rows[person_code, wave_code] = np.arange(len(frame))  # the last row of a person × wave wins
    observed = rows >= 0
    started = pd.to_numeric(frame["sessions"]).fillna(0).to_numpy() > 0
    took_part = as_flag(frame["participant"]).to_numpy()
    participant = np.where(observed, took_part[np.maximum(rows, 0)], False)
    has_started = np.where(observed, started[np.maximum(rows, 0)], False)
    first = np.argmax(observed, axis=1)
    left_out = has_started[np.arange(people.size), first]
    any_part = participant.any(axis=1)
    g = np.where(any_part, np.argmax(participant, axis=1), NEVER)
    known = (g > 0) & observed[np.arange(people.size), np.maximum(g - 1, 0)]
    cohort = np.where(any_part, np.where(known, g, -2), NEVER)
    cohort = np.where(left_out, -3, cohort)
    site = None
    if "site" in panel.columns:
        site = (
            panel["site"].astype("string").fillna("missing").to_numpy()[rows[np.arange(people.size), first]]
        )
    eligible = ~left_out
    clusters = choose_clusters(people[eligible], None if site is None else site[eligible], any_part[eligible])
    codes = np.arange(people.size)
    if clusters.unit == "site" and site is not None:
        codes = pd.factorize(site, sort=False)[0]
    timing = ProgramTiming(
        people, tuple(waves), observed, participant, cohort, left_out, site, rows, clusters, codes
    )
    if index is not None:
        index.memo[("program timing",)] = timing
    return timing


def outcome_matrix(
    panel: pd.DataFrame, outcome: str, timing: ProgramTiming, index: PanelIndex | None = None
) -> np.ndarray:
    """The outcome as people × waves (NaN where not observed or missing).

    Memoised on ``index`` (read-only then): the did, ipw and dr_did rows of every wave
    read the same matrix.
    """
    key = ("outcome matrix", outcome)
    if index is not None and key in index.memo:
        return index.memo[key]  # type: ignore[return-value]
    values = pd.to_numeric(panel[outcome]).astype("float64").to_numpy()
    matrix = np.where(timing.observed, values[np.maximum(timing.rows, 0)], np.nan)
    if index is not None:
        matrix.flags.writeable = False
        index.memo[key] = matrix
    return matrix


@dataclass(frozen=True, eq=False)
class Cell:
    """One group-time comparison: cohort ``g`` at wave ``t``, changes from wave ``base``."""

    cohort: int
    period: int
    base: int
    treated: np.ndarray  # person positions
    control: np.ndarray
    change_treated: np.ndarray
    change_control: np.ndarray

    @property
    def estimate(self) -> float:
        return float(self.change_treated.mean() - self.change_control.mean())

    @property
    def event_time(self) -> int:
        return self.period - self.cohort


def _cell(timing: ProgramTiming, y: np.ndarray, g: int, t: int, base: int) -> Cell | None:
    change = y[:, t] - y[:, base]
    present = ~np.isnan(change) & ~timing.left_out
    treated = np.flatnonzero(present & (timing.cohort == g))
    later = max(t, base)
    # not yet taking part at the later wave (never-treated included), not cohort g itself
    control = np.flatnonzero(present & ~timing.participant[:, later] & (timing.cohort != g))
    if treated.size < 2 or control.size < 2:
        return None
    return Cell(g, t, base, treated, control, change[treated], change[control])


def group_time_cells(panel: pd.DataFrame, outcome: str, index: PanelIndex | None = None) -> list[Cell]:
    """Every estimable ``ATT(g, t)`` cell (post: base ``g - 1``; pre: base ``t - 1``).

    Cells with fewer than two participants or comparison people are skipped.
    """
    timing = program_timing(panel, index)
    y = outcome_matrix(panel, outcome, timing, index)
    cells = []
    n_waves = len(timing.waves)
    for g in sorted(set(timing.cohort[timing.cohort > 0].tolist())):
        for t in range(1, n_waves):
            base = g - 1 if t >= g else t - 1
            cell = _cell(timing, y, g, t, base)
            if cell is not None:
                cells.append(cell)
    return cells


def _cells_by_event_time(timing: ProgramTiming, y: np.ndarray) -> Iterator[tuple[int, list[Cell]]]:
    """The cells of :func:`group_time_cells` by event time ``t - g`` (ascending, cohorts
    ascending within one), built one event time at a time: all of an outcome's cells at
    once hold ~100 MB at 1M rows."""
    cohorts = sorted(set(timing.cohort[timing.cohort > 0].tolist()))
    n_waves = len(timing.waves)
    for e in range(1 - cohorts[-1], n_waves - cohorts[0]) if cohorts else ():
        chosen = []
        for g in cohorts:
            t = g + e
            cell = _cell(timing, y, g, t, g - 1 if t >= g else t - 1) if 1 <= t < n_waves else None
            if cell is not None:
                chosen.append(cell)
        if chosen:
            yield e, chosen


def _stacked_contrast(
    cells: Sequence[Cell], weights: Sequence[float], timing: ProgramTiming
) -> tuple[float, float, float, int, str]:
    """(estimate, se, df, clusters, se_type) of ``Σ w_c ATT_c`` by CR2 on the stacked cells.

    Each cell is a column block of the stacked design (its mean and participant shift),
    handed to :func:`analysis.stats.clustering.cr2_blocks` as such.
    """
    blocks = []
    for cell in cells:
        part = np.ones((cell.treated.size + cell.control.size, 2))
        part[cell.treated.size :, 1] = 0.0
        person = np.concatenate([cell.treated, cell.control])
        y = np.concatenate([cell.change_treated, cell.change_control])
        blocks.append(DesignBlock(part, y, timing.cluster_codes[person]))
    contrast = np.zeros(2 * len(cells))
    contrast[1::2] = weights
    test = cr2_blocks(blocks, contrast)
    return test.estimate, test.se, test.df, test.clusters, timing.clusters.se_type


def left_out_counts(panel: pd.DataFrame, outcome: str, index: PanelIndex | None = None) -> dict[str, int]:
    """Per wave label: people with the outcome at that wave who are left out (started by baseline)."""
    timing = program_timing(panel, index)
    y = outcome_matrix(panel, outcome, timing, index)
    present = ~np.isnan(y) & timing.left_out[:, None]
    return {label: int(present[:, i].sum()) for i, label in enumerate(timing.waves)}


def baseline_cell(
    panel: pd.DataFrame, outcome: str, wave: str, index: PanelIndex | None = None
) -> tuple[Cell | None, int, int]:
    """The ``did`` row's people at ``wave``: (cell, participants, comparison) with base wave 0.

    Participants: took part by ``wave`` but not by their baseline survey; comparison:
    not taking part at ``wave`` (never- and not-yet-treated); both seen at baseline and
    ``wave`` with the outcome at both. The cell is None when a group has fewer than 2.
    """
    timing = program_timing(panel, index)
    w = timing.waves.index(str(wave))
    y = outcome_matrix(panel, outcome, timing, index)
    change = y[:, w] - y[:, 0]
    present = ~np.isnan(change) & ~timing.left_out
    treated = np.flatnonzero(present & timing.participant[:, w])
    control = np.flatnonzero(present & ~timing.participant[:, w])
    if treated.size < 2 or control.size < 2:
        return None, int(treated.size), int(control.size)
    return (
        Cell(0, w, 0, treated, control, change[treated], change[control]),
        int(treated.size),
        int(control.size),
    )


def did_at_wave(
    panel: pd.DataFrame, outcome: str, wave: str, confidence: float = 0.95, *, index: PanelIndex | None = None
) -> Estimate:
    """The ``did`` row: the group-time ATTs at ``wave`` with base wave 0, averaged over cohorts.

    ``ATT(g, w)`` from baseline is the mean change (baseline to ``w``) of cohort g minus
    that of the people not taking part at ``w``; their average over cohorts weighted by
    cohort size is the mean change of everyone who took part by ``w`` but not by their
    baseline, minus the comparison's (the comparison group is the same for every
    cohort). So it is also the two-by-two DiD of change from baseline among the people
    not left out, and the change table's two mean changes differ by exactly this
    estimate. CR2 SE (one row per person: HC2 when clustered by person) with
    Satterthwaite df.

    ``extra`` has ``cohorts`` (tuples ``(cohort wave, participants, ATT from baseline)``;
    ``"unknown"`` for participants whose joining wave was not observed), ``left_out``
    (people at this wave who had started by their baseline survey), ``se_type`` and
    ``cluster_reason``, ``clusters``, the mean changes, and ``baseline_smd``
    (participants minus comparison at baseline over the pooled baseline SD), which the
    report uses to warn about regression to the mean. ``effect_size`` is the estimate
    over the pooled baseline SD of the people compared.
    """
    labels = {"analysis": "did", "outcome": outcome, "wave": str(wave)}
    timing = program_timing(panel, index)
    if str(wave) not in timing.waves or timing.waves.index(str(wave)) == 0:
        return not_enough("not a follow-up wave in the data", **labels)
    # left_out_counts(...)[wave], for the one wave
    seen = ~np.isnan(outcome_matrix(panel, outcome, timing, index)[:, timing.waves.index(str(wave))])
    left_out = int(np.count_nonzero(seen & timing.left_out))
    cell, n1, n0 = baseline_cell(panel, outcome, wave, index)
    if cell is None:
        reason = (
            "no participants who joined after their baseline survey seen at baseline and this wave"
            if n1 == 0
            else "no comparison people seen at baseline and this wave"
            if n0 == 0
            else f"fewer than 2 people in a group (participants {n1}, comparison {n0})"
        )
        return not_enough(reason, n_participants=n1, n_comparison=n0, extra={"left_out": left_out}, **labels)
    estimate, se, df, clusters, se_type = _stacked_contrast([cell], [1.0], timing)
    value, low, high, p_value, se = t_inference(estimate, se, df, confidence)
    if low is None:
        return not_enough(
            "no variation in change from baseline",
            n_participants=n1,
            n_comparison=n0,
            extra={"left_out": left_out},
            **labels,
        )
    extra = _did_extra(panel, outcome, cell, timing, index)
    sd = extra["baseline_sd"]
    return Estimate(
        estimate=value,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        n_participants=n1,
        n_comparison=n0,
        effect_size=standardize(value, sd),
        effect_size_kind="d_baseline_sd",
        residual_df=df,
        extra={"se": se, "se_type": se_type, "cluster_reason": timing.clusters.reason, "clusters": clusters,
               "left_out": left_out, "left_out_note": LEFT_OUT_NOTE, **extra},
        **labels,
    )


def _did_extra(
    panel: pd.DataFrame, outcome: str, cell: Cell, timing: ProgramTiming, index: PanelIndex | None
) -> dict:
    """The did row's descriptive extras: cohorts, mean changes, baseline means and SMD."""
    y = outcome_matrix(panel, outcome, timing, index)
    base1, base0 = y[cell.treated, 0], y[cell.control, 0]
    sd = _pooled(base1, base0)
    mean0 = float(cell.change_control.mean())
    cohort = timing.cohort[cell.treated]
    cohorts = tuple(
        (timing.waves[g] if g > 0 else "unknown", int((cohort == g).sum()),
         float(cell.change_treated[cohort == g].mean() - mean0))
        for g in sorted(set(cohort.tolist()), key=lambda g: (g <= 0, g))
    )
    return {
        "cohorts": cohorts,
        "waves_since_baseline": int(cell.period),
        "change_participants": float(cell.change_treated.mean()),
        "change_comparison": mean0,
        "baseline_participants": float(base1.mean()),
        "baseline_comparison": float(base0.mean()),
        "baseline_sd": sd,
        "baseline_smd": standardize(float(base1.mean() - base0.mean()), sd),
        "estimand": "average effect at this wave on people who took part by it but not by their "
        "baseline survey, against people not (yet) taking part",
    }


def _pooled(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.size < 2 or b.size < 2:
        return None
    pooled = ((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2)
    return float(np.sqrt(pooled)) if pooled > 0 else None


def _people(timing: ProgramTiming, positions: Sequence[np.ndarray]) -> int:
    """How many distinct people the person positions name (a mark per person: no sort)."""
    seen = np.zeros(timing.people.size, dtype=bool)
    for part in positions:
        seen[part] = True
    return int(np.count_nonzero(seen))


EVENT_STUDY_COLUMNS: tuple[str, ...] = (
    "outcome",
    "event_time",
    "period",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "std_error",
    "df",
    "n_participants",
    "n_comparison",
    "cohorts",
    "se_type",
)


def event_study(
    panel: pd.DataFrame, outcome: str, confidence: float = 0.95, *, index: PanelIndex | None = None
) -> pd.DataFrame:
    """Effect by waves since the first session (``event_time`` e = t - g), with placebos.

    ``e ≥ 0``: average of ``ATT(g, g + e)`` over cohorts (weights: participants per
    cell). ``e < 0``: placebo estimates, each the change from ``t - 1`` to ``t`` before
    the start (needs two pre-program waves, i.e. cohorts joining at wave 2 or later);
    under parallel trends they are 0, so they are the parallel-trends check the report
    shows. ``period`` is ``"pre"`` or ``"post"``. CR2 intervals as :func:`did_at_wave`.
    """
    timing = program_timing(panel, index)
    rows = []
    for e, chosen in _cells_by_event_time(timing, outcome_matrix(panel, outcome, timing, index)):
        sizes = np.array([c.treated.size for c in chosen], dtype="float64")
        estimate, se, df, _, se_type = _stacked_contrast(chosen, sizes / sizes.sum(), timing)
        value, low, high, p_value, se = t_inference(estimate, se, df, confidence)
        rows.append(
            {
                "outcome": outcome,
                "event_time": int(e),
                "period": "pre" if e < 0 else "post",
                "estimate": value,
                "ci_low": low,
                "ci_high": high,
                "p_value": p_value,
                "std_error": se,
                "df": df,
                "n_participants": _people(timing, [c.treated for c in chosen]),
                "n_comparison": _people(timing, [c.control for c in chosen]),
                "cohorts": len(chosen),
                "se_type": se_type,
            }
        )
    return pd.DataFrame(rows, columns=list(EVENT_STUDY_COLUMNS))
