"""Figures of `scnas dse` runs (ConfuciuX, Evolver, BatchDVFS searches on the estimator).

The results.json they read (written by sc_accel/dse):
  {"search": "confuciux" | "evolver" | "batchdvfs", "model": str, "objective": str,
   "history": [{"method": str, "evaluation": int, "value": float}],   # lower is better
   "table": [{"platform": str, "model": str, "method": str, "pes": int, "buffer_bytes": int,
              "latency_cycles": int}],                                  # ConfuciuX only
   "evolver": {"policies": int, "skipped": int,
               "layers": [{"layer": str, "stream_length": int}],       # or "bits" for binary layers
               "operating_point": {"voltage_v": float, "frequency_hz": float}}}   # Evolver only
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from reports.figure import Figure
from reports.style import color

__all__ = ["convergence", "confuciux_table", "evolver_choice", "dse_figures"]


def convergence(runs: list[tuple[str, dict]]) -> Figure:
    """Best objective found so far against the number of evaluations, per search and method."""
    fig, ax = plt.subplots(figsize=(6.8, 4.2))
    rows, i = [], 0
    for run, r in runs:
        for m in sorted({h["method"] for h in r["history"]}):
            hist = sorted((h["evaluation"], h["value"]) for h in r["history"] if h["method"] == m)
            best = np.minimum.accumulate([v for _, v in hist])
            ax.plot([e for e, _ in hist], best, color=color(i), marker="", drawstyle="steps-post",
                    label=f"{r['search']}: {m}" + (f" ({run})" if len(runs) > 1 else ""))
            rows += [{"run": run, "search": r["search"], "method": m, "evaluation": e, "value": v, "best": b}
                     for (e, v), b in zip(hist, best)]
            i += 1
    ax.set_xlabel("evaluations of the estimator")
    ax.set_ylabel(f"best {runs[0][1].get('objective', 'objective')} so far (lower is better)")
    ax.set_yscale("log")
    ax.legend()
    title = "Design-space search: convergence"
    ax.set_title(title)
    return Figure("dse-convergence", title, fig, ["run", "search", "method", "evaluation", "value", "best"], rows,
                  "Methods at equal evaluation budgets; the step line is the best design found so far.")


def confuciux_table(runs: list[tuple[str, dict]]) -> Figure:
    """The ConfuciuX table (platform, model, method, PEs, buffer, cycles) as grouped bars of
    latency in cycles; the page shows the table beneath the figure."""
    rows = [{"run": run, **t} for run, r in runs for t in r["table"]]
    groups = list(dict.fromkeys((t["platform"], t["model"]) for t in rows))
    methods = list(dict.fromkeys(t["method"] for t in rows))
    fig, ax = plt.subplots(figsize=(min(24.0, max(6.4, 1.6 * len(groups) + 2)), 4.2))
    w = 0.8 / len(methods)
    for j, m in enumerate(methods):
        vals = [next((t["latency_cycles"] for t in rows if (t["platform"], t["model"]) == g and t["method"] == m),
                     np.nan) for g in groups]
        ax.bar(np.arange(len(groups)) + j * w, vals, w, color=color(j), label=m)
    ax.set_xticks(np.arange(len(groups)) + 0.4 - w / 2, [f"{p}\n{m}" for p, m in groups])
    ax.set_yscale("log")
    ax.set_ylabel("latency (cycles)")
    ax.legend()
    title = "ConfuciuX: latency per platform and model, baseline against RL and RL+GA"
    ax.set_title(title)
    cols = ["run", "platform", "model", "method", "pes", "buffer_bytes", "latency_cycles"]
    return Figure("dse-confuciux", title, fig, cols, rows, "PEs and buffer used are in the table.",
                  show_table=True)


def evolver_choice(run: str, r: dict) -> Figure:
    """Evolver's chosen per-layer precision and the share of policies skipped as outliers."""
    ev = r["evolver"]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4.0), gridspec_kw={"width_ratios": [3, 1]})
    key = "stream_length" if all("stream_length" in x for x in ev["layers"]) else "bits"
    names = [x["layer"] for x in ev["layers"]]
    vals = [x[key] for x in ev["layers"]]
    bars = ax.bar(range(len(names)), vals, color=color(0))
    ax.bar_label(bars, fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_ylabel("stream length L (bits)" if key == "stream_length" else "bits")
    if key == "stream_length":
        ax.set_yscale("log", base=2)
        ax.set_ylim(min(vals) / 4, max(vals) * 2)  # log bars need a floor below the shortest
    op = ev.get("operating_point", {})
    ax.set_title(f"chosen per layer; V/F {op.get('voltage_v', '?')} V / {op.get('frequency_hz', 0) / 1e6:.0f} MHz")
    skipped, total = ev["skipped"], ev["policies"]
    ax2.bar(["evaluated", "skipped"], [total - skipped, skipped], color=[color(2), color(3)])
    ax2.set_ylabel("policies")
    ax2.set_title(f"{100 * skipped / total:.1f}% skipped as outliers" if total else "no policy tried")
    title = f"Evolver ({run}): chosen precision and outlier skipping"
    fig.suptitle(title)
    rows = [{"layer": x["layer"], key: x[key]} for x in ev["layers"]]
    rows.append({"layer": "(policies skipped / total)", key: f"{skipped}/{total}"})
    return Figure(f"dse-evolver-{run}", title, fig, ["layer", key], rows,
                  "Policies whose estimated latency or energy already breaks a threshold are not evaluated.")


def dse_figures(runs: list[tuple[str, dict]]) -> list[Figure]:
    """Convergence over all DSE runs, the ConfuciuX table and each Evolver run's choice."""
    figs = [convergence(runs)] if any(r.get("history") for _, r in runs) else []
    if any(r.get("table") for _, r in runs):
        figs.append(confuciux_table([(n, r) for n, r in runs if r.get("table")]))
    return figs + [evolver_choice(n, r) for n, r in runs if r.get("evolver")]
