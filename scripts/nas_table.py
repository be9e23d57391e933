"""Print the architecture-search table (mean ± std over seeds) of `scnas search` run directories.

Usage: python scripts/nas_table.py RUN_DIR ...   (runs without results.json are skipped)
"""

from __future__ import annotations

import sys
from pathlib import Path

from reports.tables import nas_table


def main(argv: list[str]) -> int:
    files = [Path(d) / "results.json" for d in argv]
    found = [f for f in files if f.is_file()]
    for f in sorted(set(files) - set(found)):
        print(f"skipped {f.parent}: no results.json yet", file=sys.stderr)
    if not found:
        print("nas_table: no results.json in the given directories", file=sys.stderr)
        return 2
    print(nas_table(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
