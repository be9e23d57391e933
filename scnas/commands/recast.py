"""`scnas recast`: recast a trained CNN block by block into other block types (resumable)."""

from __future__ import annotations

import argparse
from pathlib import Path

from recast import RecastConfig
from recast.procedure import LR_SCHEDULES, REINIT_CHOICES
from reports import plot_recast
from scnas.commands.common import (BadArgument, add_config_option, add_seed_option, check_positive, config_from,
                                   dataset_help, default_of, on_off, per_seed, run_out)
from scnas.commands.finetune import add_sc_aware_options, finetune_output, sc_aware_config
from scnas.commands.teacher import add_teacher_options, resolve_teacher
from scnas.data import load_dataset
from scnas.recast_run import print_summary, run_recast
from scnas.scoring import check_sc_run

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `recast` subcommand; its defaults are RecastConfig's and run_recast's."""
    p = sub.add_parser("recast", help="recast a trained CNN block by block into other block types (resumable)")
    p.add_argument("--teacher", default="resnet20", help="zoo name (trained once into --teacher-dir), a model.pt "
                   "or a train run directory")
    p.add_argument("--plan", default="plain", help="preset (plain, basic, bottleneck, dense, dwsep, mbconv, "
                   "half-width) or a .toml plan")
    p.add_argument("--dataset", default=default_of(load_dataset, "name"), help=dataset_help())
    for name, kind, what in (("epochs_per_block", int, "epochs that train each new block"),
                             ("finetune_epochs", int, "epochs that fine-tune the whole student at the end"),
                             ("lr", float, "learning rate"), ("batch_size", int, "images per optimiser step")):
        p.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default_of(RecastConfig, name), help=what)
    add_seed_option(p, default_of(RecastConfig, "seed"), "seed of the new blocks and the batch order")
    p.add_argument("--adaptor", action="store_true", default=default_of(RecastConfig, "adaptor"),
                   help="a 1x1 adaptor instead of re-initialising the next block")
    _add_reference_options(p)
    p.add_argument("--baselines", action="store_true", help="also train the student from scratch, with KD, and "
                   "the teacher pruned to the student's size, at the same total epochs")
    p.add_argument("--train-limit", type=int, help="recast on the first N training images only")
    p.add_argument("--sc-length", type=int, default=default_of(run_recast, "sc_length"),
                   help="stream length of the bit-true SC check")
    p.add_argument("--sc-limit", type=int, default=default_of(run_recast, "sc_limit"),
                   help="test images of the bit-true SC check")
    add_teacher_options(p)
    add_sc_aware_options(p, "the student")
    p.add_argument("--out", help="run directory (default runs/recast-TEACHER-PLAN-DATASET)")
    add_config_option(p)
    p.set_defaults(func=run)


def _add_reference_options(p: argparse.ArgumentParser) -> None:
    """The three choices where the recasting paper's code and the older procedure differ
    (docs/recasting.md, "Reference procedure and ablation")."""
    p.add_argument("--reinit-next", choices=REINIT_CHOICES, default=default_of(RecastConfig, "reinit_next"),
                   help="re-initialise block i + 1 at every step i (always, the reference) or only when its input "
                   "width changed")
    p.add_argument("--train-stem", type=on_off, metavar="on|off",  # a str default: argparse converts it, help shows it
                   default="on" if default_of(RecastConfig, "train_stem") else "off",
                   help="train the stem with blocks 0..i+1 (on, the reference) or keep the teacher's (off)")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=default_of(RecastConfig, "lr_schedule"),
                   help="constant learning rate, or step: times --lr-gamma after every --lr-step-fraction of each "
                   "step's batches (the reference's StepLR)")
    p.add_argument("--lr-step-fraction", type=float, default=default_of(RecastConfig, "lr_step_fraction"),
                   help="with --lr-schedule step: the share of a step's batches between two decays")
    p.add_argument("--lr-gamma", type=float, default=default_of(RecastConfig, "lr_gamma"),
                   help="with --lr-schedule step: the factor of each decay")


def run(args: argparse.Namespace) -> int:
    """Recast the teacher with the plan (once per seed), print the summary, draw the figures."""
    return per_seed(args, _recast_one)


def _recast_one(args: argparse.Namespace) -> tuple[str, dict[str, float]]:
    """Recast with one seed; (the run directory, the student's test accuracy)."""
    ds = load_dataset(args.dataset, args.data_dir)
    check_positive(args, ("train_limit", "sc_limit", "sc_length"))
    cfg = config_from(RecastConfig, args)
    if cfg.lr_schedule == "constant":
        for field in ("lr_gamma", "lr_step_fraction"):
            if getattr(cfg, field) != default_of(RecastConfig, field):
                raise BadArgument(f"--{field.replace('_', '-')} acts only with --lr-schedule step; give that, or "
                                  "leave it out.")
    check_sc_run(None, ds, args.sc_length)  # before a zoo teacher is trained
    sc_aware = sc_aware_config(args)  # checked before any training
    model, name, ref = resolve_teacher(args.teacher, ds, args, with_path=True)
    out = run_out(args, f"runs/recast-{name}-{args.plan.replace('/', '_')}-{ds.name}")
    res = run_recast(model, name, ref, ds, args.plan, cfg, out, sc_length=args.sc_length, sc_limit=args.sc_limit,
                     train_limit=args.train_limit, baselines=args.baselines)
    print_summary(res)
    for f in plot_recast(f"{out}/results.json"):
        print(f"wrote {f}")
    print(f"student in {out}/student.pt")
    if sc_aware is not None:
        finetune_output(Path(out) / "student.pt", ds, sc_aware, Path(out) / "sc-aware")
    return out, {"student accuracy": next(m["accuracy"] for m in res["models"] if m["role"] == "student")}
