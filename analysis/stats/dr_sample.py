"""The sample the weighted rows of :mod:`analysis.stats.dr_did` compare, and its design's patterns.

:func:`prepared_sample` takes the people not left out by :mod:`analysis.stats.group_time`
seen at baseline and the wave, their change, group and covariates at baseline, drops
the levels without overlap (:func:`analysis.stats.dr_did.weighted_did` says how) and
describes the design (a constant and dummies) by its distinct rows (:class:`Patterns`),
without building the n × p matrix. Memoised per outcome × wave on the panel index: the
ipw and dr_did rows of a wave and the balance table compare the same people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sparse_array

from analysis.panel.index import PanelIndex, is_numeric
from analysis.stats.group_time import outcome_matrix, program_timing

__all__ = ["Patterns", "PreparedSample", "prepare", "prepared_sample"]


@dataclass(frozen=True, eq=False)
class Patterns:
    """A design by its distinct rows: row ``i`` of the n × p design is ``rows[code[i]]``.

    Site and role dummies take few distinct values (at most sites × roles), so every
    product with the design is done on ``rows`` and spread back with ``code``: the same
    sums as on the n × p design, at a cost that does not grow with n × p.
    """

    code: np.ndarray  # n pattern numbers in 0..P-1
    rows: np.ndarray  # P × p

    @classmethod
    def of(cls, x: np.ndarray) -> Patterns:
        """The patterns of an n × p design given row by row."""
        x = np.asarray(x, dtype="float64")
        rows, code = np.unique(x, axis=0, return_inverse=True)
        return cls(np.asarray(code, dtype="int64").reshape(-1), rows)

    @cached_property
    def sparse(self) -> sparse_array.csr_array:
        """``rows`` as a sparse matrix (mostly zeros: one dummy per covariate is set)."""
        return sparse_array.csr_array(self.rows)

    def total(self, values: np.ndarray) -> np.ndarray:
        """``Σ_i values_i x_i`` (length p)."""
        return self.counts(values) @ self.rows

    def counts(self, values: np.ndarray | None = None) -> np.ndarray:
        """Sum of ``values`` (or the number of people) in each pattern."""
        return np.bincount(self.code, weights=values, minlength=self.rows.shape[0]).astype("float64")

    def rank(self) -> int:
        """``np.linalg.matrix_rank`` of the n × p design, from its patterns.

        ``√count × rows`` has the same ``XᵀX``, hence the same singular values, as the
        design; the tolerance is numpy's default for the n × p matrix. Computed once.
        """
        return self._rank

    @cached_property
    def _rank(self) -> int:
        n, p = self.code.size, self.rows.shape[1]
        if n == 0 or p == 0:
            return 0
        singular = np.linalg.svd(self.rows * np.sqrt(self.counts())[:, None], compute_uv=False)
        return int(np.count_nonzero(singular > singular.max() * max(n, p) * np.finfo("float64").eps))


def _overlap_levels(
    categories: dict[str, np.ndarray], treated: np.ndarray
) -> tuple[np.ndarray, int, int, list[str]]:
    """Rows kept after dropping levels without participants or without comparison people.

    ``categories`` maps each categorical covariate to its level numbers per row.
    """
    keep = np.ones(treated.size, bool)
    notes: list[str] = []
    for _ in range(3):  # dropping by one covariate can empty a level of another
        changed = False
        for name, codes in categories.items():
            levels = int(codes.max()) + 1 if codes.size else 0
            size = np.bincount(codes[keep], minlength=levels)
            joined = np.bincount(codes[keep], weights=treated[keep], minlength=levels)
            no_part = (size > 0) & (joined == 0)
            no_comp = (size > 0) & (joined == size)
            drop = keep & (no_part | no_comp)[codes]
            if drop.any():
                keep &= ~drop
                changed = True
                if no_part.any():
                    notes.append(f"{name}: {int(no_part.sum())} level(s) without participants")
                if no_comp.any():
                    notes.append(f"{name}: {int(no_comp.sum())} level(s) without comparison people")
        if not changed:
            break
    dropped_comp = int((~keep & (treated == 0)).sum())
    dropped_part = int((~keep & (treated == 1)).sum())
    return keep, dropped_part, dropped_comp, notes


def _design_rows(frame: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Design of ``frame``: a constant, each numeric covariate that varies, and the dummies
    of each text covariate's levels in sorted order, the first dropped (as
    ``pd.get_dummies(..., drop_first=True)`` names and orders them)."""
    blocks = [np.ones((len(frame), 1))]
    columns = ["const"]
    for name in covariates:
        column = frame[name]
        if is_numeric(column):
            if column.nunique() > 1:
                blocks.append(column.astype("float64").to_numpy()[:, None])
                columns.append(name)
        else:
            levels, level = np.unique(column.to_numpy(dtype=object), return_inverse=True)
            blocks.append((level.reshape(-1, 1) == np.arange(1, levels.size)).astype("float64"))
            columns += [f"{name}={label}" for label in levels[1:]]
    return np.hstack(blocks), columns


def _design_patterns(
    frame: pd.DataFrame,
    covariates: Sequence[str],
    categories: dict[str, np.ndarray],
    labels: dict[str, np.ndarray],
) -> tuple[Patterns, list[str]]:
    """The patterns of the design and its column names, without building it.

    ``frame`` holds the numeric covariates; a text covariate is its level numbers per
    row in ``categories`` and the level labels in ``labels``. People with the same value
    of every covariate share a design row; the design of one person per pattern has the
    same columns (the same levels and distinct values).
    """
    code = np.zeros(len(frame), dtype="int64")
    for name in covariates:
        part = categories.get(name)
        if part is None:  # numeric: each distinct value (NaN too) is a pattern of its own
            part, _ = pd.factorize(frame[name], use_na_sentinel=False)
        code, _ = pd.factorize(code * (int(part.max()) + 1 if part.size else 1) + part)
    code = np.asarray(code, dtype="int64")
    # first row of each pattern: factorize numbers patterns in order of first appearance
    # (what np.unique(code, return_index=True)[1] gives, without sorting)
    top = np.maximum.accumulate(code) if code.size else code
    first = np.flatnonzero(np.concatenate([[True], top[1:] > top[:-1]])) if code.size else code
    people = pd.DataFrame(
        {name: labels[name][categories[name][first]] if name in categories else frame[name].to_numpy()[first]
         for name in covariates},
        index=pd.RangeIndex(first.size),  # with no covariates: one row per pattern all the same
    )
    rows, columns = _design_rows(people, covariates)
    return Patterns(code, rows), columns


def _levels(panel: pd.DataFrame, name: str, index: PanelIndex | None) -> tuple[np.ndarray, np.ndarray]:
    """Level number per panel row and the level labels (text; a missing value is ``"missing"``).

    Factorized once per ``index`` memo: the labels are not converted row by row each call.
    """
    key = ("dr_did levels", name)
    if index is not None and key in index.memo:
        return index.memo[key]  # type: ignore[return-value]
    codes, uniques = pd.factorize(panel[name])  # a missing value gets -1
    text = pd.Series(np.asarray(uniques, dtype=object), dtype=object).astype("string").fillna("missing")
    labels = np.append(text.to_numpy(dtype=object), "missing")  # position -1: missing
    merged, names = pd.factorize(labels)  # the text "missing" and a missing value are one level
    result = (np.asarray(merged, dtype="int64")[codes], np.asarray(names, dtype=object))
    if index is not None:
        index.memo[key] = result
    return result


def _sample(
    panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str], index: PanelIndex | None
) -> tuple[pd.DataFrame, int, dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    """The people compared: a frame of the numbers (``change, baseline, group, cluster``
    and numeric covariates), people left out, and each text covariate's level numbers
    per person with the level labels (not spread into the frame: see :func:`prepare`)."""
    timing = program_timing(panel, index)
    if str(wave) not in timing.waves:
        return None
    w = timing.waves.index(str(wave))
    y = outcome_matrix(panel, outcome, timing, index)
    use = ~timing.left_out & ~np.isnan(y[:, 0]) & ~np.isnan(y[:, w])
    base_rows = timing.rows[use, 0]
    columns = {
        "change": y[use, w] - y[use, 0],
        "baseline": y[use, 0],
        "group": timing.participant[use, w].astype("int64"),
        "cluster": timing.site[use]
        if timing.clusters.unit == "site" and timing.site is not None
        else timing.people[use],
    }
    categories: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    for name in covariates:
        if name in panel.columns:
            if is_numeric(panel[name]):
                columns[name] = panel[name].to_numpy()[base_rows]
            else:
                codes, labels[name] = _levels(panel, name, index)
                categories[name] = codes[base_rows]
    frame = pd.DataFrame(columns)  # one construction: adding columns one by one copies
    return frame, int(np.sum(timing.left_out & ~np.isnan(y[:, w]))), categories, labels


@dataclass(frozen=True, eq=False)
class PreparedSample:
    """The people the weighted rows compare at one wave (:func:`prepared_sample`)."""

    frame: pd.DataFrame  # the numbers; text covariates are in categories and labels
    patterns: Patterns
    columns: list[str]  # design column names
    info: dict  # left out, dropped counts and note, covariates used
    categories: dict[str, np.ndarray]  # level number per person of each text covariate
    labels: dict[str, np.ndarray]  # the level labels of each text covariate
    used: tuple[str, ...]
    #: fits on this sample shared by the rows that use it (the propensity)
    memo: dict = field(default_factory=dict)

    @cached_property
    def treated(self) -> np.ndarray:
        """1.0 for participants, 0.0 for the comparison group."""
        return self.frame["group"].to_numpy(dtype="float64")


def prepared_sample(
    panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str], index: PanelIndex | None
) -> PreparedSample | None:
    """:func:`prepare` without spreading the text covariates' labels over the rows.

    Memoised on ``index``: the ipw and dr_did rows of a wave compare the same people.
    """
    key = ("dr_did prepared", outcome, str(wave), tuple(covariates))
    if index is not None and key in index.memo:
        return index.memo[key]  # type: ignore[return-value]
    built = _sample(panel, outcome, wave, covariates, index)
    if built is None:
        return None
    frame, left_out, categories, labels = built
    used = [c for c in covariates if c in frame.columns or c in categories]
    keep, dropped_part, dropped_comp, notes = _overlap_levels(categories, frame["group"].to_numpy())
    if not keep.all():
        frame = frame.loc[keep].reset_index(drop=True)
        categories = {name: codes[keep] for name, codes in categories.items()}
    info = {
        "left_out": left_out,
        "participants_dropped": dropped_part,
        "comparison_dropped": dropped_comp,
        "dropped_note": "; ".join(dict.fromkeys(notes)) or None,
        "covariates_used": tuple(used),
    }
    patterns, columns = _design_patterns(frame, used, categories, labels)
    prepared = PreparedSample(frame, patterns, columns, info, categories, labels, tuple(used))
    if index is not None:
        index.memo[key] = prepared
    return prepared


def prepare(
    panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str], index: PanelIndex | None
) -> tuple[pd.DataFrame, pd.DataFrame, dict] | None:
    """The people compared at ``wave`` after dropping levels without overlap, their design, notes.

    None when ``wave`` is not in the data. The frame has ``change, baseline, group,
    cluster`` and the covariates; the design has a constant and dummies (first level
    dropped); the dict holds ``left_out``, the dropped counts and ``dropped_note``.
    """
    prepared = prepared_sample(panel, outcome, wave, covariates, index)
    if prepared is None:
        return None
    patterns = prepared.patterns
    frame = prepared.frame.copy()
    for name in prepared.used:
        if name in prepared.categories:
            frame[name] = prepared.labels[name][prepared.categories[name]]
    frame = frame[[*frame.columns[:4], *prepared.used]]
    design = pd.DataFrame(patterns.rows[patterns.code], columns=prepared.columns)
    return frame, design, dict(prepared.info)
