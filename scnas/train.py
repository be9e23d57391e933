"""Train zoo teachers on the CPU, with a checkpoint per epoch (interrupt and rerun to resume).

A run directory holds config.toml (the resolved training config), checkpoint.pt (model,
optimiser, epoch, history: written after every epoch) and, when done, model.pt (weights
plus what is needed to rebuild the model) and results.json.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from sc_accel.errors import DataFileError, InvalidInputError
from scnas.config import run_meta, write_json, write_toml
from scnas.data import Dataset
from scnas.zoo import create_model

__all__ = ["TrainConfig", "train", "load_model", "accuracy"]


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
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InvalidInputError(f"{name}={v!r} must be a positive integer.")
        if not self.lr > 0:
            raise InvalidInputError(f"lr={self.lr!r} must be positive.")


def accuracy(model: torch.nn.Module, x: np.ndarray, y: np.ndarray, batch: int = 1000) -> float:
    """Top-1 accuracy of a float model."""
    model.eval()
    hits = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            hits += int((model(torch.as_tensor(x[i:i + batch])).argmax(1).numpy() == y[i:i + batch]).sum())
    return hits / max(len(x), 1)


def _epoch(model, opt, sched, ds: Dataset, cfg: TrainConfig, epoch: int) -> float:
    model.train()
    g = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)  # same order when resumed
    perm = torch.randperm(len(ds.x_train), generator=g)
    x, y = torch.as_tensor(ds.x_train), torch.as_tensor(ds.y_train).long()
    total = 0.0
    bar = tqdm(range(0, len(perm), cfg.batch_size), desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False)
    for i in bar:
        idx = perm[i:i + cfg.batch_size]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        total += float(loss) * len(idx)
        bar.set_postfix(loss=f"{float(loss):.3f}")
    return total / len(perm)


def train(ds: Dataset, cfg: TrainConfig, run_dir: str | Path) -> dict:
    """Train cfg.model on ds into run_dir, resuming from checkpoint.pt; returns the results."""
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    write_toml({"command": "train", **asdict(cfg), "dataset": ds.name, "run": run_meta()}, run / "config.toml")
    c, h = ds.x_train.shape[1], ds.x_train.shape[2]
    model = create_model(cfg.model, c, len(ds.classes), h)
    opt = torch.optim.AdamW(model.parameters(), cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * -(-len(ds.x_train) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    start, history = 0, []
    ckpt = run / "checkpoint.pt"
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start, history = state["epoch"] + 1, state["history"]
        print(f"resuming {cfg.model} from epoch {start + 1}")
    torch.manual_seed(cfg.seed)
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        loss = _epoch(model, opt, sched, ds, cfg, epoch)
        acc = accuracy(model, ds.x_test, ds.y_test)
        history.append({"epoch": epoch + 1, "loss": loss, "test_accuracy": acc,
                        "seconds": time.perf_counter() - t0})
        print(f"epoch {epoch + 1}/{cfg.epochs}: loss {loss:.4f}, test accuracy {acc:.4f}")
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                    "epoch": epoch, "history": history}, ckpt)
    result = {"model": cfg.model, "dataset": ds.name, "test_accuracy": accuracy(model, ds.x_test, ds.y_test),
              "history": history}
    torch.save({"arch": cfg.model, "in_channels": c, "n_classes": len(ds.classes), "image_size": h,
                "dataset": ds.name, "state_dict": model.state_dict(),
                "test_accuracy": result["test_accuracy"]}, run / "model.pt")
    write_json(result, run / "results.json")
    return result


def load_model(path: str | Path) -> tuple[torch.nn.Module, dict]:
    """(model in eval mode, metadata) from a model.pt written by train(), or its run directory."""
    p = Path(path)
    if p.is_dir():
        p = p / "model.pt"
    if not p.is_file():
        raise DataFileError(f"no trained model at {p}; train one with "
                            "`scnas train --model lenet5 --dataset fashion-mnist --out RUN`.")
    try:
        meta = torch.load(p, weights_only=False)
        model = create_model(meta["arch"], meta["in_channels"], meta["n_classes"], meta["image_size"])
        model.load_state_dict(meta["state_dict"])
    except (KeyError, RuntimeError, EOFError, ValueError) as e:
        raise DataFileError(f"{p} is not a model checkpoint written by scnas train ({e}).") from None
    return model.eval(), {k: v for k, v in meta.items() if k != "state_dict"}
