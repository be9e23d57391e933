"""Random search over the same fine-grained space at the same budget.

Candidates are drawn uniformly (each edge an op of the space, "none" allowed, every cell made
runnable). Each candidate's stages start from the coarse supernet's op weights, as the
InheritedNAS stages do, and are distilled at the two points for an equal share of the steps
one InheritedNAS stage search takes; the candidate with the lowest summed relative MSE plus
lambda x normalised cost wins, the same objective the fine search descends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn as nn

from nas.common import StageInputs, derive_cells, distil_blocks, load_checkpoint, save_checkpoint
from nas.genotype import Genotype, SearchSpace
from nas.network import SuperStage
from sc_accel.seeds import derive_seed, seeded

__all__ = ["CandidateTask", "sample_genotypes", "distill_stage_candidates", "candidates_job"]


@dataclass(frozen=True, kw_only=True)
class CandidateTask(StageInputs):
    """Stage s of every random candidate (one process or Ray task): each candidate's cells of
    that stage, the distillation steps each gets, and the directory of their checkpoints."""

    cells: list
    steps: int
    ckpt_dir: str


def sample_genotypes(space: SearchSpace, n: int, seed: int) -> list[Genotype]:
    """n genotypes with independent uniform ops on every edge of every cell (seeded)."""
    g = torch.Generator().manual_seed(derive_seed(seed, 20))
    shape = (space.cells_per_stage, len(space.edges), len(space.ops))
    out = []
    for _ in range(n):
        stages = tuple(derive_cells(torch.rand(shape, generator=g), space) for _ in space.channels)
        out.append(Genotype(space, stages))
    return out


def distill_stage_candidates(task: CandidateTask) -> dict:
    """Distil stage task.s of every candidate for task.steps steps from the coarse op weights;
    one checkpoint per candidate. Returns their blocks' states and the MSE history. Its draws
    (fresh weights, all replaced by the coarse ones) come from the stage's seed."""
    torch.set_num_threads(task.threads or torch.get_num_threads())
    with seeded(task.seed, 22, task.s):
        return _distill_candidates(task)


def _distill_candidates(task: CandidateTask) -> dict:
    s = task.s
    sup = SuperStage(task.space, s)
    sup.load_state_dict(task.init_state)
    out = []
    for c, cells in enumerate(task.cells):
        ckpt = Path(task.ckpt_dir) / f"random-stage{s}-cand{c}.pt"
        state = load_checkpoint(ckpt, task.settings)
        blocks = nn.Sequential(*sup.derived_blocks(cells))
        if state is None:
            t0 = time.perf_counter()
            mse = distil_blocks(blocks, task.teacher, task.x, s, task.steps, task.lr, task.batch_size,
                                derive_seed(task.seed, 21, s, c))
            state = {"model": blocks.state_dict(), "mse": mse, "seconds": time.perf_counter() - t0}
            save_checkpoint(state, ckpt, task.settings)
        out.append({"state": state["model"], "mse": state["mse"], "seconds": state["seconds"]})
    return {"s": s, "candidates": out}


def candidates_job(task: CandidateTask) -> dict:
    """The process / Ray entry point: distill_stage_candidates on one thread."""
    return distill_stage_candidates(replace(task, threads=1))
