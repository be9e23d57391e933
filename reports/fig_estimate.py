"""Figures of `scnas estimate` runs: binary against SC per layer and in total, energy by
component, and SC energy and area over the stream length against the binary designs."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from reports.figure import Figure
from reports.plots import read_results, save_run_pngs
from reports.style import distinct_colors, family_colors, marker
from reports.units import label, unit_of

__all__ = ["accel_colors", "layer_bars", "totals", "energy_breakdown", "sc_vs_binary", "estimate_figures", "plot_estimate"]

PARTS = ("mac", "local", "sram", "dram", "sng", "stream_buf", "edt", "stream_pool")
_METRICS = (("latency_s", "latency"), ("energy_pj", "energy per inference"), ("area_um2", "area"))


def _family(t: dict) -> str:
    """What one colour stands for: a binary accelerator, or an SC design (name without its -L
    suffix) with its mapping and weight-stream option, whose stream lengths are its shades."""
    if t.get("kind") != "sc":
        return t["accel"]
    ws = f", {t['weight_stream']} weights" if t.get("weight_stream") else ""  # older runs lack it
    return f"{t['accel'].rsplit('-L', 1)[0]} ({t['dataflow']}{ws})"


def accel_colors(res: dict) -> dict[str, str]:
    """Accelerator name -> colour: one hue per family, an SC family shaded light (short L) to
    dark (long L); no two accelerators alike."""
    fams: dict[str, list[dict]] = {}
    for e in res["estimates"]:
        fams.setdefault(_family(e["total"]), []).append(e["total"])
    return family_colors({f: [t["accel"] for t in sorted(ts, key=lambda t: t.get("stream_length") or 0)]
                          for f, ts in fams.items()})


def _log_if_wide(ax, values: list[float], axis: str = "y") -> None:
    """Log scale where the positive values span more than a decade, linear otherwise."""
    vals = [v for v in values if v > 0]
    if vals and max(vals) > 10 * min(vals):
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")


def layer_bars(res: dict, key: str, name: str = "estimate") -> Figure:
    """Per-layer latency_s or energy_pj: one line over the layers per accelerator (binary solid,
    SC dashed), coloured by family and shaded by stream length, the legend beneath."""
    ests = res["estimates"]
    names = list(dict.fromkeys(r["name"] for e in ests for r in e["layers"]))  # all layers, in order
    what = "latency" if key == "latency_s" else "energy"
    cols = accel_colors(res)
    fams = list(dict.fromkeys(_family(e["total"]) for e in ests))
    fig, ax = plt.subplots(figsize=(min(24.0, max(7.0, 0.45 * len(names) + 3)), 5.0))
    for e in ests:
        t = e["total"]
        by_name = {r["name"]: unit_of(key)(r[key]) for r in e["layers"]}
        ax.plot(range(len(names)), [by_name.get(n, np.nan) for n in names], color=cols[t["accel"]],
                marker=marker(fams.index(_family(t))), ls="--" if t.get("kind") == "sc" else "-", lw=1.3, ms=5,
                label=_label(t))
    ax.set_yscale("log")
    ax.set_xticks(range(len(names)), names, rotation=90)
    ax.set_xlabel("layer (network order)")
    ax.set_ylabel(label(key, what))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25 - 0.012 * max(map(len, names), default=0)),
              ncols=min(4, len(ests)), fontsize=7, frameon=False)
    title = f"{res['model']} {tuple(res['input_shape'])}: per-layer {what}, binary (solid) vs SC (dashed)"
    ax.set_title(title)
    rows = [{"accel": e["total"]["accel"], "kind": e["total"].get("kind"), "layer": r["name"], key: r[key]}
            for e in ests for r in e["layers"]]
    return Figure(f"{name}-{what}-per-layer", title, fig, ["accel", "kind", "layer", key], rows,
                  f"Per-layer {what} on each accelerator (log scale); one hue per accelerator family, "
                  "darker for longer SC streams.", series=cols)


def _label(t: dict) -> str:
    return f"{t['accel']} ({t.get('kind', 'binary')})"


def totals(res: dict, name: str = "estimate") -> Figure:
    """Total latency, energy and area per accelerator, side by side (colours as in the
    per-layer figures)."""
    ts = [e["total"] for e in res["estimates"]]
    cols = accel_colors(res)
    fig, axes = plt.subplots(1, 3, figsize=(max(12.0, 0.45 * 3 * len(ts) + 3), 4.4))
    for ax, (key, what) in zip(axes, _METRICS):
        ax.bar(range(len(ts)), [unit_of(key)(t[key]) for t in ts], color=[cols[t["accel"]] for t in ts],
               edgecolor="black", lw=0.4)
        ax.set_xticks(range(len(ts)), [t["accel"] for t in ts], rotation=60, ha="right")
        _log_if_wide(ax, [t[key] for t in ts])  # log only where linear bars would vanish
        ax.set_ylabel(label(key, what))
    title = f"{res['model']}: totals per accelerator"
    fig.suptitle(title)
    cols_ = ["accel", "kind", "dataflow", "stream_length", "latency_s", "energy_pj", "area_um2", "dram_bytes",
             "utilization"]
    rows = [{c: t.get(c) if c != "stream_length" or t.get("kind") == "sc" else None for c in cols_} for t in ts]
    return Figure(f"{name}-totals", title, fig, cols_, rows, "Latency, energy and area of the whole network.",
                  show_table=True, series=cols)


def energy_breakdown(res: dict, name: str = "estimate") -> Figure:
    """Energy per accelerator stacked by component (MACs, local, SRAM, DRAM, SNGs, ...), one
    colour per component."""
    ts = [e["total"] for e in res["estimates"]]
    parts = [p for p in PARTS if any(t.get(f"energy_{p}_pj") for t in ts)]
    cols = dict(zip(parts, distinct_colors(len(parts))))
    fig, ax = plt.subplots(figsize=(min(24.0, max(6.4, 0.9 * len(ts) + 3)), 4.4))
    bottom = np.zeros(len(ts))
    rows = []
    for part in parts:
        vals = np.array([t.get(f"energy_{part}_pj", 0.0) for t in ts])
        rows += [{"accel": t["accel"], "kind": t.get("kind"), "part": part, "energy_pj": float(v)}
                 for t, v in zip(ts, vals) if v]
        ax.bar(range(len(ts)), unit_of("energy_pj")(vals), bottom=bottom, color=cols[part], label=part,
               edgecolor="white", lw=0.3)
        bottom += unit_of("energy_pj")(vals)
    ax.set_xticks(range(len(ts)), [t["accel"] for t in ts], rotation=45, ha="right")
    ax.set_ylabel(label("energy_pj", "energy per inference"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="component")
    title = f"{res['model']}: energy by component"
    ax.set_title(title)
    return Figure(f"{name}-energy-breakdown", title, fig, ["accel", "kind", "part", "energy_pj"], rows,
                  "Where the energy goes: arithmetic, local and global buffers, DRAM, SC stream generation.",
                  series=cols)


def sc_series(res: dict) -> dict[str, list[tuple[int, dict]]]:
    """SC totals grouped by design (name without -L suffix, dataflow = mapping, weight streams),
    sorted by L; only designs run at two or more lengths."""
    out: dict[str, list[tuple[int, dict]]] = {}
    for e in res["estimates"]:
        t = e["total"]
        if t.get("kind") == "sc":
            out.setdefault(_family(t), []).append((int(t["stream_length"]), t))
    return {k: sorted(v, key=lambda p: p[0]) for k, v in out.items() if len(v) >= 2}


def _crossing(series: dict, binary: list[dict], key: str) -> list[tuple[int, float]]:
    """The SC points near the binary designs (within 1.5x of the costliest): where SC and
    binary cross, drawn again on a linear zoom so the crossing can be read."""
    if not binary:
        return []
    top = 1.5 * max(t[key] for t in binary)
    return [(L, t[key]) for pts in series.values() for L, t in pts if t[key] <= top]


def _sc_panel(ax, series: dict, binary: list[dict], key: str, what: str, cols: dict, rows: dict) -> None:
    """One metric over L: a line per SC design (filled markers where below every binary design),
    each binary design a horizontal line."""
    best = min((t[key] for t in binary), default=None)
    conv = unit_of(key)
    for i, (design, pts) in enumerate(series.items()):
        Ls, vals = [p[0] for p in pts], [p[1][key] for p in pts]
        ax.plot(Ls, [conv(v) for v in vals], "-", color=cols[design], marker="", label=design)
        for L, v in zip(Ls, vals):
            win = best is not None and v < best
            ax.plot(L, conv(v), marker(i), color=cols[design], mfc=cols[design] if win else "white")
            row = rows.setdefault((design, L), {"design": design, "stream_length": L})
            row.update({key: v, f"{key}_below_binary": win})
    for t in binary:
        ax.axhline(conv(t[key]), ls="--", lw=1.2, color=cols[t["accel"]], label=f"{t['accel']} (binary)")
    ax.set_xscale("log", base=2)
    _log_if_wide(ax, [p[1][key] for pts in series.values() for p in pts] + [t[key] for t in binary])
    ax.set_xlabel("stream length L (bits)")
    ax.set_ylabel(label(key, what))


def sc_vs_binary(res: dict, name: str = "estimate") -> Figure | None:
    """SC latency, energy and area over L, one line per SC design and mapping, binary designs as
    horizontal lines (log axes where a metric spans decades); filled markers where the SC design
    is below every binary one; a linear zoom on the energy where SC and binary cross."""
    series = sc_series(res)
    if not series:
        return None
    binary = [e["total"] for e in res["estimates"] if e["total"].get("kind") != "sc"]
    cols = dict(zip(list(series) + [t["accel"] for t in binary], distinct_colors(len(series) + len(binary))))
    near = _crossing(series, binary, "energy_pj")
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.4)) if near else plt.subplots(1, 3, figsize=(15, 4.6))
    rows: dict[tuple, dict] = {}
    for ax, (key, what) in zip(axes.ravel(), _METRICS):
        _sc_panel(ax, series, binary, key, what, cols, rows)
        ax.set_title(what)
    if near:
        zoom = axes.ravel()[3]
        _sc_panel(zoom, series, binary, "energy_pj", "energy per inference", cols, {})
        vals = [v for _, v in near] + [t["energy_pj"] for t in binary]
        zoom.set_yscale("linear")
        zoom.set_ylim(unit_of("energy_pj")(0.97 * min(vals)), unit_of("energy_pj")(1.06 * max(vals)))
        zoom.set_xlim(min(L for L, _ in near) / 1.3, max(L for L, _ in near) * 1.3)
        zoom.set_title("energy where SC meets binary (linear zoom)")
    axes.ravel()[0].legend(fontsize=7)
    title = f"{res['model']}: SC over L against binary (filled: below every binary design)"
    fig.suptitle(title)
    cols_ = ["design", "stream_length", "latency_s", "latency_s_below_binary", "energy_pj", "energy_pj_below_binary",
             "area_um2", "area_um2_below_binary"]
    return Figure(f"{name}-sc-vs-binary", title, fig, cols_, list(rows.values()),
                  "Each SC design with its mapping (dataflow) and weight-stream option, over L; dashed "
                  "horizontal lines: the binary designs.", series=cols)


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
