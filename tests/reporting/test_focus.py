"""A dashboard's focused report (``build_report(..., focus=outcome)``) holds exactly the
full report's rows for what it draws: no number differs between the two, so neither can
be subtracted from the other to learn more than either shows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.access.scope import LOCAL, Scope
from analysis.access.settings import load_settings
from analysis.reporting.group_tables import latest_wave_of
from analysis.reporting.report import Focus, build_report
from analysis.storage import queries
from analysis.storage.store import Store
from tests.factories import load_sample_data

BIG_SITE = "Harbor Family Therapy"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    path: Path = tmp_path_factory.mktemp("focus") / "sample.duckdb"
    with Store(path) as made:
        load_sample_data(made)
    with Store(path, read_only=True, keep_derived=True) as opened:
        yield opened


def _rows(frame: pd.DataFrame, **where: object) -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    for column, value in where.items():
        keep &= frame[column].astype(str).isin([str(v) for v in value]) if isinstance(value, list) \
            else frame[column].astype(str) == str(value)
    return frame.loc[keep].reset_index(drop=True)


def _selections(store: Store):
    available = queries.available(store, LOCAL)
    yield LOCAL, queries.Filters(), None, "cbi_work"
    yield LOCAL, queries.Filters(), list(available.waves[:3]), "cbi_personal"
    yield LOCAL, queries.Filters(roles=available.roles[:2]), None, available.outcomes[-1]
    yield LOCAL, queries.Filters(sites=(BIG_SITE,)), None, "cbi_work"
    two = frozenset({BIG_SITE, "Maple Street Family Services"})
    yield Scope(role="leadership", practices=two), queries.Filters(), None, "cbi_work"


def test_focused_rows_are_the_full_reports_rows(store):
    settings = load_settings(store)
    for scope, filters, waves, outcome in _selections(store):
        full = build_report(store, scope, settings=settings, filters=filters, waves=waves)
        focused = build_report(store, scope, settings=settings, filters=filters, waves=waves,
                               focus=Focus(outcome))
        wave = latest_wave_of(full.descriptives, outcome, waves)
        assert wave is not None, (scope, filters, waves, outcome, sorted(set(full.descriptives["outcome"])))
        pairs = {
            "descriptives": (_rows(full.descriptives, outcome=outcome), focused.descriptives),
            "estimates": (_rows(full.estimates, wave=wave), focused.estimates),
            "change": (_rows(full.change, outcome=outcome), focused.change),
            "event_study": (_rows(full.event_study, outcome=outcome), focused.event_study),
            "dose": (_rows(full.dose, wave=wave), focused.dose),
            "mde": (_rows(full.mde, wave=wave), focused.mde),
            "balance": (full.balance, focused.balance),
        }
        for name, (expected, got) in pairs.items():
            if name in ("descriptives", "estimates", "change"):
                assert len(expected), (name, outcome)
            pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, obj=f"{name} {outcome}")
        assert focused.headline is None
        # neither page draws these: the focused report leaves them out
        assert focused.participation.empty and focused.quality.empty and focused.monthly.empty
        assert list(focused.quality.columns) == list(full.quality.columns)
        overview = build_report(store, scope, settings=settings, filters=filters, waves=waves,
                                focus=Focus(outcome, detail=False))
        for name in ("descriptives", "change"):
            pd.testing.assert_frame_equal(getattr(overview, name), getattr(focused, name), obj=name)
        headline_rows = _rows(full.estimates, wave=wave, analysis=["did", "ancova", "ipw"])
        assert len(headline_rows)
        pd.testing.assert_frame_equal(overview.estimates.reset_index(drop=True), headline_rows, obj="headline estimates")
        assert overview.event_study.empty and overview.dose.empty and overview.mde.empty
