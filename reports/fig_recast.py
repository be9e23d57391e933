"""Figures of `scnas recast` runs (block-wise network recasting).

The results.json they read (written by recast/):
  {"teacher": str, "dataset": str, "plan": str, "seed": int,
   "models": [{"name": str, "role": "teacher" | "student" | "baseline", "accuracy": float,
               "params": int, "macs": int, "activation_bytes": int, "cpu_latency_s": float,
               "latency_s": {"binary": float, "sc": float}, "energy_pj": {...}}],
   "block_history": [{"block": int, "epoch": int, "loss": float}]}
Several runs (seeds, plans) are drawn together; the teacher of each run is its reference.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from reports.figure import Figure
from reports.plots import read_results, save_run_pngs
from reports.stats import mean_std
from reports.style import distinct_colors, marker
from reports.units import label as unit_label
from reports.tables import recast_rows

__all__ = ["accuracy_vs_latency", "reduction_vs_speedup", "matching_loss", "seed_summary", "recast_figures",
           "plot_recast"]

_ROLES = ("teacher", "student", "baseline")


def accuracy_vs_latency(runs: list[tuple[str, dict]]) -> Figure:
    """Accuracy against estimated latency on each scored accelerator kind; colour = model,
    marker = role (teacher, recast student, baseline)."""
    kinds = sorted({k for _, r in runs for m in r["models"] for k in m["latency_s"]})
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.6 * len(kinds), 4.2), squeeze=False)
    names = sorted({m["name"] for _, r in runs for m in r["models"]})
    cols = dict(zip(names, distinct_colors(len(names))))
    rows = []
    for ax, kind in zip(axes[0], kinds):
        for run, r in runs:
            for m in r["models"]:
                ax.plot(1e6 * m["latency_s"][kind], 100 * m["accuracy"], marker(_ROLES.index(m["role"])),
                        color=cols[m["name"]], ms=8, ls="")
                rows.append({"run": run, "model": m["name"], "role": m["role"], "accel_kind": kind,
                             "latency_s": m["latency_s"][kind], "accuracy": m["accuracy"]})
        ax.set_xscale("log")
        ax.set_xlabel(unit_label("latency_s", f"estimated latency on the {kind} preset"))
        ax.set_ylabel("top-1 accuracy (%)")
    _legend(axes[0][0], [("o", {"color": cols[n]}, n) for n in names]
            + [(marker(j), {"color": "0.4"}, role) for j, role in enumerate(_ROLES)])
    title = "Recasting: accuracy against estimated latency"
    fig.suptitle(title)
    return Figure("recast-accuracy-vs-latency", title, fig,
                  ["run", "model", "role", "accel_kind", "latency_s", "accuracy"], rows,
                  "Up and to the left is better; each point is one model of one run.", series=cols)


def reduction_vs_speedup(runs: list[tuple[str, dict]]) -> Figure:
    """Parameter and activation reduction against measured CPU speed-up, both relative to the
    run's teacher: pruning cuts parameters without a matching speed-up, recasting should not."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    rows = []
    for run, r in runs:
        t = next(m for m in r["models"] if m["role"] == "teacher")
        for m in r["models"]:
            if m is t:
                continue
            row = {"run": run, "model": m["name"], "role": m["role"],
                   "param_reduction": t["params"] / m["params"],
                   "activation_reduction": t["activation_bytes"] / m["activation_bytes"],
                   "measured_speedup": t["cpu_latency_s"] / m["cpu_latency_s"]}
            rows.append(row)
    names = sorted({r["model"] for r in rows})
    cols = dict(zip(names, distinct_colors(len(names))))
    for row in rows:
        ax.plot(row["param_reduction"], row["measured_speedup"], "o", color=cols[row["model"]], ms=8)
        ax.plot(row["activation_reduction"], row["measured_speedup"], "^", color=cols[row["model"]], mfc="white",
                ms=8)
    lim = max([1.0] + [max(r["param_reduction"], r["activation_reduction"], r["measured_speedup"]) for r in rows])
    ax.plot([1, lim], [1, lim], color="0.6", ls=":", marker="", lw=1, label="speed-up = reduction")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("reduction against the teacher (x)")
    ax.set_ylabel("measured CPU speed-up (x)")
    _legend(ax, [("s", {"color": cols[n]}, n) for n in names]
            + [("o", {"color": "0.4"}, "parameter reduction"),
               ("^", {"color": "0.4", "mfc": "white"}, "activation reduction")])
    title = "Recasting: what the reduction buys in measured speed"
    ax.set_title(title)
    return Figure("recast-reduction-vs-speedup", title, fig,
                  ["run", "model", "role", "param_reduction", "activation_reduction", "measured_speedup"], rows,
                  "Points below the dotted line save less time than their parameter or activation cut suggests.",
                  series=cols)


def matching_loss(runs: list[tuple[str, dict]]) -> Figure:
    """MSE matching loss per block over its epochs, one line per block (and run)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    rows = []
    all_blocks = sorted({h["block"] for _, r in runs for h in r["block_history"]})
    cols = {f"block {b}": c for b, c in zip(all_blocks, distinct_colors(len(all_blocks)))}
    for k, (run, r) in enumerate(runs):
        blocks = sorted({h["block"] for h in r["block_history"]})
        for b in blocks:
            pts = sorted((h["epoch"], h["loss"]) for h in r["block_history"] if h["block"] == b)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], color=cols[f"block {b}"], marker=marker(k),
                    label=f"{run} block {b}" if len(runs) > 1 else f"block {b}")
            rows += [{"run": run, "block": b, "epoch": e, "loss": v} for e, v in pts]
    ax.set_yscale("log")
    ax.set_xlabel("epoch of the block's matching step")
    ax.set_ylabel("feature matching loss (MSE of activations)")
    ax.legend(ncols=2)
    title = "Recasting: matching loss per block"
    ax.set_title(title)
    return Figure("recast-matching-loss", title, fig, ["run", "block", "epoch", "loss"], rows,
                  "Each block's student is trained to reproduce the teacher's activation after the next block.",
                  series=cols)


def seed_summary(runs: list[tuple[str, dict]]) -> Figure:
    """Mean ± std over seeds of accuracy and estimated latency (binary and SC presets) per
    plan and model kind (teacher, recast student, each baseline); the page shows the table."""
    groups = recast_rows([r for _, r in runs])
    kinds = list(dict.fromkeys(g["kind"] for g in groups))
    plans = list(dict.fromkeys(g["plan"] for g in groups))
    cols = dict(zip(kinds, distinct_colors(len(kinds))))
    panels = [("accuracy", 100, "accuracy (%)")] + [
        (k, 1e6, unit_label("latency_s", f"estimated latency, {k.split('_')[1]} preset"))
        for k in ("latency_binary_s", "latency_sc_s")
        if all(k in g["columns"] for g in groups)]
    fig, axes = plt.subplots(1, len(panels), figsize=(min(24.0, 2.2 + 1.4 * len(plans) * len(panels)), 4.2),
                             squeeze=False)
    w = 0.8 / len(kinds)
    for ax, (key, scale, label) in zip(axes[0], panels):
        for j, kind in enumerate(kinds):
            by_plan = {g["plan"]: g["columns"][key] for g in groups if g["kind"] == kind}
            vals = [by_plan.get(p, []) for p in plans]
            ax.bar(np.arange(len(plans)) + j * w, [scale * statistics.fmean(v) if v else np.nan for v in vals], w,
                   yerr=[scale * mean_std(v)[1] if v else 0 for v in vals], color=cols[kind], label=kind, capsize=3)
        ax.set_xticks(np.arange(len(plans)) + 0.4 - w / 2, plans)
        ax.set_ylabel(label)
        if key == "accuracy":
            lo = min(100 * min(g["columns"]["accuracy"]) for g in groups)
            ax.set_ylim(max(0.0, lo - 5), 100)
    axes[0][0].legend(ncols=2)
    rows = []
    for g in groups:
        c = g["columns"]
        rows.append({"plan": g["plan"], "model": g["kind"], "seeds": len(g["seeds"]),
                     "accuracy_mean": statistics.fmean(c["accuracy"]), "accuracy_std": mean_std(c["accuracy"])[1],
                     "params": int(statistics.fmean(c["params"])), "macs": int(statistics.fmean(c["macs"])),
                     **{f"{k}_mean": statistics.fmean(c[k]) for k in ("latency_binary_s", "latency_sc_s",
                                                                       "cpu_latency_s") if k in c}})
    title = "Recasting over seeds: accuracy and estimated latency (mean ± std)"
    fig.suptitle(title)
    cols_ = ["plan", "model", "seeds", "accuracy_mean", "accuracy_std", "params", "macs", "latency_binary_s_mean",
            "latency_sc_s_mean", "cpu_latency_s_mean"]
    return Figure("recast-seed-summary", title, fig, cols_, rows,
                  "Error bars are the sample standard deviation over the runs (seeds) of each plan.", show_table=True,
                  series=cols)


def _legend(ax, entries: list[tuple[str, dict, str]]) -> None:
    """A two-column legend of marker-only entries (fmt, style, label): the figures' points are
    drawn one by one, so their legend is built from these proxies (plus any labelled lines)."""
    for fmt, style, label in entries:
        ax.plot([], [], fmt, label=label, **style)
    ax.legend(ncols=2)


def recast_figures(runs: list[tuple[str, dict]]) -> list[Figure]:
    """All recasting figures over the given (run name, results) pairs."""
    figs = [accuracy_vs_latency(runs), reduction_vs_speedup(runs)]
    if any(r.get("block_history") for _, r in runs):
        figs.append(matching_loss(runs))
    if len(runs) > 1:
        figs.append(seed_summary(runs))
    return figs


def plot_recast(results: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """accuracy_vs_latency.png, reduction_vs_speedup.png and matching_loss.png next to
    results.json (or in out_dir): what `scnas recast` draws into its run directory."""
    res, out = read_results(results, out_dir)
    return save_run_pngs(recast_figures([(Path(results).parent.name, res)]), "recast", out)
