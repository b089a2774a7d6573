"""The shared sidebar: one selection for every dashboard page.

Values live in ``st.session_state`` under ``ppi_*`` keys (not the widgets' own keys,
which Streamlit forgets on pages that do not draw them), so the selection follows the
viewer from page to page. Every change is checked by
:func:`analysis.views.selection.guard_filters` *before* the widgets are drawn: a selection
that would show (or, by subtraction, reveal) fewer than K people is refused with the
reason, and the previous allowed selection stays in force. Nothing is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import streamlit as st

from analysis.access.scope import Scope, viewing_scope
from analysis.access.settings import Settings, load_settings
from analysis.definitions.plain_text import markdown_escape
from analysis.privacy.guard import FilterDecision
from analysis.storage import queries
from analysis.storage.store import Store
from analysis.views.figure_base import outcome_label
from analysis.views.selection import guard_filters, thresholds_offered
from ui import auth

#: The outcome the dashboards open on, first one the data has.
PREFERRED_OUTCOMES = ("cbi_work", "cbi_personal", "proqol_bo", "olbi_exhaustion", "mbi_ee")
_NAMES = ("outcome", "waves", "sites", "roles", "min_sessions")
_ALLOWED = "ppi_allowed"
_REFUSED = "ppi_refused"


@dataclass(frozen=True)
class Selection:
    """What the viewer chose, already checked against the anonymity threshold."""

    scope: Scope
    settings: Settings          # min_sessions as chosen in the sidebar
    outcome: str
    outcomes: tuple[str, ...]   # every outcome the data offers
    waves: tuple[str, ...] | None
    filters: queries.Filters
    all_waves: tuple[str, ...]

    @property
    def k(self) -> int:
        """The anonymity threshold in force."""
        return self.settings.min_group_size

    def describe(self) -> str:
        """The selection in words (for captions)."""
        parts = [", ".join(self.filters.sites) if self.filters.sites else scope_words(self.scope)]
        parts.append(", ".join(self.filters.roles) if self.filters.roles else "all roles")
        if self.waves:
            parts.append(f"waves {self.waves[0]}–{self.waves[-1]}")
        parts.append(f"participant = {self.settings.min_sessions}+ sessions")
        return "; ".join(parts)


#: The refusals' closing advice, dropped where nothing wider exists.
WIDER_ADVICE = "Choose a wider selection."


def without_advice(reason: str) -> str:
    """A refusal without its advice to widen the selection (for the widest one)."""
    return reason.removesuffix(WIDER_ADVICE).rstrip()


def scope_words(scope: Scope) -> str:
    """What "everything" means for this viewer: all practices, or the ones they may see."""
    if scope.practices is None:
        return "all practices"
    names = scope.site_list() or []
    return ("your practice, " if len(names) == 1 else "your practices, ") + ", ".join(names)


@st.cache_data(show_spinner=False, max_entries=256)
def _guard(_store: Store, data_version: str, scope: Scope, settings: Settings,
           filters: queries.Filters, waves: tuple[str, ...] | None) -> FilterDecision:
    return guard_filters(_store, scope, settings, filters, waves)


@st.cache_data(show_spinner=False, max_entries=16)
def _offered(_store: Store, data_version: str, k: int) -> tuple[int, ...]:
    return thresholds_offered(_store, k)


@st.cache_data(show_spinner=False, max_entries=64)
def _available(_store: Store, data_version: str, scope: Scope) -> queries.Available:
    return queries.available(_store, scope)


def _candidate(state, available: queries.Available, settings: Settings) -> dict:
    outcomes = available.outcomes
    default_outcome = next((o for o in PREFERRED_OUTCOMES if o in outcomes),
                           outcomes[0] if outcomes else "")
    values = {
        "outcome": state.get("ppi_outcome", default_outcome),
        "waves": list(state.get("ppi_waves", available.waves)),
        "sites": list(state.get("ppi_sites", [])),
        "roles": list(state.get("ppi_roles", [])),
        "min_sessions": int(state.get("ppi_min_sessions", settings.min_sessions)),
    }
    if values["outcome"] not in outcomes:
        values["outcome"] = default_outcome
    values["waves"] = [w for w in values["waves"] if w in available.waves] or list(available.waves)
    values["sites"] = [s for s in values["sites"] if s in available.sites]
    values["roles"] = [r for r in values["roles"] if r in available.roles]
    return values


def _filters(values: dict) -> queries.Filters:
    return queries.Filters(sites=tuple(values["sites"]) or None,
                           roles=tuple(values["roles"]) or None)


def _waves(values: dict, available: queries.Available) -> tuple[str, ...] | None:
    chosen = tuple(w for w in available.waves if w in values["waves"])
    return None if chosen == tuple(available.waves) else chosen


def focus_site(site: str | None) -> None:
    """Focus every dashboard on one practice (the Practices heatmap click).

    The guard checks it on the next run, like any sidebar change.
    """
    if site:
        st.session_state["ppi_sites"] = [site]


def _persist(name: str) -> None:
    st.session_state[f"ppi_{name}"] = st.session_state[f"_ppi_widget_{name}"]


def sidebar(store: Store) -> Selection:
    """Draw the shared filters and return the checked selection."""
    scope = auth.current_scope()
    shared = viewing_scope(scope)  # cached results keyed by practices, not by person
    version = store.data_version()
    settings = load_settings(store)
    available = _available(store, version, shared)
    state = st.session_state
    values = _candidate(state, available, settings)
    offered = _offered(store, version, settings.min_group_size)
    # only thresholds whose every dose step holds k or more people (the guard's offer)
    values["min_sessions"] = max([t for t in offered if t <= values["min_sessions"]] or [offered[0]])
    allowed = state.get(_ALLOWED)
    guarded = ("waves", "sites", "roles", "min_sessions")  # what changes group sizes
    if allowed is None or any(allowed.get(k) != values[k] for k in guarded):
        decision = _guard(store, version, shared,
                          replace(settings, min_sessions=values["min_sessions"]),
                          _filters(values), _waves(values, available))
        if decision.allowed:
            state[_ALLOWED] = dict(values)
        else:
            previous = allowed or {**values, "waves": list(available.waves), "sites": [],
                                   "roles": [],
                                   "min_sessions": max([t for t in offered if t <= settings.min_sessions]
                                                       or [offered[0]])}
            # say what is shown instead: the previous selection, the widest one the viewer
            # has, or (that one refused too) nothing; never "still shown" when nothing was
            widest = allowed is None and all(previous[k] == values[k] for k in guarded)
            instead = ("The previous selection is still shown." if allowed is not None else
                       "" if widest else "The widest selection your access allows is used instead.")
            reason = without_advice(decision.reason or "") if widest else decision.reason
            state[_REFUSED] = f"{reason} {instead}".strip()
            values.update({k: previous[k] for k in guarded})
            if allowed is None:
                state[_ALLOWED] = dict(values)
    for name in _NAMES:
        state[f"ppi_{name}"] = values[name]
        state[f"_ppi_widget_{name}"] = values[name]

    with st.sidebar:
        st.header("Filters", anchor=False)
        refused = state.pop(_REFUSED, None)
        if refused:
            st.warning(refused, icon=":material/visibility_off:")
        st.selectbox("Outcome", available.outcomes, key="_ppi_widget_outcome",
                     format_func=outcome_label, on_change=_persist, args=("outcome",),
                     help="The burnout or wellbeing measure the charts focus on.")
        st.multiselect("Survey waves", available.waves, key="_ppi_widget_waves",
                       on_change=_persist, args=("waves",),
                       help="The first wave is the baseline (before or at the program's start).")
        st.multiselect("Practices", available.sites, key="_ppi_widget_sites",
                       on_change=_persist, args=("sites",),
                       placeholder=("All practices" if scope.practices is None else
                                    "Your practice" if len(scope.practices) == 1 else
                                    "Your practices"),
                       help=f"Leave empty for {markdown_escape(scope_words(scope))}. Click a practice on the "
                            "Practices page to focus on it.")
        if scope.practices is not None:
            st.caption(f"Your access covers {markdown_escape(scope_words(scope))}; the dashboards show only "
                       "these.")
        st.multiselect("Roles", available.roles, key="_ppi_widget_roles",
                       on_change=_persist, args=("roles",), placeholder="All roles")
        st.selectbox("Participant = attended at least … sessions", offered,
                     key="_ppi_widget_min_sessions", on_change=_persist, args=("min_sessions",),
                     help="Sessions attended on or before the survey date that make someone a "
                          "participant at that wave. Only thresholds that change the groups by "
                          f"none or at least {settings.min_group_size} people are offered.")
        st.caption(f"Groups smaller than {settings.min_group_size} people are never shown.")

    return Selection(
        scope=scope, settings=replace(settings, min_sessions=values["min_sessions"]),
        outcome=values["outcome"], outcomes=tuple(available.outcomes),
        waves=_waves(values, available), filters=_filters(values),
        all_waves=tuple(available.waves))
