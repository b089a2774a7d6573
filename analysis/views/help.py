"""Help text the dashboards show beside their charts: each method in words and
"how to read this" per chart.

The method labels, method help and the methods part of the forest plot's help are read from
the analyses registry (:mod:`analysis.definitions.analyses`).
"""

from __future__ import annotations

from analysis.definitions.analyses import ANALYSES, MEAN_DIFFERENCE_ANALYSES

#: The four ways of comparing the groups, in the order the forest plot lists them.
METHOD_LABELS = {a.name: a.label for a in MEAN_DIFFERENCE_ANALYSES}


#: Each method in words, for help texts.
METHOD_HELP = {a.name: a.help for a in ANALYSES}


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
