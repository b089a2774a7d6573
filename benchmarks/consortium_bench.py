"""How combine scales with the number of organizations (issue 18).

    python benchmarks/consortium_bench.py BUNDLE.zip [--organizations 100,300,1000]

Verifying and reading is per bundle, so it is timed on the real bundle given (median of
20 reads). Pooling is timed on that bundle's estimates copied to N organizations, each
estimate shifted by a seeded normal draw and each standard error scaled by a uniform
(0.6-1.6) draw (so every group has k = N and tau² > 0): the
same ``combine`` that ``python -m analysis combine`` runs, with leave-one-out (k fits of
k - 1 organizations per group) and Egger's test and meta-regression where k allows.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from analysis.reporting import consortium


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--organizations", default="100,300,1000")
    args = parser.parse_args()
    data = args.bundle.read_bytes()
    reads = []
    for _ in range(20):
        start = time.perf_counter()
        bundle = consortium.read_bundle(data, args.bundle.name)
        reads.append(time.perf_counter() - start)
    print(f"verify + read one bundle ({len(data) / 1024:.0f} KiB): "
          f"{1000 * statistics.median(reads):.1f} ms")
    rng = np.random.default_rng(18)
    for n in (int(x) for x in args.organizations.split(",")):
        bundles = []
        for i in range(n):
            rows = len(bundle.estimates)
            shifted = bundle.estimates.assign(
                estimate=bundle.estimates["estimate"] + rng.normal(0, 1, rows),
                std_error=bundle.estimates["std_error"] * rng.uniform(0.6, 1.6, rows))
            bundles.append(replace(bundle, fingerprint=f"{i:064x}", estimates=shifted,
                                   program_type=("group", "online", "mixed")[i % 3],
                                   size_band=("under 50", "50-199")[i % 2]))
        start = time.perf_counter()
        result = consortium.combine(bundles)
        seconds = time.perf_counter() - start
        print(f"{n} organizations: {len(result.pooled)} groups pooled (k = {n}) with leave-one-out, "
              f"Egger and meta-regression in {seconds:.1f} s")


if __name__ == "__main__":
    main()
