"""`scnas finetune`: SC-aware fine-tuning of a trained model for the SC hardware it will run on.

The model's own weights are trained through `sc_accel.nn.surrogate.SCSurrogate` for one
SCConfig (mode "moments": noise injection with the expected backend's variance, fitted per
layer to bit-true runs; mode "bit": the bit-true forward with a straight-through backward).
Each epoch starts by re-deriving the conversion scales from the current weights and, in
moments mode, refitting the noise scales; it ends with a checkpoint (model, optimiser,
epoch, history), so a killed run resumes from the last finished epoch with the same
weights it would have had. The run directory holds config.toml, checkpoint.pt,
results.json (bit-true test accuracy before and after, the float accuracy after, the
history) and model.pt: the source model's file with the new weights and the SCConfig it
was trained for (`sc_config`), which `scnas emulate --model RUN` then uses by default.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sc_accel.errors import (MAX_EPOCHS, MAX_TRAIN_BATCH, DataFileError, InvalidInputError, brief, check_count,
                             checked_step, is_int)
from sc_accel.fileio import load_tensors
from sc_accel.metrics import top1_accuracy
from sc_accel.nn import SCConfig, check_fits
from sc_accel.nn.surrogate import SURROGATE_MODES, SCSurrogate
from sc_accel.progress import bar as progress_bar, say
from sc_accel.seeds import seeded
from scnas.config import claim_settings, write_json
from scnas.data import Dataset
from scnas.rundir import atomic_torch_save, claim_run_dir
from scnas.scoring import bit_accuracy
from scnas.train import cosine_lr
from scnas.sweep import model_hash

__all__ = ["FinetuneConfig", "finetune"]


@dataclass(frozen=True)
class FinetuneConfig:
    """What an SC-aware fine-tune does: the SC settings it trains for, the surrogate mode and
    AdamW with cosine decay (a small peak rate: the weights start trained)."""

    sc: SCConfig = field(default_factory=lambda: SCConfig(stream_length=64))
    mode: str = "moments"
    epochs: int = 3
    bit_epochs: int = 1       # in mode "moments", the last epochs that run bit-true (exact) instead
    batch_size: int = 128
    lr: float = 2e-4
    seed: int = 0
    calib_images: int = 1000  # training images that set the conversion scales (emulate's --calib default)
    noise_images: int = 256   # training images the noise scales are fitted on, bit-true
    train_limit: int | None = None  # first N training images only (None: all)
    test_limit: int | None = None   # first N test images for the accuracies (None: all)

    def __post_init__(self) -> None:
        if not isinstance(self.sc, SCConfig):
            raise InvalidInputError(f"sc must be an SCConfig, not {type(self.sc).__name__}.")
        if self.mode not in SURROGATE_MODES:
            raise InvalidInputError(f"--mode {self.mode!r} is not one of {', '.join(SURROGATE_MODES)}.")
        check_count("epochs=", self.epochs, 1, MAX_EPOCHS)
        check_count("batch_size=", self.batch_size, 1, MAX_TRAIN_BATCH)
        check_count("bit_epochs=", self.bit_epochs, 0, self.epochs, "at most the epochs")
        check_count("calib_images=", self.calib_images, 2, 1 << 20)
        check_count("noise_images=", self.noise_images, 1, 1 << 20)
        for name in ("train_limit", "test_limit"):
            if getattr(self, name) is not None:
                check_count(f"{name}=", getattr(self, name), 1, 1 << 30)
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not 0 < self.lr < math.inf:
            raise InvalidInputError(f"lr={self.lr!r} must be a positive finite number.")

    def settings(self) -> dict:
        """Plain data for config.toml (what a resume must match)."""
        d = asdict(self)
        d["sc"] = self.sc.to_dict()
        return {k: v for k, v in d.items() if v is not None}


def finetune(model: torch.nn.Module, ds: Dataset, cfg: FinetuneConfig, run_dir: str | Path, source: dict) -> dict:
    """Fine-tune `model` (loaded from the model file whose metadata is `source`) into run_dir,
    resuming from its checkpoint; returns the results. Changed settings are refused by name."""
    xtr = ds.x_train[:min(cfg.calib_images, len(ds.x_train))]
    check_fits(model, cfg.sc, torch.as_tensor(xtr))  # a model the converter rejects: refused before any write
    with claim_run_dir(run_dir, "finetune") as run:
        claim_settings(run, {"command": "finetune", "dataset": ds.name, "source": _source_key(source),
                             **cfg.settings()})
        return _finetune(model, ds, cfg, run, source)


def _source_key(source: dict) -> dict:
    """What identifies the model a run fine-tunes: its content, not where its file lies."""
    return {k: source[k] for k in ("arch", "kind", "model_hash") if k in source}


def _data(ds: Dataset, cfg: FinetuneConfig) -> tuple:
    n = len(ds.x_train) if cfg.train_limit is None else min(cfg.train_limit, len(ds.x_train))
    m = len(ds.x_test) if cfg.test_limit is None else min(cfg.test_limit, len(ds.x_test))
    return ds.x_train[:n], ds.y_train[:n].astype(np.int64), ds.x_test[:m], ds.y_test[:m].astype(np.int64)


def _finetune(model: torch.nn.Module, ds: Dataset, cfg: FinetuneConfig, run: Path, source: dict) -> dict:
    xtr, ytr, xte, yte = _data(ds, cfg)
    calib, noise_x, noise_y = xtr[:cfg.calib_images], xtr[:cfg.noise_images], ytr[:cfg.noise_images]
    model.eval()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], cfg.lr, weight_decay=0.0)
    ckpt = run / "checkpoint.pt"
    start, history, before = 0, [], None  # before: the source's bit-true and float test accuracies
    if ckpt.exists():
        state = _load_checkpoint(ckpt, cfg.epochs)
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
        except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as e:
            raise _damaged(ckpt, f"its weights or optimiser state do not fit the model ({brief(e)})") from None
        start, history, before = state["epoch"] + 1, state["history"], state["before"]
        say(f"resuming the fine-tune from epoch {start + 1}" if start < cfg.epochs else "the fine-tune is done; "
            "writing its results again")
    if before is None:
        before = {"bit": bit_accuracy(model, cfg.sc, calib, xte, yte), "float": top1_accuracy(model, xte, yte)}
        say(f"bit-true test accuracy before fine-tuning: {100 * before['bit']:.2f}% (float {100 * before['float']:.2f}%)")
    sur = SCSurrogate(model, cfg.sc, torch.as_tensor(calib), cfg.mode, cfg.seed)
    with seeded(cfg.seed):
        for epoch in range(start, cfg.epochs):
            history.append(_epoch(sur, opt, cfg, epoch, xtr, ytr, calib, (noise_x, noise_y)))
            history[-1]["bit_accuracy"] = bit_accuracy(model, cfg.sc, calib, xte, yte)
            say(f"epoch {epoch + 1}/{cfg.epochs}: loss {history[-1]['loss']:.4f}, bit-true test accuracy "
                f"{100 * history[-1]['bit_accuracy']:.2f}% ({history[-1]['seconds']:.1f} s)")
            atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch,
                               "history": history, "before": before}, ckpt)
    after = history[-1]["bit_accuracy"] if history else bit_accuracy(model, cfg.sc, calib, xte, yte)
    result = {"model": source.get("arch") or source.get("kind", "model"), "dataset": ds.name, "mode": cfg.mode, "sc_config": cfg.sc.to_dict(),
              "n_test_images": int(len(yte)), "bit_accuracy_before": before["bit"], "bit_accuracy_after": after,
              "source_float_accuracy": before["float"], "float_accuracy_after": top1_accuracy(model, xte, yte),
              "history": history, "noise_scale": _last_noise_scale(history), "model_sha256": model_hash(model),
              "source_sha256": source.get("model_hash")}
    meta = {k: v for k, v in source.items() if k not in ("path", "model_hash")}
    atomic_torch_save({**meta, "state_dict": model.state_dict(), "test_accuracy": result["float_accuracy_after"],
                       "sc_config": cfg.sc.to_dict(), "finetune": {"mode": cfg.mode, "epochs": cfg.epochs,
                                                                   "from": source.get("path")}},
                      run / "model.pt")
    write_json(result, run / "results.json")
    return result


def epoch_mode(cfg: FinetuneConfig, epoch: int) -> str:
    """The surrogate mode of epoch `epoch` (0-based): moments, but bit for the last bit_epochs."""
    return "bit" if cfg.mode == "bit" or epoch >= cfg.epochs - cfg.bit_epochs else "moments"


def _epoch(sur: SCSurrogate, opt: torch.optim.Optimizer, cfg: FinetuneConfig, epoch: int, x: np.ndarray,
           y: np.ndarray, calib: np.ndarray, noise_data: tuple[np.ndarray, np.ndarray]) -> dict:
    """One pass over the training images through the surrogate; the model stays in eval mode
    (BN keeps the running statistics the converter folds)."""
    t0 = time.perf_counter()
    sur.mode = epoch_mode(cfg, epoch)
    sur.recalibrate(torch.as_tensor(calib))
    noise = sur.calibrate_noise(*map(torch.as_tensor, noise_data)) if sur.mode == "moments" else {}
    sur.reseed(cfg.seed * 1000 + epoch)  # the same noise when resumed
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch))
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    per_epoch = -(-len(perm) // cfg.batch_size)
    total = 0.0
    bar = progress_bar(range(0, len(perm), cfg.batch_size), desc=f"SC-aware epoch {epoch + 1}/{cfg.epochs} ({sur.mode})",
                       leave=False, summary=False)
    for k, i in enumerate(bar):
        for group in opt.param_groups:
            group["lr"] = cosine_lr(cfg.lr, epoch * per_epoch + k, cfg.epochs * per_epoch)
        idx = perm[i:i + cfg.batch_size]
        value = checked_step(opt, F.cross_entropy(sur(xt[idx]).float(), yt[idx]), f"epoch {epoch + 1} of the fine-tune")
        total += value * len(idx)
        bar.set_postfix(loss=f"{value:.3f}")
    return {"epoch": epoch + 1, "mode": sur.mode, "loss": total / len(perm), "seconds": time.perf_counter() - t0,
            "noise_scale": noise}


def _last_noise_scale(history: list[dict]) -> dict:
    """The noise scales of the last moments epoch (a rerun of a finished run keeps them)."""
    return next((dict(h["noise_scale"]) for h in reversed(history) if h.get("noise_scale")), {})


def _damaged(ckpt: Path, why: str) -> DataFileError:
    return DataFileError(f"checkpoint {ckpt} is damaged ({why}); delete it to fine-tune from the start.")


def _load_checkpoint(ckpt: Path, epochs: int) -> dict:
    """The checkpoint's state, checked: the parts a resume reads are there and of their kind."""
    state = load_tensors(ckpt, "checkpoint", "delete it to fine-tune from the start")
    if not isinstance(state, dict) or not {"model", "optimizer", "epoch", "history", "before"} <= set(state):
        raise _damaged(ckpt, "it lacks the model, optimiser, epoch, history or first accuracies")
    epoch, history, before = state["epoch"], state["history"], state["before"]
    if not is_int(epoch) or not 0 <= epoch < epochs:
        raise _damaged(ckpt, f"its epoch {epoch!r} is not one of this run's {epochs}")
    if (not isinstance(history, list) or len(history) != epoch + 1 or not all(isinstance(h, dict) for h in history)
            or not isinstance(before, dict) or not {"bit", "float"} <= set(before)):
        raise _damaged(ckpt, "its history or first accuracies are not what finetune writes")
    if not isinstance(state["model"], dict) or not isinstance(state["optimizer"], dict):
        raise _damaged(ckpt, "its weights or optimiser state are not tables")
    return state
