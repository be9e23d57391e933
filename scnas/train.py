"""Train zoo teachers on the CPU, with a checkpoint per epoch (interrupt and rerun to resume).

A run directory holds config.toml (the resolved training config), checkpoint.pt (model,
optimiser, epoch, history: written after every epoch) and, when done, model.pt (weights
plus what is needed to rebuild the model) and results.json.
"""

from __future__ import annotations

import math
import shlex
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from nas import Genotype, build_network
from recast import build_student
from recast.named import recastable
from sc_accel.errors import (MAX_EPOCHS, MAX_TRAIN_BATCH, DataFileError, InvalidInputError, brief, check_count,
                             checked_step)
from sc_accel.progress import bar as progress_bar, say
from scnas.config import run_meta, write_json, write_toml
from sc_accel.fileio import DamagedFileError, load_tensors
from sc_accel.metrics import top1_accuracy
from sc_accel.seeds import seeded
from scnas.rundir import atomic_torch_save, claim_run_dir
from scnas.data import Dataset
from scnas.zoo import create_model, upgrade_state_dict

__all__ = ["TrainConfig", "train", "load_model"]


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (Adam with cosine decay)."""

    model: str = "lenet5"
    dataset: str = "default"
    epochs: int = 8
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0

    def __post_init__(self) -> None:
        check_count("epochs=", self.epochs, 1, MAX_EPOCHS)
        check_count("batch_size=", self.batch_size, 1, MAX_TRAIN_BATCH)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 1 << 32:
            raise InvalidInputError(f"seed={self.seed!r} must be an integer from 0 to 2^32 - 1.")
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not 0 < self.lr < math.inf:
            raise InvalidInputError(f"lr={self.lr!r} must be a positive finite number.")


def cosine_lr(lr: float, step: int, total: int) -> float:
    """Learning rate at optimiser step `step` of `total`: cosine decay from lr to 0. Closed
    form, so a resume with more epochs continues the schedule rebuilt for the new length
    (the schedule of `scnas train` and `scnas finetune`)."""
    return lr * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))


def _epoch(model, opt, ds: Dataset, cfg: TrainConfig, epoch: int) -> float:
    model.train()
    g = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)  # same order when resumed
    perm = torch.randperm(len(ds.x_train), generator=g)
    x, y = torch.as_tensor(ds.x_train), torch.as_tensor(ds.y_train).long()
    per_epoch = -(-len(perm) // cfg.batch_size)
    total = 0.0
    bar = progress_bar(range(0, len(perm), cfg.batch_size), desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                       summary=False)  # _train says the epoch's line
    for k, i in enumerate(bar):
        for group in opt.param_groups:
            group["lr"] = cosine_lr(cfg.lr, epoch * per_epoch + k, cfg.epochs * per_epoch)
        idx = perm[i:i + cfg.batch_size]
        value = checked_step(opt, F.cross_entropy(model(x[idx]), y[idx]), f"epoch {epoch + 1} of training {cfg.model}")
        total += value * len(idx)
        bar.set_postfix(loss=f"{value:.3f}")
    return total / len(perm)


def train(ds: Dataset, cfg: TrainConfig, run_dir: str | Path) -> dict:
    """Train cfg.model on ds into run_dir, resuming from checkpoint.pt; returns the results.
    A resumed run must have the same settings, except that --epochs may grow (the cosine
    schedule is then rebuilt for the new length and continues from the step reached); any
    other change is refused by name. Training stops at the first non-finite loss."""
    with claim_run_dir(run_dir, "train") as run:
        return _train(ds, cfg, run)


def _train(ds: Dataset, cfg: TrainConfig, run: Path) -> dict:
    c, h = ds.x_train.shape[1], ds.x_train.shape[2]
    model = create_model(cfg.model, c, len(ds.classes), h)
    opt = torch.optim.AdamW(model.parameters(), cfg.lr, weight_decay=cfg.weight_decay)
    start, history = 0, []
    ckpt = run / "checkpoint.pt"
    settings = {**asdict(cfg), "dataset": ds.name}
    if ckpt.exists():
        state = _load_checkpoint(ckpt, settings)
        start, history = state["epoch"] + 1, state["history"]
        if cfg.epochs < start:
            raise InvalidInputError(f"{run} has already trained {start} epochs; give --epochs {start} or more "
                                    "to resume, or another --out.")
        model.load_state_dict(upgrade_state_dict(cfg.model, state["model"]))
        opt.load_state_dict(state["optimizer"])
        if state["settings"].get("epochs") != cfg.epochs:  # the cosine is rebuilt for the new length
            say(f"extending the learning-rate schedule to {cfg.epochs} epochs")
        say(f"resuming {cfg.model} from epoch {start + 1}" if start < cfg.epochs else
            f"{cfg.model} has trained its {cfg.epochs} epoch{'s' * (cfg.epochs != 1)} already; nothing to redo")
    write_toml({"command": "train", **settings, "run": _train_meta(cfg, ds.name, run)}, run / "config.toml")
    with seeded(cfg.seed):  # any draw in training (dropout) comes from the run's seed
        for epoch in range(start, cfg.epochs):
            t0 = time.perf_counter()
            loss = _epoch(model, opt, ds, cfg, epoch)
            acc = top1_accuracy(model, ds.x_test, ds.y_test)
            history.append({"epoch": epoch + 1, "loss": loss, "test_accuracy": acc,
                            "seconds": time.perf_counter() - t0})
            say(f"epoch {epoch + 1}/{cfg.epochs}: loss {loss:.4f}, test accuracy {acc:.4f} "
                f"({history[-1]['seconds']:.1f} s)")
            atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch,
                               "history": history, "settings": settings}, ckpt)
    result = {"model": cfg.model, "dataset": ds.name, "test_accuracy": top1_accuracy(model, ds.x_test, ds.y_test),
              "history": history}
    atomic_torch_save({"arch": cfg.model, "in_channels": c, "n_classes": len(ds.classes), "image_size": h,
                       "dataset": ds.name, "state_dict": model.state_dict(),
                       "test_accuracy": result["test_accuracy"]}, run / "model.pt")
    write_json(result, run / "results.json")
    return result


def _train_meta(cfg: TrainConfig, dataset: str, run: Path) -> dict:
    """run_meta() whose argv is a `scnas train` command that makes this run; a training started
    by another command (a teacher trained for `scnas emulate`) keeps that command as triggered_by."""
    meta = run_meta()
    if not meta["argv"].startswith("scnas train"):
        meta["triggered_by"] = meta["argv"]
        meta["argv"] = shlex.join(["scnas", "train", "--model", cfg.model, "--dataset", dataset, "--epochs",
                                   str(cfg.epochs), "--batch-size", str(cfg.batch_size), "--lr", repr(cfg.lr),
                                   "--seed", str(cfg.seed), "--out", str(run)])
    return meta


def _load_checkpoint(ckpt: Path, settings: dict) -> dict:
    """The checkpoint's state, or a one-sentence error when it is damaged or was made with
    other settings than `settings` (what changed is named; only --epochs may grow)."""
    state = load_tensors(ckpt, "checkpoint", "delete it to train from the start")
    keys = {"model", "optimizer", "epoch", "history", "settings"}
    if (not isinstance(state, dict) or not keys <= set(state) or not isinstance(state["settings"], dict)
            or not isinstance(state["epoch"], int)):
        raise DataFileError(f"checkpoint {ckpt} is damaged (it lacks the model, optimiser, epoch or settings); "
                            "delete it to train from the start.")
    saved = state["settings"]
    changed = ", ".join(f"{k} {saved.get(k)!r} -> {settings.get(k)!r}" for k in settings
                        if k != "epochs" and saved.get(k) != settings.get(k))
    if changed:
        raise InvalidInputError(f"{ckpt.parent} was trained with other settings ({changed}); resume with the "
                                "same ones or give another --out.")
    return state


def load_model(path: str | Path) -> tuple[torch.nn.Module, dict]:
    """(model in eval mode, metadata) from a model.pt written by train() or `scnas search`, a
    student.pt written by `scnas recast` (its teacher is loaded from where the student records
    it), or a run directory."""
    p = Path(path)
    if p.is_dir():
        p = p / ("student.pt" if (p / "student.pt").is_file() and not (p / "model.pt").is_file() else "model.pt")
    if p.exists() and not p.is_file():
        raise DataFileError(f"{p} is not a regular file; give a model.pt or a run directory.")
    if not p.is_file():
        raise DataFileError(f"no trained model at {p}; train one with "
                            "`scnas train --model lenet5 --dataset DATASET --out RUN`.")
    meta = _read_model_file(p)
    try:
        if meta.get("kind") == "recast-student":  # the teacher's stem and head around the recast blocks
            teacher, tmeta = load_model(meta["teacher"])
            model = build_student(recastable(teacher, meta.get("modules")), meta["spec"], meta["head_in"])
            meta["state_dict"] = upgrade_state_dict(tmeta.get("arch"), meta["state_dict"], prefix="blocks")
            meta = {**{k: tmeta[k] for k in ("in_channels", "n_classes", "image_size")}, **meta}
        elif meta.get("kind") == "nas-model":  # a searched network: rebuilt from its genotype
            model = build_network(Genotype.from_dict(meta["genotype"]), meta["in_channels"], meta["n_classes"])
        else:
            model = create_model(meta["arch"], meta["in_channels"], meta["n_classes"], meta["image_size"])
        model.load_state_dict(upgrade_state_dict(meta.get("arch"), meta["state_dict"]))
    except DataFileError:
        raise
    except Exception as e:  # noqa: BLE001 (a forged file raises key, type or shape errors)
        raise _not_a_model(p, brief(e)) from None
    return model.eval(), {k: v for k, v in meta.items() if k != "state_dict"}


def _not_a_model(p: Path, why: str) -> DataFileError:
    return DataFileError(f"{p} is not a model checkpoint written by scnas train, recast or search ({why}).")


def _read_model_file(p: Path) -> dict:
    """A model file's content as plain data (never running code from it)."""
    try:
        meta = load_tensors(p, "model file")
    except DamagedFileError as e:
        raise _not_a_model(p, e.why) from None
    if not isinstance(meta, dict):
        raise _not_a_model(p, f"it holds a {type(meta).__name__}, not a dict")
    return meta
