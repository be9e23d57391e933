"""estimate(): per-layer latency, energy, area and traffic of a model on an accelerator.

Architecture (`AccelConfig`) and workload (a torch model + input shape, or a list of
`WorkLayer`) are separate inputs. The arithmetic is `cost.evaluate`, vectorized, so
`evaluate_pairs` scores many (layer, accelerator) pairs in one call for the searches.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch.nn as tnn

from sc_accel.hw.config import AccelConfig, HardwareConfigError, check_accel
from sc_accel.hw.cost import AREA_PARTS, ENERGY_PARTS, evaluate, pack_accels, pack_layers
from sc_accel.hw.tables import DEFAULT_TABLE, CostTable, energy_scale
from sc_accel.hw.workload import WorkLayer, as_layers

__all__ = ["Estimate", "estimate", "evaluate_pairs", "check_layer_names", "RECORD_FIELDS"]

RECORD_FIELDS = ("name", "op", "macs", "compute_cycles", "latency_cycles", "latency_s", "energy_pj",
                 "area_um2", "dram_bytes", "sram_bytes", "utilization", "bound")


@dataclass
class Estimate:
    """Per-layer records (dicts with RECORD_FIELDS and the energy/area parts) and totals."""

    accel: AccelConfig
    layers: list[dict]
    total: dict = field(default_factory=dict)

    def to_csv(self, path: str | Path | None = None) -> str:
        """Per-layer CSV (returned, and written when `path` is given)."""
        keys = list(self.layers[0]) if self.layers else list(RECORD_FIELDS)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
        w.writeheader()
        w.writerows(self.layers)
        if path is not None:
            Path(path).write_text(buf.getvalue())
        return buf.getvalue()

    def to_json(self, path: str | Path | None = None) -> str:
        """{"accel": ..., "total": ..., "layers": [...]} as JSON (written when `path` is given)."""
        text = json.dumps({"accel": self.accel.to_dict(), "total": self.total, "layers": self.layers}, indent=1)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text


def evaluate_pairs(layers: list[WorkLayer], accels: list[AccelConfig], table: CostTable = DEFAULT_TABLE,
                   per_layer: bool = True) -> dict[str, np.ndarray]:
    """Batch API: row i scores layers[i] on accels[i] (per-layer resources applied when
    `per_layer`). Returns the arrays of `cost.evaluate`."""
    if len(layers) != len(accels):
        raise ValueError(f"{len(layers)} layers but {len(accels)} accelerators; pass one of each per pair.")
    names = [layer.name for layer in layers] if per_layer else None
    return evaluate(pack_layers(layers), pack_accels(accels, names), table)


def _bound(r: dict[str, np.ndarray], accel: AccelConfig) -> np.ndarray:
    """Which limit sets each layer's latency: compute, DRAM or buffer bandwidth."""
    dram = r["dram_bytes"] / accel.memory.dram_bytes_per_cycle
    sram = r["sram_bytes"] / accel.memory.gbuf_bytes_per_cycle
    return np.where(r["latency_cycles"] <= r["compute_cycles"], "compute", np.where(dram >= sram, "dram", "sram"))


def _records(layers: list[WorkLayer], r: dict[str, np.ndarray], accel: AccelConfig) -> list[dict]:
    """One dict per layer: RECORD_FIELDS first, then the energy and area parts."""
    cols = {"bound": _bound(r, accel), **r}
    out = []
    for i, layer in enumerate(layers):
        row = {"name": layer.name, "op": layer.op, "macs": int(layer.macs)}
        for k, v in cols.items():
            x = v[i].item()
            row[k] = int(x) if k.endswith(("_cycles", "_bytes")) and float(x).is_integer() else x
        out.append({k: row[k] for k in RECORD_FIELDS} | row)
    return out


def _totals(records: list[dict], accel: AccelConfig) -> dict:
    """The estimate's totals: sums over the layers, the largest layer's area, utilization, EDP."""
    s = lambda k: float(sum(r[k] for r in records))  # noqa: E731
    L = accel.sc.stream_length if accel.sc else 1
    pe_cycles = sum(r["compute_cycles"] * r["pes"] for r in records)
    bit_macs = sum(r["macs"] * (accel.layer_sc(r["name"]).stream_length if accel.sc else 1) for r in records)
    tot = {"accel": accel.name, "kind": accel.kind, "dataflow": accel.dataflow, "layers": len(records),
           "macs": int(s("macs")), "compute_cycles": s("compute_cycles"), "latency_cycles": s("latency_cycles"),
           "latency_s": s("latency_s"), "energy_pj": s("energy_pj"),
           "area_um2": max((r["area_um2"] for r in records), default=0.0),
           "dram_bytes": s("dram_bytes"), "sram_bytes": s("sram_bytes"),
           "utilization": bit_macs / pe_cycles if pe_cycles else 0.0,
           "stream_length": L, "weight_stream": accel.weight_stream}
    tot["edp_pj_s"] = tot["energy_pj"] * tot["latency_s"]
    for p in ENERGY_PARTS:
        tot[f"energy_{p}_pj"] = s(f"energy_{p}_pj")
    biggest = max(records, key=lambda r: r["area_um2"]) if records else {}
    for p in AREA_PARTS:
        tot[f"area_{p}_um2"] = float(biggest.get(f"area_{p}_um2", 0.0))
    return tot


def check_layer_names(layers: list[WorkLayer], accel: AccelConfig) -> None:
    """Refuse per-layer resources ([layers]) or precision ([precision]) of `accel` that name a
    layer the model does not have (a typo would otherwise be silently ignored)."""
    unknown = sorted((set(accel.layers) | set(accel.precision)) - {layer.name for layer in layers})
    if unknown:
        raise HardwareConfigError(f"per-layer resources or precision name layers {unknown} that the model does "
                                  f"not have; its layers are {[layer.name for layer in layers]}.")


def estimate(model: tnn.Module | list[WorkLayer], input_shape: tuple[int, ...] | None, accel: AccelConfig,
             table: CostTable = DEFAULT_TABLE) -> Estimate:
    """Latency/energy/area of `model` on `accel` for inputs shaped `input_shape` (B, C, H, W).
    Total area is that of the largest per-layer allocation (the chip must host it)."""
    check_accel(accel)
    layers = as_layers(model, input_shape)
    check_layer_names(layers, accel)
    if not layers:  # e.g. an identity: nothing runs on the accelerator, every total is 0
        return Estimate(accel, [], _totals([], accel))
    r = evaluate_pairs(layers, [accel] * len(layers), table)
    records = _records(layers, r, accel)
    _add_decision_checks(layers, records, accel, table)
    return Estimate(accel, records, _totals(records, accel))


def _add_decision_checks(layers: list[WorkLayer], records: list[dict], accel: AccelConfig, t: CostTable) -> None:
    """Network-level EDT (`sc.edt_checks` set): each check searches the output layer's C
    counters for the top two and compares their difference with the threshold, C + 1
    counter-width compares at one gate per bit; charged to the last MAC layer's EDT energy."""
    sc = accel.sc
    macs = [i for i, layer in enumerate(layers) if layer.macs > 0]
    if sc is None or sc.edt_checks is None or not macs:
        return
    i = macs[-1]
    e = (sc.edt_checks * (layers[i].out_elems + 1) * sc.counter_width * t.and_pj
         * float(energy_scale(accel.op.voltage, accel.op.node_nm)))
    records[i]["energy_edt_pj"] += e
    records[i]["energy_pj"] += e
