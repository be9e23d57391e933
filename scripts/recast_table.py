"""Print the recasting table (mean ± std over seeds) of `scnas recast` run directories.

Usage: python scripts/recast_table.py RUN_DIR ...   (runs without results.json are skipped)
"""

from __future__ import annotations

import sys

from reports.tables import recast_table, table_main

if __name__ == "__main__":
    sys.exit(table_main(sys.argv[1:], recast_table, "recast_table"))
