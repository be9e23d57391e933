"""Teacher CNNs by name: `create_model(name, in_channels, n_classes, image_size)`.

Every model is plain torch (conv, BN, ReLU, pooling, residual add, concat), traceable by
torch.fx, so the SC converter and the hardware estimator accept all of them. Sizes
follow the usual CIFAR-style definitions, scaled by the input resolution where needed:

| name              | structure                                                          |
|-------------------|--------------------------------------------------------------------|
| lenet5            | LeCun et al. 1998: conv5(6)-pool-conv5(16)-pool-fc120-fc84-fc       |
| vgg_small         | VGG-style 3x3 convs 32-32-M-64-64-M-128-128-M, GAP, fc              |
| resnet20/resnet56 | He et al. 2016 CIFAR ResNets, basic blocks, 16/32/64 channels       |
| resnet_bottleneck | CIFAR ResNet with bottleneck blocks (1x1-3x3-1x1, expansion 4), 29 layers |
| densenet_bc       | small DenseNet-BC: growth 12, 3 blocks x 4 bottleneck layers, compression 0.5 |
| mobilenet         | MobileNet-style depthwise-separable stack, width 32..128            |
| resnet50          | torchvision's ResNet-50 (v1.5) layer shapes: 7x7/2 stem, max pool, bottlenecks 3-4-6-3 |
| mobilenet_v2      | torchvision's MobileNet-V2 layer shapes (inverted residuals, expansion 6, 1280 head) |

resnet50 and mobilenet_v2 are ConfuciuX's workloads (MICRO 2020) at ImageNet shapes
(`--input-shape 1,3,224,224`, 1000 classes: `IMAGENET_SHAPED`): the searches need their
layer shapes only, so they are built here, untrained (no weights are downloaded).
MobileNet-V2's ReLU6 is a ReLU here (the same shapes and MACs; the SC converter's comparator
ReLU has no upper clip of its own).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import torch
import torch.nn as nn

from recast.blocks import DenseLayer, conv_bn, create_block
from sc_accel.errors import InvalidInputError
from sc_accel.registry import Registry
from sc_accel.seeds import seeded

__all__ = ["MODELS", "IMAGENET_SHAPED", "create_model", "upgrade_state_dict", "v1_key_names"]

MODELS: Registry = Registry("model", InvalidInputError)  # builder(in_channels, n_classes, image_size)
RESNETS = ("resnet20", "resnet56", "resnet_bottleneck")
BOTTLENECK_EXPANSION = 4  # a bottleneck block's output is 4x its inner width
IMAGENET_SHAPED = ("resnet50", "mobilenet_v2")  # defaults: input 1x3x224x224, 1000 classes

# Model files written before the zoo's ResNets were built from recast's blocks hold the old
# block classes' keys: body = (conv_bn, conv_bn[, conv_bn]) nested, where recast's blocks
# splice the same layers flat (conv, BN, ReLU, conv, BN[, ReLU, conv, BN]). Old (i, j) of
# `body.i.j.` -> new index in `body.`; the stem, the shortcut and the head kept their keys.
_V1_BODY_KEYS = {(0, 0): 0, (0, 1): 1, (1, 0): 3, (1, 1): 4, (2, 0): 6, (2, 1): 7}


def create_model(name: str, in_channels: int = 1, n_classes: int = 10, image_size: int = 28) -> nn.Module:
    """A fresh (untrained) model from the zoo, built under seed 0 (reproducible initial weights;
    the caller's torch generator is left as it was)."""
    with seeded(0):
        return MODELS.create(name, int(in_channels), int(n_classes), int(image_size))


def upgrade_state_dict(name: object, state: dict, prefix: str = "stages") -> dict:
    """`state` (a zoo model's state_dict) with the keys of files written before the ResNets were
    built from recast's blocks renamed to today's; other models' and current keys pass as they
    are. `prefix` is where the residual blocks sit ("blocks" in a recast student)."""
    if name not in RESNETS:
        return state
    old = re.compile(rf"^({re.escape(prefix)}\.\d+\.body\.)(\d+)\.(\d+)\.([^.]+)$")

    def new_key(key: str) -> str:
        m = old.match(key)
        index = _V1_BODY_KEYS.get((int(m.group(2)), int(m.group(3)))) if m else None
        return key if index is None else f"{m.group(1)}{index}.{m.group(4)}"

    keys = [new_key(k) for k in state]
    return state if keys == list(state) else dict(zip(keys, state.values()))


def v1_key_names(keys: Iterable[str], prefix: str = "stages") -> dict[str, str]:
    """Today's residual-block keys -> their names in the old zoo (the inverse of
    upgrade_state_dict's table), for the keys that changed."""
    back = {new: old for old, new in _V1_BODY_KEYS.items()}
    pattern = re.compile(rf"^({re.escape(prefix)}\.\d+\.body\.)(\d+)\.([^.]+)$")
    out = {}
    for key in keys:
        m = pattern.match(key)
        if m and int(m.group(2)) in back:
            i, j = back[int(m.group(2))]
            out[key] = f"{m.group(1)}{i}.{j}.{m.group(3)}"
    return out


class LeNet5(nn.Module):
    """LeNet-5 with ReLU and max pooling (conv padding keeps 28x28 inputs at 28x28)."""

    def __init__(self, cin: int, n_classes: int, size: int) -> None:
        super().__init__()
        pad2 = 0 if size >= 16 else 2
        self.features = nn.Sequential(
            nn.Conv2d(cin, 6, 5, padding=2 if size <= 28 else 0), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, padding=pad2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        with torch.no_grad():
            n = self.features(torch.zeros(1, cin, size, size)).shape[1]
        self.classifier = nn.Sequential(nn.Linear(n, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                                        nn.Linear(84, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))  # (B, n_classes)


@MODELS.register("lenet5")
def lenet5(cin: int, n_classes: int, size: int) -> nn.Module:
    """LeNet-5."""
    return LeNet5(cin, n_classes, size)


@MODELS.register("vgg_small")
def vgg_small(cin: int, n_classes: int, size: int) -> nn.Module:
    """Small VGG: stacks of 3x3 conv-BN-ReLU with max pooling, GAP head."""
    cfg, layers, c = [32, 32, "M", 64, 64, "M", 128, 128, "M"], [], cin
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers.append(conv_bn(c, int(v)))
            c = int(v)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, n_classes))


class CifarResNet(nn.Module):
    """Stem conv, three stages (stride 1, 2, 2) of recast's `basic` or `bottleneck` blocks
    (bottleneck width out / 4, so stage widths 16/32/64 give 8-32, 16-64, 32-128), GAP, fc."""

    def __init__(self, cin: int, n_classes: int, blocks: int, bottleneck: bool) -> None:
        super().__init__()
        self.stem = conv_bn(cin, 16)
        layers, c = [], 16
        for stage, width in enumerate((16, 32, 64)):
            for i in range(blocks):
                stride = 2 if stage > 0 and i == 0 else 1
                out = width // 2 * BOTTLENECK_EXPANSION if bottleneck else width
                layers.append(create_block("bottleneck" if bottleneck else "basic", c, out, stride))
                c = out
        self.stages = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, n_classes))
        # plain data read by the identity hashes (scnas.sweep.model_hash, recast's teacher hash):
        # today's key -> the key files and run directories from before were hashed under
        self.state_key_aliases = v1_key_names(self.state_dict().keys())

    @property
    def blocks(self) -> nn.Sequential:
        """The residual blocks in order (recast/ replaces them; `stages` keeps checkpoint keys)."""
        return self.stages

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


@MODELS.register("resnet20")
def resnet20(cin: int, n_classes: int, size: int) -> nn.Module:
    """ResNet-20 (3 basic blocks per stage)."""
    return CifarResNet(cin, n_classes, 3, bottleneck=False)


@MODELS.register("resnet56")
def resnet56(cin: int, n_classes: int, size: int) -> nn.Module:
    """ResNet-56 (9 basic blocks per stage)."""
    return CifarResNet(cin, n_classes, 9, bottleneck=False)


@MODELS.register("resnet_bottleneck")
def resnet_bottleneck(cin: int, n_classes: int, size: int) -> nn.Module:
    """ResNet-29 with bottleneck blocks (3 per stage)."""
    return CifarResNet(cin, n_classes, 3, bottleneck=True)


@MODELS.register("densenet_bc")
def densenet_bc(cin: int, n_classes: int, size: int, growth: int = 12, per_block: int = 4) -> nn.Module:
    """Small DenseNet-BC: three dense blocks with transition (BN-ReLU-1x1-avgpool) between."""
    c = 2 * growth
    layers: list[nn.Module] = [nn.Conv2d(cin, c, 3, padding=1, bias=False)]
    for block in range(3):
        for _ in range(per_block):
            layers.append(DenseLayer(c, growth))
            c += growth
        if block < 2:
            out = c // 2
            layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, out, 1, bias=False), nn.AvgPool2d(2)]
            c = out
    layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, n_classes)]
    return nn.Sequential(*layers)


@MODELS.register("mobilenet")
def mobilenet(cin: int, n_classes: int, size: int) -> nn.Module:
    """MobileNet-style: 3x3 stem, depthwise 3x3 + pointwise 1x1 blocks, GAP, fc."""
    plan = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 128, 2)]
    layers: list[nn.Module] = [conv_bn(cin, 32)]
    for c_in, c_out, stride in plan:
        layers += [conv_bn(c_in, c_in, 3, stride, groups=c_in), conv_bn(c_in, c_out, 1)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, n_classes))


class ImageNetResNet(nn.Module):
    """ResNet-50 as torchvision builds it (He et al. 2016; stride on the 3x3, "v1.5"): 7x7/2
    stem, 3x3/2 max pool, bottleneck stages of 3, 4, 6, 3 blocks (outputs 256 to 2048), GAP, fc."""

    def __init__(self, cin: int, n_classes: int, blocks: tuple[int, ...] = (3, 4, 6, 3)) -> None:
        super().__init__()
        self.stem = nn.Sequential(*conv_bn(cin, 64, 7, 2), nn.MaxPool2d(3, 2, 1))
        layers, c = [], 64
        for stage, n in enumerate(blocks):
            out = 64 * 2 ** stage * BOTTLENECK_EXPANSION
            for i in range(n):
                layers.append(create_block("bottleneck", c, out, 2 if stage > 0 and i == 0 else 1))
                c = out
        self.stages = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))  # (B, n_classes)


@MODELS.register("resnet50")
def resnet50(cin: int, n_classes: int, size: int) -> nn.Module:
    """ResNet-50 layer shapes (53 conv/linear layers with the projections)."""
    return ImageNetResNet(cin, n_classes)


class InvertedResidual(nn.Module):
    """MobileNet-V2 block: 1x1 expand (x t, left out when t = 1)-BN-ReLU, depthwise 3x3
    (strided)-BN-ReLU, 1x1 project-BN; identity add when stride 1 and widths match."""

    def __init__(self, cin: int, cout: int, stride: int, t: int) -> None:
        super().__init__()
        hid = cin * t
        expand = [conv_bn(cin, hid, 1)] if t != 1 else []
        self.body = nn.Sequential(*expand, conv_bn(hid, hid, 3, stride, groups=hid), conv_bn(hid, cout, 1, relu=False))
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


# (expansion t, output channels c, blocks n, first stride s): Sandler et al., CVPR 2018, Table 2
_MBV2_PLAN = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


@MODELS.register("mobilenet_v2")
def mobilenet_v2(cin: int, n_classes: int, size: int) -> nn.Module:
    """MobileNet-V2 layer shapes (width 1.0): 3x3/2 stem of 32, the 17 inverted residuals of
    `_MBV2_PLAN`, 1x1 conv to 1280, GAP, fc."""
    layers: list[nn.Module] = [conv_bn(cin, 32, 3, 2)]
    c = 32
    for t, out, n, s in _MBV2_PLAN:
        for i in range(n):
            layers.append(InvertedResidual(c, out, s if i == 0 else 1, t))
            c = out
    layers += [conv_bn(c, 1280, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, n_classes)]
    return nn.Sequential(*layers)
