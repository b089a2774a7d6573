"""The bench's page stages (``overview``, ``impact`` and their ``_warm`` reruns): what a
page computes on a cache miss and on a ``st.cache_data`` hit, without Streamlit. See
:mod:`tooling.bench` for what each measure times; these run in its child processes.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tooling.bench_timing import WARM_REPEATS, repeat_runs, timed


def save_default_cache(store: Any, tables: Any, work: Path) -> None:
    """What st.cache_data holds after a first visit with the default selection (the
    report's tables are the same cache entry for every page), for the warm stages when
    the cold page stages are skipped (``--stages``)."""
    from analysis.storage import queries  # noqa: PLC0415
    from analysis.views import aggregates  # noqa: PLC0415

    inputs = _page_inputs(store)
    panel = queries.load_panel(store, inputs["scope"], [inputs["outcome"]],
                               inputs["settings"].min_sessions, inputs["filters"])
    values = {"available": queries.available(store, inputs["scope"]), "tables": tables,
              "quantiles": aggregates.score_quantiles(panel, inputs["outcome"],
                                                     inputs["settings"].min_group_size)}
    blob = {name: pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            for name, value in values.items()}
    (work / "default_cache.pkl").write_bytes(pickle.dumps((inputs, blob)))


def _page_inputs(store: Any) -> dict:
    """The default selection the sidebar gives on a first visit (everything, all waves)."""
    from analysis.access.scope import LOCAL  # noqa: PLC0415
    from analysis.access.settings import load_settings  # noqa: PLC0415
    from analysis.storage import queries  # noqa: PLC0415

    settings = load_settings(store)
    available = queries.available(store, LOCAL)
    preferred = ("cbi_work", "cbi_personal", "proqol_bo", "olbi_exhaustion", "mbi_ee")
    outcome = next((o for o in preferred if o in available.outcomes), available.outcomes[0])
    return {"scope": LOCAL, "settings": settings, "filters": queries.Filters(),
            "outcome": outcome, "outcomes": tuple(available.outcomes), "waves": None}


def _cold_page(store: Any, page: str, parts: dict[str, list[float]]) -> dict[str, Any]:
    """One cold visit of ``page``; returns the values st.cache_data would have stored."""
    from analysis.reporting import report  # noqa: PLC0415
    from analysis.storage import queries  # noqa: PLC0415
    from analysis.views import aggregates, overview, selection  # noqa: PLC0415

    def part(name: str, action: Callable[[], Any]) -> Any:
        seconds, value = timed(action)
        parts.setdefault(name, []).append(seconds)
        return value

    cached: dict[str, Any] = {}
    part("data_version", store.data_version)
    inputs = part("settings_and_available", lambda: _page_inputs(store))
    scope, settings = inputs["scope"], inputs["settings"]
    cached["available"] = queries.available(store, scope)
    part("guard_filters", lambda: selection.guard_filters(store, scope, settings,
                                                          inputs["filters"], None))
    tables = part("build_report", lambda: report.build_report(
        store, scope, settings=settings, filters=inputs["filters"],
        outcomes=list(inputs["outcomes"]), waves=None))
    cached["tables"] = tables
    if page == "overview":
        part("overview_model", lambda: overview.overview_model(
            tables, inputs["outcome"], None, k=settings.min_group_size))
    else:
        def quantiles() -> Any:
            panel = queries.load_panel(store, scope, [inputs["outcome"]],
                                       settings.min_sessions, inputs["filters"])
            return aggregates.score_quantiles(panel, inputs["outcome"], settings.min_group_size)

        cached["quantiles"] = part("score_quantiles", quantiles)
        part("impact_charts", lambda: _impact_page(tables, cached["quantiles"], inputs))
    cached["inputs"] = inputs
    return cached


def _impact_page(tables: Any, quantiles: Any, inputs: dict) -> Any:
    from analysis.views import impact, report_tables  # noqa: PLC0415

    k = inputs["settings"].min_group_size
    charts = impact.impact_charts(tables, quantiles, inputs["outcome"], None,
                                     inputs["outcomes"], k)
    impact.lords_paradox_note(tables.estimates, inputs["outcome"],
                              report_tables.latest_wave(tables, inputs["outcome"], None))
    return charts


def stage_page_cold(args: argparse.Namespace, page: str) -> dict:
    from analysis.storage.store import Store  # noqa: PLC0415

    parts: dict[str, list[float]] = {}
    with Store(args.db) as store:
        cached: dict[str, Any] = {}

        def run(i: int) -> None:
            cached.update(_cold_page(store, page, parts))

        runs = repeat_runs(run, args.repeats)
    inputs = cached.pop("inputs")
    blob = {name: pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            for name, value in cached.items()}
    Path(args.work, f"{page}_cache.pkl").write_bytes(pickle.dumps((inputs, blob)))
    return {"runs": runs, "parts": {k: round(statistics.median(v), 4) for k, v in parts.items()},
            "cached_bytes": {k: len(v) for k, v in blob.items()}}


def _cache_key(*values: Any) -> str:
    return hashlib.md5(pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()


def stage_page_warm(args: argparse.Namespace, page: str) -> dict:
    """A page rerun on st.cache_data hits (see the module docstring for what is counted)."""
    from analysis.access.settings import load_settings  # noqa: PLC0415
    from analysis.storage.store import Store  # noqa: PLC0415
    from analysis.views import overview  # noqa: PLC0415

    cache = Path(args.work, f"{page}_cache.pkl")
    if not cache.exists():
        cache = Path(args.work, "default_cache.pkl")
    inputs, blob = pickle.loads(cache.read_bytes())
    with Store(args.db) as store:
        def run(i: int) -> None:
            version = store.data_version()  # sidebar
            settings = load_settings(store)
            _cache_key(version, inputs["scope"])
            pickle.loads(blob["available"])
            version = store.data_version()  # report_for
            _cache_key(version, inputs["scope"], settings, inputs["filters"],
                       inputs["outcomes"], inputs["waves"])
            tables = pickle.loads(blob["tables"])
            if page == "overview":
                overview.overview_model(tables, inputs["outcome"], None,
                                         k=settings.min_group_size)
            else:
                version = store.data_version()  # quantiles_for
                _cache_key(version, inputs["scope"], settings, inputs["filters"],
                           inputs["outcome"], inputs["waves"])
                quantiles = pickle.loads(blob["quantiles"])
                _impact_page(tables, quantiles, inputs)

        runs = repeat_runs(run, max(args.repeats, WARM_REPEATS))
    return {"runs": runs}
