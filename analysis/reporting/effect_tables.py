"""The report's effect tables: estimates with their sentences, change, dose, MDE, balance,
reliability and response quality.

Every estimate is guarded (:func:`analysis.privacy.suppression.guard_estimates`) before it is
returned; the sentences and caveats come from :mod:`analysis.reporting.interpret` and the
analyses registry.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.access.scope import Scope
from analysis.definitions.analyses import analysis as registered_analysis
from analysis.definitions.instruments import SCALES_BY_KEY
from analysis.panel.grouping import group_codes
from analysis.panel.index import PanelIndex, follow_up_waves
from analysis.panel.participation import DOSE_BANDS
from analysis.privacy import suppression
from analysis.reporting import interpret
from analysis.stats.compare import ANALYSES, compare_all, estimates_frame
from analysis.stats.dr_did import weighted_balance
from analysis.stats.effect_sizes import pooled_sd
from analysis.stats.estimates import Estimate, t_half_width
from analysis.stats.group_time import EVENT_STUDY_COLUMNS, baseline_cell, event_study, program_timing
from analysis.stats.power import minimum_detectable_effect
from analysis.storage.queries import Filters, item_moments, response_quality
from analysis.storage.store import Store

__all__ = ["CHANGE_COLUMNS", "ESTIMATE_COLUMNS", "balance_table", "change_table", "dose_and_mde_tables",
           "event_study_table",
           "estimate_table", "quality_table", "reliability_table"]

#: Contract columns of estimates.csv, in order (DESIGN.md).
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "analysis", "outcome", "wave", "estimate", "ci_low", "ci_high", "p_value", "n_participants",
    "n_comparison", "effect_size", "effect_size_kind", "suppressed",
)
_ESTIMATE_EXTRAS = ("p_adjusted", "adjust_method", "residual_df", "status", "sentence", "caveat", "se_type",
                    "left_out")


# ------------------------------------------------------------------ estimates


def _primary_families(outcomes: Sequence[str]) -> dict[str, str]:
    return {o: SCALES_BY_KEY[o].instrument for o in outcomes if SCALES_BY_KEY[o].primary}


def estimate_table(panel: pd.DataFrame, outcomes: Sequence[str], cutoffs: dict, k: int,
                   waves: Sequence[str] | None = None, analyses: Sequence[str] = ANALYSES,
                   index: PanelIndex | None = None) -> tuple[pd.DataFrame, list[Estimate]]:
    columns = [*ESTIMATE_COLUMNS, *_ESTIMATE_EXTRAS]
    if panel.empty or not outcomes:
        return pd.DataFrame(columns=columns), []
    results = compare_all(panel, outcomes, cutoffs=cutoffs, primary=_primary_families(outcomes),
                          analyses=analyses, waves=waves, index=index)
    frame = estimates_frame(results)
    reasons = frame["status"].copy()
    frame = frame.drop(columns=["status"])
    label_cols = (*suppression.ESTIMATE_LABEL_COLUMNS, "adjust_method")
    dose = frame["analysis"] == "dose_response"
    guarded = pd.concat([
        suppression.guard_estimates(frame.loc[~dose], k, label_cols=label_cols),
        suppression.guard_estimates(frame.loc[dose], k, count_cols=("n_participants",),
                                   label_cols=label_cols),
    ]).sort_index()
    guarded["adjust_method"] = guarded["adjust_method"].mask(guarded["suppressed"])
    # keep the estimator's reason when nothing was suppressed but nothing could be computed
    computed_fail = (guarded["status"] == suppression.OK) & guarded["estimate"].isna()
    guarded.loc[computed_fail, "status"] = reasons[computed_fail]
    # a weighted comparison that balanced poorly keeps its numbers but says so
    not_credible = (guarded["status"] == suppression.OK) & reasons.astype(str).str.startswith("not credible")
    guarded.loc[not_credible, "status"] = reasons[not_credible]
    if dose.any():
        guarded.loc[dose, "n_comparison"] = pd.NA
    # people left out (started by baseline) are a group too: a count under k is not shown
    left_out = pd.to_numeric(guarded["left_out"], errors="coerce")
    hide = guarded["suppressed"] | ((left_out > 0) & (left_out < k))
    guarded["left_out"] = left_out.mask(hide).astype("Int64")
    sentences, caveats = _texts(results, guarded["suppressed"].to_numpy(dtype=bool), k)
    guarded["sentence"] = sentences
    guarded["caveat"] = caveats
    return guarded.reindex(columns=columns).reset_index(drop=True), results


def _texts(results: Sequence[Estimate], suppressed: np.ndarray, k: int) -> tuple[list[str], list[str]]:
    """A plain-English sentence and caveat per estimate (:mod:`analysis.reporting.interpret`).

    Written from the estimates before guarding, then dropped on suppressed rows: a
    hidden row says only that it is hidden.
    """
    sentences, caveats = [], []
    for est, hidden in zip(results, suppressed):
        if hidden:
            sentences.append(f"Not shown: a group has fewer than {k} people.")
            caveats.append("")
            continue
        scale = SCALES_BY_KEY[est.outcome]
        try:
            sentences.append(str(interpret.sentence(est, scale.label.lower(), scale.unit,
                                                    scale.higher_is_worse, est.wave)))
            caveats.append(" ".join(interpret.caveats(est)))
        except Exception:  # keep the report whole; fall back to our words
            del sentences[len(caveats):]
            sentences.append(_fallback_sentence(est))
            record = registered_analysis(est.analysis)
            caveats.append(record.assumption if record else "")
    return sentences, caveats


def _fallback_sentence(est: Estimate) -> str:
    row = {"analysis": est.analysis, "outcome": est.outcome, "wave": est.wave,
           "ci_low": est.ci_low, "ci_high": est.ci_high}
    scale = SCALES_BY_KEY.get(str(row["outcome"]))
    label = scale.label if scale else str(row["outcome"])
    estimate = est.estimate
    if estimate is None or row["ci_low"] is None or row["ci_high"] is None:
        return f"{label} at {row['wave']}: no estimate ({est.status})."
    unit = ("percentage points" if row["analysis"] == "high_burnout_rd"
            else (scale.unit if scale else "points"))
    if row["analysis"] == "dose_response":
        return (f"{label} at {row['wave']}: each session attended went with a change of "
                f"{estimate:+.2f} {unit} (95% CI {row['ci_low']:+.2f} to {row['ci_high']:+.2f}).")
    words = "lower" if estimate < 0 else "higher"
    if row["analysis"] == "high_burnout_rd":
        return (f"{label} at {row['wave']}: the share above the cut-off was {abs(estimate):.1f} "
                f"percentage points {words} among participants (95% CI {row['ci_low']:+.1f} to "
                f"{row['ci_high']:+.1f}).")
    record = registered_analysis(str(row["analysis"]))
    lead = record.sentence_lead if record else "Participants scored"
    return (f"{label} at {row['wave']}: {lead} {abs(estimate):.1f} {unit} {words} than the comparison "
            f"group (95% CI {row['ci_low']:+.1f} to {row['ci_high']:+.1f}).")


# ------------------------------------------------------------------ pairs-based tables


def _pairs_all(panel: pd.DataFrame, outcome: str, index: PanelIndex | None = None) -> pd.DataFrame:
    """Every follow-up row with the person's baseline score (last baseline row), all waves.

    Built from row positions (:class:`analysis.panel.index.PanelIndex`) instead of a merge,
    with only the columns the dose, MDE and balance tables read. With ``index`` the
    latest outcome's frame is kept for the next caller (one at a time: at 1M rows each
    is ~60 MB).
    """
    if index is None:
        index = PanelIndex(panel)
    key = ("pairs_all", outcome)
    if key in index.memo:
        return index.memo[key]  # type: ignore[return-value]
    follow = np.flatnonzero(panel["wave_index"].to_numpy() > 0)
    follow = follow[index.person[follow] >= 0]
    base = index.baseline_row[index.person[follow]]
    values = index.values(outcome)
    follow_up = values[follow]
    baseline = np.where(base >= 0, values[np.maximum(base, 0)], np.nan)
    keep = (base >= 0) & ~np.isnan(follow_up) & ~np.isnan(baseline)
    rows = follow[keep]
    pairs = panel[["person", "wave", "wave_index", "participant", "sessions"]].iloc[rows]
    pairs = pairs.reset_index(drop=True)
    pairs.insert(3, "follow_up", follow_up[keep])
    pairs["baseline"] = baseline[keep]
    pairs["change"] = pairs["follow_up"] - pairs["baseline"]
    pairs["participant"] = pairs["participant"].astype(bool)
    for old in [k for k in index.memo if k[0] == "pairs_all"]:
        del index.memo[old]
    index.memo[key] = pairs
    return pairs


CHANGE_COLUMNS: tuple[str, ...] = (
    "outcome", "wave", "wave_index", "baseline_wave", "group", "n", "mean_change", "sd_change",
    "ci_low", "ci_high", "suppressed", "status",
)


def change_table(panel: pd.DataFrame, outcomes: Sequence[str], estimates: pd.DataFrame, k: int,
                  index: PanelIndex | None) -> pd.DataFrame:
    """Change since baseline per outcome × follow-up wave × group (participants, comparison).

    The people are those the ``did`` row compares at that wave
    (:func:`analysis.stats.group_time.baseline_cell`: seen at baseline and at the wave with
    the outcome at both, people who had started by their baseline left out; group =
    participant at the wave), so ``mean_change(participants) - mean_change(comparison)``
    is the DiD estimate and ``n`` its ``n_participants`` / ``n_comparison``. The 95% interval is
    the t interval of each group's mean change. Suppressed like that estimate
    (:func:`analysis.privacy.suppression.guard_estimates` on the same two counts): both rows of
    a wave are hidden when either group has 1 to k - 1 people (or the DiD row is
    hidden), and carry no numbers when either group is empty.
    """
    if index is None or not outcomes or panel.empty:
        return pd.DataFrame(columns=list(CHANGE_COLUMNS))
    base_waves = panel.loc[panel["wave_index"] == 0, "wave"]
    baseline_wave = str(base_waves.iloc[0]) if len(base_waves) else None
    wave_index = panel[["wave", "wave_index"]].drop_duplicates("wave")
    wave_index = dict(zip(wave_index["wave"].astype(str), wave_index["wave_index"]))
    did_hidden = set()
    if len(estimates):
        did_rows = estimates.loc[(estimates["analysis"] == "did") & estimates["suppressed"].astype(bool)]
        did_hidden = set(zip(did_rows["outcome"], did_rows["wave"].astype(str)))
    rows = []
    for outcome in outcomes:
        for wave in follow_up_waves(panel):
            # the did row's own people
            cell, n1, n0 = baseline_cell(panel, outcome, wave, index)
            treated = cell.change_treated if cell is not None else np.empty(0)
            control = cell.change_control if cell is not None else np.empty(0)
            small = (0 < n1 < k) or (0 < n0 < k) or (outcome, str(wave)) in did_hidden
            empty = (n1 == 0 or n0 == 0) and not small
            status = suppression.INSUFFICIENT if small else (suppression.NO_DATA if empty else suppression.OK)
            if cell is None and status == suppression.OK:
                status = suppression.NO_DATA
            for name, values in (("participants", treated), ("comparison", control)):
                row = {"outcome": outcome, "wave": str(wave), "wave_index": wave_index.get(str(wave)),
                       "baseline_wave": baseline_wave, "group": name, "suppressed": small,
                       "status": status}
                if status == suppression.OK:
                    n = len(values)
                    mean = float(values.mean())
                    sd = float(values.std(ddof=1)) if n > 1 else float("nan")
                    half = t_half_width(sd, n)
                    row.update(n=n, mean_change=mean, sd_change=sd, ci_low=mean - half,
                               ci_high=mean + half)
                rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=list(CHANGE_COLUMNS))
    out["n"] = pd.to_numeric(out["n"], errors="coerce").round().astype("Int64")
    for col in ("mean_change", "sd_change", "ci_low", "ci_high"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    out["wave_index"] = pd.to_numeric(out["wave_index"], errors="coerce").astype("Int64")
    out["suppressed"] = out["suppressed"].fillna(False).astype(bool)
    return out


def dose_and_mde_tables(panel: pd.DataFrame, outcomes: Sequence[str], k: int,
                        index: PanelIndex | None = None, waves: Sequence[str] | None = None
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The dose and MDE tables, one pass over the outcomes (each outcome's pairs once);
    ``waves`` keeps the rows of those waves only (each wave's rows stand alone)."""
    parts, rows = [], []
    for outcome in outcomes:
        pairs = _pairs_all(panel, outcome, index)
        if waves is not None:
            pairs = pairs.loc[pairs["wave"].astype(str).isin(set(map(str, waves)))]
        if not pairs.empty:
            parts.append(_dose_part(pairs, outcome))
        rows.extend(_mde_rows(pairs, outcome, k))
    return _dose_table(parts, k), _mde_table(rows)


def _dose_part(pairs: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Change per wave and dose band, and per wave (``dose_band`` "all"): ``n``, mean and SD.

    Grouped with integer codes (rows as ``groupby(["wave", "wave_index", "dose_band"])``
    gives them, present bands only, then the waves' totals).
    """
    codes, keys = group_codes(pairs, ["wave", "wave_index"])
    n_waves = len(keys)
    sessions = pairs["sessions"].to_numpy(dtype="float64")
    # the bands of dose_band: (.., 0], (0, 2], (2, 5], (5, ..); no band for missing sessions
    band = np.where(np.isnan(sessions), -1, np.searchsorted(np.array([0.0, 2.0, 5.0]), sessions, side="left"))
    change = pairs["change"].to_numpy(dtype="float64")
    banded = _count_mean_sd(codes * 4 + band, change, band >= 0, 4 * n_waves)
    present = np.flatnonzero(banded[0] > 0)
    by_band = keys.iloc[present // 4].reset_index(drop=True)
    by_band["dose_band"] = pd.Series(np.asarray(DOSE_BANDS, dtype=object)[present % 4], dtype="str")
    total = _count_mean_sd(codes, change, np.ones(len(codes), dtype=bool), n_waves)
    waves = keys.assign(dose_band="all")
    seen = total[0] > 0
    parts = []
    for frame, (n, mean, sd), rows in ((by_band, banded, present),
                                       (waves.loc[seen], total, np.flatnonzero(seen))):
        parts.append(frame.reset_index(drop=True).assign(n=n[rows], mean_change=mean[rows],
                                                         sd_change=sd[rows]))
    return pd.concat(parts, ignore_index=True).assign(outcome=outcome)


def _count_mean_sd(groups: np.ndarray, values: np.ndarray, use: np.ndarray, n_groups: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: non-missing values, their mean and SD (``n - 1``; NaN below 2), two-pass."""
    use = use & ~np.isnan(values)
    groups, values = groups[use], values[use]
    n = np.bincount(groups, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(groups, weights=values, minlength=n_groups) / n
        squares = np.bincount(groups, weights=(values - mean[groups]) ** 2, minlength=n_groups)
        sd = np.where(n > 1, np.sqrt(squares / (n - 1)), np.nan)
    return n.astype("int64"), mean, sd


def _dose_table(parts: list[pd.DataFrame], k: int) -> pd.DataFrame:
    columns = ["outcome", "wave", "wave_index", "dose_band", "n", "mean_change", "sd_change", "ci_low",
               "ci_high", "suppressed", "status"]
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True)
    n = table["n"].to_numpy(dtype="float64")
    half = t_half_width(table["sd_change"], n)
    table["ci_low"] = table["mean_change"] - half
    table["ci_high"] = table["mean_change"] + half
    table = suppression.suppress_breakdown(table, "n", ["mean_change", "sd_change", "ci_low", "ci_high"],
                                          ["outcome", "wave"], k, category_col="dose_band",
                                          total_value="all")
    return table.sort_values(["outcome", "wave_index", "dose_band"], kind="stable").reindex(columns=columns)


def _mde_rows(pairs: pd.DataFrame, outcome: str, k: int) -> list[dict]:
    """One MDE row per wave, waves in the order the pairs first meet them."""
    rows = []
    scale = SCALES_BY_KEY[outcome]
    # waves by their wave_index (one each), taken in the order the pairs first meet them
    _, first, codes = np.unique(pairs["wave_index"].to_numpy(), return_index=True, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(first) + 1))
    participant = pairs["participant"].to_numpy(dtype=bool)[order]
    baseline = pairs["baseline"].to_numpy(dtype="float64")[order]
    for number in np.argsort(first):
        wave = pairs["wave"].iloc[first[number]]
        took = participant[bounds[number]:bounds[number + 1]]
        values = baseline[bounds[number]:bounds[number + 1]]
        n1 = int(took.sum())
        n0 = int(len(took) - n1)
        small = (0 < n1 < k) or (0 < n0 < k)
        if small or n1 == 0 or n0 == 0:
            rows.append({"outcome": outcome, "wave": wave, "unit": scale.unit, "suppressed": small,
                         "status": suppression.INSUFFICIENT if small else suppression.NO_DATA})
            continue
        sd = pooled_sd(n1, _variance(values[took]), n0, _variance(values[~took]))
        d = minimum_detectable_effect(n1, n0)
        rows.append({"outcome": outcome, "wave": wave, "n_participants": n1, "n_comparison": n0,
                     "mde_d": d, "baseline_sd": sd,
                     "mde_points": d * sd if d is not None and sd is not None else None,
                     "unit": scale.unit, "suppressed": False, "status": suppression.OK})
    return rows


def _variance(values: np.ndarray) -> float:
    """Sample variance (``n - 1``) of the non-missing values as pandas' ``Series.var`` gives it."""
    values = values[~np.isnan(values)]
    if len(values) < 2:
        return float("nan")
    return float(((values - values.sum() / len(values)) ** 2).sum() / (len(values) - 1))


def _mde_table(rows: list[dict]) -> pd.DataFrame:
    columns = ["outcome", "wave", "n_participants", "n_comparison", "mde_d", "baseline_sd", "mde_points",
               "unit", "suppressed", "status"]
    out = pd.DataFrame(rows).reindex(columns=columns)
    for col in ("n_participants", "n_comparison"):
        out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
    for col in ("mde_d", "baseline_sd", "mde_points"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    out["suppressed"] = out["suppressed"].fillna(False).astype(bool)
    return out


def event_study_table(panel: pd.DataFrame, outcomes: Sequence[str], k: int,
                      index: PanelIndex | None) -> pd.DataFrame:
    """Effect by waves since the first session per outcome (:func:`analysis.stats.group_time.event_study`).

    Rows with ``period == "pre"`` are the pre-program placebo estimates (0 under parallel
    trends). A row is suppressed (numbers hidden) when either group has fewer than
    ``k`` people.
    """
    columns = [*EVENT_STUDY_COLUMNS, "suppressed"]
    if index is None or panel.empty or not outcomes:
        return pd.DataFrame(columns=columns)
    frames = [event_study(panel, outcome, index=index) for outcome in outcomes]
    table = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) \
        else pd.DataFrame(columns=list(EVENT_STUDY_COLUMNS))
    small = (table["n_participants"] < k) | (table["n_comparison"] < k)
    table["suppressed"] = small.astype(bool)
    hidden = ["estimate", "ci_low", "ci_high", "p_value", "std_error", "df", "n_participants", "n_comparison"]
    table[hidden] = table[hidden].astype("float64").mask(small)
    return table.reindex(columns=columns)


def balance_table(panel: pd.DataFrame, outcome: str | None, wave: str | None, k: int,
                   index: PanelIndex | None = None) -> pd.DataFrame:
    """Balance of the ``ipw`` row's ATT weights for the headline
    (:func:`analysis.stats.dr_did.weighted_balance`); only when both groups, and every
    covariate level shown, have at least ``k`` people in each group (an SMD of a tiny
    level reveals it). People left out of the comparison (started by baseline) are not
    counted."""
    columns = ["outcome", "wave", "covariate", "smd_before", "smd_after", "variance_ratio_before",
               "variance_ratio_after", "flag"]
    if outcome is None or wave is None:
        return pd.DataFrame(columns=columns)
    pairs = _pairs_all(panel, outcome, index)
    pairs = pairs.loc[pairs["wave"].astype(str) == str(wave)]
    timing = program_timing(panel, index)
    pairs = pairs.loc[~pairs["person"].isin(timing.people[timing.left_out])]
    n1 = int(pairs["participant"].sum())
    n0 = int(len(pairs) - n1)
    if n1 < k or n0 < k:
        return pd.DataFrame(columns=columns)
    balance = weighted_balance(panel, outcome, wave, index=index)
    table = balance.table.copy()
    # covariate levels are taken at baseline inside the weighting; count them the same way
    base = (panel.loc[panel["wave_index"] == 0, ["person", "site", "role"]]
            .drop_duplicates("person", keep="last"))
    people = pairs[["person", "participant"]].merge(base, on="person", how="left")
    # each covariate's levels counted once per group (not one scan per level: 200 sites)
    names = [str(name) for name in table["covariate"]]
    counts = {covariate: _level_counts(people, covariate)
              for covariate in {name.split("=", 1)[0] for name in names if "=" in name}
              if covariate in people.columns}
    keep = []
    for name in names:
        if "=" not in name:
            keep.append(True)
            continue
        covariate, level = name.split("=", 1)
        c1, c0 = counts[covariate].get(level, (0, 0)) if covariate in counts else (0, 0)
        keep.append(c1 >= k and c0 >= k)
    table = table.loc[keep]
    table.insert(0, "wave", str(wave))
    table.insert(0, "outcome", outcome)
    return table.reindex(columns=columns).reset_index(drop=True)


def _level_counts(people: pd.DataFrame, covariate: str) -> dict[str, tuple[int, int]]:
    """Participants and comparison people at each level of ``covariate`` (levels as text)."""
    level = people[covariate].astype(str)
    took_part = people["participant"].astype(bool)
    c1 = took_part.groupby(level).sum()
    total = level.value_counts()
    return {str(name): (int(c1.get(name, 0)), int(n - c1.get(name, 0))) for name, n in total.items()}


# ------------------------------------------------------------------ reliability and quality


def reliability_table(store: Store, scope: Scope, filters: Filters, outcomes: Sequence[str],
                       k: int) -> pd.DataFrame:
    from analysis.stats.reliability import RELIABILITY_COLUMNS, reliability_from_moments  # noqa: PLC0415

    columns = [*RELIABILITY_COLUMNS, "suppressed"]
    # one scan for every scale: per scale and wave the moments α needs, no item answers
    moments = item_moments(store, scope, outcomes, filters)
    if moments.empty:
        return pd.DataFrame(columns=columns)
    table = reliability_from_moments(moments)
    small = (table["n"] > 0) & (table["n"] < k)
    table["suppressed"] = small
    for col in ("alpha", "ci_low", "ci_high"):
        table[col] = table[col].mask(small)
    table["n"] = table["n"].astype("Int64").mask(small)
    table.loc[small, "caution"] = False
    table.loc[small, "status"] = suppression.INSUFFICIENT
    return table.reindex(columns=columns)


def quality_table(store: Store, scope: Scope, filters: Filters, k: int) -> pd.DataFrame:
    quality = response_quality(store, scope, filters)
    small = ((quality["n_responses"] > 0) & (quality["n_responses"] < k)) | \
        ((quality["n_scored"] > 0) & (quality["n_scored"] < k))
    quality["suppressed"] = small.to_numpy()
    for col in ("n_responses", "n_scored"):
        quality[col] = pd.to_numeric(quality[col], errors="coerce").astype("Int64").mask(small)
    quality["share_items_missing"] = quality["share_items_missing"].mask(small)
    return quality
