"""SC-aware training: a differentiable stand-in for a model's SC execution under one SCConfig.

`SCSurrogate(model, config, calib)` runs the model's own parameters through the conversion
the emulator uses (`trace`, `make_plan`: same BN folding, power-of-two scales, signed
conversions and stream-domain pooling), so what it trains is what `convert` will build:

- activations: x / s clipped to [0, 1] ([-1, 1] when the conversion is signed) and
  rounded to the comparator's grid 2^-w (the SNG comparator, which is also the stochastic
  ReLU's clip);
- weights: BN folded in, |w| / s_w rounded to 2^-w with the sign kept (sign-magnitude),
  s_w the power of two the converter picks from the current weights;
- max pools the plan moves into the stream domain: OR over streams of one shared source
  is the stream of the largest threshold (the emulator's fused OR), so the max of the
  quantised values; OR over independent streams (overlapping windows) has the expected
  value 1 - prod(1 - p); the selector is taken as the max;
- stream noise (mode "moments"): each MAC output gets Gaussian noise whose variance is the
  expected backend's, factor * (s s_w)^2 / L * sum_k p_k (1 - p_k) (ExpectedBackend), with
  `factor` the generators' measured variance factor times a per-layer scale fitted to
  bit-true runs (`calibrate_noise`), as the Evolver fits its proxy. The noise is sampled
  (noise injection), so upstream errors travel through the network as they do on the
  hardware, and the variance is computed without gradient (the noise is an input);
- mode "bit": every MAC's value is the bit-true backend's on the same inputs, and the
  gradient is the surrogate's (straight-through), so a final fine-tune can be exact.

Gradients pass straight through the roundings (the straight-through estimator of
Bengio et al. 2013, arXiv:1308.3432); the clips keep their own gradient (0 where a value
is clipped, as a clipped ReLU has). Noise injection during training to make a network
robust to its analog or stochastic hardware's errors follows e.g. Joshi et al., Nature
Communications 11, 2473 (2020), and SC-in-the-loop training follows Li et al., "GEO:
Generation and Execution Optimized Stochastic Computing Accelerator for Neural Networks",
DATE 2021, which trains with the SC forward pass in PyTorch.
"""

from __future__ import annotations


import functools
import math

import numpy as np
import torch
import torch.nn as tnn
import torch.nn.functional as F

from sc_accel.errors import InvalidInputError
from sc_accel.graph import Layer, LayerGraph, UnsupportedOpError, fx_graph, trace
from sc_accel.nn.backends import BitBackend, dead_layers
from sc_accel.nn.config import SCConfig
from sc_accel.nn.emulate import _check_input, _layer_factors
from sc_accel.nn.ops import binary_op
from sc_accel.nn.plan import Conversion, Plan, make_plan, node_stats, pow2_scale
from sc_accel.nn.run import apply_mac, run_graph
from sc_accel.bits import stream_counts
from sc_accel.streams.bank import build_bank, encode_thresholds, role_generator_ids

__all__ = ["SCSurrogate", "SURROGATE_MODES", "ste_round"]

SURROGATE_MODES = ("moments", "bit")


def ste_round(x: torch.Tensor) -> torch.Tensor:
    """round(x) forward, identity backward (straight-through)."""
    return x + (torch.round(x) - x).detach()


NOISE_POOL = 1 << 22  # standard normal draws the injected noise is cut from
TRANSFER_SOURCES = 64  # generators averaged over in a transfer table
TRANSFER_MAX_LENGTH = 1024  # longer streams: the ideal grid (a count's deviation is under 1/L there)


@functools.cache
def transfer_table(sng: str, length: int, width: int, seed: int, role: int) -> torch.Tensor:
    """Mean ones fraction of an L-bit stream at every comparator threshold T = 0 .. 2^w, over
    TRANSFER_SOURCES generators of the kind and role (float64). It is T / 2^w for an ideal
    generator; an LFSR's differs by up to a count (its period is 2^w - 1, not L), and the
    surrogate maps values through the table so it trains against the generator's real
    transfer, not the ideal one."""
    t = np.arange((1 << width) + 1, dtype=np.int64)
    ids = role_generator_ids(sng, width, seed, role, TRANSFER_SOURCES)
    bank, src = build_bank(sng, length, width, seed, ids, np.zeros(TRANSFER_SOURCES, dtype=np.int64))
    thr = np.repeat(t, TRANSFER_SOURCES)
    counts = stream_counts(encode_thresholds(thr, np.tile(src, t.size), bank), length)
    return torch.as_tensor(counts.reshape(t.size, TRANSFER_SOURCES).mean(1) / length)


def _module_targets(net: tnn.Module) -> dict[str, str]:
    """fx node name -> submodule path of every call_module node (the names `trace` gives layers)."""
    return {n.name: str(n.target) for n in fx_graph(net).graph.nodes if n.op == "call_module"}


class SCSurrogate(tnn.Module):
    """The model's SC execution under `config`, differentiable in the model's parameters.

    The model is held in eval mode (BN uses its running statistics, which is what the
    converter folds); its conv/linear weights and BN affine parameters are what training
    changes. `recalibrate(calib)` re-derives the activation scales from the current weights
    (call it once per epoch), `calibrate_noise(x)` fits each layer's noise scale to
    bit-true runs.
    """

    def __init__(self, model: tnn.Module, config: SCConfig, calib: object, mode: str = "moments",
                 seed: int = 0, transfer: bool = True) -> None:
        super().__init__()
        if not isinstance(config, SCConfig):
            raise InvalidInputError(f"config must be an SCConfig, not {type(config).__name__}.")
        if mode not in SURROGATE_MODES:
            raise InvalidInputError(f"SC-aware training mode {mode!r} is not one of {', '.join(SURROGATE_MODES)}.")
        if not isinstance(model, tnn.Module):
            raise InvalidInputError(f"model must be a torch.nn.Module, not {type(model).__name__}.")
        self.net = model if list(model.children()) else tnn.Sequential(model)
        self.config = config.replace(mode="bit")
        self.mode, self.seed, self.transfer = mode, int(seed), bool(transfer)
        self.bipolar = config.encoding == "bipolar"
        self.modules_by_layer = _module_targets(self.net)
        self.noise_scale: dict[str, float] = {}
        self.generator = torch.Generator().manual_seed(self.seed)
        self._pool: torch.Tensor | None = None
        self.recalibrate(calib)

    # --- the plan: scales from calibration, as convert() derives them -------------------
    def recalibrate(self, calib: object) -> None:
        """Trace the current model and derive every conversion's scale from `calib` inputs."""
        calib = _check_input(calib)
        self.net.eval()
        self.graph: LayerGraph = trace(self.net, calib[:2].float())
        self.plan: Plan = make_plan(self.graph, self.config, node_stats(self.graph, calib,
                                                                         self.config.calib_percentile))
        self.config.check_layers(self.plan.macs)
        for layer in self.graph.layers:
            if layer.op in ("conv", "linear", "affine") and layer.name not in self.modules_by_layer:
                raise UnsupportedOpError(f"layer '{layer.name}' is a function call, not a module; SC-aware "
                                         "training needs convolutions, linear layers and BatchNorm as nn modules.")
        self.dead = dead_layers(self.graph, self.plan)
        self.factor = _layer_factors(self.config, self.plan)
        for name in self.plan.macs:
            self.noise_scale.setdefault(name, 1.0)
        self._bit = None

    def _module(self, layer_name: str) -> tnn.Module:
        return self.net.get_submodule(self.modules_by_layer[layer_name])

    # --- weights as the converter sees them, differentiable ------------------------------
    def folded(self, layer: Layer, dtype: torch.dtype | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight, bias) of a MAC layer with its BN folded in, from the live parameters (in
        `dtype` before folding when given: float64 folds as trace() does)."""
        m = self._module(layer.name)
        w = m.weight if dtype is None else m.weight.to(dtype)
        if layer.op == "conv" and tuple(m.dilation) != (1, 1):  # the dense kernel trace() spreads it into
            w = _spread(w, *m.dilation)
        b = m.bias.to(w.dtype) if m.bias is not None else w.new_zeros(w.shape[0])
        bn_name = layer.attrs.get("folded_bn")
        if bn_name is not None:
            scale, shift = (t.to(w.dtype) for t in self._bn(bn_name, w.dtype))
            w = w * scale.reshape((-1,) + (1,) * (w.ndim - 1))
            b = b * scale + shift
        return w, b

    def _bn(self, name: str, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        """(scale, shift) of an eval-mode BN module, differentiable in its affine parameters."""
        bn = self._module(name)
        scale = 1.0 / torch.sqrt(bn.running_var.to(dtype) + bn.eps)
        shift = -bn.running_mean.to(dtype) * scale
        if bn.affine:
            scale, shift = scale * bn.weight.to(dtype), shift * bn.weight.to(dtype) + bn.bias.to(dtype)
        return scale, shift

    # --- quantisers -------------------------------------------------------------------
    def _grid(self, v: torch.Tensor, lo: float, layer: str, role: int) -> torch.Tensor:
        """v clipped to [lo, 1] on the comparator grid (unipolar 2^-w; bipolar 2 / 2^w); unipolar
        values then go through the generators' transfer table when `transfer` is on (the
        table's value forward, the grid's gradient)."""
        c = self.config.for_layer(layer)
        q = float(1 << c.comparator_width)
        if self.bipolar:
            return 2.0 * ste_round((v.clamp(lo, 1.0) + 1.0) * (q / 2)) / q - 1.0
        t = ste_round(v.clamp(lo, 1.0) * q)
        sng = c.sng if role == 0 else c.weight_sng
        if not self.transfer or sng == "bernoulli" or c.stream_length > TRANSFER_MAX_LENGTH:
            return t / q  # a random generator's transfer is T / 2^w exactly; a long stream's nearly
        table = transfer_table(sng, c.stream_length, c.comparator_width, c.seed, role).to(v.dtype)
        mag = table[t.detach().abs().long()] * torch.sign(t.detach())
        return t / q + (mag - t / q).detach()

    def quantised_weight(self, layer: Layer, w: torch.Tensor) -> tuple[torch.Tensor, float]:
        """(weights on the comparator grid in [-1, 1], the power-of-two scale s_w)."""
        s_w = pow2_scale(float(w.detach().abs().max()), self.config.upscale)
        if self.bipolar:
            return self._grid(w / s_w, -1.0, layer.name, 1), s_w
        return torch.sign(w).detach() * self._grid(w.abs() / s_w, 0.0, layer.name, 1), s_w

    def converted(self, layer: Layer, env: dict) -> tuple[torch.Tensor, Conversion]:
        """The MAC's input as the SNG comparators see it: scaled, clipped, quantised, pooled in
        the stream domain where the plan pools there, shaped as the layer's input."""
        conv = self.plan.conversions[self.plan.macs[layer.name].conversion]
        xq = self._grid(env[conv.tensor] / conv.scale, -1.0 if conv.signed else 0.0, layer.name, 0)
        if conv.pool is not None:
            xq = self._stream_pool(xq, conv).reshape((xq.shape[0],) + tuple(self.graph.by_name[layer.inputs[0]].shape))
        return xq, conv

    def _stream_pool(self, xq: torch.Tensor, conv: Conversion) -> torch.Tensor:
        k, s = conv.pool
        if self.config.maxpool == "or" and k != s:  # overlapping windows: independent sources
            log_miss = F.avg_pool2d(torch.log1p(-xq.clamp(max=1.0 - 1e-6)), k, s) * (k * k)
            return 1.0 - torch.exp(log_miss)
        return F.max_pool2d(xq, k, s)

    # --- the forward ------------------------------------------------------------------
    def mac_moments(self, layer: Layer, env: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, stream-noise variance) of a MAC layer's output on the values in `env`; the
        variance is computed without gradient and includes the layer's noise scale."""
        xq, conv = self.converted(layer, env)
        w, b = self.folded(layer, xq.dtype)
        wq, s_w = self.quantised_weight(layer, w.to(xq.dtype))
        gain = conv.scale * s_w
        mean = apply_mac(layer, xq, wq) * gain + b.to(xq.dtype).reshape((1, -1) + (1,) * (xq.ndim - 2))
        with torch.no_grad():
            if self.bipolar:
                p_var = apply_mac(layer, torch.ones_like(xq), torch.ones_like(wq)) - apply_mac(layer, xq * xq, wq * wq)
            else:
                p_var = apply_mac(layer, xq.abs(), wq.abs()) - apply_mac(layer, xq * xq, wq * wq)
            L = self.config.for_layer(layer.name).stream_length
            k = self.factor[layer.name] * self.noise_scale[layer.name]
            var = p_var.clamp_min(0.0) * (k * gain * gain / L)
        return mean, var

    def forward(self, x: torch.Tensor, noise: bool = True) -> torch.Tensor:
        """Logits: noisy surrogate (mode "moments"; noise=False gives the expected values),
        or bit-true values with the surrogate's gradient (mode "bit", run in float64)."""
        if self.mode == "bit":
            return self._bit_forward(x.double())
        self._bit = None  # weights change between calls: a bit backend is remade when asked

        def mac(layer: Layer, env: dict) -> torch.Tensor:
            mean, var = self.mac_moments(layer, env)
            if not noise:
                return mean
            return mean + self._normal(mean.shape, mean.dtype) * var.sqrt()

        return run_graph(self.graph, x, mac, other=self._other, skip=self.dead)

    def _normal(self, shape: torch.Size, dtype: torch.dtype) -> torch.Tensor:
        """Standard normal noise of `shape`: a window of a pool of NOISE_POOL draws at an offset drawn
        from the surrogate's generator (drawing fresh normals each step cost a sixth of a step)."""
        n = math.prod(shape)
        if self._pool is None or self._pool.numel() < 2 * n:
            self._pool = torch.randn(max(NOISE_POOL, 2 * n), generator=self.generator)
        start = int(torch.randint(0, self._pool.numel() - n + 1, (1,), generator=self.generator))
        return self._pool[start:start + n].reshape(shape).to(dtype)

    def reseed(self, seed: int) -> None:
        """Restart the noise from `seed` (an epoch does, so a resumed run draws the same noise)."""
        self.generator.manual_seed(seed)
        self._pool = None

    def _other(self, layer: Layer, xs: list) -> torch.Tensor:
        """A non-MAC layer; a standalone BN from its live parameters."""
        if layer.op == "affine":
            scale, shift = self._bn(layer.name, xs[0].dtype)
            shape = (1, -1) + (1,) * (xs[0].ndim - 2)
            return xs[0] * scale.to(xs[0].dtype).reshape(shape) + shift.to(xs[0].dtype).reshape(shape)
        return binary_op(layer, xs)

    def _bit_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mode "bit": a bit-true pass (the emulator's own backend and ops, in float64) beside the
        surrogate; each MAC returns the bit-true value with the surrogate mean's gradient."""
        bit = self._bit_backend()
        bit.reset()
        benv: dict = {}

        def mac(layer: Layer, env: dict) -> torch.Tensor:
            mean, _ = self.mac_moments(layer, env)
            benv[layer.name] = y = bit(layer, benv)
            return mean + (y.to(mean.dtype) - mean).detach()

        def record(layer: Layer, value: torch.Tensor) -> None:
            if layer.op == "input":
                benv[layer.name] = value.detach()
            elif layer.op not in ("conv", "linear"):
                with torch.no_grad():
                    benv[layer.name] = self._other(layer, [benv[i] for i in layer.inputs])

        return run_graph(self.graph, x, mac, other=self._other, record=record, skip=self.dead)

    def _bit_backend(self) -> BitBackend:
        """The bit-true backend on the current weights (weight streams remade each step)."""
        self._sync_graph()
        if self._bit is None:  # its SNG banks depend on the plan only: made once per recalibration
            self._bit = BitBackend(self.graph, self.plan, self.config)
        else:
            self._bit.weights = {n: self._bit._weight_streams(self.graph.by_name[n]) for n in self.plan.macs}
        return self._bit

    def _sync_graph(self) -> None:
        """Write the live folded weights (and their scales) into the traced graph the bit backend reads."""
        with torch.no_grad():
            for name, mp in self.plan.macs.items():
                layer = self.graph.by_name[name]
                w, b = self.folded(layer, torch.float64)
                layer.attrs["weight"] = w.numpy().copy()
                layer.attrs["bias"] = b.numpy().copy()
                self.plan.macs[name] = type(mp)(mp.layer, mp.conversion,
                                                pow2_scale(float(w.abs().max()), self.config.upscale), mp.index)
            for layer in self.graph.layers:
                if layer.op == "affine":
                    scale, shift = self._bn(layer.name, torch.float64)
                    layer.attrs["scale"], layer.attrs["shift"] = scale.numpy().copy(), shift.numpy().copy()

    # --- noise calibration against bit-true runs --------------------------------------
    def calibrate_noise(self, x: object, y: object, batch: int = 64, steps: int = 10) -> dict[str, float]:
        """Fit each MAC layer's noise scale to bit-true runs on labelled inputs (x, y), in two steps.

        1. Shape: each layer's own error, bit-true output minus the surrogate's mean on the same
           bit-true inputs, gives the ratio of its summed square to the summed predicted variance.
        2. Level: those ratios times one factor a, bisected (log2 a in [-8, 8]) until the noisy
           surrogate's cross-entropy on x equals the bit-true network's, as the Evolver bisects
           its proxy's noise scale until the proxy's accuracy equals the bit-true one. The raw
           ratios alone overstate the harm: part of a short stream's error is a fixed
           distortion of each threshold (an LFSR's period is 2^w - 1, not L), which is the
           same on every image and which a network tolerates better than noise.
        """
        x = _check_input(x, self.graph)
        y = torch.as_tensor(np.asarray(y), dtype=torch.long)
        if y.shape != (x.shape[0],):
            raise InvalidInputError(f"calibrate_noise needs one label per input; got {tuple(y.shape)} labels for "
                                    f"{x.shape[0]} inputs.")
        ratio, bit_loss = self._error_ratios(x, y, batch)
        self.noise_scale = dict(ratio)

        x32 = x.float()

        def noisy_loss(log2a: float) -> float:
            self.noise_scale = {n: r * 2.0 ** log2a for n, r in ratio.items()}
            state, pool = self.generator.get_state(), self._pool
            self.reseed(self.seed)  # the same noise at every step of the bisection
            with torch.no_grad():
                loss = float(F.cross_entropy(self(x32).float(), y, reduction="sum")) / x.shape[0]
            self.generator.set_state(state)
            self._pool = pool
            return loss

        lo, hi = -8.0, 8.0
        for _ in range(steps):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if noisy_loss(mid) < bit_loss else (lo, mid)
        self.noise_scale = {n: r * 2.0 ** ((lo + hi) / 2) for n, r in ratio.items()}
        return dict(self.noise_scale)

    def _error_ratios(self, x: torch.Tensor, y: torch.Tensor, batch: int) -> tuple[dict[str, float], float]:
        """(per MAC layer: summed squared own error / summed predicted variance, bit-true mean
        cross-entropy) on x, from a bit-true run of the current weights."""
        self._sync_graph()
        bit = BitBackend(self.graph, self.plan, self.config)
        sq = {n: 0.0 for n in self.plan.macs}
        pred = {n: 0.0 for n in self.plan.macs}
        self.noise_scale = {n: 1.0 for n in self.plan.macs}
        loss = 0.0
        with torch.no_grad():
            for i in range(0, x.shape[0], batch):
                env: dict = {}
                bit.reset()
                out = run_graph(self.graph, x[i:i + batch], bit, record=lambda l, v: env.__setitem__(l.name, v),
                                skip=bit.dead)
                loss += float(F.cross_entropy(out, y[i:i + batch], reduction="sum"))
                # the converted tensors in float32 (its convolutions run six times faster)
                env32 = {c.tensor: env[c.tensor].float() for c in self.plan.conversions.values()}
                for name in self.plan.macs:
                    mean, var = self.mac_moments(self.graph.by_name[name], env32)
                    sq[name] += float(((env[name] - mean.double()) ** 2).sum())
                    pred[name] += float(var.sum())
        return {n: (sq[n] / pred[n] if pred[n] > 0 else 1.0) for n in self.plan.macs}, loss / x.shape[0]


def _spread(w: torch.Tensor, d0: int, d1: int) -> torch.Tensor:
    """A dilated kernel as the dense kernel it equals (zeros between taps), differentiably."""
    kh, kw = w.shape[2], w.shape[3]
    dense = w.new_zeros(w.shape[:2] + ((kh - 1) * d0 + 1, (kw - 1) * d1 + 1))
    rows, cols = torch.arange(kh) * d0, torch.arange(kw) * d1
    dense[:, :, rows[:, None], cols[None, :]] = w  # an in-place write into a fresh tensor keeps the gradient
    return dense
