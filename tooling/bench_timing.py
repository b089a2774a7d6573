"""Timing helpers the bench's stages share (:mod:`tooling.bench`, :mod:`tooling.bench_pages`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

#: A stage stops repeating once it has spent this long (it always runs at least once),
#: so the 1M-row run stays within about ten minutes.
STAGE_BUDGET_SECONDS = 75.0
WARM_REPEATS = 25


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def repeat_runs(action: Callable[[int], Any], repeats: int,
                budget: float = STAGE_BUDGET_SECONDS) -> list[float]:
    """Run ``action(i)`` up to ``repeats`` times (at least once, then while in budget)."""
    runs: list[float] = []
    spent = 0.0
    for i in range(repeats):
        seconds, _ = timed(lambda i=i: action(i))
        runs.append(seconds)
        spent += seconds
        if spent + seconds > budget:
            break
    return runs
