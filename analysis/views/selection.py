"""The shared selection every dashboard page uses: may these filters be shown (guarded
against small groups), and which practice a heatmap click chose."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analysis.access.scope import PermissionDenied, Scope, require
from analysis.access.settings import Settings
from analysis.privacy.guard import (
    FilterDecision,
    FilterRefused,
    check_filter,
    guard_filter,
    respondents_table,
)
from analysis.storage import queries
from analysis.storage.store import Store


def guard_filters(store: Store, scope: Scope, settings: Settings,
                  filters: queries.Filters, waves: Sequence[str] | None = None) -> FilterDecision:
    """May this selection be shown? Refuses, with the reason, what could identify people.

    1. Sites outside the viewer's access are refused.
    2. :func:`analysis.privacy.guard.check_filter` with ``settings.min_group_size`` on the
       respondents of the selection and of the rest of the viewer's scope (in the chosen
       waves): fewer than K selected, or between 1 and K - 1 left out, is refused.
    3. The report's own, finer rule (per wave and group, hidden practices and roles), so
       that a selection allowed here is never refused by :func:`analysis.reporting.report.build_report`.
    """
    try:
        require(scope, "view", filters.sites or ())
    except PermissionDenied as error:
        return FilterDecision(False, str(error))
    k = settings.min_group_size
    if filters == queries.Filters():
        # nothing selected: only the head count is needed, one aggregate query
        n_total = queries.count_respondents(store, scope, waves)
        if 0 < n_total < k:
            return check_filter(n_total, n_total, k)
        return FilterDecision(True, f"This selection covers {n_total} people.")
    panel = queries.load_panel(store, scope, outcomes=[], min_sessions=settings.min_sessions)
    in_waves = panel["wave"].isin(list(waves)).to_numpy() if waves else np.ones(len(panel), bool)
    n_total = int(panel.loc[in_waves, "person"].nunique())
    selected = in_waves.copy()
    if filters.sites is not None:
        selected &= panel["site"].isin(list(filters.sites)).to_numpy()
    if filters.roles is not None:
        selected &= panel["role"].isin(list(filters.roles)).to_numpy()
    decision = check_filter(int(panel.loc[selected, "person"].nunique()), n_total, k)
    if not decision.allowed:
        return decision
    try:
        guard_filter(panel, filters, respondents_table(panel, k), k)
    except FilterRefused as refusal:
        return FilterDecision(False, str(refusal))
    return decision


def site_from_selection(event: Any) -> str | None:
    """The practice clicked in the practices heatmap, from a plotly ``on_select`` event.

    Accepts the event Streamlit returns (``{"selection": {"points": [...]}}``, a dict or
    attribute-style object) or the selection itself; the practice is the ``y`` of the
    first point (or its ``customdata`` site). None when nothing is selected.

    Examples
    --------
    >>> site_from_selection({"selection": {"points": [{"x": "Personal burnout", "y": "Harbor"}]}})
    'Harbor'
    >>> site_from_selection({"selection": {"points": []}}) is None
    True
    """
    if event is None:
        return None
    selection = _get(event, "selection", event)
    points = _get(selection, "points", None) or []
    for point in points:
        site = _get(point, "y", None)
        if isinstance(site, str) and site.strip():
            return site
    return None


def _get(obj: Any, key: str, default: Any) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)
