"""`scnas bench NAME`: run one of the speed and memory measurements in benchmarks/.

The benchmarks sit above the suite (they import it), so the suite never imports them: this
registry names their modules and the chosen one is imported by name when it runs.
"""

from __future__ import annotations

import argparse
import importlib
from functools import partial

from sc_accel.registry import Registry
from scnas.commands.common import BadArgument

__all__ = ["BENCHMARKS", "module_of", "add_parser", "run"]

BENCHMARKS: Registry = Registry("benchmark", BadArgument)  # name -> imports its module when called
for _name, _module in (("kernels", "benchmarks.sc_kernels"), ("emulate", "benchmarks.emulate"),
                       ("estimator", "benchmarks.estimator")):
    BENCHMARKS.register(_name, partial(importlib.import_module, _module))


def module_of(name: str) -> str:
    """The module path of benchmark `name` (checked)."""
    return BENCHMARKS.get_factory(name).args[0]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `bench` subcommand and its options."""
    p = sub.add_parser("bench", help="run a benchmark (prints a table and a JSON line)")
    p.add_argument("name", help="benchmark name, e.g. kernels")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """The benchmark's own main(), with --quick passed on."""
    module = BENCHMARKS.create(args.name)
    return int(module.main(["--quick"] if args.quick else []))
