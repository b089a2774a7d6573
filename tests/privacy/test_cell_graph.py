"""The linear-time linear audit against the old brute force (one BFS per hidden cell)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.privacy.cell_graph import bridges
from analysis.privacy.suppression import suppress_two_way
from tests.privacy.reference_two_way import reference_bridges, reference_hidden


def _random_tables(rng: np.random.Generator, n_tables: int, fraction: bool = False) -> pd.DataFrame:
    """Site x group tables with both margins ('all') and shuffled rows.

    Scattered small cells (1 or 2) among larger ones, some empty; half the draws have
    few sites, where the line rule alone most often leaves a cell exposed.
    """
    n_sites = int(rng.integers(2, 61) if rng.random() < 0.5 else rng.integers(2, 9))
    n_groups = int(rng.integers(2, 6))
    sites = [f"s{i}" for i in range(n_sites)] + ["all"]
    groups = [f"g{j}" for j in range(n_groups)] + ["all"]
    parts = []
    for t in range(n_tables):
        small = rng.random((n_sites, n_groups)) < rng.uniform(0.05, 0.5)
        inner = np.where(small, rng.integers(1, 3, size=small.shape),
                         rng.integers(3, 40, size=small.shape)).astype(float)
        inner[rng.random(inner.shape) < 0.1] = 0
        if fraction:
            inner += rng.choice([0.0, 0.5], size=inner.shape) * (inner > 0)
        full = np.zeros((n_sites + 1, n_groups + 1))
        full[:n_sites, :n_groups] = inner
        full[:n_sites, n_groups] = inner.sum(axis=1)
        full[n_sites, :] = full[:n_sites, :].sum(axis=0)
        site, group = np.meshgrid(sites, groups, indexing="ij")
        parts.append(pd.DataFrame({"wave": f"w{t}", "site": site.ravel(), "group": group.ravel(),
                                   "n": full.ravel(), "mean": rng.normal(size=full.size)}))
    frame = pd.concat(parts, ignore_index=True)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def test_bridges_match_the_brute_force_on_random_hidden_patterns():
    rng = np.random.default_rng(17)
    for _ in range(150):
        frame = _random_tables(rng, 1)
        rows = frame["site"].to_numpy(dtype=object)
        cols = frame["group"].to_numpy(dtype=object)
        # sparse patterns have bridges, dense ones cycles: draw the density too
        hidden = np.flatnonzero(rng.random(len(frame)) < rng.uniform(0.05, 0.6))
        assert bridges(rows, cols, hidden) == reference_bridges(rows, cols, hidden)


def test_bridges_of_parallel_cells_are_not_bridges():
    # the same (row, column) twice: two edges between the same nodes form a cycle
    rows = np.array(["a", "a", "b"], dtype=object)
    cols = np.array(["x", "x", "x"], dtype=object)
    assert [p for p, _ in bridges(rows, cols, np.array([0, 1, 2]))] == [2]
    assert bridges(rows, cols, np.array([0, 1, 2])) == reference_bridges(rows, cols, np.array([0, 1, 2]))


@pytest.mark.parametrize("seed", range(2))
def test_two_way_suppression_matches_the_brute_force(seed):
    rng = np.random.default_rng(seed)
    audited = 0
    for _ in range(60):
        k = int(rng.choice([3, 4, 5]))
        frame = _random_tables(rng, int(rng.integers(1, 4)), fraction=bool(rng.random() < 0.15))
        out = suppress_two_way(frame, "n", ["mean"], "site", "group", k, keys=["wave"])
        expected = reference_hidden(frame, "n", "site", "group", k, keys=["wave"])
        np.testing.assert_array_equal(out["suppressed"].to_numpy(), expected)
        line_rule_only = reference_hidden(frame, "n", "site", "group", k, keys=["wave"], audit=False)
        audited += not np.array_equal(expected, line_rule_only)
    assert audited >= 5, audited  # the draws do exercise the linear audit


def test_two_hundred_sites_ten_waves():
    rng = np.random.default_rng(200)
    n_sites, waves = 200, 10
    participants = rng.choice([0, 1, 2, 3, 4, 6, 9, 15], size=(waves, n_sites))
    comparison = rng.choice([0, 1, 2, 4, 5, 7, 12, 20], size=(waves, n_sites))
    parts = []
    for w in range(waves):
        both = np.stack([participants[w], comparison[w]], axis=1)
        table = np.vstack([both, both.sum(axis=0)])
        table = np.column_stack([table, table.sum(axis=1)])
        site, group = np.meshgrid([f"site{i:03d}" for i in range(n_sites)] + ["all"],
                                  ["participants", "comparison", "all"], indexing="ij")
        parts.append(pd.DataFrame({"wave": f"w{w}", "site": site.ravel(), "group": group.ravel(),
                                   "n": table.ravel()}))
    frame = pd.concat(parts, ignore_index=True)
    out = suppress_two_way(frame, "n", [], "site", "group", 5, keys=["wave"])
    hidden = out["suppressed"].to_numpy()
    n = frame["n"].to_numpy()
    assert hidden[(n > 0) & (n < 5)].all() and not hidden[n == 0].any()
    for _, table in out.groupby("wave"):
        rows, cols = table["site"].to_numpy(dtype=object), table["group"].to_numpy(dtype=object)
        assert bridges(rows, cols, np.flatnonzero(table["suppressed"].to_numpy())) == []
    # two of the waves against the brute force (all ten would make the test slow)
    some = frame.loc[frame["wave"].isin(["w0", "w7"])].reset_index(drop=True)
    np.testing.assert_array_equal(
        suppress_two_way(some, "n", [], "site", "group", 5, keys=["wave"])["suppressed"].to_numpy(),
        reference_hidden(some, "n", "site", "group", 5, keys=["wave"]))
