"""Print the architecture-search table (mean ± std over seeds) of `scnas search` run directories.

Usage: python scripts/nas_table.py RUN_DIR ...   (runs without results.json are skipped)
"""

from __future__ import annotations

import sys

from reports.tables import nas_table, table_main

if __name__ == "__main__":
    sys.exit(table_main(sys.argv[1:], nas_table, "nas_table"))
