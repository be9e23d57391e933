"""Estimated speed-up of recast students over their teacher on every accelerator preset.

Usage: python scripts/recast_presets.py RUN_DIR ...   (one column per run's student; the
teacher is the first run's). Latency does not depend on the weights, only on the shapes,
so one seed per plan is enough.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sc_accel.hw import estimate
from sc_accel.hw.workload import workload
from scnas.accel import load_accel
from scnas.config import read_config
from scnas.train import load_model

PRESETS = Path(__file__).resolve().parent.parent / "configs" / "accel"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    teacher, meta = load_model(read_config(Path(argv[0]) / "config.toml")["teacher"])
    shape = (1, int(meta["in_channels"]), int(meta["image_size"]), int(meta["image_size"]))
    students = {read_config(Path(r) / "config.toml")["plan"]: load_model(r)[0] for r in argv}
    print("| preset | teacher latency (us) | " + " | ".join(f"{p} speed-up" for p in students) + " |")
    print("|---" * (2 + len(students)) + "|")
    t_work = workload(teacher, shape)
    s_work = {p: workload(s, shape) for p, s in students.items()}
    for f in sorted(PRESETS.glob("*.toml")):
        accel = load_accel(str(f))
        t = estimate(t_work, None, accel).total["latency_s"]
        ups = [t / estimate(w, None, accel).total["latency_s"] for w in s_work.values()]
        print(f"| {f.stem} | {1e6 * t:.1f} | " + " | ".join(f"{u:.2f}x" for u in ups) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
