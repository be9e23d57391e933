"""Figures of `scnas emulate` runs: accuracy and error against stream length, per-layer error."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from reports.figure import Figure
from reports.plots import curves, mean_layer_error, read_results, save_run_pngs, setting_label
from reports.style import LINESTYLES, PALETTE, color, marker

__all__ = ["curve_styles", "accuracy_vs_length", "error_vs_length", "layer_error", "emulation_figures",
           "compare_runs", "plot_emulation"]

_SETTING_COLUMNS = ["setting", "sng", "encoding", "share", "decorrelate", "upscale", "maxpool", "mode",
                    "stream_length"]
_OLDER = {"encoding": "unipolar", "decorrelate": "rotate"}  # what results written before these keys ran


def _setting_row(s: dict) -> dict:
    c = s["config"]
    return {"setting": setting_label(c), **{k: c.get(k, _OLDER.get(k)) for k in _SETTING_COLUMNS[1:]}}


def curve_styles(res: dict) -> dict[str, dict]:
    """Line style per setting label: colour = generator kind, line style = sharing degree and
    decorrelation, marker filled = up-scaling on, marker shape = encoding, max pooling and
    mode; so the dimensions a reader compares stay apart in one plot."""
    configs = {setting_label(s["config"]): s["config"] for s in res["settings"]}
    sngs = sorted({c["sng"] for c in configs.values()})
    shares = sorted({_sharing(c) for c in configs.values()})
    rest = sorted({_shape(c) for c in configs.values()})
    out = {}
    for label, c in configs.items():
        col = color(sngs.index(c["sng"]))
        out[label] = {"color": col, "ls": LINESTYLES[shares.index(_sharing(c)) % len(LINESTYLES)],
                      "marker": marker(rest.index(_shape(c))),
                      "mfc": col if c["upscale"] else "white"}
    return out


def _shape(c: dict) -> tuple[str, str, str]:
    """What the marker shape tells apart: encoding, max pooling and mode."""
    return c.get("encoding", "unipolar"), c["maxpool"], c["mode"]


def _sharing(c: dict) -> tuple[int, str]:
    return c["share"], c.get("decorrelate", "rotate") if c["share"] > 1 else ""


def accuracy_vs_length(res: dict, name: str = "emulate") -> Figure:
    """Top-1 accuracy over L, one curve per setting (colour: generator kind, line: sharing,
    filled marker: up-scaling); float and fixed point as horizontal lines."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    styles = curve_styles(res)
    for label, pts in curves(res, "accuracy").items():
        ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], label=label, **styles[label])
    fx = res["fixed_point"]
    ax.axhline(100 * res["float_accuracy"], color=PALETTE[-1], ls="--", lw=1, label="float")
    ax.axhline(100 * fx["accuracy"], color="0.45", ls=":", lw=1.2, label=f"fixed point {fx['bits']}-bit")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("stream length L (bits)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.legend()
    title = f"{res['model']} on {res['dataset']} ({res.get('n_images', '?')} images): SC accuracy vs L"
    ax.set_title(title)
    rows = [{**_setting_row(s), "accuracy": s["accuracy"], "float_accuracy": res["float_accuracy"],
             "fixed_point_accuracy": fx["accuracy"]} for s in res["settings"]]
    return Figure(f"{name}-accuracy-vs-length", title, fig,
                  _SETTING_COLUMNS + ["accuracy", "float_accuracy", "fixed_point_accuracy"], rows,
                  "Bit-true SC accuracy against stream length; dashed: float, dotted: fixed point.")


def error_vs_length(res: dict, name: str = "emulate") -> Figure:
    """Mean relative RMS error of the layer outputs over L on log axes, with a 1/sqrt(L) line
    through the worst shortest-L point (the Bernoulli rate; low-discrepancy streams fall faster)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    anchor = None
    styles = curve_styles(res)
    for label, pts in curves(res, "error").items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label, **styles[label])
        if pts and (anchor is None or pts[0][1] > anchor[1]):
            anchor = pts[0]
    if anchor is not None:
        ls = sorted({s["config"]["stream_length"] for s in res["settings"]})
        ax.plot(ls, [anchor[1] * (anchor[0] / L) ** 0.5 for L in ls], color=PALETTE[-1], ls="--", lw=1,
                marker="", label="1/sqrt(L) reference")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("stream length L (bits)")
    ax.set_ylabel("mean relative RMS error of layer outputs")
    ax.legend()
    title = f"{res['model']}: layer error vs float activations"
    ax.set_title(title)
    rows = [{**_setting_row(s), "mean_relative_rmse": mean_layer_error(s)} for s in res["settings"]]
    return Figure(f"{name}-error-vs-length", title, fig, _SETTING_COLUMNS + ["mean_relative_rmse"], rows,
                  "Error falls with L; the dashed line has slope -1/2 (independent Bernoulli bits).")


def layer_error(res: dict, name: str = "emulate") -> Figure:
    """Relative RMS error of each layer's output, one line per L, for the first setting
    (the CSV holds every setting)."""
    settings = res["settings"]
    first = setting_label(settings[0]["config"]) if settings else ""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    shown = sorted((s for s in settings if setting_label(s["config"]) == first),
                   key=lambda s: s["config"]["stream_length"])
    for i, s in enumerate(shown):
        layers = list(s["layer_error"])
        ax.plot(range(len(layers)), list(s["layer_error"].values()), color=color(i), marker=marker(i),
                label=f"L={s['config']['stream_length']}")
        ax.set_xticks(range(len(layers)), layers, rotation=45, ha="right")
    ax.set_yscale("log")
    ax.set_xlabel("layer (network order)")
    ax.set_ylabel("relative RMS error of layer output")
    ax.legend(ncols=2)
    title = f"{res['model']}: per-layer error ({first})"
    ax.set_title(title)
    rows = [{**_setting_row(s), "layer": k, "relative_rmse": v}
            for s in settings for k, v in s["layer_error"].items()]
    return Figure(f"{name}-layer-error", title, fig, _SETTING_COLUMNS + ["layer", "relative_rmse"], rows,
                  "Where the error enters and how it grows through the network.")


def emulation_figures(res: dict, name: str = "emulate") -> list[Figure]:
    """The three figures of one emulate run (none when it has no setting yet)."""
    if not res["settings"]:
        return []
    return [accuracy_vs_length(res, name), error_vs_length(res, name), layer_error(res, name)]


def compare_runs(runs: list[tuple[str, dict]]) -> Figure:
    """Accuracy loss against float over L for several emulate runs (models, datasets, seeds
    or settings run separately), one curve per run and setting."""
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    rows, i = [], 0
    for run, res in runs:
        for label, pts in curves(res, "accuracy").items():
            drop = [100 * (a - res["float_accuracy"]) for _, a in pts]
            ax.plot([p[0] for p in pts], drop, color=color(i), marker=marker(i), label=f"{run}: {label}")
            rows += [{"run": run, "model": res["model"], "dataset": res["dataset"], "setting": label,
                      "stream_length": L, "accuracy": a, "vs_float": a - res["float_accuracy"]} for L, a in pts]
            i += 1
    ax.axhline(0, color=PALETTE[-1], ls="--", lw=1, label="float")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("stream length L (bits)")
    ax.set_ylabel("accuracy minus float accuracy (points)")
    ax.legend(fontsize=7)
    title = "SC emulation across runs: accuracy lost against float"
    ax.set_title(title)
    return Figure("emulate-comparison", title, fig,
                  ["run", "model", "dataset", "setting", "stream_length", "accuracy", "vs_float"], rows,
                  "Each run against its own float model, so different networks compare on one scale.")


def plot_emulation(results: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """accuracy_vs_length.png, error_vs_length.png and layer_error.png next to results.json
    (or in out_dir): what `scnas emulate` draws into its run directory."""
    res, out = read_results(results, out_dir)
    return save_run_pngs(emulation_figures(res), "emulate", out)
