"""Timing shared by the benchmarks: the first call (compilation included) apart from the rest."""

from __future__ import annotations

import time
from typing import Any, Callable


def timed(fn: Callable[[], Any], repeats: int) -> tuple[Any, float, list[float]]:
    """Call ``fn`` once (timed apart: it compiles), then ``repeats`` more times.

    Returns (the first call's result, its seconds, the seconds of each later call).
    """
    start = time.perf_counter()
    first = fn()
    first_s = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return first, first_s, times
