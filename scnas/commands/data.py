"""`scnas data`: the datasets scnas can load and where they are looked for."""

from __future__ import annotations

import argparse

from scnas.data import dataset_status, load_dataset, resolve_default

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `data` subcommand and its options."""
    p = sub.add_parser("data", help="list the datasets and where they are looked for")
    p.add_argument("--data-dir", help="directory holding the dataset's files")
    p.add_argument("--load", metavar="NAME", help="load NAME and print its shapes")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List the datasets (found or missing, how to get them), or load one and print its shapes."""
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
