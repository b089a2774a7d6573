"""CR2 on block-structured (stacked) designs against a naive n_j × n_j implementation.

The reference below is the textbook computation: the hat matrix, each cluster's
``A_j = (I - H_jj)^{-1/2}`` (Moore–Penrose square root at a leverage of 1), the CR2
sandwich and the Bell–McCaffrey / Satterthwaite df from ``G = [g_1 … g_J]`` with
``g_j = (I - H)_{·j} A_j X_j M c``: ``df = tr(G'G)² / ‖G'G‖²_F`` (Pustejovsky & Tipton
2018, working model Φ = I). It is checked against clubSandwich through the dense design
of tests/stats/test_clustering.py.
"""

import numpy as np
import pandas as pd
import pytest

from analysis.stats.clustering import DesignBlock, cr2_blocks, cr2_contrast


def _inverse_root(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    keep = values > 1e-10
    scale = np.where(keep, 1.0 / np.sqrt(np.where(keep, values, 1.0)), 0.0)
    return (vectors * scale) @ vectors.T


def naive_cr2(x: np.ndarray, y: np.ndarray, clusters: np.ndarray, c: np.ndarray) -> tuple[float, float, float]:
    """(estimate, se, df) by n_j × n_j matrices per cluster."""
    n = x.shape[0]
    m = np.linalg.inv(x.T @ x)
    beta = m @ x.T @ y
    resid = y - x @ beta
    hat = x @ m @ x.T
    residual_maker = np.eye(n) - hat
    codes, _ = pd.factorize(pd.Series(clusters), sort=False)
    meat = np.zeros_like(m)
    g = np.zeros((n, codes.max() + 1))
    for j in range(codes.max() + 1):
        rows = np.flatnonzero(codes == j)
        a = _inverse_root(np.eye(rows.size) - hat[np.ix_(rows, rows)])
        score = x[rows].T @ a @ resid[rows]
        meat += np.outer(score, score)
        g[:, j] = residual_maker[:, rows] @ a @ x[rows] @ m @ c
    variance = c @ m @ meat @ m @ c
    gram = g.T @ g
    return float(c @ beta), float(np.sqrt(variance)), float(np.trace(gram) ** 2 / np.square(gram).sum())


def stacked(seed: int, cells: int = 4, people: int = 30, covariate: bool = False):
    """Stacked cells (a mean and a participant shift per cell, optionally a covariate).

    People appear in several cells; cell 0 has a single participant (leverage 1 for
    that person's row); the last row is all zeros (in no block).
    """
    rng = np.random.default_rng(seed)
    width = 3 if covariate else 2
    blocks, person = [], []
    for cell in range(cells):
        size = int(rng.integers(6, 14))
        members = rng.choice(people, size=size, replace=False)
        treated = np.zeros(size)
        treated[: 1 if cell == 0 else int(rng.integers(2, size - 2))] = 1.0
        block = [np.ones(size), treated] + ([rng.normal(size=size)] if covariate else [])
        blocks.append(np.column_stack(block))
        person.append(members)
    n = sum(b.shape[0] for b in blocks) + 1
    x = np.zeros((n, width * cells))
    start = 0
    for cell, block in enumerate(blocks):
        x[start : start + block.shape[0], width * cell : width * (cell + 1)] = block
        start += block.shape[0]
    person = np.concatenate(person + [np.array([people])])
    y = x @ rng.normal(size=x.shape[1]) + rng.normal(size=n) + rng.normal(size=people + 1)[person]
    contrast = np.zeros(x.shape[1])
    contrast[1::width] = rng.dirichlet(np.ones(cells))
    return x, y, person, contrast


def _check(x, y, clusters, contrast):
    test = cr2_contrast(x, y, clusters, contrast)
    estimate, se, df = naive_cr2(x, y, clusters, contrast)
    assert test.estimate == pytest.approx(estimate, rel=1e-9, abs=1e-12)
    assert test.se == pytest.approx(se, rel=1e-9)
    assert test.df == pytest.approx(df, rel=1e-9)
    assert test.clusters == pd.Series(clusters).nunique()


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("covariate", [False, True])
def test_stacked_by_person_matches_naive(seed, covariate):
    _check(*stacked(seed, covariate=covariate))


@pytest.mark.parametrize("seed", range(4))
def test_stacked_by_site_matches_naive(seed):
    x, y, person, contrast = stacked(10 + seed, cells=5, people=40)
    site = np.array([f"site {p % 6}" for p in person])
    _check(x, y, site, contrast)


def test_single_row_clusters_match_naive():
    x, y, _, contrast = stacked(21)
    _check(x, y, np.arange(x.shape[0]), contrast)


def test_a_cluster_holding_all_participants_of_a_cell_has_leverage_one():
    x, y, person, contrast = stacked(31, cells=3)
    treated_rows = np.flatnonzero(x[:, 3] == 1)  # cell 1's participants, all in one cluster
    clusters = person.copy()
    clusters[treated_rows] = -1
    _check(x, y, clusters, contrast)


def test_joined_blocks_match_naive():
    # a row with columns of two cells joins them into one block of four columns
    x, y, person, contrast = stacked(41, cells=4)
    x[0, 2] = 1.0
    _check(x, y, person, contrast)


@pytest.mark.parametrize("seed", range(3))
def test_dense_design_matches_naive(seed):
    rng = np.random.default_rng(50 + seed)
    n = 90
    cluster = rng.integers(0, 11, n)
    x = np.column_stack([np.ones(n), rng.normal(size=(n, 3)), (cluster < 5).astype(float)])
    y = x @ rng.normal(size=5) + rng.normal(size=n) + rng.normal(size=11)[cluster]
    _check(x, y, cluster, rng.normal(size=5))


def _as_blocks(x, y, clusters, width):
    """The cells of :func:`stacked` as DesignBlocks (the all-zero last row left out)."""
    blocks = []
    for cell in range(x.shape[1] // width):
        cols = slice(width * cell, width * (cell + 1))
        rows = np.flatnonzero((x[:, cols] != 0).any(axis=1))
        blocks.append(DesignBlock(x[rows, cols], y[rows], clusters[rows]))
    return blocks


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("covariate", [False, True])
@pytest.mark.parametrize(("people", "gap"), [(30, 3), (14, 1)])
def test_given_blocks_match_the_dense_path_and_naive(seed, covariate, people, gap):
    # 30 people: each cell holds few of the cluster codes (the compacted path); 14 people
    # in consecutive codes: most cells hold most of them (every code keeps its place)
    x, y, person, contrast = stacked(60 + seed, covariate=covariate, people=people)
    width = 3 if covariate else 2
    codes = gap * person + 5  # integer codes with gaps, as the event study passes person positions
    test = cr2_blocks(_as_blocks(x, y, codes, width), contrast)
    dense = cr2_contrast(x[:-1], y[:-1], codes[:-1], contrast)
    estimate, se, df = naive_cr2(x[:-1], y[:-1], codes[:-1], contrast)
    assert (test.estimate, test.se, test.df) == pytest.approx((dense.estimate, dense.se, dense.df), rel=1e-10)
    assert (test.estimate, test.se, test.df) == pytest.approx((estimate, se, df), rel=1e-9)
    assert test.clusters == dense.clusters == np.unique(codes[:-1]).size


def test_given_blocks_by_site_match_naive():
    # several rows of a cluster in a cell: many distinct S_j
    x, y, person, contrast = stacked(70, cells=5, people=40)
    site = person % 6
    test = cr2_blocks(_as_blocks(x, y, site, 2), contrast)
    estimate, se, df = naive_cr2(x[:-1], y[:-1], site[:-1], contrast)
    assert (test.estimate, test.se, test.df) == pytest.approx((estimate, se, df), rel=1e-9)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("covariate", [False, True])
def test_one_row_per_cluster_path_equals_the_general_path(seed, covariate):
    # clustered by person no cluster has two rows in a cell: CR2 then works row by row
    # (A_j = (1 - h_j)^-1/2; cell 0's single participant has a leverage of 1). An all-zero
    # row with y = 0 added to each cluster of each cell changes no fit, residual or S_j and
    # sends the same problem down the eigen path, which must agree to 1e-10.
    x, y, person, contrast = stacked(80 + seed, covariate=covariate)
    width = 3 if covariate else 2
    blocks = _as_blocks(x, y, person, width)
    assert all(np.bincount(block.clusters).max() == 1 for block in blocks)
    padded = [DesignBlock(np.vstack([b.design, np.zeros_like(b.design)]), np.concatenate([b.y, np.zeros_like(b.y)]),
                          np.concatenate([b.clusters, b.clusters])) for b in blocks]
    fast, general = cr2_blocks(blocks, contrast), cr2_blocks(padded, contrast)
    assert (fast.estimate, fast.se, fast.df) == pytest.approx((general.estimate, general.se, general.df), rel=1e-10)
    assert fast.clusters == general.clusters
    estimate, se, df = naive_cr2(x[:-1], y[:-1], person[:-1], contrast)
    assert (fast.estimate, fast.se, fast.df) == pytest.approx((estimate, se, df), rel=1e-9)
