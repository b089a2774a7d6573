"""Tables the app's store keeps between filter changes (:mod:`analysis.privacy.remembered`,
:mod:`analysis.reporting.kept`) equal a fresh computation, and are keyed by everything they
depend on: the viewer's scope, the threshold, k, the outcomes and the data version. A
leader scoped to some practices is never given another scope's table."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest

from analysis.access.scope import LOCAL, Scope
from analysis.access.settings import load_settings
from analysis.intake.ingest import ingest
from analysis.intake.values import UploadFile
from analysis.privacy.guard import respondents_table, role_visibility
from analysis.privacy.remembered import organization_slice_cells, scope_respondents, scope_roles
from analysis.privacy.slice_tables import organization_cells
from analysis.privacy.slicing import Slice, partition
from analysis.reporting.group_tables import organization_descriptives
from analysis.reporting.kept import outcome_cutoffs, scope_attendance, scope_available, scope_descriptives
from analysis.storage.queries import available, load_attendance, load_panel
from analysis.storage.store import Store
from tests.factories import csv_bytes, load_sample_data, survey_rows

BIG_SITE = "Harbor Family Therapy"
TWO = frozenset({BIG_SITE, "Maple Street Family Services"})
SCOPES = (LOCAL, Scope(role="leadership", practices=TWO),
          Scope(role="leadership", practices=frozenset({BIG_SITE})))


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    path: Path = tmp_path_factory.mktemp("kept") / "sample.duckdb"
    with Store(path) as made:
        load_sample_data(made)
    return path


def _combinations(store: Store) -> list[tuple[Scope, int, int]]:
    k = load_settings(store).min_group_size
    # the tables are kept for any threshold (the guard decides which are offered)
    return [(scope, t, kk) for scope in SCOPES for t in (1, 2) for kk in (k, k + 3)]


def _check_scope_tables(kept: Store, fresh: Store, scope: Scope, threshold: int, k: int) -> None:
    panel = load_panel(fresh, scope, None, threshold)
    outcomes = list(available(fresh, scope).outcomes[:2])
    pd.testing.assert_frame_equal(scope_respondents(kept, scope, threshold, k),
                                  respondents_table(panel, k))
    assert scope_roles(kept, scope, threshold, k) == role_visibility(panel, k)
    expected = organization_descriptives(panel, outcomes, outcome_cutoffs(outcomes),
                                         respondents_table(panel, k), k)
    pd.testing.assert_frame_equal(scope_descriptives(kept, scope, outcomes, threshold, k, False), expected)
    pd.testing.assert_frame_equal(scope_attendance(kept, scope), load_attendance(fresh, scope))
    assert scope_available(kept, scope) == available(fresh, scope)


def _check_organization_cells(kept: Store, fresh: Store, threshold: int, k: int) -> None:
    outcomes = list(available(fresh, LOCAL).outcomes[:2])
    org = load_panel(fresh, LOCAL, outcomes, threshold)
    attendance = load_attendance(fresh, LOCAL)
    atoms = partition(load_panel(fresh, LOCAL, [], 1), k)
    for slice_ in (Slice(roles=(sorted(atoms.roles)[0],), min_sessions=threshold),
                   Slice(sites=(BIG_SITE,), min_sessions=threshold),
                   Slice(min_sessions=threshold, scope_sites=tuple(sorted(TWO)))):
        by_role = slice_.roles is not None
        got = organization_slice_cells(kept, outcomes, threshold, k, by_role).for_slice(slice_)
        want = organization_cells(org, attendance, outcomes, atoms, k, by_role).for_slice(slice_)
        for name in ("answers", "pairs", "months"):
            pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)


def test_kept_tables_equal_fresh_ones_for_every_scope_threshold_and_k(sample):
    with Store(sample, read_only=True, keep_derived=True) as kept, Store(sample, read_only=True) as fresh:
        combinations = _combinations(fresh)
        for _ in range(2):  # the second pass reads what the first kept, in another order
            for scope, threshold, k in combinations:
                _check_scope_tables(kept, fresh, scope, threshold, k)
            for _, threshold, k in combinations[:4]:
                _check_organization_cells(kept, fresh, threshold, k)
            combinations.reverse()


def test_a_scoped_viewer_never_gets_another_scopes_table(sample):
    with Store(sample, read_only=True, keep_derived=True) as kept:
        settings_k = load_settings(kept).min_group_size
        whole = scope_respondents(kept, LOCAL, 1, settings_k)  # the organization's, kept first
        whole_desc = scope_descriptives(kept, LOCAL, ["cbi_work"], 1, settings_k, False)
        for scope in SCOPES[1:]:
            mine = scope_respondents(kept, scope, 1, settings_k)
            assert set(mine["site"]) <= set(scope.practices) | {"all"}
            assert not mine.equals(whole)
            desc = scope_descriptives(kept, scope, ["cbi_work"], 1, settings_k, False)
            assert set(desc["site"]) <= set(scope.practices) | {"all"}
            assert set(scope_attendance(kept, scope)["site"]) <= set(scope.practices)
            assert set(scope_available(kept, scope).sites) <= set(scope.practices)
        assert set(whole_desc["site"]) - {"all"} - TWO, "the organization's table has other practices"
        # individual contributions (the export's dominance inputs) are never kept
        first = scope_descriptives(kept, LOCAL, ["cbi_work"], 1, settings_k, True)
        assert first is not scope_descriptives(kept, LOCAL, ["cbi_work"], 1, settings_k, True)
        assert scope_descriptives(kept, LOCAL, ["cbi_work"], 1, settings_k, False) is whole_desc


def test_kept_tables_follow_the_data(sample, tmp_path):
    path = tmp_path / "changing.duckdb"
    shutil.copy(sample, path)
    with Store(path, keep_derived=True) as store:
        k = load_settings(store).min_group_size
        before = scope_respondents(store, LOCAL, 1, k).copy()
        before_cells = organization_slice_cells(store, ["cbi_work"], 1, k, False)
        more = csv_bytes(survey_rows(n=12, wave="2031-Q1", site=BIG_SITE, start=9000, date="2031-02-01"))
        result = ingest(store, [UploadFile("survey", "more.csv", more)], LOCAL)
        assert result.status == "applied", result.problems
        after = scope_respondents(store, LOCAL, 1, k)
        assert not after.equals(before)
        pd.testing.assert_frame_equal(after, respondents_table(load_panel(store, LOCAL, [], 1), k))
        assert organization_slice_cells(store, ["cbi_work"], 1, k, False) is not before_cells


def test_a_pinned_version_holds_for_its_thread_only(sample, tmp_path):
    path = tmp_path / "pinned.duckdb"
    shutil.copy(sample, path)
    with Store(path, keep_derived=True) as store:
        start = store.data_version()
        seen: list[str] = []
        with store.pinned_version() as pinned:
            assert pinned == start
            worker = threading.Thread(target=lambda: (store.set_setting("pin_test", "1"),
                                                      seen.append(store.data_version())))
            worker.start()
            worker.join()
            assert store.data_version() == start  # this thread keeps the version it started on
        assert seen and seen[0] != start  # the other thread saw the change
        assert store.data_version() == seen[0]  # and so does this one once the block ends
