"""`scnas bench NAME`: run one of the speed and memory measurements in scnas/benchmarks/.

The benchmarks import the suite and take seconds to load (numba kernels), so this registry
names their modules and the chosen one is imported by name only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
from functools import partial

from sc_accel.registry import Registry
from scnas.commands.common import BadArgument, DefaultsFormatter

__all__ = ["BENCHMARKS", "module_of", "benchmark_list", "add_parser", "run"]

BENCHMARKS: Registry = Registry("benchmark", BadArgument)  # name -> imports its module when called
# name -> (module, what it measures: the line `scnas bench --help` shows)
_LISTED = {"kernels": ("scnas.benchmarks.sc_kernels", "AND + popcount kernels against bool-per-bit and "
                       "per-cycle baselines"),
           "emulate": ("scnas.benchmarks.emulate", "bit-true LeNet-5 at L = 1024: time, memory, roofline share; "
                       "--model resnet20 --stream-length 64,256: per layer kind, what limits it"),
           "emulate-layers": ("scnas.benchmarks.emulate_layers", "a deep network (default ResNet-20) bit-true, layer "
                              "kind by layer kind at L = 64, 256, 1024 (what `emulate --model` runs)"),
           "finetune": ("scnas.benchmarks.finetune", "SC-aware fine-tuning: a moments-mode and a bit-mode step "
                        "against a float training step (LeNet-5, ResNet-20)"),
           "estimator": ("scnas.benchmarks.estimator", "estimator: layer evaluations per second (batch mode)")}
for _name, (_module, _what) in _LISTED.items():
    BENCHMARKS.register(_name, partial(importlib.import_module, _module))


def module_of(name: str) -> str:
    """The module path of benchmark `name` (checked)."""
    return BENCHMARKS.get_factory(name).args[0]


def benchmark_list() -> str:
    """The registered benchmarks, one a line with what each measures (the end of `bench --help`)."""
    width = max(map(len, BENCHMARKS.names()))
    return "benchmarks:\n" + "\n".join(f"  {n:<{width}}  {_LISTED[n][1] if n in _LISTED else module_of(n)}"
                                         for n in BENCHMARKS.names())


class _EpilogFormatter(DefaultsFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown, and the benchmark list kept one a line."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `bench` subcommand and its options."""
    p = sub.add_parser("bench", help="run a benchmark (prints a table and a JSON line)",
                       epilog=benchmark_list(), formatter_class=_EpilogFormatter)
    p.add_argument("name", help=f"benchmark name: {', '.join(BENCHMARKS.names())} (listed below)")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("--model", help="emulate: a zoo model profiled layer kind by layer kind (default: LeNet-5 at "
                   "L = 1024, the original benchmark)")
    p.add_argument("--stream-length", help="emulate: comma-separated stream lengths of the per-layer profile")
    p.add_argument("--images", type=int, help="emulate: test images per timed run of the per-layer profile")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """The benchmark's own main(), with --quick (and emulate's options) passed on."""
    extra = [(f"--{flag.replace('_', '-')}", getattr(args, flag)) for flag in ("model", "stream_length", "images")
             if getattr(args, flag) is not None]
    if extra and args.name not in ("emulate", "emulate-layers"):
        raise BadArgument(f"--{extra[0][0].lstrip('-')} belongs to `scnas bench emulate`, not {args.name!r}.")
    module = BENCHMARKS.create(args.name)
    return int(module.main((["--quick"] if args.quick else []) + [str(v) for pair in extra for v in pair]))
