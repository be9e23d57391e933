"""The one `scnas` command. Subcommands: data, bench (later issues add train, emulate, ...).

User errors (sc_accel.errors.UserError) print one sentence and exit 2; library code
never exits.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sc_accel.errors import UserError

__all__ = ["main", "build_parser"]


class _BadArgument(UserError, ValueError):
    """A command-line argument that parsed but makes no sense."""


def _cmd_data(args: argparse.Namespace) -> int:
    from scnas.data import dataset_status, load_dataset, resolve_default

    if args.load:
        ds = load_dataset(args.load, args.data_dir)
        print(f"{ds.name}: train {ds.x_train.shape} test {ds.x_test.shape}, "
              f"{len(ds.classes)} classes, from {ds.source}")
        return 0
    print("datasets scnas can load (--dataset NAME; 'default' = "
          f"{resolve_default(args.data_dir)} here):")
    for row in dataset_status(args.data_dir):
        mark = "found  " if row["found"] else "missing"
        print(f"  {row['name']:<14} {mark} {row['location']}")
        if not row["found"]:
            print(f"  {'':<14} to get it: {row['how_to_get']}")
    print("search order: --data-dir, then $SCNAS_DATA/<name>, then the system location.")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from benchmarks import BENCHMARKS

    if args.name not in BENCHMARKS:
        raise _BadArgument(f"unknown benchmark {args.name!r}; choose one of {', '.join(BENCHMARKS)}.")
    module = importlib.import_module(BENCHMARKS[args.name])
    return int(module.main(["--quick"] if args.quick else []))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all subcommands."""
    parser = argparse.ArgumentParser(prog="scnas", description="CNN and stochastic-computing "
                                     "accelerator co-design.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("data", help="list the datasets and where they are looked for")
    p.add_argument("--data-dir", help="directory holding the dataset's files")
    p.add_argument("--load", metavar="NAME", help="load NAME and print its shapes")
    p.set_defaults(func=_cmd_data)
    p = sub.add_parser("bench", help="run a benchmark (prints a table and a JSON line)")
    p.add_argument("name", help="benchmark name, e.g. kernels")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `scnas` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as e:
        print(f"scnas: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
