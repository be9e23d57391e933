"""Plots of `scnas estimate` results (results.json with one entry per accelerator)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from reports.plots import read_results, save_figure  # noqa: E402

__all__ = ["plot_estimate"]

_PARTS = ("mac", "local", "sram", "dram", "sng", "stream_buf", "edt", "stream_pool")


def _layer_bars(res: dict, key: str, ylabel: str, path: Path) -> Path:
    ests = res["estimates"]
    names = [r["name"] for r in ests[0]["layers"]]
    x = np.arange(len(names))
    width = 0.8 / len(ests)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(names) + 2), 4))
    for i, e in enumerate(ests):
        ax.bar(x + i * width, [r[key] for r in e["layers"]], width, label=e["total"]["accel"])
    ax.set_yscale("log")
    ax.set_xticks(x + 0.4 - width / 2, names, rotation=90, fontsize=7)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{res['model']} {tuple(res['input_shape'])}: per-layer {ylabel.split(' (')[0]}")
    ax.legend(fontsize=7)
    return save_figure(fig, path, dpi=120)


def _breakdown(res: dict, path: Path) -> Path:
    ests = res["estimates"]
    labels = [e["total"]["accel"] for e in ests]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(labels) + 2), 4))
    bottom = np.zeros(len(ests))
    for part in _PARTS:
        vals = np.array([e["total"].get(f"energy_{part}_pj", 0.0) for e in ests]) / 1e6
        if vals.any():
            ax.bar(labels, vals, bottom=bottom, label=part)
            bottom += vals
    ax.set_ylabel("energy per inference batch (uJ)")
    ax.set_title(f"{res['model']}: energy by component")
    ax.tick_params(axis="x", rotation=30, labelsize=7)
    ax.legend(fontsize=7)
    return save_figure(fig, path, dpi=120)


def plot_estimate(results: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """latency_per_layer.png, energy_per_layer.png, energy_breakdown.png and, when an SC
    design was run at two or more stream lengths, sc_vs_binary.png."""
    res, out = read_results(results, out_dir)
    figs = [_layer_bars(res, "latency_s", "latency (s)", out / "latency_per_layer.png"),
            _layer_bars(res, "energy_pj", "energy (pJ)", out / "energy_per_layer.png"),
            _breakdown(res, out / "energy_breakdown.png")]
    sc = _sc_vs_binary(res, out / "sc_vs_binary.png")
    return figs + ([sc] if sc is not None else [])


def _sc_series(res: dict) -> dict[str, list[tuple[int, dict]]]:
    """SC estimates grouped by design (accelerator name without its -L suffix), sorted by L."""
    out: dict[str, list[tuple[int, dict]]] = {}
    for e in res["estimates"]:
        t = e["total"]
        if t.get("kind") == "sc":
            stem = t["accel"].rsplit("-L", 1)[0]
            ws = f", {t['weight_stream']} weights" if t.get("weight_stream") else ""  # older runs lack it
            out.setdefault(f"{stem} ({t['dataflow']}{ws})", []).append((int(t["stream_length"]), t))
    return {k: sorted(v, key=lambda p: p[0]) for k, v in out.items() if len(v) >= 2}


def _sc_vs_binary(res: dict, path: Path) -> Path | None:
    """SC energy and area over the stream length, one line per SC design, the binary designs
    as horizontal lines; markers filled where the SC design beats the best binary one."""
    series = _sc_series(res)
    binary = [e["total"] for e in res["estimates"] if e["total"].get("kind") != "sc"]
    if not series:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, unit, scale in ((axes[0], "energy_pj", "energy per inference (uJ)", 1e6),
                                 (axes[1], "area_um2", "area (mm$^2$)", 1e6)):
        best = min((t[key] for t in binary), default=None)
        for i, (label, pts) in enumerate(series.items()):
            Ls = [p[0] for p in pts]
            vals = [p[1][key] / scale for p in pts]
            line, = ax.plot(Ls, vals, "-", color=f"C{i}", label=label)
            wins = [v * scale < best for v in vals] if best is not None else [False] * len(vals)
            for L, v, w in zip(Ls, vals, wins):
                ax.plot(L, v, "o", color=line.get_color(), mfc=line.get_color() if w else "white")
        for j, t in enumerate(binary):
            ax.axhline(t[key] / scale, ls="--", lw=1, color=f"C{len(series) + j}", label=f"{t['accel']} (binary)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("stream length L (cycles)")
        ax.set_ylabel(unit)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_title(f"{res['model']}: energy (filled marker: below every binary design)", fontsize=9)
    axes[1].set_title(f"{res['model']}: area (filled marker: below every binary design)", fontsize=9)
    axes[1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
