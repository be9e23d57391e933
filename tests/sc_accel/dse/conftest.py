"""Fixtures shared by the design-space search tests: LeNet-5's hardware layers and the
spatial array most searches run on."""

from __future__ import annotations

import pytest

from sc_accel.hw import presets
from sc_accel.hw.workload import workload
from scnas.zoo import create_model


@pytest.fixture(scope="session")
def lenet_layers():
    return workload(create_model("lenet5", 1, 10, 28), (1, 1, 28, 28))


@pytest.fixture(scope="session")
def kcp():
    return presets()["spatial-16x16-kcp"]
