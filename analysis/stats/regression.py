"""The closed-form least-squares engine: OLS/WLS with HC1/HC3 covariance, covariate designs.

Same arithmetic as statsmodels ``OLS/WLS(...).fit(cov_type=..., use_t=True)`` without its
per-fit overhead (the report fits hundreds of thin regressions). Fits run with BLAS on
one thread (:func:`one_blas_thread`).

References
----------
Long JS, Ervin LH (2000). Am Stat 54:217-224 (HC3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import scipy.linalg  # noqa: F401 - loads scipy's own BLAS so the thread limit covers it too
from threadpoolctl import threadpool_limits

from analysis.panel.index import is_numeric
from analysis.stats.estimates import t_inference

__all__ = ["Absorbed", "RobustFit", "absorbed_factor", "covariate_design", "full_rank", "level_codes",
           "one_blas_thread", "robust_fit"]


@cache
def one_blas_thread() -> None:
    """Limit every BLAS loaded in this process to one thread, once per process.

    The report fits hundreds of thin regressions (n × ~12 designs). OpenBLAS splits
    each small product over every core and its threads spin-wait for each other: on
    a shared two-core server (Streamlit, other sessions, DuckDB) that made the
    logistic and OLS fits 5-30× slower than on one thread. Results are the same up
    to floating-point summation order. Later calls do nothing.
    """
    threadpool_limits(limits=1, user_api="blas")


def covariate_design(pairs: pd.DataFrame, covariates: Sequence[str], drop_first: bool = True
                      ) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Numeric design columns for the covariates; drops those with a single level.

    Returns the design, the covariates used and the covariates dropped (with why).
    """
    blocks: list[pd.DataFrame] = []
    used: list[str] = []
    dropped: list[str] = []
    for name in covariates:
        if name not in pairs.columns:
            dropped.append(f"{name} (not in data)")
            continue
        column = pairs[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            block = _dummies_from_codes(column, name, drop_first)
            if block is None:
                dropped.append(f"{name} (one level)")
                continue
            blocks.append(block)
        elif is_numeric(column) and column.notna().all():
            if column.nunique() < 2:
                dropped.append(f"{name} (one value)")
                continue
            blocks.append(column.astype("float64").to_frame(name))
        else:
            labels = column.astype("string").fillna("missing")
            if labels.nunique() < 2:
                dropped.append(f"{name} (one level)")
                continue
            dummies = pd.get_dummies(labels, prefix=name, prefix_sep="=", drop_first=drop_first,
                                     dtype="float64")
            blocks.append(dummies)
        used.append(name)
    design = pd.concat(blocks, axis=1) if blocks else pd.DataFrame(index=pairs.index)
    return design, used, dropped


def _dummies_from_codes(column: pd.Series, name: str, drop_first: bool) -> pd.DataFrame | None:
    """``pd.get_dummies`` of a categorical's present levels (None with one level).

    Levels in category order, which :meth:`analysis.panel.index.PanelIndex.labels` makes the sorted order
    ``get_dummies`` uses for text; only levels present in ``column`` get a column.
    """
    codes = column.cat.codes.to_numpy()
    categories = column.cat.categories
    if (codes < 0).any():
        labels = column.astype("string").fillna("missing")
        if labels.nunique() < 2:
            return None
        return pd.get_dummies(labels, prefix=name, prefix_sep="=", drop_first=drop_first, dtype="float64")
    present = np.flatnonzero(np.bincount(codes, minlength=len(categories)))
    if present.size < 2:
        return None
    if drop_first:
        present = present[1:]
    matrix = (codes[:, None] == present[None, :]).astype("float64")
    return pd.DataFrame(matrix, index=column.index,
                        columns=[f"{name}={categories[i]}" for i in present])


@dataclass(frozen=True, eq=False)
class Absorbed:
    """A categorical covariate absorbed by demeaning (fixest's within transformation)."""

    name: str
    codes: np.ndarray      # level per row, 0..levels-1
    levels: int

    def demean(self, values: np.ndarray) -> np.ndarray:
        """Subtract each level's mean from every column (rows × columns or a vector)."""
        counts = np.bincount(self.codes, minlength=self.levels).astype("float64")
        if values.ndim == 1:
            sums = np.bincount(self.codes, weights=values, minlength=self.levels)
            return values - (sums / counts)[self.codes]
        means = np.stack([np.bincount(self.codes, weights=values[:, j], minlength=self.levels)
                          for j in range(values.shape[1])], axis=1) / counts[:, None]
        return values - means[self.codes]

    def leverage(self) -> np.ndarray:
        """Each row's leverage from the level dummies alone: 1 / rows in its level."""
        return 1.0 / np.bincount(self.codes, minlength=self.levels)[self.codes]


def absorbed_factor(pairs: pd.DataFrame, covariates: Sequence[str]) -> Absorbed | None:
    """The categorical covariate with the most levels (at least 2) in ``pairs``, to absorb.

    Only one factor is absorbed, exactly (one pass of demeaning); the others stay as
    dummy columns, few by nature (roles, bands), so HC3 leverages stay exact.
    """
    best: Absorbed | None = None
    for name in covariates:
        if name not in pairs.columns:
            continue
        column = pairs[name]
        if is_numeric(column) and not isinstance(column.dtype, pd.CategoricalDtype):
            continue
        codes, levels = level_codes(column)
        if levels >= 2 and (best is None or levels > best.levels):
            best = Absorbed(name, codes, levels)
    return best


def level_codes(column: pd.Series) -> tuple[np.ndarray, int]:
    """Level number per row and the number of levels, as
    ``pd.factorize(column.astype("string").fillna("missing"), sort=True)`` numbers them.

    A categorical with text categories in sorted order and no missing value (what
    :meth:`analysis.panel.index.PanelIndex.labels` makes) is renumbered from its codes:
    its present categories, in category order, are the sorted distinct texts. Anything
    else goes through the text.
    """
    if isinstance(column.dtype, pd.CategoricalDtype) and len(column):
        codes = column.cat.codes.to_numpy()
        categories = column.cat.categories
        text = all(isinstance(value, str) for value in categories)
        if text and categories.is_monotonic_increasing and codes.min() >= 0:
            present = np.bincount(codes, minlength=len(categories)) > 0
            return (np.cumsum(present) - 1)[codes].astype("int64"), int(present.sum())
    codes, levels = pd.factorize(column.astype("string").fillna("missing"), sort=True)
    return codes.astype("int64"), len(levels)


@dataclass(frozen=True, eq=False)
class RobustFit:
    """A least-squares fit with a robust covariance, as statsmodels computes it."""

    params: np.ndarray
    cov: np.ndarray
    df: float

    def coefficient(self, position: int, confidence: float
                    ) -> tuple[float | None, float | None, float | None, float | None, float | None]:
        """(estimate, ci_low, ci_high, p, se) of one coefficient; None where not finite.

        t inference on ``df`` as statsmodels' ``conf_int`` and ``pvalues`` with
        ``use_t=True``.
        """
        return t_inference(self.params[position], np.sqrt(self.cov[position, position]), self.df,
                           confidence)



def full_rank(design: np.ndarray) -> tuple[bool, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Whether ``design`` has full column rank (``np.linalg.matrix_rank``'s rule), and its SVD."""
    u, singular, vt = np.linalg.svd(design, full_matrices=False)
    if singular.size == 0:
        return False, (u, singular, vt)
    tol = singular.max() * max(design.shape) * np.finfo(singular.dtype).eps
    return bool(int((singular > tol).sum()) >= design.shape[1]), (u, singular, vt)


def robust_fit(y: np.ndarray, design: np.ndarray, cov_type: str, weights: np.ndarray | None = None,
                svd: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                absorbed: Absorbed | None = None) -> RobustFit:
    """OLS/WLS by the pseudo-inverse with an HC1 or HC3 covariance.

    The same arithmetic as statsmodels ``OLS/WLS(...).fit(cov_type=..., use_t=True)``
    (``method="pinv"``: ``pinv_extended`` with rcond 1e-15; HC scales from the whitened
    residuals; t on ``n - p`` df), without its per-fit overhead.

    With ``absorbed`` (OLS only), ``y`` and ``design`` are already demeaned within its
    levels: by Frisch–Waugh–Lovell the coefficients, residuals and the sandwich block
    equal those of the fit with the level dummies; the leverage adds ``1/n_level`` and
    the df lose one per level, so HC1/HC3 and t match the dummy fit exactly.
    """
    if weights is not None:
        root = np.sqrt(weights)
        wexog, wendog = design * root[:, None], y * root
        svd = None
    else:
        wexog, wendog = design, y
    u, singular, vt = svd if svd is not None else np.linalg.svd(wexog, full_matrices=False)
    cutoff = 1e-15 * np.maximum.reduce(singular)
    inverse = np.where(singular > cutoff, 1.0 / np.where(singular > cutoff, singular, 1.0), 0.0)
    pinv = np.dot(np.transpose(vt), np.multiply(inverse[:, np.newaxis], np.transpose(u)))
    params = np.dot(pinv, wendog)
    resid = wendog - np.dot(wexog, params)
    nobs, k = wexog.shape
    k_total = k + (absorbed.levels if absorbed is not None else 0)
    df = float(nobs - k_total)
    if cov_type == "HC3":
        normalized = np.dot(pinv, np.transpose(pinv))
        # h_i = x_i' N x_i; one product then a row-wise dot (a three-operand einsum loops per entry)
        leverage = np.einsum("ij,ij->i", wexog @ normalized, wexog)
        if absorbed is not None:
            leverage = leverage + absorbed.leverage()
        scale = (resid / (1 - leverage)) ** 2
    elif cov_type == "HC1":
        scale = nobs / df * resid ** 2
    else:
        raise ValueError(f"unknown covariance {cov_type!r}")
    cov = np.dot(pinv, scale[:, None] * pinv.T)
    return RobustFit(params=params, cov=cov, df=df)


# --------------------------------------------------------------------- analyses
