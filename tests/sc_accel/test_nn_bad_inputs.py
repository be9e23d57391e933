"""The emulator's API under bad input: the documented InvalidInputError with one sentence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from sc_accel.errors import InvalidInputError
from sc_accel.nn import SCConfig, convert, emulate, fixed_point


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 5)).eval()


X = torch.rand(4, 1, 8, 8)
CFG = SCConfig(stream_length=32)


@pytest.mark.parametrize("mode", ["bit", "expected"])
@pytest.mark.parametrize("x,message", [
    (torch.rand(4, 3, 8, 8), r"cannot run on inputs shaped \(3, 8, 8\) per sample"),
    (torch.rand(4, 8, 8), r"cannot run on inputs shaped \(8, 8\)"),
    (torch.rand(0, 1, 8, 8), "at least one sample"),
    (torch.rand(4), "at least one sample"),
    (np.array([["a"]]), "must be real numbers"),
    (torch.full((2, 1, 8, 8), float("nan")), "finite"),
    (torch.rand(2, 1, 8, 8, dtype=torch.complex64), "not a complex tensor"),
])
def test_bad_inputs(x, message, mode):
    with pytest.raises(InvalidInputError, match=message):
        emulate(_net(), x, CFG.replace(mode=mode))


def test_empty_calibration_and_wrong_shape_after_conversion():
    with pytest.raises(InvalidInputError, match="at least one sample"):
        emulate(_net(), X, CFG, calib=torch.rand(0, 1, 8, 8))
    with pytest.raises(InvalidInputError, match=r"converted for \(1, 8, 8\)"):
        convert(_net(), CFG, X)(torch.rand(2, 1, 9, 9))


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_non_finite_weights(value):
    net = _net()
    with torch.no_grad():
        net[0].weight[0, 0, 0, 0] = value
    for run in (lambda: emulate(net, X, CFG), lambda: fixed_point(net, X)):
        with pytest.raises(InvalidInputError, match="layer '_0' has non-finite weight values"):
            run()


def test_integer_inputs_are_fine():
    y = emulate(_net(), torch.ones(2, 1, 8, 8, dtype=torch.int64), CFG)
    assert y.shape == (2, 5) and torch.isfinite(y).all()
