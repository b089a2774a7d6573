"""Internal consistency of the item-scored scales: Cronbach's α with a Feldt interval.

Pure functions: arrays or frames in, a :class:`Reliability` or a tidy frame out. The
query that fetches item answers belongs elsewhere; :func:`item_scores_sql` gives it the
SELECT list, so that it pulls only the items a scale needs, already reversed.

α is computed on item *scores* (reversed items reversed), never on raw codes: a reversed
item left unreversed correlates negatively with the rest and drags α down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.definitions.instruments import SCALES, Scale, item_score
from analysis.definitions.scoring_sql import item_score_sql, quote_identifier

#: α below this is flagged for caution (the usual rule of thumb for group comparisons).
ALPHA_CAUTION = 0.70
#: Suffix of the item-score columns :func:`item_scores_sql` selects, e.g. ``cbi_13_score``.
ITEM_SCORE_SUFFIX = "_score"

RELIABILITY_COLUMNS = ("scale", "wave", "alpha", "ci_low", "ci_high", "n", "k", "caution",
                       "status")


@dataclass(frozen=True)
class Reliability:
    """Cronbach's α of one scale in one sample.

    Parameters
    ----------
    alpha, ci_low, ci_high : float or None
        α and its Feldt confidence interval; None (never NaN) when not estimated.
    n : int
        Complete responses used (every item answered).
    k : int
        Number of items.
    caution : bool
        True when α was estimated and is below :data:`ALPHA_CAUTION`.
    status : str
        ``"ok"`` or ``"not enough data: <why>"``.
    confidence : float
        Coverage of the interval.
    """

    alpha: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    k: int
    caution: bool
    status: str
    confidence: float = 0.95

    @property
    def ok(self) -> bool:
        """True when α was estimated."""
        return self.status == "ok"


def _not_estimated(n: int, k: int, why: str, confidence: float) -> Reliability:
    return Reliability(None, None, None, n, k, False, f"not enough data: {why}", confidence)


def cronbach_alpha(items: object, confidence: float = 0.95) -> Reliability:
    """Cronbach's α with the Feldt confidence interval.

    .. math::

        \\alpha = \\frac{k}{k-1}\\Big(1 - \\frac{\\sum_i s_i^2}{s_T^2}\\Big)

    where :math:`s_i^2` are the item variances and :math:`s_T^2` the variance of the
    respondents' totals (both with ``n - 1``). Feldt (1965) interval, with
    :math:`F` the F distribution on :math:`n-1` and :math:`(n-1)(k-1)` degrees of freedom::

        lower = 1 - (1 - α) · F.isf((1 - confidence) / 2)
        upper = 1 - (1 - α) · F.isf((1 + confidence) / 2)

    Parameters
    ----------
    items : 2-D array-like
        Item scores, rows = respondents, columns = items; reversed items already
        reversed. Rows with any missing item are dropped (complete cases).
    confidence : float
        Coverage of the interval.

    Returns
    -------
    Reliability
        Not estimated (``status`` "not enough data: ...") with fewer than 3 complete
        responses, fewer than 2 items, or totals that do not vary.

    References
    ----------
    Cronbach LJ. Coefficient alpha and the internal structure of tests. Psychometrika
    1951;16:297-334. Feldt LS. The approximate sampling distribution of Kuder-Richardson
    reliability coefficient twenty. Psychometrika 1965;30:357-370. Matches R
    ``psych::alpha`` (shared/reference/stat-vectors.md).

    Examples
    --------
    Item variances 5/3 and 19/12, total variance 25/4: α = 2 (1 − 3.25 / 6.25) = 0.96.

    >>> round(cronbach_alpha([[1, 2], [2, 3], [3, 3], [4, 5]]).alpha, 10)
    0.96
    """
    matrix = np.asarray(items, dtype=float)
    if matrix.ndim != 2:
        raise ValueError("items must be 2-D: rows = respondents, columns = items")
    complete = matrix[~np.isnan(matrix).any(axis=1)]
    n, k = complete.shape
    if k < 2 or n < 3:
        return alpha_from_moments(n, k, np.nan, np.nan, np.nan, np.nan, confidence)
    totals = complete.sum(axis=1)
    return alpha_from_moments(n, k, complete.var(axis=0, ddof=1).sum(), totals.var(ddof=1),
                              np.ptp(totals), float(np.abs(totals).max()), confidence)


def alpha_from_moments(n: int, k: int, item_variance_sum: float, total_variance: float,
                       total_range: float, total_abs_max: float, confidence: float = 0.95
                       ) -> Reliability:
    """Cronbach's α and its Feldt interval from the complete responses' moments.

    What :func:`cronbach_alpha` computes, from sums a query can give (one row per scale
    and wave) instead of the item matrix.

    Parameters
    ----------
    n, k : int
        Complete responses (every item answered) and items.
    item_variance_sum : float
        Sum over items of each item's variance (``n - 1``), complete responses only.
    total_variance, total_range, total_abs_max : float
        Variance (``n - 1``), range (max − min) and largest absolute value of the
        complete responses' totals.
    confidence : float
        Coverage of the interval.

    Returns
    -------
    Reliability
        As :func:`cronbach_alpha`; the moments are not read when ``k < 2`` or ``n < 3``.

    Examples
    --------
    >>> round(alpha_from_moments(4, 2, 5 / 3 + 19 / 12, 25 / 4, 6.0, 9.0).alpha, 10)
    0.96
    """
    if k < 2:
        return _not_estimated(n, k, f"α needs at least 2 items (k = {k})", confidence)
    if n < 3:
        return _not_estimated(n, k, f"fewer than 3 complete responses (n = {n})", confidence)
    if total_range <= 1e-12 * max(1.0, float(total_abs_max)):
        return _not_estimated(n, k, "every complete response has the same total "
                                    "(zero variance)", confidence)
    alpha = k / (k - 1) * (1.0 - item_variance_sum / total_variance)
    df_between, df_within = n - 1, (n - 1) * (k - 1)
    tail = (1.0 - confidence) / 2.0
    ci_low = 1.0 - (1.0 - alpha) * stats.f.isf(tail, df_between, df_within)
    ci_high = 1.0 - (1.0 - alpha) * stats.f.isf(1.0 - tail, df_between, df_within)
    return Reliability(float(alpha), float(ci_low), float(ci_high), int(n), int(k),
                       bool(alpha < ALPHA_CAUTION), "ok", confidence)


def item_score_column(item_column: str) -> str:
    """Name of the item-score column :func:`item_scores_sql` gives an item column."""
    return item_column + ITEM_SCORE_SUFFIX


def item_scores_sql(scale: Scale, column_of: Callable[[str], str] = quote_identifier) -> str:
    """SELECT list of one scale's item scores (reversed items reversed).

    Each item ``<instrument>_<n>`` becomes ``<instrument>_<n>_score``, scored exactly as
    in :func:`analysis.definitions.scoring_sql.scale_score_sql`; unanswered items stay NULL.

    Parameters
    ----------
    scale : Scale
        A scale with items.
    column_of : callable
        Maps an item column name to the SQL that reads its stored raw code.

    Examples
    --------
    >>> from analysis.definitions.instruments import SCALES_BY_KEY
    >>> item_scores_sql(SCALES_BY_KEY["ucla3_loneliness"]).split(", ")[0]
    'CAST("ucla3_1" AS DOUBLE) AS "ucla3_1_score"'
    """
    if scale.scored_only:
        raise ValueError(f"{scale.key} has no items: it is accepted only as a scored column")
    return ", ".join(
        f"{item_score_sql(scale, number, column_of(column))} AS "
        f"{quote_identifier(item_score_column(column))}"
        for number, column in zip(scale.items, scale.item_columns)
    )


def _item_scores(scale: Scale, frame: pd.DataFrame) -> pd.DataFrame:
    """Item scores of a scale from a frame of item scores or raw item codes.

    Columns named ``<item>_score`` (from :func:`item_scores_sql`) are taken as they are;
    otherwise raw ``<item>`` codes are reversed and scaled here. Items in neither form
    are left out.
    """
    scores = {}
    for number, column in zip(scale.items, scale.item_columns):
        if item_score_column(column) in frame:
            scores[column] = frame[item_score_column(column)].astype("Float64")
        elif column in frame:
            scores[column] = item_score(scale, number, frame[column].astype("Float64"))
    return pd.DataFrame(scores, index=frame.index)


def reliability_table(item_frame: pd.DataFrame,
                      scales: Iterable[Scale] = SCALES) -> pd.DataFrame:
    """Cronbach's α of each scale at each wave, as a tidy frame.

    Parameters
    ----------
    item_frame : DataFrame
        One row per response: ``wave`` and the scales' item columns, either raw codes
        (``cbi_13``, as stored) or item scores (``cbi_13_score``, from
        :func:`item_scores_sql`). Blank items are missing.
    scales : iterable of Scale
        Scales to assess; those without items (MBI) or with none of their items in the
        frame are left out.

    Returns
    -------
    DataFrame
        Columns ``scale, wave, alpha, ci_low, ci_high, n, k, caution, status``; one row
        per scale and wave (waves in order of first appearance). ``alpha`` and the
        interval are empty (NA) where ``status`` says not enough data.
    """
    rows = []
    waves = pd.unique(item_frame["wave"])
    for scale in scales:
        if scale.scored_only:
            continue
        scores = _item_scores(scale, item_frame)
        if scores.empty:
            continue
        for wave in waves:
            in_wave = scores[(item_frame["wave"] == wave).to_numpy()]
            result = cronbach_alpha(in_wave.to_numpy(dtype=float, na_value=np.nan))
            rows.append((scale.key, wave, result))
    return _tidy(rows)


#: Columns of :func:`reliability_from_moments`' input (one row per scale and wave).
MOMENT_COLUMNS = ("scale", "wave", "n", "k", "item_variance_sum", "total_variance", "total_range",
                  "total_abs_max")


def reliability_from_moments(moments: pd.DataFrame) -> pd.DataFrame:
    """:func:`reliability_table` from per scale and wave moments (:func:`alpha_from_moments`).

    Parameters
    ----------
    moments : DataFrame
        :data:`MOMENT_COLUMNS`, one row per scale and wave in the order wanted
        (:func:`analysis.storage.queries.item_moments` gives them); moments are NaN
        where fewer than 3 responses are complete.

    Returns
    -------
    DataFrame
        The columns and types of :func:`reliability_table`, one row per input row.
    """
    rows = []
    for row in moments.itertuples(index=False):
        result = alpha_from_moments(int(row.n), int(row.k), row.item_variance_sum, row.total_variance,
                                    row.total_range, row.total_abs_max)
        rows.append((row.scale, row.wave, result))
    return _tidy(rows)


def _tidy(rows: list[tuple[str, object, Reliability]]) -> pd.DataFrame:
    table = pd.DataFrame([(key, wave, r.alpha, r.ci_low, r.ci_high, r.n, r.k, r.caution, r.status)
                          for key, wave, r in rows], columns=list(RELIABILITY_COLUMNS))
    return table.astype({"alpha": "Float64", "ci_low": "Float64", "ci_high": "Float64",
                         "n": "int64", "k": "int64", "caution": "bool"})
