"""Seeded simulated programs with a known effect, in the situations real programs run in.

Each data set is a panel frame as :func:`analysis.storage.queries.load_panel` returns it
(``person, wave, wave_index, survey_date, site, role, sessions, participant`` and the
outcome ``cbi_work``) plus its answer key: the true average effect at each follow-up
wave on the people the ``did`` row targets (participants at that wave whose first
session came after their baseline survey).

Model
-----
Person i at site s, role r, wave t = 0..n_waves-1 (t = 0 baseline, surveys quarterly,
each within two weeks)::

    Y_it = 45 + trait_i + trend·t + shock_st + e_it + τ_it
    trait_i = site_s + role_r + N(0, 8²),  shock_st ~ N(0, site_shock²),  e_it ~ N(0, 6²)

``shock_st`` hits everyone at a site in a wave (a new manager, a caseload change), so
people at one site are not independent. τ_it = 0 before the first session and
``-(3 + 2·min(months since the first session / 6, 1))`` after it (the program helps,
more with time). People join with probability ``logistic(a + selection·z_i)`` where
z_i is the standardised trait (a stable reason to join) or, with
``selection_on="baseline"``, the standardised baseline score including its transient
part (then regression to the mean biases DiD; ANCOVA is right). Joiners' first
session is before their baseline survey with probability ``early_share`` (the program
was already running), else after it: spread over the whole study when ``staggered``,
otherwise 60% within 45 days. Sessions then arrive at ~2 a month. Follow-up waves are
missed with probability ``logistic(c + attrition·z_i)`` (burned-out people answer less).

Situations (:data:`SITUATIONS`): ``early_20``, ``early_70``, ``staggered``,
``site_rollout`` (half the sites offer the program), ``selection_baseline``,
``attrition`` and ``everything`` (early 20%, staggered, rollout, attrition at once;
selection on the stable trait).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

__all__ = ["SITUATIONS", "Scenario", "SimulatedProgram", "simulate"]

OUTCOME = "cbi_work"
_DAY0 = np.datetime64("2025-01-06")


@dataclass(frozen=True)
class Scenario:
    """Knobs of one simulated program (module docstring)."""

    n_people: int = 600
    n_waves: int = 4
    n_sites: int = 10
    join_rate: float = 0.4
    selection: float = 0.6
    selection_on: str = "trait"  # "trait" or "baseline"
    early_share: float = 0.0
    staggered: bool = False
    rollout: bool = False  # only half the sites offer the program
    attrition: float = 0.0
    missing_rate: float = 0.12
    site_shock: float = 1.0
    trend: float = 1.0


SITUATIONS: dict[str, Scenario] = {
    "early_20": Scenario(early_share=0.2),
    "early_70": Scenario(early_share=0.7),
    "staggered": Scenario(staggered=True),
    "site_rollout": Scenario(rollout=True),
    "selection_baseline": Scenario(selection=0.8, selection_on="baseline"),
    "attrition": Scenario(attrition=1.0),
    "everything": Scenario(early_share=0.2, staggered=True, rollout=True, attrition=1.0),
}


@dataclass(frozen=True, eq=False)
class SimulatedProgram:
    """A panel frame and its answer key."""

    panel: pd.DataFrame
    truth: dict[str, float]  # wave label -> true average effect (did row's people)
    scenario: Scenario
    seed: int


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _solve_intercept(z: np.ndarray, slope: float, rate: float) -> float:
    low, high = -10.0, 10.0
    for _ in range(60):
        mid = (low + high) / 2
        if _logistic(mid + slope * z).mean() < rate:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _start_days(
    rng: np.random.Generator, scenario: Scenario, joined: np.ndarray, survey: np.ndarray
) -> np.ndarray:
    """Day of the first session (days since _DAY0), NaN for people who never join."""
    n = joined.size
    baseline, last = survey[:, 0], survey[:, -1]
    early = rng.random(n) < scenario.early_share
    if scenario.staggered:
        after = baseline + 1 + rng.random(n) * (last - 10 - baseline)
    else:
        soon = rng.random(n) < 0.6
        after = np.where(
            soon, baseline + 1 + rng.random(n) * 45, baseline + 1 + rng.random(n) * (last - baseline)
        )
    start = np.where(early, baseline - 1 - rng.random(n) * 180, after)
    return np.where(joined, np.floor(start), np.nan)


def simulate(scenario: Scenario, seed: int) -> SimulatedProgram:
    """One seeded data set of ``scenario`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n, waves = scenario.n_people, scenario.n_waves
    site = rng.integers(0, scenario.n_sites, n)
    role = rng.integers(0, 4, n)
    trait = (
        rng.normal(0, 4, scenario.n_sites)[site] + np.array([0.0, 2.0, -2.0, 1.0])[role] + rng.normal(0, 8, n)
    )
    shock = rng.normal(0, scenario.site_shock, (scenario.n_sites, waves))[site]
    noise = rng.normal(0, 6, (n, waves))
    survey = (np.arange(waves) * 91)[None, :] + rng.integers(0, 14, (n, waves))
    untreated = 45 + trait[:, None] + scenario.trend * np.arange(waves)[None, :] + shock + noise
    driver = untreated[:, 0] if scenario.selection_on == "baseline" else trait
    z = (driver - driver.mean()) / driver.std()
    offered = np.ones(n, bool)
    if scenario.rollout:
        offered = np.isin(site, rng.permutation(scenario.n_sites)[: scenario.n_sites // 2])
    intercept = _solve_intercept(z[offered], scenario.selection, scenario.join_rate)
    joined = offered & (rng.random(n) < _logistic(intercept + scenario.selection * z))
    start = _start_days(rng, scenario, joined, survey.astype("float64"))
    months = np.where(np.isnan(start)[:, None], -1.0, (survey - np.nan_to_num(start)[:, None]) / 30.44)
    active = months >= 0
    # a Poisson process of ~2 sessions a month from the first session: counts only grow
    exposure = np.clip(months, 0, None)
    steps = np.diff(np.concatenate([np.zeros((n, 1)), exposure], axis=1), axis=1)
    sessions = np.where(active, 1 + np.cumsum(rng.poisson(2.0 * steps), axis=1), 0)
    effect = np.where(active, -(3.0 + 2.0 * np.minimum(np.clip(months, 0, None) / 6.0, 1.0)), 0.0)
    observed = np.ones((n, waves), bool)
    if waves > 1:
        trait_z = (trait - trait.mean()) / trait.std()
        c = _solve_intercept(trait_z, scenario.attrition, scenario.missing_rate)
        observed[:, 1:] = rng.random((n, waves - 1)) >= _logistic(c + scenario.attrition * trait_z)[:, None]
    y = untreated + effect
    labels = [f"W{t}" for t in range(waves)]
    person_i, wave_i = np.nonzero(observed)
    panel = pd.DataFrame(
        {
            "person": person_i.astype("int64") + 1,
            "wave": np.array(labels)[wave_i],
            "wave_index": wave_i,
            "survey_date": _DAY0 + survey[person_i, wave_i].astype("timedelta64[D]"),
            "site": np.char.add("site ", site.astype(str))[person_i],
            "role": np.char.add("role ", role.astype(str))[person_i],
            "sessions": sessions[person_i, wave_i].astype("int64"),
            "participant": sessions[person_i, wave_i] >= 1,
            OUTCOME: y[person_i, wave_i],
        }
    )
    panel["survey_date"] = pd.to_datetime(panel["survey_date"])
    eligible = joined & ~(start <= survey[:, 0])
    truth = {}
    for t in range(1, waves):
        chosen = eligible & active[:, t] & observed[:, t]
        truth[labels[t]] = float(effect[chosen, t].mean()) if chosen.any() else float("nan")
    return SimulatedProgram(panel, truth, scenario, seed)


def scaled(scenario: Scenario, n_people: int) -> Scenario:
    """The same situation with another number of people."""
    return replace(scenario, n_people=n_people)
