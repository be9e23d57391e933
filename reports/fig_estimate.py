"""Figures of `scnas estimate` runs: binary against SC per layer and in total, energy by
component, and SC energy and area over the stream length against the binary designs."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from reports.figure import Figure
from reports.plots import read_results, save_run_pngs
from reports.style import color, marker

__all__ = ["layer_bars", "totals", "energy_breakdown", "sc_vs_binary", "estimate_figures", "plot_estimate"]

PARTS = ("mac", "local", "sram", "dram", "sng", "stream_buf", "edt", "stream_pool")
_HATCH = {"sc": "//", "binary": ""}


def _label(t: dict) -> str:
    return f"{t['accel']} ({t.get('kind', 'binary')})"


def layer_bars(res: dict, key: str, name: str = "estimate") -> Figure:
    """Per-layer latency_s or energy_pj, one bar group per layer, one bar per accelerator."""
    ests = res["estimates"]
    names = list(dict.fromkeys(r["name"] for e in ests for r in e["layers"]))  # all layers, in order
    x = np.arange(len(names))
    width = 0.8 / len(ests)
    unit, scale = ("latency (us)", 1e6) if key == "latency_s" else ("energy (uJ)", 1e-6)
    fig, ax = plt.subplots(figsize=(min(24.0, max(6.4, 0.35 * len(names) + 2)), 4.2))
    for i, e in enumerate(ests):
        t = e["total"]
        by_name = {r["name"]: r[key] * scale for r in e["layers"]}
        ax.bar(x + i * width, [by_name.get(n, np.nan) for n in names], width, color=color(i),
               hatch=_HATCH.get(t.get("kind"), ""), edgecolor="white", lw=0, label=_label(t))
    ax.set_yscale("log")
    ax.set_xticks(x + 0.4 - width / 2, names, rotation=90)
    ax.set_xlabel("layer")
    ax.set_ylabel(unit)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    what = unit.split(" (")[0]
    title = f"{res['model']} {tuple(res['input_shape'])}: per-layer {what}, binary (plain) vs SC (hatched)"
    ax.set_title(title)
    rows = [{"accel": e["total"]["accel"], "kind": e["total"].get("kind"), "layer": r["name"], key: r[key]}
            for e in ests for r in e["layers"]]
    return Figure(f"{name}-{what}-per-layer", title, fig, ["accel", "kind", "layer", key], rows,
                  f"Per-layer {what} on each accelerator (log scale).")


def totals(res: dict, name: str = "estimate") -> Figure:
    """Total latency, energy and area per accelerator, side by side."""
    ts = [e["total"] for e in res["estimates"]]
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
    labels = [t["accel"] for t in ts]
    for ax, key, unit, scale in ((axes[0], "latency_s", "latency (us)", 1e6),
                                 (axes[1], "energy_pj", "energy per inference (uJ)", 1e-6),
                                 (axes[2], "area_um2", "area (mm$^2$)", 1e-6)):
        for i, t in enumerate(ts):
            ax.bar(i, t[key] * scale, color=color(i), hatch=_HATCH.get(t.get("kind"), ""), edgecolor="white")
        ax.set_xticks(range(len(ts)), labels, rotation=60, ha="right")
        vals = [t[key] for t in ts if t[key] > 0]
        if vals and max(vals) > 30 * min(vals):  # log only where linear bars would vanish
            ax.set_yscale("log")
        ax.set_ylabel(unit)
    title = f"{res['model']}: totals per accelerator, binary (plain) vs SC (hatched)"
    fig.suptitle(title)
    cols = ["accel", "kind", "dataflow", "stream_length", "latency_s", "energy_pj", "area_um2", "dram_bytes",
            "utilization"]
    rows = [{c: t.get(c) if c != "stream_length" or t.get("kind") == "sc" else None for c in cols} for t in ts]
    return Figure(f"{name}-totals", title, fig, cols, rows, "Latency, energy and area of the whole network.",
                  show_table=True)


def energy_breakdown(res: dict, name: str = "estimate") -> Figure:
    """Energy per accelerator stacked by component (MACs, local, SRAM, DRAM, SNGs, ...)."""
    ts = [e["total"] for e in res["estimates"]]
    fig, ax = plt.subplots(figsize=(min(24.0, max(6.4, 0.9 * len(ts) + 2)), 4.2))
    bottom = np.zeros(len(ts))
    rows = []
    for j, part in enumerate(PARTS):
        vals = np.array([t.get(f"energy_{part}_pj", 0.0) for t in ts])
        rows += [{"accel": t["accel"], "kind": t.get("kind"), "part": part, "energy_pj": float(v)}
                 for t, v in zip(ts, vals) if v]
        if vals.any():
            ax.bar(range(len(ts)), vals / 1e6, bottom=bottom, color=color(j), label=part)
            bottom += vals / 1e6
    ax.set_xticks(range(len(ts)), [t["accel"] for t in ts], rotation=45, ha="right")
    ax.set_ylabel("energy per inference (uJ)")
    ax.legend(ncols=2)
    title = f"{res['model']}: energy by component"
    ax.set_title(title)
    return Figure(f"{name}-energy-breakdown", title, fig, ["accel", "kind", "part", "energy_pj"], rows,
                  "Where the energy goes: arithmetic, local and global buffers, DRAM, SC stream generation.")


def sc_series(res: dict) -> dict[str, list[tuple[int, dict]]]:
    """SC totals grouped by design (name without -L suffix, dataflow = mapping, weight streams),
    sorted by L; only designs run at two or more lengths."""
    out: dict[str, list[tuple[int, dict]]] = {}
    for e in res["estimates"]:
        t = e["total"]
        if t.get("kind") == "sc":
            stem = t["accel"].rsplit("-L", 1)[0]
            ws = f", {t['weight_stream']} weights" if t.get("weight_stream") else ""  # older runs lack it
            out.setdefault(f"{stem} ({t['dataflow']}{ws})", []).append((int(t["stream_length"]), t))
    return {k: sorted(v, key=lambda p: p[0]) for k, v in out.items() if len(v) >= 2}


def sc_vs_binary(res: dict, name: str = "estimate") -> Figure | None:
    """SC energy and area over L, one line per SC design and mapping, binary designs as
    horizontal lines; filled markers where the SC design is below every binary one."""
    series = sc_series(res)
    if not series:
        return None
    binary = [e["total"] for e in res["estimates"] if e["total"].get("kind") != "sc"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    rows: dict[tuple, dict] = {}
    for ax, key, unit, scale in ((axes[0], "energy_pj", "energy per inference (uJ)", 1e6),
                                 (axes[1], "area_um2", "area (mm$^2$)", 1e6)):
        best = min((t[key] for t in binary), default=None)
        for i, (label, pts) in enumerate(series.items()):
            Ls, vals = [p[0] for p in pts], [p[1][key] for p in pts]
            ax.plot(Ls, [v / scale for v in vals], "-", color=color(i), marker="", label=label)
            for L, v in zip(Ls, vals):
                win = best is not None and v < best
                ax.plot(L, v / scale, marker(i), color=color(i), mfc=color(i) if win else "white")
                row = rows.setdefault((label, L), {"design": label, "stream_length": L})
                row.update({key: v, f"{key}_below_binary": win})
        for j, t in enumerate(binary):
            ax.axhline(t[key] / scale, ls="--", lw=1, color=color(len(series) + j), label=f"{t['accel']} (binary)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("stream length L (cycles)")
        ax.set_ylabel(unit)
    title = f"{res['model']}: SC energy and area over L against binary (filled: below every binary design)"
    fig.suptitle(title)
    axes[1].legend(fontsize=7)
    cols = ["design", "stream_length", "energy_pj", "energy_pj_below_binary", "area_um2", "area_um2_below_binary"]
    return Figure(f"{name}-sc-vs-binary", title, fig, cols, list(rows.values()),
                  "Each SC design with its mapping (dataflow) and weight-stream option, over L.")


def estimate_figures(res: dict, name: str = "estimate") -> list[Figure]:
    """All figures of one estimate run."""
    if not res["estimates"]:
        return []
    figs = [layer_bars(res, "latency_s", name), layer_bars(res, "energy_pj", name), totals(res, name),
            energy_breakdown(res, name)]
    sc = sc_vs_binary(res, name)
    return figs + ([sc] if sc is not None else [])


def plot_estimate(results: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """latency_per_layer.png, energy_per_layer.png, totals.png, energy_breakdown.png and, when an
    SC design was run at two or more stream lengths, sc_vs_binary.png (what `scnas estimate` draws)."""
    res, out = read_results(results, out_dir)
    return save_run_pngs(estimate_figures(res), "estimate", out, dpi=120)
