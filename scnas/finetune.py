"""`scnas finetune`: SC-aware fine-tuning of a trained model for the SC hardware it will run on.

The last `val_images` training images are held out: before training and after each epoch
they choose the calibration percentile (`calib_search`: the one whose bit-true accuracy there
is highest; training moves the activations, and a percentile's power-of-two scale with
them), and the run keeps the epoch that scores highest there (epoch 0, the source, when none
beats it; on a tie the earlier epoch), with its percentile, not the last one. "Before" is
the untuned model at the percentile chosen before training. The test set is
scored twice, before and for the epoch kept, and never chooses anything.

The model's own weights are trained through `sc_accel.nn.surrogate.SCSurrogate` for one
SCConfig (mode "moments": noise injection with the expected backend's variance, fitted per
layer to bit-true runs; mode "bit": the bit-true forward with a straight-through backward).
Each epoch starts by re-deriving the conversion scales from the current weights and, in
moments mode, refitting the noise scales; it ends with a checkpoint (model, optimiser,
epoch, history, the epoch kept so far), so a killed run resumes from the last finished
epoch with the same weights it would have had. The run directory holds config.toml,
checkpoint.pt, results.json (bit-true test accuracy before and after, the float accuracy
after, the history, the percentile search, the epoch kept) and model.pt: the source model's
file with the kept weights and the SCConfig they were trained for (`sc_config`), which
`scnas emulate --model RUN` then uses by default.
"""

from __future__ import annotations

import copy
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
    calib_search: tuple[float, ...] | None = None  # percentiles to choose sc.calib_percentile from (None: keep it)
    val_images: int = 2000          # the last training images, held out: they choose the percentile and the epoch kept
    distill: float = 0.0            # weight of the KL term to the source model's float outputs (0: labels only)

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
        check_count("val_images=", self.val_images, 1, 1 << 20)
        if isinstance(self.distill, bool) or not isinstance(self.distill, (int, float)) or not 0 <= self.distill <= 1:
            raise InvalidInputError(f"distill={self.distill!r} must be a weight from 0 to 1.")
        if self.calib_search is not None:
            object.__setattr__(self, "calib_search", tuple(float(p) for p in self.calib_search))
            for p in self.calib_search:
                self.sc.replace(calib_percentile=p)  # each one checked as SCConfig checks it
            if not self.calib_search:
                raise InvalidInputError("calib_search must name at least one percentile.")
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not 0 < self.lr < math.inf:
            raise InvalidInputError(f"lr={self.lr!r} must be a positive finite number.")

    def settings(self) -> dict:
        """Plain data for config.toml (what a resume must match)."""
        d = asdict(self)
        d["sc"] = self.sc.to_dict()
        if self.calib_search is not None:
            d["calib_search"] = list(self.calib_search)
        return {k: v for k, v in d.items() if v is not None}


def finetune(model: torch.nn.Module, ds: Dataset, cfg: FinetuneConfig, run_dir: str | Path, source: dict) -> dict:
    """Fine-tune `model` (loaded from the model file whose metadata is `source`) into run_dir,
    resuming from its checkpoint; returns the results. Changed settings are refused by name."""
    n = len(ds.x_train) if cfg.train_limit is None else min(cfg.train_limit, len(ds.x_train))
    if n < 2:
        raise InvalidInputError(f"fine-tuning needs at least 2 training images (one to train on, one held out); "
                                f"{ds.name} with train_limit={cfg.train_limit} gives {n}.")
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
    """(train x, y, validation x, y, test x, y): the validation images are the last val_images
    of the (limited) training set, at most a fifth of it, and no gradient step sees them."""
    n = len(ds.x_train) if cfg.train_limit is None else min(cfg.train_limit, len(ds.x_train))
    m = len(ds.x_test) if cfg.test_limit is None else min(cfg.test_limit, len(ds.x_test))
    v = max(1, min(cfg.val_images, n // 5))
    y = ds.y_train[:n].astype(np.int64)
    return (ds.x_train[:n - v], y[:n - v], ds.x_train[n - v:n], y[n - v:n], ds.x_test[:m],
            ds.y_test[:m].astype(np.int64))


SMALL_HELD_OUT = 200  # fewer held-out images than this: the choices they make are noisy (said, not refused)


def _finetune(model: torch.nn.Module, ds: Dataset, cfg: FinetuneConfig, run: Path, source: dict) -> dict:
    xtr, ytr, xval, yval, xte, yte = _data(ds, cfg)
    if len(yval) < SMALL_HELD_OUT:
        say(f"warning: only {len(yval)} held-out training images choose the percentile and the epoch kept; with so "
            "few, one image is more than half a point and the choices are noisy")
    calib, noise_x, noise_y = xtr[:cfg.calib_images], xtr[:cfg.noise_images], ytr[:cfg.noise_images]
    model.eval()
    teacher = _frozen(model) if cfg.distill > 0 else None  # the source's float outputs, before any step or resume
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], cfg.lr, weight_decay=0.0)
    ckpt = run / "checkpoint.pt"
    start, history, before, best = _resume(ckpt, model, opt, cfg.epochs)
    if before is None:  # before: the source's accuracies; best: the epoch kept so far
        before = choose_percentile(model, cfg, calib, xval, yval)
        sc = cfg.sc.replace(calib_percentile=before["calib_percentile"])
        before.update(bit=bit_accuracy(model, sc, calib, xte, yte), float=top1_accuracy(model, xte, yte))
        best = {"epoch": 0, "val": before["val"], "model": _copy(model.state_dict()),
                "calib_percentile": before["calib_percentile"]}
        say(f"bit-true test accuracy before fine-tuning: {100 * before['bit']:.2f}% (float {100 * before['float']:.2f}%)")
    pct = history[-1]["calib_percentile"] if history else before["calib_percentile"]
    sur = SCSurrogate(model, cfg.sc.replace(calib_percentile=pct), torch.as_tensor(calib), cfg.mode, cfg.seed)
    grid = cfg.calib_search or (cfg.sc.calib_percentile,)
    with seeded(cfg.seed):
        for epoch in range(start, cfg.epochs):
            history.append(_epoch(sur, opt, cfg, epoch, xtr, ytr, calib, (noise_x, noise_y), teacher))
            h = history[-1]
            h["calib_percentile"], h["val_bit_accuracy"], _ = _score(model, cfg.sc, calib, xval, yval, grid)
            if h["val_bit_accuracy"] > best["val"]:
                best = {"epoch": epoch + 1, "val": h["val_bit_accuracy"], "model": _copy(model.state_dict()),
                        "calib_percentile": h["calib_percentile"]}
            sur.config = cfg.sc.replace(calib_percentile=h["calib_percentile"], mode="bit")  # the next epoch's
            say(f"epoch {epoch + 1}/{cfg.epochs}: loss {h['loss']:.4f}, bit-true accuracy on the held-out images "
                f"{100 * h['val_bit_accuracy']:.2f}% (percentile {h['calib_percentile']:g}; {h['seconds']:.1f} s)")
            atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch,
                               "history": history, "before": before, "best": best}, ckpt)
    sc = cfg.sc.replace(calib_percentile=best["calib_percentile"])
    try:  # the epoch whose held-out bit-true accuracy is highest (0: the source)
        model.load_state_dict(best["model"])
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as e:
        raise _damaged(ckpt, f"the weights of the epoch kept do not fit the model ({brief(e)})") from None
    after = bit_accuracy(model, sc, calib, xte, yte) if best["epoch"] else before["bit"]  # the test set, once
    return _write(run, model, source, cfg, sc, ds.name, (before, best, after, history), (len(yval), len(yte)),
                  top1_accuracy(model, xte, yte))


def _resume(ckpt: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, epochs: int) -> tuple:
    """(first epoch to run, history, before, best) from the checkpoint, with the model and the
    optimiser restored; (0, [], None, None) without one."""
    if not ckpt.exists():
        return 0, [], None, None
    state = _load_checkpoint(ckpt, epochs)
    try:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as e:
        raise _damaged(ckpt, f"its weights or optimiser state do not fit the model ({brief(e)})") from None
    start = state["epoch"] + 1
    say(f"resuming the fine-tune from epoch {start + 1}" if start < epochs else "the fine-tune is done; "
        "writing its results again")
    return start, state["history"], state["before"], state["best"]


def _write(run: Path, model: torch.nn.Module, source: dict, cfg: FinetuneConfig, sc: SCConfig, dataset: str,
           outcome: tuple, counts: tuple[int, int], float_after: float) -> dict:
    """results.json and model.pt (the kept weights and the SCConfig they were trained for)."""
    before, best, after, history = outcome
    n_val, n_test = counts
    result = {"model": source.get("arch") or source.get("kind", "model"), "dataset": dataset, "mode": cfg.mode,
              "sc_config": sc.to_dict(), "n_test_images": int(n_test), "bit_accuracy_before": before["bit"],
              "bit_accuracy_after": after, "source_float_accuracy": before["float"], "float_accuracy_after": float_after,
              "history": history, "noise_scale": _last_noise_scale(history), "model_sha256": model_hash(model),
              "source_sha256": source.get("model_hash"), "kept_epoch": best["epoch"], "val_images": int(n_val),
              "val_bit_accuracy_before": before["val"], "val_bit_accuracy_after": best["val"],
              "calib_percentile_before": before["calib_percentile"]}
    if "calib_scores" in before:
        result["calib_search"] = {"images": int(n_val), "bit_accuracy": before["calib_scores"],
                                  "chosen": before["calib_percentile"]}
    meta = {k: v for k, v in source.items() if k not in ("path", "model_hash")}
    atomic_torch_save({**meta, "state_dict": model.state_dict(), "test_accuracy": float_after,
                       "sc_config": sc.to_dict(), "finetune": {"mode": cfg.mode, "epochs": cfg.epochs,
                                                               "from": source.get("path")}},
                      run / "model.pt")
    write_json(result, run / "results.json")
    return result


def choose_percentile(model: torch.nn.Module, cfg: FinetuneConfig, calib: np.ndarray, x: np.ndarray,
                      y: np.ndarray) -> dict:
    """The calibration percentile to train for and the source's bit-true accuracy under it on
    the held-out images x, y: cfg.sc's own percentile, or with cfg.calib_search the one scoring
    highest there, ties to the larger (less clipping). Why: a scale set by the largest
    activation leaves most values a few ones in a short stream; clipping the top 1-2% buys
    resolution (LeNet-5, Fashion-MNIST, L = 64, Sobol: 73.9% at 100, 85.7% at 98, untuned)."""
    grid = cfg.calib_search or (cfg.sc.calib_percentile,)
    best, val, scores = _score(model, cfg.sc, calib, x, y, grid)
    out = {"calib_percentile": best, "val": val}
    if cfg.calib_search is not None:
        say("calibration percentile " + ", ".join(f"{p:g}: {100 * scores[str(p)]:.2f}%" for p in grid) +
            f" on {len(y)} held-out images -> {best:g}")
        out["calib_scores"] = scores
    return out


def _score(model: torch.nn.Module, sc: SCConfig, calib: np.ndarray, x: np.ndarray, y: np.ndarray,
           grid: tuple[float, ...]) -> tuple[float, float, dict]:
    """(best percentile of `grid`, its bit-true accuracy on x, y, every percentile's): ties go to
    the larger. Run again after every epoch, because training moves the activations and with
    them the power-of-two scale a percentile gives (one doubling costs a bit of resolution)."""
    scores = {str(p): bit_accuracy(model, sc.replace(calib_percentile=p), calib, x, y) for p in grid}
    best = max(grid, key=lambda p: (scores[str(p)], p))
    return best, scores[str(best)], scores


def _copy(state: dict) -> dict:
    """A detached copy of a state dict (the weights of the epoch kept)."""
    return {k: v.detach().clone() for k, v in state.items()}


def epoch_mode(cfg: FinetuneConfig, epoch: int) -> str:
    """The surrogate mode of epoch `epoch` (0-based): moments, but bit for the last bit_epochs."""
    return "bit" if cfg.mode == "bit" or epoch >= cfg.epochs - cfg.bit_epochs else "moments"


def _epoch(sur: SCSurrogate, opt: torch.optim.Optimizer, cfg: FinetuneConfig, epoch: int, x: np.ndarray,
           y: np.ndarray, calib: np.ndarray, noise_data: tuple[np.ndarray, np.ndarray],
           teacher: torch.nn.Module | None = None) -> dict:
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
        value = checked_step(opt, _loss(sur(xt[idx]).float(), yt[idx], xt[idx], teacher, cfg.distill),
                             f"epoch {epoch + 1} of the fine-tune")
        total += value * len(idx)
        bar.set_postfix(loss=f"{value:.3f}")
    return {"epoch": epoch + 1, "mode": sur.mode, "loss": total / len(perm), "seconds": time.perf_counter() - t0,
            "noise_scale": noise}


DISTILL_T = 2.0  # softmax temperature of the distillation term (Hinton et al. 2015, arXiv:1503.02531)


def _loss(logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor, teacher: torch.nn.Module | None,
          weight: float) -> torch.Tensor:
    """Cross-entropy on the labels; with a teacher, (1 - weight) of it plus weight x T^2 x the
    KL divergence from the teacher's softened float outputs (T = DISTILL_T): the source model's
    own float predictions carry what the labels alone do not (which wrong classes are close)."""
    ce = F.cross_entropy(logits, y)
    if teacher is None:
        return ce
    with torch.no_grad():
        soft = F.log_softmax(teacher(x).float() / DISTILL_T, dim=1)
    kl = F.kl_div(F.log_softmax(logits / DISTILL_T, dim=1), soft, log_target=True, reduction="batchmean")
    return (1.0 - weight) * ce + weight * DISTILL_T ** 2 * kl


def _frozen(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of the source model that no step changes (the distillation teacher), in eval mode."""
    out = copy.deepcopy(model).eval()
    for p in out.parameters():
        p.requires_grad_(False)
    return out


def _last_noise_scale(history: list[dict]) -> dict:
    """The noise scales of the last moments epoch (a rerun of a finished run keeps them)."""
    return next((dict(h["noise_scale"]) for h in reversed(history) if h.get("noise_scale")), {})


def _damaged(ckpt: Path, why: str) -> DataFileError:
    return DataFileError(f"checkpoint {ckpt} is damaged ({why}); delete it to fine-tune from the start.")


def _percentile(v: object) -> bool:
    """Whether v is a calibration percentile SCConfig takes (a number from 50 to 100)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 50.0 <= v <= 100.0


def _fraction(v: object) -> bool:
    """Whether v is an accuracy as finetune stores one (a number from 0 to 1, not NaN)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0


def _load_checkpoint(ckpt: Path, epochs: int) -> dict:
    """The checkpoint's state, checked: the parts a resume reads are there and of their kind."""
    state = load_tensors(ckpt, "checkpoint", "delete it to fine-tune from the start")
    if not isinstance(state, dict) or not {"model", "optimizer", "epoch", "history", "before", "best"} <= set(state):
        raise _damaged(ckpt, "it lacks the model, optimiser, epoch, history, first accuracies or epoch kept")
    epoch, history, before = state["epoch"], state["history"], state["before"]
    if not is_int(epoch) or not 0 <= epoch < epochs:
        raise _damaged(ckpt, f"its epoch {epoch!r} is not one of this run's {epochs}")
    if (not isinstance(history, list) or len(history) != epoch + 1
            or not all(isinstance(h, dict) and _percentile(h.get("calib_percentile"))
                       and _fraction(h.get("val_bit_accuracy")) for h in history)
            or not isinstance(before, dict) or not all(_fraction(before.get(k)) for k in ("bit", "float", "val"))
            or not _percentile(before.get("calib_percentile"))):
        raise _damaged(ckpt, "its history or first accuracies are not what finetune writes")
    best = state["best"]
    if (not isinstance(best, dict) or not {"epoch", "model"} <= set(best) or not is_int(best["epoch"])
            or not _fraction(best.get("val"))
            or not _percentile(best.get("calib_percentile"))
            or not 0 <= best["epoch"] <= epoch + 1 or not isinstance(best["model"], dict)):
        raise _damaged(ckpt, "its record of the epoch kept is not what finetune writes")
    if not isinstance(state["model"], dict) or not isinstance(state["optimizer"], dict):
        raise _damaged(ckpt, "its weights or optimiser state are not tables")
    return state
