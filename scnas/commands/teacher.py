"""The teacher of emulate, recast, search and dse evolver: a zoo name (trained once into
--teacher-dir and cached), a model.pt or a train run directory.

The cache is $SCNAS_HOME/teachers (SCNAS_HOME defaults to ~/.cache/scnas), so every working
directory shares it; a teacher trained into ./runs/teachers by an older scnas is still read.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from sc_accel.errors import check_out_dir
from sc_accel.progress import say
from scnas.commands.common import BadArgument, default_of
from scnas.rundir import check_run_dir
from scnas.train import TrainConfig, load_model, train
from scnas.zoo import MODELS

__all__ = ["add_teacher_options", "resolve_teacher", "teacher_home",
           "cached_teacher", "LEGACY_TEACHER_DIR"]

LEGACY_TEACHER_DIR = Path("runs/teachers")  # the cache before SCNAS_HOME, relative to the working directory


def add_teacher_options(p: argparse.ArgumentParser) -> None:
    """Options of commands that take a teacher by zoo name (see resolve_teacher) and a dataset."""
    p.add_argument("--epochs", type=int, default=default_of(TrainConfig, "epochs"),
                   help="epochs when the teacher must be trained")
    p.add_argument("--teacher-dir", help="cache of trained zoo teachers (default: $SCNAS_HOME/teachers, "
                   "SCNAS_HOME defaulting to ~/.cache/scnas; a teacher already in ./runs/teachers is still used)")
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
    run = cached_teacher(spec, ds.name, args.teacher_dir)
    what = "--teacher-dir" if args.teacher_dir is not None else "the teacher cache ($SCNAS_HOME/teachers)"
    check_out_dir(run.parent, what, BadArgument, "give a directory for the cached teachers")
    if not (run / "model.pt").exists():
        say(f"training teacher {spec} on {ds.name} into {run} (cached for later runs)")
        train(ds, TrainConfig(model=spec, dataset=ds.name, epochs=args.epochs, seed=args.seed), run)
    model = load_model(run)[0]
    return (model, spec, str((run / "model.pt").resolve())) if with_path else (model, spec)


def teacher_home() -> Path:
    """Where zoo teachers are cached by default: $SCNAS_HOME/teachers (~/.cache/scnas/teachers)."""
    home = os.environ.get("SCNAS_HOME", "").strip()
    return (Path(home).expanduser() if home else Path.home() / ".cache" / "scnas") / "teachers"


def cached_teacher(spec: str, dataset: str, teacher_dir: str | Path | None = None) -> Path:
    """The run directory of zoo teacher `spec` on `dataset`: in `teacher_dir` when given; else one
    already trained in ./runs/teachers, else in teacher_home() (where a new one is trained)."""
    name = f"{spec}-{dataset}"
    if teacher_dir is not None:
        return Path(teacher_dir) / name
    legacy = LEGACY_TEACHER_DIR / name
    return legacy if (legacy / "model.pt").is_file() else teacher_home() / name
