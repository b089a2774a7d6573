"""The frame every dashboard page shares: title, one-line purpose and the shared sidebar at
the top, the charts one after another, the selection in words at the foot; and the shorter
frame of the admin and data pages (title, purpose, a permission check that stops the page)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import streamlit as st

from analysis.access.scope import PermissionDenied, Scope
from analysis.definitions.plain_text import markdown_escape
from analysis.storage.store import Store
from analysis.views.figure_base import Chart
from ui import auth
from ui.charts import show_chart
from ui.filters import Selection, sidebar
from ui.state import get_store

T = TypeVar("T")

#: Container keys (Streamlit adds the class ``st-key-<key>``) for what shows only on a
#: wide screen (a heatmap) and its stand-in on a narrow one (the same cells as a list).
WIDE_ONLY = "ppi_wide_only"
NARROW_ONLY = "ppi_narrow_only"
_NARROW_PX = 640  # Streamlit stacks columns below this width too
_RESPONSIVE_CSS = f"""<style>
@media (max-width: {_NARROW_PX}px) {{ .st-key-{WIDE_ONLY}, .modebar-container {{ display: none; }} }}
@media (min-width: {_NARROW_PX + 1}px) {{ .st-key-{NARROW_ONLY} {{ display: none; }} }}
.modebar-btn {{ min-width: 24px; min-height: 24px; }}
</style>"""


def page_start(title: str, purpose: str) -> tuple[Store, Selection]:
    """Draw the page's title and purpose, then the shared sidebar.

    Returns
    -------
    tuple
        The store and the viewer's (guarded) selection.
    """
    st.html(_RESPONSIVE_CSS)
    st.title(title, anchor=False)
    st.caption(purpose)
    store = get_store()
    return store, sidebar(store)


def show_charts(charts: Sequence[Chart]) -> None:
    """Each chart below a divider, in the order given (the page model's storyboard)."""
    for chart in charts:
        st.divider()
        show_chart(chart)


def selection_footer(selection: Selection, more: str = "") -> None:
    """The selection in words, so a screenshot says what it shows."""
    # Site and wave labels are user data: shown as text, never as Markdown.
    st.caption(f"Selection: {markdown_escape(selection.describe())}.{more}")


def chart_page(title: str, purpose: str,
               charts_for: Callable[[Store, Selection], Sequence[Chart]]) -> None:
    """A whole page that is only charts: frame, ``charts_for(store, selection)``, footer."""
    store, selection = page_start(title, purpose)
    show_charts(charts_for(store, selection))
    selection_footer(selection)


def admin_page_start(title: str, purpose: str) -> tuple[Scope, Store]:
    """The viewer's scope and the store, then the page's title and purpose (no sidebar)."""
    scope = auth.current_scope()
    store = get_store()
    st.title(title)
    st.caption(purpose)
    return scope, store


def allowed_or_stop(read: Callable[[], T]) -> T:
    """``read()``; when the viewer may not, their permission message and the page stops."""
    try:
        return read()
    except PermissionDenied as error:
        auth.show_permission_error(error)
        st.stop()
        raise  # st.stop() raises; this keeps the type checker sure nothing is returned
