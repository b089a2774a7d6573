"""The analyses registry: one record per analysis, read by every output that describes one.

The dashboards' labels and help, the plain-English sentences and caveats, the export's
methods note and the leadership report all read these records, so no description of a
method is written twice. The ``name`` is the ``analysis`` value of estimates.csv
(DESIGN.md); the texts state what :mod:`analysis.stats` actually computes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["Analysis", "ANALYSES", "ANALYSES_BY_NAME", "MEAN_DIFFERENCE_ANALYSES", "analysis"]


@dataclass(frozen=True)
class Analysis:
    """How one analysis is named, described and qualified, in every output.

    Attributes
    ----------
    name : str
        The ``analysis`` value in estimates.csv (``"did"``).
    label : str
        Plain label for dashboards and charts ("Change compared with the comparison group");
        the technical name is in ``help`` and ``method``.
    short_label : str
        Compact label for dense places (forest-plot rows of the leadership report).
    estimand : str
        What the number estimates, in words.
    assumption : str
        The one assumption a reader must accept, in plain words (the sentence's caveat).
    method : str
        The method as the methods note states it (model, standard errors, interval).
    help : str
        One-sentence explanation for a dashboard's help text.
    how_to_read : str
        How to read this analysis's row in a chart of several analyses.
    sentence_lead : str
        Opening words of a plain sentence about an estimate.
    citation : str
        The reference for the method.
    mean_difference : bool
        True when the estimate is a difference of mean scores between the groups (the
        analyses drawn side by side in the forest plot).
    """

    name: str
    label: str
    short_label: str
    estimand: str
    assumption: str
    method: str
    help: str
    how_to_read: str
    sentence_lead: str
    citation: str
    mean_difference: bool


ANALYSES: tuple[Analysis, ...] = (
    Analysis(
        name="unadjusted",
        label="Simple difference",
        short_label="Unadjusted",
        estimand="the difference in mean score at a wave, participants minus comparison",
        assumption="Raw difference: it does not account for who chose to join.",
        method="Difference of means at a wave (Welch t-test; Hedges' g). Assumes nothing about "
               "who joined: a raw comparison.",
        help="Simple difference: participants' average score minus the comparison group's at "
             "this wave.",
        how_to_read="compares the groups at this wave.",
        sentence_lead="Without adjustment, participants scored",
        citation="Welch (1947), Biometrika 34:28-35; Hedges & Olkin (1985), Statistical Methods "
                 "for Meta-Analysis",
        mean_difference=True,
    ),
    Analysis(
        name="did",
        label="Change compared with the comparison group",
        short_label="Difference-in-differences",
        estimand="the average effect at a wave on people who took part by then but not by their "
                 "baseline survey: their mean change since baseline minus that of people not (yet) "
                 "taking part",
        assumption="Assumes both groups would have changed alike without the program (parallel trends).",
        method="Group-time difference-in-differences (Callaway & Sant'Anna 2021, not-yet-treated "
               "comparison): each cohort's change from baseline minus the change of people not taking "
               "part at the wave, averaged over cohorts by size; people who had attended a session by "
               "their first survey have no pre-program measure and are left out (counted per wave in "
               "left_out). Standard errors CR2 with Satterthwaite df, clustered by site when "
               "participation is concentrated by site (se_type says which and why), else by person. "
               "Pre-program placebo estimates (event_study.csv) check parallel trends where people "
               "answered two surveys before joining.",
        help="Difference-in-differences (change over time compared between groups): how much "
             "participants' scores changed since the first survey, minus how much the "
             "comparison group's changed; people already attending at the first survey are left out.",
        how_to_read="(change over time compared between groups) compares how much each group "
                    "changed since the first survey.",
        sentence_lead="Compared with their own baseline, participants changed",
        citation="Callaway & Sant'Anna (2021), J Econometrics 225:200-230; Pustejovsky & Tipton (2018), "
                 "J Bus Econ Stat 36:672-683",
        mean_difference=True,
    ),
    Analysis(
        name="ancova",
        label="Same starting score",
        short_label="ANCOVA",
        estimand="the difference in mean follow-up score between people with the same baseline "
                 "score, site and role",
        assumption="Assumes that people with the same baseline score would have scored alike later, "
                   "whichever group they were in.",
        method="Follow-up score adjusted for baseline score, site and role (OLS, HC3; site absorbed by "
               "demeaning, identical to site dummies). Assumes "
               "selection on the measured baseline score. Differs from DiD when groups differ at "
               "baseline (Lord's paradox).",
        help="ANCOVA (adjusted for the baseline score, site and role): the difference between "
             "people who started at the same level.",
        how_to_read="(adjusted for the baseline score, site and role) compares people who started "
                    "at the same level.",
        sentence_lead="Adjusted for baseline score, site and role, participants scored",
        citation="Van Breukelen (2006), J Clin Epidemiol 59:920-925; Lord (1967), Psychol Bull 68:304-305",
        mean_difference=True,
    ),
    Analysis(
        name="ipw",
        label="Weighted for who joins",
        short_label="Weighted (IPW)",
        estimand="the average effect on participants: their change since baseline minus the change of "
                 "non-participants weighted to resemble them (same people as the DiD)",
        assumption="Assumes that, within the same site and role, both groups would have changed alike "
                   "without the program.",
        method="Inverse-probability-weighted difference-in-differences on participants (Abadie 2005; "
               "the normalized estimator of Sant'Anna & Zhao 2020): logistic propensity on site and "
               "role at baseline; comparison people weighted by the odds of joining; comparison people "
               "with propensity ≥ 0.99 get no weight; site or role levels without participants (or "
               "without comparison people) are dropped, counted and said. Standard errors from the "
               "influence function, which accounts for the estimated propensity, clustered as the DiD. "
               "Marked not credible when a covariate's |SMD| after weighting exceeds 0.1 or the "
               "weighted comparison group's effective size collapses. The doubly robust version "
               "(Sant'Anna & Zhao 2020) leads the headline when credible.",
        help="IPW (inverse-probability weighting): the comparison group reweighted to resemble "
             "the people who joined, then changes since baseline compared.",
        how_to_read="(inverse-probability weighting) reweights the comparison group to look like "
                    "those who joined.",
        sentence_lead="Weighted for who joined, participants changed",
        citation="Abadie (2005), Rev Econ Stud 72:1-19; Sant'Anna & Zhao (2020), J Econometrics "
                 "219:101-122; Austin & Stuart (2015), Stat Med 34:3661-3679",
        mean_difference=True,
    ),
    Analysis(
        name="high_burnout_rd",
        label="Share above the cut-off",
        short_label="Share above cut-off (pp)",
        estimand="the share above the instrument's cut-off, participants minus comparison, in "
                 "percentage points",
        assumption="Raw difference in shares: it does not account for who chose to join.",
        method="Risk difference of the share above the instrument's cut-off, in percentage "
               "points (Newcombe hybrid-score CI and score test; when an expected count is under 5, "
               "an exact unconditional mid-p test with the interval that inverts it, so the two "
               "agree). The relative risk is the plain ratio of the shares. Unadjusted.",
        help="Share above the cut-off: the percentage of participants above the instrument's "
             "cut-off minus the percentage of the comparison group.",
        how_to_read="compares the percentage of each group above the instrument's cut-off.",
        sentence_lead="The share above the cut-off was",
        citation="Newcombe (1998), Stat Med 17:873-890",
        mean_difference=False,
    ),
    Analysis(
        name="dose_response",
        label="Per session attended",
        short_label="Per session",
        estimand="the change from baseline per session attended, among participants",
        assumption="People choose how often to attend, so those who attend more may differ in other "
                   "ways: this supports, but does not prove, an effect.",
        method="Change from baseline per session attended, participants only (OLS, HC3). "
               "Attendance is self-chosen: descriptive support, not proof.",
        help="Per session attended: how much more participants' scores changed for each further "
             "session they attended.",
        how_to_read="shows how the change since baseline goes with the number of sessions attended.",
        sentence_lead="Each session attended went with a change of",
        citation="Long & Ervin (2000), Am Stat 54:217-224 (HC3 standard errors)",
        mean_difference=False,
    ),
)
"""Every analysis of :func:`analysis.stats.compare.compare_all`, in reporting order."""

ANALYSES_BY_NAME: Mapping[str, Analysis] = MappingProxyType({a.name: a for a in ANALYSES})

MEAN_DIFFERENCE_ANALYSES: tuple[Analysis, ...] = tuple(a for a in ANALYSES if a.mean_difference)
"""The analyses that estimate one difference of mean scores, drawn side by side."""


def analysis(name: str) -> Analysis | None:
    """The record called ``name``, or None for a name the registry does not know."""
    return ANALYSES_BY_NAME.get(str(name))
