"""`scnas estimate`: score one model on several accelerators, write a run directory."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import torch.nn as tnn

from sc_accel.errors import InvalidInputError
from sc_accel.hw import DEFAULT_TABLE, AccelConfig, CostTable, SCHardware, estimate, workload
from sc_accel.hw.calibration import usystolic_calibrated
from sc_accel.nn import SCConfig
from scnas.accel import save_accel
from scnas.config import claim_settings, write_json
from scnas.sweep import model_hash
from scnas.rundir import claim_run_dir
from scnas.train import load_model
from scnas.zoo import IMAGENET_SHAPED, MODELS, create_model

__all__ = ["expand_stream_lengths", "run_estimate", "resolve_model"]


def resolve_model(spec: str, input_shape: tuple[int, ...] | None) -> tuple[tnn.Module, str, tuple[int, ...]]:
    """(model, name, input shape) from a zoo name (untrained weights are enough to count
    costs) or a checkpoint / train run directory (its input size is in the checkpoint)."""
    if spec in MODELS:
        default = (1, 3, 224, 224) if spec in IMAGENET_SHAPED else (1, 1, 28, 28) if spec == "lenet5" else (1, 3, 32, 32)
        shape = input_shape or default
        if len(shape) != 4:
            raise InvalidInputError(f"--input-shape {shape} must be B,C,H,W for zoo model {spec}.")
        if shape[2] != shape[3] or not 8 <= shape[2] <= 1024 or not 1 <= shape[1] <= 64:
            raise InvalidInputError(f"--input-shape {shape}: zoo models take square images of 8 to 1024 pixels "
                                    "with 1 to 64 channels; give such a shape.")
        return create_model(spec, shape[1], 1000 if spec in IMAGENET_SHAPED else 10, shape[2]), spec, tuple(shape)
    model, meta = load_model(spec)
    shape = input_shape or (1, meta["in_channels"], meta["image_size"], meta["image_size"])
    return model, meta.get("arch", Path(spec).stem), tuple(shape)


def expand_stream_lengths(accels: list[AccelConfig], lengths: list[int] | None,
                          sc_config: SCConfig | None = None) -> list[AccelConfig]:
    """Each SC accelerator once per stream length (named ...-L<n>); `sc_config` replaces its SC
    settings. The comparator width follows each L unless `sc_config` sets one."""
    out = []
    for a in accels:
        if a.kind != "sc" or (lengths is None and sc_config is None):
            out.append(a)
            continue
        base = SCHardware.from_sc_config(sc_config, base=a.sc) if sc_config is not None else a.sc
        width = sc_config.width if sc_config is not None else None
        stem = a.name.rsplit("-L", 1)[0] if "-L" in a.name else a.name
        for L in lengths or [base.stream_length]:
            out.append(replace(a, sc=replace(base, stream_length=L, width=width), name=f"{stem}-L{L}"))
    return out


COST_TABLES = ("default", "usystolic")


def cost_table(name: str) -> CostTable:
    """The estimator's energy/area table by name: "default" (Horowitz 45 nm + NanGate cells) or
    "usystolic" (the SC PE calibrated to uSystolic's SC/binary PE ratios)."""
    if name not in COST_TABLES:
        raise InvalidInputError(f"unknown cost table {name!r}; use one of {', '.join(COST_TABLES)}.")
    return usystolic_calibrated() if name == "usystolic" else DEFAULT_TABLE


def run_estimate(model: tnn.Module, name: str, input_shape: tuple[int, ...], accels: list[AccelConfig],
                 out: str | Path, table: str = "default") -> dict:
    """Estimate on every accelerator; write results.json, layers-<accel>.csv, accel-<accel>.toml
    and config.toml in `out`; return the results dict."""
    costs = cost_table(table)  # a bad name, shape or accelerator list fails before the run directory exists
    layers = workload(model, input_shape)
    names = [a.name for a in accels]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"accelerator names {names} repeat; give each a distinct name.")
    with claim_run_dir(out, "estimate") as out:
        return _run_estimate(model, name, input_shape, accels, out, table, costs, layers)


def _run_estimate(model: tnn.Module, name: str, input_shape: tuple[int, ...], accels: list[AccelConfig],
                  out: Path, table: str, costs: CostTable, layers: list) -> dict:
    names = [a.name for a in accels]
    claim_settings(out, {"command": "estimate", "model": name, "model_sha256": model_hash(model),
                         "input_shape": list(input_shape), "accels": names, "cost_table": table,
                         "accel_configs": [json.dumps(a.to_dict(), sort_keys=True) for a in accels]})
    res = {"model": name, "input_shape": list(input_shape), "cost_table": table, "estimates": []}
    for a in accels:
        est = estimate(layers, None, a, costs)
        est.to_csv(out / f"layers-{a.name}.csv")
        save_accel(a, out / f"accel-{a.name}.toml")
        res["estimates"].append({"accel": a.to_dict(), "total": est.total, "layers": est.layers})
    write_json(res, out / "results.json")
    return res
