"""Workload: any torch model and input shape -> one record per hardware layer.

The torch.fx trace of `sc_accel.graph` (BatchNorm folded) is reduced to the layers an
accelerator executes: conv, dwconv (groups == channels), linear, maxpool, avgpool (global
average pooling included), add, concat and eltwise (an unfoldable BatchNorm). ReLU, flatten,
dropout and identity are fused into their producer. Each record carries its shapes in
GEMM terms (B, C, K, G, P, Q, R, S), MACs and element counts of weights, inputs, outputs.
"""

from __future__ import annotations

import math

from dataclasses import asdict, dataclass, replace

import networkx as nx
import numpy as np
import torch
import torch.nn as tnn

from sc_accel.errors import InvalidInputError, is_int
from sc_accel.graph import UnsupportedOpError, trace

__all__ = ["WorkLayer", "workload", "workload_graph", "with_batch", "as_layers", "check_layer_list", "OPS"]

OPS = ("conv", "dwconv", "linear", "maxpool", "avgpool", "add", "concat", "eltwise")
_FUSED = ("relu", "flatten", "identity")


@dataclass(frozen=True)
class WorkLayer:
    """One accelerator layer. C/K: input/output channels; G: groups; P x Q: output
    pixels; R x S: kernel; B: batch. in_elems counts every input tensor read."""

    name: str
    op: str
    B: int
    C: int
    K: int
    G: int
    P: int
    Q: int
    R: int
    S: int
    stride: int
    in_elems: int
    out_elems: int
    w_elems: int
    macs: int
    inputs: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """Plain dict (CSV/JSON rows)."""
        d = asdict(self)
        d["inputs"] = list(self.inputs)
        return d


def _chw(shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) == 3:
        return int(shape[0]), int(shape[1]), int(shape[2])
    return int(np.prod(shape)), 1, 1


def _record(layer, in_shapes: list[tuple], B: int, name_map: dict) -> WorkLayer | None:
    op, attrs = layer.op, layer.attrs
    K, P, Q = _chw(layer.shape)
    C, H, W = _chw(in_shapes[0]) if in_shapes else (K, P, Q)
    ins = tuple(name_map.get(i, i) for i in layer.inputs)
    out = B * K * P * Q
    if op == "conv":
        k, cg = attrs["weight"].shape[:2]
        R, S = attrs.get("taps", attrs["weight"].shape[2:])  # a dilated kernel's real taps, not its dense spread
        G = int(attrs["groups"])
        kind = "dwconv" if G == C and cg == 1 and G > 1 else "conv"
        return WorkLayer(layer.name, kind, B, C, K, G, P, Q, R, S, attrs["stride"][0], B * C * H * W, out,
                         k * cg * R * S, B * K * P * Q * cg * R * S, ins)
    if op == "linear":
        K, C = attrs["weight"].shape
        return WorkLayer(layer.name, "linear", B, C, K, 1, 1, 1, 1, 1, 1, B * C, B * K, K * C, B * K * C, ins)
    if op in ("maxpool", "avgpool"):
        R, S = attrs["kernel"]
        return WorkLayer(layer.name, op, B, C, K, C, P, Q, R, S, attrs["stride"][0], B * C * H * W, out, 0, 0, ins)
    if op == "gap":
        return WorkLayer(layer.name, "avgpool", B, C, K, C, 1, 1, H, W, H, B * C * H * W, B * K, 0, 0, ins)
    if op in ("add", "cat", "affine"):
        total_in = sum(B * int(np.prod(s)) for s in in_shapes)
        kind = {"add": "add", "cat": "concat", "affine": "eltwise"}[op]
        return WorkLayer(layer.name, kind, B, C, K, 1, P, Q, 1, 1, 1, total_in, out, 0, 0, ins)
    return None


MAX_SAMPLE_ELEMS = 1 << 24  # values in one input sample (3 x 2365 x 2365): the trace runs a real forward pass
MAX_BATCH = 1 << 20


def workload(model: tnn.Module, input_shape: tuple[int, ...]) -> list[WorkLayer]:
    """Hardware layers of `model` run on a batch shaped `input_shape` = (B, C, H, W) or (B, F)."""
    if not isinstance(model, tnn.Module):
        raise InvalidInputError(f"model must be a torch.nn.Module (or a list of WorkLayer records where one is "
                                f"accepted), not {type(model).__name__}.")
    try:  # whole numbers only: "1" or 1.5 are refused, not converted
        shape = tuple(int(s) for s in input_shape) if all(is_int(s) for s in input_shape) else ()
    except TypeError:
        shape = ()
    if len(shape) < 2 or any(s < 1 for s in shape):
        raise InvalidInputError(f"input_shape={input_shape!r} must be (batch, channels, height, width) "
                                "or (batch, features) with positive sizes.")
    per_sample = math.prod(shape[1:])
    if per_sample > MAX_SAMPLE_ELEMS or shape[0] > MAX_BATCH:
        raise InvalidInputError(f"input_shape={input_shape!r} ({per_sample:,} values per sample, batch "
                                f"{shape[0]:,}) is beyond what the estimator traces ({MAX_SAMPLE_ELEMS:,} values "
                                f"per sample, batch {MAX_BATCH:,}); give a realistic input size.")
    try:  # one sample is traced: layer shapes do not depend on the batch, which _record applies
        graph = trace(model, torch.zeros((1,) + shape[1:]))
    except UnsupportedOpError as e:
        raise UnsupportedOpError(str(e).replace("the SC converter", "the hardware estimator")) from None
    name_map: dict[str, str] = {}
    out: list[WorkLayer] = []
    for layer in graph.layers:
        if layer.op == "input":
            continue
        if layer.op in _FUSED:
            src = layer.inputs[0]
            name_map[layer.name] = name_map.get(src, src)
            continue
        rec = _record(layer, [graph.by_name[i].shape for i in layer.inputs], shape[0], name_map)
        if rec is None:
            raise UnsupportedOpError(f"op {layer.op!r} at node '{layer.name}' has no hardware model; the "
                                     f"estimator supports {', '.join(OPS)}.")
        out.append(rec)
    return out


def check_layer_list(layers: object, empty_ok: bool = True) -> list[WorkLayer]:
    """`layers` itself when it is a list of WorkLayer records (`empty_ok=False`: at least one)."""
    if not isinstance(layers, list):
        raise InvalidInputError(f"layers must be a list of WorkLayer records (sc_accel.hw.workload(model, "
                                f"input_shape)), not a {type(layers).__name__}.")
    bad = sorted({type(layer).__name__ for layer in layers if not isinstance(layer, WorkLayer)})
    if bad:
        raise InvalidInputError(f"a list of layers must hold WorkLayer records (sc_accel.hw.workload(model, "
                                f"input_shape)), not {', '.join(bad)}.")
    if not layers and not empty_ok:
        raise InvalidInputError("the list of layers is empty; give the WorkLayer records of a model with at least "
                                "one layer.")
    return layers


def as_layers(model: tnn.Module | list[WorkLayer], input_shape: tuple[int, ...] | None) -> list[WorkLayer]:
    """The hardware layers of a model and input shape, or a list of WorkLayer records checked as such."""
    return check_layer_list(model) if isinstance(model, list) else workload(model, input_shape)


def with_batch(layers: list[WorkLayer], batch: int) -> list[WorkLayer]:
    """The same layers run on `batch` samples: batch-proportional counts (inputs, outputs,
    MACs) rescaled, weights unchanged; equal to `workload(model, (batch, ...))` without
    tracing the model again (the searches over batch size call this thousands of times)."""
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
        raise InvalidInputError(f"batch={batch!r} must be an integer from 1 to {MAX_BATCH:,}.")
    return [replace(layer, B=batch, in_elems=layer.in_elems // layer.B * batch,
                    out_elems=layer.out_elems // layer.B * batch, macs=layer.macs // layer.B * batch)
            for layer in layers]


def workload_graph(model: tnn.Module | list[WorkLayer], input_shape: tuple[int, ...] = ()) -> nx.DiGraph:
    """networkx DiGraph of the hardware layers: node attributes are the WorkLayer fields."""
    layers = model if isinstance(model, list) else workload(model, input_shape)
    g = nx.DiGraph()
    for layer in layers:
        g.add_node(layer.name, **layer.to_dict())
    names = set(g.nodes)
    for layer in layers:
        for i in layer.inputs:
            if i in names:
                g.add_edge(i, layer.name)
    return g
