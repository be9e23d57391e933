"""Markdown tables from run directories' results.json (for READMEs and papers)."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["emulation_table", "estimate_table"]


def emulation_table(results: str | Path | dict) -> str:
    """Rows: float, fixed point, then each setting; columns: setting, L, accuracy, vs float."""
    res = results if isinstance(results, dict) else json.loads(Path(results).read_text())
    fl, fx = res["float_accuracy"], res["fixed_point"]
    lines = ["| model | SNG | sharing | up-scaling | L | accuracy | vs float |", "|---|---|---|---|---|---|---|",
             f"| float | - | - | - | - | {100 * fl:.2f}% | - |",
             f"| fixed point {fx['bits']}-bit | - | - | yes | - | {100 * fx['accuracy']:.2f}% | "
             f"{100 * (fx['accuracy'] - fl):+.2f} |"]
    for s in sorted(res["settings"], key=lambda s: (s["config"]["sng"], s["config"]["share"],
                                                     not s["config"]["upscale"], s["config"]["stream_length"])):
        c = s["config"]
        share = "private" if c["share"] == 1 else f"{c['share']} per SNG, {c.get('decorrelate', 'rotate')}"
        enc = " bipolar" if c.get("encoding", "unipolar") == "bipolar" else ""
        lines.append(f"| SC {c['mode']}{enc} | {c['sng']} | {share} | {'yes' if c['upscale'] else 'no'} | "
                     f"{c['stream_length']} | {100 * s['accuracy']:.2f}% | {100 * (s['accuracy'] - fl):+.2f} |")
    return "\n".join(lines)


def estimate_table(results: str | Path | dict) -> str:
    """One row per accelerator of an `scnas estimate` run: latency, energy, area, traffic."""
    res = results if isinstance(results, dict) else json.loads(Path(results).read_text())
    lines = ["| accelerator | kind | dataflow | L | latency (us) | energy (uJ) | area (mm^2) | DRAM (kB) "
             "| utilization | EDP (uJ x us) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for e in res["estimates"]:
        t = e["total"]
        L = t["stream_length"] if t["kind"] == "sc" else "-"
        lines.append(f"| {t['accel']} | {t['kind']} | {t['dataflow']} | {L} | {1e6 * t['latency_s']:.1f} | "
                     f"{t['energy_pj'] / 1e6:.2f} | {t['area_um2'] / 1e6:.2f} | {t['dram_bytes'] / 1e3:.1f} | "
                     f"{100 * t['utilization']:.1f}% | {t['energy_pj'] / 1e6 * t['latency_s'] * 1e6:.3g} |")
    return "\n".join(lines)
