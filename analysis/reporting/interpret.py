"""Plain-language sentences and caveats for estimates.

Written for a clinic director: one sentence per result, the size in the
outcome's own units with its 95% interval, then Cohen's word for the size.
Caveats are short and say which assumption a result leans on.

Effect-size words follow Cohen (1988): |d| < 0.2 negligible, < 0.5 small,
< 0.8 moderate, ≥ 0.8 large (the same benchmarks are used for Cohen's h).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pandas as pd

from analysis.definitions.analyses import analysis as registered_analysis
from analysis.stats.estimates import Estimate, finite_or_none

__all__ = ["effect_size_word", "as_estimate", "sentence", "caveats", "lords_paradox_note"]

_ROW_FIELDS = ("analysis", "outcome", "wave", "estimate", "ci_low", "ci_high", "p_value", "n_participants",
               "n_comparison", "effect_size", "effect_size_kind", "residual_df", "p_adjusted",
               "adjust_method")

# Effect sizes on Cohen's d scale (or h for proportions): the benchmarks apply.
STANDARDIZED_KINDS = frozenset({"hedges_g", "cohen_d", "d_baseline_sd", "d_follow_up_sd", "cohen_h"})
CANNOT_RULE_OUT = "the data cannot rule out no effect"



def as_estimate(value: Estimate | Mapping[str, Any]) -> Estimate:
    """Accept an :class:`Estimate` or a row of ``estimates_frame`` (a mapping).

    Row values that are NaN/NA become ``None``; keys outside the Estimate fields
    go to ``extra``. A row whose status is not ``"ok"`` or whose estimate is
    missing reads as "not enough data".
    """
    if isinstance(value, Estimate):
        return value
    row = dict(value)
    fields: dict[str, Any] = {}
    for name in _ROW_FIELDS:
        item = row.get(name)
        if name in ("analysis", "outcome", "wave", "effect_size_kind", "adjust_method"):
            missing = item is None or (not isinstance(item, str) and pd.isna(item))
            fields[name] = None if missing else str(item)
        elif name in ("n_participants", "n_comparison"):
            number = finite_or_none(item)
            fields[name] = None if number is None else int(number)
        else:
            fields[name] = finite_or_none(item)
    for name in ("analysis", "outcome", "wave"):
        fields[name] = fields[name] or ""
    status = str(row.get("status") or "ok")
    if status != "ok" and not status.startswith(("not enough data", "not credible")):
        status = f"not enough data: {status}"
    if status == "ok" and fields["estimate"] is None:
        status = "not enough data: no estimate"
    extra = {k: v for k, v in row.items() if k not in _ROW_FIELDS and k != "status"}
    return Estimate(status=status, extra=extra, **fields)


def effect_size_word(value: float | None) -> str | None:
    """Cohen's word for a standardized effect: negligible, small, moderate or large."""
    if value is None:
        return None
    size = abs(value)
    if size < 0.2:
        return "negligible"
    if size < 0.5:
        return "small"
    if size < 0.8:
        return "moderate"
    return "large"


def _decimals(value: float) -> int:
    # Scales run from 1–4 (OLBI) to 0–100 (CBI): keep two significant digits for small values.
    return 1 if abs(value) >= 1 else 2


def _number(value: float, decimals: int | None = None) -> str:
    places = _decimals(value) if decimals is None else decimals
    text = f"{value:.{places}f}"
    if text.lstrip("-").strip("0.") == "":
        text = text.lstrip("-")
    return text.replace("-", "−")


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + _number(value)


def _interval(est: Estimate, flip: bool = False) -> str | None:
    if est.ci_low is None or est.ci_high is None:
        return None
    low, high = (-est.ci_high, -est.ci_low) if flip else (est.ci_low, est.ci_high)
    places = _decimals(est.estimate if est.estimate is not None else max(abs(low), abs(high)))
    return f"95% CI {_number(low, places)} to {_number(high, places)}"


def _includes_zero(est: Estimate) -> bool:
    return est.ci_low is not None and est.ci_high is not None and est.ci_low <= 0 <= est.ci_high


def sentence(estimate: Estimate | Mapping[str, Any], outcome_label: str | None = None,
             unit_label: str = "points", higher_is_worse: bool = True, wave_label: str | None = None) -> str:
    """One plain sentence describing an estimate.

    Parameters
    ----------
    estimate : an :class:`~analysis.stats.estimates.Estimate` (participants minus
        comparison) or a row of :func:`analysis.stats.compare.estimates_frame`.
    outcome_label : what the outcome is called, e.g. ``"work burnout"``
        (default: the outcome's column name).
    unit_label : the outcome's units, e.g. ``"points"`` (risk differences always
        use percentage points).
    higher_is_worse : whether a higher score is worse (burnout) or better
        (resilience). A sized effect that goes against participants is labelled
        "unfavourable to participants".
    wave_label : optional wave name to mention.

    Examples
    --------
    >>> est = Estimate("did", "cbi_work", "w1", -8.5, -9.6, -7.4, 0.001, 40, 60, -0.6, "d_baseline_sd")
    >>> sentence(est, "work burnout", "points")  # doctest: +NORMALIZE_WHITESPACE
    "Participants' work burnout fell 8.5 points more than non-participants' (difference −8.5,
    95% CI −9.6 to −7.4) — a moderate effect."
    """
    estimate = as_estimate(estimate)
    outcome_label = outcome_label or estimate.outcome or "the outcome"
    if estimate.status.startswith("not credible") and estimate.estimate is not None:
        reason = estimate.status.removeprefix("not credible: ")
        text = sentence(replace(estimate, status="ok"), outcome_label, unit_label, higher_is_worse,
                        wave_label)
        return f"{text} This weighted comparison is not credible: {reason}."
    if not estimate.ok or estimate.estimate is None:
        where = f" at {wave_label}" if wave_label else ""
        reason = estimate.status.removeprefix("not enough data: ")
        return f"There is not enough data to compare {outcome_label}{where}: {reason}."
    value = estimate.estimate
    lower = value < 0
    amount = f"{_number(abs(value))} {unit_label}"
    analysis = estimate.analysis
    when = f" at {wave_label}" if wave_label else ""

    if analysis in ("did", "ipw", "dr_did"):
        since = f" between baseline and {wave_label}" if wave_label else ""
        others = "non-participants'" if analysis == "did" else "comparable non-participants'"
        lead = {"did": "", "ipw": "Weighted for who joined, ",
                "dr_did": "Weighted and adjusted for who joined, "}
        subject = f"{lead[analysis]}{'p' if lead[analysis] else 'P'}articipants' {outcome_label}"
        if value == 0:
            body = f"{subject} changed by the same amount as {others}{since}"
        else:
            verb = "fell" if lower else "rose"
            body = f"{subject} {verb} {amount} more than {others}{since}"
    elif analysis in ("high_burnout_rd", "risk_difference"):
        side = "low" if estimate.get("direction") == "low" else "high"
        pp = f"{_number(abs(value))} percentage points"
        comparison = "lower than" if lower else "higher than"
        body = (f"The share of participants with {side} {outcome_label}{when} was "
                + ("the same as" if value == 0 else f"{pp} {comparison}") + " among non-participants")
    elif analysis == "dose_response":
        direction = "fall" if lower else "rise"
        body = (f"Among participants, each extra session attended went with a {direction} of {amount} "
                f"in {outcome_label}{when}")
    else:
        leads = {"ancova": "Taking baseline scores into account, participants' "}
        lead = leads.get(analysis, "Participants' ")
        comparison = "the same as" if value == 0 else f"{amount} {'lower' if lower else 'higher'} than"
        body = f"{lead}{outcome_label}{when} was {comparison} non-participants'"

    # Magnitudes are spoken without sign ("fell 8.5"); the numbers in brackets keep the
    # one sign convention of every table and tile (participants minus comparison), so a
    # reader never sees an interval of the opposite sign beside the estimate.
    interval = _interval(estimate)
    signed = f"{'per session' if analysis == 'dose_response' else 'difference'} {_signed(value)}, "
    inside = "; ".join(part for part in ((signed + interval) if interval else None,
                                          _p_text(estimate)) if part)
    text = body + (f" ({inside})" if inside else "")
    return text + _size_tail(estimate, lower, higher_is_worse)


#: analyses that adjust for who joined: their numbers may be called effects
ADJUSTED = frozenset({"did", "ancova", "ipw", "dr_did"})


def _p_text(est: Estimate) -> str | None:
    """Where the estimate belongs to a family of outcomes looked at together, its adjusted p
    (the raw p of one of several outcomes overstates the evidence); else nothing."""
    if est.p_adjusted is None:
        return None
    method = {"holm": "Holm", "benjamini_hochberg": "Benjamini–Hochberg"}.get(est.adjust_method or "", "")
    return f"{_p(est.p_adjusted)} adjusted for the outcomes looked at together" + (
        f", {method}" if method else "")


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def _size_tail(est: Estimate, lower: bool, higher_is_worse: bool) -> str:
    """" — a moderate effect" (adjusted) or " — a moderate difference" (raw); no size word when the
    interval includes zero (then only that the data cannot rule out none)."""
    noun = "effect" if est.analysis in ADJUSTED else "difference"
    if _includes_zero(est):
        return f" — the data cannot rule out no {noun}."
    word = effect_size_word(est.effect_size) if est.effect_size_kind in STANDARDIZED_KINDS else None
    if not word:
        return "."
    bad_share = est.analysis in ("high_burnout_rd", "risk_difference")
    favourable = lower if bad_share else (lower == higher_is_worse)
    against = "" if favourable or word == "negligible" else ", unfavourable to participants"
    return f" — a {word} {noun}{against}."


def caveats(estimate: Estimate | Mapping[str, Any], reliability: float | None = None,
            trends: object | None = None,
            small_group: int = 30, baseline_gap: float = 0.2, higher_is_worse: bool = True) -> list[str]:
    """Short caveats for one estimate, most important first.

    Parameters
    ----------
    estimate : the result to qualify.
    reliability : Cronbach's α of the outcome scale, when known; below 0.7 adds a
        caveat (measurement error blurs and shrinks differences).
    trends : a :class:`analysis.stats.causal.TrendsCheck` or caveat string for DiD.
    small_group : group size under which results are called imprecise.
    baseline_gap : standardized baseline difference (``extra["baseline_smd"]``
        of a DiD estimate) from which regression to the mean is mentioned.
    higher_is_worse : whether a high score is the bad end.

    Returns
    -------
    list of short sentences (empty only for a clean, large-sample result).
    """
    estimate = as_estimate(estimate)
    if not estimate.ok:
        return [estimate.status[0].upper() + estimate.status[1:] + "."]
    notes: list[str] = []
    record = registered_analysis(estimate.analysis)
    assumption = record.assumption if record else None
    if assumption:
        notes.append(assumption)
    if estimate.analysis == "did":
        gap = estimate.get("baseline_smd")
        if gap is not None and abs(gap) >= baseline_gap:
            worse_start = (gap > 0) == higher_is_worse
            if worse_start:
                notes.append("Participants started with worse scores than non-participants; part of their "
                             "larger improvement may be regression to the mean.")
            else:
                notes.append("Participants started with better scores than non-participants; regression to "
                             "the mean may hide part of their improvement.")
        caveat = trends if isinstance(trends, str) else getattr(trends, "caveat", None)
        if caveat:
            notes.append(caveat[0].upper() + caveat[1:] + ".")
    sizes = [n for n in (estimate.n_participants, estimate.n_comparison) if n is not None]
    if sizes and min(sizes) < small_group:
        counts = " and ".join(str(n) for n in sizes)
        notes.append(f"Small groups ({counts} people): the estimate is imprecise.")
    if reliability is not None and reliability < 0.7:
        notes.append(f"The scale's reliability is low (α = {reliability:.2f}, below 0.70): measurement "
                     "error blurs differences.")
    if _includes_zero(estimate):
        noun = "effect" if estimate.analysis in ADJUSTED else "difference"
        notes.append(f"The 95% CI includes zero: we cannot rule out no {noun}.")
    return notes


def _verdict(est: Estimate) -> str:
    interval = "" if est.ci_low is None else f" ({_interval(est, flip=False)})"
    if _includes_zero(est):
        return f"no clear difference{interval}"
    return f"a difference of {_number(est.estimate)}{interval}"


def lords_paradox_note(did_est: Estimate | Mapping[str, Any],
                       ancova_est: Estimate | Mapping[str, Any]) -> str | None:
    """Explain a disagreement between the DiD and ANCOVA estimates, else ``None``.

    They disagree when their signs differ or exactly one CI excludes zero. This is
    Lord's paradox: with groups that differ at baseline, the change score (DiD)
    and the baseline-adjusted follow-up (ANCOVA) answer different questions under
    different assumptions (Van Breukelen 2006).
    """
    did_est, ancova_est = as_estimate(did_est), as_estimate(ancova_est)
    if not (did_est.ok and ancova_est.ok) or did_est.estimate is None or ancova_est.estimate is None:
        return None
    signs_differ = did_est.estimate * ancova_est.estimate < 0
    one_clear = _includes_zero(did_est) != _includes_zero(ancova_est)
    if not (signs_differ or one_clear):
        return None
    start = ""
    base_p, base_c = did_est.get("baseline_participants"), did_est.get("baseline_comparison")
    if base_p is not None and base_c is not None:
        relation = "higher" if base_p > base_c else "lower" if base_p < base_c else "the same"
        start = (f" Here participants started {relation} at baseline ({_number(base_p)} vs "
                 f"{_number(base_c)}).")
    return (
        f"The change-from-baseline analysis (DiD) shows {_verdict(did_est)}, while the baseline-adjusted "
        f"analysis (ANCOVA) shows {_verdict(ancova_est)}. This happens when the groups differ at baseline "
        f"(Lord's paradox).{start} DiD assumes both groups would have changed by the same amount without the "
        "program — right when people joined for stable reasons (parallel trends). ANCOVA assumes people with "
        "the same baseline score would have ended up alike — right when people joined because of their "
        "baseline score; then regression to the mean inflates the DiD estimate. With one pre-program wave, "
        "parallel trends cannot be tested."
    )

