"""Every analysis × outcome × follow-up wave at once, with multiplicity-adjusted p-values.

The report's estimates table: :func:`compare_all` runs the analyses of
:mod:`analysis.stats.causal` and :mod:`analysis.stats.weighting` over one shared
:class:`analysis.panel.index.PanelIndex`; :func:`estimates_frame` makes them a tidy frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from analysis.panel.index import PanelIndex, follow_up_waves
from analysis.panel.pairs import shared_pairs
from analysis.stats.causal import DEFAULT_COVARIATES, ancova, dose_response, high_burnout_rd, unadjusted
from analysis.stats.dr_did import weighted_did
from analysis.stats.estimates import Estimate
from analysis.stats.group_time import did_at_wave
from analysis.stats.multiplicity import adjust_families
from analysis.stats.regression import one_blas_thread

__all__ = [
    "ANALYSES", "ESTIMATE_COLUMNS", "EXTRA_COLUMNS", "OPTIONAL_ANALYSES", "compare_all", "estimates_frame",
]

ANALYSES: tuple[str, ...] = ("unadjusted", "did", "ancova", "ipw", "high_burnout_rd", "dose_response")
#: computed only when asked for (``analyses=``): the doubly robust companion of ``ipw``
OPTIONAL_ANALYSES: tuple[str, ...] = ("dr_did",)
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "analysis", "outcome", "wave", "estimate", "ci_low", "ci_high", "p_value", "p_adjusted",
    "n_participants", "n_comparison", "effect_size", "effect_size_kind", "residual_df", "status",
    "adjust_method",
)
#: memo entries (first key part) that hold for every wave: kept from one wave to the next
WAVE_FREE_MEMO = frozenset({"program timing", "outcome matrix", "dr_did levels"})
#: taken from each estimate's ``extra``: how the SE was clustered, people left out (started by baseline)
EXTRA_COLUMNS: tuple[str, ...] = ("se_type", "left_out")


def compare_all(panel: pd.DataFrame, outcomes: Sequence[str],
                cutoffs: Mapping[str, tuple[float, str]] | None = None,
                primary: Mapping[str, str] | None = None,
                covariates: Sequence[str] = DEFAULT_COVARIATES,
                analyses: Iterable[str] = ANALYSES,
                waves: Iterable[str] | None = None, index: PanelIndex | None = None) -> list[Estimate]:
    """Every analysis × outcome × follow-up wave, with multiplicity-adjusted p-values.

    Parameters
    ----------
    outcomes : outcome columns to analyse (missing columns are skipped).
    cutoffs : outcome → ``(cutoff, direction)`` for ``high_burnout_rd`` (only
        outcomes listed get that analysis).
    primary : outcome → instrument family (e.g. ``{"cbi_work": "cbi",
        "cbi_personal": "cbi", "cbi_client": "cbi"}``) naming the pre-specified
        primary outcomes.
    waves : follow-up waves to analyse (default: all). A family is one analysis at one
        wave, so the rows of a wave are the same whichever other waves are analysed.
    index : the panel's :class:`analysis.panel.index.PanelIndex` when the caller has one
        (the report: its later tables then find the program timing and the outcome
        matrices computed); its memo keeps only :data:`WAVE_FREE_MEMO` entries afterwards.

    Multiplicity
    ------------
    A *family* is one analysis at one wave (the analyses are alternative views
    of the same question and waves are separate questions, so neither is pooled).
    Within it, the primary outcomes of one instrument are Holm-adjusted together
    (family-wise error: the confirmatory claim), and all other outcomes are
    Benjamini–Hochberg-adjusted together (false discovery rate: exploratory).
    Results carry ``p_adjusted`` and ``adjust_method`` (``"holm"`` or
    ``"benjamini_hochberg"``); estimates without a p-value keep ``None``.
    """
    cutoffs = cutoffs or {}
    primary = primary or {}
    wanted = [a for a in (*ANALYSES, *OPTIONAL_ANALYSES) if a in set(analyses)]
    present = [o for o in outcomes if o in panel.columns]
    results: list[Estimate] = []
    one_blas_thread()
    index = index if index is not None else PanelIndex(panel)
    wanted_waves = None if waves is None else set(map(str, waves))
    for wave in follow_up_waves(panel):
        if wanted_waves is not None and str(wave) not in wanted_waves:
            continue
        for outcome in present:
            # one pairs frame per outcome × wave, shared by every analysis
            pairs = shared_pairs(panel, outcome, wave, covariates, index=index)
            index.memo[("pairs", outcome, str(wave), ())] = pairs
            for analysis in wanted:
                if analysis == "unadjusted":
                    results.append(unadjusted(panel, outcome, wave, index=index))
                elif analysis == "did":
                    results.append(did_at_wave(panel, outcome, wave, index=index))
                elif analysis == "ancova":
                    results.append(ancova(panel, outcome, wave, covariates, index=index))
                elif analysis in ("ipw", "dr_did"):
                    method = "ipw" if analysis == "ipw" else "dr"
                    results.append(weighted_did(panel, outcome, wave, covariates, method=method, index=index))
                elif analysis == "high_burnout_rd" and outcome in cutoffs:
                    cutoff, direction = cutoffs[outcome]
                    results.append(high_burnout_rd(panel, outcome, wave, cutoff, direction, index=index))
                elif analysis == "dose_response":
                    results.append(dose_response(panel, outcome, wave, index=index))
        # one wave's pairs at a time in memory; who started when, the outcomes as people ×
        # waves and the covariates' levels are the same for every wave
        kept = {key: value for key, value in index.memo.items() if key[0] in WAVE_FREE_MEMO}
        index.memo.clear()
        index.memo.update(kept)
    return adjust_families(results, primary)


def estimates_frame(estimates: Sequence[Estimate]) -> pd.DataFrame:
    """Tidy frame of estimates, one row each (``None`` becomes empty/NaN).

    Columns: ``analysis, outcome, wave, estimate, ci_low, ci_high, p_value,
    p_adjusted, n_participants, n_comparison, effect_size, effect_size_kind,
    residual_df, status, adjust_method``, then ``se_type`` (how the standard error was
    computed and clustered) and ``left_out`` (people at the wave left out of ``did``
    and ``ipw`` because they had started the program by their baseline survey).
    """
    rows = [{**{column: getattr(est, column) for column in ESTIMATE_COLUMNS},
             **{column: est.get(column) for column in EXTRA_COLUMNS}} for est in estimates]
    frame = pd.DataFrame(rows, columns=[*ESTIMATE_COLUMNS, *EXTRA_COLUMNS])
    frame["left_out"] = pd.array(frame["left_out"], dtype="Int64")
    for column in ("estimate", "ci_low", "ci_high", "p_value", "p_adjusted", "effect_size", "residual_df"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in ("n_participants", "n_comparison"):
        frame[column] = pd.array(frame[column], dtype="Int64")
    return frame
