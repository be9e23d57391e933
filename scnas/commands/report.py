"""`scnas report`: gather run directories into one HTML page with figures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reports.outdir import check_out
from reports.report import ReportError, build_report
from reports.runs import find_runs, is_run_dir
from scnas.commands.common import BadArgument
from scnas.config import run_meta, write_toml
from scnas.rundir import claim_run_dir

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `report` subcommand and its options."""
    p = sub.add_parser("report", help="gather run directories into one HTML page with paper-ready figures")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories written by scnas commands, or directories holding them "
                   "(searched recursively)")
    p.add_argument("--out", default="runs/report", help="report directory (index.html, figures/)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the report into --out (locked while it is written) and print what it holds."""
    meta = run_meta()
    runs = find_runs(args.runs, skip=[args.out])
    if not any(is_run_dir(Path(r)) for r in runs):
        raise BadArgument(f"no run directory (one holding results.json or config.toml) in {', '.join(args.runs)}; "
                          "give directories written by scnas commands.")
    try:
        if Path(args.out).is_dir():  # refuse a user's directory before the lock file goes into it
            check_out(args.out, ignore=(".lock",))
        with claim_run_dir(args.out, "report", foreign_ok=True) as out:  # check_out vetted it; .lock is ours
            rep = build_report(runs, out, argv=meta["argv"], ignore=(".lock",), also=("config.toml",))
            write_toml({"command": "report", "runs": [str(r) for r in args.runs], "run": meta}, out / "config.toml")
    except ReportError as e:
        raise BadArgument(str(e)) from None
    for w in rep.warnings:
        print(f"scnas report: warning: {w}", file=sys.stderr)
    print(f"{len(rep.figures)} figures from {len(rep.runs)} runs "
          f"({', '.join(sorted({r.kind for r in rep.runs})) or 'none readable'}); "
          f"{len(rep.warnings)} warnings")
    print(f"report: {rep.index.resolve()}")
    return 0
