"""User-supplied text shown as text: never read as Markdown, HTML or a directive.

Streamlit renders Markdown in titles, headers, captions, alerts and ``st.markdown``;
a wave, site or category label placed there must be escaped first. (Ingest refuses
labels with markup, :mod:`analysis.intake.labels`; this is the second line, for data
stored before that rule and for any other user text.)
"""

from __future__ import annotations

import html
import re

#: Every ASCII punctuation character CommonMark lets a backslash escape, plus the
#: colon Streamlit uses for ``:red[...]`` and ``:material/...`` directives.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>:$~&\"'=^])")


def markdown_escape(text: object) -> str:
    """``text`` with every Markdown-active character escaped, so it renders as written.

    Examples
    --------
    >>> markdown_escape("![w](http://host/px.png) 6m")
    '\\\\!\\\\[w\\\\]\\\\(http\\\\://host/px\\\\.png\\\\) 6m'
    >>> markdown_escape("2025-Q1")
    '2025\\\\-Q1'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def html_escape(text: object) -> str:
    """``text`` for an HTML context (chart titles and hover text accept a few tags)."""
    return html.escape(str(text), quote=True)
