"""The guards' one-pass counts against plain per-threshold and per-practice references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.privacy.guard import (
    FilterRefused,
    check_filter,
    guard_filter,
    margin_counts,
    respondents_table,
    role_table_counts,
)
from analysis.privacy.slicing import offered_thresholds
from analysis.storage.queries import Filters


def _panel(rng: np.random.Generator, n: int, n_sites: int) -> pd.DataFrame:
    sessions = rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 10, 12], n).astype(float)
    if rng.random() < 0.25:  # a missing count: then every threshold up to the highest is tried
        sessions[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({
        "person": np.arange(n),
        "wave": rng.choice(["2024-Q1", "2024-Q3", "2025-Q1"][: int(rng.integers(1, 4))], n),
        "wave_index": 0,
        "site": rng.choice([f"site{i}" for i in range(n_sites)], n),
        "role": rng.choice(["counselor", "psychologist"], n),
        "sessions": sessions,
    })


def _reference_thresholds(panel: pd.DataFrame, k: int, highest: int = 50) -> tuple[int, ...]:
    """One count per threshold and grouping, as before issue 17 (no missing keys here)."""
    offered = [1]
    sessions = panel["sessions"].to_numpy()
    keys = [panel["wave"].to_numpy(dtype=str), (panel["wave"] + "|" + panel["site"]).to_numpy(dtype=str),
            (panel["wave"] + "|" + panel["role"]).to_numpy(dtype=str)]
    for t in range(2, int(min(highest, sessions.max() + 1)) + 1):
        step = (sessions >= offered[-1]) & (sessions < t)
        counts = np.concatenate([np.unique(key[step], return_counts=True)[1] for key in keys])
        if not ((counts > 0) & (counts < k)).any():
            offered.append(t)
    return tuple(offered)


def test_offered_thresholds_match_one_grouping_per_threshold():
    rng = np.random.default_rng(13)
    found = set()
    for _ in range(20):
        panel = _panel(rng, int(rng.integers(1, 800)), int(rng.integers(1, 5)))
        if rng.random() < 0.2:
            panel["sessions"] += rng.choice([0.0, 0.5], len(panel))
        k = int(rng.choice([3, 5, 10]))
        expected = _reference_thresholds(panel, k)
        assert offered_thresholds(panel, k) == expected
        found.add(len(expected))
    assert len(found) > 3  # few and many thresholds offered, not always the base one


def _reference_site_refusal(panel: pd.DataFrame, filters: Filters, k: int) -> str | None:
    """The per-practice check of ``guard_filter``, one pass over the panel per practice."""
    selection = (panel["site"].isin(filters.sites) & panel["role"].isin(filters.roles)).to_numpy()
    waves = panel["wave"].astype(str).unique()
    for site in filters.sites:
        for wave in waves:
            here = (panel["site"] == site).to_numpy() & (panel["wave"] == wave).to_numpy()
            part = panel["participant"].to_numpy()
            sel = {"participants": int((here & selection & part).sum()),
                   "comparison": int((here & selection & ~part).sum())}
            ref = {"participants": int((here & part).sum()), "comparison": int((here & ~part).sum())}
            sel["all"], ref["all"] = sum(sel.values()), sum(ref.values())
            for group in ("participants", "comparison", "all"):
                if sel[group] and not check_filter(sel[group], ref[group], k).allowed:
                    return f"at wave {wave}, within {site},"
    return None


def test_per_practice_filter_checks_match_one_pass_per_practice():
    rng = np.random.default_rng(4)
    refused = 0
    for _ in range(15):
        panel = _panel(rng, int(rng.integers(150, 800)), int(rng.integers(2, 8)))
        panel["participant"] = panel["sessions"].fillna(0).to_numpy() >= 1
        k = int(rng.choice([3, 5]))
        respondents = respondents_table(panel, k)
        hidden = set(respondents.loc[respondents["suppressed"].astype(bool), "site"])
        shown = sorted(set(panel["site"]) - hidden)
        if not shown:
            continue
        sites = tuple(rng.choice(shown, size=int(rng.integers(1, len(shown) + 1)), replace=False))
        filters = Filters(sites, ("counselor",))
        try:
            guard_filter(panel, filters, respondents, k)
            message = None
        except FilterRefused as refusal:
            message = str(refusal)
        expected = _reference_site_refusal(panel, filters, k)
        if message is None:
            assert expected is None
        elif ", within site" in message:  # the earlier checks passed: the first practice refusal
            assert expected is not None and expected in message
            refused += 1
    assert refused >= 3, refused


@pytest.mark.parametrize("absent", [True, False])
def test_a_practice_without_rows_is_skipped(absent):
    rng = np.random.default_rng(1)
    panel = _panel(rng, 600, 2)
    panel["participant"] = panel["sessions"].fillna(0).to_numpy() >= 1
    sites = ("site0", "nowhere") if absent else ("site0",)
    guard_filter(panel, Filters(sites, None), respondents_table(panel, 3), 3)


def _reference_margins(panel: pd.DataFrame, keys: list[str], split: str) -> list[pd.DataFrame]:
    """The four groupbys over text that respondents_table and role_table_counts ran before issue 17."""
    frame = panel[[*keys, split, "participant"]].copy()
    frame["group"] = np.where(frame["participant"].astype(bool), "participants", "comparison")
    parts = []
    for by_split in (True, False):
        for by_group in (True, False):
            by = keys + ([split] if by_split else []) + (["group"] if by_group else [])
            part = frame.groupby(by, observed=True).size().rename("n").reset_index()
            if not by_split:
                part[split] = "all"
            if not by_group:
                part["group"] = "all"
            parts.append(part)
    return parts


@pytest.mark.parametrize("seed", range(4))
def test_margin_counts_equal_the_groupbys_over_text(seed):
    rng = np.random.default_rng(90 + seed)
    panel = _panel(rng, int(rng.integers(50, 900)), int(rng.integers(1, 7)))
    panel["wave_index"] = panel["wave"].map({"2024-Q1": 0, "2024-Q3": 1, "2025-Q1": 2}).astype("int32")
    panel["participant"] = panel["sessions"].fillna(0).to_numpy() >= 1
    if seed % 2:  # missing practices and roles: left out only where grouped by
        panel["site"] = panel["site"].where(rng.random(len(panel)) > 0.1)
        panel["role"] = panel["role"].where(rng.random(len(panel)) > 0.1)
    for keys, split in ((["wave", "wave_index"], "site"), (["wave"], "role")):
        for found, expected in zip(margin_counts(panel, keys, split), _reference_margins(panel, keys, split)):
            pd.testing.assert_frame_equal(found, expected)
    assert len(respondents_table(panel, 3)) and len(role_table_counts(panel))
