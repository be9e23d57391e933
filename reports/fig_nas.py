"""Figures of `scnas search` runs (InheritedNAS and its baselines).

The results.json they read (written by nas/):
  {"method": str (e.g. "inheritednas-latency", "inheritednas-flops", "darts", "random"),
   "seed": int, "dataset": str, "accel": str,
   "candidates": [{"accuracy": float, "latency_s": float}],   # networks evaluated in the search
   "final": {"accuracy": float, "latency_s": float, ...},      # the derived, retrained network
   "stages": [{"name": str, "ops": [str, ...],                 # ops chosen per stage
               "edges": [[from, to, op], ...]}]}                # its live edges (drawn as a DAG)
Runs with the same method and different seeds are drawn as one front.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np

from reports.figure import Figure
from reports.plots import read_results, save_run_pngs
from reports.style import distinct_colors, marker
from reports.units import label, method_name

__all__ = ["pareto_front", "pareto", "ops_per_stage", "derived_network", "nas_figures", "plot_search"]


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
    cols = dict(zip(methods, distinct_colors(len(methods))))
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    rows = []
    for i, m in enumerate(methods):
        mine = [(run, r) for run, r in runs if r["method"] == m]
        pts = [(c["latency_s"], c["accuracy"]) for _, r in mine for c in r.get("candidates", [])]
        pts += [(r["final"]["latency_s"], r["final"]["accuracy"]) for _, r in mine]
        ax.plot([1e6 * p[0] for p in pts], [100 * p[1] for p in pts], ".", color=cols[m], alpha=0.35, ms=4)
        front = pareto_front(pts)
        ax.plot([1e6 * p[0] for p in front], [100 * p[1] for p in front], "-", drawstyle="steps-post",
                color=cols[m], marker="", label=f"{method_name(m)} front")
        for run, r in mine:
            f = r["final"]
            ax.plot(1e6 * f["latency_s"], 100 * f["accuracy"], marker(i), color=cols[m], ms=9, mec="black")
            rows.append({"method": m, "run": run, "seed": r.get("seed"), "point": "final",
                         "latency_s": f["latency_s"], "accuracy": f["accuracy"]})
        rows += [{"method": m, "point": "front", "latency_s": p[0], "accuracy": p[1]} for p in front]
    ax.set_xscale("log")
    ax.set_xlabel(label("latency_s", "estimated latency"))
    ax.set_ylabel("top-1 accuracy (%)")
    ax.legend()
    title = "Architecture search: accuracy against estimated latency per method"
    ax.set_title(title)
    return Figure("nas-pareto", title, fig, ["method", "run", "seed", "point", "latency_s", "accuracy"], rows,
                  "Small points: candidates as the search scored them (before the final retraining, on "
                  "held-out training images); lines: each method's Pareto front over its seeds; large "
                  "markers: each seed's final, retrained network (test accuracy).", series=cols)


def ops_per_stage(run: str, r: dict) -> Figure:
    """How often each op was chosen in each stage of one run's derived network (a heat map)."""
    stages = r["stages"]
    ops = sorted({op for s in stages for op in s["ops"]})
    counts = np.array([[Counter(s["ops"])[op] for s in stages] for op in ops])
    size = (min(24.0, max(5.5, 1.1 * len(stages) + 4.2)), min(24.0, max(3.2, 0.4 * len(ops) + 1.8)))
    fig, ax = plt.subplots(figsize=size)
    top = max(1, int(counts.max()))  # a fixed 0..max scale: one op or equal counts still read as counts
    im = ax.imshow(counts, cmap="cividis", aspect="auto", vmin=0, vmax=top)
    ax.set_xticks(range(len(stages)), [s["name"] for s in stages])
    ax.set_yticks(range(len(ops)), ops)
    ax.grid(False)
    for (y, x), v in np.ndenumerate(counts):
        ax.text(x, y, str(v), ha="center", va="center", color="white" if v < top / 2 else "black")
    bar = fig.colorbar(im, ax=ax, fraction=0.08, pad=0.04, ticks=range(0, top + 1, max(1, top // 5)))
    bar.set_label("times chosen (edges)", labelpad=6)
    ax.set_xlabel("stage")
    title = f"{run} ({r['method']}): operations chosen per stage"
    ax.set_title(title)
    rows = [{"stage": s["name"], "op": op, "count": int(Counter(s["ops"])[op])} for s in stages for op in ops]
    return Figure(f"nas-ops-{run}", title, fig, ["stage", "op", "count"], rows,
                  "Fine-grained search lets each stage pick its own operations.")


def _layered_positions(g: nx.DiGraph) -> dict:
    """Left-to-right positions: x = longest path from the input, nodes of one x spread in y."""
    depth = {n: 0 for n in g}
    for n in nx.topological_sort(g):
        for m in g.successors(n):
            depth[m] = max(depth[m], depth[n] + 1)
    cols: dict[int, list] = {}
    for n in g:
        cols.setdefault(depth[n], []).append(n)
    return {n: (d, i - (len(ns) - 1) / 2) for d, ns in cols.items() for i, n in enumerate(sorted(ns))}


def derived_network(run: str, r: dict) -> Figure:
    """The derived network drawn per stage: one DAG per stage, edges labelled with their op."""
    stages = [s for s in r["stages"] if s.get("edges")]
    fig, axes = plt.subplots(len(stages), 1, figsize=(9.0, 2.4 * len(stages)), squeeze=False)
    ops = sorted({e[2] for s in stages for e in s["edges"]})
    cols = dict(zip(ops, distinct_colors(len(ops))))
    rows = []
    for ax, st in zip(axes[:, 0], stages):
        g = nx.DiGraph()
        for a, b, op in st["edges"]:
            g.add_edge(a, b, op=op)
            rows.append({"stage": st["name"], "from": a, "to": b, "op": op})
        pos = _layered_positions(g)
        for a, b, d in g.edges(data=True):
            (x0, y0), (x1, y1) = pos[a], pos[b]
            c = cols[d["op"]]
            rad = 0.0 if abs(y0 - y1) > 1e-9 or x1 - x0 == 1 else 0.35
            ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "-|>", "color": c, "lw": 1.6,
                                                            "connectionstyle": f"arc3,rad={rad}",
                                                            "shrinkA": 9, "shrinkB": 9})
            sag = -rad * 0.5 * (x1 - x0)  # an arc3 bend of +rad runs below a left-to-right chord
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + sag, d["op"], color=c, fontsize=8, ha="center",
                    va="top" if sag < 0 else "bottom")
        for n, (x, y) in pos.items():
            ax.plot(x, y, "o", ms=13, color="white", mec="black", zorder=3)
            ax.text(x, y + 0.18, n, ha="center", va="bottom", fontsize=7)
        xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
        ax.set_xlim(min(xs) - 0.4, max(xs) + 0.4)
        ax.set_ylim(min(ys) - 1.0, max(ys) + 0.6)
        ax.set_title(st["name"], fontsize=9, loc="left")
        ax.set_axis_off()
    title = f"{run} ({r['method']}): the derived network, stage by stage"
    fig.suptitle(title, fontsize=10)
    return Figure(f"nas-network-{run}", title, fig, ["stage", "from", "to", "op"], rows,
                  "Nodes: cell inputs and intermediate nodes (cK.nJ = cell K, node J); arrows: the ops kept.",
                  series=cols)


def nas_figures(runs: list[tuple[str, dict]]) -> list[Figure]:
    """The Pareto figure over all search runs, and the op map and network drawing of each run
    that lists its stages."""
    figs = [pareto(runs)] + [ops_per_stage(run, r) for run, r in runs
                             if any(s["ops"] for s in r.get("stages") or [])]
    return figs + [derived_network(run, r) for run, r in runs if any(s.get("edges") for s in r.get("stages") or [])]


def plot_search(results: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """pareto.png, ops_RUN.png and network_RUN.png next to results.json (or in out_dir): what
    `scnas search` draws into its run directory."""
    res, out = read_results(results, out_dir)
    return save_run_pngs(nas_figures([(Path(results).parent.name, res)]), "nas", out)
