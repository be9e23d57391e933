"""`scnas search`: InheritedNAS or its baselines, scored on the shared estimator (resumable).

Every SearchConfig option defaults to None, meaning SearchConfig's value, or --quick's
budget: a flag given explicitly wins over both. The help texts show SearchConfig's values.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nas import METHODS, SearchConfig
from nas.search import MAX_WORKERS
from nas.teacher import cut_teacher
from reports import plot_search
from scnas.accel import load_accel
from scnas.commands.common import (SEED_LIST_HELP, BadArgument, add_config_option, default_of, default_workers,
                                   list_default, parse_list, per_seed, run_out)
from scnas.commands.finetune import add_sc_aware_options, finetune_output, sc_aware_config
from scnas.commands.teacher import add_teacher_options, resolve_teacher
from scnas.data import load_dataset
from scnas.scoring import check_sc_run
from scnas.search_run import method_label, print_summary, run_search
from scnas.zoo import MODELS, create_model

__all__ = ["add_parser", "run"]

# --quick: the whole search pipeline on digits in a minute or two (a smoke test anyone can run)
_QUICK = {"channels": (8, 16), "train_images": 0, "search_images": 600, "eval_images": 200, "batch_size": 32,
          "coarse_epochs": 1, "teacher_epochs": 2, "search_epochs": 2, "warmup_epochs": 1, "retrain_epochs": 1,
          "random_candidates": 3, "distil_steps": 40}
_QUICK_SC_LIMIT = 50
# SearchConfig fields with a flag of their own name: field -> (type, help before the default)
_BUDGET = {"cells_per_stage": (int, "cells per stage"), "nodes": (int, "nodes per cell"),
           "train_images": (int, "training images used, 0 = all"),
           "search_images": (int, "images the searches see"),
           "eval_images": (int, "held-out training images that rank candidates"),
           "batch_size": (int, ""), "lr": (float, "weight learning rate"),
           "arch_lr": (float, "architecture learning rate"),
           "coarse_epochs": (int, "coarse DARTS epochs"),
           "teacher_epochs": (int, "epochs of the cell network"),
           "search_epochs": (int, "fine search epochs per stage"),
           "warmup_epochs": (int, "of those, epochs before the architecture moves"),
           "prune_threshold": (float, "op blocks below this weight are deleted"),
           "inherit_strength": (float, "logit the inherited op starts ahead by"),
           "distil_steps": (int, "steps distilling each epoch's derived stage"),
           "retrain_epochs": (int, "epochs of the derived network's retraining"),
           "random_candidates": (int, "genotypes of the random search"),
           "seed": (str, f"seed; {SEED_LIST_HELP}")}
_SCALARS = ("method", "penalty", "lam", *_BUDGET)


def _shown(v: object) -> str:
    """A default as the help shows it: a float in e-notation where that is shorter (1e-3)."""
    if not isinstance(v, float):
        return str(v)
    e = f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e+")
    return e if float(e) == v and len(e) < len(repr(v)) else repr(v)


def _what_to_search(p: argparse.ArgumentParser) -> None:
    """The SearchConfig options (None: SearchConfig's or --quick's value)."""
    d = default_of
    p.add_argument("--lambda", dest="lam", type=float,
                   help=f"weight of the hardware penalty (default {d(SearchConfig, 'lam')})")
    p.add_argument("--penalty", choices=["latency", "energy", "flops"], help="what the penalty counts "
                   f"(default {d(SearchConfig, 'penalty')}; flops = MACs only, the comparison)")
    p.add_argument("--method", choices=list(METHODS), help="InheritedNAS (default), "
                   "random search at equal budget, or the coarse DARTS cell network (a reduced DARTS: first-order, "
                   "one shared cell; docs/search.md)")
    p.add_argument("--ops", help=f"comma-separated candidate ops (default {list_default(SearchConfig, 'ops')})")
    p.add_argument("--channels", help=f"comma-separated stage widths (default {list_default(SearchConfig, 'channels')})")
    for name, (kind, what) in _BUDGET.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=kind, help=f"{what} ({_shown(d(SearchConfig, name))})".lstrip())


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `search` subcommand and its options."""
    p = sub.add_parser("search", help="InheritedNAS: fine-grained hardware-aware architecture search, or its "
                       "baselines (random, darts), scored on the shared estimator (resumable)")
    p.add_argument("--dataset", help="fashion-mnist, mnist, cifar10, digits or default (--quick: digits)")
    p.add_argument("--teacher", help="zoo name (trained once into --teacher-dir), a model.pt or a train run "
                   "directory whose stages match the space (default: the searched cell network)")
    p.add_argument("--accel", default="systolic-32x32-ws", help="accelerator preset or file whose estimates "
                   "build the penalty tables and score the result")
    _what_to_search(p)
    p.add_argument("--quick", action="store_true", help="digits and a tiny budget: the whole pipeline in under "
                   "2 minutes")
    p.add_argument("--workers", type=int, default=default_workers(), help="local processes, one stage each "
                   "(default: the CPU count, at most 4; 1 runs the stages in this process)")
    p.add_argument("--ray", metavar="ADDRESS", help="run the stages on Ray: 'local' or a cluster address")
    p.add_argument("--coarse-dir", help="directory keeping the coarse search and the cell network, shared by "
                   "runs of other methods with the same space, data and seed (default: the run directory)")
    p.add_argument("--sc-length", type=int, default=default_of(run_search, "sc_length"),
                   help="stream length of the bit-true SC check")
    p.add_argument("--sc-limit", type=int, help="test images of the bit-true SC check (default "
                   f"{default_of(run_search, 'sc_limit')}, --quick {_QUICK_SC_LIMIT}; 0: skip)")
    add_teacher_options(p)
    add_sc_aware_options(p, "the searched network")
    p.add_argument("--out", help="run directory (default runs/search-METHOD-DATASET-sSEED)")
    add_config_option(p)
    p.set_defaults(func=run)


def search_config(args: argparse.Namespace) -> SearchConfig:
    """SearchConfig from the flags: --quick's budget first, then every flag given explicitly."""
    base = dict(_QUICK) if args.quick else {}
    given = {k: getattr(args, k) for k in _SCALARS if getattr(args, k) is not None}
    if args.channels is not None:
        given["channels"] = tuple(parse_list(args.channels, int, "channels"))
    if args.ops is not None:
        given["ops"] = tuple(o.strip() for o in args.ops.split(","))
    return SearchConfig(**{**base, **given})


def _search_teacher(args: argparse.Namespace, ds, cfg: SearchConfig) -> tuple:
    """(teacher module or None, its reference): a zoo name is checked against the space's
    stages before it is trained (a mismatch costs no training)."""
    if args.teacher is None:
        return None, None
    c, side = int(ds.x_train.shape[1]), int(ds.x_train.shape[2])
    if args.teacher in MODELS:
        cut_teacher(create_model(args.teacher, c, len(ds.classes), side), cfg.space, c, side)
    model, _, ref = resolve_teacher(args.teacher, ds, args, with_path=True)
    cut_teacher(model, cfg.space, c, side)  # a model file is checked as soon as it is loaded, before training
    return model, ref


def _sc_limit(args: argparse.Namespace) -> int:
    """--sc-limit, checked with --workers and --sc-length (None: run_search's, or --quick's)."""
    if not 1 <= args.workers <= MAX_WORKERS:
        raise BadArgument(f"--workers {args.workers} must be from 1 to {MAX_WORKERS} (a cluster is reached with --ray).")
    sc_limit = args.sc_limit if args.sc_limit is not None else (
        _QUICK_SC_LIMIT if args.quick else default_of(run_search, "sc_limit"))
    if args.sc_length < 1 or sc_limit < 0:
        raise BadArgument("--sc-length must be at least 1 and --sc-limit at least 0.")
    return sc_limit


def run(args: argparse.Namespace) -> int:
    """Search (once per seed), print the summary, draw the figures."""
    return per_seed(args, _search_one)


def _search_one(args: argparse.Namespace) -> tuple[str, dict[str, float]]:
    """Search with one seed; (the run directory, the final network's test accuracy)."""
    cfg = search_config(args)
    accel = load_accel(args.accel)
    sc_limit = _sc_limit(args)
    ds = load_dataset("digits" if args.quick and args.dataset is None else (args.dataset or "default"),
                      args.data_dir)
    if sc_limit > 0:
        check_sc_run(None, ds, args.sc_length)  # before any training
    sc_aware = sc_aware_config(args)  # checked before any training
    teacher, ref = _search_teacher(args, ds, cfg)
    seed_list = getattr(args, "seed_dir", None) is not None  # the sub-runs go to .../seed-N
    out = run_out(args, f"runs/search-{method_label(cfg)}-{ds.name}" + ("" if seed_list else f"-s{cfg.seed}"))
    res = run_search(ds, cfg, args.accel, accel, out, teacher, ref, workers=args.workers, ray=args.ray,
                     sc_length=args.sc_length, sc_limit=sc_limit, coarse_dir=args.coarse_dir)
    print_summary(res)
    for f in plot_search(f"{out}/results.json"):
        print(f"wrote {f}")
    if sc_aware is not None:
        finetune_output(Path(out) / "model.pt", ds, sc_aware, Path(out) / "sc-aware")
    return out, {"accuracy": res["final"]["accuracy"]}
