"""The report's analyses as a plain pandas + statsmodels script: the yardstick of issue 17.

Issue 17's done-when asks the full report (``build_report`` + ``write_report``) on 1M rows
over 200 practices to run at least 3x faster than "a pandas + statsmodels script of the
same analyses". This is that script: what a competent analyst would write without our
optimizations (no shared row index, no absorbed fixed effects, no closed forms, statsmodels
formulas and ``fit(cov_type=...)`` throughout, default BLAS threads).

It reads the two uploads as the generator writes them (``survey.csv``, ``attendance.csv``;
response labels mapped to codes) and scores the outcomes itself in pandas from the scoring
facts of :mod:`analysis.definitions.instruments` (reversed items, item score
``(code - offset) * multiplier``, mean or prorated sum, ``min_answered``). It does not read
the ingested store: reading and scoring the CSVs is part of its work (our report reads
stored, already-scored data; ``parts`` in the output says how much of the time that is).

Per outcome and follow-up wave (the same people and groups as the report's rows):

* descriptives by wave x site x group (n, mean, SD, share at or over the cut-off), no
  suppression; participation by wave x site and wave x role; sessions per month;
* ``unadjusted``: Welch t (statsmodels ``CompareMeans``), Hedges' g, Mann-Whitney U (scipy),
  MDE (statsmodels ``TTestIndPower``);
* ``did``: long-format OLS ``y ~ group * post``, SE clustered by person
  (``cov_type="cluster"``), people who had started by their first survey left out;
* ``ancova``: ``follow_up ~ group + baseline + C(site) + C(role)``, HC3;
* ``ipw``: statsmodels ``Logit`` propensity on site + role dummies (levels without overlap
  dropped), ATT odds weights trimmed at 0.99, WLS of the change on group, clustered SE;
  ``dr_did`` (headline outcome and last wave): the same with the comparison group's OLS of
  the change on the covariates subtracted; balance (SMD before / after) for it;
* ``high_burnout_rd``: Newcombe interval and score test (statsmodels ``proportion``);
* ``dose_response``: ``change ~ sessions`` among participants, HC3;
* multiplicity: Holm within an instrument's primary outcomes, Benjamini-Hochberg for the
  rest, per analysis x wave (``multipletests``);
* change, dose-band and MDE tables; event study (Callaway-Sant'Anna cells stacked per
  event time, ``change ~ 0 + C(cell) + C(cell):treated``, clustered by person, the
  size-weighted contrast by ``t_test``); Cronbach's alpha per scale x wave; response
  quality per wave x outcome.

Standard errors follow the textbook statsmodels choice named above, not our CR2 /
influence-function ones, so intervals differ slightly; the point estimates are the
report's (``tests/tooling/test_pandas_baseline.py`` checks the ``did`` rows).

Usage::

    python benchmarks/pandas_baseline.py --survey survey.csv --attendance attendance.csv \
        [--out DIR] [--min-sessions 1] [--limit-seconds 900]

Prints one JSON line: ``seconds`` (wall, reading included), ``peak_rss_mb`` (``VmHWM``),
``complete``; with ``--limit-seconds`` a run that reaches the limit stops there and reports
``complete: false``, ``seconds`` as a lower bound and how far it got (``steps_done`` of
``steps_total``, ``stopped_at``).
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analysis.definitions.instruments import (  # noqa: E402
    INSTRUMENTS_BY_KEY,
    SCALES,
    normalize_label,
)
from tooling.bench import peak_rss_mb  # noqa: E402

HEADLINE_ORDER = ("cbi_work", "cbi_personal", "proqol_bo", "olbi_exhaustion", "mbi_ee", "miniz_burnout")
TRIM = 0.99


class OutOfTime(BaseException):
    """Raised by the alarm when ``--limit-seconds`` is reached (a BaseException, so that no
    library's ``except Exception`` swallows it)."""


class Progress:
    """Counts steps so that a run stopped by the limit can say how far it got."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.current = total, 0, "start"
        self.start = time.perf_counter()
        self.parts: dict[str, float] = {}
        self.info: dict[str, object] = {}
        self.verbose = False
        #: ``--limit-seconds`` as a time: checked at each step too, because Python drops an
        #: exception the alarm raises inside a garbage-collector callback (seen in CI).
        self.deadline: float | None = None

    def step(self, name: str, part: str) -> None:
        self.done += 1
        self.current = name
        self.parts[part] = round(time.perf_counter() - self.start, 2)
        if self.verbose:
            print(f"{self.parts[part]:8.1f} s  {self.done}/{self.total}  {name}", file=sys.stderr, flush=True)
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            raise OutOfTime


# ------------------------------------------------------------------ reading and scoring


def read_uploads(survey_path: Path, attendance_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both CSVs, dates parsed; item columns stay as read (codes or labels)."""
    survey = pd.read_csv(survey_path, dtype={"respondent_id": str, "wave": str, "site": str,
                                             "role": str}, parse_dates=["survey_date"])
    attendance = pd.read_csv(attendance_path, dtype={"respondent_id": str},
                             parse_dates=["session_date"])
    return survey, attendance


def item_codes(column: pd.Series, instrument_key: str) -> pd.Series:
    """Numeric codes of one item column; response labels (any case) mapped to their code."""
    if pd.api.types.is_numeric_dtype(column):
        return column.astype("float64")
    labels = INSTRUMENTS_BY_KEY[instrument_key].label_codes
    as_number = pd.to_numeric(column, errors="coerce")
    words = column[as_number.isna() & column.notna()]
    mapping = {w: labels.get(normalize_label(w)) for w in words.unique()}
    return as_number.fillna(words.map(mapping)).astype("float64")


def score(survey: pd.DataFrame) -> tuple[pd.DataFrame, list[str], dict[str, pd.DataFrame]]:
    """Add a score column per scale whose items are all present; the outcomes and item scores."""
    outcomes, item_scores = [], {}
    for scale in SCALES:
        if scale.scored_only:
            if scale.key in survey.columns and survey[scale.key].notna().any():
                outcomes.append(scale.key)
            continue
        if not all(c in survey.columns for c in scale.item_columns):
            continue
        inst = INSTRUMENTS_BY_KEY[scale.instrument]
        codes = pd.DataFrame({c: item_codes(survey[c], inst.key) for c in scale.item_columns})
        for number in scale.reversed_items:
            name = f"{inst.key}_{number}"
            codes[name] = inst.code_min + inst.code_max - codes[name]
        items = (codes - scale.offset) * scale.multiplier
        answered = items.notna().sum(axis=1)
        if scale.aggregation == "mean":
            value = items.mean(axis=1)
        else:
            value = items.sum(axis=1) * len(scale.items) / answered.replace(0, np.nan)
        survey[scale.key] = value.where(answered >= scale.min_answered)
        if survey[scale.key].notna().any():
            outcomes.append(scale.key)
            item_scores[scale.key] = items
    return survey, outcomes, item_scores


def build_panel(survey: pd.DataFrame, attendance: pd.DataFrame, outcomes: list[str],
                min_sessions: int) -> pd.DataFrame:
    """One row per person x wave: wave_index (by the wave's first survey date), sessions
    attended on or before the survey date, participant = sessions >= min_sessions."""
    panel = survey[["respondent_id", "wave", "survey_date", "site", "role", *outcomes]].copy()
    panel["role"] = panel["role"].fillna("not stated")
    first_dates = panel.groupby("wave")["survey_date"].min().reset_index()
    order = first_dates.sort_values(["survey_date", "wave"])["wave"].tolist()
    panel["wave_index"] = panel["wave"].map({w: i for i, w in enumerate(order)})
    daily = (attendance.groupby(["respondent_id", "session_date"]).size()
             .groupby(level=0).cumsum().rename("sessions").reset_index())
    panel = panel.sort_values("survey_date")
    panel = pd.merge_asof(panel, daily.sort_values("session_date"), left_on="survey_date",
                          right_on="session_date", by="respondent_id", direction="backward")
    panel["sessions"] = panel["sessions"].fillna(0).astype(int)
    panel["participant"] = panel["sessions"] >= min_sessions
    panel = panel.drop(columns="session_date").sort_values(["respondent_id", "wave_index"])
    return panel.drop_duplicates(["respondent_id", "wave_index"], keep="last").reset_index(drop=True)


def people_frame(panel: pd.DataFrame) -> pd.DataFrame:
    """Per person: left out (had attended by their first survey), cohort (first wave taking
    part; -1 never, -2 joining wave not observed, -3 left out), baseline site and role."""
    part = panel.pivot(index="respondent_id", columns="wave_index", values="participant")
    observed = part.notna()
    part = part.fillna(False).astype(bool)
    first = panel.groupby("respondent_id").first()
    left_out = first["sessions"] > 0
    g = part.to_numpy().argmax(axis=1)
    ever = part.any(axis=1).to_numpy()
    seen_before = observed.to_numpy()[np.arange(len(g)), np.maximum(g - 1, 0)]
    cohort = np.where(ever, np.where((g > 0) & seen_before, g, -2), -1)
    cohort = np.where(left_out.reindex(part.index).to_numpy(), -3, cohort)
    base = panel.loc[panel["wave_index"] == 0].set_index("respondent_id")[["site", "role"]]
    people = pd.DataFrame({"left_out": left_out.reindex(part.index), "cohort": cohort}, index=part.index)
    return people.join(base)


# ------------------------------------------------------------------ one outcome x wave


def pairs_at(wide: pd.DataFrame, panel_wide: dict, people: pd.DataFrame, outcome: str,
             w: int) -> pd.DataFrame:
    """People seen at baseline and wave ``w`` with the outcome at both (covariates at baseline)."""
    pairs = pd.DataFrame({"baseline": wide[(outcome, 0)], "follow_up": wide[(outcome, w)],
                          "group": panel_wide["participant"][w], "sessions": panel_wide["sessions"][w]})
    pairs = pairs.join(people).dropna(subset=["baseline", "follow_up"])
    pairs["group"] = pairs["group"].astype(bool).astype(int)
    pairs["change"] = pairs["follow_up"] - pairs["baseline"]
    pairs["person"] = pd.factorize(pairs.index)[0]
    return pairs


def row(analysis: str, outcome: str, wave: str, estimate: float, ci: tuple, p: float,
        n1: int | None, n0: int | None, **extra: object) -> dict:
    return {"analysis": analysis, "outcome": outcome, "wave": wave, "estimate": float(estimate),
            "ci_low": float(ci[0]), "ci_high": float(ci[1]), "p_value": float(p),
            "n_participants": n1, "n_comparison": n0, **extra}


def coefficient(fit, name: str) -> tuple[float, tuple, float]:
    low, high = fit.conf_int().loc[name]
    return fit.params[name], (low, high), fit.pvalues[name]


def unadjusted_rows(at_wave: pd.DataFrame, outcome: str, wave: str, cutoff: tuple | None) -> list[dict]:
    """Welch t, Hedges' g, Mann-Whitney and MDE; the cut-off risk difference."""
    values = at_wave[[outcome, "participant"]].dropna()
    a = values.loc[values["participant"], outcome].to_numpy()
    b = values.loc[~values["participant"], outcome].to_numpy()
    if a.size < 2 or b.size < 2:
        return []
    compare = CompareMeans(DescrStatsW(a), DescrStatsW(b))
    t_stat, p, df = compare.ttest_ind(usevar="unequal")
    pooled = np.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2))
    g = (a.mean() - b.mean()) / pooled * (1 - 3 / (4 * (a.size + b.size) - 9))
    mw = stats.mannwhitneyu(a, b, alternative="two-sided")
    mde = TTestIndPower().solve_power(effect_size=None, nobs1=a.size, ratio=b.size / a.size,
                                      alpha=0.05, power=0.8)
    rows = [row("unadjusted", outcome, wave, a.mean() - b.mean(), compare.tconfint_diff(usevar="unequal"),
                p, a.size, b.size, effect_size=g, effect_size_kind="hedges_g", residual_df=df,
                mw_u=mw.statistic, mw_p_value=mw.pvalue, minimum_detectable_d=mde)]
    if cutoff is not None:
        level, direction = cutoff
        high_a = int((a >= level).sum() if direction == "high" else (a <= level).sum())
        high_b = int((b >= level).sum() if direction == "high" else (b <= level).sum())
        ci = confint_proportions_2indep(high_a, a.size, high_b, b.size, method="newcomb", compare="diff")
        test = test_proportions_2indep(high_a, a.size, high_b, b.size, method="score", compare="diff")
        rows.append(row("high_burnout_rd", outcome, wave, 100 * (high_a / a.size - high_b / b.size),
                        (100 * ci[0], 100 * ci[1]), test.pvalue, a.size, b.size,
                        residual_df=a.size + b.size - 2))
    return rows


def did_row(pairs: pd.DataFrame, outcome: str, wave: str) -> tuple[dict | None, pd.DataFrame]:
    """DiD of change from baseline: long OLS ``y ~ group * post``, clustered by person."""
    used = pairs.loc[~pairs["left_out"].astype(bool)]
    n1, n0 = int(used["group"].sum()), int((1 - used["group"]).sum())
    if n1 < 2 or n0 < 2:
        return None, used
    long = pd.concat([used.assign(y=used["baseline"], post=0), used.assign(y=used["follow_up"], post=1)])
    fit = smf.ols("y ~ group * post", data=long).fit(
        cov_type="cluster", cov_kwds={"groups": long["person"].to_numpy()}, use_t=True)
    estimate, ci, p = coefficient(fit, "group:post")
    return row("did", outcome, wave, estimate, ci, p, n1, n0, residual_df=float(fit.df_resid_inference)
               if hasattr(fit, "df_resid_inference") else float(n1 + n0 - 1)), used


def ancova_row(pairs: pd.DataFrame, outcome: str, wave: str) -> dict | None:
    """``follow_up ~ group + baseline + C(site) + C(role)`` with HC3 standard errors."""
    n1, n0 = int(pairs["group"].sum()), int((1 - pairs["group"]).sum())
    if n1 < 2 or n0 < 2:
        return None
    terms = [f"C({c})" for c in ("site", "role") if pairs[c].nunique() > 1]
    formula = " + ".join(["follow_up ~ group + baseline", *terms])
    fit = smf.ols(formula, data=pairs).fit(cov_type="HC3", use_t=True)
    estimate, ci, p = coefficient(fit, "group")
    return row("ancova", outcome, wave, estimate, ci, p, n1, n0, residual_df=float(fit.df_resid))


def overlap(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop site and role levels with no participants or no comparison people (repeatedly)."""
    for _ in range(3):
        before = len(frame)
        for name in ("site", "role"):
            share = frame.groupby(name)["group"].transform("mean")
            frame = frame.loc[(share > 0) & (share < 1)]
        if len(frame) == before:
            break
    return frame


def weighted_row(pairs: pd.DataFrame, outcome: str, wave: str, method: str = "ipw"
                 ) -> tuple[dict | None, pd.DataFrame | None]:
    """IPW (or doubly robust) DiD: Logit propensity on site + role, ATT odds weights, WLS."""
    frame = overlap(pairs.loc[~pairs["left_out"].astype(bool)])
    n1, n0 = int(frame["group"].sum()), int((1 - frame["group"]).sum())
    if n1 < 2 or n0 < 2:
        return None, None
    x = sm.add_constant(pd.get_dummies(frame[["site", "role"]].astype(str), drop_first=True, dtype=float),
                        has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ps = sm.Logit(frame["group"], x).fit(disp=0, method="newton", maxiter=100).predict(x)
        except (np.linalg.LinAlgError, ValueError):
            return None, None
    ps = np.minimum(ps, 1 - 1e-6)
    weight = np.where(frame["group"] == 1, 1.0, (ps < TRIM) * ps / (1 - ps))
    change = frame["change"]
    if method == "dr":
        control = frame["group"] == 0
        change = change - sm.OLS(frame.loc[control, "change"], x.loc[control]).fit().predict(x)
    design = sm.add_constant(frame["group"].astype(float))
    fit = sm.WLS(change, design, weights=weight).fit(
        cov_type="cluster", cov_kwds={"groups": frame["person"].to_numpy()}, use_t=True)
    estimate, ci, p = coefficient(fit, "group")
    name = "ipw" if method == "ipw" else "dr_did"
    return row(name, outcome, wave, estimate, ci, p, n1, n0), x.assign(group=frame["group"], _w=weight)


def dose_row(pairs: pd.DataFrame, outcome: str, wave: str) -> dict | None:
    """Change per session attended among participants: ``change ~ sessions``, HC3."""
    takers = pairs.loc[pairs["group"] == 1]
    if len(takers) < 3 or takers["sessions"].nunique() < 2:
        return None
    fit = smf.ols("change ~ sessions", data=takers).fit(cov_type="HC3", use_t=True)
    estimate, ci, p = coefficient(fit, "sessions")
    return row("dose_response", outcome, wave, estimate, ci, p, len(takers), None)


def summary_rows(pairs: pd.DataFrame, did_people: pd.DataFrame, outcome: str, wave: str
                 ) -> tuple[list[dict], list[dict], dict]:
    """The change (did people), dose-band and MDE rows of one outcome x wave."""
    change = (did_people.groupby("group")["change"].agg(["count", "mean", "std"])
              .rename(index={1: "participants", 0: "comparison"}).reset_index())
    half = stats.t.ppf(0.975, change["count"] - 1) * change["std"] / np.sqrt(change["count"])
    change = change.assign(outcome=outcome, wave=wave, ci_low=change["mean"] - half,
                           ci_high=change["mean"] + half)
    bands = pd.cut(pairs["sessions"], bins=[-np.inf, 0, 2, 5, np.inf], labels=["0", "1-2", "3-5", "6+"])
    dose = pairs.groupby(bands, observed=True)["change"].agg(["count", "mean", "std"]).reset_index()
    dose = dose.rename(columns={"sessions": "dose_band"}).assign(outcome=outcome, wave=wave)
    n1, n0 = int(pairs["group"].sum()), int((1 - pairs["group"]).sum())
    mde: dict = {"outcome": outcome, "wave": wave, "n_participants": n1, "n_comparison": n0}
    if n1 >= 2 and n0 >= 2:
        sd = np.sqrt(pairs.groupby("group")["baseline"].var().mul([n0 - 1, n1 - 1]).sum() / (n1 + n0 - 2))
        d = TTestIndPower().solve_power(effect_size=None, nobs1=n1, ratio=n0 / n1, alpha=0.05, power=0.8)
        mde.update(mde_d=d, baseline_sd=sd, mde_points=d * sd)
    return change.to_dict("records"), dose.to_dict("records"), mde


# ------------------------------------------------------------------ whole-panel tables


def descriptive_tables(panel: pd.DataFrame, outcomes: list[str], attendance: pd.DataFrame
                       ) -> dict[str, pd.DataFrame]:
    """Descriptives by wave x site x group, participation by wave x site / role, monthly sessions."""
    cut = {s.key: (s.cutoff, s.cutoff_direction) for s in SCALES
           if s.key in outcomes and s.cutoff is not None}
    flags = {f"{o}_high": (panel[o] >= c if d == "high" else panel[o] <= c).where(panel[o].notna())
             for o, (c, d) in cut.items()}
    frame = panel.assign(**flags)
    keys = ["wave", "site", "participant"]
    descriptives = frame.groupby(keys)[outcomes].agg(["count", "mean", "std"])
    shares = frame.groupby(keys)[list(flags)].mean()
    totals = frame.groupby(["wave", "participant"])[outcomes].agg(["count", "mean", "std"])
    for table in (descriptives, totals):
        table.columns = ["_".join(c) for c in table.columns]
    participation = {
        by: panel.groupby(["wave", by]).agg(n_respondents=("respondent_id", "nunique"),
                                            n_participants=("participant", "sum"),
                                            participation_rate=("participant", "mean"))
        for by in ("site", "role")}
    sessions = panel.loc[panel["participant"]].groupby("wave")["sessions"].describe()
    month = attendance["session_date"].dt.to_period("M")
    monthly = attendance.groupby(month).agg(people=("respondent_id", "nunique"),
                                             sessions=("respondent_id", "size"))
    return {"descriptives": descriptives.join(shares).reset_index(),
            "descriptive_totals": totals.reset_index(),
            "participation_site": participation["site"].reset_index(),
            "participation_role": participation["role"].reset_index(),
            "participation_sessions": sessions.reset_index(), "monthly": monthly.reset_index()}


def reliability_quality(panel: pd.DataFrame, item_scores: dict[str, pd.DataFrame],
                        survey: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Cronbach's alpha per scale x wave (complete cases); share of items missing per wave x scale."""
    rows, quality = [], []
    for key, items in item_scores.items():
        for wave, block in items.groupby(survey["wave"]):
            complete = block.dropna()
            k = block.shape[1]
            if k > 1 and len(complete) > 2:
                total = complete.sum(axis=1).var(ddof=1)
                alpha = k / (k - 1) * (1 - complete.var(ddof=1).sum() / total) if total > 0 else np.nan
                rows.append({"scale": key, "wave": wave, "alpha": alpha, "n": len(complete), "k": k})
            quality.append({"wave": wave, "outcome": key, "n_responses": len(block),
                            "n_scored": int(survey.loc[block.index, key].notna().sum()),
                            "share_items_missing": float(block.isna().to_numpy().mean())})
    return {"reliability": pd.DataFrame(rows), "quality": pd.DataFrame(quality)}


def event_study(wide: pd.DataFrame, panel_wide: dict, people: pd.DataFrame, outcome: str) -> list[dict]:
    """Callaway-Sant'Anna cells (post: base g-1; pre: base t-1), stacked per event time."""
    n_waves = panel_wide["participant"].shape[1]
    part = panel_wide["participant"].fillna(False).astype(bool)
    y = wide[outcome]
    eligible = ~people["left_out"].astype(bool)
    cells: dict[int, list[pd.DataFrame]] = {}
    for g in sorted(c for c in people["cohort"].unique() if c > 0):
        for t in range(1, n_waves):
            base = g - 1 if t >= g else t - 1
            change = (y[t] - y[base]).rename("change")
            present = change.notna() & eligible
            treated = present & (people["cohort"] == g)
            control = present & ~part[max(t, base)] & (people["cohort"] != g)
            if treated.sum() < 2 or control.sum() < 2:
                continue
            cell = pd.DataFrame({"change": change[treated | control], "treated": treated[treated | control]})
            cells.setdefault(t - g, []).append(cell.assign(cell=f"{g}_{t}").reset_index())
    rows = []
    for e, parts in sorted(cells.items()):
        stacked = pd.concat(parts, ignore_index=True)
        stacked["treated"] = stacked["treated"].astype(float)
        fit = smf.ols("change ~ 0 + C(cell) + C(cell):treated", data=stacked).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(stacked["respondent_id"])[0]}, use_t=True)
        sizes = stacked.groupby("cell")["treated"].sum()
        contrast = np.zeros(len(fit.params))
        for name, size in sizes.items():
            contrast[list(fit.params.index).index(f"C(cell)[{name}]:treated")] = size / sizes.sum()
        test = fit.t_test(contrast)
        low, high = np.asarray(test.conf_int()).ravel()
        rows.append({"outcome": outcome, "event_time": int(e), "period": "pre" if e < 0 else "post",
                     "estimate": float(np.squeeze(test.effect)), "ci_low": low, "ci_high": high,
                     "p_value": float(np.squeeze(test.pvalue)), "cohorts": len(parts)})
    return rows


def balance(design: pd.DataFrame, baseline: pd.Series, outcome: str, wave: str) -> pd.DataFrame:
    """SMD of the baseline score and each covariate dummy, before and after the odds weights."""
    group, weight = design.pop("group").to_numpy(), design.pop("_w").to_numpy()
    columns = design.drop(columns="const").assign(**{f"baseline {outcome}": baseline.reindex(design.index)})
    rows = []
    for name, x in columns.items():
        a, b = x[group == 1], x[group == 0]
        spread = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
        after = np.average(b, weights=weight[group == 0])
        rows.append({"outcome": outcome, "wave": wave, "covariate": name,
                     "smd_before": (a.mean() - b.mean()) / spread if spread else np.nan,
                     "smd_after": (a.mean() - after) / spread if spread else np.nan})
    return pd.DataFrame(rows)


def adjust_p(estimates: pd.DataFrame) -> pd.DataFrame:
    """Holm within an instrument's primary outcomes, Benjamini-Hochberg for the rest, per
    analysis x wave."""
    primary = {s.key: s.instrument for s in SCALES if s.primary}
    family = estimates["outcome"].map(primary).fillna("exploratory")
    estimates["p_adjusted"] = np.nan
    for (_, _, fam), block in estimates.groupby(["analysis", "wave", family]):
        method = "fdr_bh" if fam == "exploratory" else "holm"
        estimates.loc[block.index, "p_adjusted"] = multipletests(block["p_value"], method=method)[1]
        estimates.loc[block.index, "adjust_method"] = method
    return estimates


# ------------------------------------------------------------------ the run


def effect_tables(panel: pd.DataFrame, outcomes: list[str], progress: Progress) -> dict[str, pd.DataFrame]:
    """Every analysis per outcome x follow-up wave, the event study and the headline extras."""
    waves = panel.drop_duplicates("wave_index").set_index("wave_index")["wave"].sort_index()
    wide = panel.set_index(["respondent_id", "wave_index"])[outcomes].unstack("wave_index")
    panel_wide = {c: panel.pivot(index="respondent_id", columns="wave_index", values=c)
                  for c in ("participant", "sessions")}
    people = people_frame(panel)
    by_wave = dict(tuple(panel.groupby("wave_index")))
    cut = {s.key: (s.cutoff, s.cutoff_direction) for s in SCALES if s.cutoff is not None}
    headline = next((o for o in HEADLINE_ORDER if o in outcomes), outcomes[0])
    estimates, change, dose, mde, extra = [], [], [], [], {}
    for w in waves.index[1:]:
        for outcome in outcomes:
            label = str(waves[w])
            pairs = pairs_at(wide, panel_wide, people, outcome, w)
            estimates += unadjusted_rows(by_wave[w], outcome, label, cut.get(outcome))
            did, did_people = did_row(pairs, outcome, label)
            ipw, design = weighted_row(pairs, outcome, label)
            estimates += [r for r in (did, ancova_row(pairs, outcome, label), ipw,
                                      dose_row(pairs, outcome, label)) if r is not None]
            c, d, m = summary_rows(pairs, did_people, outcome, label)
            change, dose, mde = change + c, dose + d, mde + [m]
            if outcome == headline and w == waves.index[-1]:
                dr, _ = weighted_row(pairs, outcome, label, method="dr")
                extra["dr_did"] = pd.DataFrame([dr] if dr else [])
                if design is not None:
                    extra["balance"] = balance(design, pairs["baseline"], outcome, label)
            progress.step(f"estimates {outcome} {label}", "estimates")
    event = []
    for outcome in outcomes:
        event += event_study(wide, panel_wide, people, outcome)
        progress.step(f"event study {outcome}", "event_study")
    return {"estimates": adjust_p(pd.DataFrame(estimates)), "change": pd.DataFrame(change),
            "dose": pd.DataFrame(dose), "mde": pd.DataFrame(mde), "event_study": pd.DataFrame(event),
            **extra}


def run(survey_path: Path, attendance_path: Path, out_dir: Path, min_sessions: int = 1,
        progress: Progress | None = None) -> dict[str, pd.DataFrame]:
    """Read, score, analyse and write every table (one CSV each) to ``out_dir``."""
    progress = progress or Progress(0)
    survey, attendance = read_uploads(survey_path, attendance_path)
    progress.step("read", "read")
    survey, outcomes, item_scores = score(survey)
    progress.step("score", "score")
    panel = build_panel(survey, attendance, outcomes, min_sessions)
    n_follow = panel["wave_index"].nunique() - 1
    progress.total = 5 + len(outcomes) * (n_follow + 1)
    progress.info.update(rows=len(panel), people=int(panel["respondent_id"].nunique()),
                         practices=int(panel["site"].nunique()), outcomes=outcomes)
    progress.step("panel", "panel")
    tables = descriptive_tables(panel, outcomes, attendance)
    tables.update(reliability_quality(panel, item_scores, survey))
    del survey, item_scores
    progress.step("descriptives, participation, reliability", "descriptives")
    tables.update(effect_tables(panel, outcomes, progress))
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(out_dir / f"{name}.csv", index=False)
    progress.step("write", "write")
    return tables


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads): less sensitive to other load."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 2)


def _on_alarm(signum: int, frame: object) -> None:
    raise OutOfTime


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survey", type=Path, required=True)
    parser.add_argument("--attendance", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the CSVs (default: a temporary one)")
    parser.add_argument("--min-sessions", type=int, default=1, help="participation rule (sessions >= this)")
    parser.add_argument("--limit-seconds", type=float, default=None,
                        help="stop when this is reached and report how far the run got")
    parser.add_argument("--verbose", action="store_true", help="print each step to stderr")
    args = parser.parse_args(argv)
    progress = Progress(0)
    progress.verbose = args.verbose
    if args.limit_seconds:
        progress.deadline = progress.start + args.limit_seconds
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, args.limit_seconds)
    complete = True
    with tempfile.TemporaryDirectory(prefix="pandas_baseline_") as tmp:
        try:
            run(args.survey, args.attendance, args.out or Path(tmp), args.min_sessions, progress)
        except OutOfTime:
            complete = False
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    record = {"measure": "pandas_baseline", **progress.info,
              "seconds": round(time.perf_counter() - progress.start, 2), "cpu_seconds": cpu_seconds(),
              "complete": complete,
              "limit_seconds": args.limit_seconds, "steps_done": progress.done, "steps_total": progress.total,
              "last_step_done": progress.current, "parts": progress.parts, "peak_rss_mb": peak_rss_mb()}
    print(json.dumps(record), flush=True)
    return record


if __name__ == "__main__":
    main()
