"""Plots of `scnas emulate` results, read from results.json (no import of the simulator)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plot_emulation", "curves", "read_results", "save_figure", "setting_label"]


def read_results(results: str | Path, out_dir: str | Path | None) -> tuple[dict, Path]:
    """(parsed results.json, directory for the figures: out_dir, else the run directory)."""
    results = Path(results)
    out = Path(out_dir) if out_dir else results.parent
    out.mkdir(parents=True, exist_ok=True)
    return json.loads(results.read_text()), out


def save_figure(fig: plt.Figure, path: Path, dpi: int = 150) -> Path:
    """Lay out, write and close a figure; return its path."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def setting_label(c: dict) -> str:
    """Short name of an emulation setting without its stream length (one curve per label)."""
    return (f"{c['sng']} share={c['share']} {'upscale' if c['upscale'] else 'no-upscale'} "
            f"max={c['maxpool']} {c['mode']}")


def curves(res: dict, metric: str) -> dict[str, list[tuple[int, float]]]:
    """label -> [(L, value)] sorted by L; metric 'accuracy' or 'error' (mean layer relative RMSE)."""
    out: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for s in res["settings"]:
        if metric == "accuracy":
            v = s["accuracy"]
        else:
            errs = list(s["layer_error"].values())
            v = sum(errs) / len(errs) if errs else float("nan")
        out[setting_label(s["config"])].append((s["config"]["stream_length"], v))
    return {k: sorted(v) for k, v in out.items()}


def plot_emulation(results: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """accuracy_vs_length.png and error_vs_length.png next to results.json (or in out_dir)."""
    res, out = read_results(results, out_dir)
    files = [_accuracy_plot(res, out / "accuracy_vs_length.png"), _error_plot(res, out / "error_vs_length.png")]
    return files


def _accuracy_plot(res: dict, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, pts in curves(res, "accuracy").items():
        ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], marker="o", label=label)
    ax.axhline(100 * res["float_accuracy"], color="k", ls="--", lw=1, label="float")
    fx = res["fixed_point"]
    ax.axhline(100 * fx["accuracy"], color="gray", ls=":", lw=1, label=f"fixed point {fx['bits']}-bit")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("stream length L (bits)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title(f"{res['model']} on {res['dataset']}: SC accuracy vs stream length")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def _error_plot(res: dict, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    anchor = None
    for label, pts in curves(res, "error").items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
        if anchor is None or pts[0][1] > anchor[1]:
            anchor = pts[0]
    if anchor is not None:
        ls = sorted({s["config"]["stream_length"] for s in res["settings"]})
        ref = [anchor[1] * (anchor[0] / L) ** 0.5 for L in ls]
        ax.plot(ls, ref, "k--", lw=1, label="1/sqrt(L) reference")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("stream length L (bits)")
    ax.set_ylabel("mean relative RMS error of layer outputs")
    ax.set_title(f"{res['model']}: layer error vs float activations")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return save_figure(fig, path)
