"""Bias and 95% coverage of each estimator in each simulated situation (tooling.simulate_programs).

    python benchmarks/causal_simulation.py                       # 30 data sets of 600 and of 1,500
    python benchmarks/causal_simulation.py --seeds 40 --sizes 600

Prints a markdown table: per situation × estimator × follow-up wave, the mean error
(estimate minus the true effect on the did row's people), the share of 95% intervals
that cover it, and the share of data sets that returned an estimate. ``did`` is the
group-time row; ``did_2x2`` is the earlier pooled DiD (participants at the wave,
early joiners included) kept for contrast; ``ancova`` the baseline-adjusted difference
(it targets all participants at the wave, early joiners included).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.panel.index import PanelIndex
from analysis.stats.causal import ancova, did
from analysis.stats.dr_did import weighted_did
from analysis.stats.group_time import did_at_wave
from analysis.stats.regression import one_blas_thread
from tooling.simulate_programs import OUTCOME, SITUATIONS, scaled, simulate

ESTIMATORS = {
    "did": lambda p, w, i: did_at_wave(p, OUTCOME, w, index=i),
    "did_2x2": lambda p, w, i: did(p, OUTCOME, w, index=i),
    "ancova": lambda p, w, i: ancova(p, OUTCOME, w, index=i),
    "ipw": lambda p, w, i: weighted_did(p, OUTCOME, w, method="ipw", index=i),
    "dr_did": lambda p, w, i: weighted_did(p, OUTCOME, w, method="dr", index=i),
}


def run(seeds: int, size: int) -> list[dict[str, object]]:
    rows = []
    for name, situation in SITUATIONS.items():
        records: dict[tuple[str, str], list[tuple[float, float, bool]]] = {}
        for seed in range(seeds):
            data = simulate(scaled(situation, size), 1000 * size + seed)
            index = PanelIndex(data.panel)
            for wave, truth in data.truth.items():
                for estimator, fit in ESTIMATORS.items():
                    est = fit(data.panel, wave, index)
                    got = est.estimate is not None and est.ci_low is not None
                    error = est.estimate - truth if got else np.nan
                    covered = float(est.ci_low <= truth <= est.ci_high) if got else np.nan
                    records.setdefault((estimator, wave), []).append((error, covered, est.ok))
        for (estimator, wave), values in records.items():
            errors = np.array([v[0] for v in values], dtype=float)
            covered = np.array([v[1] for v in values], dtype=float)
            rows.append(
                {
                    "n": size,
                    "situation": name,
                    "estimator": estimator,
                    "wave": wave,
                    "mean_error": float(np.nanmean(errors)) if np.isfinite(errors).any() else np.nan,
                    "rmse": float(np.sqrt(np.nanmean(errors**2))) if np.isfinite(errors).any() else np.nan,
                    "coverage": float(np.nanmean(covered)) if np.isfinite(covered).any() else np.nan,
                    "returned": float(np.isfinite(errors).mean()),
                    "credible": float(np.mean([v[2] for v in values])),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--sizes", default="600,1500")
    args = parser.parse_args()
    one_blas_thread()
    print("| n | situation | estimator | wave | mean error | RMSE | coverage | returned | ok |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        started = time.perf_counter()
        for row in run(args.seeds, size):
            print(
                "| {n} | {situation} | {estimator} | {wave} | {mean_error:+.2f} | {rmse:.2f} "
                "| {coverage:.0%} | {returned:.0%} | {credible:.0%} |".format(**row),
                flush=True,
            )
        print(f"<!-- {args.seeds} data sets of {size}: {time.perf_counter() - started:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
