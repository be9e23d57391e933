"""Timing, reporting, data and model helpers shared by the benchmarks."""

from __future__ import annotations

import json
import platform
import statistics
import time
from typing import Callable

import numpy as np
import torch

from sc_accel.graph import Layer, trace
from sc_accel.seeds import seeded
from scnas.commands.teacher import cached_teacher
from scnas.data import load_dataset
from scnas.train import load_model
from scnas.zoo import create_model


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


def timed_rate(fn: Callable[[int], object], work_per_rep: float, min_seconds: float = 0.05,
               repeats: int = 7, max_seconds: float = 2.0) -> dict:
    """Rate (work units / s) of fn(reps) over `repeats` calls. Each call is sized to last at
    least `min_seconds` (at most `max_seconds`, unless one repetition alone is longer) and to
    keep a fixed per-call cost (thread wake-up, which a busy neighbour can stretch to
    milliseconds) under 5% of the call. The size comes from the marginal cost of a repetition
    (two call sizes), not from one call's time, which such a cost can dominate; a timed call
    that still falls short of `min_seconds` (the cost varied) grows the size and is timed again.
    Rates are work over each call's whole time. Returns best, median and worst rate, seconds per
    call, reps and the per-call overhead found."""
    min_seconds = min(min_seconds, max_seconds)
    reps, overhead = _sized_reps(fn, min_seconds, max_seconds)
    secs: list[float] = []
    while len(secs) < repeats:
        dt = _call_seconds(fn, reps)
        if dt < min_seconds and not secs and reps < 1 << 40:  # too short: the first call decides
            grow = min(max(2.0, 1.25 * min_seconds / max(dt, 1e-9)), max_seconds / max(dt, 1e-9))
            reps = max(reps + 1, int(reps * grow))
            continue
        secs.append(dt)
    rates = [reps * work_per_rep / dt for dt in secs]
    return {"best": max(rates), "median": statistics.median(rates), "worst": min(rates),
            "seconds_per_call": statistics.median(secs), "reps": reps, "overhead_seconds": overhead}


def _sized_reps(fn: Callable[[int], object], min_seconds: float, max_seconds: float) -> tuple[int, float]:
    """(reps, the fixed seconds per call) from calls growing 2-8x until one is long
    and the time scales with reps (or a call reaches half of max_seconds)."""
    reps, prev, prev_reps = 1, None, 1
    while True:
        dt = _call_seconds(fn, reps)
        scaling = prev is not None and dt - prev >= 0.5 * (reps - prev_reps) / reps * dt
        if (dt >= min_seconds / 10 and scaling) or dt >= max_seconds / 2 or reps >= 1 << 40:
            break
        grow = max(2, min(8, int(max_seconds / 2 / max(dt, 1e-9))))
        prev, prev_reps, reps = dt, reps, reps * grow
    per_rep = (dt - prev) / (reps - prev_reps) if prev is not None and dt > prev else dt / reps
    overhead = max(0.0, dt - reps * per_rep)
    want = min(max(1.25 * min_seconds, 20 * overhead), max_seconds)
    return max(1, int(want / max(per_rep, 1e-12))), overhead


def _call_seconds(fn: Callable[[int], object], reps: int) -> float:
    t0 = time.perf_counter()
    fn(reps)
    return time.perf_counter() - t0


def ceiling_checked(share: float, what: str) -> bool:
    """Whether a share of the tile ceiling can be true (at most 1). Above 1 the ceiling was
    measured wrong (the machine was busy while it ran, say): a line says so, instead of a share
    of thousands of percent passing as a result, and no target built on it is met."""
    if share <= 1.0:
        return True
    print(f"warning: {what} is {share:.1%} of the tile ceiling, above 100%, which is impossible: the ceiling "
          "measurement failed (a busy machine?), so the share-of-ceiling targets count as not met.")
    return False


def cpu_name() -> str:
    """The CPU's model name (Linux /proc/cpuinfo, else platform)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def data(n: int, calib: int = 1000) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, str]:
    """(first n test images, their labels or None, first `calib` training images, source name):
    Fashion-MNIST when installed, else random images of its shape (the work per image is the same)."""
    try:
        ds = load_dataset("fashion-mnist")
        return ds.x_test[:n], ds.y_test[:n], ds.x_train[:calib], "fashion-mnist"
    except FileNotFoundError:
        rng = np.random.default_rng(0)
        return (rng.random((n, 1, 28, 28), dtype=np.float32), None,
                rng.random((calib, 1, 28, 28), dtype=np.float32), "random images")


def model_of(name: str = "lenet5") -> tuple[torch.nn.Module, str]:
    """The cached Fashion-MNIST teacher of a zoo model when there is one, else the model untrained."""
    teacher = cached_teacher(name, "fashion-mnist")
    if (teacher / "model.pt").exists():
        return load_model(teacher)[0], "trained teacher"
    with seeded(0):  # the same untrained weights every run, the caller's generator untouched
        return create_model(name, 1, 10, 28).eval(), "untrained"


def bit_macs(layer: Layer, length: int) -> int:
    """Bit-MACs of one image through a MAC layer at L (0 for any other layer)."""
    if layer.op not in ("conv", "linear"):
        return 0
    w = layer.attrs["weight"]
    return int(np.prod(layer.shape)) * int(np.prod(w.shape[1:])) * length


def macs_per_image(model: torch.nn.Module) -> int:
    """Multiply-accumulates of one image through the conv and linear layers."""
    return sum(bit_macs(l, 1) for l in trace(model, torch.zeros(2, 1, 28, 28)).layers)
