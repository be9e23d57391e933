"""Fine-grained search of one stage: two-point matching distillation, block pruning and the
hardware-aware penalty. One call is one independent task (a process or a Ray task).

The stage's supernet gives every cell position its own architecture weights, initialised
from the coarse genotype (its op gets `inherit_strength` more logit than the others) and its
op weights from the coarse supernet. It is fed the teacher's map entering the stage (point
one) and trained to reproduce the teacher's map leaving it (point two) by MSE: weights on
one half of the images, architecture weights on the other, alternating, with

    arch loss = MSE + lambda x E[cost under softmax(alpha)] / cost(inherited cells)

where the cost is latency, energy or MACs read from tables of the shared estimator. After
`warmup` epochs, every op block whose weight falls below `prune_threshold` is deleted (never
the last one of an edge). After each architecture epoch the cells derived so far are cut out
of the supernet (their ops' weights inherited) and distilled at the same two points for
`distil_steps` steps on their own: one-hot cells compute something else than the weighted
mixture the supernet trained (the discretisation gap of DARTS), and this closes it, so every
epoch's derived stage is a usable candidate. Every epoch is checkpointed; a rerun resumes at
the epoch reached.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from nas.common import StageInputs, batches, derive_cells, distil_blocks, load_checkpoint, save_checkpoint
from nas.cost import CostTables
from nas.network import SuperStage
from sc_accel.errors import checked_step
from sc_accel.progress import bar as progress_bar
from sc_accel.seeds import derive_seed, seeded

__all__ = ["StageTask", "FineStage", "search_stage", "stage_job", "stage_rel_mse"]


@dataclass(frozen=True, kw_only=True)
class StageTask(StageInputs):
    """One stage's fine search (one process or Ray task): the coarse genotype's cells it starts
    from and the logit lead they get, the architecture step size, the cost tables, metric and
    lambda of the penalty, the epochs (the first `warmup` train weights only), the pruning
    threshold, the distillation steps of each epoch's derived cells, its checkpoint file, and
    whether to show a progress bar."""

    init_cells: tuple
    inherit_strength: float
    arch_lr: float
    tables: CostTables
    metric: str
    lam: float
    epochs: int
    warmup: int
    prune_threshold: float
    distil_steps: int
    ckpt: str
    progress: bool = False


class FineStage(nn.Module):
    """A SuperStage with its own (cells, edges, ops) architecture logits."""

    def __init__(self, stage: SuperStage, init_cells: tuple, strength: float) -> None:
        super().__init__()
        self.stage = stage
        self.alpha = nn.Parameter(strength * stage.one_hot(init_cells))

    def weights(self) -> torch.Tensor:
        """Softmax over the op blocks still held (pruned ones weigh 0)."""
        return F.softmax(self.alpha.masked_fill(~self.stage.held(), float("-inf")), -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stage(x, self.weights())

    def cells(self) -> tuple:
        """The derived cells under the current weights."""
        return derive_cells(self.alpha, self.stage.space, self.stage.held())

    def prune(self, threshold: float) -> list[tuple[int, int, str]]:
        """Delete op blocks weighing < threshold, keeping each edge's strongest."""
        w = self.weights().detach()
        held = self.stage.held() & (w >= threshold)
        best = w.argmax(-1, keepdim=True)
        held.scatter_(-1, best, True)
        return self.stage.prune_to(held)


def _optimisers(fs: FineStage, lr: float, arch_lr: float) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    w_opt = torch.optim.Adam([p for n, p in fs.named_parameters() if n != "alpha"], lr)
    a_opt = torch.optim.Adam([fs.alpha], arch_lr, betas=(0.5, 0.999))
    return w_opt, a_opt


def _rebuild_w_opt(fs: FineStage, old: torch.optim.Optimizer, lr: float) -> torch.optim.Optimizer:
    """A weight optimiser over the blocks still held, keeping their Adam state (pruned blocks'
    parameters leave it)."""
    new = torch.optim.Adam([p for n, p in fs.named_parameters() if n != "alpha"], lr)
    for p in new.param_groups[0]["params"]:
        if p in old.state:
            new.state[p] = old.state[p]
    return new


def search_stage(task: StageTask) -> dict:
    """Search stage task.s (see the module doc); returns its per-epoch history, final cells,
    held mask and supernet state. Its draws (fresh weights) come from the stage's seed."""
    torch.set_num_threads(task.threads or torch.get_num_threads())
    with seeded(task.seed, 10, task.s):
        return _search_stage(task)


def _search_stage(task: StageTask) -> dict:
    s, tables, metric = task.s, task.tables, task.metric
    stage = SuperStage(task.space, s)
    stage.load_state_dict(task.init_state)
    fs = FineStage(stage, task.init_cells, task.inherit_strength)
    w_opt, a_opt = _optimisers(fs, task.lr, task.arch_lr)
    ref = float(tables.expected_cost(s, stage.one_hot(task.init_cells), metric)) or 1.0
    history: list[dict] = []
    derived: list[dict] = []  # per architecture epoch: {"epoch", "cells", "state", "mse"}
    state = load_checkpoint(Path(task.ckpt), task.settings)
    if state is not None:
        w_opt, a_opt = _restore(task, fs, state)
        history, derived = state["history"], state["derived"]
    for epoch in range(len(history), task.epochs):
        t0 = time.perf_counter()
        arch = epoch >= task.warmup
        sums = _train_epoch(task, fs, w_opt, a_opt if arch else None, ref, epoch)
        pruned = fs.prune(task.prune_threshold) if arch else []
        if pruned:
            w_opt = _rebuild_w_opt(fs, w_opt, task.lr)
        cells = fs.cells()
        distil_mse = _distil_derived(task, stage, cells, epoch, derived) if arch else None
        history.append({"stage": s, "epoch": epoch + 1, "mse": sums["mse"] / sums["n"],
                        "rel_mse": sums["rel_mse"] / sums["n"],
                        "arch_mse": sums["arch_mse"] / sums["na"] if sums["na"] else None,
                        "expected_cost": float(tables.expected_cost(s, fs.weights().detach(), metric)) / ref,
                        "pruned": [[k, e, n] for k, e, n in pruned],
                        "held_blocks": int(stage.held().sum()), "cells": [[list(e) for e in c] for c in cells],
                        "distil_mse": distil_mse,
                        "seconds": time.perf_counter() - t0})
        save_checkpoint({"model": fs.state_dict(), "held": stage.held(), "w_opt": w_opt.state_dict(),
                         "a_opt": a_opt.state_dict(), "history": history, "derived": derived}, Path(task.ckpt),
                        task.settings)
    return {"s": s, "history": history, "cells": derived[-1]["cells"], "held": stage.held(), "derived": derived,
            "alpha": fs.alpha.detach().clone(), "state": stage.state_dict(),
            "weights": fs.weights().detach().clone()}


def _restore(task: StageTask, fs: FineStage, state: dict) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """Put a checkpoint's pruning, weights and optimiser states back; the optimisers built anew."""
    fs.stage.prune_to(state["held"])
    fs.load_state_dict(state["model"])
    w_opt, a_opt = _optimisers(fs, task.lr, task.arch_lr)
    w_opt.load_state_dict(state["w_opt"])
    a_opt.load_state_dict(state["a_opt"])
    return w_opt, a_opt


def _train_epoch(task: StageTask, fs: FineStage, w_opt: torch.optim.Optimizer, a_opt: torch.optim.Optimizer | None,
                 ref: float, epoch: int) -> dict:
    """One epoch: a weight step on each batch of the first half of the images, preceded (when
    `a_opt` is given, after warm-up) by an architecture step on a batch of the second half.
    Returns the sums of the MSEs the history reports."""
    s, x, teacher, half = task.s, task.x, task.teacher, len(task.x) // 2
    fs.train()
    w_b = list(batches(half, task.batch_size, derive_seed(task.seed, 11, s, epoch)))
    a_b = list(batches(len(x) - half, task.batch_size, derive_seed(task.seed, 12, s, epoch)))
    sums = {"mse": 0.0, "rel_mse": 0.0, "arch_mse": 0.0, "n": 0, "na": 0}
    for k, idx in enumerate(progress_bar(w_b, desc=f"stage {s} epoch {epoch + 1}/{task.epochs}", leave=False,
                                         disable=not task.progress)):
        if a_opt is not None:
            aidx = a_b[k % len(a_b)] + half
            sums["arch_mse"] += _arch_step(task, fs, a_opt, ref, aidx) * len(aidx)
            sums["na"] += len(aidx)
        t_in, t_out = teacher.points(x[idx], s)
        mse = F.mse_loss(fs(t_in), t_out)
        value = checked_step(w_opt, mse, f"the weight step of stage {s + 1}")
        sums["mse"] += value * len(idx)
        sums["rel_mse"] += float((mse / t_out.pow(2).mean().clamp_min(1e-12)).item()) * len(idx)
        sums["n"] += len(idx)
    return sums


def _arch_step(task: StageTask, fs: FineStage, a_opt: torch.optim.Optimizer, ref: float, aidx: torch.Tensor) -> float:
    """One architecture step: the MSE at point two plus lambda times the expected cost
    (relative to the inherited cells'); returns the MSE."""
    t_in, t_out = task.teacher.points(task.x[aidx], task.s)
    mse_a = F.mse_loss(fs(t_in), t_out)
    loss_a = mse_a + task.lam * task.tables.expected_cost(task.s, fs.weights(), task.metric).float() / ref
    checked_step(a_opt, loss_a, f"the architecture step of stage {task.s + 1}")
    return mse_a.item()


def _distil_derived(task: StageTask, stage: SuperStage, cells: tuple, epoch: int, derived: list[dict]) -> float:
    """Cut this epoch's derived cells out of the supernet, distil them on their own, and add
    them to `derived`; returns their distillation MSE."""
    blocks = nn.Sequential(*stage.derived_blocks(cells))
    mse = distil_blocks(blocks, task.teacher, task.x, task.s, task.distil_steps, task.lr, task.batch_size,
                        derive_seed(task.seed, 13, task.s, epoch))
    derived.append({"epoch": epoch + 1, "cells": cells, "state": blocks.state_dict(), "mse": mse})
    return mse


def stage_job(task: StageTask) -> dict:
    """The process / Ray entry point (a top-level function): search_stage on one thread."""
    return search_stage(replace(task, threads=1))


def stage_rel_mse(blocks: list[nn.Module], t_in: torch.Tensor, t_out: torch.Tensor, batch: int = 500) -> float:
    """MSE of a derived stage fed the teacher's map at point one against its map at point two,
    relative to that map's mean square (0 = a perfect match)."""
    net = nn.Sequential(*blocks).eval()
    num = den = 0.0
    with torch.no_grad():
        for i in range(0, len(t_in), batch):
            num += float(F.mse_loss(net(t_in[i:i + batch]), t_out[i:i + batch], reduction="sum"))
            den += float(t_out[i:i + batch].pow(2).sum())
    return num / max(den, 1e-12)
