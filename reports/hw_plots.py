"""Plots of `scnas estimate` results (results.json with one entry per accelerator)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from reports.plots import read_results, save_figure  # noqa: E402

__all__ = ["plot_estimate"]

_PARTS = ("mac", "local", "sram", "dram", "sng", "stream_pool")


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
    """latency_per_layer.png, energy_per_layer.png and energy_breakdown.png."""
    res, out = read_results(results, out_dir)
    return [_layer_bars(res, "latency_s", "latency (s)", out / "latency_per_layer.png"),
            _layer_bars(res, "energy_pj", "energy (pJ)", out / "energy_per_layer.png"),
            _breakdown(res, out / "energy_breakdown.png")]
