"""Figures of `scnas search` runs (InheritedNAS and its baselines).

The results.json they read (written by nas/):
  {"method": str (e.g. "inheritednas-latency", "inheritednas-flops", "darts", "random"),
   "seed": int, "dataset": str, "accel": str,
   "candidates": [{"accuracy": float, "latency_s": float}],   # networks evaluated in the search
   "final": {"accuracy": float, "latency_s": float, ...},      # the derived, retrained network
   "stages": [{"name": str, "ops": [str, ...]}]}               # ops chosen per stage
Runs with the same method and different seeds are drawn as one front.
"""

from __future__ import annotations

from collections import Counter

import matplotlib.pyplot as plt
import numpy as np

from reports.figure import Figure
from reports.style import color, marker

__all__ = ["pareto_front", "pareto", "ops_per_stage", "nas_figures"]


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (latency, accuracy) points no other point beats on both (lower latency, higher
    accuracy), sorted by latency."""
    front, best = [], -np.inf
    for lat, acc in sorted(points, key=lambda p: (p[0], -p[1])):
        if acc > best:
            front.append((lat, acc))
            best = acc
    return front


def pareto(runs: list[tuple[str, dict]]) -> Figure:
    """Accuracy against estimated latency: candidates as small points, each method's front over
    all its seeds as a line, each seed's final network as a large marker."""
    methods = sorted({r["method"] for _, r in runs})
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    rows = []
    for i, m in enumerate(methods):
        mine = [(run, r) for run, r in runs if r["method"] == m]
        pts = [(c["latency_s"], c["accuracy"]) for _, r in mine for c in r.get("candidates", [])]
        pts += [(r["final"]["latency_s"], r["final"]["accuracy"]) for _, r in mine]
        ax.plot([1e6 * p[0] for p in pts], [100 * p[1] for p in pts], ".", color=color(i), alpha=0.35, ms=4)
        front = pareto_front(pts)
        ax.plot([1e6 * p[0] for p in front], [100 * p[1] for p in front], "-", drawstyle="steps-post",
                color=color(i), marker="", label=f"{m} front")
        for run, r in mine:
            f = r["final"]
            ax.plot(1e6 * f["latency_s"], 100 * f["accuracy"], marker(i), color=color(i), ms=9, mec="black")
            rows.append({"method": m, "run": run, "seed": r.get("seed"), "point": "final",
                         "latency_s": f["latency_s"], "accuracy": f["accuracy"]})
        rows += [{"method": m, "point": "front", "latency_s": p[0], "accuracy": p[1]} for p in front]
    ax.set_xscale("log")
    ax.set_xlabel("estimated latency (us)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.legend()
    title = "Architecture search: accuracy against estimated latency per method"
    ax.set_title(title)
    return Figure("nas-pareto", title, fig, ["method", "run", "seed", "point", "latency_s", "accuracy"], rows,
                  "Small points: candidates; lines: each method's Pareto front over its seeds; "
                  "large markers: each seed's final network.")


def ops_per_stage(run: str, r: dict) -> Figure:
    """How often each op was chosen in each stage of one run's derived network (a heat map)."""
    stages = r["stages"]
    ops = sorted({op for s in stages for op in s["ops"]})
    counts = np.array([[Counter(s["ops"])[op] for s in stages] for op in ops])
    size = (min(24.0, max(4.5, 1.1 * len(stages) + 3)), min(24.0, max(3.0, 0.4 * len(ops) + 1.5)))
    fig, ax = plt.subplots(figsize=size)
    im = ax.imshow(counts, cmap="cividis", aspect="auto")
    ax.set_xticks(range(len(stages)), [s["name"] for s in stages])
    ax.set_yticks(range(len(ops)), ops)
    ax.grid(False)
    for (y, x), v in np.ndenumerate(counts):
        ax.text(x, y, str(v), ha="center", va="center", color="white" if v < counts.max() / 2 else "black")
    fig.colorbar(im, ax=ax, label="times chosen")
    ax.set_xlabel("stage")
    title = f"{run} ({r['method']}): operations chosen per stage"
    ax.set_title(title)
    rows = [{"stage": s["name"], "op": op, "count": int(Counter(s["ops"])[op])} for s in stages for op in ops]
    return Figure(f"nas-ops-{run}", title, fig, ["stage", "op", "count"], rows,
                  "Fine-grained search lets each stage pick its own operations.")


def nas_figures(runs: list[tuple[str, dict]]) -> list[Figure]:
    """The Pareto figure over all search runs and the op map of each run that lists stages."""
    return [pareto(runs)] + [ops_per_stage(run, r) for run, r in runs
                             if any(s["ops"] for s in r.get("stages") or [])]
