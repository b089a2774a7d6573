"""Data quality: can the numbers on the other pages be trusted?"""

from __future__ import annotations

from ui.charts import quality_for
from ui.page import chart_page

chart_page("Can we trust the data?",
           "How many people answered each wave, how many questions were left blank, and "
           "whether each scale's questions hang together.",
           quality_for)
