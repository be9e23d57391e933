"""Re-time the CPU latency of every model of the given `scnas recast` runs in one interleaved
pass and write it into their results.json (for runs made side by side on a busy machine).

Usage: python scripts/recast_latency.py RUN_DIR ...
"""

from __future__ import annotations

import sys

from scnas.recast_run import remeasure_cpu_latency


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    for res in remeasure_cpu_latency(argv):
        times = " ".join(f"{m['name']}={1e3 * m['cpu_latency_s']:.2f}ms" for m in res["models"])
        print(res["plan"], res["seed"], times)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
