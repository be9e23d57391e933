"""Markdown tables from run directories' results.json (for READMEs and papers)."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["emulation_table"]


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
        share = "private" if c["share"] == 1 else f"{c['share']} per SNG"
        lines.append(f"| SC {c['mode']} | {c['sng']} | {share} | {'yes' if c['upscale'] else 'no'} | "
                     f"{c['stream_length']} | {100 * s['accuracy']:.2f}% | {100 * (s['accuracy'] - fl):+.2f} |")
    return "\n".join(lines)
