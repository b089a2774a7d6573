"""Overview: in one minute, does the peer-support program help, and is it used?

Storyboard: the verdict and the effect first (on a phone, the first thing below the title),
then each group's change since baseline behind it, then use; where each group stands at
the latest wave is context, folded away and labelled as levels, not the effect.
"""

from __future__ import annotations

import streamlit as st

from analysis.definitions.plain_text import markdown_escape
from analysis.views.overview import (
    format_change,
    format_change_interval,
    format_count,
    format_effect,
    format_interval,
    format_level,
    format_share,
)
from ui.charts import overview_for, show_chart
from ui.page import page_start, selection_footer

store, selection = page_start(
    "Peer support at a glance",
    "Are participants less burned out than colleagues who do not take part, and is the "
    "program used? From your own anonymized survey and attendance data.")
model = overview_for(store, selection)

# wave and practice labels come from uploads: escaped so they render as written
st.header(markdown_escape(model.verdict), anchor=False)
st.caption(markdown_escape(model.direction))
(st.success if model.can_claim else st.info)(
    markdown_escape(model.sentence), icon=":material/check_circle:" if model.can_claim else ":material/help:")

wave = markdown_escape(model.wave or "the latest wave")
st.subheader(f"Change since the baseline survey, to {wave}", anchor=False)
mine, theirs, effect = st.columns(3)
mine.metric("Participants' change", format_change(model.participants_change, model.unit),
            help="Average change since the baseline survey among participants who answered both.")
mine.caption(format_change_interval(model.participants_change))
theirs.metric("Comparison group's change", format_change(model.comparison_change, model.unit),
              help="Average change since the baseline survey among people who did not take part "
                   "and answered both surveys.")
theirs.caption(format_change_interval(model.comparison_change))
effect.metric("Program effect (difference)", format_effect(model), help=model.effect_help)
effect.caption(format_interval(model))
if model.caveats:
    with st.expander(f"Why to read this with care ({len(model.caveats)} "
                     f"note{'s' if len(model.caveats) != 1 else ''}, with the technical terms)"):
        for caveat in model.caveats:
            st.markdown(f"- {markdown_escape(caveat)}")
        st.caption("The terms are explained on the Glossary page.")

show_chart(model.change)

st.subheader(f"Who answered at {wave}", anchor=False)
used, rate = st.columns(2)
used.metric("Respondents", format_count(model.respondents),
            help="People who answered the survey at this wave, in your selection.")
rate.metric("Took part in peer support", format_share(model.participation_rate),
            help=f"Attended at least {selection.settings.min_sessions} session(s) by the survey.")
if model.respondents_note:
    st.caption(markdown_escape(model.respondents_note))

with st.expander(f"Levels at {wave}: where each group stands now "
                 "(context, not the program's effect)"):
    st.caption("People who choose to take part may start out more burned out, so these levels "
               "say little about the program; the change since baseline above does.")
    left, right = st.columns(2)
    left.metric(f"Participants: average ({model.unit})", format_level(model.participants))
    left.metric("Participants: high burnout", format_share(model.participants.share_high),
                help="Share at or above the instrument's cut-off.")
    right.metric(f"Comparison: average ({model.unit})", format_level(model.comparison))
    right.metric("Comparison: high burnout", format_share(model.comparison.share_high),
                 help="Share at or above the instrument's cut-off.")
selection_footer(selection, " Details on the Impact page.")
