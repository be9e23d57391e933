"""Fixtures shared by the design-space search tests: LeNet-5's hardware layers, the spatial
array most searches run on, and a two-layer model small enough for exhaustive Evolver spaces."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from sc_accel.hw import presets
from sc_accel.hw.workload import workload
from scnas.zoo import create_model


@pytest.fixture(scope="session")
def lenet_layers():
    return workload(create_model("lenet5", 1, 10, 28), (1, 1, 28, 28))


@pytest.fixture(scope="session")
def kcp():
    return presets()["spatial-16x16-kcp"]


class _Tiny(nn.Module):
    """conv -> ReLU -> linear on 8x8 images: two MAC layers, a space of 3^2 x points."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.fc = nn.Conv2d(1, 4, 3), nn.Linear(4 * 36, 4)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    m = _Tiny().eval()
    x = torch.rand(96, 1, 8, 8, generator=torch.Generator().manual_seed(2)).double()
    with torch.no_grad():
        y = m(x.float()).argmax(1).numpy()  # the float model's own labels: float accuracy 100%
    return m, x, y
