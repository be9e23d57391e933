"""The README's ConfuciuX table from `scnas dse confuciux` run directories: per platform and
model, each search's latency gain over the uniform baseline-dla (masked and unmasked agents),
the exact optimum over the menus, and the paper's RL+GA gain where it reports one.

    python scripts/confuciux_table.py runs/cfx/imagenet runs/cfx/cifar
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# RL+GA's latency gain over Baseline-dla in ConfuciuX (Kao, Jeong, Krishna, MICRO 2020), the
# table of its ResNet-50 and MobileNet-V2 results on its cloud and edge platforms.
PAPER = {("cloud", "resnet50"): 1.07, ("cloud", "mobilenet_v2"): 1.25,
         ("edge", "resnet50"): 1.5, ("edge", "mobilenet_v2"): 1.64}
COLUMNS = ("RL", "RL+GA", "RL (unmasked)", "RL+GA (unmasked)", "GA", "SA", "random", "optimum (DP)")


def _cell(row: dict | None, dla: float) -> str:
    """A method's gain over baseline-dla, or why there is none."""
    if row is None:
        return "-"
    return f"{dla / row['value']:.2f}x" if row["feasible"] else "over budget"


def table(runs: list[Path]) -> str:
    """Markdown: one line per (platform, model)."""
    head = ["platform", "model", "baseline-dla (cycles)", *COLUMNS, "paper RL+GA"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in runs:
        res = json.loads((run / "results.json").read_text())
        keys = dict.fromkeys((r["platform"], r["model"]) for r in res["table"])
        for plat, model in keys:
            rows = {r["method"]: r for r in res["table"] if (r["platform"], r["model"]) == (plat, model)}
            dla = rows["baseline-dla"]["value"]
            paper = PAPER.get((plat, model))
            cells = [plat, model, f"{dla:,.0f}", *(_cell(rows.get(m), dla) for m in COLUMNS),
                     f"{paper:.2f}x" if paper else "-"]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table([Path(p) for p in sys.argv[1:]]))
