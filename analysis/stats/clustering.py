"""Cluster-robust inference with a small-cluster correction, and the choice of cluster.

:func:`cr2_contrast` gives the CR2 ("bias-reduced linearization") variance of one linear
combination of OLS coefficients with the Satterthwaite degrees of freedom of Bell &
McCaffrey (2002) as Pustejovsky & Tipton (2018) compute them (R ``clubSandwich``:
``coef_test(fit, vcov = "CR2", test = "Satterthwaite")``, working model Φ = I).
:func:`choose_clusters` decides whether people or sites are the unit of inference.

Computation
-----------
CR2 adjusts each cluster's residuals by ``A_j = (I - H_jj)^{-1/2}`` (Moore–Penrose for
a leverage of 1). ``H_jj = X_j M X_j'`` (``M = (X'X)^{-1}``) has rank at most ``p``, so
with ``B_j = X_j M^{1/2}`` and the eigen-decomposition ``B_j'B_j = V Λ V'`` one has
``A_j = I + B_j V diag(((1-λ)^{-1/2} - 1)/λ) V' B_j'``: every cluster costs p × p work,
never an n_j × n_j matrix, so sites of thousands of rows are cheap. The Satterthwaite
df of a contrast ``c`` is ``(Σ_j g_j'g_j)² / Σ_ij (g_i'g_j)²`` with
``g_j = (I - H)_{·j} A_j X_j M c``; ``g_i'g_j = δ_ij q_j'q_j - r_i'M r_j``
(``q_j = A_j X_j M c``, ``r_j = X_j'q_j``), so the double sum is
``Σ_j s_j² - 2 Σ_j s_j r_j'M r_j + ‖R M R'‖²_F`` with ``s_j = q_j'q_j``.

Stacked designs (:mod:`analysis.stats.group_time`: a mean and a participant shift
per cell, each row nonzero only in its cell's columns) make X'X, M, M^½ and every
``S_j = X_j'X_j`` and ``H_jj`` block-diagonal over the connected components of the
columns (linked when some row is nonzero in both). The eigen work then runs per block
on p_b × p_b matrices (2 × 2 for a cell), for the clusters with rows in the block, and
once per distinct ``S_j`` (in a cell every participant has the same one); ``r_j``,
``s_j`` and ``r_j'M r_j`` add up over blocks. A dense design is a single block.
:func:`cr2_blocks` takes the blocks as given (the event study's cells), so the dense
design is never built nor searched for its blocks. When no cluster has two rows in a
block (clustered by person: one row per person and cell), ``S_j`` has rank one and all
of the above is closed-form per row (``A_j = (1 - h_j)^{-1/2}``, no eigen work and no
pass over every cluster code): the event study's CR2 took half the time.

References
----------
Bell RM, McCaffrey DF (2002). Survey Methodology 28:169-181.
Pustejovsky JE, Tipton E (2018). J Bus Econ Stat 36:672-683.
Cameron AC, Miller DL (2015). J Human Resources 50:317-372.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "ClusterChoice",
    "ContrastTest",
    "DesignBlock",
    "choose_clusters",
    "cr2_blocks",
    "cr2_contrast",
    "influence_variance",
]

#: share of the variance of participation explained by site above which sites are the unit
SITE_CONCENTRATION = 0.05
#: fewer sites than this cannot carry a cluster-robust variance
MIN_SITES = 4


@dataclass(frozen=True)
class ContrastTest:
    """A linear combination of coefficients with its CR2 standard error and Satterthwaite df."""

    estimate: float
    se: float
    df: float
    clusters: int


def _sym_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def _column_blocks(nonzero: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Block label per column and per row (connected components of "some row has both").

    Rows of zeros get the label ``count`` (in no block).
    """
    n, p = nonzero.shape
    first = np.argmax(nonzero, axis=1)
    # linked[a, j]: some row whose first nonzero column is a is nonzero in column j;
    # column by column over a Fortran copy: O(n p) with no n × p² product or index list
    by_column = np.asfortranarray(nonzero)
    linked = np.stack([np.bincount(first[by_column[:, j]], minlength=p) for j in range(p)], axis=1)
    count, labels = connected_components(csr_matrix(linked > 0), directed=False)
    return labels, np.where(nonzero[np.arange(n), first], labels[first], count), int(count)


def _leverage_kernels(lam: np.ndarray, vec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """K (for ``A = I + B K B'``) and K2 (for ``(I - H)^-1 = I + B K2 B'``) from B'B = V Λ V'."""
    lam = np.clip(lam, 0.0, None)
    tiny = 1e-12
    full = 1.0 - lam < 1e-10
    safe = np.where(lam > tiny, lam, 1.0)
    # f = ((1-λ)^-½ - 1)/λ, Moore–Penrose (f = -1/λ) at λ = 1
    f = np.where(
        lam > tiny, np.where(full, -1.0, (1.0 / np.sqrt(np.where(full, 1.0, 1.0 - lam)) - 1.0)) / safe, 0.0
    )
    # 1/(1-λ) on λ > 0, 0 where λ = 1 (Moore–Penrose)
    f2 = np.where(lam > tiny, np.where(full, -1.0 / safe, 1.0 / np.where(full, 1.0, 1.0 - lam)), 0.0)
    vt = np.swapaxes(vec, -1, -2)
    return (vec * f[:, None, :]) @ vt, (vec * f2[:, None, :]) @ vt


def _sandwich(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """``outer @ inner[c] @ outer`` for every c, ``outer`` symmetric, as two single matmuls."""
    count, p, _ = inner.shape
    right = (inner.reshape(-1, p) @ outer).reshape(count, p, p)  # inner @ outer
    # (inner outer)' outer = outer inner' outer, transposed back: outer inner outer
    return (np.swapaxes(right, 1, 2).reshape(-1, p) @ outer).reshape(count, p, p).swapaxes(1, 2)


def _apply(matrices: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``matrices[c] @ vectors[c]`` for every c (a two-operand einsum: no 4-index loop)."""
    return np.einsum("cij,cj->ci", matrices, vectors)


@dataclass(frozen=True)
class _BlockTerms:
    """One column block's per-cluster pieces for the clusters that have rows in it
    (``clusters`` None: for every cluster code, zeros where a cluster has no rows)."""

    present: np.ndarray  # bool per cluster code: has rows in the block
    clusters: np.ndarray | None  # cluster codes of the pieces below, or None: all of them
    pieces: np.ndarray  # (X_j'A_j e_j) · M c, this block's share
    r: np.ndarray  # p_b × clusters: this block's part of r_j
    s: np.ndarray  # this block's share of s_j = q_j'q_j
    rmr: np.ndarray  # this block's share of r_j'M r_j


def _sorted_kinds(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each distinct row value, and each row's kind: ``np.unique(rows,
    axis=0, return_index=True, return_inverse=True)`` up to the numbering of the kinds,
    by a lexicographic sort of the columns (sorting rows as raw bytes is several times
    slower at 100k clusters)."""
    order = np.lexsort(rows.T[::-1])
    ranked = rows[order]
    new = np.ones(len(rows), dtype=bool)
    new[1:] = (ranked[1:] != ranked[:-1]).any(axis=1)
    kind = np.empty(len(rows), dtype="int64")
    kind[order] = np.cumsum(new) - 1
    return order[new], kind


#: most kinds a key may have for :func:`_few_kinds` to number them by comparisons
FEW_KINDS = 4


def _few_kinds(key: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Number the distinct values of ``key`` by comparing with each in turn, when there
    are at most ``FEW_KINDS`` (a stacked cell: participants, comparison people and
    clusters without rows); (empty, None) when there are more or a NaN. A few passes
    over the array instead of hashing it."""
    kind = np.full(key.size, -1, dtype="int64")
    first: list[int] = []
    at = 0
    while len(first) < FEW_KINDS:
        same = key == key[at]
        kind[same] = len(first)
        first.append(at)
        at = int(np.argmax(kind < 0))
        if kind[at] >= 0:  # every row has a kind
            return np.array(first, dtype="int64"), kind
    return np.empty(0, dtype="int64"), None


def _row_kinds(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A row of each distinct row value of the stacked ``columns``, and each row's kind.

    What ``np.unique(np.stack(columns, 1), axis=0, return_index=True,
    return_inverse=True)`` gives, up to the numbering of the kinds and which row of a kind
    represents it: hashes a one-number key per row (a fixed random combination of the
    columns) instead of sorting, then checks that every row equals its kind's
    representative; on a collision (or NaN) it falls back to the lexicographic sort
    (:func:`_sorted_kinds`). Column by column: no reduction along a short axis.
    """
    n = len(columns[0])
    if n == 0:
        return _sorted_kinds(np.stack(columns, axis=1))
    weights = np.random.default_rng(17).uniform(1.0, 2.0, len(columns))
    key = columns[0] * weights[0]
    for column, weight in zip(columns[1:], weights[1:]):
        key += column * weight
    first, kind = _few_kinds(key)
    if kind is None:
        # hashing the bits is faster than hashing floats; -0.0 and 0.0 only make two kinds
        codes, _ = pd.factorize(key.view("int64"), sort=False)
        kind = codes.astype("int64", copy=False)
        first = np.empty(int(kind.max()) + 1, dtype="int64")
        first[kind] = np.arange(n)  # any row of a kind represents it
    if all(np.array_equal(column[first][kind], column) for column in columns):
        return first, kind
    return _sorted_kinds(np.stack(columns, axis=1))


def _block_terms(
    x: np.ndarray,
    resid: np.ndarray,
    codes: np.ndarray,
    total: int,
    m: np.ndarray,
    root: np.ndarray,
    mc: np.ndarray,
) -> _BlockTerms:
    """CR2 pieces of one column block (x: its rows and columns; m, root, mc: its parts;
    codes below ``total``)."""
    rows_per_cluster = np.bincount(codes, minlength=total)
    if rows_per_cluster.max(initial=0) <= 1:
        return _one_row_terms(x, resid, codes, rows_per_cluster > 0, m, mc)
    present = rows_per_cluster > 0
    active: np.ndarray | None = None
    local, count = codes, total
    if 2 * int(np.count_nonzero(present)) <= total:
        # few of the clusters: work on those only (a cluster without rows has S_j = 0
        # and adds exact zeros, so with most clusters present every code keeps its place)
        active = np.flatnonzero(present)
        local = (np.cumsum(present) - 1)[codes]  # position of each row's cluster in active
        count = active.size
    p = x.shape[1]
    pairs = [(i, j) for i in range(p) for j in range(i, p)]
    # the entries of S_j = X_j'X_j on and above the diagonal, one array per pair
    entries = [np.bincount(local, weights=x[:, i] * x[:, j], minlength=count) for i, j in pairs]
    u = [np.bincount(local, weights=x[:, i] * resid, minlength=count) for i in range(p)]  # X_j'e_j
    # clusters with the same S_j (in a stacked design: a participant's or a comparison
    # person's row in one cell) share everything below but u_j: work once per kind
    first, kind = _row_kinds(entries)
    s = np.empty((first.size, p, p))
    for (i, j), entry in zip(pairs, entries):
        s[:, i, j] = s[:, j, i] = entry[first]
    # eigenvalues of B_j'B_j = M^½ S_j M^½ are those of H_jj
    lam, vec = np.linalg.eigh(_sandwich(root, s))
    k, k2 = _leverage_kernels(lam, vec)
    smk = s @ _sandwich(root, k)  # S_j M^½ K_j M^½
    # X_j'A_j e_j · Mc = u_j · (Mc + (S_j M^½ K_j M^½)' Mc), per kind, then column by column
    weight = (mc + np.swapaxes(smk, 1, 2) @ mc).T
    pieces = u[0] * weight[0][kind]
    for i in range(1, p):
        pieces += u[i] * weight[i][kind]
    smc = s @ mc  # X_j'X_j M c
    r = smc + _apply(smk, smc)
    s_j = smc @ mc + np.einsum("ci,ci->c", smc, _apply(_sandwich(root, k2), smc))
    rmr = ((r @ m) * r).sum(axis=1)
    return _BlockTerms(present, active, pieces, np.take(r.T, kind, axis=1), s_j[kind], rmr[kind])


def _one_row_terms(
    x: np.ndarray, resid: np.ndarray, codes: np.ndarray, present: np.ndarray, m: np.ndarray, mc: np.ndarray
) -> _BlockTerms:
    """:func:`_block_terms` when no cluster has two rows in the block (clustered by person).

    Then ``S_j = x_j x_j'`` has rank one: its one eigenvalue is the leverage
    ``h_j = x_j'M x_j`` and ``A_j = (1 - h_j)^{-1/2}`` (0 at a leverage of 1, Moore–Penrose),
    so ``q_j = A_j x_j'Mc``, ``r_j = x_j q_j``, ``s_j = q_j²`` and ``r_j'M r_j = h_j q_j²``:
    row by row, with no eigen-decomposition and nothing of cluster length but the scatter.
    """
    leverage = np.clip(np.einsum("ij,ij->i", x @ m, x), 0.0, None)
    full = 1.0 - leverage < 1e-10
    adjust = np.where(full, 0.0, 1.0 / np.sqrt(np.where(full, 1.0, 1.0 - leverage)))
    q = (x @ mc) * adjust
    return _BlockTerms(present, codes, resid * q, x.T * q, q * q, leverage * q * q)


@dataclass(frozen=True, eq=False)
class DesignBlock:
    """Rows of a design that are nonzero only in one run of adjacent columns.

    ``design`` holds those rows and columns (full column rank), ``y`` their outcome and
    ``clusters`` their cluster codes (non-negative integers; gaps are allowed).
    """

    design: np.ndarray
    y: np.ndarray
    clusters: np.ndarray


def cr2_contrast(
    design: np.ndarray, y: np.ndarray, clusters: np.ndarray, contrast: np.ndarray
) -> ContrastTest:
    """OLS of ``y`` on ``design``; CR2 SE and Satterthwaite df of ``contrast · β``.

    Parameters
    ----------
    design : n × p full-column-rank design.
    y : outcome (n).
    clusters : cluster label per row (any hashable values).
    contrast : p weights of the combination.

    Returns
    -------
    ContrastTest with ``estimate = c'β̂``, ``se = √(c' V_CR2 c)`` and ``df`` the
    Bell–McCaffrey/Satterthwaite degrees of freedom (use a t on ``df``).

    Notes
    -----
    The columns split into blocks (connected components of "some row is nonzero in
    both"); X'X, M, M^½ and every S_j and H_jj are block-diagonal, so the per-cluster
    eigen work runs block by block on p_b × p_b matrices, only for the clusters with
    rows in the block (:func:`cr2_blocks`). A dense design is one block.

    Examples
    --------
    With one row per cluster CR2 is HC2 and the df follow the Welch–Satterthwaite idea.
    """
    x = np.asarray(design, dtype="float64")
    y = np.asarray(y, dtype="float64")
    c = np.asarray(contrast, dtype="float64")
    codes, _ = pd.factorize(pd.Series(clusters), sort=False)
    columns, rows = _blocks(x)
    blocks = [
        DesignBlock(np.take(x, block_rows, axis=0)[:, cols], y[block_rows], codes[block_rows])
        for cols, block_rows in zip(columns, rows)
    ]
    order = np.concatenate(columns) if columns else np.zeros(0, dtype="int64")
    test = cr2_blocks(blocks, c[order])  # columns in block order: c'β̂ and V do not change
    return ContrastTest(test.estimate, test.se, test.df, int(codes.max()) + 1)


def cr2_blocks(blocks: Sequence[DesignBlock], contrast: np.ndarray) -> ContrastTest:
    """:func:`cr2_contrast` for a design given as its column blocks, in column order.

    Each block's rows are nonzero only in that block's columns, so X'X is block-diagonal
    (the blocks need not be the finest such split). ``contrast`` runs over the blocks'
    columns in order; ``clusters`` of the result counts the distinct cluster codes.
    Callers that know their blocks (the stacked cells of :mod:`analysis.stats.group_time`)
    skip building the dense design, finding its blocks and factorizing the clusters.
    """
    c = np.asarray(contrast, dtype="float64")
    bounds = np.cumsum([0, *(block.design.shape[1] for block in blocks)])
    p = int(bounds[-1])
    count = max((int(block.clusters.max()) + 1 for block in blocks if block.clusters.size), default=0)
    m = np.zeros((p, p))
    root = np.zeros((p, p))
    beta = np.zeros(p)
    resids = []
    for block, lo, hi in zip(blocks, bounds[:-1], bounds[1:]):
        part = block.design
        inverse = np.linalg.inv(part.T @ part)
        m[lo:hi, lo:hi] = inverse
        root[lo:hi, lo:hi] = _sym_sqrt(inverse)
        beta[lo:hi] = inverse @ (part.T @ block.y)
        resids.append(block.y - part @ beta[lo:hi])
    mc = m @ c
    pieces, s_j, rmr = np.zeros(count), np.zeros(count), np.zeros(count)
    r = np.zeros((p, count))  # r_j = X_j'A_j X_j M c (p × count: a block's rows are contiguous)
    seen = np.zeros(count, dtype=bool)
    for block, resid, lo, hi in zip(blocks, resids, bounds[:-1], bounds[1:]):
        sub = slice(lo, hi)
        terms = _block_terms(block.design, resid, block.clusters, count, m[sub, sub], root[sub, sub], mc[sub])
        seen |= terms.present
        if terms.clusters is None:
            pieces += terms.pieces
            s_j += terms.s
            rmr += terms.rmr
            r[sub] = terms.r
            continue
        pieces[terms.clusters] += terms.pieces
        s_j[terms.clusters] += terms.s
        rmr[terms.clusters] += terms.rmr
        for row, values in zip(r[sub], terms.r):  # one row at a time: 1-d scatters are fast
            row[terms.clusters] = values
    variance = float(np.square(pieces).sum())
    # Satterthwaite df
    diag = s_j - rmr
    gram = r @ r.T  # R'R
    cross = float(np.square(s_j).sum() - 2.0 * (s_j * rmr).sum() + np.trace(m @ gram @ m @ gram))
    df = float(diag.sum() ** 2 / cross) if cross > 0 else float("nan")
    return ContrastTest(float(c @ beta), float(np.sqrt(variance)), df, int(seen.sum()))


def _blocks(x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Column blocks of the design and the rows in each (rows of zeros are in none)."""
    labels, row_block, count = _column_blocks(x != 0)
    order = np.argsort(row_block, kind="stable")
    bounds = np.cumsum(np.bincount(row_block, minlength=count + 1))[:count]
    rows = np.split(order, bounds)[:count]
    return [np.flatnonzero(labels == b) for b in range(count)], rows


def influence_variance(influence: np.ndarray, clusters: np.ndarray | None) -> tuple[float, float]:
    """Variance of an estimator written as ``θ̂ - θ ≈ Σ_i φ_i``, and the df for its t.

    Without clusters: ``n/(n-1) Σ φ_i²`` on ``n - 1`` df. With clusters: the sum of φ
    within each cluster, ``G/(G-1) Σ_g (Σ_{i∈g} φ_i)²`` on ``G - 1`` df (the CR1 analogue
    for an M-estimator; Cameron & Miller 2015, section VI).
    """
    phi = np.asarray(influence, dtype="float64")
    if clusters is None:
        sums = phi
    else:
        codes, _ = pd.factorize(pd.Series(clusters), sort=False)
        sums = np.bincount(codes, weights=phi)
    g = sums.size
    if g < 2:
        return float("nan"), float("nan")
    return float(g / (g - 1.0) * np.square(sums).sum()), float(g - 1)


@dataclass(frozen=True)
class ClusterChoice:
    """Which unit the standard errors are clustered on, and why (``se_type`` text)."""

    unit: str  # "person" or "site"
    se_type: str
    reason: str
    site_share: float | None


def choose_clusters(person: np.ndarray, site: np.ndarray | None, treated: np.ndarray) -> ClusterChoice:
    """Cluster by site when participation is concentrated by site, else by person.

    Participation is concentrated when a site (with people in the comparison) has no
    participants while others have some, or when site explains at least
    ``SITE_CONCENTRATION`` (5%) of the variance of the participation flag (η² of a
    one-way layout: Σ_s n_s (p̄_s - p̄)² / Σ_i (t_i - p̄)²). Then site shocks (a new
    manager, a caseload change) hit participants and comparison unequally and
    people in one site are not independent evidence, so sites are the unit, with
    CR2 and Satterthwaite df for the few clusters. Needs at least ``MIN_SITES`` sites.
    """
    t = np.asarray(treated, dtype="float64")
    if site is None or t.size == 0:
        return ClusterChoice("person", "CR2 by person", "no site information", None)
    frame = pd.DataFrame({"site": pd.Series(site).astype("string").fillna("missing").to_numpy(), "t": t})
    by_site = frame.groupby("site")["t"].agg(["mean", "size"])
    total = float(np.square(t - t.mean()).sum())
    share = (
        float((by_site["size"] * np.square(by_site["mean"] - t.mean())).sum() / total) if total > 0 else 0.0
    )
    rollout = bool((by_site["mean"] == 0).any() and (by_site["mean"] > 0).any())
    if len(by_site) < MIN_SITES:
        return ClusterChoice("person", "CR2 by person", f"fewer than {MIN_SITES} sites", share)
    if rollout or share >= SITE_CONCENTRATION:
        why = (
            "some sites have no participants (the program runs at some sites only)"
            if rollout
            else f"participation is concentrated by site (site explains {share:.0%} of who took part)"
        )
        return ClusterChoice("site", "CR2 by site (Satterthwaite df)", why, share)
    return ClusterChoice(
        "person",
        "CR2 by person",
        f"participation is spread across sites (site explains {share:.0%} of who took part)",
        share,
    )
