"""Participation and descriptive tables from the panel and attendance frames.

Inputs
------
attendance : one row per session attended, columns ``person`` (int64),
    ``session_date`` (datetime64), ``session_type`` (str or None),
    ``duration_minutes`` (float or None), ``site``, ``role``.
panel : one row per person × wave, columns ``person``, ``wave`` (str),
    ``wave_index`` (int, 0 = baseline), ``survey_date`` (datetime64), ``site``,
    ``role``, ``sessions`` (sessions attended on or before the survey date),
    ``participant`` (bool), and one float column per scored outcome (NaN = missing).

Everything is vectorised (groupby / searchsorted), so a panel of a million rows
takes seconds. No small-cell suppression happens here: the export does that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from analysis.panel.grouping import (
    Moments,
    aggregate,
    aggregate_moments,
    group_codes,
    grouped_median,
    grouped_quantiles,
    moments,
)
from analysis.stats.estimates import t_half_width

__all__ = [
    "CONTRIBUTION_COLUMNS",
    "DOSE_BANDS",
    "as_flag",
    "attendance_timing",
    "descriptives",
    "dose_band",
    "participation_summary",
]

DOSE_BANDS: tuple[str, ...] = ("0", "1–2", "3–5", "6+")
_DOSE_COLUMNS = {"0": "dose_0", "1–2": "dose_1_2", "3–5": "dose_3_5", "6+": "dose_6_plus"}
_DAYS_PER_MONTH = 365.25 / 12
#: Per-cell dominance inputs of :func:`descriptives` (with ``floors``): the largest and
#: second-largest individual contribution and the cell total of ``value - floor``.
#: Individual values: for :func:`analysis.privacy.export_checks.export_check` only, never shown.
CONTRIBUTION_COLUMNS: tuple[str, ...] = ("contrib_largest", "contrib_second_largest", "contrib_total")


def as_flag(values: pd.Series) -> pd.Series:
    """Boolean flag with missing read as False (a missing participation flag is not participation)."""
    if pd.api.types.is_bool_dtype(values) and not values.hasnans:
        return values.astype(bool)
    return values.astype("boolean").fillna(False).astype(bool)


def dose_band(sessions: pd.Series | np.ndarray | Sequence[float]) -> pd.Series:
    """Band sessions attended into ``"0"``, ``"1–2"``, ``"3–5"``, ``"6+"``.

    Returns an ordered categorical Series (missing sessions stay missing).

    Examples
    --------
    >>> list(dose_band([0, 1, 2, 3, 5, 6, 40]))
    ['0', '1–2', '1–2', '3–5', '3–5', '6+', '6+']
    """
    values = (sessions.astype("float64") if isinstance(sessions, pd.Series)
              else pd.Series(sessions, dtype="float64"))
    return pd.cut(values, bins=[-np.inf, 0, 2, 5, np.inf], labels=list(DOSE_BANDS), ordered=True)


def _attendance_until_survey(panel: pd.DataFrame, attendance: pd.DataFrame) -> pd.DataFrame:
    """Per panel row: sessions, first/last session date and distinct months up to the survey date.

    Attendance is sorted by (person, day) into one integer key so each panel row's
    sessions are a contiguous slice found with two ``searchsorted`` calls: no
    merge of every session onto every wave.
    """
    n = len(panel)
    empty = pd.DataFrame({
        "sessions_found": np.zeros(n, dtype="int64"),
        "first_day": np.full(n, np.nan), "last_day": np.full(n, np.nan),
        "months_attended": np.zeros(n, dtype="int64"),
    }, index=panel.index)
    known = attendance["session_date"].notna() & attendance["person"].notna()
    att = attendance.loc[known, ["person", "session_date"]]
    if att.empty or n == 0:
        return empty
    people, codes_att = np.unique(att["person"].to_numpy(), return_inverse=True)
    att_days = att["session_date"].to_numpy(dtype="datetime64[D]").astype("int64")
    survey_days = panel["survey_date"].to_numpy(dtype="datetime64[D]").astype("int64")
    origin = int(att_days.min())
    last_survey = np.nanmax(np.where(panel["survey_date"].notna(), survey_days, origin))
    span = int(max(att_days.max(), last_survey) - origin) + 2
    key_att = codes_att.astype("int64") * span + (att_days - origin)
    order = np.argsort(key_att, kind="stable")
    key_sorted = key_att[order]
    days_sorted = att_days[order]
    person_sorted = codes_att[order]
    month_sorted = att["session_date"].to_numpy(dtype="datetime64[M]").astype("int64")[order]
    new_month = np.ones(len(order), dtype="int64")
    new_month[1:] = (person_sorted[1:] != person_sorted[:-1]) | (month_sorted[1:] != month_sorted[:-1])
    months_cum = np.cumsum(new_month)

    panel_codes = np.searchsorted(people, panel["person"].to_numpy())
    panel_codes = np.clip(panel_codes, 0, len(people) - 1)
    known = people[panel_codes] == panel["person"].to_numpy()
    before = np.clip(survey_days - origin, -1, span - 1)
    lo = np.searchsorted(key_sorted, panel_codes.astype("int64") * span, side="left")
    hi = np.searchsorted(key_sorted, panel_codes.astype("int64") * span + before, side="right")
    valid = known & panel["survey_date"].notna().to_numpy() & (before >= 0)
    count = np.where(valid, hi - lo, 0)
    has = count > 0
    lo_safe, hi_safe = np.where(has, lo, 0), np.where(has, hi - 1, 0)
    return pd.DataFrame({
        "sessions_found": count.astype("int64"),
        "first_day": np.where(has, days_sorted[lo_safe], np.nan),
        "last_day": np.where(has, days_sorted[hi_safe], np.nan),
        # lo is each person's first session, which always opens a new month.
        "months_attended": np.where(has, months_cum[hi_safe] - months_cum[lo_safe] + 1, 0).astype("int64"),
    }, index=panel.index)


def attendance_timing(panel: pd.DataFrame, attendance: pd.DataFrame) -> pd.DataFrame:
    """Per panel row: sessions found, first/last session day and months attended up to
    the survey date (reusable ``timing`` for :func:`participation_summary`)."""
    return _attendance_until_survey(panel, attendance)


def participation_summary(panel: pd.DataFrame, attendance: pd.DataFrame,
                          by: Sequence[str] = ("wave",), *, timing: pd.DataFrame | None = None
                          ) -> pd.DataFrame:
    """Participation per wave (optionally per site, role or session type).

    Parameters
    ----------
    panel, attendance : frames described in the module docstring.
    by : grouping columns. Any panel column (``"wave"``, ``"site"``, ``"role"``,
        ...) and/or ``"session_type"``. With ``"session_type"``, a respondent is
        counted as a participant of a type when they attended at least one session
        of that type on or before their survey date (the ``min_sessions`` rule
        applies to all sessions together, not per type), and the session counts
        are of that type only.

    Returns
    -------
    Tidy frame, one row per group: the ``by`` columns, ``n_respondents``,
    ``n_participants``, ``participation_rate`` (participants / respondents),
    ``sessions_median``, ``sessions_q1``, ``sessions_q3`` (sessions per
    participant), ``dose_0``, ``dose_1_2``, ``dose_3_5``, ``dose_6_plus``
    (respondents per dose band), ``sessions_per_month`` (median over participants
    of sessions ÷ months from their first session to the survey date, at least one
    month), ``retention`` (share of participants who attended in ≥ 2 distinct
    calendar months) and ``span_days_median`` (median days from first to last
    session, participants only). Sessions after a respondent's survey date are
    ignored, so every number describes what was known at that wave.

    ``timing`` (keyword) is ``attendance_timing(panel, attendance)`` when the caller
    already has it (it does not depend on ``by``; ignored with ``session_type``).
    Only the columns the summary needs are copied, so a million-row panel with many
    outcome columns is not duplicated.
    """
    by = list(by)
    needed = [c for c in dict.fromkeys([*by, "person", "participant", "sessions", "survey_date",
                                        *(["wave_index"] if "wave" in by else [])])
              if c in panel.columns]
    frame = panel[needed].copy()
    if "session_type" in by:
        # one session type at a time (summarised, then stacked): stacking the frames
        # instead held a copy of the panel per type
        types = attendance["session_type"].fillna("unspecified").astype(str)
        # the type is one value per part: grouped by the other columns, then added as a column
        rest = [b for b in by if b != "session_type"] or by
        summaries = []
        for session_type in sorted(types.unique()):
            found = _attendance_until_survey(frame, attendance.loc[types == session_type])
            part = frame.drop(columns=["sessions", "participant"]).assign(**found)
            if rest is by:
                part["session_type"] = session_type
            part["sessions"] = part["sessions_found"]
            part["participant"] = part["sessions_found"] > 0
            summary = _summarise(part, rest)
            if rest is not by:
                summary.insert(by.index("session_type"), "session_type",
                               pd.Series(session_type, index=summary.index, dtype="str"))
            summaries.append(summary)
            del part
        if not summaries:
            return _empty_summary(by)
        out = pd.concat(summaries, ignore_index=True)
        return out.sort_values(by, kind="stable").reset_index(drop=True)
    found = timing if timing is not None else _attendance_until_survey(frame, attendance)
    return _summarise(frame.join(found), by)


def _summarise(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The summary of :func:`participation_summary` for one frame with timing columns.

    Grouped with integer codes (counts by ``bincount``, quantiles and medians from one
    sort by group and value) rather than a pandas groupby over the text columns; the
    numbers are pandas': its linear quantile, its median (mean of the two middle values)
    and its skipping of missing values.
    """
    codes, keys = group_codes(frame, by)
    n_groups = len(keys)
    participant = as_flag(frame["participant"]).to_numpy()
    sessions = frame["sessions"].fillna(0).to_numpy(dtype="float64")
    out = keys
    out["n_respondents"] = np.bincount(codes, minlength=n_groups).astype("int64")
    out["n_participants"] = np.bincount(codes[participant], minlength=n_groups).astype("int64")
    out["participation_rate"] = out["n_participants"] / out["n_respondents"]
    band = np.searchsorted(np.array([0.0, 2.0, 5.0]), sessions, side="left")  # bins (.., 0], (0, 2], ...
    dose = np.bincount(codes * 4 + band, minlength=4 * n_groups).reshape(n_groups, 4).astype("int64")

    takers = codes[participant]
    first_day = frame["first_day"].to_numpy(dtype="float64")[participant]
    taken = sessions[participant]
    survey_day = frame["survey_date"].to_numpy(dtype="datetime64[D]")[participant].astype("int64")
    months_in_program = np.maximum((survey_day - first_day) / _DAYS_PER_MONTH, 1.0)
    seen = ~np.isnan(first_day)
    rate = np.where(seen, taken / months_in_program, np.nan)
    retained = np.where(seen, frame["months_attended"].to_numpy()[participant] >= 2, np.nan)
    span = frame["last_day"].to_numpy(dtype="float64")[participant] - first_day
    quartiles = grouped_quantiles(takers, taken, n_groups, (0.25, 0.5, 0.75))
    for name, column in zip(("sessions_median", "sessions_q1", "sessions_q3"), (1, 0, 2)):
        out[name] = quartiles[:, column]
    for name, column in zip(_DOSE_COLUMNS.values(), range(4)):
        out[name] = dose[:, column]
    out["sessions_per_month"] = grouped_median(takers, rate, n_groups)
    kept = ~np.isnan(retained)
    count = np.bincount(takers[kept], minlength=n_groups)
    total = np.bincount(takers[kept], weights=retained[kept], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["retention"] = np.where(count > 0, total / count, np.nan)
    out["span_days_median"] = grouped_median(takers, span, n_groups)
    return out


def _empty_summary(by: list[str]) -> pd.DataFrame:
    columns = [*by, "n_respondents", "n_participants", "participation_rate", "sessions_median", "sessions_q1",
               "sessions_q3", *_DOSE_COLUMNS.values(), "sessions_per_month", "retention", "span_days_median"]
    return pd.DataFrame(columns=columns)


def _is_high(values: np.ndarray, cutoff: float, direction: str) -> np.ndarray:
    """1.0 where a score is at or past the cut-off, 0.0 where not, NaN where missing."""
    if direction == "high":
        flag = values >= cutoff
    elif direction == "low":
        flag = values <= cutoff
    else:
        raise ValueError(f"direction must be 'high' or 'low', not {direction!r}")
    return np.where(np.isnan(values), np.nan, flag.astype("float64"))


def descriptives(panel: pd.DataFrame, outcomes: Sequence[str],
                 cutoffs: Mapping[str, tuple[float, str]] | None = None,
                 by_site: bool = True, confidence: float = 0.95, *,
                 floors: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Mean, SD, t-based CI and share above the cut-off per outcome × wave × site × group.

    Parameters
    ----------
    panel : the panel frame (module docstring).
    outcomes : outcome column names present in ``panel``.
    cutoffs : outcome → ``(cutoff, direction)``; ``"high"`` means a score
        ``≥ cutoff`` is bad (e.g. CBI ≥ 50), ``"low"`` means ``≤ cutoff`` is bad.
        Outcomes without a cut-off get empty share columns.
    by_site : also break down by site (rows with ``site = 'all'`` are always there).
    floors : outcome → the scale's lowest possible score (keyword). When given, the
        result also has :data:`CONTRIBUTION_COLUMNS` (``contrib_largest``,
        ``contrib_second_largest``, ``contrib_total``): per cell, the two largest
        individual contributions and the cell total of ``value - floor`` (clipped at 0),
        i.e. the summed quantity shifted to be non-negative, as the N-K dominance rule
        needs. NaN for outcomes not in ``floors`` and for a missing second contribution.
        These are individual values: pass them to the export check only, never show them.

    Returns
    -------
    Tidy frame: ``outcome, wave, wave_index, site, group, n, mean, sd, ci_low,
    ci_high, n_high, share_high, share_high_ci_low, share_high_ci_high``.
    ``group`` is ``participants``, ``comparison`` or ``all``; ``n`` counts
    respondents with a value. CI of the mean is ``mean ± t_{n-1} · sd/√n``
    (empty for n < 2); the share's CI is Wilson's. Missing values are NaN here
    (empty cells in CSV). No small-cell suppression.
    """
    cutoffs = cutoffs or {}
    floors = dict(floors) if floors is not None else None
    outcomes = [o for o in outcomes if o in panel.columns]
    base = panel[["wave", "wave_index", "site", "participant", *outcomes]].copy()
    base["group"] = np.where(as_flag(base["participant"]), "participants", "comparison")
    base["site"] = base["site"].astype("string").fillna("unknown")
    frame, aggregations = _value_columns(base, outcomes, cutoffs)
    dominance_order = _dominance_inputs(frame, outcomes, floors, aggregations) if floors is not None else {}
    tables = []
    site_levels = [False, True] if by_site else [False]
    # the finest cells' moments once; each breakdown adds them up (not with contributions:
    # their largest values are read per breakdown)
    finest = None if floors is not None or not outcomes else moments(
        frame, ["wave", "wave_index", *(["site"] if by_site else []), "group"],
        list(dict.fromkeys(column for column, _ in aggregations.values())))
    for split_site in site_levels:
        for split_group in (False, True):
            if outcomes:
                tables.extend(_cell_summaries(frame, outcomes, cutoffs, aggregations, dominance_order,
                                              floors is not None, split_site, split_group, finest))
    columns = ["outcome", "wave", "wave_index", "site", "group", "n", "mean", "sd", "ci_low", "ci_high",
               "n_high", "share_high", "share_high_ci_low", "share_high_ci_high"]
    if floors is not None:
        columns += list(CONTRIBUTION_COLUMNS)
    if not tables:
        return pd.DataFrame(columns=columns)
    out = _with_intervals(pd.concat(tables, ignore_index=True), confidence)
    group_order = {"participants": 0, "comparison": 1, "all": 2}
    out["_outcome_order"] = out["outcome"].map({name: i for i, name in enumerate(outcomes)})
    out["_site_order"] = np.where(out["site"] == "all", 0, 1)
    out["_group_order"] = out["group"].map(group_order)
    out = out.sort_values(["_outcome_order", "wave_index", "wave", "_site_order", "site", "_group_order"],
                          kind="stable")
    return out[columns].reset_index(drop=True)


def _value_columns(base: pd.DataFrame, outcomes: Sequence[str], cutoffs: Mapping[str, tuple[float, str]]
                   ) -> tuple[pd.DataFrame, dict[str, tuple[str, str]]]:
    """Each outcome's values and high flags as numbered columns, with their aggregations.

    One grouping per breakdown then serves every outcome at once (not one per outcome).
    """
    frame = base[["wave", "wave_index", "site", "group"]].copy()
    aggregations: dict[str, tuple[str, str]] = {}
    for i, outcome in enumerate(outcomes):
        frame[f"value{i}"] = pd.to_numeric(base[outcome], errors="coerce").astype("float64")
        if outcome in cutoffs:
            cutoff, direction = cutoffs[outcome]
            frame[f"high{i}"] = _is_high(frame[f"value{i}"].to_numpy(), cutoff, direction)
        else:
            frame[f"high{i}"] = np.nan
        aggregations.update({f"n{i}": (f"value{i}", "count"), f"mean{i}": (f"value{i}", "mean"),
                             f"sd{i}": (f"value{i}", "std"), f"n_high{i}": (f"high{i}", "sum"),
                             f"n_flagged{i}": (f"high{i}", "count")})
    return frame, aggregations


def _dominance_inputs(frame: pd.DataFrame, outcomes: Sequence[str], floors: Mapping[str, float],
                      aggregations: dict[str, tuple[str, str]]) -> dict[int, np.ndarray]:
    """Contribution columns (added to ``frame`` and ``aggregations``) and each outcome's order.

    Sorted once per outcome (largest first, missing last); per breakdown the row ranked
    second in its cell feeds a "max" in the same groupby as the statistics.
    """
    dominance_order: dict[int, np.ndarray] = {}
    for i, outcome in enumerate(outcomes):
        if outcome not in floors:
            continue
        shifted = (frame[f"value{i}"] - float(floors[outcome])).clip(lower=0.0)
        frame[f"contrib{i}"] = shifted
        frame[f"second{i}"] = np.nan
        dominance_order[i] = np.argsort(-shifted.to_numpy(), kind="stable")
        aggregations.update({f"contrib_largest{i}": (f"contrib{i}", "max"),
                             f"contrib_second_largest{i}": (f"second{i}", "max"),
                             f"contrib_total{i}": (f"contrib{i}", "sum")})
    return dominance_order


def _cell_summaries(frame: pd.DataFrame, outcomes: Sequence[str], cutoffs: Mapping[str, tuple[float, str]],
                    aggregations: dict[str, tuple[str, str]], dominance_order: dict[int, np.ndarray],
                    with_contributions: bool, split_site: bool, split_group: bool,
                    finest: Moments | None = None) -> list[pd.DataFrame]:
    """One breakdown (by wave, optionally site and group): a summary frame per outcome.

    With ``finest`` (:func:`analysis.panel.grouping.moments` of the finest cells) the statistics are added up
    from them instead of read from every row."""
    keys = ["wave", "wave_index"] + (["site"] if split_site else []) + (["group"] if split_group else [])
    if dominance_order:
        cells = group_codes(frame, keys)[0]
        for i, order in dominance_order.items():
            ranked = cells[order]
            rank = np.empty(len(order), dtype="int64")
            rank[order] = pd.Series(ranked).groupby(ranked, sort=False).cumcount().to_numpy()
            frame[f"second{i}"] = frame[f"contrib{i}"].where(rank == 1)
    grouped = aggregate(frame, keys, aggregations) if finest is None else \
        aggregate_moments(finest, keys, aggregations)
    tables = []
    for i, outcome in enumerate(outcomes):
        summary = grouped[keys].copy()
        for name in ("n", "mean", "sd", "n_high", "n_flagged"):
            summary[name] = grouped[f"{name}{i}"]
        if with_contributions:
            for name in CONTRIBUTION_COLUMNS:
                summary[name] = grouped[f"{name}{i}"] if i in dominance_order else np.nan
        if not split_site:
            summary["site"] = "all"
        if not split_group:
            summary["group"] = "all"
        summary["outcome"] = outcome
        summary["has_cutoff"] = outcome in cutoffs
        tables.append(summary)
    return tables


def _with_intervals(out: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """The mean's t interval and the share's Wilson interval per cell."""
    n = out["n"].to_numpy(dtype="float64")
    out["mean"] = out["mean"].where(out["n"] > 0)
    out["sd"] = out["sd"].where(out["n"] > 1)
    half = t_half_width(out["sd"], n, confidence)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    flagged = out["n_flagged"].to_numpy(dtype="int64")
    n_high = out["n_high"].to_numpy(dtype="float64")
    usable = out["has_cutoff"].to_numpy() & (flagged > 0)
    safe_n = np.where(usable, flagged, 1)
    low, high = proportion_confint(np.where(usable, n_high, 0), safe_n, alpha=1 - confidence, method="wilson")
    out["n_high"] = pd.array(np.where(out["has_cutoff"], n_high, np.nan), dtype="Int64")
    out["share_high"] = np.where(usable, n_high / safe_n, np.nan)
    out["share_high_ci_low"] = np.where(usable, low, np.nan)
    out["share_high_ci_high"] = np.where(usable, high, np.nan)
    return out
