"""The one builder of baseline / follow-up pairs.

A pair is a person seen at baseline (``wave_index == 0``) and at a follow-up wave
with the outcome at both; covariates come from the baseline row (they must precede
the program). DiD, ANCOVA, IPW, dose-response and the report's change table all
read these pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.panel.index import PanelIndex

__all__ = ["build_pairs", "group_sizes", "shared_pairs", "thin_reason"]


def shared_pairs(panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str] = (),
                 index: PanelIndex | None = None) -> pd.DataFrame:
    """The pairs of :func:`build_pairs`, memoised on ``index`` (shared by every analysis)."""
    if index is not None:
        key = ("pairs", outcome, str(wave), tuple(covariates))
        if key not in index.memo:
            index.memo[key] = build_pairs(panel, outcome, wave, covariates, index)
        return index.memo[key]  # type: ignore[return-value]
    return build_pairs(panel, outcome, wave, covariates, PanelIndex(panel))


def build_pairs(panel: pd.DataFrame, outcome: str, wave: str, covariates: Sequence[str],
                index: PanelIndex) -> pd.DataFrame:
    """One row per person seen at baseline and ``wave`` with the outcome at both.

    Columns: ``person, follow_up, participant, sessions, baseline``, the baseline values
    of ``covariates`` present in the panel, ``change`` and ``group`` (0/1). The follow-up
    row is the person's last at ``wave``, the baseline their last at ``wave_index`` 0;
    rows in panel order of the follow-up rows. Not memoised (see :func:`shared_pairs`).
    """
    present = [c for c in covariates if c in panel.columns and c not in ("person", "participant", "sessions")]
    follow = index.last_rows(wave)
    base = index.baseline_row[index.person[follow]]
    y = index.values(outcome)
    follow_up = y[follow]
    baseline = np.where(base >= 0, y[np.maximum(base, 0)], np.nan)
    keep = (base >= 0) & ~np.isnan(follow_up) & ~np.isnan(baseline)
    follow, base = follow[keep], base[keep]
    pairs = pd.DataFrame({"person": index.column("person")[follow], "follow_up": follow_up[keep],
                          "participant": index.participant[follow],
                          "sessions": index.sessions[follow], "baseline": baseline[keep]})
    for name in present:
        coded = index.labels(name)
        if coded is None:
            pairs[name] = pd.Series(index.column(name)[base], dtype=panel[name].dtype)
        else:
            pairs[name] = pd.Categorical.from_codes(coded[0][base], categories=coded[1])
    pairs["change"] = pairs["follow_up"] - pairs["baseline"]
    pairs["group"] = pairs["participant"].astype("int64")
    return pairs


def group_sizes(pairs: pd.DataFrame) -> tuple[int, int]:
    """(participants, comparison) among the pairs."""
    n1 = int(pairs["group"].sum())
    return n1, int(len(pairs) - n1)


def thin_reason(n1: int, n0: int, minimum: int = 2) -> str | None:
    """Why groups of ``n1`` participants and ``n0`` comparison pairs are too thin, or None."""
    if n1 == 0:
        return "no participants seen at both baseline and this wave"
    if n0 == 0:
        return "no comparison respondents seen at both baseline and this wave"
    if n1 < minimum or n0 < minimum:
        return f"fewer than {minimum} people in a group (participants {n1}, comparison {n0})"
    return None
