"""Composing results from the privacy-checked tables.

- ``report``: :func:`build_report` composes every table, the headline and notes; writes the CSVs.
- ``group_tables`` / ``effect_tables``: the tables by group and the effect tables it composes.
- ``interpret``: plain-English sentences and caveats; ``methods``: instrument methods text.
- ``export``: the researcher bundle (zip with methods note, checks, manifest).
- ``html_report``: the leadership report (Jinja2 template in ``templates/``).
- ``cli``: the ``report`` and ``export`` subcommands of ``python -m analysis``.
"""
