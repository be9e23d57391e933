"""Op registry of the search space: `create_op(name, channels)` by name.

Every op maps (B, C, H, W) -> (B, C, H, W) (cells run at one resolution; stages change it in a
fixed down-sampling layer), so any op can sit on any edge. The DARTS ops are in their
CPU-sized form (one ReLU-depthwise-pointwise-BN stack per separable conv, Liu et al., ICLR
2019 use two); the recast/ block types that keep their shape join them as whole blocks.

| name   | structure                                             |
|--------|-------------------------------------------------------|
| none   | zero (the edge is dropped from the derived network)   |
| skip   | identity                                              |
| sep3   | ReLU, depthwise 3x3, pointwise 1x1, BN                |
| sep5   | ReLU, depthwise 5x5, pointwise 1x1, BN                |
| dil3   | ReLU, depthwise 3x3 dilation 2 (5x5 reach), pointwise 1x1, BN |
| max3   | 3x3 max pooling, stride 1                             |
| avg3   | 3x3 average pooling, stride 1 (padding counted)       |
| conv3  | ReLU, conv 3x3, BN                                    |
| mbconv, dwsep, basic, plain | the recast/ blocks of that name, C -> C |
"""

from __future__ import annotations

import torch
import torch.nn as nn

from recast.blocks import create_block
from sc_accel.errors import InvalidInputError
from sc_accel.registry import Registry

__all__ = ["OPS", "create_op", "check_ops", "DEFAULT_OPS", "Zero", "UnknownOpError"]

DEFAULT_OPS = ("none", "skip", "sep3", "sep5", "dil3", "max3", "avg3")


class UnknownOpError(InvalidInputError):
    """An op name that is not in the registry."""


# factory(channels) -> module mapping (B, C, H, W) to the same shape; ':' separates ops in genotype strings
OPS: Registry = Registry("op", UnknownOpError)


class Zero(nn.Module):
    """The `none` op: zeros of the input's shape (only the supernet runs it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0.0


def check_ops(names: object) -> tuple[str, ...]:
    """The names as a tuple, or one sentence naming the first unknown or repeated op."""
    if isinstance(names, str) or not hasattr(names, "__iter__"):
        raise InvalidInputError(f"ops must be a list of op names, got {names!r}.")
    names = tuple(names)
    for n in names:
        OPS.check(n)
    if len(set(names)) != len(names):
        raise InvalidInputError(f"ops {list(names)} name an op twice; give each once.")
    if not [n for n in names if n != "none"]:
        raise InvalidInputError("the ops need at least one op besides 'none'.")
    return names


def create_op(name: str, channels: int) -> nn.Module:
    """A fresh op `name` on `channels` channels; `op_name` is set for read-back."""
    factory = OPS.get_factory(name)
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise InvalidInputError(f"channels={channels!r} must be a positive integer.")
    op = factory(channels)
    op.op_name = name
    return op


def _sep(c: int, k: int, dilation: int = 1) -> nn.Module:
    pad = dilation * (k - 1) // 2
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, k, 1, pad, dilation=dilation, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))


def _conv3(c: int) -> nn.Module:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))


for _name, _factory in (("none", lambda c: Zero()), ("skip", lambda c: nn.Identity()),
                        ("sep3", lambda c: _sep(c, 3)), ("sep5", lambda c: _sep(c, 5)),
                        ("dil3", lambda c: _sep(c, 3, 2)), ("max3", lambda c: nn.MaxPool2d(3, 1, 1)),
                        ("avg3", lambda c: nn.AvgPool2d(3, 1, 1)), ("conv3", _conv3)):
    OPS.register(_name, _factory)
for _block in ("mbconv", "dwsep", "basic", "plain"):
    OPS.register(_block, lambda c, b=_block: create_block(b, c, c, 1))
