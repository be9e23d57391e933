"""The layer-graph interpreter: binary ops here, MAC layers through a backend callable."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from sc_accel.graph import Layer, LayerGraph
from sc_accel.nn.ops import binary_op

__all__ = ["run_graph", "float_forward", "float_mac", "apply_mac"]

Recorder = Callable[[Layer, object], None]


def run_graph(graph: LayerGraph, x: object, mac: Callable[[Layer, dict], object],
              other: Callable = binary_op, record: Recorder | None = None,
              skip: frozenset[str] = frozenset()) -> object:
    """Evaluate the graph on x; `mac(layer, env)` computes conv/linear layers; the non-MAC
    layers named in `skip` are not evaluated (nothing the backend reads depends on them)."""
    env: dict[str, object] = {}
    for layer in graph.layers:
        if layer.name in skip:
            continue
        if layer.op == "input":
            env[layer.name] = x
        elif layer.op in ("conv", "linear"):
            env[layer.name] = mac(layer, env)
        else:
            env[layer.name] = other(layer, [env[i] for i in layer.inputs])
        if record is not None:
            record(layer, env[layer.name])
    return env[graph.output]


def apply_mac(layer: Layer, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """The layer's conv/linear with weights w (and bias b) on x: one place for its geometry."""
    a = layer.attrs
    if layer.op == "conv":
        return F.conv2d(x, w, b, a["stride"], a["padding"], 1, a["groups"])
    return F.linear(x, w, b)


def float_mac(layer: Layer, env: dict) -> torch.Tensor:
    """Reference conv/linear, in the dtype of its input (float64 unless a caller asks for float32)."""
    a = layer.attrs
    x = env[layer.inputs[0]]
    return apply_mac(layer, x, torch.as_tensor(a["weight"]).to(x.dtype), torch.as_tensor(a["bias"]).to(x.dtype))


def float_forward(graph: LayerGraph, x: torch.Tensor, record: Recorder | None = None,
                  dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The folded float model, the reference every SC mode is compared with: float64, or float32
    where only statistics are read (calibration scales, per-layer error sums), which runs
    several times faster (torch has no fast float64 convolution on CPUs)."""
    return run_graph(graph, x.to(dtype), float_mac, record=record)
