"""Participation: is the peer-support program used, by whom, and do people keep coming?"""

from __future__ import annotations

from ui.charts import participation_for
from ui.page import chart_page

chart_page("Who takes part in peer support",
           "Sessions attended over time, how many sessions people attend, whether they keep "
           "coming, and participation by practice, role and session type.",
           participation_for)
