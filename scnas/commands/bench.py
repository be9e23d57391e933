"""`scnas bench NAME`: run one of the speed and memory measurements in benchmarks/.

The benchmarks sit above the suite (they import it), so the suite never imports them: this
table names their modules and the chosen one is imported by name when it runs.
"""

from __future__ import annotations

import argparse
import importlib

from scnas.commands.common import BadArgument

__all__ = ["BENCHMARKS", "add_parser", "run"]

BENCHMARKS = {"kernels": "benchmarks.sc_kernels", "emulate": "benchmarks.emulate",
              "estimator": "benchmarks.estimator"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `bench` subcommand and its options."""
    p = sub.add_parser("bench", help="run a benchmark (prints a table and a JSON line)")
    p.add_argument("name", help="benchmark name, e.g. kernels")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """The benchmark's own main(), with --quick passed on."""
    if args.name not in BENCHMARKS:
        raise BadArgument(f"unknown benchmark {args.name!r}; choose one of {', '.join(BENCHMARKS)}.")
    module = importlib.import_module(BENCHMARKS[args.name])
    return int(module.main(["--quick"] if args.quick else []))
