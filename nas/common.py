"""Pieces the search phases share: what every per-stage task carries, seeded batches,
checkpoints that refuse other settings, deriving cells from architecture weights, and training
a whole network (CE, optional KD)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from nas.genotype import Edge, SearchSpace
from nas.teacher import TeacherCut
from sc_accel.errors import DataFileError, InvalidInputError, checked_step, check_training_data
from sc_accel.fileio import atomic_torch_save, load_tensors
from sc_accel.progress import bar as progress_bar
from sc_accel.seeds import derive_seed

__all__ = ["StageInputs", "as_tensors", "batches", "distil_blocks", "load_checkpoint", "save_checkpoint", "resume",
           "derive_cells", "train_network", "KD_TEMPERATURE"]

KD_TEMPERATURE = 4.0  # Hinton et al. 2015 use 1-20; 4 is the common choice for CIFAR-sized nets


@dataclass(frozen=True, kw_only=True)
class StageInputs:
    """What every per-stage task of a search carries (plain, picklable data: tasks run inline, in
    processes or on Ray): stage `s` of `space`, the teacher cut at its stages, the search images
    (the first half trains weights), the coarse supernet's stage state the stage starts from,
    the step settings, the settings its checkpoints are made under, and torch threads (None:
    leave them)."""

    s: int
    space: SearchSpace
    teacher: TeacherCut
    x: torch.Tensor  # (N, C, H, W)
    init_state: dict
    lr: float
    batch_size: int
    seed: int
    settings: dict
    threads: int | None = None


def batches(n: int, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Index batches of one shuffled epoch over range(n), the order fixed by `seed`."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    for i in range(0, n, batch_size):
        yield order[i:i + batch_size]


def save_checkpoint(state: dict, path: Path, settings: dict) -> None:
    """Write state with the settings it was made under (atomically: a kill leaves old or new)."""
    atomic_torch_save({**state, "settings": settings}, path)


def load_checkpoint(path: Path, settings: dict) -> dict | None:
    """The saved state, None when there is none, or one sentence when it is damaged or was made
    under other settings (named)."""
    if not path.is_file():
        return None
    state = load_tensors(path, "checkpoint", "delete it to redo that phase")
    if not isinstance(state, dict) or not isinstance(state.get("settings"), dict):
        raise DataFileError(f"checkpoint {path} is damaged (it holds no settings); delete it to redo that phase.")
    saved = state["settings"]
    changed = [f"{k} {saved.get(k)!r} -> {v!r}" for k, v in settings.items() if saved.get(k) != v]
    if changed:
        raise InvalidInputError(f"{path.parent} holds a search made with other settings ({', '.join(changed)}); "
                                "resume with the same ones or give another --out.")
    return state


def resume(path: Path, settings: dict, parts: dict) -> list[dict]:
    """Load a phase's checkpoint into `parts` (name -> module, optimiser or scheduler, each
    saved under that name) and return its history; [] when there is none yet."""
    state = load_checkpoint(path, settings)
    if state is None:
        return []
    for name, obj in parts.items():
        obj.load_state_dict(state[name])
    return state["history"]


def derive_cells(weights: torch.Tensor, space: SearchSpace, held: torch.Tensor | None = None
                 ) -> tuple[tuple[Edge, ...], ...]:
    """Cells from (cells, edges, ops) weights: each edge takes its strongest held op ("none"
    drops it); a node left without input from a fed node takes the best non-none op of its
    strongest incoming edge, so every cell runs."""
    w = weights.detach().clone().float()
    if held is not None:
        w[~held] = -math.inf
    some = w.clone()  # the weights without "none", for edges that must keep an op
    if "none" in space.ops:
        some[..., space.ops.index("none")] = -math.inf
    out = []
    for k in range(w.shape[0]):
        chosen = {(i, j): space.ops[int(w[k, e].argmax())] for e, (i, j) in enumerate(space.edges)}
        chosen = {edge: op for edge, op in chosen.items() if op != "none"}
        fed = {0}
        for j in range(1, space.nodes + 1):
            if not any(i in fed for (i, jj) in chosen if jj == j):
                _, e = max((float(some[k, e].max()), e) for e, (i, jj) in enumerate(space.edges)
                           if jj == j and i in fed)
                chosen[space.edges[e]] = space.ops[int(some[k, e].argmax())]
            fed.add(j)
        out.append(tuple((i, j, op) for (i, j), op in sorted(chosen.items(), key=lambda t: (t[0][1], t[0][0]))))
    return tuple(out)


def distil_blocks(blocks: nn.Module, teacher, x: torch.Tensor, s: int, steps: int, lr: float, batch_size: int,
                  seed: int) -> float:
    """Train derived blocks to map the teacher's point one of stage s to its point two (MSE,
    Adam) for `steps` steps on the first half of x; the mean MSE of the last quarter of them."""
    opt = torch.optim.Adam(blocks.parameters(), lr)
    blocks.train()
    losses, epoch = [], 0
    while len(losses) < steps:
        for idx in batches(len(x) // 2, batch_size, derive_seed(seed, epoch)):
            t_in, t_out = teacher.points(x[idx], s)
            losses.append(checked_step(opt, F.mse_loss(blocks(t_in), t_out), f"stage {s + 1} distillation"))
            if len(losses) >= steps:
                break
        epoch += 1
    blocks.eval()
    tail = losses[-max(1, steps // 4):]
    return sum(tail) / len(tail)


def train_network(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, batch_size: int,
                  seed: int, ckpt: Path, settings: dict, teacher: nn.Module | None = None, desc: str = "",
                  progress: bool = True) -> list[dict]:
    """Train all of `model` with Adam (cosine decay) on cross-entropy, plus KD on the teacher's
    logits when one is given; checkpointed every epoch in `ckpt` and resumed from it."""
    opt = torch.optim.Adam(model.parameters(), lr)
    steps = epochs * -(-len(x) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps))
    history = resume(ckpt, settings, {"model": model, "optimizer": opt, "scheduler": sched})
    for epoch in range(len(history), epochs):
        model.train()
        t0 = time.perf_counter()
        total, n = 0.0, 0
        bar = batches(len(x), batch_size, derive_seed(seed, epoch))
        for idx in progress_bar(list(bar), desc=f"{desc} epoch {epoch + 1}/{epochs}", leave=False,
                                disable=not progress):
            out = model(x[idx])
            loss = F.cross_entropy(out, y[idx])
            if teacher is not None:
                with torch.no_grad():
                    t = teacher(x[idx])
                T = KD_TEMPERATURE
                loss = loss + T * T * F.kl_div(F.log_softmax(out / T, 1), F.softmax(t / T, 1), reduction="batchmean")
            value = checked_step(opt, loss, "network training")
            sched.step()
            total += value * len(idx)
            n += len(idx)
        history.append({"epoch": epoch + 1, "loss": total / max(1, n), "seconds": time.perf_counter() - t0})
        save_checkpoint({"model": model.state_dict(), "optimizer": opt.state_dict(),
                         "scheduler": sched.state_dict(), "history": history}, ckpt, settings)
    model.eval()
    return history


def as_tensors(x: object, y: object) -> tuple[torch.Tensor, torch.Tensor]:
    """(float images (N, C, H, W), long labels (N,)), or one sentence on what is wrong."""
    xa, ya = check_training_data(x, y, "data", min_images=2)
    if xa.shape[2] != xa.shape[3]:
        raise InvalidInputError(f"the search space takes square images; these are {xa.shape[2]}x{xa.shape[3]}, so "
                                "crop or pad them to a square.")
    return torch.as_tensor(xa), torch.as_tensor(ya)
