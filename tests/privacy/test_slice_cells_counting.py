"""The slice guard's cell counting on integer codes gives what the grouped count gives."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.privacy.slice_tables import checked_cells
from analysis.privacy.slicing import atom_safe_cells


def _reference(rows: pd.DataFrame, keys: list[str], k: int) -> pd.DataFrame:
    """The grouped implementation the fast one replaced."""
    safe = atom_safe_cells(rows, keys, k)
    n = (rows.loc[rows["in_slice"]].groupby(keys, observed=True)["person"].nunique()
         .rename("n").reset_index())
    out = safe.merge(n, on=keys, how="left")
    out["n"] = out["n"].fillna(0)
    return out


def _rows(rng: np.random.Generator, size: int) -> pd.DataFrame:
    return pd.DataFrame({
        "outcome": rng.choice(["cbi_work", "__any__", "minz"], size),
        "wave": rng.choice([f"2025-Q{i}" for i in range(1, 5)], size),
        "site": rng.choice([f"Practice {i:03d}" for i in range(12)] + ["__all__"], size),
        "group": rng.choice(["participants", "comparison", "all"], size),
        "atom": rng.choice([f"Practice {i:03d}|{j}" for i in range(6) for j in range(3)], size),
        "person": rng.integers(0, size // 3 + 1, size),
        "in_slice": rng.random(size) < 0.6,
    })


def test_counts_and_safety_match_the_grouped_count():
    rng = np.random.default_rng(17)
    keys = ["outcome", "wave", "site", "group"]
    for size in (1, 7, 60, 400, 3000):
        for k in (2, 5, 10):
            rows = _rows(rng, size)
            if size > 50:
                rows.loc[rows.index[:3], "wave"] = None  # a missing key counts in no cell
            got = checked_cells(rows, keys, k).sort_values(keys).reset_index(drop=True)
            expected = _reference(rows, keys, k).sort_values(keys).reset_index(drop=True)
            assert got[keys].astype(str).equals(expected[keys].astype(str))
            assert got["safe"].astype(bool).tolist() == expected["safe"].astype(bool).tolist()
            assert np.array_equal(got["n"].to_numpy(float), expected["n"].to_numpy(float))


def test_one_key_and_no_rows():
    rows = pd.DataFrame({"month": ["2025-01", "2025-01", "2025-02"], "atom": ["a", "b", "a"],
                         "person": [1, 2, 1], "in_slice": [True, False, True]})
    got = checked_cells(rows, ["month"], 2)
    assert got["safe"].tolist() == [False, False] and got["n"].tolist() == [1.0, 1.0]
    assert checked_cells(rows.iloc[:0], ["month"], 2).empty
