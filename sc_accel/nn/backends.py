"""MAC-layer backends: fixed-point twin, bit-true SC, and the expected-value proxy.

Every backend realises the same arithmetic. For a layer with input scale s, weight
scale s_w and comparator width w:

    x_n = clip(x / s, 0, 1) quantised to T_x / 2^w   (the SNG comparator: also the stochastic ReLU)
    |w| / s_w quantised to T_w / 2^w, sign kept apart (sign-magnitude)
    count = C+ - C-   (two counters of AND-gate outputs over L cycles)
    y = bias + s * s_w * count / L                    (scales are powers of two: a shift)

The bit backend computes C+ - C- from packed streams; negative weights are stored as
complemented streams, since popcount(x & ~w) = popcount(x) - popcount(x & w), so a single
unsigned product pass plus a correction sum(popcount(x)) over negative taps gives the
same integer as the two counters.

With `encoding="bipolar"` a value v in [-1, 1] is one stream of P(1) = (v + 1) / 2 (T =
round((v + 1) / 2 * 2^w)), weights and signed activations alike, and the multiplier is an
XNOR gate: E[popcount(XNOR)] / L = (1 + x w) / 2. One counter per output counts the XNOR
ones C over the K valid (unpadded) taps, and y = bias + s * s_w * (2 C - K L) / L. The bit
backend gets C from the same AND + popcount kernels, since popcount(XNOR(x, w)) =
L - popcount(x) - popcount(w) + 2 popcount(x & w); padded taps are skipped, as hardware
that does not clock its counter on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sc_accel.kernels.conv import conv_counts, linear_counts
from sc_accel.kernels.fused import conv_counts_bank
from sc_accel.bits import stream_counts, tail_mask
from sc_accel.kernels.convert import comparator_levels, signed_counts_to_output
from sc_accel.kernels.pool import max_pool_thresholds, or_pool, selector_pool
from sc_accel.errors import InvalidInputError
from sc_accel.nn.config import SCConfig
from sc_accel.graph import Layer, LayerGraph
from sc_accel.nn.plan import Conversion, Plan
from sc_accel.nn.run import apply_mac
from sc_accel.streams.bank import SourceBank, build_bank, encode_thresholds, role_generator_ids
from sc_accel.streams.coding import encode
from sc_accel.streams.sharing import SharingMap

__all__ = ["FixedPointBackend", "BitBackend", "StreamPart", "dead_layers", "ExpectedBackend", "levels", "weight_levels"]

FLOAT32_EXACT = 1 << 24  # integers below this are exact in float32
ONE_PASS_OUTPUT = True  # an unsigned conversion's correction, scale and bias in one pass; False: torch's three
FUSED_CONV = True  # convs encode their input streams next to their tiles; False: from materialised streams


def levels(v: np.ndarray, width: int) -> np.ndarray:
    """Comparator thresholds T = round(clip(v, 0, 1) * 2^w), int64."""
    return np.rint(np.clip(v, 0.0, 1.0) * float(1 << width)).astype(np.int64)


def weight_levels(w: np.ndarray, w_scale: float, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(T_w magnitudes, negative mask) of a weight tensor under its power-of-two scale."""
    return levels(np.abs(w) / w_scale, width), w < 0


def bipolar_levels(v: np.ndarray, width: int, lo: float = -1.0) -> np.ndarray:
    """Bipolar comparator thresholds T = round((clip(v, lo, 1) + 1) / 2 * 2^w), int64; lo = 0
    for an unsigned conversion (the stochastic ReLU)."""
    return np.rint((np.clip(v, lo, 1.0) + 1.0) * float(1 << (width - 1))).astype(np.int64)


def _bias(layer: Layer, ndim: int) -> torch.Tensor:
    return torch.as_tensor(layer.attrs["bias"]).reshape((1, -1) + (1,) * (ndim - 2))


class FixedPointBackend:
    """Binary twin: exact products of the quantised operands (what E[count] / L would be)."""

    def __init__(self, graph: LayerGraph, plan: Plan, width: int, encoding: str = "unipolar",
                 widths: dict[str, int] | None = None, input_widths: dict[str, int] | None = None) -> None:
        self.graph, self.plan, self.width = graph, plan, int(width)
        self.widths = dict(widths or {})  # per-layer weight bits, overriding `width`
        self.input_widths = dict(input_widths or {})  # per-layer activation bits (default: the weight bits)
        self.bipolar = encoding == "bipolar"

    def width_of(self, layer: str) -> int:
        """Weight (comparator) bits of one MAC layer."""
        return int(self.widths.get(layer, self.width))

    def input_width_of(self, layer: str) -> int:
        """Activation bits of one MAC layer."""
        return int(self.input_widths.get(layer, self.width_of(layer)))

    def quantised(self, layer: Layer) -> tuple[torch.Tensor, float, float, float]:
        """(signed quantised weights in [-1, 1], s, s_w, 2^w) of a MAC layer."""
        mp = self.plan.macs[layer.name]
        conv = self.plan.conversions[mp.conversion]
        width = self.width_of(layer.name)
        q = float(1 << width)
        if self.bipolar:  # grid of 2 / 2^w over [-1, 1]
            return (torch.as_tensor(2.0 * bipolar_levels(layer.attrs["weight"] / mp.w_scale, width) / q - 1.0),
                    conv.scale, mp.w_scale, q)
        t, neg = weight_levels(layer.attrs["weight"], mp.w_scale, width)
        return torch.as_tensor(np.where(neg, -t, t) / q), conv.scale, mp.w_scale, q

    def quantised_input(self, layer: Layer, x: torch.Tensor, s: float) -> torch.Tensor:
        """x / s on the layer's activation grid (2^-bits), clipped to [-1, 1] ([0, 1] for an
        unsigned conversion)."""
        q = float(1 << self.input_width_of(layer.name))
        lo = -1.0 if self.plan.conversions[self.plan.macs[layer.name].conversion].signed else 0.0
        if self.bipolar:
            return 2.0 * torch.round(((x / s).clamp(lo, 1.0) + 1.0) * (q / 2)) / q - 1.0
        return torch.round((x / s).clamp(lo, 1.0) * q) / q

    def __call__(self, layer: Layer, env: dict) -> torch.Tensor:
        wq, s, s_w, _ = self.quantised(layer)
        xq = self.quantised_input(layer, env[layer.inputs[0]], s)
        y = apply_mac(layer, xq, wq) * (s * s_w)
        return y + _bias(layer, y.ndim)


def dead_layers(graph: LayerGraph, plan: Plan) -> frozenset[str]:
    """Non-MAC layers whose binary value nothing reads in bit mode: a max pool done on
    streams reads its input through the conversion, so the binary pool (and anything only
    it feeds) need not run. Found by walking back from the output through what MACs read."""
    needed = {graph.output}
    for layer in reversed(graph.layers):
        if layer.name not in needed:
            continue
        if layer.op in ("conv", "linear"):
            needed.add(plan.conversions[plan.macs[layer.name].conversion].tensor)
        else:
            needed.update(layer.inputs)
    return frozenset(l.name for l in graph.layers if l.name not in needed and l.op not in ("conv", "linear"))


def _conversion_configs(plan: Plan, layer_cfg: dict[str, SCConfig], cfg: SCConfig) -> dict[str, SCConfig]:
    """The config of each conversion: that of the MAC layers reading it, which must agree on
    L and width (one SNG bank feeds them all)."""
    out: dict[str, SCConfig] = {}
    readers: dict[str, str] = {}
    for name, mp in plan.macs.items():
        c, prev = layer_cfg[name], out.get(mp.conversion)
        if prev is not None and (prev.stream_length, prev.comparator_width) != (c.stream_length, c.comparator_width):
            raise InvalidInputError(f"layers {readers[mp.conversion]!r} and {name!r} read the same input streams, so "
                                    f"they must run at one stream length and width; give them the same overrides.")
        out.setdefault(mp.conversion, c)
        readers.setdefault(mp.conversion, name)
    for key in plan.conversions:
        out.setdefault(key, cfg.for_layer(None))
    return out


def _site_ids(conv: Conversion) -> np.ndarray:
    """Site of each element: elements of one stream-pooling window share a site."""
    n = int(np.prod(conv.shape))
    if conv.pool is None or len(conv.shape) != 3:
        return np.arange(n, dtype=np.int64)
    c, h, w = conv.shape
    k, s = conv.pool
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    ys = np.minimum(np.arange(h) // s, oh - 1)
    xs = np.minimum(np.arange(w) // s, ow - 1)
    site = (np.arange(c)[:, None, None] * oh * ow + ys[None, :, None] * ow + xs[None, None, :])
    return site.reshape(-1).astype(np.int64)


def _sources(sng: str, cfg: SCConfig, seed: int, role: int, n: int) -> SharingMap:
    """Generator ids (of this role's family) and wiring of n consumers under the config's
    sharing degree and decorrelation."""
    smap = SharingMap.shared(n, cfg.share, cfg.decorrelate)
    ids = role_generator_ids(sng, cfg.comparator_width, seed, role, smap.n_generators)
    return SharingMap(ids[smap.generator], smap.rotation, smap.mask)


def _in_visiting_order(bank: SourceBank, src: np.ndarray, shape: tuple) -> tuple[SourceBank, np.ndarray]:
    """The same bank with its sources renumbered in the order the conv kernels first visit them
    (pixel by pixel, channels innermost, for a (C, H, W) conversion): with one SNG per
    activation the planes are then read front to back, which the hardware prefetchers follow.
    Each element keeps its own source's planes, so the bits are unchanged."""
    visit = np.arange(src.size).reshape(shape).transpose(1, 2, 0).reshape(-1) if len(shape) == 3 else \
        np.arange(src.size)
    _, first = np.unique(src[visit], return_index=True)  # first visit of every source, by source id
    by_first = np.argsort(first, kind="stable")
    rank = np.empty_like(by_first)
    rank[by_first] = np.arange(by_first.size)
    return SourceBank(np.ascontiguousarray(bank.planes[by_first]), bank.width, bank.length), rank[src]


@dataclass(eq=False)
class StreamPart:
    """One signed part of a conversion on a batch: its thresholds against SNG sources, or
    streams already made (after pooling in the stream domain). `words()` encodes on demand
    and keeps the result, so consumers that encode next to their own tiles never make them."""

    sign: float
    bank: SourceBank
    thr: np.ndarray | None = None        # (B, ...) thresholds; None when `encoded` is given
    src: np.ndarray | None = None        # source of each element of one image
    encoded: np.ndarray | None = None    # (B, ..., W) streams, once made

    def popcounts(self) -> np.ndarray:
        """Ones in each stream (B, ...)."""
        words = self.words()
        return stream_counts(words, self.bank.length).reshape(words.shape[:-1])

    def words(self) -> np.ndarray:
        """The packed streams (B, ..., W)."""
        if self.encoded is None:
            w = encode_thresholds(self.thr.reshape(-1), self.src, self.bank)
            self.encoded = w.reshape(self.thr.shape + (w.shape[-1],))
        return self.encoded


class BitBackend:
    """Bit-true SC: every conversion is an SNG bank, every MAC an AND + counter pass."""

    def __init__(self, graph: LayerGraph, plan: Plan, cfg: SCConfig) -> None:
        self.graph, self.plan, self.cfg = graph, plan, cfg
        self.L, self.width = cfg.stream_length, cfg.comparator_width  # the default; layers may override
        self.layer_cfg = {name: cfg.for_layer(name) for name in plan.macs}  # per-layer L and width
        self.conv_cfg = _conversion_configs(plan, self.layer_cfg, cfg)
        self.bipolar = cfg.encoding == "bipolar"
        self.banks = {k: self._conversion_bank(c) for k, c in plan.conversions.items()}
        self.weights = {name: self._weight_streams(graph.by_name[name]) for name in plan.macs}
        self.cache: dict[str, list[StreamPart]] = {}
        self.dead = dead_layers(graph, plan)

    def _seed(self, index: int, role: int) -> int:
        return self.cfg.seed * 65536 + 2 * index + role

    def _conversion_bank(self, conv: Conversion):
        """(bank, source per element, source per pooling site): the bank's planes in the order the
        fused conv kernels first read them, and no threshold table (the comparator on planes in
        turn outruns a table gathered at random, and is built in a fraction of the time)."""
        site = _site_ids(conv)
        c = self.conv_cfg[conv.key]
        smap = _sources(c.sng, c, self._seed(conv.index, 0), 0, int(site.max()) + 1)
        bank, src = build_bank(c.sng, c.stream_length, c.comparator_width, self._seed(conv.index, 0),
                               smap.generator[site], smap.wiring(c.comparator_width)[site], table_limit=0)
        bank, src = _in_visiting_order(bank, src, conv.shape)
        src_site = np.zeros(int(site.max()) + 1, dtype=np.int64)
        src_site[site] = src
        return bank, src, src_site

    def _fused_or(self, conv: Conversion) -> bool:
        """OR over a window whose streams share one source is the stream of the largest threshold.

        r < T1 or r < T2 <=> r < max(T1, T2) bit by bit, so for non-overlapping windows
        (all members on one site) the pooled streams are encoded directly: same bits, 1/k^2 work.
        """
        return conv.pool is not None and self.cfg.maxpool == "or" and conv.pool[0] == conv.pool[1]

    def _weight_streams(self, layer: Layer) -> tuple[np.ndarray, torch.Tensor]:
        """Unipolar: (streams with negative taps complemented, negative-tap mask as float64);
        bipolar: (streams of (w + 1) / 2, each weight stream's popcount as float64)."""
        mp = self.plan.macs[layer.name]
        w = layer.attrs["weight"]
        c = self.layer_cfg[layer.name]
        L, width = c.stream_length, c.comparator_width
        if self.bipolar:
            t, neg = bipolar_levels(w / mp.w_scale, width), np.zeros(w.shape, bool)
        else:
            t, neg = weight_levels(w, mp.w_scale, width)
        t, negf = t.reshape(-1), neg.reshape(-1)
        sng, seed = c.weight_sng, self._seed(mp.index, 1)
        smap = _sources(sng, c, seed, 1, t.size)
        # each weight stream is made once: the plain comparator path, no bank
        out = encode(t / float(1 << width), L, sng=sng, seed=seed, width=width, share=smap).reshape(t.size, -1)
        out[negf] = ~out[negf]
        out[negf, -1] &= tail_mask(L)
        words = out.reshape(w.shape + (out.shape[1],))
        if self.bipolar:
            return words, torch.as_tensor(stream_counts(words, L).astype(np.float64))
        return words, torch.as_tensor(neg.astype(np.float64))

    def reset(self) -> None:
        """Forget the streams of the previous batch."""
        self.cache = {}

    def streams(self, key: str, env: dict) -> list[StreamPart]:
        """The parts (positive, negative) of a conversion on this batch; popcounts come from the
        bank's table when it has one, and streams are encoded only when a consumer asks."""
        if key in self.cache:
            return self.cache[key]
        conv = self.plan.conversions[key]
        bank, src, src_site = self.banks[key]
        c = self.conv_cfg[key]
        v = env[conv.tensor].numpy()
        signs = (1.0, -1.0) if conv.signed and not self.bipolar else (1.0,)
        out = []
        for sign in signs:  # bipolar: one stream per value, either sign
            lo = -1.0 if self.bipolar and conv.signed else 0.0
            t = comparator_levels(v, conv.scale, c.comparator_width, sign, lo, self.bipolar)
            if self._fused_or(conv):
                t = max_pool_thresholds(t, conv.pool[0])
                out.append(StreamPart(sign, bank, t, src_site))
                continue
            part = StreamPart(sign, bank, t, src)
            if conv.pool is not None:
                k, s = conv.pool
                words = part.words()
                words = (or_pool(words, k, s) if self.cfg.maxpool == "or"
                         else selector_pool(words, k, s, c.stream_length, self.cfg.selector_segment))
                part = StreamPart(sign, bank, encoded=words)  # pooled streams
            out.append(part)
        self.cache[key] = out
        return out

    def _and_counts(self, layer: Layer, part: StreamPart, w_words: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(sum over taps of popcount(x & w) per output as float64, per-input stream popcounts as
        float32 when fan-in x L < 2^24, so the correction convolutions over them are exact, else
        float64)."""
        a = layer.attrs
        L = self.layer_cfg[layer.name].stream_length
        dtype = np.float32 if int(np.prod(w_words.shape[1:-1])) * L < FLOAT32_EXACT else np.float64
        if FUSED_CONV and layer.op == "conv" and part.thr is not None and part.encoded is None:
            return self._fused_counts(layer, part, w_words, dtype)
        words = part.words()
        cnt = torch.as_tensor(part.popcounts().astype(dtype))
        if layer.op == "conv":
            ph, pw = a["padding"]
            xp = words
            if ph or pw:  # zero words around the image (np.pad's generic path is several times slower)
                b, c, h, w, nw = words.shape
                xp = np.zeros((b, c, h + 2 * ph, w + 2 * pw, nw), dtype=np.uint64)
                xp[:, :, ph:ph + h, pw:pw + w] = words
            raw = conv_counts(xp, w_words, a["stride"], a["groups"])
        else:
            raw = linear_counts(words.reshape(words.shape[0], -1, words.shape[-1]),
                                w_words.reshape(w_words.shape[0], -1, w_words.shape[-1]))
            cnt = cnt.reshape(cnt.shape[0], -1)
        return torch.as_tensor(raw.astype(np.float64)), cnt

    @staticmethod
    def _fused_counts(layer: Layer, part: StreamPart, w_words: np.ndarray, dtype: type) -> tuple[torch.Tensor,
                                                                                                  torch.Tensor]:
        """_and_counts of a conv whose input streams are made next to its tiles (fused.py). A
        1 x 1 kernel with stride s reads every s-th pixel only: the others are not encoded (their
        popcounts stay 0, which the correction conv never reads)."""
        a = layer.attrs
        thr, src, stride = part.thr, part.src, a["stride"]
        sub = w_words.shape[2:4] == (1, 1) and tuple(a["padding"]) == (0, 0) and tuple(stride) != (1, 1)
        if sub:
            thr = thr[:, :, ::stride[0], ::stride[1]]
            src = src.reshape(part.thr.shape[1:])[:, ::stride[0], ::stride[1]]
            stride = (1, 1)
        bank = part.bank
        raw, pcs = conv_counts_bank(thr, src, bank.planes, bank.width, tail_mask(bank.length), w_words, stride,
                                    a["padding"], a["groups"], pcs_dtype=dtype)
        cnt = pcs
        if sub:
            full = np.zeros(part.thr.shape, dtype=dtype)
            full[:, :, ::a["stride"][0], ::a["stride"][1]] = cnt
            cnt = full
        return torch.as_tensor(raw), torch.as_tensor(cnt)

    def __call__(self, layer: Layer, env: dict) -> torch.Tensor:
        mp = self.plan.macs[layer.name]
        conv = self.plan.conversions[mp.conversion]
        w_words, w_side = self.weights[layer.name]
        L = self.layer_cfg[layer.name].stream_length
        total = None
        parts = self.streams(mp.conversion, env)
        if ONE_PASS_OUTPUT and not self.bipolar and len(parts) == 1 and parts[0].sign == 1.0:
            raw, cnt = self._and_counts(layer, parts[0], w_words)
            corr = apply_mac(layer, cnt, w_side.to(cnt.dtype))
            bias = np.broadcast_to(np.asarray(layer.attrs["bias"], dtype=np.float64), (raw.shape[1],))
            return torch.from_numpy(signed_counts_to_output(raw.numpy(), corr.numpy(), conv.scale * mp.w_scale / L,
                                                            bias))
        for part in parts:
            raw, cnt = self._and_counts(layer, part, w_words)
            w_side = w_side.to(cnt.dtype)
            if self.bipolar:  # 2 C - K L with C the XNOR ones over the valid taps
                ones_x, ones_w = torch.ones_like(cnt), torch.ones_like(w_side)
                diff = (4.0 * raw - 2.0 * apply_mac(layer, cnt, ones_w).double()
                        - 2.0 * apply_mac(layer, ones_x, w_side).double()
                        + L * apply_mac(layer, ones_x, ones_w).double())
            else:  # C+ - C-: one unsigned pass minus the complemented taps' input popcounts
                diff = raw.sub_(apply_mac(layer, cnt, w_side))  # in place: raw is this call's own float64
            if total is None:
                total = diff if part.sign == 1.0 else diff.neg_()
            else:
                total.add_(diff, alpha=part.sign)
        # in place: each pass over a (B, N, OH, OW) float64 tensor is memory-bound
        return total.mul_(conv.scale * mp.w_scale / L).add_(_bias(layer, total.ndim))


class ExpectedBackend(FixedPointBackend):
    """Analytic mean and variance of the counter output, propagated as (mean, var) pairs.

    Count variance is factor * L * sum_k p_k (1 - p_k) with p_k the gate's probability: AND
    |x w| (unipolar), so p(1 - p) = |x w| - x^2 w^2; XNOR (1 + x w) / 2 (bipolar), so with
    y = (2 C - K L) / L it is 1 - x^2 w^2 per valid tap, four times the unipolar term near 0.
    `factor` is measured once on the config's own generators (1 for independent
    Bernoulli streams, far below 1 for low-discrepancy ones). Upstream variance adds
    sum_k w_k^2 var(x_k) (errors of different inputs taken as independent).
    """

    def __init__(self, graph: LayerGraph, plan: Plan, cfg: SCConfig, factor: float | dict[str, float]) -> None:
        layer_cfg = {name: cfg.for_layer(name) for name in plan.macs}
        super().__init__(graph, plan, cfg.comparator_width, cfg.encoding,
                         {n: c.comparator_width for n, c in layer_cfg.items()})
        self.L = {n: c.stream_length for n, c in layer_cfg.items()}  # per-layer stream length
        self.factor = factor if isinstance(factor, dict) else {n: float(factor) for n in plan.macs}

    def __call__(self, layer: Layer, env: dict) -> tuple[torch.Tensor, torch.Tensor]:
        wq, s, s_w, _ = self.quantised(layer)
        m, v = env[layer.inputs[0]]
        xq = self.quantised_input(layer, m, s)
        mean = apply_mac(layer, xq, wq) * (s * s_w)
        if self.bipolar:
            p_var = apply_mac(layer, torch.ones_like(xq), torch.ones_like(wq)) - apply_mac(layer, xq * xq, wq * wq)
        else:
            p_var = apply_mac(layer, xq.abs(), wq.abs()) - apply_mac(layer, xq * xq, wq * wq)
        var = p_var.clamp_min(0.0) * (self.factor[layer.name] * (s * s_w) ** 2 / self.L[layer.name])
        var = var + apply_mac(layer, v, (wq * s_w) ** 2)
        return mean + _bias(layer, mean.ndim), var
