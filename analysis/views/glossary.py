"""The glossary: every term the dashboards use, in plain words, with the technical name a
statistician would look for. The pages say things plainly; this is where the names live."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """One glossary entry: the words the dashboards use, what they mean, the technical name."""

    term: str
    meaning: str
    technical: str = ""


GLOSSARY: tuple[Term, ...] = (
    Term("Participants",
         "People who had attended at least the chosen number of peer-support sessions by the "
         "date of their survey (1 by default; change it in the sidebar)."),
    Term("Comparison group",
         "People who answered the survey but had not attended any session by then.",
         "control group (not randomized)"),
    Term("Wave",
         "One round of the survey (for example 2025-Q1). The first wave is the baseline: "
         "before, or at, the program's start."),
    Term("Change since baseline",
         "How much a group's average score moved from the baseline survey to a later one, "
         "counting only people who answered both."),
    Term("Program effect",
         "Participants' change since baseline minus the comparison group's change. Negative "
         "means participants' burnout fell more (or rose less): for burnout, lower is better.",
         "difference-in-differences (DiD) estimate"),
    Term("95% interval",
         "The range the true value plausibly lies in, given how many people answered. When "
         "it includes 0, the data cannot tell whether there is any difference.",
         "95% confidence interval (CI)"),
    Term("Beyond chance",
         "The 95% interval leaves out 0: a difference this large would rarely appear by "
         "chance alone if there were none.",
         "statistically significant at the 5% level"),
    Term("Level at a wave",
         "A group's average score at one survey: where it stands, not how it changed. People "
         "who join may start out more burned out, so levels say little about the program."),
    Term("Adjusted for the starting score",
         "Compares people who started at the same score (and practice and role).",
         "ANCOVA (analysis of covariance)"),
    Term("Weighted for who joins",
         "The comparison group is reweighted to resemble the people who joined.",
         "inverse-probability weighting (IPW), propensity score"),
    Term("Both groups would have changed alike",
         "What the program effect assumes: without the program, participants' scores would "
         "have moved as the comparison group's did.",
         "parallel-trends assumption"),
    Term("Starting high and coming down",
         "People who start with unusually high scores tend to score lower next time even "
         "without any help; part of a larger improvement among them may be this.",
         "regression to the mean"),
    Term("Two ways of comparing disagree",
         "Comparing change and adjusting for the starting score can give different answers "
         "when the groups started apart; the dashboards then make no claim.",
         "Lord's paradox"),
    Term("Effect size in standard deviations",
         "A difference divided by how spread out scores are, so outcomes measured in "
         "different units can be compared: about 0.2 is small, 0.5 moderate, 0.8 large.",
         "standardized mean difference (Cohen's d, Hedges' g)"),
    Term("Groups alike at the start",
         "Whether participants and the comparison group had similar backgrounds (practice, "
         "role, starting score); a difference above 0.1 standard deviations is flagged.",
         "covariate balance, standardized mean difference (SMD)"),
    Term("Smallest difference the data could detect",
         "With this many people, differences smaller than this cannot be told apart from "
         "chance (with 80% power at the 5% level).",
         "minimum detectable effect (MDE)"),
    Term("Sessions attended",
         "How many sessions a participant had attended by their survey; the dashboards show "
         "change by band of sessions and a straight-line summary per session.",
         "dose-response"),
    Term("High burnout",
         "A score at or above the instrument's published cut-off.",
         "caseness, cut-off score"),
    Term("Do a scale's questions agree?",
         "Whether the questions of one scale move together (0 to 1); below 0.7, read that "
         "scale's results with caution.",
         "internal consistency, Cronbach's alpha (α)"),
    Term("Too few people to show",
         "Any group smaller than the anonymity threshold (5 by default) is never shown, nor "
         "anything that would let it be worked out by subtraction.",
         "small-cell suppression, minimum cell size k"),
)
