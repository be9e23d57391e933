"""The teacher cut at its resolution changes: the two points each stage is matched at.

Any model with `stem`, `blocks` and `head` (zoo ResNets, recast students, CellNets) is cut
after the stem and after the last block of each resolution. Point one of stage s is the
teacher's map entering it, point two the map leaving it; both come from one no-grad pass,
so the stages' searches never wait on each other.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from nas.genotype import SearchSpace
from nas.network import stage_shapes
from recast.net import split_model
from sc_accel.errors import InvalidInputError

__all__ = ["TeacherCut", "cut_teacher", "StageMismatchError"]


class StageMismatchError(InvalidInputError):
    """The teacher's stages do not have the search space's shapes."""


class TeacherCut(nn.Module):
    """stem, stages (lists of the teacher's blocks) and head of a teacher, frozen, eval mode."""

    def __init__(self, stem: nn.Module, stages: list[list[nn.Module]], head: nn.Module) -> None:
        super().__init__()
        self.stem, self.head = stem, head
        self.stages = nn.ModuleList(nn.Sequential(*b) for b in stages)
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def points(self, x: torch.Tensor, s: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(the map entering stage s, the map leaving it) for input images x."""
        h = self.stem(x)
        for st in self.stages[:s]:
            h = st(h)
        return h, self.stages[s](h)

    @torch.no_grad()
    def maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every cut point in one pass: the stem's output, then each stage's (stage s is fed
        maps[s] and matched to maps[s + 1])."""
        out = [self.stem(x)]
        for st in self.stages:
            out.append(st(out[-1]))
        return out

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for st in self.stages:
            h = st(h)
        return self.head(h)


def cut_teacher(teacher: nn.Module, space: SearchSpace, in_ch: int, image_size: int) -> TeacherCut:
    """The teacher cut into the space's stages; one sentence when its stages do not match."""
    try:
        stem, blocks, head = split_model(teacher)
    except InvalidInputError:
        raise StageMismatchError(f"teacher {type(teacher).__name__} has no stem, blocks and head to cut into "
                                 f"stages; give a teacher with {len(space.channels)} stages (e.g. resnet20 for "
                                 "channels 16,32,64) or leave --teacher out to use the searched cell network."
                                 ) from None
    was = teacher.training
    teacher.eval()
    with torch.no_grad():
        h = stem(torch.zeros(1, in_ch, image_size, image_size))
        outs = []
        for b in blocks:
            h = b(h)
            outs.append((int(h.shape[1]), int(h.shape[-1])))
    teacher.train(was)
    stages: list[list[nn.Module]] = []
    shapes: list[tuple[int, int]] = []
    for b, shape in zip(blocks, outs):
        if shapes and shape[1] == shapes[-1][1]:
            stages[-1].append(b)
            shapes[-1] = shape
        else:
            stages.append([b])
            shapes.append(shape)
    want = stage_shapes(space, image_size)
    if shapes != want:
        raise StageMismatchError(f"the teacher's stages (channels, side) are {shapes} but the search space's are "
                                 f"{want}; give --channels matching the teacher or another teacher.")
    return TeacherCut(stem, stages, head)
