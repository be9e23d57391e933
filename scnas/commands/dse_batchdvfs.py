"""`scnas dse batchdvfs`: batch size and V/F point under a power cap (coordinated batching and DVFS)."""

from __future__ import annotations

import argparse

from reports import plot_dse
from sc_accel.dse.batchdvfs import check_caps, check_max_batch, check_trials
from sc_accel.dse.space import check_seed
from scnas.accel import load_accel
from scnas.commands.common import add_config_option, check_positive, default_of, default_workers, optional_list
from scnas.dse_run import batchdvfs_table, run_batchdvfs
from scnas.estimate_run import resolve_model

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `dse batchdvfs` subcommand; its defaults are run_batchdvfs's (but --workers)."""
    p = sub.add_parser("batchdvfs", help="batch size and voltage/frequency point that maximise throughput under "
                       "a power cap (coordinated batching and DVFS, TPDS 2022): binary search and Bayesian "
                       "optimisation against exhaustive search")
    p.add_argument("--model", default="resnet20", help="zoo name or model.pt file")
    p.add_argument("--accel", default="spatial-16x16-kcp", help="accelerator preset or file")
    p.add_argument("--power-cap", help="comma-separated caps in W (default: four caps across the model's power range)")
    p.add_argument("--max-batch", type=int, default=default_of(run_batchdvfs, "max_batch"),
                   help="largest batch size considered")
    p.add_argument("--trials", type=int, default=default_of(run_batchdvfs, "trials"),
                   help="evaluations of the Bayesian optimiser per cap")
    p.add_argument("--seed", type=int, default=default_of(run_batchdvfs, "seed"), help="seed of the searches")
    p.add_argument("--workers", type=int, default=default_workers(), help="local processes, one power cap each "
                   "(default: the CPU count, at most 4; 1 runs them in this process)")
    p.add_argument("--ray", metavar="ADDRESS", help="run the caps on Ray: 'local' or a cluster address")
    p.add_argument("--out", help="run directory (default runs/dse-batchdvfs-MODEL-ACCEL)")
    add_config_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Search every power cap, print the table, draw the figures."""
    check_positive(args, ("max_batch", "trials", "workers"))
    check_max_batch(args.max_batch, "--max-batch ")
    check_trials(args.trials, "--trials ")
    check_seed(args.seed, "--seed ")
    caps = optional_list(args.power_cap, float, "power-cap")
    caps = None if caps is None else check_caps(caps)
    accel = load_accel(args.accel)
    model, name, shape = resolve_model(args.model, None)
    out = f"runs/dse-batchdvfs-{name}-{args.accel}" if args.out is None else args.out
    res = run_batchdvfs((model, shape), name, accel, caps, out, args.max_batch, args.trials, args.seed,
                        workers=args.workers, ray=args.ray)
    print(batchdvfs_table(res))
    for f in plot_dse(f"{out}/results.json"):
        print(f"wrote {f}")
    return 0
