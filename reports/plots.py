"""Helpers shared by the figure modules: reading a results file, saving a figure, labelling
an emulation setting and grouping its results into curves (no import of the simulator)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from reports.figure import finish  # noqa: E402
from reports.style import styled  # noqa: E402

__all__ = ["curves", "read_results", "save_figure", "save_run_pngs", "setting_label", "mean_layer_error"]


def read_results(results: str | Path, out_dir: str | Path | None) -> tuple[dict, Path]:
    """(parsed results.json, directory for the figures: out_dir, else the run directory)."""
    results = Path(results)
    out = Path(out_dir) if out_dir else results.parent
    out.mkdir(parents=True, exist_ok=True)
    return json.loads(results.read_text()), out


def save_figure(fig: plt.Figure, path: Path, dpi: int = 150) -> Path:
    """Lay out, write and close a figure; return its path."""
    finish(fig)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def save_run_pngs(figures: list, prefix: str, out: Path, dpi: int = 150) -> list[Path]:
    """Save report Figures as the PNGs a command writes into its run directory, named after the
    figure without the run prefix ("estimate-sc-vs-binary" -> sc_vs_binary.png)."""
    with styled():
        return [save_figure(f.fig, out / f"{f.name.removeprefix(prefix + '-').replace('-', '_')}.png", dpi=dpi)
                for f in figures]


def mean_layer_error(setting: dict) -> float:
    """Mean relative RMS error over the layers of one emulation setting (NaN without layers)."""
    errs = list(setting["layer_error"].values())
    return sum(errs) / len(errs) if errs else float("nan")


def setting_label(c: dict) -> str:
    """Short name of an emulation setting without its stream length (one curve per label)."""
    share = f"share={c['share']}" + (f" {c.get('decorrelate', 'rotate')}" if c["share"] > 1 else "")
    sng = c["sng"] + (" bipolar" if c.get("encoding", "unipolar") == "bipolar" else "")
    return f"{sng} {share} {'upscale' if c['upscale'] else 'no-upscale'} max={c['maxpool']} {c['mode']}"


def curves(res: dict, metric: str) -> dict[str, list[tuple[int, float]]]:
    """label -> [(L, value)] sorted by L; metric 'accuracy' or 'error' (mean layer relative RMSE)."""
    out: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for s in res["settings"]:
        v = s["accuracy"] if metric == "accuracy" else mean_layer_error(s)
        out[setting_label(s["config"])].append((s["config"]["stream_length"], v))
    return {k: sorted(v) for k, v in out.items()}
