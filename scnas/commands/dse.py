"""`scnas dse`: the accelerator design-space searches, one subcommand each."""

from __future__ import annotations

import argparse

from scnas.commands import dse_batchdvfs, dse_confuciux, dse_evolver

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `dse` group and its searches (each sets its own handler)."""
    p = sub.add_parser("dse", help="accelerator design-space searches on the shared estimator")
    searches = p.add_subparsers(dest="search", required=True)
    for module in (dse_confuciux, dse_batchdvfs, dse_evolver):
        module.add_parser(searches)
