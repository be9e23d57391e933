"""Where the binary-to-stochastic conversions sit, and the scale of every conversion and layer.

Each conv/linear layer reads its input through a conversion (an SNG bank): the binary
activations, divided by the conversion's scale, are compared against the bank's random
numbers. When the input comes (possibly through flatten) from a max pool and the config
pools in the stream domain, the conversion moves before the pool, which then acts on
streams. Scales are powers of two (so the hardware undoes them with a shift):

- activations: 2^ceil(log2 m), m = calibration percentile of |x| (with up-scaling);
  max(1, that) without, so small activations are not stretched to the full range;
- weights: 2^ceil(log2 max|w|) per layer, likewise.

A conversion is signed when calibration saw negative inputs: positive and negative parts
then get a stream each (x = x+ - x-), doubling that layer's work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from sc_accel.nn.config import SCConfig
from sc_accel.graph import Layer, LayerGraph
from sc_accel.nn.run import float_forward

__all__ = ["Conversion", "MacPlan", "Plan", "make_plan", "pow2_scale", "node_stats"]

SHAPE_OPS = ("flatten", "identity")


@dataclass(frozen=True)
class Conversion:
    """One binary-to-stochastic conversion point."""

    key: str
    tensor: str                       # node whose binary value is converted
    shape: tuple[int, ...]            # that node's shape (no batch axis)
    scale: float
    signed: bool
    pool: tuple[int, int] | None      # (kernel, stride) of a stream-domain max pool, or None
    index: int                        # position among conversions (seeds the SNG bank)


@dataclass(frozen=True)
class MacPlan:
    """A conv/linear layer: its input conversion and weight scale."""

    layer: str
    conversion: str
    w_scale: float
    index: int


@dataclass
class Plan:
    """All conversions and MAC layers of a graph under one config."""

    conversions: dict[str, Conversion]
    macs: dict[str, MacPlan]


def pow2_scale(m: float, upscale: bool) -> float:
    """Smallest power of two >= m (m > 0); without up-scaling never below 1."""
    s = 2.0 ** math.ceil(math.log2(m)) if m > 0 else 1.0
    return s if upscale else max(1.0, s)


def node_stats(graph: LayerGraph, x: torch.Tensor, percentile: float) -> dict[str, tuple[float, float]]:
    """(percentile of |value|, min value) of every node's float output on calibration inputs x,
    from a float32 forward (a scale is a power of two above the percentile, which float32's
    rounding moves only when the percentile lies within 1e-7 of one)."""
    stats: dict[str, tuple[float, float]] = {}

    def record(layer: Layer, value: torch.Tensor) -> None:
        lo, hi = torch.aminmax(value.detach())
        if percentile >= 100.0:
            m = max(float(hi), -float(lo))
        else:
            m = float(np.percentile(value.detach().abs().reshape(-1).numpy(), percentile))
        stats[layer.name] = (m, float(lo))

    float_forward(graph, x, record=record, dtype=torch.float32)
    return stats


def _stream_pool(graph: LayerGraph, name: str, cfg: SCConfig) -> tuple[str, tuple[int, int] | None]:
    """(tensor to convert, pool) for a MAC input `name`, looking through flatten/identity."""
    node = graph.by_name[name]
    while node.op in SHAPE_OPS:
        node = graph.by_name[node.inputs[0]]
    a = node.attrs
    if (cfg.maxpool != "binary" and node.op == "maxpool" and a["padding"] == (0, 0)
            and a["kernel"][0] == a["kernel"][1] and a["stride"][0] == a["stride"][1]):
        return node.inputs[0], (a["kernel"][0], a["stride"][0])
    return name, None


def make_plan(graph: LayerGraph, cfg: SCConfig, stats: dict[str, tuple[float, float]]) -> Plan:
    """Conversions and MAC plans for `graph` under `cfg`, from calibration `stats`."""
    conversions: dict[str, Conversion] = {}
    macs: dict[str, MacPlan] = {}
    for layer in graph.layers:
        if layer.op not in ("conv", "linear"):
            continue
        src = layer.inputs[0]
        tensor, pool = _stream_pool(graph, src, cfg)
        m, lo = stats[tensor]
        signed = lo < 0.0
        if signed and pool is not None:  # OR pooling needs unipolar streams: pool in binary instead
            tensor, pool = src, None
            m, lo = stats[tensor]
        key = f"{tensor}|pool{pool[0]}s{pool[1]}" if pool else tensor
        if key not in conversions:
            conversions[key] = Conversion(key, tensor, graph.by_name[tensor].shape,
                                          pow2_scale(m, cfg.upscale), signed, pool, len(conversions))
        w_max = float(np.abs(layer.attrs["weight"]).max())
        macs[layer.name] = MacPlan(layer.name, key, pow2_scale(w_max, cfg.upscale), len(macs))
    return Plan(conversions, macs)
