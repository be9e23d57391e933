"""The stem -> blocks -> head layout recasting works on: `RecastNet` (a student, or a model
cut at named block modules by recast.named) and `split_model`, which reads the three parts
of any model that exposes them (zoo ResNets, RecastNet, nas's CellNet)."""

from __future__ import annotations

from typing import Iterable

import torch
import torch.nn as nn

from sc_accel.errors import InvalidInputError

__all__ = ["RecastNet", "split_model"]


class RecastNet(nn.Module):
    """stem -> blocks -> head: the teacher's layout with blocks replaced."""

    def __init__(self, stem: nn.Module, blocks: list[nn.Module], head: nn.Module) -> None:
        super().__init__()
        self.stem, self.blocks, self.head = stem, nn.ModuleList(blocks), head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for b in self.blocks:
            x = b(x)
        return self.head(x)


def split_model(model: nn.Module) -> tuple[nn.Module, list[nn.Module], nn.Module]:
    """(stem, blocks, head) of a model that exposes them (zoo ResNets, RecastNet)."""
    parts = [getattr(model, n, None) for n in ("stem", "blocks", "head")]
    if any(p is None for p in parts) or not isinstance(parts[1], Iterable):
        raise InvalidInputError(f"{type(model).__name__} has no `stem`, `blocks` and `head` to recast; name its "
                                "block modules in a plan file (modules = [\"layer1.0\", ...]) or use a zoo model "
                                "with blocks (resnet20, resnet56, resnet_bottleneck).")
    blocks = list(parts[1])
    if not blocks:
        raise InvalidInputError(f"{type(model).__name__} has no blocks to recast.")
    return parts[0], blocks, parts[2]
