"""Data access: every read of stored survey and attendance data, each taking the scope.

These functions query and return frames; they fit no model (STYLE.md). The analysis
modules receive the frames. Respondent IDs never leave this module: a per-query integer
``person`` key stands in for them.

The panel frame (one row per person and wave) has the columns ``person, wave,
wave_index, survey_date, site, role, years_band, caseload_band, sessions, participant``
and one float column per requested outcome; ``wave_index`` 0 is the baseline (the wave
with the earliest survey date), ``sessions`` counts sessions attended on or before that
response's survey date, and ``participant`` is ``sessions >= min_sessions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analysis.access.scope import LOCAL, Scope, require
from analysis.definitions.contract import COVARIATES
from analysis.definitions.instruments import INSTRUMENTS_BY_KEY, SCALES_BY_KEY, SCORED_COLUMNS
from analysis.storage.schema import stored_item_columns
from analysis.storage.store import Store, first

# Filters are parameters; a NULL list means "no restriction".
_SURVEY_FILTER = (
    "(CAST(? AS VARCHAR[]) IS NULL OR list_contains(CAST(? AS VARCHAR[]), site)) "
    "AND (CAST(? AS VARCHAR[]) IS NULL OR list_contains(CAST(? AS VARCHAR[]), site)) "
    "AND (CAST(? AS VARCHAR[]) IS NULL OR list_contains(CAST(? AS VARCHAR[]), "
    "coalesce(role, 'not stated')))"
)


@dataclass(frozen=True)
class Filters:
    """The viewer's selection (None = everything in scope)."""

    sites: tuple[str, ...] | None = None
    roles: tuple[str, ...] | None = None


def _params(scope: Scope, filters: Filters) -> list:
    scope_sites = scope.site_list()
    sites = list(filters.sites) if filters.sites is not None else None
    roles = list(filters.roles) if filters.roles is not None else None
    return [scope_sites, scope_sites, sites, sites, roles, roles]


def _check_sites(scope: Scope, filters: Filters) -> None:
    require(scope, "view", filters.sites or ())


@dataclass(frozen=True)
class Available:
    """What the stored data offers to the viewer: the choices of the shared filters."""

    sites: tuple[str, ...]
    roles: tuple[str, ...]
    waves: tuple[str, ...]
    outcomes: tuple[str, ...]
    session_types: tuple[str, ...]
    n_responses: int
    n_respondents: int


#: Each stored wave's ordering date: fixed when the wave was first stored (the
#: ``wave_registry``, see :mod:`analysis.intake.waves`), else the date of its first row.
_WAVE_DATES = ("SELECT s.wave, coalesce(any_value(r.first_date), min(s.survey_date)) "
               "AS order_date FROM survey s LEFT JOIN wave_registry r USING (wave) "
               "GROUP BY s.wave")


def wave_order(store: Store, scope: Scope | None = None) -> pd.DataFrame:
    """Waves in time order: ``wave, wave_index, first_date, last_date`` (0 = baseline).

    The order is the one fixed when each wave was first stored; with a ``scope``, only
    the waves of its practices are listed and numbered (a practice's baseline is its own
    first wave).
    """
    sites = scope.site_list() if scope is not None else None
    with store.cursor() as cur:
        return cur.execute(
            "SELECT s.wave, CAST(row_number() OVER (ORDER BY any_value(d.order_date), "
            "s.wave) - 1 AS INTEGER) AS wave_index, min(s.survey_date) AS first_date, "
            f"max(s.survey_date) AS last_date FROM survey s JOIN ({_WAVE_DATES}) d "
            "USING (wave) WHERE CAST(? AS VARCHAR[]) IS NULL OR "
            "list_contains(CAST(? AS VARCHAR[]), s.site) GROUP BY s.wave ORDER BY wave_index",
            [sites, sites]).df()


def available(store: Store, scope: Scope) -> Available:
    """The sites, roles, waves, scored outcomes and session types the viewer may choose."""
    require(scope, "view")
    params = _params(scope, Filters())
    counts = ", ".join(f"count({c})" for c in SCORED_COLUMNS)
    with store.cursor() as cur:
        sites = [r[0] for r in cur.execute(
            f"SELECT DISTINCT site FROM survey WHERE {_SURVEY_FILTER} ORDER BY 1", params
        ).fetchall()]
        roles = [r[0] for r in cur.execute(
            f"SELECT DISTINCT coalesce(role, 'not stated') FROM survey "
            f"WHERE {_SURVEY_FILTER} ORDER BY 1", params).fetchall()]
        row = first(
            cur, f"SELECT count(*), count(DISTINCT respondent_id), {counts} FROM survey "
            f"WHERE {_SURVEY_FILTER}", params)
        types = [r[0] for r in cur.execute(
            "SELECT DISTINCT coalesce(a.session_type, 'not stated') FROM attendance a "
            f"WHERE a.respondent_id IN (SELECT respondent_id FROM survey WHERE {_SURVEY_FILTER}) "
            "ORDER BY 1", params).fetchall()]
    waves = tuple(wave_order(store, scope)["wave"])
    outcomes = tuple(c for c, n in zip(SCORED_COLUMNS, row[2:]) if n)
    return Available(tuple(sites), tuple(roles), waves, outcomes, tuple(types),
                     int(row[0]), int(row[1]))


def fetch_frame(cur: duckdb.DuckDBPyConnection, sql: str, params: list) -> pd.DataFrame:
    """The result of a parameterized query as ``.df()`` gives it, read through Arrow.

    ``.df()`` builds every text value as a Python object before pandas stores it as
    Arrow text again; reading the Arrow table directly is several times faster on a
    million rows. Dates come back as ``datetime64[us]``, as ``.df()`` gives them.
    """
    table = cur.sql(sql, params=params).to_arrow_table()
    frame = table.to_pandas(date_as_object=False)
    for column, kind in zip(table.column_names, table.schema.types):
        if pa.types.is_date(kind):
            frame[column] = frame[column].astype("datetime64[us]")
    return frame


def load_panel(
    store: Store,
    scope: Scope,
    outcomes: Sequence[str] | None = None,
    min_sessions: int = 1,
    filters: Filters = Filters(),
) -> pd.DataFrame:
    """One row per person and wave with participation and outcome scores.

    Sessions are counted with an as-of join of each response to the person's running
    session count, so the cost grows with rows, not with rows times sessions.

    Parameters
    ----------
    store : Store
    scope : Scope
        Rows outside the viewer's practices are never read.
    outcomes : sequence of str, optional
        Scored columns to include (default: all).
    min_sessions : int
        Participation rule: sessions on or before the survey date.
    filters : Filters
        Sites and roles selected by the viewer.

    Returns
    -------
    pandas.DataFrame
        The panel frame described in the module docstring.
    """
    _check_sites(scope, filters)
    chosen = list(outcomes) if outcomes is not None else list(SCORED_COLUMNS)
    unknown = [o for o in chosen if o not in SCALES_BY_KEY]
    if unknown:
        raise ValueError(f"unknown outcomes: {unknown}")
    if store.keep_derived:
        # The organization's panel once per data version; each selection is cut from it
        # (the same rows, numbering and order the query gives, checked in the tests).
        base = store.remembered(("panel",), lambda: _query_panel(
            store, LOCAL, list(SCORED_COLUMNS), BASE_SESSIONS, Filters(), with_ids=True))
        return _panel_from(base, scope, chosen, min_sessions, filters)
    return _query_panel(store, scope, chosen, min_sessions, filters)


#: The panel kept per data version is read for the whole organization (never shown as
#: such: every caller's cut applies the caller's scope) at the base threshold.
BASE_SESSIONS = 1
_ID = "_respondent"


def _query_panel(store: Store, scope: Scope, chosen: Sequence[str], min_sessions: int,
                 filters: Filters, with_ids: bool = False) -> pd.DataFrame:
    outcome_sql = "".join(f", s.{o}" for o in chosen)
    covariates = ", ".join(f"s.{c}" for c in COVARIATES)
    ids = f", s.respondent_id AS {_ID}" if with_ids else ""
    people = f"""
        s AS (SELECT * FROM survey WHERE {_SURVEY_FILTER}),
        people AS (
            SELECT respondent_id,
                   CAST(row_number() OVER (ORDER BY respondent_id) AS BIGINT) AS person
            FROM (SELECT DISTINCT respondent_id FROM s))"""
    sql = f"""
        WITH {people},
        waves AS (
            SELECT s.wave, CAST(row_number() OVER (ORDER BY any_value(d.order_date), s.wave)
                   - 1 AS INTEGER) AS wave_index
            FROM s JOIN ({_WAVE_DATES}) d USING (wave) GROUP BY s.wave)
        SELECT p.person, s.wave, w.wave_index, s.survey_date, s.site, {covariates}
               {outcome_sql}{ids}
        FROM s
        JOIN waves w USING (wave)
        JOIN people p USING (respondent_id)
        ORDER BY p.person, w.wave_index
    """
    # each person's dated sessions, in order: counted up to each survey date below
    sessions_sql = f"""
        WITH {people}
        SELECT p.person, a.session_date FROM attendance a JOIN people p USING (respondent_id)
        WHERE a.session_date IS NOT NULL ORDER BY p.person, a.session_date
    """
    with store.cursor() as cur:
        frame = fetch_frame(cur, sql, _params(scope, filters))
        sessions = fetch_frame(cur, sessions_sql, _params(scope, filters))
    frame["survey_date"] = pd.to_datetime(frame["survey_date"])
    for c in COVARIATES:
        frame[c] = frame[c].fillna("not stated")
    count = sessions_until(frame["person"].to_numpy(), frame["survey_date"].to_numpy(),
                           sessions["person"].to_numpy(), sessions["session_date"].to_numpy())
    at = list(frame.columns).index(COVARIATES[-1]) + 1
    frame.insert(at, "sessions", count.astype("int32"))
    frame.insert(at + 1, "participant", count >= int(min_sessions))
    return frame


def sessions_until(person: np.ndarray, day: np.ndarray, session_person: np.ndarray,
                   session_day: np.ndarray) -> np.ndarray:
    """Per (person, day): sessions of that person on or before that day (0 for a missing day).

    ``session_person`` and ``session_day`` list the dated sessions sorted by person, then
    day; each count is the difference of two binary searches in one integer key.
    """
    count = np.zeros(len(person), dtype="int64")
    known = ~np.isnat(day)
    if not len(session_person) or not known.any():
        return count
    days = day.astype("datetime64[D]").astype("int64")
    sdays = session_day.astype("datetime64[D]").astype("int64")
    origin = min(int(sdays.min()), int(days[known].min()))
    span = max(int(sdays.max()), int(days[known].max())) - origin + 2
    key = session_person.astype("int64") * span + (sdays - origin)
    start = person.astype("int64") * span
    upto = start + np.where(known, days - origin, -1)
    count[:] = np.searchsorted(key, upto, side="right") - np.searchsorted(key, start, side="left")
    return np.where(known, count, 0)


def _panel_from(base: pd.DataFrame, scope: Scope, chosen: Sequence[str], min_sessions: int,
                filters: Filters) -> pd.DataFrame:
    """The selection's panel cut from the organization's: as :func:`_query_panel` gives it."""
    keep = np.ones(len(base), dtype=bool)
    for allowed, column in ((scope.site_list(), "site"), (filters.sites, "site"),
                            (filters.roles, "role")):
        if allowed is not None:
            keep &= base[column].isin(list(allowed)).to_numpy()
    columns = [c for c in base.columns if c not in SCORED_COLUMNS and c != _ID] + list(chosen)
    rows = base.loc[keep] if not keep.all() else base
    frame = rows[columns].reset_index(drop=True)  # a copy: callers may change it
    if not keep.all():
        # numbered within the selection, as the query numbers them: people by identifier
        # (the base is in that order), waves by their order among the waves present
        codes, _ = pd.factorize(rows[_ID].to_numpy(), sort=False)
        frame["person"] = (codes + 1).astype("int64")
        # with counts np.unique sorts (fast); without, NumPy 2.4 hashes (see panel.index.distinct)
        present = np.unique(frame["wave_index"].to_numpy(), return_counts=True)[0]
        frame["wave_index"] = np.searchsorted(present, frame["wave_index"].to_numpy()).astype("int32")
    frame["participant"] = frame["sessions"].to_numpy() >= int(min_sessions)
    return frame


def count_respondents(store: Store, scope: Scope, waves: Sequence[str] | None = None,
                      filters: Filters = Filters()) -> int:
    """People who answered (in ``waves``, default all) within the scope and filters.

    One aggregate query: the same people as ``load_panel(...)["person"].nunique()``
    over the panel's rows in those waves, without building the panel.
    """
    _check_sites(scope, filters)
    wave_list = [str(w) for w in waves] if waves else None
    sql = (f"SELECT count(DISTINCT respondent_id) FROM survey WHERE {_SURVEY_FILTER} "
           "AND (CAST(? AS VARCHAR[]) IS NULL OR list_contains(CAST(? AS VARCHAR[]), wave))")
    value = store.single_value(sql, _params(scope, filters) + [wave_list, wave_list])
    return int(value) if value is not None else 0


def load_attendance(store: Store, scope: Scope, filters: Filters = Filters()) -> pd.DataFrame:
    """Sessions of the respondents in scope: ``person, session_date, session_type,
    duration_minutes, site, role``.

    ``person`` uses the same numbering as :func:`load_panel` for the same scope and
    filters; the site and role are those of the person's latest survey response.
    """
    _check_sites(scope, filters)
    sql = f"""
        WITH s AS (SELECT * FROM survey WHERE {_SURVEY_FILTER}),
        people AS (
            SELECT respondent_id,
                   CAST(row_number() OVER (ORDER BY respondent_id) AS BIGINT) AS person
            FROM (SELECT DISTINCT respondent_id FROM s)),
        latest AS (
            SELECT respondent_id, arg_max(site, survey_date) AS site,
                   arg_max(coalesce(role, 'not stated'), survey_date) AS role
            FROM s GROUP BY respondent_id)
        SELECT p.person, a.session_date, coalesce(a.session_type, 'not stated')
               AS session_type, a.duration_minutes, l.site, l.role
        FROM attendance a JOIN people p USING (respondent_id)
        JOIN latest l USING (respondent_id)
        ORDER BY p.person, a.session_date
    """
    with store.cursor() as cur:
        frame = fetch_frame(cur, sql, _params(scope, filters))
    frame["session_date"] = pd.to_datetime(frame["session_date"])
    return frame


def load_item_scores(
    store: Store, scope: Scope, scale_key: str, filters: Filters = Filters()
) -> pd.DataFrame:
    """Item codes of one scale with reversed items already reversed: ``wave`` + items.

    Used for reliability (Cronbach's alpha); raw codes suffice for alpha because the
    item score is a linear function of the code.
    """
    _check_sites(scope, filters)
    scale = SCALES_BY_KEY[scale_key]
    if scale.scored_only:
        return pd.DataFrame(columns=["wave"])
    inst = INSTRUMENTS_BY_KEY[scale.instrument]
    with store.cursor() as cur:
        stored = set(stored_item_columns(cur))
        cols = []
        for number, column in zip(scale.items, scale.item_columns):
            # An item no upload brought is not a stored column: blank for every row.
            code = column if column in stored else "NULL"
            expr = (f"{inst.code_min + inst.code_max} - {code}"
                    if number in scale.reversed_items else code)
            cols.append(f"CAST({expr} AS DOUBLE) AS {column}")
        sql = f"SELECT wave, {', '.join(cols)} FROM survey WHERE {_SURVEY_FILTER}"
        return cur.execute(sql, _params(scope, filters)).df()


def item_moments(store: Store, scope: Scope, scale_keys: Sequence[str],
                 filters: Filters = Filters()) -> pd.DataFrame:
    """Per scale and wave, what Cronbach's α needs of the complete responses (aggregates only).

    The items are those of :func:`load_item_scores` (codes, reversed items reversed); a
    response is complete when every item of the scale is answered. One scan serves every
    scale and no item answer leaves the database: the codes are integers, so their sums
    and sums of squares are exact and each variance is rounded once.

    Returns
    -------
    pandas.DataFrame
        :data:`analysis.stats.reliability.MOMENT_COLUMNS`: ``scale, wave, n`` (complete
        responses), ``k`` (items), ``item_variance_sum`` (sum of the items' variances),
        ``total_variance``, ``total_range`` and ``total_abs_max`` (of the responses'
        totals); variances with ``n - 1``, NaN below two complete responses. Scales in
        the order given (those without items left out), waves in the order
        ``load_item_scores`` first meets them.
    """
    _check_sites(scope, filters)
    scales = [SCALES_BY_KEY[key] for key in scale_keys if not SCALES_BY_KEY[key].scored_only]
    if not scales:
        return pd.DataFrame(columns=_MOMENT_COLUMNS)
    with store.cursor() as cur:
        stored = set(stored_item_columns(cur))
    items, totals, aggregates = [], [], []
    for s, scale in enumerate(scales):
        inst = INSTRUMENTS_BY_KEY[scale.instrument]
        names = [f"s{s}_{i}" for i in range(len(scale.items))]
        for name, number, column in zip(names, scale.items, scale.item_columns):
            code = column if column in stored else "NULL"  # never uploaded: blank in every row
            expr = (f"{inst.code_min + inst.code_max} - {code}"
                    if number in scale.reversed_items else code)
            items.append(f"CAST({expr} AS BIGINT) AS {name}")
        totals.append(f"({' + '.join(names)}) AS s{s}_total")  # NULL unless complete
        complete = f"FILTER (WHERE s{s}_total IS NOT NULL)"
        sums = [f"sum({x}) {complete}, sum({x} * {x}) {complete}" for x in names]
        aggregates.append(f"count(s{s}_total), {', '.join(sums)}, sum(s{s}_total), "
                          f"sum(s{s}_total * s{s}_total), min(s{s}_total), max(s{s}_total)")
    every = ", ".join(f"s{s}_{i}" for s, scale in enumerate(scales) for i in range(len(scale.items)))
    sql = (f"WITH s AS (SELECT rowid AS _row, wave, {', '.join(items)} FROM survey "
           f"WHERE {_SURVEY_FILTER}), t AS (SELECT _row, wave, {every}, {', '.join(totals)} FROM s) "
           f"SELECT wave, {', '.join(aggregates)} FROM t GROUP BY wave ORDER BY min(_row)")
    with store.cursor() as cur:
        found = cur.execute(sql, _params(scope, filters)).fetchall()  # exact Python integers
    rows = []
    for s, scale in enumerate(scales):
        width = 2 * len(scale.items) + 5
        start = 1 + sum(2 * len(other.items) + 5 for other in scales[:s])
        for record in found:
            n, *sums, low, high = record[start:start + width]
            item_sums, total_sum, total_squares = sums[:-2], sums[-2], sums[-1]
            item_variance = sum(_variance(n, item_sums[2 * i], item_sums[2 * i + 1])
                                for i in range(len(scale.items)))
            rows.append((scale.key, record[0], int(n), len(scale.items), item_variance,
                         _variance(n, total_sum, total_squares),
                         float(high - low) if n else np.nan,
                         float(max(abs(low), abs(high))) if n else np.nan))
    return pd.DataFrame(rows, columns=list(_MOMENT_COLUMNS))


_MOMENT_COLUMNS = ("scale", "wave", "n", "k", "item_variance_sum", "total_variance", "total_range",
                   "total_abs_max")


def _variance(n: int, total: int | None, squares: int | None) -> float:
    """Sample variance (``n - 1``) from exact integer sums, rounded once; NaN below 2 values."""
    if n < 2 or total is None or squares is None:
        return float("nan")
    return (n * squares - total * total) / (n * (n - 1))


def response_quality(store: Store, scope: Scope, filters: Filters = Filters()) -> pd.DataFrame:
    """Per wave and scale: responses, scored responses and share of items left blank.

    Returns
    -------
    pandas.DataFrame
        ``wave, outcome, n_responses, n_scored, share_items_missing`` (aggregates only).
    """
    _check_sites(scope, filters)
    with store.cursor() as cur:
        stored = set(stored_item_columns(cur))
    parts = []
    for key, scale in SCALES_BY_KEY.items():
        if scale.scored_only:
            missing = "NULL"
        else:
            # Items never uploaded are not stored columns: blank in every row.
            blanks = " + ".join(f"CAST({c} IS NULL AS INTEGER)" if c in stored else "1"
                                for c in scale.item_columns)
            # Scales uploaded as scored columns have no items to be missing.
            missing = (f"CASE WHEN sum({blanks}) < count(*) * {len(scale.items)} "
                       f"THEN sum({blanks}) / (count(*) * {len(scale.items)}.0) END")
        parts.append(
            f"SELECT wave, '{key}' AS outcome, count(*) AS n_responses, "
            f"count({key}) AS n_scored, {missing} AS share_items_missing "
            f"FROM s GROUP BY wave HAVING count({key}) > 0"
        )
    sql = (f"WITH s AS (SELECT * FROM survey WHERE {_SURVEY_FILTER}) "
           + " UNION ALL ".join(parts) + " ORDER BY outcome, wave")
    with store.cursor() as cur:
        return cur.execute(sql, _params(scope, filters)).df()
