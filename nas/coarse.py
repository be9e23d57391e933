"""Coarse search: first-order DARTS (Liu, Simonyan and Yang, ICLR 2019) over one cell shared by
every position, on the CPU-sized space.

Weights train on one half of the search images and the shared architecture weights on the
other, alternating step by step (the first-order approximation: no unrolled step). The
derived cell, copied everywhere, is the cell-based network InheritedNAS inherits from; its
supernet's op weights seed the fine-grained stages.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from nas.common import batches, derive_cells, resume, save_checkpoint
from nas.genotype import Genotype, SearchSpace
from nas.network import SuperStage, head, stem
from sc_accel.errors import checked_step
from sc_accel.progress import bar as progress_bar
from sc_accel.seeds import derive_seed, seeded

__all__ = ["CoarseNet", "coarse_search"]

ARCH_WEIGHT_DECAY = 1e-3  # DARTS's value for the architecture optimiser


class CoarseNet(nn.Module):
    """stem -> SuperStages -> head, every cell under the one shared `alpha` (edges, ops)."""

    def __init__(self, space: SearchSpace, in_ch: int, n_classes: int) -> None:
        super().__init__()
        self.space = space
        self.stem = stem(in_ch, space.channels[0])
        self.stages = nn.ModuleList(SuperStage(space, s) for s in range(len(space.channels)))
        self.head = head(space.channels[-1], n_classes)
        self.alpha = nn.Parameter(1e-3 * torch.randn(len(space.edges), len(space.ops)))

    def weights(self) -> torch.Tensor:
        """(cells, edges, ops) softmax weights, the same for every cell."""
        w = F.softmax(self.alpha, -1)
        return w.unsqueeze(0).expand(self.space.cells_per_stage, -1, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = self.stem(x), self.weights()
        for st in self.stages:
            h = st(h, w)
        return self.head(h)

    def genotype(self) -> Genotype:
        """The derived cell, copied to every position."""
        return Genotype.uniform(self.space, derive_cells(self.alpha.unsqueeze(0), self.space)[0])


def coarse_search(x: torch.Tensor, y: torch.Tensor, space: SearchSpace, epochs: int, lr: float, arch_lr: float,
                  batch_size: int, seed: int, ckpt: Path, settings: dict, progress: bool = True
                  ) -> tuple[CoarseNet, list[dict]]:
    """Run (or resume) the coarse search; returns the supernet and per-epoch history
    ({"epoch", "loss", "val_loss", "genotype"})."""
    with seeded(seed, 1):
        net = CoarseNet(space, int(x.shape[1]), int(y.max()) + 1)
    w_params = [p for n, p in net.named_parameters() if n != "alpha"]
    w_opt = torch.optim.Adam(w_params, lr)
    a_opt = torch.optim.Adam([net.alpha], arch_lr, betas=(0.5, 0.999), weight_decay=ARCH_WEIGHT_DECAY)
    half = len(x) // 2
    history = resume(ckpt, settings, {"model": net, "w_opt": w_opt, "a_opt": a_opt})
    for epoch in range(len(history), epochs):
        net.train()
        t0 = time.perf_counter()
        tw = ta = 0.0
        na = 0
        a_batches = list(batches(len(x) - half, batch_size, derive_seed(seed, 2, epoch)))
        w_batches = list(batches(half, batch_size, derive_seed(seed, 3, epoch)))
        for k, idx in enumerate(progress_bar(w_batches, desc=f"coarse search epoch {epoch + 1}/{epochs}", leave=False,
                                             disable=not progress)):
            aidx = a_batches[k % len(a_batches)] + half
            va = checked_step(a_opt, F.cross_entropy(net(x[aidx]), y[aidx]), "the coarse search")
            vw = checked_step(w_opt, F.cross_entropy(net(x[idx]), y[idx]), "the coarse search")
            tw += vw * len(idx)
            ta += va * len(aidx)
            na += len(aidx)
        history.append({"epoch": epoch + 1, "loss": tw / half, "val_loss": ta / max(1, na),
                        "genotype": net.genotype().to_dict(), "seconds": time.perf_counter() - t0})
        save_checkpoint({"model": net.state_dict(), "w_opt": w_opt.state_dict(), "a_opt": a_opt.state_dict(),
                         "history": history}, ckpt, settings)
    net.eval()
    return net, history
