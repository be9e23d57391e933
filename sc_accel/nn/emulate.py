"""convert() a torch model into an SCModel and emulate() it on the SC accelerator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch

from sc_accel.errors import InvalidInputError, is_int
from sc_accel.nn.backends import BitBackend, ExpectedBackend, FixedPointBackend
from sc_accel.nn.config import SCConfig
from sc_accel.graph import Layer, LayerGraph, trace
from sc_accel.nn.memory import USABLE_FRACTION, MemoryLimitError, available_bytes, fit_batch, reuse_freed_memory
from sc_accel.nn.ops import moment_op
from sc_accel.nn.plan import Plan, make_plan, node_stats
from sc_accel.nn.run import float_forward, run_graph
from sc_accel.streams.bank import build_bank, encode_thresholds, role_generator_ids
from sc_accel.bits import stream_counts

__all__ = ["SCModel", "convert", "emulate", "fixed_point", "variance_factor", "LayerError"]


@dataclass
class LayerError:
    """Running sums for the relative RMS error of one MAC layer against float activations."""

    sq_err: float = 0.0
    sq_ref: float = 0.0
    n: int = 0

    @property
    def relative_rmse(self) -> float:
        """sqrt(sum (y - y_float)^2 / sum y_float^2)."""
        return float(np.sqrt(self.sq_err / self.sq_ref)) if self.sq_ref > 0 else 0.0


def _as_tensor(x: object) -> torch.Tensor:
    """A torch tensor of `x`: numpy arrays and nested lists of real numbers become float64."""
    if isinstance(x, torch.Tensor):
        return x
    try:
        a = np.asarray(x)
    except (ValueError, TypeError):  # ragged nesting
        raise InvalidInputError(f"inputs must be a (batch, ...) array of real numbers, not a ragged "
                                f"{type(x).__name__}.") from None
    if a.dtype.kind not in "biuf":
        raise InvalidInputError(f"inputs must be real numbers, not an array of dtype {a.dtype}.")
    if a.dtype == np.uint8:
        raise InvalidInputError(_UINT8)
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


_UINT8 = ("inputs of dtype uint8 look like raw 0-255 pixels, which would be taken as values up to 255; scale "
          "them to [0, 1] floats first (x / 255).")


def _check_input(x: object, graph: LayerGraph | None = None) -> torch.Tensor:
    """Inputs as a detached float64 CPU tensor (batch, ...), checked: real, finite, not uint8 pixels,
    at least one sample, and of the graph's sample shape when a graph is given."""
    x = _as_tensor(x)
    if x.dtype == torch.uint8:
        raise InvalidInputError(_UINT8)
    if x.is_complex():
        raise InvalidInputError("inputs must be real numbers, not a complex tensor.")
    if x.ndim < 2 or x.shape[0] == 0 or not torch.isfinite(x).all():
        raise InvalidInputError(f"inputs must be a finite (batch, ...) tensor with at least one sample; got shape "
                                f"{tuple(x.shape)}.")
    if graph is not None and tuple(x.shape[1:]) != graph.input_shape:
        raise InvalidInputError(f"inputs have shape {tuple(x.shape[1:])} per sample but the model was "
                                f"converted for {graph.input_shape}.")
    return x.detach().to("cpu", torch.float64)


def variance_factor(cfg: SCConfig, n_pairs: int = 4096) -> float:
    """Measured Var(gate count) / (L p (1 - p)) for the config's activation and weight SNGs and
    its multiplier (AND, or XNOR when bipolar)
    (on fewer pairs at long streams, so the measurement stays within 256 MiB)."""
    w, L = cfg.comparator_width, cfg.stream_length
    per_pair = 2 * 8 * (L + (w + 1) * ((L + 63) // 64))  # sequences, planes and streams of both operands
    n_pairs = int(max(16, min(n_pairs, (256 << 20) // per_pair)))
    if n_pairs * per_pair > USABLE_FRACTION * available_bytes():
        raise MemoryLimitError(f"measuring the stream variance at L={L} needs {n_pairs * per_pair / 2**30:.1f} GiB, "
                               "more than this machine has free; use a shorter stream.")
    rng = np.random.default_rng(cfg.seed)
    ta, tw = rng.integers(0, (1 << w) + 1, n_pairs), rng.integers(0, (1 << w) + 1, n_pairs)
    streams = []
    for sng, role, t in ((cfg.sng, 0, ta), (cfg.weight_sng, 1, tw)):
        ids = role_generator_ids(sng, w, cfg.seed, role, n_pairs)
        bank, src = build_bank(sng, L, w, cfg.seed, ids, np.zeros(n_pairs, dtype=np.int64))
        streams.append(encode_thresholds(t, src, bank))
    pa, pb = ta / float(1 << w), tw / float(1 << w)
    if cfg.encoding == "bipolar":  # XNOR: ones where both streams agree
        p = pa * pb + (1 - pa) * (1 - pb)
        c = L - stream_counts(streams[0] ^ streams[1], L)
    else:
        p = pa * pb
        c = stream_counts(streams[0] & streams[1], L)
    denom = float(np.sum(L * p * (1 - p)))
    return float(np.sum((c - L * p) ** 2) / denom) if denom > 0 else 1.0


@dataclass
class SCModel:
    """A model converted for one SCConfig: call it on inputs to get logits (torch float64)."""

    graph: LayerGraph
    config: SCConfig
    plan: Plan
    backend: object = field(repr=False)

    def batches(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        """x split into the config's batch size."""
        for i in range(0, x.shape[0], self.config.batch_size):
            yield x[i:i + self.config.batch_size]

    def forward_batch(self, x: torch.Tensor, errors: dict[str, LayerError] | None = None) -> torch.Tensor:
        """Logits of one batch; with `errors`, accumulate per-layer error against float."""
        return self._forward(_check_input(x, self.graph), errors)

    def _forward(self, x: torch.Tensor, errors: dict[str, LayerError] | None = None,
                 observe: Callable[[Layer, object], None] | None = None) -> torch.Tensor:
        """forward_batch on an already checked float64 batch; `observe(layer, value)` sees every
        layer's value."""
        ref: dict[str, torch.Tensor] = {}
        if errors is not None:
            float_forward(self.graph, x, record=lambda l, v: ref.__setitem__(l.name, v))
        outs: dict[str, torch.Tensor] = {}

        def record(layer: Layer, value: object) -> None:
            if errors is not None and layer.op in ("conv", "linear"):
                outs[layer.name] = value[0] if isinstance(value, tuple) else value
            if observe is not None:
                observe(layer, value)

        if self.config.mode == "bit":
            self.backend.reset()
            y = run_graph(self.graph, x, self.backend, record=record, skip=self.backend.dead)
        else:
            y = run_graph(self.graph, (x, torch.zeros_like(x)), self.backend, other=moment_op, record=record)[0]
        for name, value in outs.items():  # numpy's sums: the same at any thread count (torch's are not)
            e = errors.setdefault(name, LayerError())
            e.sq_err += float(np.sum(((value - ref[name]) ** 2).numpy()))
            e.sq_ref += float(np.sum((ref[name] ** 2).numpy()))
            e.n += value.numel()
        return y

    def moments(self, x: object) -> tuple[torch.Tensor, torch.Tensor]:
        """Expected mode only: (mean, variance) of the logits, per batch, concatenated; the
        variance is what a search needs to turn stream noise into an accuracy estimate."""
        if self.config.mode != "expected":
            raise InvalidInputError("moments() needs an SCConfig with mode='expected'.")
        x = _check_input(x, self.graph)
        parts = [run_graph(self.graph, (b, torch.zeros_like(b)), self.backend, other=moment_op)
                 for b in self.batches(x)]
        return torch.cat([m for m, _ in parts]), torch.cat([v for _, v in parts])

    def __call__(self, x: object, errors: dict[str, LayerError] | None = None) -> torch.Tensor:
        x = _check_input(x, self.graph)  # checked once, not again per batch
        return torch.cat([self._forward(b, errors) for b in self.batches(x)])


def _as_graph(model: object, example: torch.Tensor) -> LayerGraph:
    if isinstance(model, LayerGraph):
        return model
    if isinstance(model, torch.nn.Module):
        return trace(model, example[:2].float())
    raise InvalidInputError(f"model must be a torch.nn.Module or a LayerGraph, not {type(model).__name__}.")


def convert(model: object, config: SCConfig, calib: object) -> SCModel:
    """Trace, fold BN, calibrate the conversion scales on `calib` inputs, build SNG banks."""
    if not isinstance(config, SCConfig):
        raise InvalidInputError(f"config must be an SCConfig, not {type(config).__name__}.")
    calib = _check_input(calib)
    graph = _as_graph(model, calib)
    stats = node_stats(graph, calib, config.calib_percentile)
    plan = make_plan(graph, config, stats)
    config.check_layers(plan.macs)
    if config.mode == "bit":
        batch = fit_batch(graph, plan, config)  # refuses what cannot fit, before any allocation
        if batch < config.batch_size:
            config = config.replace(batch_size=int(batch))  # same bits, smaller batches
        reuse_freed_memory()  # batches reuse pages instead of faulting in fresh ones
        backend = BitBackend(graph, plan, config)
    else:
        backend = ExpectedBackend(graph, plan, config, _layer_factors(config, plan))
    return SCModel(graph, config, plan, backend)


def check_fits(model: object, config: SCConfig, calib: object) -> None:
    """Refuse with MemoryLimitError, before anything is built, a bit-true `config` that cannot fit
    in memory on `model` (a module or a traced LayerGraph); the figures depend on shapes only, so
    two calibration images do. An expected-mode config always fits; per-layer overrides that
    name layers the model does not have are refused in any mode."""
    if not isinstance(config, SCConfig):
        raise InvalidInputError(f"config must be an SCConfig, not {type(config).__name__}.")
    calib = _check_input(calib)
    graph = _as_graph(model, calib)
    plan = make_plan(graph, config, node_stats(graph, calib, config.calib_percentile))
    config.check_layers(plan.macs)  # per-layer overrides must name the model's layers
    if config.mode == "bit":
        fit_batch(graph, plan, config)


def fixed_point(model: object, calib: object, bits: int = 8, upscale: bool = True, encoding: str = "unipolar",
                layer_bits: dict[str, int | tuple[int, int]] | None = None) -> SCModel:
    """The binary fixed-point twin at `bits` bits (same scales and quantisation rules; the
    bipolar grid of 2 / 2^bits when `encoding` is "bipolar"); `layer_bits` gives some MAC
    layers their own bits, one number for both operands or an (activation, weight) pair."""
    if not is_int(bits) or not 1 <= bits <= 16:
        raise InvalidInputError(f"fixed_point bits={bits!r} is not supported; give a whole number of bits from 1 "
                                "to 16.")
    calib = _check_input(calib)
    graph = _as_graph(model, calib)
    if layer_bits is not None and not isinstance(layer_bits, dict):
        raise InvalidInputError(f"layer_bits must map layer names to bits, not a {type(layer_bits).__name__}.")
    pairs = {n: _bit_pair(n, b) for n, b in (layer_bits or {}).items()}
    # the twin makes no streams: a counter SNG kind only lets the config hold widths below 3 bits
    bits = int(bits)
    cfg = SCConfig(stream_length=1 << bits, width=bits, upscale=upscale, maxpool="binary", mode="expected",
                   encoding=encoding, sng="counter",
                   layers={n: {"stream_length": 1 << w, "width": w} for n, (_, w) in pairs.items()})
    plan = make_plan(graph, cfg, node_stats(graph, calib, cfg.calib_percentile))
    cfg.check_layers(plan.macs)
    backend = FixedPointBackend(graph, plan, bits, encoding, {n: w for n, (_, w) in pairs.items()},
                                {n: a for n, (a, _) in pairs.items()})
    return _FixedModel(graph, cfg, plan, backend)


def _bit_pair(name: str, bits: object) -> tuple[int, int]:
    """(activation, weight) bits of one layer from an int or a pair, checked."""
    pair = tuple(bits) if isinstance(bits, (tuple, list)) else (bits, bits)
    if len(pair) != 2 or any(isinstance(b, bool) or not isinstance(b, (int, np.integer)) or not 1 <= b <= 16
                             for b in pair):
        raise InvalidInputError(f"layer_bits[{name!r}]={bits!r} must be bits from 1 to 16 or an (activation, "
                                "weight) pair of them.")
    return int(pair[0]), int(pair[1])


_FACTORS: dict[tuple, float] = {}  # variance_factor by the fields it reads (a search converts many configs)


def _layer_factors(config: SCConfig, plan: Plan) -> dict[str, float]:
    """variance_factor per MAC layer, measured once per distinct generator setting and (L, width)."""
    out = {}
    for name in plan.macs:
        c = config.for_layer(name)
        key = (c.sng, c.weight_sng, c.seed, c.encoding, c.stream_length, c.comparator_width)
        if key not in _FACTORS:
            _FACTORS[key] = variance_factor(c)
        out[name] = _FACTORS[key]
    return out


class _FixedModel(SCModel):
    def _forward(self, x: torch.Tensor, errors: dict[str, LayerError] | None = None,
                 observe: Callable | None = None) -> torch.Tensor:
        return run_graph(self.graph, x, self.backend)


def emulate(model: object, x: object, config: SCConfig, calib: object | None = None) -> torch.Tensor:
    """Logits of `model` on inputs x run on the emulated SC accelerator described by `config`.

    `calib` (default: x itself) sets each conversion's scale; pass training images to keep
    test data out of the calibration.
    """
    x = _check_input(x)
    return convert(model, config, x if calib is None else calib)(x)
