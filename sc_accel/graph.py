"""torch model -> fx graph -> layer graph: the one place models are traced (shared by the SC
converter in nn/, the estimator in hw/ and recast/; nas/ is to use it too).

`fx_graph(model, leaves)` is torch.fx symbolic tracing with chosen submodules kept whole (recast/
cuts a model at its named blocks with it).

`trace(model, example)` runs torch.fx symbolic tracing and shape propagation and maps
every fx node onto a small op set (conv, linear, affine, relu, maxpool, avgpool, gap,
flatten, add, cat, identity). BatchNorm directly after a conv/linear whose only user it
is gets folded into that layer; any other BatchNorm stays as a per-channel affine op.
An op outside the set raises UnsupportedOpError naming the op and its place.
The same graph feeds the SC emulator (nn/) and the hardware estimator (hw/).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import torch
import torch.nn as tnn
import torch.nn.functional as F
from torch.fx import GraphModule, Tracer, symbolic_trace
from torch.fx.passes.shape_prop import ShapeProp

from sc_accel.errors import InvalidInputError, is_int

__all__ = ["Layer", "LayerGraph", "UnsupportedOpError", "trace", "fx_graph", "check_input_shape", "SUPPORTED"]

SUPPORTED = ("Conv2d", "Linear", "ReLU", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d(1)",
             "BatchNorm1d/2d", "Flatten", "Dropout", "Identity", "add", "cat")


class UnsupportedOpError(InvalidInputError):
    """The model uses an op the SC converter cannot map."""


@dataclass
class Layer:
    """One node: op kind, input node names, parameters, output shape without the batch axis."""

    name: str
    op: str
    inputs: list[str]
    attrs: dict = field(default_factory=dict)
    shape: tuple[int, ...] = ()


@dataclass
class LayerGraph:
    """Layers in topological order; `output` names the node whose value is the result."""

    layers: list[Layer]
    output: str
    input_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        self.input_shape = check_input_shape(self.input_shape)
        self.by_name = {l.name: l for l in self.layers}

    def users(self, name: str) -> list[Layer]:
        """Layers that read node `name`."""
        return [l for l in self.layers if name in l.inputs]

    def to_networkx(self) -> nx.DiGraph:
        """Directed graph, one node per layer with op, shape and attrs."""
        g = nx.DiGraph()
        for l in self.layers:
            g.add_node(l.name, op=l.op, shape=l.shape, attrs=l.attrs)
            for i in l.inputs:
                g.add_edge(i, l.name)
        return g


def check_input_shape(shape: object) -> tuple[int, ...]:
    """A per-sample input shape as a tuple of ints >= 1; strings ("1"), fractions (1.5), bools and
    non-positive sizes are refused, not converted."""
    dims = tuple(shape) if isinstance(shape, (tuple, list, torch.Size)) else None
    if dims is None or not dims or any(not is_int(d) or d < 1 for d in dims):
        raise InvalidInputError(f"input shape {shape!r} must be a tuple of whole numbers >= 1 (one per sample "
                                "axis, e.g. (1, 28, 28)).")
    return tuple(int(d) for d in dims)


def _np(t: torch.Tensor | None, n: int = 0) -> np.ndarray:
    return np.zeros(n) if t is None else t.detach().cpu().double().numpy().copy()


def _pair(v: object) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _where(node: torch.fx.Node, i: int, n: int) -> str:
    return f"graph node '{node.name}' (position {i + 1} of {n})"


def _unsupported(what: str, node: torch.fx.Node, i: int, n: int, why: str = "") -> UnsupportedOpError:
    why = f" ({why})" if why else ""
    return UnsupportedOpError(f"unsupported op {what}{why} at {_where(node, i, n)}; the SC converter "
                              f"supports {', '.join(SUPPORTED)}.")


def _conv_layer(m: tnn.Conv2d, where: str) -> dict:
    """Conv attributes. A dilated kernel is spread into the dense kernel it equals (zeros between
    the taps), so every consumer computes the same function; `taps` keeps the real kernel size
    (R, S) and `dilation` the spacing, for the estimator's MAC and weight counts."""
    if m.padding_mode != "zeros" or isinstance(m.padding, str):
        raise UnsupportedOpError(f"Conv2d with padding {m.padding!r} and padding_mode {m.padding_mode!r} at "
                                 f"{where} is not supported; use integer zero padding.")
    w = _np(m.weight)
    dil = _pair(m.dilation)
    attrs = {"stride": _pair(m.stride), "padding": _pair(m.padding), "groups": int(m.groups),
             "taps": (int(w.shape[2]), int(w.shape[3])), "dilation": dil}
    if dil != (1, 1):
        dense = np.zeros(w.shape[:2] + ((w.shape[2] - 1) * dil[0] + 1, (w.shape[3] - 1) * dil[1] + 1), w.dtype)
        dense[:, :, ::dil[0], ::dil[1]] = w
        w = dense
    return {"weight": w, "bias": _np(m.bias, m.out_channels), **attrs}


def _pool_attrs(kernel: object, stride: object, padding: object) -> dict:
    k = _pair(kernel)
    s = _pair(stride if stride not in (None, ()) else kernel)
    return {"kernel": k, "stride": s, "padding": _pair(padding)}


def _bn_affine(m: tnn.modules.batchnorm._BatchNorm) -> dict:
    var, mean = _np(m.running_var), _np(m.running_mean)
    scale = 1.0 / np.sqrt(var + m.eps)
    shift = -mean * scale
    if m.affine:
        scale, shift = scale * _np(m.weight), shift * _np(m.weight) + _np(m.bias)
    return {"scale": scale, "shift": shift}


def _module_op(m: tnn.Module, node, i, n) -> tuple[str, dict]:
    where = _where(node, i, n)
    if isinstance(m, tnn.Conv2d):
        return "conv", _conv_layer(m, where)
    if isinstance(m, tnn.Linear):
        return "linear", {"weight": _np(m.weight), "bias": _np(m.bias, m.out_features)}
    if isinstance(m, (tnn.BatchNorm1d, tnn.BatchNorm2d)):
        if m.running_mean is None:
            raise _unsupported(type(m).__name__, node, i, n, "no running statistics")
        return "affine", _bn_affine(m)
    if isinstance(m, tnn.ReLU):
        return "relu", {}
    if isinstance(m, tnn.MaxPool2d):
        if _pair(m.dilation) != (1, 1) or m.ceil_mode:
            raise _unsupported("MaxPool2d", node, i, n, "dilation or ceil_mode")
        return "maxpool", _pool_attrs(m.kernel_size, m.stride, m.padding)
    if isinstance(m, tnn.AvgPool2d):
        if m.ceil_mode or not m.count_include_pad or m.divisor_override:
            raise _unsupported("AvgPool2d", node, i, n, "ceil_mode, count_include_pad=False or divisor")
        return "avgpool", _pool_attrs(m.kernel_size, m.stride, m.padding)
    if isinstance(m, tnn.AdaptiveAvgPool2d) and _pair(m.output_size) == (1, 1):
        return "gap", {}
    if isinstance(m, tnn.Flatten):
        return "flatten", {}
    if isinstance(m, (tnn.Dropout, tnn.Identity)):
        return "identity", {}
    raise _unsupported(type(m).__name__, node, i, n)


def _arg(node: torch.fx.Node, pos: int, key: str, default: object) -> object:
    if len(node.args) > pos:
        return node.args[pos]
    return node.kwargs.get(key, default)


def _function_op(node: torch.fx.Node, shape: tuple, i: int, n: int) -> tuple[str, dict]:
    f = node.target
    if f in (operator.add, torch.add, operator.iadd):
        if len(_tensor_inputs(node)) != 2 or node.kwargs.get("alpha", 1) != 1:
            raise _unsupported("add of a tensor and a constant", node, i, n)
        return "add", {}
    if f is torch.cat:
        dim = _arg(node, 1, "dim", 0)
        if not isinstance(dim, int) or dim % (len(shape) + 1) != 1:
            raise _unsupported("cat", node, i, n, f"dim={dim}; only the channel axis 1")
        return "cat", {}
    if f in (F.relu, torch.relu):
        return "relu", {}
    if f is torch.flatten:
        return "flatten", {}
    if f is F.max_pool2d:
        return "maxpool", _pool_attrs(_arg(node, 1, "kernel_size", 2), _arg(node, 2, "stride", None),
                                      _arg(node, 3, "padding", 0))
    if f is F.avg_pool2d:
        return "avgpool", _pool_attrs(_arg(node, 1, "kernel_size", 2), _arg(node, 2, "stride", None),
                                      _arg(node, 3, "padding", 0))
    if f is F.adaptive_avg_pool2d and _pair(_arg(node, 1, "output_size", 1)) == (1, 1):
        return "gap", {}
    if f is F.dropout:
        return "identity", {}
    raise _unsupported(getattr(f, "__name__", str(f)), node, i, n)


def _method_op(node: torch.fx.Node, shape: tuple, in_shape: tuple, i: int, n: int) -> tuple[str, dict]:
    if node.target == "relu":
        return "relu", {}
    if node.target in ("flatten", "view", "reshape"):
        if len(shape) == 1 and int(np.prod(in_shape)) == shape[0]:
            return "flatten", {}
        raise _unsupported(f"Tensor.{node.target}", node, i, n, "only flattening to (batch, features)")
    if node.target in ("contiguous", "clone"):
        return "identity", {}
    raise _unsupported(f"Tensor.{node.target}", node, i, n)


def _tensor_inputs(node: torch.fx.Node) -> list[torch.fx.Node]:
    flat: list = []
    for a in list(node.args) + list(node.kwargs.values()):
        flat.extend(a if isinstance(a, (list, tuple)) else [a])
    return [a for a in flat if isinstance(a, torch.fx.Node) and "tensor_meta" in a.meta]


class _LeafTracer(Tracer):
    """fx tracer that keeps the submodules named in `leaves` as single call_module nodes."""

    def __init__(self, leaves: frozenset[str]) -> None:
        super().__init__()
        self.leaves = leaves

    def is_leaf_module(self, m: tnn.Module, qualified_name: str) -> bool:
        return qualified_name in self.leaves or super().is_leaf_module(m, qualified_name)


def fx_graph(model: tnn.Module, leaves: Iterable[str] = ()) -> GraphModule:
    """torch.fx GraphModule of `model`, with the submodules named in `leaves` (dotted paths)
    kept whole; a model fx cannot trace raises UnsupportedOpError naming why."""
    leaves = frozenset(leaves)
    try:
        if not leaves:
            return symbolic_trace(model)
        return GraphModule(model, _LeafTracer(leaves).trace(model), type(model).__name__)
    except Exception as e:  # fx raises many types for data-dependent control flow
        raise UnsupportedOpError(f"torch.fx cannot trace {type(model).__name__}: {e}; the model must not have "
                                 "data-dependent Python control flow.") from None


def trace(model: tnn.Module, example: torch.Tensor) -> LayerGraph:
    """Layer graph of `model` for inputs shaped like `example` (B, C, H, W); BN folded."""
    if not isinstance(example, torch.Tensor) or example.ndim < 2 or example.is_complex():
        raise InvalidInputError(f"trace needs an example input tensor shaped (batch, ...), not "
                                f"{_describe(example)}; e.g. torch.zeros(1, 1, 28, 28).")
    check_input_shape(tuple(example.shape[1:]))
    model = model.eval()
    if not list(model.children()):  # a bare layer traces as F.* calls on get_attr parameters
        model = tnn.Sequential(model)
    gm = fx_graph(model)
    with torch.no_grad():
        try:  # a plain forward first: ShapeProp prints a traceback of its own before raising
            gm(example.float())
        except (RuntimeError, ValueError, IndexError, TypeError) as e:
            raise InvalidInputError(f"{type(model).__name__} cannot run on inputs shaped "
                                    f"{tuple(example.shape[1:])} per sample ({str(e).splitlines()[0][:160]}); "
                                    "give inputs of the shape it was built for.") from None
        ShapeProp(gm).propagate(example.float())
    nodes = list(gm.graph.nodes)
    modules = dict(gm.named_modules())
    layers: list[Layer] = []
    output = ""
    for i, node in enumerate(nodes):
        meta = node.meta.get("tensor_meta")
        shape = tuple(meta.shape[1:]) if hasattr(meta, "shape") else ()
        ins = [a.name for a in _tensor_inputs(node)]
        if node.op == "placeholder":
            layers.append(Layer(node.name, "input", [], {}, shape))
            continue
        if node.op == "output":
            output = ins[0]
            continue
        if node.op == "call_method" and node.target == "size" or meta is None:
            continue  # shape queries feed view(); they are not tensors
        if node.op == "call_module":
            op, attrs = _module_op(modules[node.target], node, i, len(nodes))
        elif node.op == "call_function":
            op, attrs = _function_op(node, shape, i, len(nodes))
        elif node.op == "call_method":
            in_shape = layers[[l.name for l in layers].index(ins[0])].shape if ins else ()
            op, attrs = _method_op(node, shape, in_shape, i, len(nodes))
        else:
            raise _unsupported(f"{node.op} {node.target}", node, i, len(nodes))
        layers.append(Layer(node.name, op, ins, attrs, shape))
    graph = LayerGraph(layers, output, tuple(example.shape[1:]))
    _check_finite(graph)
    return fold_batchnorm(graph)


def _describe(x: object) -> str:
    """What a wrong `example` was, in a few words (a tensor by its shape, anything else by its type)."""
    if isinstance(x, torch.Tensor):
        return f"a {x.dtype} tensor of shape {tuple(x.shape)}"
    return f"a {type(x).__name__}"


def _check_finite(graph: LayerGraph) -> None:
    """Weights, biases and BN parameters must be finite: an inf or NaN has no stream."""
    for layer in graph.layers:
        for key, value in layer.attrs.items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f" and not np.isfinite(value).all():
                raise InvalidInputError(f"layer '{layer.name}' has non-finite {key} values (inf or NaN); "
                                        "an SC accelerator cannot encode them, so fix the model's weights.")


def fold_batchnorm(graph: LayerGraph) -> LayerGraph:
    """Fold each affine (BN) node into the conv/linear before it when that layer feeds only it."""
    rename: dict[str, str] = {}
    keep: list[Layer] = []
    for layer in graph.layers:
        layer.inputs = [rename.get(n, n) for n in layer.inputs]
        prev = graph.by_name.get(layer.inputs[0]) if layer.inputs else None
        if (layer.op == "affine" and prev is not None and prev.op in ("conv", "linear")
                and len(graph.users(prev.name)) == 1):
            s, t = layer.attrs["scale"], layer.attrs["shift"]
            w = prev.attrs["weight"]
            prev.attrs["weight"] = w * s.reshape((-1,) + (1,) * (w.ndim - 1))
            prev.attrs["bias"] = prev.attrs["bias"] * s + t
            prev.attrs["folded_bn"] = layer.name
            rename[layer.name] = prev.name
            continue
        keep.append(layer)
    return LayerGraph(keep, rename.get(graph.output, graph.output), graph.input_shape)
