"""`scnas dse evolver`: per-layer stream lengths (or bit pairs) and a V/F point by Q-learning (Evolver)."""

from __future__ import annotations

import argparse

from reports import plot_dse
from sc_accel.dse.evolver import BIT_PAIRS, LENGTHS, MAX_EPISODES, MAX_SAMPLES
from sc_accel.dse.space import check_seed
from scnas.accel import load_accel
from scnas.commands.common import BadArgument, add_config_option, dataset_help, default_of, optional_list
from scnas.commands.teacher import add_teacher_options, resolve_teacher
from scnas.data import load_dataset
from scnas.dse_run import evolver_table, run_evolver

__all__ = ["add_parser", "run"]

# options feeding run_evolver's parameter of the same name (calib: calib_images): name -> (type, help)
_SEARCH = {"episodes": (int, "Q-learning episodes"),
           "eval_images": (int, "training images (the last N) scored during the search (expected mode)"),
           "final_images": (int, "test images of the final bit-true runs"),
           "calib": (int, "training images that set the conversion scales"),
           "acc_drop": (float, "accuracy threshold: the float model's accuracy minus this many points"),
           "latency_th": (float, "latency threshold, normalised to [0, 1]"),
           "energy_th": (float, "energy threshold, normalised to [0, 1]"),
           "samples": (int, "Gaussian logit draws per image in the accuracy proxy"),
           "seed": (int, "seed of the search (Q-learning, streams, the accuracy proxy's draws)")}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `dse evolver` subcommand; its defaults are run_evolver's and sc_accel.dse.evolver's."""
    p = sub.add_parser("evolver", help="per-layer stream lengths and a V/F point of an SC model by Q-learning, "
                       "skipping outliers (Evolver), against the best uniform-L design")
    p.add_argument("--model", default="lenet5", help="zoo name (trained once into --teacher-dir), a model.pt "
                   "or a train run directory")
    p.add_argument("--dataset", default=default_of(load_dataset, "name"), help=dataset_help())
    p.add_argument("--accel", default="sc-64x64-L256", help="accelerator preset or file (SC: stream lengths; "
                   "binary: bit pairs)")
    p.add_argument("--lengths", default=",".join(map(str, LENGTHS)), help="stream lengths a layer may take "
                   "(SC accelerators)")
    p.add_argument("--bits", default=",".join(f"{a}/{w}" for a, w in BIT_PAIRS), help="activation/weight bit "
                   "pairs a layer may take (binary accelerators)")
    for name, (kind, what) in _SEARCH.items():
        param = "calib_images" if name == "calib" else name
        p.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default_of(run_evolver, param), help=what)
    add_teacher_options(p)
    p.add_argument("--out", help="run directory (default runs/dse-evolver-MODEL-ACCEL)")
    add_config_option(p)
    p.set_defaults(func=run)


def _bit_pair(v: str) -> tuple[int, int]:
    """'8/4' -> (8, 4): activation and weight bits of a binary layer."""
    try:
        a, w = v.split("/")
        return int(a), int(w)
    except ValueError:
        raise BadArgument(f"--bits value {v!r} is not an activation/weight pair such as 8/4.") from None


def run(args: argparse.Namespace) -> int:
    """Search the per-layer choices, print the table, draw the figures."""
    check_seed(args.seed, "--seed ")
    for flag, v, hi in (("episodes", args.episodes, MAX_EPISODES), ("samples", args.samples, MAX_SAMPLES)):
        if v > hi:  # below 1 is refused by run_evolver
            raise BadArgument(f"--{flag} {v} must be an integer from 1 to {hi:,}.")
    lengths, bits = optional_list(args.lengths, int, "lengths"), optional_list(args.bits, str, "bits")
    ds = load_dataset(args.dataset, args.data_dir)
    accel = load_accel(args.accel)
    # SC array: stream lengths; binary array: (activation, weight) bit pairs such as 8/4
    choices = tuple(lengths) if accel.kind == "sc" else tuple(_bit_pair(v) for v in bits)
    model, name = resolve_teacher(args.model, ds, args)
    out = f"runs/dse-evolver-{name}-{args.accel}" if args.out is None else args.out
    res = run_evolver(model, name, ds, accel, out, choices, args.episodes, args.eval_images, args.final_images,
                      args.calib, args.acc_drop, args.latency_th, args.energy_th, args.samples, args.seed)
    print(evolver_table(res))
    for f in plot_dse(f"{out}/results.json"):
        print(f"wrote {f}")
    return 0
