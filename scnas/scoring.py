"""Scoring shared by the commands: the float test accuracy of a model on a Dataset, its bit-true
SC accuracy from the emulator (and the check, before any training, that it can run), and its
size and the shared estimator's costs on one or several accelerators. `scnas recast` and
`scnas search` write these figures in their results.json, each keeping the keys its report
reads (`score_model(..., keys=...)`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from sc_accel.hw import AccelConfig, estimate
from sc_accel.hw.workload import workload
from sc_accel.metrics import top1_accuracy
from sc_accel.nn import SCConfig, check_fits, emulate
from scnas.data import Dataset

__all__ = ["float_accuracy", "bit_accuracy", "sc_accuracy", "check_sc_run", "score_model", "SCORES", "PER_ACCEL",
           "ACTIVATION_BYTES"]

ACTIVATION_BYTES = 4  # float32 activations on the CPU; the accelerators' own widths are in their estimates
PER_ACCEL = ("latency_s", "energy_pj", "memory_bytes", "dram_bytes")  # the estimator's figures, per accelerator
SCORES = ("accuracy", "params", "macs", "activation_bytes") + PER_ACCEL


def float_accuracy(model: torch.nn.Module, ds: Dataset) -> float:
    """Top-1 accuracy of the float model on the test images of `ds`."""
    return top1_accuracy(model, ds.x_test, ds.y_test)


def bit_accuracy(model: torch.nn.Module, cfg: SCConfig, calib: object, x: object, y: object) -> float:
    """Top-1 accuracy of `model` run bit-true under `cfg` on inputs x with labels y, scales
    calibrated on `calib` (the emulator's convert and backends, batch by batch)."""
    logits = emulate(model, x, cfg.replace(mode="bit"), calib=calib)
    return float((logits.argmax(1).numpy() == np.asarray(y)).mean())


def sc_accuracy(model: torch.nn.Module, ds: Dataset, length: int, limit: int) -> float:
    """Bit-true SC accuracy (LFSR, private SNGs) on the first `limit` test images, scales
    calibrated on 500 training images."""
    return bit_accuracy(model, SCConfig(stream_length=length), ds.x_train[:500], ds.x_test[:limit],
                        ds.y_test[:limit])


def check_sc_run(model: torch.nn.Module | None, ds: Dataset, length: int) -> None:
    """Refuse, before any training, a bit-true check at `length` that could not run: L out of
    range, or too large for memory on `model` (a network of the run) or, without one, on the
    smallest network these images allow (one linear layer: any network needs at least its
    input's streams), so the sentence comes now and not after hours of training."""
    x = ds.x_train[:2]
    if model is None:
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(int(x[0].size), len(ds.classes)))
    check_fits(model, SCConfig(stream_length=length, batch_size=1), calib=x)  # MemoryLimitError names the figures


def _costs(total: dict) -> dict:
    """The PER_ACCEL figures of one estimate's totals."""
    return {"latency_s": total["latency_s"], "energy_pj": total["energy_pj"],
            "memory_bytes": float(total["dram_bytes"] + total["sram_bytes"]), "dram_bytes": float(total["dram_bytes"])}


def score_model(model: torch.nn.Module, ds: Dataset, accels: AccelConfig | Mapping[str, AccelConfig],
                keys: Sequence[str] = SCORES) -> dict:
    """The `keys` (of SCORES, in that order) of one model: test accuracy, parameters, MACs and
    float32 activation bytes of a batch-1 pass, and the shared estimator's latency, energy,
    memory traffic (DRAM + SRAM bytes) and DRAM bytes: numbers on one accelerator, or
    {name: number} on a mapping of named accelerators (one estimate each)."""
    layers = workload(model, (1,) + tuple(ds.x_test.shape[1:]))
    named = accels if isinstance(accels, Mapping) else {"": accels}
    costs = {name: _costs(estimate(layers, None, a).total) for name, a in named.items()}
    row = {"accuracy": float_accuracy(model, ds), "params": int(sum(p.numel() for p in model.parameters())),
           "macs": int(sum(l.macs for l in layers)),
           "activation_bytes": int(ACTIVATION_BYTES * sum(l.out_elems for l in layers))}
    for k in PER_ACCEL:
        row[k] = {name: c[k] for name, c in costs.items()} if isinstance(accels, Mapping) else costs[""][k]
    return {k: row[k] for k in keys}
