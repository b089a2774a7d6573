"""The headline of one outcome at one wave: which estimate leads, the bracket, and how robust it is.

Pure: takes the estimates already computed (:func:`analysis.stats.compare.compare_all`)
and the event study, returns a frozen :class:`Headline` the report and the pages word.

* **Lead**: the doubly robust DiD when it was computed and is credible (balance after
  weighting and effective size fine), else the ``did`` row.
* **Bracket** (Angrist & Pischke 2009, section 5.4): DiD and ANCOVA bound the effect from
  the two ends of what the data allow. DiD is right if, without the program, both groups
  would have changed alike; ANCOVA is right if people with the same baseline score were
  equally likely to join whatever came next. When people joined because of a stable
  trait, DiD is right and ANCOVA off; when they joined on a passing high score, ANCOVA is
  right and DiD overstates the fall (regression to the mean).
* **Sensitivity**: the E-value of the lead (:func:`analysis.stats.sensitivity.e_value`)
  and the relative-magnitude trends breakdown from the pre-program placebo estimates
  (:func:`analysis.stats.sensitivity.trends_breakdown`).

References
----------
Angrist JD, Pischke J-S (2009). Mostly Harmless Econometrics, 5.4 ("bracketing").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from analysis.stats.estimates import Estimate
from analysis.stats.sensitivity import EValue, TrendsBreakdown, e_value, trends_breakdown

__all__ = ["ANCOVA_ASSUMPTION", "DID_ASSUMPTION", "Headline", "headline"]

DID_ASSUMPTION = (
    "Change-from-baseline comparison (DiD): right if, without the program, participants' scores "
    "would have changed as much as everyone else's."
)
ANCOVA_ASSUMPTION = (
    "Baseline-adjusted comparison (ANCOVA): right if people with the same starting score were "
    "equally likely to join, whatever happened to them next."
)


@dataclass(frozen=True)
class Headline:
    """What leads for one outcome × wave, the DiD–ANCOVA bracket and the sensitivity numbers."""

    outcome: str
    wave: str
    lead: Estimate | None
    lead_reason: str
    bracket: tuple[float, float] | None  # (lower, upper) of the DiD and ANCOVA estimates
    did: Estimate | None
    ancova: Estimate | None
    e_value: EValue | None
    trends: TrendsBreakdown | None
    left_out: int | None


def _pick_lead(estimates: Mapping[str, Estimate]) -> tuple[Estimate | None, str]:
    dr = estimates.get("dr_did")
    did = estimates.get("did")
    if dr is not None and dr.ok and dr.estimate is not None:
        return dr, "the doubly robust comparison balanced the groups well, so it leads"
    if did is not None and did.ok and did.estimate is not None:
        why = "the change-from-baseline comparison leads"
        if dr is not None and dr.estimate is not None:
            why += f" (the weighted comparison is {dr.status})"
        return did, why
    return None, "no comparison could be estimated"


def headline(estimates: Mapping[str, Estimate], event_study: pd.DataFrame | None = None) -> Headline:
    """The :class:`Headline` from one outcome × wave's estimates keyed by analysis name.

    ``event_study`` is :func:`analysis.stats.group_time.event_study` of the outcome (its
    ``period == "pre"`` rows are the placebos). The trends breakdown applies to the
    ``did`` row: its change spans ``wave_index`` waves since baseline, so a violation of
    up to ``M̄ × max|placebo|`` per wave adds up over them.
    """
    lead, reason = _pick_lead(estimates)
    did, ancova = estimates.get("did"), estimates.get("ancova")
    any_est = lead or did or ancova
    outcome, wave = (any_est.outcome, any_est.wave) if any_est is not None else ("", "")
    bracket = None
    if did is not None and ancova is not None and did.estimate is not None and ancova.estimate is not None:
        bracket = (min(did.estimate, ancova.estimate), max(did.estimate, ancova.estimate))
    evalue = None
    sd = did.get("baseline_sd") if did is not None else None
    if lead is not None and sd and lead.ci_low is not None and lead.ci_high is not None:
        evalue = e_value(lead.estimate, lead.ci_low, lead.ci_high, sd)  # type: ignore[arg-type]
    trends = None
    if did is not None and did.ok and did.get("se") and did.residual_df:
        placebos = []
        if event_study is not None and len(event_study):
            pre = event_study.loc[(event_study["period"] == "pre") & event_study["estimate"].notna()]
            placebos = [float(v) for v in pre["estimate"]]
        waves_after = max(1, int(did.get("waves_since_baseline") or 1))
        trends = trends_breakdown(
            did.estimate,
            did.get("se"),
            did.residual_df,
            placebos,  # type: ignore[arg-type]
            waves_after=waves_after,
        )
    left_out = did.get("left_out") if did is not None else None
    return Headline(outcome, wave, lead, reason, bracket, did, ancova, evalue, trends, left_out)
