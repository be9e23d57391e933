"""`scnas train`: train a zoo model into a resumable run directory."""

from __future__ import annotations

import argparse

from scnas.commands.common import (BadArgument, add_config_option, add_seed_option, config_from, default_of,
                                   per_seed, run_out)
from scnas.data import load_dataset
from scnas.train import TrainConfig, train
from scnas.zoo import MODELS

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `train` subcommand; its defaults are TrainConfig's."""
    p = sub.add_parser("train", help="train a zoo model on the CPU (resumable run directory)")
    p.add_argument("--model", default=default_of(TrainConfig, "model"), help="zoo name, e.g. lenet5, resnet20")
    p.add_argument("--dataset", default=default_of(TrainConfig, "dataset"),
                   help="fashion-mnist, mnist, cifar10, digits or default")
    p.add_argument("--epochs", type=int, default=default_of(TrainConfig, "epochs"),
                   help="training epochs (a rerun with more epochs resumes and extends)")
    p.add_argument("--batch-size", type=int, default=default_of(TrainConfig, "batch_size"),
                   help="images per optimiser step")
    p.add_argument("--lr", type=float, default=default_of(TrainConfig, "lr"),
                   help="peak learning rate of AdamW (cosine decay to 0)")
    add_seed_option(p, default_of(TrainConfig, "seed"), "seed of the weights and the batch order")
    p.add_argument("--data-dir", help="directory holding the dataset's files")
    p.add_argument("--out", help="run directory (default runs/train-MODEL-DATASET)")
    add_config_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train (once per seed) and print the test accuracy."""
    return per_seed(args, _train_one)


def _train_one(args: argparse.Namespace) -> tuple[str, dict[str, float]]:
    """Train with one seed; (the run directory, its test accuracy)."""
    ds = load_dataset(args.dataset, args.data_dir)
    cfg = config_from(TrainConfig, args, dataset=ds.name)
    if args.model not in MODELS:
        raise BadArgument(f"unknown model {args.model!r}; choose one of {', '.join(sorted(MODELS))}.")
    out = run_out(args, f"runs/train-{args.model}-{ds.name}")
    res = train(ds, cfg, out)
    print(f"{args.model} on {ds.name}: test accuracy {100 * res['test_accuracy']:.2f}%; model in {out}/model.pt")
    return out, {"test accuracy": res["test_accuracy"]}
