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
from reports.stats import mean_std, wilson  # noqa: E402
from reports.style import styled  # noqa: E402

__all__ = ["curves", "accuracy_points", "read_results", "save_figure", "save_run_pngs", "setting_label",
           "mean_layer_error", "layer_modules"]


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
    pct = c.get("calib_percentile", 100.0)
    clip = f" p{pct:g}" if pct != 100.0 else ""  # calibration percentile, when it clips
    return f"{sng} {share} {'upscale' if c['upscale'] else 'no-upscale'} max={c['maxpool']} {c['mode']}{clip}"


def _by_label_and_length(res: dict) -> dict[str, dict[int, list[dict]]]:
    """label -> L -> the settings run there (one per seed)."""
    out: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for s in res["settings"]:
        out[setting_label(s["config"])][s["config"]["stream_length"]].append(s)
    return out


def curves(res: dict, metric: str) -> dict[str, list[tuple[int, float]]]:
    """label -> [(L, value)] sorted by L; metric 'accuracy' or 'error' (mean layer relative RMSE);
    a setting run with several seeds gives the mean over them."""
    value = (lambda s: s["accuracy"]) if metric == "accuracy" else mean_layer_error
    return {k: sorted((L, mean_std([value(s) for s in ss])[0]) for L, ss in by_L.items())
            for k, by_L in _by_label_and_length(res).items()}


def accuracy_points(res: dict) -> dict[str, list[dict]]:
    """label -> [{L, accuracy, low, high, seeds, n_images}] sorted by L. One seed: the Wilson 95%
    interval over its n_images (the setting's, else the run's; none when unknown). Several
    seeds: mean ± sample std over them."""
    out = {}
    for label, by_L in _by_label_and_length(res).items():
        pts = []
        for L, ss in sorted(by_L.items()):
            m, sd = mean_std([s["accuracy"] for s in ss])
            n = ss[0].get("n_images", res.get("n_images"))
            low, high = (m - sd, m + sd) if len(ss) > 1 else wilson(m, n if isinstance(n, int) else 0)
            pts.append({"L": L, "accuracy": m, "low": low, "high": high, "seeds": len(ss),
                        "n_images": n if isinstance(n, int) else None})
        out[label] = pts
    return out


def layer_modules(res: dict) -> dict[str, str]:
    """Graph name -> module path ("features_0" -> "features.0") for the layers of an emulate run:
    the map newer runs write ("layer_modules"); a name without it stays as it is, since the
    conversion from a graph name is ambiguous where a module's own name holds '_'."""
    known = res.get("layer_modules") or {}
    names = dict.fromkeys(k for s in res["settings"] for k in s["layer_error"])
    return {n: known.get(n, n) for n in names}
