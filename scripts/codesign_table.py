"""Print the README's co-design table (markdown) from the runs of scripts/codesign_table.sh.

Usage: python scripts/codesign_table.py RUNS/MODEL
Rows: each stream length and generator: the calibration percentile each seed's run chose (or was
given), bit-true accuracy before (at that percentile) and after SC-aware fine-tuning
and the fine-tuned model's float accuracy (mean ± std over seeds, all test images), then each SC
preset's energy, latency and area per image; below, the binary presets at fixed point. The join
is reports.codesign's (the model's content hash), the same as the report's figure.
"""

from __future__ import annotations

import statistics
import sys

from reports.codesign import codesign_sets, headline
from reports.runs import find_runs, load_runs


def _ms(values: list[float]) -> str:
    if not values:
        return "-"
    m = 100 * statistics.fmean(values)
    return f"{m:.2f} ± {100 * statistics.stdev(values):.2f}" if len(values) > 1 else f"{m:.2f}"


def main(root: str) -> None:
    runs, _ = load_runs(find_runs([root]))
    tuned = [r for r in runs if r.kind == "finetune"]
    (cs,) = codesign_sets(runs)
    sc_accels = sorted({p.accel for p in cs.points if p.family == "sc"})
    print(f"{cs.model} on {cs.dataset}; float {100 * cs.float_accuracy:.2f}%; "
          f"{tuned[0].results['n_test_images']} test images; {len(tuned)} fine-tune runs\n")
    head = ["L", "SNG", "percentile (per seed)", "bit-true before (%)", "bit-true after (%)", "float after (%)"]
    head += [f"{a}: µJ / µs / mm²" for a in sc_accels]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    keys = sorted({(r.results["sc_config"]["stream_length"], r.results["sc_config"]["sng"]) for r in tuned})
    for L, sng in keys:
        mine = [r.results for r in tuned if (r.results["sc_config"]["stream_length"], r.results["sc_config"]["sng"])
                == (L, sng)]
        pct = ", ".join(f"{r['sc_config'].get('calib_percentile', 100.0):g}" for r in mine)
        cells = [str(L), sng, pct, _ms([r["bit_accuracy_before"] for r in mine]), _ms([r["bit_accuracy_after"] for r in mine]),
                 _ms([r["float_accuracy_after"] for r in mine])]
        for a in sc_accels:
            p = next((p for p in cs.points if p.accel == a and p.stream_length == L and p.sng == sng
                      and p.stage == "SC-aware"), None)
            cells.append("-" if p is None else f"{p.energy_pj / 1e6:.1f} / {p.latency_s * 1e6:,.0f} / "
                                               f"{p.area_um2 / 1e6:.2f}")
        print("| " + " | ".join(cells) + " |")
    print("\n| binary preset | fixed-point accuracy (%) | µJ | µs | mm² |\n|---|---|---|---|---|")
    for p in sorted((p for p in cs.points if p.family == "binary"), key=lambda p: p.energy_pj):
        print(f"| {p.accel} | {100 * p.accuracy:.2f} | {p.energy_pj / 1e6:.1f} | {p.latency_s * 1e6:,.1f} | "
              f"{p.area_um2 / 1e6:.2f} |")
    h = headline(cs)
    for family in ("sc", "binary"):
        p = h.get(f"best_{family}")
        print(f"\nbest {family} within 1 point of float: " + ("none" if p is None else
              f"{p.label}, {100 * p.accuracy:.2f}%, {p.energy_pj / 1e6:.1f} µJ, {p.latency_s * 1e6:,.1f} µs"))
    if h.get("cheaper_sc") is not None:
        p = h["cheaper_sc"]
        print(f"most accurate SC design cheaper than binary: {p.label}, {100 * p.accuracy:.2f}%, "
              f"{p.energy_pj / 1e6:.1f} µJ")
    if h.get("term"):
        print(f"term keeping the reference SC design above binary: {h['term']} (+{h['term_excess_pj'] / 1e6:.3g} µJ)")


if __name__ == "__main__":
    main(sys.argv[1])
