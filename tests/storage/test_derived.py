"""The store's derived-data memory: the panel cut from the organization's panel kept per
data version is the panel the query gives, for every scope, filter and threshold."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pandas as pd
import pytest

from analysis.access.scope import LOCAL, PermissionDenied, Scope
from analysis.storage import queries
from analysis.storage.store import Store
from tests.factories import load_sample_data, make_store


@pytest.fixture(scope="module")
def sample_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("derived") / "sample.duckdb"
    with Store(path) as store:
        load_sample_data(store)
    return path


def _selections(available: queries.Available):
    sites, roles = available.sites, available.roles
    scopes = [LOCAL, Scope(role="practice_manager", practices=frozenset(sites[:1])),
              Scope(role="leadership", practices=frozenset(sites[-3:]))]
    filters = [queries.Filters(), queries.Filters(sites=(sites[-1],)), queries.Filters(roles=roles[:1]),
               queries.Filters(sites=sites[-2:], roles=roles[1:])]
    outcomes = [None, [], list(available.outcomes[:2])]
    return itertools.product(scopes, filters, (1, 2, 5), outcomes)


def _load(store: Store, *args):
    try:
        return queries.load_panel(store, *args)
    except PermissionDenied as error:
        return str(error)


def test_cut_panel_equals_the_query_for_every_selection(sample_path):
    with Store(sample_path, read_only=True) as query, \
            Store(sample_path, read_only=True, keep_derived=True) as kept:
        compared = 0
        for scope, filters, sessions, outcomes in _selections(queries.available(query, LOCAL)):
            expected = _load(query, scope, outcomes, sessions, filters)
            got = _load(kept, scope, outcomes, sessions, filters)
            if isinstance(expected, str):
                assert got == expected
                continue
            pd.testing.assert_frame_equal(got, expected)
            compared += 1
        assert compared > 60
        # callers may change what they get: the kept panel stays as it was
        first = queries.load_panel(kept, LOCAL)
        first.loc[:, "site"] = "changed"
        pd.testing.assert_frame_equal(queries.load_panel(kept, LOCAL), queries.load_panel(query, LOCAL))


def test_a_new_upload_is_never_served_stale(tmp_path):
    with make_store(tmp_path / "s.duckdb") as store:
        store.keep_derived = True
        before = queries.load_panel(store, LOCAL)
        store.set_setting("min_group_size", "10")  # any change moves the data version
        assert store.remembered(("probe",), lambda: 1) == 1
        assert store.remembered(("probe",), lambda: 2) == 1
        store.set_setting("min_group_size", "5")
        assert store.remembered(("probe",), lambda: 3) == 3
        pd.testing.assert_frame_equal(queries.load_panel(store, LOCAL), before)


def test_one_build_when_many_ask_at_once(tmp_path):
    with make_store(tmp_path / "s.duckdb") as store:
        store.keep_derived = True
        builds: list[int] = []
        gate = threading.Event()

        def build() -> int:
            gate.wait(5)
            builds.append(1)
            return 42

        results: list[int] = []
        threads = [threading.Thread(target=lambda: results.append(store.remembered(("x",), build)))
                   for _ in range(6)]
        for thread in threads:
            thread.start()
        gate.set()
        for thread in threads:
            thread.join(10)
        assert results == [42] * 6 and builds == [1]


def test_without_keep_derived_nothing_is_held(tmp_path):
    with make_store(tmp_path / "s.duckdb") as store:
        assert store.remembered(("x",), lambda: 1) == 1
        assert store.remembered(("x",), lambda: 2) == 2
