"""Figures of early decision termination (`scnas emulate --edt`): accuracy against the cycles
used and against the estimated energy per image, beside the fixed-length runs; and how many
of each ReLU layer's outputs are settled at each checkpoint."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from reports.figure import Figure
from reports.plots import setting_label
from reports.style import PALETTE, distinct_colors, marker

__all__ = ["edt_settings", "edt_tradeoff", "relu_settled", "edt_figures"]

_RULE_LINES = {"margin": "-", "stable": "--"}
_MAX_PANELS = 6


def edt_settings(res: dict) -> list[dict]:
    """The settings of a run that measured early termination."""
    return [s for s in res["settings"] if isinstance(s.get("edt"), dict)]


def _name(s: dict) -> str:
    c = s["config"]
    return f"{setting_label(c)} L={c['stream_length']}"


def _short_names(settings: list[dict]) -> dict[str, str]:
    """Full setting name -> the config values that differ between the settings, and L."""
    keys = [k for k in settings[0]["config"] if k not in ("stream_length", "layers")
            and len({str(s["config"].get(k)) for s in settings}) > 1]
    return {_name(s): " ".join([str(s["config"][k]) if k in ("sng", "encoding", "maxpool", "mode")
                                else f"{k}={s['config'][k]}" for k in keys] + [f"L={s['config']['stream_length']}"])
            for s in settings}


def edt_tradeoff(res: dict, name: str = "emulate") -> Figure:
    """Two panels: accuracy against the mean fraction of cycles the deciding run used, and
    against the estimated energy per image. Per setting (colour): the fixed-length runs at each
    checkpoint (squares, dotted), each rule's threshold sweep (solid: margin, dashed: stable),
    and the rules asked for (large markers)."""
    settings = edt_settings(res)
    short = _short_names(settings)
    colors = dict(zip([short[_name(s)] for s in settings], distinct_colors(len(settings))))
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.6), sharey=True)
    rows = []
    for s in settings:
        e, label = s["edt"], _name(s)
        col = colors[short[label]]
        L = s["config"]["stream_length"]
        fixed = e["fixed"]
        for ax, key in zip(axes, ("fraction", "energy")):
            fx = [f["stream_length"] / L for f in fixed] if key == "fraction" else [f["energy_pj"] / 1e6 for f in fixed]
            ax.plot(fx, [100 * f["accuracy"] for f in fixed], color=col, ls=":", marker="s", ms=5)
            for kind, pts in e["curves"].items():
                xs = [p["prefix_fraction"] if key == "fraction" else p["energy_pj"] / 1e6 for p in pts]
                ax.plot(xs, [100 * p["accuracy"] for p in pts], color=col, ls=_RULE_LINES.get(kind, "-."), lw=1.1,
                        marker="")
            for i, o in enumerate(e["rules"]):
                xv = o["prefix_fraction"] if key == "fraction" else o["energy_pj"] / 1e6
                ax.plot([xv], [100 * o["accuracy"]], color=col, marker=marker(i + 1), ms=8, ls="", mec="black")
        rows += [{"setting": label, "run": f"fixed L={f['stream_length']}", "accuracy": f["accuracy"],
                  "prefix_fraction": f["stream_length"] / L, "spent_fraction": f["stream_length"] / L,
                  "energy_pj": f["energy_pj"], "latency_s": f.get("latency_s")} for f in fixed]
        rows += [{"setting": label, "run": o["label"], "accuracy": o["accuracy"], "prefix_fraction": o["prefix_fraction"],
                  "spent_fraction": o["spent_fraction"], "energy_pj": o["energy_pj"], "latency_s": o.get("latency_s")}
                 for o in e["rules"]]
    axes[0].set_xlabel("mean fraction of the stream used by the deciding run")
    axes[1].set_xlabel("estimated energy per image (uJ; EDT: cycles spent, checks included)")
    axes[1].set_xscale("log")
    axes[0].set_ylabel("top-1 accuracy (%)")
    fl = 100 * res["float_accuracy"]
    for ax in axes:
        ax.axhline(fl, color=PALETTE[-1], ls="--", lw=0.9)
    _legends(fig, axes, colors, [o["label"] for o in settings[0]["edt"]["rules"]] if settings else [])
    title = f"{res['model']} on {res['dataset']} ({res.get('n_images', '?')} images): early decision termination"
    fig.suptitle(title)
    return Figure(f"{name}-edt-tradeoff", title, fig,
                  ["setting", "run", "accuracy", "prefix_fraction", "spent_fraction", "energy_pj", "latency_s"], rows,
                  "Squares: every image stopped at one fixed length; lines: a stopping rule over its thresholds "
                  "(solid margin:Z, dashed stable:M); large markers: the rules asked for. Left: cycles of the run "
                  "that decided; right: energy from the shared estimator with the cycles this accelerator spends "
                  "(a continuing image re-runs its layers at each checkpoint, since counters are read back into "
                  "binary between layers) and the decision checks. Dashed grey: float.",
                  show_table=True, series=colors)


def _legends(fig: plt.Figure, axes, colors: dict[str, str], rules: list[str]) -> None:
    """Colour = setting (left panel); line style and marker = what a line or point is (right)."""
    axes[0].legend([Line2D([], [], color=c, lw=2) for c in colors.values()], list(colors), fontsize=7,
                   loc="lower right", title="setting", title_fontsize=7)
    kinds = [Line2D([], [], color="0.3", ls=":", marker="s", ms=5),
             *[Line2D([], [], color="0.3", ls=ls) for ls in _RULE_LINES.values()],
             *[Line2D([], [], color="0.3", marker=marker(i + 1), ms=7, ls="", mec="black") for i in range(len(rules))]]
    labels = ["fixed L (every image)", *[f"{k}: threshold sweep" for k in _RULE_LINES], *rules]
    axes[1].legend(kinds, labels, loc="lower right", fontsize=7, title="line / marker", title_fontsize=7,
                   ncols=2 if len(labels) > 6 else 1)


def relu_settled(res: dict, name: str = "emulate") -> Figure:
    """Per ReLU layer (x) and checkpoint length (colour and marker, the same in every panel):
    the share of its outputs already clipped as at full length (at 0 or at the top), one
    panel per setting (the first six; the CSV holds every setting)."""
    settings = edt_settings(res)
    shown = settings[:_MAX_PANELS]
    ks = sorted({k for s in settings for k in s["edt"]["checkpoints"]})
    colors = {f"L={k}": c for k, c in zip(ks, distinct_colors(len(ks)))}
    style = {k: {"color": colors[f"L={k}"], "marker": marker(i)} for i, k in enumerate(ks)}
    ncol = max(1, min(2, len(shown)))
    nrow = -(-len(shown) // ncol) or 1
    fig, axes = plt.subplots(nrow, ncol, figsize=(6.0 * ncol, 3.8 * nrow + 0.6), squeeze=False, sharey=True)
    rows = []
    for s in settings:
        clip = s["edt"].get("relu_clipped", {})
        rows += [{"setting": _name(s), "layer": n, "checkpoint": k, "settled": clip[n]["settled"][i],
                  "at_zero": clip[n]["zero"][i], "at_top": clip[n]["top"][i]}
                 for i, k in enumerate(s["edt"]["checkpoints"]) for n in clip]
    for ax, s in zip(axes.ravel(), shown):
        clip = s["edt"].get("relu_clipped", {})
        layers = list(clip)
        for i, k in enumerate(s["edt"]["checkpoints"]):
            ax.plot(range(len(layers)), [100 * clip[n]["settled"][i] for n in layers], **style[k])
        ax.set_xticks(range(len(layers)), layers, rotation=45, ha="right", fontsize=7)
        ax.set_title(_name(s), fontsize=8)
        ax.set_xlabel("ReLU output (network order)")
    for ax in axes.ravel()[len(shown):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("outputs settled (% clipped as at L)")
    axes[0, 0].legend([Line2D([], [], ls="-", **style[k]) for k in ks], list(colors), fontsize=7,
                      ncols=2 if len(ks) > 5 else 1)
    title = f"{res['model']}: ReLU outputs settled at each checkpoint"
    fig.suptitle(title)
    left = [_name(s) for s in settings[_MAX_PANELS:]]
    note = f" Not drawn (in the CSV): {'; '.join(left)}." if left else ""
    return Figure(f"{name}-edt-relu-settled", title, fig,
                  ["setting", "layer", "checkpoint", "settled", "at_zero", "at_top"], rows,
                  "A ReLU output clipped at 0 or at the top at a checkpoint, and clipped the same way at full "
                  "length, needs no more cycles: the share a layer-level termination could skip." + note,
                  series=colors)


def edt_figures(res: dict, name: str = "emulate") -> list[Figure]:
    """The EDT figures of an emulate run (none when no setting measured EDT)."""
    if not edt_settings(res):
        return []
    return [edt_tradeoff(res, name), relu_settled(res, name)]
