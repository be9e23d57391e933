"""SCALE-Sim interoperation: export a workload as a SCALE-Sim topology CSV.

SCALE-Sim (v3, PyPI `scalesim`) has no padding and sizes outputs by its own rule,
ofmap = ceil((H - R + s) / s) (topology_utils.py), which is one larger than torch's floor
rule whenever (H + 2p - R) mod s != 0. The export therefore writes the input size
H_in = (P - 1) * s + R, so both tools see the output size P of the torch network (the
padded input). Grouped convolutions become one row per group (SCALE-Sim has no groups;
its 'DP' name convention does the same split for depthwise layers), linear layers a 1x1
conv on a 1x1 map. Pools, adds and concats have no SCALE-Sim layer and are left out.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch.nn as tnn

from sc_accel.errors import InvalidInputError
from sc_accel.hw.workload import WorkLayer, workload

__all__ = ["topology_rows", "write_topology", "TOPOLOGY_HEADER", "group_suffix"]

TOPOLOGY_HEADER = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
                   "Channels", "Num Filter", "Strides")
_GEMM_OPS = ("conv", "dwconv", "linear")


def group_suffix(g: int) -> str:
    """Suffix of the row of group g of a grouped layer (the golden script strips it)."""
    return f"__g{g}"


def _safe_name(name: str) -> str:
    # SCALE-Sim splits rows on commas and treats any name containing 'DP' as depthwise
    return re.sub(r"[^A-Za-z0-9_.]", "_", name).replace("DP", "Dp")


def topology_rows(layers: list[WorkLayer]) -> list[tuple]:
    """SCALE-Sim topology rows (name, H_in, W_in, R, S, C, K, stride) of the conv, depthwise
    and linear layers, one row per group; batch 1 only (SCALE-Sim has no batch)."""
    rows: list[tuple] = []
    for layer in layers:
        if layer.op not in _GEMM_OPS:
            continue
        if layer.B != 1:
            raise InvalidInputError(f"layer '{layer.name}' has batch {layer.B}; SCALE-Sim simulates batch 1, "
                                    "so export the workload of a (1, C, H, W) input.")
        s = max(int(layer.stride), 1)
        h_in, w_in = (layer.P - 1) * s + layer.R, (layer.Q - 1) * s + layer.S
        cg, kg = layer.C // layer.G, layer.K // layer.G
        base = _safe_name(layer.name)
        for g in range(layer.G):
            name = base if layer.G == 1 else base + group_suffix(g)
            rows.append((name, h_in, w_in, layer.R, layer.S, cg, kg, s))
    return rows


def write_topology(model_or_layers: tnn.Module | list[WorkLayer], path: str | Path,
                   input_shape: tuple[int, ...] | None = None) -> Path:
    """Write a SCALE-Sim topology CSV (its conv format, trailing comma per row)."""
    layers = model_or_layers if isinstance(model_or_layers, list) else workload(model_or_layers, input_shape)
    lines = [", ".join(TOPOLOGY_HEADER) + ","]
    lines += [", ".join(str(v) for v in row) + "," for row in topology_rows(layers)]
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path
