"""What the dashboards draw: page models and plotly figures, built from the report tables.

Page models (pure functions the pages in ``screens/`` call; no streamlit here):
``selection`` (filter guard, heatmap click), ``report_tables`` (reading the report's tables),
``aggregates`` (score quantiles, sessions per month), ``overview``, ``impact``,
``participation_view``, ``practices``, ``quality``; ``help`` holds the help texts.

Figures (tables in, :class:`~analysis.views.figure_base.Chart` out): ``figure_base`` (the
record, colours, layout, suppression rules), ``trend_figures``, ``impact_figures``,
``participation_figures``, ``practices_figures``, ``quality_figures``.
"""
