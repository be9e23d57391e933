"""Figures of `scnas emulate` runs: accuracy and error against stream length, per-layer error."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from reports.fig_edt import edt_figures
from reports.figure import Figure
from reports.plots import (accuracy_points, curves, layer_modules, mean_layer_error, read_results, save_run_pngs,
                           setting_label)
from reports.style import LINESTYLES, PALETTE, distinct_colors, marker

__all__ = ["curve_styles", "generator_colors", "accuracy_vs_length", "error_vs_length", "layer_error", "emulation_figures",
           "compare_runs", "plot_emulation"]

_SETTING_COLUMNS = ["setting", "sng", "encoding", "share", "decorrelate", "upscale", "maxpool", "mode",
                    "stream_length", "seed"]
_MAX_PANELS = 6  # per-layer error panels; the settings beyond are named in the caption
_OLDER = {"encoding": "unipolar", "decorrelate": "rotate"}  # what results written before these keys ran


def _setting_row(s: dict) -> dict:
    c = s["config"]
    return {"setting": setting_label(c), **{k: c.get(k, _OLDER.get(k)) for k in _SETTING_COLUMNS[1:]}}


def curve_styles(res: dict) -> dict[str, dict]:
    """Line style per setting label: colour = generator kind, line style = sharing degree and
    decorrelation, marker filled = up-scaling on, marker shape = encoding, max pooling and
    mode; so the dimensions a reader compares stay apart in one plot."""
    configs = {setting_label(s["config"]): s["config"] for s in res["settings"]}
    shares = sorted({_sharing(c) for c in configs.values()})
    rest = sorted({_shape(c) for c in configs.values()})
    cols = generator_colors(res)
    out = {}
    for label, c in configs.items():
        col = cols[c["sng"]]
        out[label] = {"color": col, "ls": LINESTYLES[shares.index(_sharing(c)) % len(LINESTYLES)],
                      "marker": marker(rest.index(_shape(c))),
                      "mfc": col if c["upscale"] else "white"}
    return out


def generator_colors(res: dict) -> dict[str, str]:
    """Generator kind -> colour (what colour means in the emulation figures)."""
    sngs = sorted({s["config"]["sng"] for s in res["settings"]})
    return dict(zip(sngs, distinct_colors(len(sngs))))


def _shape(c: dict) -> tuple[str, str, str]:
    """What the marker shape tells apart: encoding, max pooling and mode."""
    return c.get("encoding", "unipolar"), c["maxpool"], c["mode"]


def _sharing(c: dict) -> tuple[int, str]:
    return c["share"], c.get("decorrelate", "rotate") if c["share"] > 1 else ""


def accuracy_vs_length(res: dict, name: str = "emulate") -> Figure:
    """Top-1 accuracy over L, one curve per setting (colour: generator kind, line: sharing,
    filled marker: up-scaling) with Wilson 95% error bars over the images, or a mean ± std band
    over seeds; float and fixed point as horizontal lines."""
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    styles = curve_styles(res)
    first = {(setting_label(s["config"]), s["config"]["stream_length"]): s for s in reversed(res["settings"])}
    rows = []
    for label, pts in accuracy_points(res).items():
        xs, ys = [p["L"] for p in pts], [100 * p["accuracy"] for p in pts]
        err = [[y - 100 * p["low"] for y, p in zip(ys, pts)], [100 * p["high"] - y for y, p in zip(ys, pts)]]
        if any(p["seeds"] > 1 for p in pts):
            ax.plot(xs, ys, label=label, **styles[label])
            ax.fill_between(xs, [100 * p["low"] for p in pts], [100 * p["high"] for p in pts],
                            color=styles[label]["color"], alpha=0.18, lw=0)
        else:
            ax.errorbar(xs, ys, yerr=err, capsize=3, elinewidth=0.9, label=label, **styles[label])
        rows += [{**_setting_row(first[label, p["L"]]), "accuracy": p["accuracy"], "low": p["low"],
                  "high": p["high"], "seeds": p["seeds"], "n_images": p["n_images"]} for p in pts]
    fx = res["fixed_point"]
    ax.axhline(100 * res["float_accuracy"], color=PALETTE[-1], ls="--", lw=1, label="float")
    ax.axhline(100 * fx["accuracy"], color="0.45", ls=":", lw=1.2, label=f"fixed point {fx['bits']}-bit")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("stream length L (bits)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.legend(fontsize=7)
    title = f"{res['model']} on {res['dataset']} ({res.get('n_images', '?')} images): SC accuracy vs L"
    ax.set_title(title)
    for r in rows:
        r.update(float_accuracy=res["float_accuracy"], fixed_point_accuracy=fx["accuracy"],
                 seed=r["seed"] if r["seeds"] == 1 else None)
    cols = _SETTING_COLUMNS + ["accuracy", "low", "high", "seeds", "n_images", "float_accuracy",
                               "fixed_point_accuracy"]
    return Figure(f"{name}-accuracy-vs-length", title, fig, cols, rows,
                  "Bit-true SC accuracy against stream length; bars: Wilson 95% interval over the test images "
                  "(one seed), bands: mean ± std over seeds; dashed: float, dotted: fixed point.",
                  series=generator_colors(res))


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
                  "Error falls with L; the dashed line has slope -1/2 (independent Bernoulli bits).",
                  series=generator_colors(res))


def _panel_order(settings: list[dict]) -> list[str]:
    """Setting labels with every generator kind first (one each, in turn), then the rest."""
    labels = list(dict.fromkeys(setting_label(s["config"]) for s in settings))
    sng = {setting_label(s["config"]): s["config"]["sng"] for s in settings}
    first = list({sng[k]: k for k in reversed(labels)}.values())[::-1]
    return first + [k for k in labels if k not in first]


def layer_error(res: dict, name: str = "emulate") -> Figure:
    """Relative RMS error of each layer's output (layers by module path), one panel per
    setting (every generator kind drawn; beyond six panels the rest are named in the caption),
    one line per L (mean over seeds); the CSV holds every setting."""
    settings = res["settings"]
    order = _panel_order(settings)
    shown, left = order[:_MAX_PANELS], order[_MAX_PANELS:]
    mods = layer_modules(res)
    lengths = sorted({s["config"]["stream_length"] for s in settings})
    cols = {f"L={L}": c for L, c in zip(lengths, distinct_colors(len(lengths)))}
    ncol = min(3, len(shown)) or 1
    nrow = max(1, -(-len(shown) // ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol + 0.6, 3.6 * nrow + 0.8), squeeze=False, sharey=True)
    for ax, label in zip(axes.ravel(), shown):
        for i, L in enumerate(lengths):
            errs = [s["layer_error"] for s in settings if setting_label(s["config"]) == label
                    and s["config"]["stream_length"] == L]
            if not errs:
                continue
            layers = list(dict.fromkeys(k for e in errs for k in e))
            vals = [sum(e.get(k, float("nan")) for e in errs) / len(errs) for k in layers]
            ax.plot(range(len(layers)), vals, color=cols[f"L={L}"], marker=marker(i), label=f"L={L}")
            ax.set_xticks(range(len(layers)), [mods.get(k, k) for k in layers], rotation=45, ha="right")
        ax.set_yscale("log")
        ax.set_title(label, fontsize=8)
        ax.set_xlabel("layer (module, network order)")
    for ax in axes.ravel()[len(shown):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("relative RMS error of layer output (ratio)")
    axes[0, 0].legend(ncols=2, fontsize=7)
    title = f"{res['model']}: per-layer error, {len(shown)} setting(s)"
    fig.suptitle(title)
    rows = [{**_setting_row(s), "layer": mods.get(k, k), "relative_rmse": v}
            for s in settings for k, v in s["layer_error"].items()]
    note = f" Not drawn (in the CSV): {'; '.join(left)}." if left else ""
    return Figure(f"{name}-layer-error", title, fig, _SETTING_COLUMNS + ["layer", "relative_rmse"], rows,
                  "Where the error enters and how it grows through the network; layers by module path." + note,
                  series=cols)


def emulation_figures(res: dict, name: str = "emulate") -> list[Figure]:
    """The three figures of one emulate run, and its early-termination figures when it measured
    them (none when it has no setting yet)."""
    if not res["settings"]:
        return []
    return [accuracy_vs_length(res, name), error_vs_length(res, name), layer_error(res, name), *edt_figures(res, name)]


def compare_runs(runs: list[tuple[str, dict]]) -> Figure:
    """Accuracy loss against float over L for several emulate runs (models, datasets, seeds
    or settings run separately), one curve per run and setting, with the error bars of
    accuracy_vs_length (Wilson over the images, or ± std over seeds)."""
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    curves_ = [(run, res, label, pts) for run, res in runs for label, pts in accuracy_points(res).items()]
    cols = dict(zip((f"{run}: {label}" for run, _, label, _ in curves_), distinct_colors(len(curves_))))
    rows = []
    for i, (run, res, label, pts) in enumerate(curves_):
        fl = res["float_accuracy"]
        drop = [100 * (p["accuracy"] - fl) for p in pts]
        err = [[100 * (p["accuracy"] - p["low"]) for p in pts], [100 * (p["high"] - p["accuracy"]) for p in pts]]
        ax.errorbar([p["L"] for p in pts], drop, yerr=err, capsize=3, elinewidth=0.9, color=cols[f"{run}: {label}"],
                    marker=marker(i), label=f"{run}: {label}")
        rows += [{"run": run, "model": res["model"], "dataset": res["dataset"], "setting": label,
                  "stream_length": p["L"], "accuracy": p["accuracy"], "vs_float": p["accuracy"] - fl,
                  "low": p["low"], "high": p["high"], "seeds": p["seeds"]} for p in pts]
    ax.axhline(0, color=PALETTE[-1], ls="--", lw=1, label="float")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("stream length L (bits)")
    ax.set_ylabel("accuracy minus float accuracy (percentage points)")
    ax.legend(fontsize=7)
    title = "SC emulation across runs: accuracy lost against float"
    ax.set_title(title)
    return Figure("emulate-comparison", title, fig,
                  ["run", "model", "dataset", "setting", "stream_length", "accuracy", "vs_float", "low", "high",
                   "seeds"], rows,
                  "Each run against its own float model, so different networks compare on one scale; bars: "
                  "Wilson 95% interval over the images (one seed) or ± std over seeds.", series=cols)


def plot_emulation(results: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """accuracy_vs_length.png, error_vs_length.png and layer_error.png next to results.json
    (or in out_dir): what `scnas emulate` draws into its run directory."""
    res, out = read_results(results, out_dir)
    return save_run_pngs(emulation_figures(res), "emulate", out)
