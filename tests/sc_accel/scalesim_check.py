"""The estimator against SCALE-Sim itself, a check on hw kept with its tests: the 270-pair set.

`validation_layers()` is the workload (30 layers), `ARRAYS` x `DATAFLOWS` the designs,
`BUFFER_KIB` the SRAM sizes the golden run used (the runner's default);
`scripts/scalesim_golden.py` runs SCALE-Sim 3 on them (in its own venv, numpy < 2) and
writes `tests/sc_accel/data/scalesim_golden.json`; `compare(golden)` puts the estimator
beside it, row by row. SCALE-Sim reports the index of the last cycle of each simulated
layer (one per group), one less than the cycle count the estimator gives.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch.nn as tnn

from sc_accel.hw import WorkLayer, evaluate, pack_accels, pack_layers, systolic, workload
from sc_accel.hw.cost import dram_parts
from sc_accel.hw.dataflows import conv_dataflow, touched_inputs
from scnas.zoo import create_model

__all__ = ["validation_layers", "ARRAYS", "DATAFLOWS", "BUFFER_KIB", "GOLDEN", "compare", "summary"]

ARRAYS = (8, 32, 128)
DATAFLOWS = ("ws", "os", "is")
BUFFER_KIB = (64, 64, 64)  # ifmap, filter, ofmap SRAM in the SCALE-Sim runs
GOLDEN = Path(__file__).resolve().parent / "data" / "scalesim_golden.json"
_GEMM = ("conv", "dwconv", "linear")


def _one(module: tnn.Module, shape: tuple[int, ...], name: str) -> WorkLayer:
    return replace(workload(module, shape)[0], name=name)


def validation_layers() -> list[WorkLayer]:
    """ResNet-20's 22 conv/linear layers (32x32 input), four ResNet-50 layers (7x7/2 stem,
    1x1, 3x3/2, 1x1/2 projection), MobileNet-V2 depthwise 3x3 at stride 1 and 2 and a
    pointwise layer, and an FC 1280 -> 1000: 30 layers."""
    r20 = [layer for layer in workload(create_model("resnet20", 3, 10, 32), (1, 3, 32, 32)) if layer.op in _GEMM]
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


def _scalesim_touched(layer: WorkLayer) -> int:
    """Distinct ifmap elements SCALE-Sim reads on the exported (padded) input of `layer`."""
    s = max(layer.stride, 1)
    rows = layer.P * layer.R if layer.R < s else (layer.P - 1) * s + layer.R
    cols = layer.Q * layer.S if layer.S < s else (layer.Q - 1) * s + layer.S
    return layer.C * rows * cols


def _estimator_rows(layers: list[WorkLayer], pairs: list[dict]) -> list[dict]:
    """The estimator on every golden pair: cycles, buffer reads/writes (words) and DRAM bytes
    by operand, through the same functions `evaluate` uses."""
    by_name = {layer.name: layer for layer in layers}
    ls = [by_name[p["layer"]] for p in pairs]
    accels = [systolic(p["rows"], p["cols"], p["dataflow"], gbuf_kib=float(sum(p["buffer_kib"])),
                       split=tuple(float(k) for k in p["buffer_kib"])) for p in pairs]
    lay, acc = pack_layers(ls), pack_accels(accels)
    r = evaluate(lay, acc)
    conv = conv_dataflow(lay, acc)
    dram = dram_parts(lay, acc, conv, np.ones(len(pairs), dtype=bool))
    return [{"cycles": int(r["compute_cycles"][i]), "in_reads": int(conv["in_reads"][i]),
             "w_reads": int(conv["w_reads"][i]), "out_writes": int(conv["out_writes"][i]),
             "ifmap_passes": dram["inputs"][i] / int(touched_inputs(lay)[i]),
             "filter_passes": dram["weights"][i] / ls[i].w_elems} for i in range(len(pairs))]


def compare(golden: str | Path = GOLDEN) -> list[dict]:
    """One row per golden pair: SCALE-Sim's cycles as a count (reported + one per simulated
    layer) beside the estimator's; buffer reads and writes of both; DRAM reads of each
    input operand as passes over its distinct elements (8-bit words) for both."""
    pairs = json.loads(Path(golden).read_text())["pairs"]
    layers = validation_layers()
    by_name = {layer.name: layer for layer in layers}
    rows = []
    for p, e in zip(pairs, _estimator_rows(layers, pairs)):
        lay = by_name[p["layer"]]
        count = p["cycles_reported"] + p["simulated_layers"]
        rows.append({"layer": p["layer"], "array": f"{p['rows']}x{p['cols']}", "dataflow": p["dataflow"],
                     "kernel": lay.R, "simulated_layers": p["simulated_layers"], "scalesim_cycles": count,
                     "estimator_cycles": e["cycles"], "cycle_diff": e["cycles"] - count,
                     "sram_ifmap": (p["sram_ifmap_reads"], e["in_reads"]),
                     "sram_filter": (p["sram_filter_reads"], e["w_reads"]),
                     "sram_ofmap": (p["sram_ofmap_writes"], e["out_writes"]),
                     "dram_ifmap_passes": (p["dram_ifmap_reads"] / _scalesim_touched(lay), e["ifmap_passes"]),
                     "dram_filter_passes": (p["dram_filter_reads"] / lay.w_elems, e["filter_passes"])})
    return rows


def _close(pair: tuple[float, float], rel: float) -> bool:
    return abs(pair[0] - pair[1]) <= rel * pair[1]


def summary(rows: list[dict]) -> dict:
    """Pairs, exact cycle matches, within one cycle per simulated layer, worst relative error;
    exact buffer counts; DRAM passes within 2% and within 30% of SCALE-Sim's."""
    rel = [abs(r["cycle_diff"]) / r["scalesim_cycles"] for r in rows]
    dram = lambda tol: int(sum(_close(r["dram_ifmap_passes"], tol) and _close(r["dram_filter_passes"], tol)  # noqa: E731
                           for r in rows))
    return {"pairs": len(rows), "exact": sum(r["cycle_diff"] == 0 for r in rows),
            "within_one_per_layer": sum(abs(r["cycle_diff"]) <= r["simulated_layers"] for r in rows),
            "worst_rel_error": max(rel, default=0.0),
            "sram_exact": {k: sum(r[k][0] == r[k][1] for r in rows) for k in ("sram_ifmap", "sram_filter", "sram_ofmap")},
            "dram_within_2pct": dram(0.02), "dram_within_30pct": dram(0.30)}
