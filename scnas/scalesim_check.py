"""The estimator against SCALE-Sim itself: the 270-pair layer set and the comparison.

`validation_layers()` is the workload (30 layers), `PAIRS` the arrays and dataflows;
`scripts/scalesim_golden.py` runs SCALE-Sim 3 on them (in its own venv, numpy < 2) and
writes `tests/sc_accel/data/scalesim_golden.json`; `compare(golden)` puts the estimator
beside it, row by row. SCALE-Sim reports the index of the last cycle of each simulated
layer (one per group), one less than the cycle count the estimator gives.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch.nn as tnn

from sc_accel.hw import WorkLayer, evaluate_pairs, systolic, workload
from sc_accel.hw.scalesim import topology_rows
from scnas.zoo import create_model

__all__ = ["validation_layers", "ARRAYS", "DATAFLOWS", "BUFFER_KIB", "GOLDEN", "compare", "summary"]

ARRAYS = (8, 32, 128)
DATAFLOWS = ("ws", "os", "is")
BUFFER_KIB = (64, 64, 64)  # ifmap, filter, ofmap SRAM in the SCALE-Sim runs
GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "sc_accel" / "data" / "scalesim_golden.json"
_GEMM = ("conv", "dwconv", "linear")


def _one(module: tnn.Module, shape: tuple[int, ...], name: str) -> WorkLayer:
    layer = workload(module, shape)[0]
    return WorkLayer(**{**layer.__dict__, "name": name})


def validation_layers() -> list[WorkLayer]:
    """ResNet-20's 22 conv/linear layers (32x32 input), four ResNet-50 layers (7x7/2 stem,
    1x1, 3x3/2, 1x1/2 projection), MobileNet-V2 depthwise 3x3 at stride 1 and 2 and a
    pointwise layer, and an FC 1280 -> 1000: 30 layers."""
    r20 = [l for l in workload(create_model("resnet20", 3, 10, 32), (1, 3, 32, 32)) if l.op in _GEMM]
    return r20 + [
        _one(tnn.Conv2d(3, 64, 7, 2, 3), (1, 3, 224, 224), "r50_stem7x7s2"),
        _one(tnn.Conv2d(256, 64, 1), (1, 256, 56, 56), "r50_conv2_1x1"),
        _one(tnn.Conv2d(128, 128, 3, 2, 1), (1, 128, 56, 56), "r50_conv3_3x3s2"),
        _one(tnn.Conv2d(1024, 2048, 1, 2), (1, 1024, 14, 14), "r50_proj1x1s2"),
        _one(tnn.Conv2d(192, 192, 3, 1, 1, groups=192), (1, 192, 28, 28), "mbv2_dw3x3s1"),
        _one(tnn.Conv2d(144, 144, 3, 2, 1, groups=144), (1, 144, 56, 56), "mbv2_dw3x3s2"),
        _one(tnn.Conv2d(192, 32, 1), (1, 192, 28, 28), "mbv2_pw1x1"),
        _one(tnn.Linear(1280, 1000), (1, 1280), "fc1280x1000"),
    ]
