"""The export bundle's own documentation: ``README.md`` (what the bundle is, from which app
version and on which date, how to cite it, and whether the data is the synthetic sample)
and ``codebook.csv`` (every column of every table: type, meaning, coding), plus the one
coding of true/false the tables use, so R and Stata read them as numbers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd

from analysis import __version__ as APP_VERSION

#: How every true/false column is written in the CSVs and the workbook (R: ``as.logical``;
#: Stata: a 0/1 numeric variable).
BOOLEAN_CODING = "1 = true, 0 = false"

#: What each column of the shipped tables means (one meaning per name across tables; a
#: name whose meaning depends on the table says so).
COLUMN_MEANINGS: dict[str, str] = {
    "outcome": "outcome scale (instrument_scale, e.g. cbi_work); see methods.md",
    "wave": "survey wave label; the first wave is the baseline",
    "site": "practice, or 'all' for the whole selection",
    "group": "participants, comparison or all",
    "n": "number of people (rounded to a multiple of the rounding base)",
    "mean": "average score, in the outcome's units",
    "sd": "standard deviation of the scores",
    "ci_low": "lower end of the 95% confidence interval",
    "ci_high": "upper end of the 95% confidence interval",
    "share_high": "share (0-1) at or above the instrument's cut-off",
    "share_high_ci_low": "lower end of the 95% interval of share_high",
    "share_high_ci_high": "upper end of the 95% interval of share_high",
    "suppressed": f"the row's numbers are withheld (too few people or a failed check); {BOOLEAN_CODING}",
    "status": "ok, insufficient (too few people) or no data",
    "analysis": "unadjusted, did, ancova, ipw, high_burnout_rd or dose_response; see methods.md",
    "estimate": "participants minus comparison, in the outcome's units (percentage points for "
                "high_burnout_rd; per session for dose_response)",
    "p_value": "two-sided p-value",
    "p_adjusted": "p-value adjusted for multiple comparisons (adjust_method)",
    "adjust_method": "how p_adjusted was adjusted (e.g. holm)",
    "n_participants": "participants in the comparison (rounded)",
    "n_comparison": "comparison-group members in the comparison (rounded)",
    "effect_size": "standardized effect size (effect_size_kind)",
    "effect_size_kind": "which standardized effect size (e.g. d_baseline_sd, hedges_g, cohen_h)",
    "breakdown": "what the row breaks participation down by: wave, site, role or session_type",
    "role": "professional role, or 'all'",
    "session_type": "session type, or 'all'",
    "n_respondents": "people who answered the survey at the wave (rounded)",
    "participation_rate": "share (0-1) of respondents who took part",
    "sessions_median": "median sessions attended by participants",
    "sessions_q1": "first quartile of sessions attended",
    "sessions_q3": "third quartile of sessions attended",
    "sessions_per_month": "average sessions per participant per month",
    "retention": "share (0-1) of participants still attending after two months",
    "covariate": "background characteristic compared between the groups",
    "smd_before": "standardized mean difference before weighting",
    "smd_after": "standardized mean difference after weighting",
    "variance_ratio_before": "variance ratio (participants / comparison) before weighting",
    "variance_ratio_after": "variance ratio after weighting",
    "flag": f"imbalance above 0.1 standard deviations after weighting; {BOOLEAN_CODING}",
    "scale": "outcome scale whose reliability is given",
    "alpha": "Cronbach's alpha",
    "k": "number of items in the scale",
    "caution": f"alpha below 0.70: read the scale's results with caution; {BOOLEAN_CODING}",
    "table": "the table the check is about",
    "row_key": "the row checked (column=value pairs)",
    "rule": "the output check applied (min cell, dominance, residual df ...)",
    "result": "pass, fail (the cell was blanked) or review (needs a person's sign-off)",
    "reason": "why, in words",
    "left_out": "people left out of the comparison (did: already attending at their first survey)",
    "se_type": "how the standard error was computed and clustered, and why",
    "std_error": "standard error of estimate, from its own t interval (blank for high_burnout_rd)",
    "df_class": "band of the residual degrees of freedom (never the exact number)",
    "instrument_version": "the instrument's published name and version",
    "scale_version": "short hash of the scale's scoring rule (same hash = scored the same way)",
    "months_since_baseline": "whole months from the baseline wave to this wave",
    "organization": "the organization's label chosen at export ('anonymous' by default)",
}


def app_version() -> str:
    """The app's version: ``analysis.__version__``, the one place ``pyproject.toml`` reads it
    from (also in every bundle manifest)."""
    return APP_VERSION


def booleans_as_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every true/false column written as 1/0 (:data:`BOOLEAN_CODING`)."""
    out = frame.copy()
    for column in out.columns:
        values = out[column].dropna()
        if pd.api.types.is_bool_dtype(out[column]) or (
                len(values) and values.map(lambda v: isinstance(v, bool)).all()):
            out[column] = out[column].map({True: 1, False: 0}).astype("Int64")
    return out


def codebook(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per file and column: ``file, column, type, meaning``."""
    rows = []
    for name, frame in frames.items():
        for column in frame.columns:
            kind = ("0/1" if pd.api.types.is_integer_dtype(frame[column])
                    and set(frame[column].dropna()) <= {0, 1}
                    and "true" in COLUMN_MEANINGS.get(column, "")
                    else "number" if pd.api.types.is_numeric_dtype(frame[column]) else "text")
            rows.append({"file": f"{name}.csv", "column": column, "type": kind,
                         "meaning": COLUMN_MEANINGS.get(column, "see methods.md")})
    return pd.DataFrame(rows, columns=["file", "column", "type", "meaning"])


def readme(files: list[str], *, exported_on: date, synthetic: bool, k_export: int,
           min_group_size: int) -> str:
    """The bundle's README: what it holds, app version, export date, how to cite it."""
    version = app_version()
    lines = ["# Peer Program Impact: researcher export", ""]
    if synthetic:
        lines += ["**SYNTHETIC SAMPLE DATA.** These results come from the app's synthetic sample "
                  "(fictional practices and people), not from real survey data. Do not cite them "
                  "as findings.", ""]
    lines += [f"- App: Peer Program Impact, version {version}",
              f"- Exported: {exported_on.isoformat()}",
              f"- Output checks: no cell under {k_export} people (the dashboards' own threshold "
              f"is {min_group_size}); counts rounded; see checks.csv and config.json",
              f"- True/false columns are written as numbers: {BOOLEAN_CODING} (R reads them with "
              "as.logical(), Stata as 0/1 variables)", "",
              "## Files", ""]
    lines += [f"- `{name}`" for name in files]
    lines += ["", "Every column of every table is described in `codebook.csv`; the methods in "
              "`methods.md`.", "",
              "## How to cite", "",
              f"Peer Program Impact (version {version}) [software]. Researcher export of "
              f"{exported_on.isoformat()}. Aggregated, output-checked results; methods and "
              "references in methods.md.", ""]
    return "\n".join(lines)
