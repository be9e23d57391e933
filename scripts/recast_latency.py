"""Re-time the CPU latency of every model of the given `scnas recast` runs in one interleaved
pass and write it into their results.json (for runs made side by side on a busy machine).

Usage: python scripts/recast_latency.py RUN_DIR ...
"""

from __future__ import annotations

import sys
from pathlib import Path

from sc_accel.errors import InvalidInputError
from scnas.recast_run import remeasure_cpu_latency


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    missing = [r for r in argv if not (Path(r) / "results.json").is_file() or not (Path(r) / "student.pt").is_file()]
    if missing:
        print(f"recast_latency: {missing[0]} is not a finished `scnas recast` run (no results.json and student.pt).",
              file=sys.stderr)
        return 2
    try:
        results = remeasure_cpu_latency(argv)
    except (InvalidInputError, KeyError) as e:
        print(f"recast_latency: {e}", file=sys.stderr)
        return 2
    for res in results:
        times = " ".join(f"{m['name']}={1e3 * m['cpu_latency_s']:.2f}ms" for m in res["models"])
        print(res["plan"], res["seed"], times)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
