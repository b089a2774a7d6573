"""The slice guard's cell counting on integer codes gives what the grouped count gives."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.access.scope import LOCAL
from analysis.privacy.slice_tables import checked_cells, slice_cells
from analysis.privacy.slicing import Slice, atom_labels, partition
from analysis.storage.queries import load_attendance, load_panel
from tests.factories import make_store


def _atom_safe_cells(rows: pd.DataFrame, keys: list[str], k: int) -> pd.DataFrame:
    """Per cell, whether every atom in it holds 0 or at least ``k`` people (grouped)."""
    per_atom = rows.groupby([*keys, "atom"], observed=True)["person"].nunique().rename("n").reset_index()
    per_atom["bad"] = (per_atom["n"] > 0) & (per_atom["n"] < k)
    return (per_atom.groupby(keys, observed=True)["bad"].any().map(lambda b: not b)
            .rename("safe").reset_index())


def _reference(rows: pd.DataFrame, keys: list[str], k: int) -> pd.DataFrame:
    """The grouped implementation the fast one replaced."""
    safe = _atom_safe_cells(rows, keys, k)
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


# ---------------------------------------------------------------- the whole slice_cells

def _groups(frame: pd.DataFrame) -> pd.DataFrame:
    group = np.where(frame["participant"].astype(bool), "participants", "comparison")
    everyone = frame.assign(group="all", atom=frame["atom_any_dose"])
    return pd.concat([frame.assign(group=group), everyone], ignore_index=True)


def _reference_slice_cells(org, outcomes, slice_, atoms, k):
    """The frame-based slice_cells the coded one replaced (answers and pairs)."""
    frame = org.copy()
    frame["atom"] = atom_labels(frame, slice_, atoms)
    frame["atom_any_dose"] = atom_labels(frame, slice_, atoms, sessions_col=None)
    in_slice = np.ones(len(frame), dtype=bool)
    if slice_.site_choice() is not None:
        in_slice &= frame["site"].isin(list(slice_.site_choice())).to_numpy()
    if slice_.roles is not None:
        in_slice &= frame["role"].isin(list(slice_.roles)).to_numpy()
    frame["in_slice"] = in_slice
    base_cols = ["person", "wave", "site", "role", "participant", "atom", "atom_any_dose", "in_slice"]
    answer_parts, pair_parts = [], []
    baseline = frame.loc[frame["wave_index"] == 0]
    for outcome in ["__any__", *outcomes]:
        rows = frame if outcome == "__any__" else frame.loc[frame[outcome].notna()]
        answer_parts.append(rows[base_cols].assign(outcome=outcome))
        if outcome == "__any__":
            continue
        seen = baseline.loc[baseline[outcome].notna(), "person"].unique()
        follow = frame.loc[(frame["wave_index"] > 0) & frame[outcome].notna() & frame["person"].isin(seen)]
        band = pd.cut(follow["sessions"].astype("float64"), bins=[-np.inf, 0, 2, 5, np.inf],
                      labels=["0", "1–2", "3–5", "6+"]).astype(str)
        pair_parts.append(follow[base_cols].assign(outcome=outcome, dose_band=band))
    answers = _groups(pd.concat(answer_parts, ignore_index=True))
    answers = pd.concat([answers, answers.assign(site="__all__")], ignore_index=True)
    pairs = _groups(pd.concat(pair_parts, ignore_index=True))
    pairs = pd.concat([pairs, pairs.assign(dose_band="__all__")], ignore_index=True)
    return (_reference(answers, ["outcome", "wave", "site", "group"], k),
            _reference(pairs, ["outcome", "wave", "group", "dose_band"], k))


def _same(got: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    got = got.assign(**{c: got[c].astype(str) for c in keys}).sort_values(keys).reset_index(drop=True)
    expected = expected.assign(**{c: expected[c].astype(str) for c in keys}).sort_values(keys).reset_index(drop=True)
    assert got[keys].equals(expected[keys])
    assert got["safe"].astype(bool).tolist() == expected["safe"].astype(bool).tolist()
    assert np.array_equal(got["n"].to_numpy(float), expected["n"].to_numpy(float))


def test_slice_cells_match_the_frame_based_count(tmp_path):
    with make_store(tmp_path / "s.duckdb") as store:
        org = load_panel(store, LOCAL, ["cbi_work", "ucla3_loneliness"], 1)
        attendance = load_attendance(store, LOCAL)
        for k in (5, 10):
            atoms = partition(org, k)
            chosen_sites = tuple(sorted(atoms.sites))[:1]
            for slice_ in (Slice(), Slice(sites=chosen_sites), Slice(roles=tuple(sorted(atoms.roles))[:2]),
                           Slice(sites=chosen_sites, roles=tuple(sorted(atoms.roles))[:1])):
                cells = slice_cells(org, attendance, ["cbi_work", "ucla3_loneliness"], slice_, atoms, k)
                answers, pairs = _reference_slice_cells(org, ["cbi_work", "ucla3_loneliness"], slice_, atoms, k)
                _same(cells.answers, answers, ["outcome", "wave", "site", "group"])
                _same(cells.pairs, pairs, ["outcome", "wave", "group", "dose_band"])
