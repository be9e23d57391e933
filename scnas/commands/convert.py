"""`scnas convert-checkpoint`: re-save a checkpoint as tensors and plain data."""

from __future__ import annotations

import argparse

from scnas.convert import convert_checkpoint

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `convert-checkpoint` subcommand and its arguments."""
    p = sub.add_parser("convert-checkpoint", help="re-save a model or checkpoint file holding numpy arrays, paths or "
                       "sets as tensors and plain data, so scnas loads it (read without running code)")
    p.add_argument("src", help="the file to convert (a file that names any other class or function is refused)")
    p.add_argument("dst", help="a new file for the converted copy (never overwritten)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Convert src into the new file dst and say what it holds."""
    res = convert_checkpoint(args.src, args.dst)
    print(f"wrote {res['dst']}: tensors and plain data only ({', '.join(res['keys'][:8]) or 'no keys'}); "
          "scnas loads it without running code")
    return 0
