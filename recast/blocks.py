"""Block registry for recasting: `create_block(name, in_ch, out_ch, stride, width)` by name.

Every block maps (B, in_ch, H, W) -> (B, round(out_ch * width), H / stride, W / stride), so any
block type can stand in for any other (the recasting of Yu, Kang and Choi, AAAI 2019), and
`width` < 1 gives a thinner block of the same type (compression). Blocks are plain torch
(conv, BN, ReLU, add, concat, average pooling): the SC converter and the estimator take them.

| name       | structure                                                                  |
|------------|----------------------------------------------------------------------------|
| plain      | conv3x3-BN-ReLU x 2 (the first strided)                                    |
| basic      | ResNet basic block: two conv3x3-BN, identity or 1x1 projection, ReLU after add |
| bottleneck | ResNet bottleneck: 1x1 (out/4), 3x3 strided, 1x1 (out), projection, ReLU     |
| dense      | DenseNet-BC: 4 layers BN-ReLU-1x1(4k)-BN-ReLU-3x3(k), concatenated; transition |
|            | BN-ReLU-1x1(out), then 2x2 average pooling when strided                    |
| dwsep      | MobileNet v1: depthwise 3x3-BN-ReLU (strided), pointwise 1x1-BN-ReLU         |
| mbconv     | MobileNet v2 inverted residual: 1x1 expand (x4)-BN-ReLU, depthwise         |
|            | 3x3-BN-ReLU, 1x1-BN; identity add when the shapes allow                    |
"""

from __future__ import annotations

import torch
import torch.nn as nn

from sc_accel.errors import InvalidInputError
from sc_accel.registry import Registry

__all__ = ["BLOCKS", "create_block", "block_type_of", "scaled_channels", "conv_bn", "DenseLayer"]

BLOCKS: Registry = Registry("block type")  # factory(in_ch, out_ch, stride) -> module from in_ch to out_ch channels
MBCONV_EXPANSION = 4  # MobileNet v2 uses 6; 4 keeps the recast blocks near the teacher's cost
DENSE_LAYERS = 4      # layers per dense block (growth = out / 8, at least 1)


def scaled_channels(out_ch: int, width: float) -> int:
    """Output channels of a block of `width` (at least 1)."""
    return max(1, int(round(out_ch * width)))


def create_block(name: str, in_ch: int, out_ch: int, stride: int = 1, width: float = 1.0) -> nn.Module:
    """A fresh block of type `name` from in_ch to round(out_ch * width) channels."""
    factory = BLOCKS.get_factory(name)
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0 < width <= 16:
        raise InvalidInputError(f"block width {width!r} must be a number in (0, 16].")
    if stride not in (1, 2) or in_ch < 1 or out_ch < 1:
        raise InvalidInputError(f"a block needs channels >= 1 and stride 1 or 2, got {in_ch} -> {out_ch}, "
                                f"stride {stride}.")
    block = factory(int(in_ch), scaled_channels(out_ch, width), int(stride))
    block.block_type = name  # read back by block_type_of
    return block


def block_type_of(module: nn.Module) -> str | None:
    """Registry name of a block made by create_block (the zoo's ResNet blocks too), else None."""
    return getattr(module, "block_type", None)


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, relu: bool = True) -> nn.Sequential:
    """conv k x k (no bias, "same" padding) + BN (+ ReLU): BN folds into the conv at conversion.
    Blocks splice it flat (`*conv_bn(...)`); the zoo's stems and VGG/MobileNet layers keep it whole."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU()) if relu else nn.Sequential(*layers)


def _projection(cin: int, cout: int, stride: int) -> nn.Module:
    return nn.Identity() if stride == 1 and cin == cout else conv_bn(cin, cout, 1, stride, relu=False)


class _Residual(nn.Module):
    """relu(body(x) + short(x)) or, without the final ReLU, body(x) + x (MBConv)."""

    def __init__(self, body: nn.Module, short: nn.Module, relu: bool = True) -> None:
        super().__init__()
        self.body, self.short = body, short
        self.relu = nn.ReLU() if relu else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.short(x))


class DenseLayer(nn.Module):
    """BN-ReLU-conv1x1(4k)-BN-ReLU-conv3x3(k), output concatenated to the input (also the zoo's
    densenet_bc layer)."""

    def __init__(self, cin: int, growth: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, 4 * growth, 1, bias=False),
                                  nn.BatchNorm2d(4 * growth), nn.ReLU(),
                                  nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], 1)  # (B, cin + growth, H, W)


def _plain(cin: int, cout: int, stride: int) -> nn.Module:
    return nn.Sequential(*conv_bn(cin, cout, 3, stride), *conv_bn(cout, cout, 3))


def _basic(cin: int, cout: int, stride: int) -> nn.Module:
    body = nn.Sequential(*conv_bn(cin, cout, 3, stride), *conv_bn(cout, cout, 3, relu=False))
    return _Residual(body, _projection(cin, cout, stride))


def _bottleneck(cin: int, cout: int, stride: int) -> nn.Module:
    mid = max(1, cout // 4)
    body = nn.Sequential(*conv_bn(cin, mid, 1), *conv_bn(mid, mid, 3, stride), *conv_bn(mid, cout, 1, relu=False))
    return _Residual(body, _projection(cin, cout, stride))


def _dense(cin: int, cout: int, stride: int) -> nn.Module:
    growth = max(1, cout // 8)
    layers: list[nn.Module] = []
    c = cin
    for _ in range(DENSE_LAYERS):
        layers.append(DenseLayer(c, growth))
        c += growth
    layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, cout, 1, bias=False)]  # the transition
    if stride == 2:
        layers.append(nn.AvgPool2d(2))
    return nn.Sequential(*layers)


def _dwsep(cin: int, cout: int, stride: int) -> nn.Module:
    return nn.Sequential(*conv_bn(cin, cin, 3, stride, groups=cin), *conv_bn(cin, cout, 1))


def _mbconv(cin: int, cout: int, stride: int) -> nn.Module:
    hidden = cin * MBCONV_EXPANSION
    body = nn.Sequential(*conv_bn(cin, hidden, 1), *conv_bn(hidden, hidden, 3, stride, groups=hidden),
                         *conv_bn(hidden, cout, 1, relu=False))
    if stride == 1 and cin == cout:
        return _Residual(body, nn.Identity(), relu=False)
    return body


for _name, _factory in (("plain", _plain), ("basic", _basic), ("bottleneck", _bottleneck), ("dense", _dense),
                        ("dwsep", _dwsep), ("mbconv", _mbconv)):
    BLOCKS.register(_name, _factory)
