"""Timing and reporting helpers shared by the benchmarks."""

from __future__ import annotations

import json
import time
from typing import Callable


def best_time(fn: Callable[[], object], repeats: int = 3) -> float:
    """Best wall time of `repeats` calls (after the caller's warm-up), in seconds."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    """Fixed-width table on stdout."""
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))


def print_result(name: str, figures: dict, targets: dict, met: bool) -> None:
    """The closing JSON line every benchmark prints last."""
    print(json.dumps({"benchmark": name, "figures": figures, "targets": targets, "met": bool(met)}))
