"""The shared selection every dashboard page uses: may these filters be shown (guarded
against small groups), and which practice a heatmap click chose."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analysis.access.scope import LOCAL, PermissionDenied, Scope, require
from analysis.access.settings import Settings
from analysis.privacy.guard import FilterDecision, FilterRefused, guard_filter
from analysis.privacy.remembered import scope_respondents, scope_roles
from analysis.privacy.slicing import Slice, check_slice, organization_atoms
from analysis.storage import queries
from analysis.storage.store import Store


def guard_filters(store: Store, scope: Scope, settings: Settings,
                  filters: queries.Filters, waves: Sequence[str] | None = None) -> FilterDecision:
    """May this selection be shown? Asks the one guard (:mod:`analysis.privacy.slicing`).

    1. Sites outside the viewer's access are refused.
    2. :func:`analysis.privacy.slicing.check_slice` on the organization's counts: the
       practices, roles, threshold and the viewer's scope together (waves add no cell:
       every table is per wave).
    3. The report's own rule for chosen practices and roles
       (:func:`analysis.privacy.guard.guard_filter`), so that a selection allowed here
       is never refused by :func:`analysis.reporting.report.build_report`.

    Reasons state no count but ``k``.
    """
    del waves  # each table is per wave: choosing waves removes rows, never adds a cell
    try:
        require(scope, "view", filters.sites or ())
    except PermissionDenied as error:
        return FilterDecision(False, str(error))
    k = settings.min_group_size
    try:
        with store.pinned_version():  # one version for the kept tables read below
            check_slice(queries.load_panel(store, LOCAL, outcomes=[], min_sessions=settings.min_sessions),
                        slice_of(scope, settings, filters), k, organization_atoms(store, k))
            if filters != queries.Filters():
                panel = queries.load_panel(store, scope, outcomes=[], min_sessions=settings.min_sessions)
                # the references are the scope's, whatever the filters: kept between filter changes
                roles = scope_roles(store, scope, settings.min_sessions, k, panel) if filters.roles else None
                guard_filter(panel, filters, scope_respondents(store, scope, settings.min_sessions, k, panel),
                             k, roles)
    except FilterRefused as refusal:
        return FilterDecision(False, str(refusal))
    return FilterDecision(True, "This selection may be shown.")


def slice_of(scope: Scope, settings: Settings, filters: queries.Filters) -> Slice:
    """The guard's slice for a viewer, their settings and filters."""
    return Slice(sites=filters.sites, roles=filters.roles, min_sessions=int(settings.min_sessions),
                 scope_sites=None if scope.practices is None else tuple(sorted(scope.practices)))


def thresholds_offered(store: Store, k: int) -> tuple[int, ...]:
    """The participation thresholds the sidebar may offer (each dose step 0 or k+ people)."""
    return organization_atoms(store, k).thresholds


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
