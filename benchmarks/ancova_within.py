"""ANCOVA time with site absorbed by demeaning versus site dummy columns + SVD of the whole design.

    python benchmarks/ancova_within.py --people 100000 --sites 200

Prints seconds for each (median of 3) and checks both give the same estimate and SE.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.stats.causal import ancova
from analysis.stats.regression import covariate_design, full_rank, one_blas_thread, robust_fit


def make_panel(people: int, sites: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    site = rng.integers(0, sites, people)
    role = rng.integers(0, 4, people)
    level = rng.normal(0, 3, sites)[site] + rng.normal(0, 8, people)
    joined = rng.random(people) < 0.4
    frames = []
    for label, index in (("base", 0), ("follow", 1)):
        frames.append(
            pd.DataFrame(
                {
                    "person": np.arange(people),
                    "wave": label,
                    "wave_index": index,
                    "site": pd.Categorical([f"s{k:04d}" for k in site]),
                    "role": pd.Categorical([f"r{k}" for k in role]),
                    "sessions": joined * index * 3,
                    "participant": joined & (index == 1),
                    "cbi_work": 40 + level + rng.normal(0, 5, people) - 3 * joined * index,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def dummy_fit(panel: pd.DataFrame) -> tuple[float, float]:
    """The former way: every site a dummy column, SVD of the whole design."""
    wide = panel.pivot(index="person", columns="wave", values="cbi_work")
    follow = panel.loc[panel["wave_index"] == 1].set_index("person")
    pairs = pd.DataFrame(
        {
            "group": follow["participant"].astype(float),
            "baseline": wide["base"],
            "site": follow["site"],
            "role": follow["role"],
        }
    )
    dummies, _, _ = covariate_design(pairs, ("site", "role"))
    design = np.column_stack(
        [np.ones(len(pairs)), pairs[["group", "baseline"]].to_numpy(), dummies.to_numpy()]
    )
    _, svd = full_rank(design)
    fit = robust_fit(wide["follow"].to_numpy(), design, "HC3", svd=svd)
    return float(fit.params[1]), float(np.sqrt(fit.cov[1, 1]))


def timed(function, *args) -> tuple[float, object]:
    times, result = [], None
    for _ in range(3):
        start = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--skip-dummies", action="store_true")
    args = parser.parse_args()
    one_blas_thread()
    panel = make_panel(args.people, args.sites)
    within_s, est = timed(ancova, panel, "cbi_work", "follow")
    print(f"within (absorbed site): {within_s:.2f} s  estimate {est.estimate:.6f} se {est.get('se'):.6f}")
    if not args.skip_dummies:
        dummy_s, (value, se) = timed(dummy_fit, panel)
        print(f"site dummies + SVD:     {dummy_s:.2f} s  estimate {value:.6f} se {se:.6f}")
        print(f"speed-up {dummy_s / within_s:.1f}x; same numbers: {abs(value - est.estimate) < 1e-8}")


if __name__ == "__main__":
    main()
