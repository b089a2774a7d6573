"""Multiple comparisons: Holm (family-wise error) and Benjamini–Hochberg (false discovery rate).

References
----------
Holm S (1979). Scand J Stat 6:65-70.
Benjamini Y, Hochberg Y (1995). J R Stat Soc B 57:289-300.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from analysis.stats.estimates import Estimate, finite_or_none

__all__ = ["adjust_families", "benjamini_hochberg", "holm"]


def _adjust(pvals: Sequence[float | None] | np.ndarray, method: str) -> list[float | None]:
    """Holm or Benjamini–Hochberg in numpy, step for step as statsmodels ``multipletests``.

    statsmodels' Holm branch calls ``gc.collect()`` on every call, which costs a
    full collection per family in a process holding many objects; the arithmetic
    below is the same (same sort, same products and quotients, same running
    max/min, same cap at 1), so the results are identical.
    """
    values = [finite_or_none(p) for p in pvals]
    index = [i for i, p in enumerate(values) if p is not None]
    out: list[float | None] = [None] * len(values)
    if not index:
        return out
    raw = np.asarray([values[i] for i in index], dtype="float64")
    order = np.argsort(raw)
    ranked = np.take(raw, order)
    m = ranked.size
    if method == "holm":
        corrected = np.maximum.accumulate(ranked * np.arange(m, 0, -1))
    elif method == "fdr_bh":
        ecdf = np.arange(1, m + 1) / float(m)
        corrected = np.minimum.accumulate((ranked / ecdf)[::-1])[::-1]
    else:
        raise ValueError(f"unknown adjustment {method!r}")
    corrected[corrected > 1] = 1
    adjusted = np.empty_like(corrected)
    adjusted[order] = corrected
    for i, p in zip(index, adjusted):
        out[i] = float(p)
    return out


def holm(pvals: Sequence[float | None] | np.ndarray) -> list[float | None]:
    """Holm step-down adjusted p-values (family-wise error rate).

    ``p̃_(i) = max_{j≤i} min(1, (m - j + 1) p_(j))``. Missing p-values stay
    ``None`` and do not count towards ``m``. Same numbers as statsmodels
    ``multipletests(method="holm")`` (its default is Holm–Šidák), without its
    per-call ``gc.collect()``.
    """
    return _adjust(pvals, "holm")


def benjamini_hochberg(pvals: Sequence[float | None] | np.ndarray) -> list[float | None]:
    """Benjamini–Hochberg adjusted p-values (false discovery rate).

    ``p̃_(i) = min_{j≥i} min(1, m p_(j) / j)``. Valid under independence or
    positive dependence. Missing p-values stay ``None``. Same numbers as
    statsmodels ``multipletests(method="fdr_bh")``.
    """
    return _adjust(pvals, "fdr_bh")



def adjust_families(results: list[Estimate], primary: Mapping[str, str]) -> list[Estimate]:
    """Multiplicity-adjusted p-values, one family per analysis × wave (see
    :func:`analysis.stats.compare.compare_all`): Holm over the primary outcomes of one
    instrument, Benjamini–Hochberg over the others. Sets ``p_adjusted`` and
    ``adjust_method``; results without a p-value keep None.
    """
    families: dict[tuple[str, str, str, str], list[int]] = {}
    for index, est in enumerate(results):
        kind = ("holm", primary[est.outcome]) if est.outcome in primary else ("benjamini_hochberg", "")
        families.setdefault((est.analysis, est.wave, *kind), []).append(index)
    adjusted = list(results)
    for (_, _, method, _), members in families.items():
        pvals = [results[i].p_value for i in members]
        values = holm(pvals) if method == "holm" else benjamini_hochberg(pvals)
        for i, value in zip(members, values):
            adjusted[i] = replace(results[i], p_adjusted=value,
                                  adjust_method=method if value is not None else None)
    return adjusted
