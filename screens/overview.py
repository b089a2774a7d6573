"""Overview: in one minute, is the peer-support program used, and does it help?"""

from __future__ import annotations

import streamlit as st

from analysis.views.overview import format_count, format_effect, format_interval, format_level, format_share
from ui.charts import overview_for, show_chart
from ui.page import page_start, selection_footer

store, selection = page_start(
    "Peer support at a glance",
    "Is the program used, and are participants less burned out than colleagues "
    "who do not take part? From your own anonymized survey and attendance data.")
model = overview_for(store, selection)

st.subheader(f"{model.outcome_label} at {model.wave or 'the latest wave'}", anchor=False)
used, burn_p, burn_c, effect = st.columns([1, 1, 1, 1.3])
used.metric("Respondents", format_count(model.respondents),
            help="People who answered the survey at this wave, in your selection.")
used.metric("Took part in peer support", format_share(model.participation_rate),
            help=f"Attended at least {selection.settings.min_sessions} session(s) by the survey.")
burn_p.metric(f"Participants: average ({model.unit})", format_level(model.participants),
              help="Average score of participants at this wave.")
burn_p.metric("Participants: high burnout", format_share(model.participants.share_high),
              help="Share at or above the instrument's cut-off.")
burn_c.metric(f"Comparison: average ({model.unit})", format_level(model.comparison),
              help="Average score of respondents who did not take part.")
burn_c.metric("Comparison: high burnout", format_share(model.comparison.share_high))
effect.metric("Program effect",
              format_effect(model), help=model.effect_help)
effect.caption(format_interval(model))

if model.can_claim:
    st.success(model.sentence, icon=":material/check_circle:")
else:
    st.info(model.sentence, icon=":material/help:")
for caveat in model.caveats:
    st.caption(caveat)

show_chart(model.change)
selection_footer(selection, " Details on the Impact page.")
