"""The teacher of emulate, recast, search and dse evolver: a zoo name (trained once into
--teacher-dir and cached), a model.pt or a train run directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from sc_accel.errors import check_out_dir
from scnas.commands.common import BadArgument, default_of
from scnas.rundir import check_run_dir
from scnas.train import TrainConfig, load_model, train
from scnas.zoo import MODELS

__all__ = ["add_teacher_options", "resolve_teacher"]


def add_teacher_options(p: argparse.ArgumentParser) -> None:
    """Options of commands that take a teacher by zoo name (see resolve_teacher) and a dataset."""
    p.add_argument("--epochs", type=int, default=default_of(TrainConfig, "epochs"),
                   help="epochs when the teacher must be trained")
    p.add_argument("--teacher-dir", default="runs/teachers", help="cache of trained zoo teachers")
    p.add_argument("--data-dir", help="directory holding the dataset's files")


def resolve_teacher(spec: str, ds, args: argparse.Namespace, with_path: bool = False) -> tuple:
    """(model, name): a checkpoint path / run directory, or a zoo name (trained once and cached);
    with_path: (model, name, the model.pt it came from)."""
    if getattr(args, "out", None):  # refuse an unusable --out before a teacher is trained for it
        check_run_dir(args.out, args.command)
    if spec not in MODELS:
        model, meta = load_model(spec)
        if meta.get("dataset") not in (None, ds.name):
            raise BadArgument(f"model {spec} was trained on {meta['dataset']}, not {ds.name}; "
                              "pass a matching --dataset.")
        name = meta.get("arch", Path(spec).stem)
        return (model, name, str(Path(spec).resolve())) if with_path else (model, name)
    check_out_dir(args.teacher_dir, "--teacher-dir", BadArgument, "give a directory for the cached teachers")
    run = Path(args.teacher_dir) / f"{spec}-{ds.name}"
    if not (run / "model.pt").exists():
        print(f"training teacher {spec} on {ds.name} into {run} (cached for later runs)")
        train(ds, TrainConfig(model=spec, dataset=ds.name, epochs=args.epochs, seed=args.seed), run)
    model = load_model(run)[0]
    return (model, spec, str((run / "model.pt").resolve())) if with_path else (model, spec)
