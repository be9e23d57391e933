"""The co-design figure: accuracy against estimated energy (left) and latency (right) per image,
every SC preset at every stream length before and after SC-aware training, every binary preset
at its fixed-point accuracy, the Pareto front marked (see reports.codesign for the join)."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import Patch

from reports.codesign import CodesignSet, codesign_sets, headline, pareto_indices
from reports.figure import Figure, slug
from reports.runs import Run
from reports.style import distinct_colors

__all__ = ["codesign_figures", "codesign_figure", "COLUMNS"]

COLUMNS = ["model", "design", "accel", "family", "stage", "stream_length", "sng", "share", "calib_percentile",
           "accuracy", "accuracy_std",
           "seeds", "n_images", "energy_pj", "latency_s", "area_um2", "pareto_energy", "pareto_latency"]
_MARKERS = {"untuned": "o", "SC-aware": "*", "fixed point": "s"}


def codesign_figures(runs: list[Run]) -> list[Figure]:
    """One figure per model that has estimate runs and accuracies joined on its content hash."""
    return [codesign_figure(cs) for cs in codesign_sets(runs)]


def _series(cs: CodesignSet) -> dict[str, str]:
    accels = sorted({p.accel for p in cs.points}, key=lambda a: (a.startswith("sc"), a))
    return dict(zip(accels, distinct_colors(len(accels))))


def codesign_figure(cs: CodesignSet) -> Figure:
    """Two panels (energy, latency) of one model's designs, with the equal-accuracy line."""
    cols = _series(cs)
    fronts = {k: pareto_indices(cs.points, k) for k in ("energy_pj", "latency_s")}
    fig, axes = plt.subplots(1, 2, figsize=(13.5, 4.8), sharey=True)
    first_sc = next((a for a in cols if any(p.accel == a and p.family == "sc" for p in cs.points)), None)
    sngs = sorted({p.sng for p in cs.points if p.sng})
    hollow = set(sngs[1:])  # the first generator kind filled, the others hollow
    for ax, key, scale, unit in ((axes[0], "energy_pj", 1e-6, "energy per image (uJ)"),
                                 (axes[1], "latency_s", 1e6, "latency per image (us)")):
        for i, p in enumerate(cs.points):
            on = i in fronts[key]
            ax.errorbar(getattr(p, key) * scale, 100 * p.accuracy, yerr=100 * p.accuracy_std or None,
                        fmt=_MARKERS[p.stage], color=cols[p.accel], ms=10 if p.stage == "SC-aware" else 7,
                        mfc="white" if p.sng in hollow else cols[p.accel],
                        mec="black" if on else cols[p.accel], mew=1.6 if on else 0.5, alpha=1.0 if on else 0.75)
            if p.family == "sc" and (key == "energy_pj" or p.accel == first_sc):  # latency: one label per L
                ax.annotate(f"{p.stream_length}", (getattr(p, key) * scale, 100 * p.accuracy), fontsize=6.5,
                            xytext=(3, 3), textcoords="offset points", color=cols[p.accel])
        front = sorted((cs.points[i] for i in fronts[key]), key=lambda p: getattr(p, key))
        ax.plot([getattr(p, key) * scale for p in front], [100 * p.accuracy for p in front], "-",
                drawstyle="steps-post", color="black", lw=1, label="Pareto front")
        if cs.float_accuracy is not None:
            ax.axhline(100 * cs.float_accuracy, color="grey", ls="--", lw=1, label="float")
            ax.axhline(100 * (cs.float_accuracy - 0.01), color="grey", ls=":", lw=1, label="float - 1 point")
        values = [getattr(p, key) for p in cs.points]
        if max(values) > 10 * min(values):  # a log axis only where the costs span a decade
            ax.set_xscale("log")
        ax.set_xlabel(f"estimated {unit}")
    axes[0].set_ylabel("top-1 accuracy (%): SC bit-true, binary fixed point")
    handles = [Patch(color=c, label=a) for a, c in cols.items()]
    handles += [plt.Line2D([], [], ls="", marker=m, color="grey", label=s) for s, m in _MARKERS.items()]
    handles += [plt.Line2D([], [], ls="", marker="o", color="grey", mfc="white" if g in hollow else "grey",
                           label=f"{g} SNGs" + (" (hollow)" if g in hollow else " (filled)")) for g in sngs]
    axes[1].legend(handles=handles + axes[1].get_legend_handles_labels()[0], fontsize=7, loc="upper left",
                   bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    title = f"Co-design: {cs.model} on {cs.dataset}, accuracy against cost per image"
    fig.suptitle(title)
    rows = [{"model": cs.model, "design": p.label, "accel": p.accel, "family": p.family, "stage": p.stage,
             "stream_length": p.stream_length, "sng": p.sng, "share": p.share,
             "calib_percentile": (("auto" if p.calib_percentile is None else p.calib_percentile)
                                  if p.family == "sc" else None), "accuracy": p.accuracy,
             "accuracy_std": p.accuracy_std,
             "seeds": p.seeds, "n_images": p.n_images, "energy_pj": p.energy_pj, "latency_s": p.latency_s,
             "area_um2": p.area_um2, "pareto_energy": i in fronts["energy_pj"],
             "pareto_latency": i in fronts["latency_s"]} for i, p in enumerate(cs.points)]
    return Figure(f"codesign-{slug(cs.model)}-{cs.model_sha256[:8]}", title, fig, COLUMNS, rows,
                  _caption(cs), series=cols)


def _caption(cs: CodesignSet) -> str:
    h = headline(cs)
    parts = ["Circles: SC before SC-aware training; stars: after; squares: binary presets at their fixed-point "
             "accuracy; numbers: stream lengths. Black edges and line: the Pareto front (lower cost, higher "
             "accuracy). Costs from the shared estimator, each SC point priced with its own generator kind and "
             "sharing; accuracies on the test images named in the CSV (mean ± std over seeds)."]
    if not cs.binary_measured:
        parts.append("No emulate run of this model gives the binary presets' fixed-point accuracy, so they are "
                     "not drawn; add one (`scnas emulate --model MODEL.pt ...`).")
    if cs.unpriced:
        parts.append(f"Not drawn, no estimate priced their generator or sharing: {', '.join(cs.unpriced)} (estimate "
                     "with --sc-config setting sng and share).")
    if cs.unestimated:
        parts.append(f"Not drawn, no estimate at their stream length: {', '.join(cs.unestimated)} (estimate "
                     "with that --stream-length).")
    sc, binary = h.get("best_sc"), h.get("best_binary")
    if sc is not None and binary is not None:
        verdict = "beats" if sc.energy_pj < binary.energy_pj else "does not beat"
        parts.append(f"Within 1 point of float, the cheapest SC design ({sc.label}, {100 * sc.accuracy:.2f}%) "
                     f"{verdict} the cheapest binary one ({binary.label}, {100 * binary.accuracy:.2f}%) on energy: "
                     f"{sc.energy_pj / 1e6:.3g} against {binary.energy_pj / 1e6:.3g} uJ per image.")
    elif binary is not None:
        parts.append(f"No SC design here is within 1 point of float; the cheapest binary one that is: "
                     f"{binary.label}, {binary.energy_pj / 1e6:.3g} uJ per image.")
    elif sc is not None and cs.binary_measured:
        parts.append(f"No binary design is within 1 point of float; the cheapest SC one that is: {sc.label}.")
    if h.get("term"):
        parts.append(f"What keeps SC above binary: {h['term'].replace('energy_', '').replace('_pj', '')} energy, "
                     f"{h['term_excess_pj'] / 1e6:.3g} uJ per image more than the binary design.")
    cheaper = h.get("cheaper_sc")
    if cheaper is not None and not h.get("sc_wins"):
        parts.append(f"The most accurate SC design that is cheaper than binary: {cheaper.label}, "
                     f"{100 * cheaper.accuracy:.2f}% at {cheaper.energy_pj / 1e6:.3g} uJ.")
    return " ".join(parts)
