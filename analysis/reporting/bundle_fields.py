"""What a researcher bundle carries so that a consortium can pool it (issue 18).

The export adds to ``estimates.csv``:

``std_error``
    The standard error of ``estimate``, recovered from its own t interval:
    ``(ci_high - ci_low) / (2 · t_{0.975, residual df})``. Every analysis but
    ``high_burnout_rd`` has a symmetric t interval; the Newcombe interval of a risk
    difference is not ``estimate ± t · SE``, so that row ships no standard error (pooling
    risk differences needs the 2×2 counts, which the export rounds).
    The t interval's df is the estimator's own inference df (``residual_df`` of the
    estimate): Satterthwaite df for the CR2 standard error of ``did``, clusters - 1 for
    ``ipw``, n - p for the HC3 regressions, Welch's df for ``unadjusted``. The interval
    was made as ``estimate ± t · SE`` with that df, so this is the estimator's SE itself.
``df_class``
    A band (:data:`DF_CLASSES`) of that same inference df, never the exact number (exact
    df can give counts back: ``dose_response``: participants - 2), which the base-5
    rounding of the counts is there to hide. It says how far a study's standard error can
    be trusted (``under 10``: few clusters, e.g. CR2 by site), which is what a
    meta-analyst needs (HKSJ pooling uses the standard errors, not the df).

The export's disclosure rule (residual df >= 10) is about the *model*, not the
inference: a near-saturated model gives individual values back, however its standard
error is clustered. :func:`disclosure_df` gives the rule the model's residual df where
it differs from the inference df (``did``: its model of change from baseline has two
columns, group mean and participant shift, so n1 + n0 - 2), as ACRO does with
``df_resid`` of a cluster-robust fit.
``instrument_version``, ``scale_version``
    The instrument's published name and version, and a short hash of the scale's scoring
    rule (items, reversals, aggregation, multiplier, offset, minimum answered, range):
    two bundles pool an outcome only when they scored it the same way.
``months_since_baseline``
    Whole months from the baseline wave's survey window to this wave's (midpoints of
    the first and last survey dates), so that waves can be aligned across organizations
    whose calendars differ. A whole number of months, not a date.
``organization``
    The organization's own label, chosen at export; ``anonymous`` by default.

``config.json`` gains a ``consortium`` block (label, program type, size band) and the
manifest records the app version, the bundle format and the export settings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis import __version__ as APP_VERSION
from analysis.definitions.instruments import INSTRUMENTS, SCALES_BY_KEY
from analysis.storage.queries import wave_order
from analysis.storage.store import Store

__all__ = ["ANONYMOUS", "APP_VERSION", "BUNDLE_FORMAT", "DF_CLASSES", "LABEL_FIELDS", "SIZE_BANDS",
           "ExportOptions", "add_estimate_fields", "df_class", "disclosure_df", "manifest_bytes",
           "months_since_baseline", "scale_version", "size_band", "verify_manifest_bytes"]

BUNDLE_FORMAT = "peer-program-impact-bundle/2"
ANONYMOUS = "anonymous"
#: Inference-df bands (lower bound, label).
DF_CLASSES: tuple[tuple[int, str], ...] = ((0, "under 10"), (10, "10-29"), (30, "30-99"), (100, "100-299"),
                                           (300, "300+"))
#: Respondent-count bands for the organization's size (lower bound, label).
SIZE_BANDS: tuple[tuple[int, str], ...] = ((0, "under 50"), (50, "50-199"), (200, "200-999"),
                                           (1000, "1000+"))
NO_STANDARD_ERROR = ("high_burnout_rd",)
#: Added fields that describe the row, not its numbers: kept on rows the export checks blank.
LABEL_FIELDS = ("instrument_version", "scale_version", "months_since_baseline", "organization")
#: Analyses whose inference df is not the model's residual df, with the model's columns.
MODEL_COLUMNS = {"did": 2}
_DAYS_PER_MONTH = 365.25 / 12
_HASH_PLACEHOLDER = "0" * 64


@dataclass(frozen=True)
class ExportOptions:
    """What the organization chooses at export (recorded in the manifest).

    ``organization`` is shown to the consortium as is; :data:`ANONYMOUS` (the default)
    lets the combiner give it a neutral label. ``program_type`` describes the program
    (e.g. ``group``, ``online``, ``mixed``) for meta-regression.
    """

    organization: str = ANONYMOUS
    program_type: str = "not stated"

    def __post_init__(self) -> None:
        for name in ("organization", "program_type"):
            value = " ".join(str(getattr(self, name)).split())
            if not value or len(value) > 80 or any(ch in value for ch in "\"<>\\"):
                raise ValueError(f"{name}: 1-80 characters without quotes, angle brackets "
                                 f"or backslashes, not {getattr(self, name)!r}")
            object.__setattr__(self, name, value)


def df_class(inference_df: float | None) -> str | None:
    """The band of an inference df (None when unknown)."""
    if inference_df is None or not np.isfinite(inference_df) or inference_df <= 0:
        return None
    return [label for low, label in DF_CLASSES if inference_df >= low][-1]


def disclosure_df(estimates: pd.DataFrame) -> pd.Series:
    """The residual df the export's disclosure rule checks, per row of ``estimates``.

    The model's residual df (observations - model columns) for the analyses in
    :data:`MODEL_COLUMNS`; elsewhere the estimate's ``residual_df``, which is that already.
    """
    df = pd.to_numeric(estimates["residual_df"], errors="coerce").astype("float64")
    for analysis, columns in MODEL_COLUMNS.items():
        rows = estimates["analysis"] == analysis
        people = (pd.to_numeric(estimates.loc[rows, "n_participants"], errors="coerce")
                  + pd.to_numeric(estimates.loc[rows, "n_comparison"], errors="coerce"))
        df[rows] = (people - columns).astype("float64")
    return df


def size_band(respondents: int) -> str:
    """The organization's size band from its number of respondents."""
    return [label for low, label in SIZE_BANDS if respondents >= low][-1]


def scale_version(outcome: str) -> str:
    """``<outcome>@<8 hex>``: a hash of the scale's scoring rule (same rule, same version)."""
    scale = SCALES_BY_KEY[outcome]
    rule = {key: value for key, value in asdict(scale).items()
            if key in ("items", "reversed_items", "aggregation", "multiplier", "offset",
                       "min_answered", "low", "high")}
    digest = hashlib.sha256(json.dumps(rule, sort_keys=True).encode("utf-8")).hexdigest()
    return f"{outcome}@{digest[:8]}"


def instrument_version(outcome: str) -> str:
    """The instrument's published name (with its version where it has one)."""
    key = SCALES_BY_KEY[outcome].instrument
    return next(i.name for i in INSTRUMENTS if i.key == key)


def months_since_baseline(store: Store) -> dict[str, int]:
    """Wave label → whole months from the baseline's survey window to the wave's.

    Windows are compared at their midpoints (first and last survey date of the wave);
    the baseline is the earliest wave, as everywhere in the app.
    """
    waves = wave_order(store)
    if waves.empty:
        return {}
    first = pd.to_datetime(waves["first_date"])
    middle = first + (pd.to_datetime(waves["last_date"]) - first) / 2
    days = (middle - middle.iloc[0]).dt.total_seconds() / 86400
    return {str(w): int(np.rint(d / _DAYS_PER_MONTH)) for w, d in zip(waves["wave"], days)}


def add_estimate_fields(estimates: pd.DataFrame, months: dict[str, int],
                        options: ExportOptions) -> pd.DataFrame:
    """``estimates`` (with the estimator's ``residual_df``) plus the fields above."""
    out = estimates.copy()
    low = pd.to_numeric(out["ci_low"], errors="coerce").to_numpy(dtype="float64")
    high = pd.to_numeric(out["ci_high"], errors="coerce").to_numpy(dtype="float64")
    df = pd.to_numeric(out["residual_df"], errors="coerce").to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        se = (high - low) / (2 * stats.t.ppf(0.975, df))
    se[out["analysis"].isin(NO_STANDARD_ERROR).to_numpy() | ~np.isfinite(se) | (se <= 0)] = np.nan
    out["std_error"] = se
    out["df_class"] = [df_class(v) if np.isfinite(s) else None for v, s in zip(df, se)]
    out["instrument_version"] = [instrument_version(o) for o in out["outcome"]]
    out["scale_version"] = [scale_version(o) for o in out["outcome"]]
    out["months_since_baseline"] = pd.array([months.get(str(w)) for w in out["wave"]], dtype="Int64")
    out["organization"] = options.organization
    return out


def manifest_bytes(files: dict[str, bytes], export_settings: dict) -> bytes:
    """``manifest.json``: format, app version, export settings, SHA-256 of every file,
    and ``manifest_sha256``, the SHA-256 of the manifest's own bytes with that value
    written as 64 zeros (so a changed byte anywhere in the manifest is found too)."""
    manifest = {
        "format": BUNDLE_FORMAT, "app_version": APP_VERSION, "export_settings": export_settings,
        "files": [{"name": n, "bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                  for n, b in files.items()],
        "manifest_sha256": _HASH_PLACEHOLDER,
    }
    draft = json.dumps(manifest, indent=2).encode("utf-8")
    digest = hashlib.sha256(draft).hexdigest()
    return draft.replace(_HASH_PLACEHOLDER.encode(), digest.encode(), 1)


def verify_manifest_bytes(data: bytes) -> dict:
    """The parsed manifest when its ``manifest_sha256`` matches its bytes.

    Raises
    ------
    ValueError
        When the manifest is not JSON, lacks the self-hash, or any byte changed.
    """
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not a readable manifest ({error})") from None
    claimed = manifest.get("manifest_sha256") if isinstance(manifest, dict) else None
    if not isinstance(claimed, str) or len(claimed) != 64 or data.count(claimed.encode()) != 1:
        raise ValueError("the manifest carries no valid manifest_sha256 (made by an older version?)")
    blank = data.replace(claimed.encode(), _HASH_PLACEHOLDER.encode(), 1)
    if hashlib.sha256(blank).hexdigest() != claimed:
        raise ValueError("the manifest's own bytes changed after export")
    return manifest
