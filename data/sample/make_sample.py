"""Write the seeded demo data: survey.csv, attendance.csv, truth.json and TRUTH.md.

Usage::

    python data/sample/make_sample.py [--out DIR] [--seed N]

The model and the true effects are documented in :mod:`tooling.synthetic` and in the
TRUTH.md this script writes.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the repository root, when run as a script

from tooling.synthetic import SyntheticConfig, generate, write_csv  # noqa: E402
from tooling.synthetic_truth import write_truth  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=SyntheticConfig().seed,
                        help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    data = generate(replace(SyntheticConfig(), seed=args.seed))
    paths = [*write_csv(data, args.out), *write_truth(data, args.out)]
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
