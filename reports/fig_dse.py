"""Figures of `scnas dse` runs (ConfuciuX, Evolver, BatchDVFS searches on the estimator).

The results.json they read (written by sc_accel/dse):
  {"search": "confuciux" | "evolver" | "batchdvfs", "model": str, "objective": str,
   "history": [{"method": str, "evaluation": int, "value": float}],   # lower is better
   "table": [{"platform": str, "model": str, "method": str, "pes": int, "buffer_bytes": int,
              "latency_cycles": int}],                                  # ConfuciuX only
   "evolver": {"policies": int, "skipped": int,
               "layers": [{"layer": str, "stream_length": int}],       # or "bits", "weight_bits" (binary)
               "operating_point": {"voltage_v": float, "frequency_hz": float},
               "evaluated": [{"accuracy": float, "latency": float, "energy": float,  # optional: the policies
                              "feasible": bool}],                       # scored (L, E normalised)
               "proxy_accuracy": float, "energy_norm": float},          # the chosen one
   "uniform": {"proxy_accuracy": float, "energy_norm": float} | None,  # Evolver only
   "batchdvfs": [{"power_cap_w": float, "method": str, "batch": int | None, "voltage_v": float,
                  "frequency_hz": float, "throughput": float, "power_w": float, "evaluations": int,
                  "gap_pct": float, "optimal": bool}]}                                      # BatchDVFS only
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np

from reports.fig_nas import pareto_front
from reports.figure import Figure
from reports.plots import read_results, save_run_pngs
from reports.style import distinct_colors
from reports.tables import over_budget
from reports.units import unit_of

__all__ = ["objective_axis", "convergence", "confuciux_table", "evolver_choice", "evolver_pareto", "batchdvfs_choice", "dse_figures",
           "plot_dse"]


def _split_method(m: str) -> tuple[str, str]:
    """'cloud/resnet20: RL' -> ('cloud/resnet20', 'RL'); a method without a task prefix -> ('', m)."""
    return tuple(m.split(": ", 1)) if ": " in m else ("", m)  # type: ignore[return-value]


def _dash(method: str) -> str:
    """RL alone (the whole budget, the reference's `--alg RL`) is drawn dashed, beside RL+GA."""
    return "--" if method.startswith("RL") and "GA" not in method else "-"


_OVER = "over budget"  # how an infeasible design is labelled wherever it is drawn


def objective_axis(r: dict) -> tuple[str, float]:
    """(axis label with its unit, scale from the history's values) of a DSE run's objective:
    ConfuciuX latency in cycles or energy in µJ, BatchDVFS time per image in ms, the Evolver's
    normalised 1 - reward (no unit)."""
    search, obj = r.get("search"), str(r.get("objective", "objective"))
    if search == "confuciux":
        return ("latency (cycles)", 1.0) if obj.startswith("latency") else ("energy (µJ)", unit_of("energy_pj").scale)
    if search == "batchdvfs":
        return "time per image (ms)", 1e3
    if search == "evolver":
        return "1 - reward (normalised, no unit)", 1.0
    return obj, 1.0


def _over_budget(r: dict) -> set[tuple[str, str]]:
    """(task, method) of the ConfuciuX rows whose best design is over the platform budget."""
    return {(f"{t['platform']}/{t['model']}", t["method"]) for t in r.get("table") or []
            if over_budget(t)}


def convergence(runs: list[tuple[str, dict]]) -> Figure:
    """Best objective found so far against the number of evaluations: one panel per task
    (platform/model of a ConfuciuX run, or the run itself), one line per method, the same
    colour for a method in every panel. The y axis stops at 10x the panel's best, so the
    penalised over-budget designs of the first evaluations do not squash the curves."""
    groups: dict[str, list] = {}
    axis: dict[str, tuple[str, float]] = {}
    over: set[tuple[str, str]] = set()
    for run, r in runs:
        over |= {(f"{r['search']}: {task}", m) for task, m in _over_budget(r)}
        for h in r["history"]:
            task, method = _split_method(h["method"])
            key = f"{r['search']}: {task}" if task else f"{r['search']} ({run})"
            groups.setdefault(key, []).append((method, h["evaluation"], h["value"], run))
            axis[key] = objective_axis(r)
    methods = list(dict.fromkeys(m for g in groups.values() for m, *_ in g))
    cols = dict(zip(methods, distinct_colors(len(methods))))
    ncol = min(4, len(groups))
    nrow = -(-len(groups) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.8 * ncol + 1.2, 3.1 * nrow + 0.6), squeeze=False)
    rows = []
    for ax, (key, hist) in zip(axes.ravel(), groups.items()):
        what, scale = axis[key]
        lo = min(v for _, _, v, _ in hist) * scale
        bad = []
        for m in methods:
            pts = sorted((e, v) for mm, e, v, _ in hist if mm == m)
            if not pts:
                continue
            best = np.minimum.accumulate([v for _, v in pts])
            ax.plot([e for e, _ in pts], best * scale, color=cols[m], drawstyle="steps-post", label=m,
                    ls=_dash(m), lw=2.2 if _dash(m) != "-" else 1.4, zorder=3 if _dash(m) != "-" else 2)
            rows += [{"task": key, "method": m, "evaluation": e, "value": v, "best": b, "objective": what}
                     for (e, v), b in zip(pts, best)]
            bad += [m] if (key, m) in over else []
        if bad:
            ax.text(0.98, 0.95, f"{_OVER}: {', '.join(bad)}", transform=ax.transAxes, ha="right", va="top",
                    fontsize=7, color="#b00000")
        ax.set_yscale("log")
        ax.set_ylim(lo / 1.1, lo * 10)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("evaluations")
        ax.set_ylabel(f"best {what} so far", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
    for ax in axes.ravel()[len(groups):]:
        ax.axis("off")
    handles = [plt.Line2D([], [], color=cols[m], ls=_dash(m), label=m) for m in methods]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(methods), 7),
               frameon=False)
    title = "Design-space search: convergence"
    fig.suptitle(title)
    fig.tight_layout()
    return Figure("dse-convergence", title, fig, ["task", "method", "evaluation", "value", "best", "objective"],
                  rows, "Methods at equal evaluation budgets; the step line is the best design found so far "
                  "(lower is better; each panel's axis names its objective and unit; over-budget designs carry a "
                  "penalty above the plotted range, and a method whose best design stays over budget is named "
                  "in red).", series=cols)


def confuciux_table(runs: list[tuple[str, dict]]) -> Figure:
    """The ConfuciuX table (platform, model, method, PEs, buffer, cycles) as grouped bars of
    latency in cycles; a design over the platform budget (feasible false) is drawn hollow and
    hatched and labelled "over budget", never as a valid bar. The page shows the table beneath."""
    rows = [{"run": run, **t} for run, r in runs for t in r["table"]]
    groups = list(dict.fromkeys((t["platform"], t["model"]) for t in rows))
    methods = list(dict.fromkeys(t["method"] for t in rows))
    cols = dict(zip(methods, distinct_colors(len(methods))))
    fig, ax = plt.subplots(figsize=(min(24.0, max(6.4, 1.6 * len(groups) + 2)), 4.4))
    w = 0.8 / len(methods)
    for j, m in enumerate(methods):
        got = [next((t for t in rows if (t["platform"], t["model"]) == g and t["method"] == m), None) for g in groups]
        xs = np.arange(len(groups)) + j * w
        ok = [t is not None and not over_budget(t) for t in got]
        ax.bar(xs, [t["latency_cycles"] if t and k else np.nan for t, k in zip(got, ok)], w, color=cols[m], label=m)
        bad = ax.bar(xs, [t["latency_cycles"] if t and not k else np.nan for t, k in zip(got, ok)], w,
                     facecolor="white", edgecolor=cols[m], hatch="xxx", lw=1.2)
        ax.bar_label(bad, [f"{_OVER}: {t['pes']:,} PEs, {t['buffer_bytes']:,} B" if t and not k else ""
                            for t, k in zip(got, ok)],
                     fontsize=6, color="#b00000", rotation=90, padding=2)  # upright: neighbours never overlap
    ax.set_xticks(np.arange(len(groups)) + 0.4 - w / 2, [f"{p}\n{m}" for p, m in groups])
    ax.set_yscale("log")
    ax.set_ylabel("latency (cycles)")
    ax.bar(np.nan, np.nan, facecolor="white", edgecolor="0.3", hatch="xxx", label=f"{_OVER} (not a valid design)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi * 30)  # room above the tallest bar for an upright over-budget label (log axis)
    title = "ConfuciuX: latency per platform and model, every search against the uniform baseline-dla"
    ax.set_title(title)
    cols_ = ["run", "platform", "model", "method", "pes", "buffer_bytes", "latency_cycles", "feasible"]
    return Figure("dse-confuciux", title, fig, cols_, rows,
                  "PEs and buffer used are in the table; hollow hatched bars are over the platform's budget "
                  "(feasible false), not valid designs.", show_table=True, series=cols)


def evolver_choice(run: str, r: dict) -> Figure:
    """Evolver's chosen per-layer precision and the share of policies skipped as outliers."""
    ev = r["evolver"]
    c = distinct_colors(4)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4.0), gridspec_kw={"width_ratios": [3, 1]})
    key = "stream_length" if all("stream_length" in x for x in ev["layers"]) else "bits"
    names = [x["layer"] for x in ev["layers"]]
    vals = [x[key] for x in ev["layers"]]
    if key == "bits" and all("weight_bits" in x for x in ev["layers"]):  # binary: activation and weight bits
        xs = np.arange(len(names))
        for j, (k, lab) in enumerate((("bits", "activation"), ("weight_bits", "weight"))):
            bars = ax.bar(xs + (j - 0.5) * 0.4, [x[k] for x in ev["layers"]], 0.4, color=c[j], label=lab)
            ax.bar_label(bars, fontsize=8)
        ax.legend(fontsize=8)
    else:
        bars = ax.bar(range(len(names)), vals, color=c[0])
        ax.bar_label(bars, fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_ylabel("stream length L (bits)" if key == "stream_length" else "bits")
    if key == "stream_length":
        ax.set_yscale("log", base=2)
        ax.set_ylim(min(vals) / 4, max(vals) * 2)  # log bars need a floor below the shortest
    op = ev.get("operating_point", {})
    ax.set_title(f"chosen per layer; V/F {op.get('voltage_v', '?')} V / {op.get('frequency_hz', 0) / 1e6:.0f} MHz")
    skipped, total = ev["skipped"], ev["policies"]
    ax2.bar(["evaluated", "skipped"], [total - skipped, skipped], color=[c[2], c[3]])
    ax2.set_ylabel("policies")
    ax2.set_title(f"{100 * skipped / total:.1f}% skipped as outliers" if total else "no policy tried")
    title = f"Evolver ({run}): chosen precision and outlier skipping"
    fig.suptitle(title)
    rows = [{"layer": x["layer"], key: x[key], **({"weight_bits": x["weight_bits"]} if "weight_bits" in x else {})}
            for x in ev["layers"]]
    rows.append({"layer": "(policies skipped / total)", key: f"{skipped}/{total}"})
    cols = ["layer", key] + (["weight_bits"] if rows and "weight_bits" in rows[0] else [])
    chosen = ["activation bits", "weight bits"] if key == "bits" and "weight_bits" in cols else [
        "stream length" if key == "stream_length" else "bits"]
    return Figure(f"dse-evolver-{run}", title, fig, cols, rows,
                  "Policies whose estimated latency or energy already breaks a threshold are not evaluated.",
                  series=dict(zip(chosen + ["policies evaluated", "policies skipped"], c[:len(chosen)] + c[2:])))


def evolver_pareto(run: str, r: dict) -> Figure:
    """Every policy the Evolver search scored: proxy accuracy against normalised energy and
    latency, feasible ones filled, the Pareto front of each, the thresholds, the chosen policy
    and the best uniform-L design."""
    ev, th = r["evolver"], r.get("thresholds", {})
    pts = ev["evaluated"]
    c = distinct_colors(4)
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.0), sharey=True)
    rows = [{"run": run, **x} for x in pts]
    for ax, key in zip(axes, ("energy", "latency")):
        for feas, lab, face in ((False, "misses a threshold (hollow)", "none"), (True, "meets every threshold", c[0])):
            sel = [x for x in pts if bool(x["feasible"]) == feas]
            ax.scatter([x[key] for x in sel], [100 * x["accuracy"] for x in sel], s=14, marker="o",
                       facecolors=face, edgecolors=c[0], linewidths=0.7, label=lab)
        front = pareto_front([(x[key], x["accuracy"]) for x in pts])
        ax.step([c for c, _ in front], [100 * a for _, a in front], where="post", color=c[1], lw=1.2,
                label="Pareto front")
        if key in th:
            ax.axvline(th[key], color="0.4", ls=":", lw=1, label=f"{key} threshold")
        if "accuracy" in th:
            ax.axhline(100 * th["accuracy"], color="0.4", ls="--", lw=1, label="accuracy threshold")
        for d, lab, i, m in ((ev, "chosen (Q-learning)", 2, "*"), (r.get("uniform"), "best uniform L", 3, "D")):
            if d and d.get(f"{key}_norm") is not None and d.get("proxy_accuracy") is not None:
                ax.scatter([d[f"{key}_norm"]], [100 * d["proxy_accuracy"]], s=90, marker=m, color=c[i],
                           zorder=5, label=lab)
        ax.set_xlabel(f"{key} (normalised: 0 = all-shortest corner)")
    axes[0].set_ylabel("accuracy, expected-mode proxy (%)")
    axes[0].legend(fontsize=7, loc="lower right")
    title = f"Evolver ({run}): the policies scored, accuracy against energy and latency"
    fig.suptitle(title)
    return Figure(f"dse-evolver-pareto-{run}", title, fig, ["run", "accuracy", "latency", "energy", "feasible"],
                  rows, "Skipped outliers have no accuracy and are not drawn; hollow: the policy misses a "
                  "threshold (not a valid choice).",
                  series={"policies scored": c[0], "Pareto front": c[1], "chosen (Q-learning)": c[2],
                          "best uniform L": c[3]})


def batchdvfs_choice(run: str, r: dict) -> Figure:
    """BatchDVFS: throughput each search reached under each power cap (batch size written on
    the marker) and the evaluations it needed; the page shows the table beneath."""
    rows = [{"run": run, **x} for x in r["batchdvfs"]]
    caps = sorted({x["power_cap_w"] for x in rows})
    methods = list(dict.fromkeys(x["method"] for x in rows))
    cols = dict(zip(methods, distinct_colors(len(methods))))
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10.5, 4.0))
    w = 0.8 / len(methods)
    for j, m in enumerate(methods):
        got = {x["power_cap_w"]: x for x in rows if x["method"] == m}
        xs = np.arange(len(caps)) + j * w
        tp = [got[c]["throughput"] if c in got and got[c]["batch"] else 0.0 for c in caps]
        bars = ax.bar(xs, tp, w, color=cols[m], label=m)
        ax.bar_label(bars, [f"B={got[c]['batch']}" if c in got and got[c]["batch"] else "no batch\nfits"
                            if c in got else "" for c in caps], fontsize=7)
        ax2.bar(xs, [got[c]["evaluations"] if c in got else 0 for c in caps], w, color=cols[m], label=m)
    for a in (ax, ax2):
        a.set_xticks(np.arange(len(caps)) + 0.4 - w / 2, [f"{c:g} W" for c in caps])
        a.set_xlabel("power cap")
    ax.set_ylabel("throughput (images/s)")
    ax2.set_ylabel("evaluations of the estimator")
    ax2.set_yscale("log")
    ax.legend(fontsize=8)
    title = f"BatchDVFS ({run}): throughput under a power cap and the evaluations each search needed"
    fig.suptitle(title)
    cols_ = ["run", "power_cap_w", "method", "batch", "voltage_v", "frequency_hz", "throughput", "power_w",
            "evaluations", "gap_pct", "optimal"]
    return Figure(f"dse-batchdvfs-{run}", title, fig, cols_, rows,
                  "Exhaustive search scores every (batch, V/F) pair; gap_pct is each pick's throughput "
                  "shortfall against it, 'optimal' a gap within 0.1%; 'no batch fits': nothing meets the cap.",
                  show_table=True, series=cols)


def dse_figures(runs: list[tuple[str, dict]]) -> list[Figure]:
    """Convergence over all DSE runs, the ConfuciuX table, each Evolver run's choice and each
    BatchDVFS run's picks."""
    figs = [convergence(runs)] if any(r.get("history") for _, r in runs) else []
    if any(r.get("table") for _, r in runs):
        figs.append(confuciux_table([(n, r) for n, r in runs if r.get("table")]))
    # an Evolver run whose search met no threshold has no chosen layers to draw
    figs += [evolver_choice(n, r) for n, r in runs if r.get("evolver", {}).get("layers")]
    figs += [evolver_pareto(n, r) for n, r in runs if r.get("evolver", {}).get("evaluated")]
    return figs + [batchdvfs_choice(n, r) for n, r in runs if r.get("batchdvfs")]


def plot_dse(results: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """The figures of one `scnas dse` run as PNGs next to its results.json (or in out_dir)."""
    res, out = read_results(results, out_dir)
    return save_run_pngs(dse_figures([(Path(results).parent.name, res)]), "dse", out)
