"""Seeded synthetic survey and attendance data with a known programme effect.

The demo data, the benchmarks and the estimator tests all come from here. The data look
like an upload (canonical columns, a few blank items, a few response labels instead of
codes, skipped waves) and carry their own answer key: ``truth`` holds the exact sample
effect on the participants, computed from potential outcomes.

Model
-----
Person *i* (stable over waves) has covariates (role, years in practice, caseload), a site
and a stable burnout **trait**::

    trait_i = covariate_shift_i + site_offset_site(i) + eta_i,   eta_i ~ N(0, 9^2)

Wave *t* = 0 .. n_waves-1 (t = 0 is the baseline) is surveyed over two weeks in the middle
of its calendar quarter. The latent score of CBI subscale *s* (0-100 points) is::

    L_ist = base_s + trait_i + u_is + trend * t + shared_it + e_ist + b_s * min(D_it, cap)

with ``u_is ~ N(0, 5^2)`` a stable subscale-specific level, ``shared_it ~ N(0, 5^2)`` and
``e_ist ~ N(0, 4^2)`` transient noise, ``trend`` the same for everyone (parallel trends
hold on the latent scale), ``b_s`` the effect per session and ``D_it`` the sessions
attended on or before the person's survey date at wave *t*.

Joining depends on the stable trait only (never on transient noise)::

    P(join_i) = logistic(a + selection_strength * z_i),   z_i = standardised trait_i

with ``a`` solved so that the expected join rate equals ``join_rate``. More burned-out
people join more often, so a naive participants-minus-comparison difference is biased
towards harm; difference-in-differences is unbiased on the latent scale by construction.
Joiners start the day after their baseline survey date or later (60 % within 45 days, the
rest at any time before the last wave's survey window). Sessions then arrive as a Poisson
process (person rate ~ Gamma, mean ``sessions_per_month``) until the person drops out
(exponential, mean ``dropout_months``) or the study ends; one session per person per day.

CBI item *j* of subscale *s* is written (burnout direction) as::

    code = clip(round(1 + L_ist / 25 + d_j + n_ijt), 1, 5),   n_ijt ~ N(0, 0.55^2)

with ``d_j`` a fixed item offset. Item 13 is reverse-scored by the instrument, so its code
is written as ``6 - code``. Mini-Z follows the work latent (``1 + 0.035 L + N(0, 0.65^2)``,
codes 1-5); UCLA-3 items follow a loneliness latent correlated 0.45 with the trait and get
their own small effect per session (``effect_per_session["ucla3_loneliness"]`` is in
sum-score units, split evenly over the three items; codes 1-3).

Potential outcomes use the *same* random draws with the effect (observed) and without it
(``D = 0``); both are scored as ``instruments.md`` says and
``truth["att"][outcome][wave]`` is the mean of ``Y1 - Y0`` over participants (>= 1
session by that wave's survey date) observed and scorable at that wave and at baseline.

Data quirks: ``missing_item_rate`` of item answers are blank, ``skipped_wave_rate`` of
person-waves are absent, and ``label_rate`` of answered CBI items are written as their
response label (frequency labels for items 1-6, 10-13, 18, 19; degree labels for items
7-9 and 14-17, as in the published questionnaire). Item columns are nullable integers
when ``label_rate == 0`` and strings otherwise (as a CSV reader would give them).

References
----------
Kristensen TS et al. The Copenhagen Burnout Inventory. Work & Stress 2005;19:192-207.

Examples
--------
>>> data = generate(SyntheticConfig(n_people=60, n_waves=3))
>>> sorted(data.truth["att"]["cbi_work"])
['2025-Q2', '2025-Q3']
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tooling.synthetic_truth import answer_key

ROLES: tuple[tuple[str, float], ...] = (
    ("psychologist", 0.25), ("counselor", 0.30), ("social worker", 0.25),
    ("marriage and family therapist", 0.20),
)
YEARS_BANDS: tuple[tuple[str, float], ...] = (
    ("0-4", 0.25), ("5-9", 0.25), ("10-19", 0.30), ("20+", 0.20),
)
CASELOAD_BANDS: tuple[tuple[str, float], ...] = (("low", 0.25), ("medium", 0.45), ("high", 0.30))

#: Shift of the stable burnout trait (CBI points) by covariate level, same order as above.
_ROLE_SHIFT = np.array([0.0, 0.0, 2.0, 1.0])
_YEARS_SHIFT = np.array([3.0, 1.0, 0.0, -2.0])
_CASELOAD_SHIFT = np.array([-4.0, 0.0, 5.0])

CBI_SUBSCALES: dict[str, tuple[int, ...]] = {
    "cbi_personal": tuple(range(1, 7)),
    "cbi_work": tuple(range(7, 14)),
    "cbi_client": tuple(range(14, 20)),
}
CBI_MIN_ANSWERED = {"cbi_personal": 3, "cbi_work": 4, "cbi_client": 3}
CBI_REVERSED = (13,)
_CBI_BASE = {"cbi_personal": 46.0, "cbi_work": 42.0, "cbi_client": 30.0}
# Fixed item offsets in code units: items differ a little in how readily they are endorsed.
_CBI_ITEM_OFFSET = np.array([
    0.10, -0.05, 0.00, 0.15, -0.20, 0.05,           # personal 1-6
    0.10, 0.00, -0.15, 0.05, 0.10, -0.10, 0.00,     # work 7-13
    -0.05, 0.10, 0.00, 0.15, -0.10, -0.10,          # client 14-19
])
FREQUENCY_LABELS = ("Never/almost never", "Seldom", "Sometimes", "Often", "Always")
DEGREE_LABELS = (
    "To a very low degree", "To a low degree", "Somewhat", "To a high degree",
    "To a very high degree",
)
DEGREE_ITEMS = (7, 8, 9, 14, 15, 16, 17)
FREQUENCY_ITEMS = tuple(i for i in range(1, 20) if i not in DEGREE_ITEMS)

SESSION_TYPES: tuple[tuple[str, float], ...] = (
    ("group", 0.55), ("online", 0.30), ("one-to-one", 0.15),
)
# Durations (minutes) by session type; each session picks one column uniformly.
_DURATIONS = np.array([[60, 75, 90], [45, 60, 60], [45, 50, 60]])

SURVEY_COLUMNS = (
    ("respondent_id", "wave", "survey_date", "site", "role", "years_band", "caseload_band")
    + tuple(f"cbi_{j}" for j in range(1, 20)) + ("miniz_1",)
    + tuple(f"ucla3_{j}" for j in range(1, 4))
)
ATTENDANCE_COLUMNS = ("respondent_id", "session_date", "session_type", "duration_minutes")

_DAYS_PER_MONTH = 30.44
_WINDOW_START_DAY = 38   # survey window: days 38-51 of the quarter (mid-February etc.)
_WINDOW_DAYS = 14
_EARLY_JOIN_SHARE = 0.6
_EARLY_JOIN_DAYS = 45


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of the synthetic programme evaluation.

    Parameters
    ----------
    n_people : int
        Therapists in the panel.
    n_waves : int
        Quarterly survey waves (>= 2); the first is the baseline.
    sites : tuple of (str, float)
        Practices and their share of the people. Sites named in ``fixed_site_sizes``
        ignore their weight.
    fixed_site_sizes : tuple of (str, int)
        Sites with an exact head count: the default keeps one practice at 4 people,
        below the anonymity threshold of 5, whatever ``n_people`` is.
    seed : int
        Seed of every random draw; same seed and config give identical data.
    start_year : int
        Year of the baseline quarter (wave labels ``YYYY-Qn`` continue by quarter).
    join_rate : float
        Expected share of people who join the programme during the study.
    selection_strength : float
        Logistic slope of joining per standard deviation of the stable burnout trait.
    effect_per_session : tuple of (str, float)
        True effect of one session on each outcome's latent score (CBI points; UCLA-3 sum
        points), up to ``effect_cap_sessions`` sessions.
    effect_cap_sessions : int
        Sessions beyond this number add no further effect.
    time_trend_per_wave : float
        Common change of every CBI latent per wave (CBI points), the same for everyone.
    sessions_per_month : float
        Mean session rate of a participant while active.
    dropout_months : float
        Mean time a participant stays active before dropping out.
    missing_item_rate, skipped_wave_rate, label_rate : float
        Share of blank item answers, of absent person-waves, and of answered CBI items
        written as response labels instead of codes.
    """

    n_people: int = 500
    n_waves: int = 4
    sites: tuple[tuple[str, float], ...] = (
        ("Harbor Family Therapy", 0.30),
        ("Riverside Counseling Collective", 0.22),
        ("Northgate Psychology Group", 0.16),
        ("Maple Street Family Services", 0.12),
        ("Lakeshore Divorce and Family Counseling", 0.09),
        ("Cedar Grove Counseling", 0.06),
        ("Summit Social Work Associates", 0.05),
        ("Willow Creek Counseling", 0.0),
    )
    fixed_site_sizes: tuple[tuple[str, int], ...] = (("Willow Creek Counseling", 4),)
    seed: int = 20261128
    start_year: int = 2025
    join_rate: float = 0.35
    selection_strength: float = 1.0
    effect_per_session: tuple[tuple[str, float], ...] = (
        ("cbi_personal", -1.0), ("cbi_work", -1.2), ("cbi_client", -0.6),
        ("ucla3_loneliness", -0.05),
    )
    effect_cap_sessions: int = 8
    time_trend_per_wave: float = 1.5
    sessions_per_month: float = 1.3
    dropout_months: float = 8.0
    missing_item_rate: float = 0.03
    skipped_wave_rate: float = 0.08
    label_rate: float = 0.02

    @property
    def effects(self) -> dict[str, float]:
        """Effect per session by outcome."""
        return dict(self.effect_per_session)


@dataclass(frozen=True)
class SyntheticData:
    """One generated data set.

    Parameters
    ----------
    survey : DataFrame
        One row per respondent per wave answered, canonical columns.
    attendance : DataFrame
        One row per session attended.
    truth : dict
        The answer key (JSON-serialisable): true effects, ATT per wave, naive differences.
    config : SyntheticConfig
    """

    survey: pd.DataFrame
    attendance: pd.DataFrame
    truth: dict[str, Any]
    config: SyntheticConfig = field(default_factory=SyntheticConfig)


def wave_labels(n_waves: int, start_year: int = 2025) -> list[str]:
    """Quarterly wave labels, e.g. ``["2025-Q1", ..., "2026-Q2"]``."""
    return [f"{start_year + k // 4}-Q{k % 4 + 1}" for k in range(n_waves)]


def site_sizes(config: SyntheticConfig) -> dict[str, int]:
    """Exact head count per site (largest-remainder allocation of the weights).

    Fixed-size sites get their count; the rest of ``n_people`` is shared by weight.
    """
    fixed = dict(config.fixed_site_sizes)
    names = [name for name, _ in config.sites]
    unknown = set(fixed) - set(names)
    if unknown:
        raise ValueError(f"fixed_site_sizes names unknown sites: {sorted(unknown)}")
    remaining = config.n_people - sum(fixed.values())
    if remaining < 0:
        raise ValueError("n_people is smaller than the fixed site sizes")
    free = [(name, w) for name, w in config.sites if name not in fixed]
    weights = np.array([w for _, w in free], dtype=float)
    if free and (weights.sum() <= 0 or (weights < 0).any()):
        raise ValueError("site weights must be non-negative with a positive sum")
    sizes = dict(fixed)
    if free:
        quota = remaining * weights / weights.sum()
        counts = np.floor(quota).astype(int)
        order = np.argsort(-(quota - counts), kind="stable")
        counts[order[: remaining - counts.sum()]] += 1
        sizes.update({name: int(c) for (name, _), c in zip(free, counts)})
    return {name: sizes[name] for name in names}


def generate(config: SyntheticConfig = SyntheticConfig()) -> SyntheticData:
    """Generate survey, attendance and the truth for one configuration.

    Vectorised over people x waves; 100k people x 10 waves takes seconds.

    Parameters
    ----------
    config : SyntheticConfig

    Returns
    -------
    SyntheticData
    """
    if config.n_waves < 2:
        raise ValueError("n_waves must be at least 2 (a baseline and one follow-up)")
    if config.n_people < 1:
        raise ValueError("n_people must be positive")
    streams = dict(zip(
        ("sites", "people", "waves", "joining", "sessions", "items", "missing", "labels"),
        (np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(8)),
    ))
    n, n_waves = config.n_people, config.n_waves
    people = _people(streams, config)
    waves = _waves(streams["waves"], config)
    joiners, join_day = _join_days(streams["joining"], config, people["trait_z"],
                                   waves["survey_day"], waves["window_start"])
    person, day, session_type, duration = _sessions(streams["sessions"], config, joiners,
                                                    join_day, waves["study_end"])
    dose = _dose(person, day, waves["survey_day"])
    codes = _item_codes(streams, config, people, waves, np.minimum(dose, config.effect_cap_sessions))
    labelled = streams["labels"].random((19, n_waves, n)) < config.label_rate

    ids = _respondent_ids(n)
    labels = wave_labels(n_waves, config.start_year)
    survey = _survey_frame(ids, labels, waves["survey_day"], waves["observed"], people["site"],
                           people["role"], people["years"], people["caseload"], codes["cbi1"],
                           labelled, codes["miniz"], codes["ucla1"], config.label_rate > 0)
    order = np.lexsort((day, person))
    attendance = pd.DataFrame({
        "respondent_id": ids[person[order]],
        "session_date": _iso(day[order]),
        "session_type": np.array([t for t, _ in SESSION_TYPES], dtype=object)[session_type[order]],
        "duration_minutes": duration[order],
    })
    scores = {arm: {**{s: _cbi_scale(codes[f"cbi{arm}"], s) for s in CBI_SUBSCALES},
                    "ucla3_loneliness": _ucla_sum(codes[f"ucla{arm}"])} for arm in (0, 1)}
    truth = answer_key(config, labels, people["sizes"], waves["observed"], dose, joiners,
                       scores[0], scores[1], len(survey), len(attendance))
    return SyntheticData(survey=survey, attendance=attendance, truth=truth, config=config)


def _people(streams: dict[str, np.random.Generator], config: SyntheticConfig) -> dict[str, Any]:
    """Each person's site, covariates and stable burnout trait (and loneliness level)."""
    n = config.n_people
    sizes = site_sizes(config)
    site_names = np.array(list(sizes), dtype=object)
    site_offset = streams["sites"].normal(0.0, 3.0, len(site_names))
    site = streams["sites"].permutation(np.repeat(np.arange(len(site_names)), list(sizes.values())))
    rng = streams["people"]
    role = rng.choice(len(ROLES), n, p=[p for _, p in ROLES])
    years = rng.choice(len(YEARS_BANDS), n, p=[p for _, p in YEARS_BANDS])
    caseload = rng.choice(len(CASELOAD_BANDS), n, p=[p for _, p in CASELOAD_BANDS])
    trait = (_ROLE_SHIFT[role] + _YEARS_SHIFT[years] + _CASELOAD_SHIFT[caseload]
             + site_offset[site] + rng.normal(0.0, 9.0, n))
    subscale_level = rng.normal(0.0, 5.0, (3, n))
    trait_z = (trait - trait.mean()) / (trait.std() or 1.0)
    loneliness_level = 0.45 * trait_z + np.sqrt(1 - 0.45**2) * rng.normal(0.0, 1.0, n)
    return {"sizes": sizes, "site": site_names[site], "role": role, "years": years,
            "caseload": caseload, "trait": trait, "subscale_level": subscale_level,
            "trait_z": trait_z, "loneliness_level": loneliness_level}


def _waves(rng: np.random.Generator, config: SyntheticConfig) -> dict[str, Any]:
    """Survey dates, skipped waves and the transient noise of every person-wave."""
    n, n_waves = config.n_people, config.n_waves
    quarter_start = (np.datetime64(f"{config.start_year}-01", "M")
                     + 3 * np.arange(n_waves)).astype("datetime64[D]").astype(np.int64)
    window_start = quarter_start + _WINDOW_START_DAY
    survey_day = window_start[:, None] + rng.integers(0, _WINDOW_DAYS, (n_waves, n))
    observed = rng.random((n_waves, n)) >= config.skipped_wave_rate
    shared_noise = rng.normal(0.0, 5.0, (n_waves, n))
    subscale_noise = rng.normal(0.0, 4.0, (3, n_waves, n))
    loneliness_noise = rng.normal(0.0, 0.5, (n_waves, n))
    study_end = int((np.datetime64(f"{config.start_year}-01", "M") + 3 * n_waves)
                    .astype("datetime64[D]").astype(np.int64)) - 1
    return {"window_start": window_start, "survey_day": survey_day, "observed": observed,
            "shared_noise": shared_noise, "subscale_noise": subscale_noise,
            "loneliness_noise": loneliness_noise, "study_end": study_end}


def _join_days(rng: np.random.Generator, config: SyntheticConfig, trait_z: np.ndarray,
               survey_day: np.ndarray, window_start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Who joins (logistic in the stable trait only) and the day each joiner joins."""
    intercept = _intercept_for_rate(trait_z, config.selection_strength, config.join_rate)
    p_join = 1.0 / (1.0 + np.exp(-(intercept + config.selection_strength * trait_z)))
    joiners = np.flatnonzero(rng.random(config.n_people) < p_join)
    baseline_day = survey_day[0, joiners]
    latest_join = window_start[-1] - 1
    early = rng.random(len(joiners)) < _EARLY_JOIN_SHARE
    late_span = np.maximum(latest_join - baseline_day, 1)
    delay = np.where(early, 1 + rng.integers(0, _EARLY_JOIN_DAYS, len(joiners)),
                     1 + np.floor(rng.random(len(joiners)) * late_span).astype(np.int64))
    return joiners, np.minimum(baseline_day + delay, latest_join)


def _item_codes(streams: dict[str, np.random.Generator], config: SyntheticConfig,
                people: dict[str, Any], waves: dict[str, Any],
                capped: np.ndarray) -> dict[str, np.ndarray]:
    """Item codes with (``cbi1``, ``ucla1``) and without (``cbi0``, ``ucla0``) the programme,
    from the same random draws; Mini-Z (with the programme) follows the work latent."""
    rng, miss = streams["items"], streams["missing"]
    n, n_waves = config.n_people, config.n_waves
    effects = config.effects
    cbi1 = np.zeros((19, n_waves, n), dtype=np.int8)
    cbi0 = np.zeros_like(cbi1)
    for k, (scale, items) in enumerate(CBI_SUBSCALES.items()):
        latent0 = (_CBI_BASE[scale] + people["trait"][None, :] + people["subscale_level"][k][None, :]
                   + config.time_trend_per_wave * np.arange(n_waves)[:, None]
                   + waves["shared_noise"] + waves["subscale_noise"][k])
        shift = effects.get(scale, 0.0) * capped
        if scale == "cbi_work":
            work0, work_shift = latent0, shift
        for j in items:
            x = 1.0 + latent0 / 25.0 + _CBI_ITEM_OFFSET[j - 1] + rng.normal(0.0, 0.55, (n_waves, n))
            answered = miss.random((n_waves, n)) >= config.missing_item_rate
            cbi0[j - 1] = _codes(x, 1, 5, answered, reverse=j in CBI_REVERSED)
            cbi1[j - 1] = _codes(x + shift / 25.0, 1, 5, answered, reverse=j in CBI_REVERSED)
    x = 1.0 + 0.035 * (work0 + work_shift) + rng.normal(0.0, 0.65, (n_waves, n))
    miniz = _codes(x, 1, 5, miss.random((n_waves, n)) >= config.missing_item_rate)
    loneliness = people["loneliness_level"][None, :] + waves["loneliness_noise"]
    ucla_shift = effects.get("ucla3_loneliness", 0.0) / 3.0 * capped
    ucla1 = np.zeros((3, n_waves, n), dtype=np.int8)
    ucla0 = np.zeros_like(ucla1)
    for j in range(3):
        x = 1.8 + 0.45 * loneliness + rng.normal(0.0, 0.45, (n_waves, n))
        answered = miss.random((n_waves, n)) >= config.missing_item_rate
        ucla0[j] = _codes(x, 1, 3, answered)
        ucla1[j] = _codes(x + ucla_shift, 1, 3, answered)
    return {"cbi0": cbi0, "cbi1": cbi1, "miniz": miniz, "ucla0": ucla0, "ucla1": ucla1}


def generate_bench(n_people: int = 100_000, n_waves: int = 10, seed: int = 20261128,
                   **overrides: Any) -> SyntheticData:
    """Benchmark-sized data set: all 19 CBI items, Mini-Z, UCLA-3 and matching attendance.

    ``generate_bench()`` gives about 920k survey rows (100k people x 10 waves, 8 % of
    person-waves skipped); ``generate_bench(skipped_wave_rate=0.0)`` gives exactly 1M.
    Other ``SyntheticConfig`` fields can be overridden by keyword. Takes a few seconds.
    """
    config = replace(SyntheticConfig(), n_people=n_people, n_waves=n_waves, seed=seed,
                     **overrides)
    return generate(config)


def write_csv(data: SyntheticData, directory: str | Path) -> tuple[Path, Path]:
    """Write ``survey.csv`` and ``attendance.csv`` (UTF-8, ``\\n`` line ends, blanks empty).

    Returns
    -------
    (Path, Path)
        The survey and attendance file paths.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    survey_path, attendance_path = directory / "survey.csv", directory / "attendance.csv"
    data.survey.to_csv(survey_path, index=False, lineterminator="\n")
    data.attendance.to_csv(attendance_path, index=False, lineterminator="\n")
    return survey_path, attendance_path


# --- helpers -------------------------------------------------------------------------------

def _intercept_for_rate(z: np.ndarray, slope: float, rate: float) -> float:
    """Intercept a with mean(logistic(a + slope z)) = rate (bisection; monotone in a)."""
    if not 0.0 < rate < 1.0:
        return -np.inf if rate <= 0 else np.inf
    low, high = -30.0, 30.0
    for _ in range(80):
        mid = (low + high) / 2
        if np.mean(1.0 / (1.0 + np.exp(-(mid + slope * z)))) < rate:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _sessions(rng: np.random.Generator, config: SyntheticConfig, joiners: np.ndarray,
              join_day: np.ndarray, study_end: int):
    """Session rows (person, day, type index, minutes) for the joiners, one per person-day."""
    k = len(joiners)
    rate = rng.gamma(1.5, config.sessions_per_month / 1.5, k)
    active = np.floor(rng.exponential(config.dropout_months * _DAYS_PER_MONTH, k)).astype(np.int64)
    span = np.maximum(np.minimum(join_day + active, study_end) - join_day, 0)
    extra = rng.poisson(rate * span / _DAYS_PER_MONTH)
    counts = 1 + extra
    person = np.repeat(joiners, counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    is_first = np.arange(len(person)) == first
    offset = 1 + np.floor(rng.random(len(person)) * np.repeat(span, counts)).astype(np.int64)
    day = np.repeat(join_day, counts) + np.where(is_first, 0, offset)
    key = np.unique(person.astype(np.int64) * 1_000_000 + day)
    person, day = key // 1_000_000, key % 1_000_000
    session_type = rng.choice(len(SESSION_TYPES), len(person), p=[p for _, p in SESSION_TYPES])
    duration = _DURATIONS[session_type, rng.integers(0, _DURATIONS.shape[1], len(person))]
    return person, day, session_type, duration


def _dose(person: np.ndarray, day: np.ndarray, survey_day: np.ndarray) -> np.ndarray:
    """Sessions attended on or before each person-wave's survey date, shape (waves, people)."""
    keys = person.astype(np.int64) * 1_000_000 + day          # sorted (from np.unique)
    people = np.arange(survey_day.shape[1], dtype=np.int64) * 1_000_000
    before = np.searchsorted(keys, people, side="left")
    return np.searchsorted(keys, people[None, :] + survey_day, side="right") - before[None, :]


def _codes(x: np.ndarray, low: int, high: int, answered: np.ndarray,
           reverse: bool = False) -> np.ndarray:
    """Round and clip a continuous response to codes; 0 marks a blank answer."""
    code = np.clip(np.rint(x), low, high).astype(np.int8)
    if reverse:
        code = (low + high - code).astype(np.int8)
    return np.where(answered, code, 0).astype(np.int8)


def _cbi_scale(codes: np.ndarray, scale: str) -> np.ndarray:
    """Score one CBI subscale the way instruments.md says, for the truth only.

    Item 13 reversed (6 - code); item score (c - 1) * 25; scale = mean of the answered items
    when at least the minimum number is answered, else NaN. Shape (waves, people).
    """
    items = CBI_SUBSCALES[scale]
    total = np.zeros(codes.shape[1:])
    answered = np.zeros(codes.shape[1:], dtype=np.int64)
    for j in items:
        c = codes[j - 1].astype(np.int64)
        if j in CBI_REVERSED:
            c = np.where(c > 0, 6 - c, 0)
        total += np.where(c > 0, (c - 1) * 25.0, 0.0)
        answered += c > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(answered >= CBI_MIN_ANSWERED[scale], total / answered, np.nan)


def _ucla_sum(codes: np.ndarray) -> np.ndarray:
    """UCLA-3 loneliness sum (3-9), only when all three items are answered."""
    complete = (codes > 0).all(axis=0)
    return np.where(complete, codes.sum(axis=0, dtype=np.int64), np.nan)


def _respondent_ids(n: int) -> np.ndarray:
    width = max(5, len(str(n)))
    return np.char.add("P", np.char.zfill(np.arange(1, n + 1).astype(str), width)).astype(object)


def _iso(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype(object)


def _survey_frame(ids, labels, survey_day, observed, site, role, years, caseload, cbi,
                  labelled, miniz, ucla, with_labels: bool) -> pd.DataFrame:
    """Assemble the survey rows (wave-major, then respondent) with canonical columns."""
    _, n = observed.shape
    rows = np.flatnonzero(observed.ravel())
    wave_idx, person = np.divmod(rows, n)
    columns: dict[str, Any] = {
        "respondent_id": ids[person],
        "wave": np.array(labels, dtype=object)[wave_idx],
        "survey_date": _iso(survey_day.ravel()[rows]),
        "site": site[person],
        "role": np.array([r for r, _ in ROLES], dtype=object)[role[person]],
        "years_band": np.array([y for y, _ in YEARS_BANDS], dtype=object)[years[person]],
        "caseload_band": np.array([c for c, _ in CASELOAD_BANDS], dtype=object)[caseload[person]],
    }
    for j in range(1, 20):
        code = cbi[j - 1].ravel()[rows]
        if with_labels:
            words = DEGREE_LABELS if j in DEGREE_ITEMS else FREQUENCY_LABELS
            lookup = np.array([None, "1", "2", "3", "4", "5", None, *words], dtype=object)
            index = code + np.where(labelled[j - 1].ravel()[rows] & (code > 0), 6, 0)
            columns[f"cbi_{j}"] = pd.array(lookup[index], dtype="str")
        else:
            columns[f"cbi_{j}"] = _nullable(code)
    columns["miniz_1"] = _nullable(miniz.ravel()[rows])
    for j in range(3):
        columns[f"ucla3_{j + 1}"] = _nullable(ucla[j].ravel()[rows])
    return pd.DataFrame(columns)


def _nullable(code: np.ndarray) -> pd.api.extensions.ExtensionArray:
    return pd.arrays.IntegerArray(code.astype(np.int64), code == 0)


