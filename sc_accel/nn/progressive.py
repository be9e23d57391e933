"""Progressive (prefix) emulation: what the SC accelerator computes had it stopped at L_k < L.

SC streams have progressive precision: the first L_k cycles of a stream already encode its
value at L_k-bit precision (Kim et al., "Dynamic energy-accuracy trade-off using stochastic
computing in deep neural networks", DAC 2016). A run at checkpoint L_k uses the same
generators, seeds, wiring and comparator width as the full-length run, and the first L_k
cycles of every stream: the SNG banks' bit-planes and the weight streams are sliced out of
the full-length words already built (never regenerated).

Counters are read back into binary between layers in this accelerator, so a layer's input
at L_k is the previous layer's counter value after L_k cycles: every checkpoint runs the
network's MAC layers on its own inputs. An image that continues past L_k therefore pays the
cycles of every checkpoint it ran (`spent` in `sc_accel.nn.edt`); a design whose layers stream
into each other without conversion would pay only its last checkpoint (`prefix`).

Also measured: how many of each unsigned conversion's inputs (the stochastic ReLU: the
comparator clips at 0 and at the top) are clipped at each checkpoint, and how many of
those are clipped the same way at full length (settled), which bounds what a layer-level
termination could save.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch

from sc_accel.bits import n_words, stream_counts, tail_mask
from sc_accel.errors import InvalidInputError, is_int
from sc_accel.graph import Layer
from sc_accel.kernels.convert import comparator_levels
from sc_accel.nn.backends import BitBackend
from sc_accel.nn.config import SCConfig
from sc_accel.nn.emulate import SCModel, _check_input
from sc_accel.nn.run import run_graph
from sc_accel.streams.bank import SourceBank

__all__ = ["check_checkpoints", "default_checkpoints", "prefix_backend", "ClipStats", "Progressive",
           "progressive_logits", "prefix_config", "MAX_CHECKPOINTS"]


MAX_CHECKPOINTS = 32  # a run costs the sum of its checkpoints' lengths: at most 32 L


def default_checkpoints(length: int) -> list[int]:
    """Powers of two from L/16 (at least 1) below L, then L itself."""
    lo = max(1, length // 16)
    return [1 << i for i in range(lo.bit_length() - 1, length.bit_length()) if lo <= 1 << i < length] + [length]


def check_checkpoints(checkpoints: object, length: int) -> list[int]:
    """Strictly increasing whole stream lengths from 1 to L, ending at L (appended when missing)."""
    items = list(checkpoints) if isinstance(checkpoints, (list, tuple)) else []
    if not items or not all(is_int(k) for k in items):
        raise InvalidInputError(f"EDT checkpoints {checkpoints!r} must be a list of whole stream lengths, such as "
                                f"{default_checkpoints(length)}.")
    ks = [int(k) for k in items]
    if ks[-1] != length:
        ks.append(length)
    if ks[0] < 1 or any(b <= a for a, b in zip(ks, ks[1:])) or ks[-1] != length:
        raise InvalidInputError(f"EDT checkpoints {ks} must rise strictly from at least 1 to the stream length "
                                f"{length}.")
    if len(ks) > MAX_CHECKPOINTS:
        raise InvalidInputError(f"EDT takes at most {MAX_CHECKPOINTS} checkpoints, L included; {len(ks)} were given.")
    return ks


def _prefix_words(words: np.ndarray, length: int) -> np.ndarray:
    """The first `length` bits of packed streams (..., W): a copy with the tail cleared."""
    out = np.ascontiguousarray(words[..., :n_words(length)]).copy()
    out[..., -1] &= tail_mask(length)
    return out


def _prefix_bank(bank: SourceBank, length: int) -> SourceBank:
    """The bank of the first `length` numbers of every source (its planes sliced; a bit
    backend's banks hold no threshold table)."""
    return SourceBank(_prefix_words(bank.planes, length), bank.width, length)


def prefix_config(cfg: SCConfig, length: int) -> SCConfig:
    """`cfg` at stream length `length` with its comparator width kept (the prefix's streams
    come from the same comparators)."""
    return cfg.replace(stream_length=length, width=cfg.comparator_width, layers={})


def prefix_backend(full: BitBackend, length: int) -> BitBackend:
    """A bit backend computing the first `length` cycles of `full`'s streams (the same object
    when `length` is the full stream length, so that checkpoint reproduces the run bit for bit)."""
    if full.cfg.layers:
        raise InvalidInputError("early termination needs one stream length for every layer; drop the per-layer "
                                "stream-length overrides (SCConfig.layers).")
    if not is_int(length) or not 1 <= length <= full.L:
        raise InvalidInputError(f"a prefix of {length!r} cycles must be from 1 to the stream length {full.L}.")
    if length == full.L:
        return full
    b = copy.copy(full)
    b.cfg, b.L = prefix_config(full.cfg, length), length
    b.layer_cfg = {n: prefix_config(c, length) for n, c in full.layer_cfg.items()}
    b.conv_cfg = {k: prefix_config(c, length) for k, c in full.conv_cfg.items()}
    b.banks = {k: (_prefix_bank(bank, length), src, site) for k, (bank, src, site) in full.banks.items()}
    b.weights = {n: _prefix_weights(full, w, side, length) for n, (w, side) in full.weights.items()}
    b.cache = {}
    return b


def _prefix_weights(full: BitBackend, words: np.ndarray, side: torch.Tensor, length: int) -> tuple:
    """Weight streams cut to `length` bits; a bipolar layer's side input (each stream's ones) is
    recounted, a unipolar one's (the negative-tap mask) is unchanged."""
    w = _prefix_words(words, length)
    if full.bipolar:
        return w, torch.as_tensor(stream_counts(w, length).astype(np.float64))
    return w, side


@dataclass
class ClipStats:
    """Per unsigned conversion input (a ReLU output), per checkpoint: elements clipped at 0, at
    the top, and clipped the same way as at full length (settled), of `total` elements."""

    zero: dict[str, np.ndarray] = field(default_factory=dict)
    top: dict[str, np.ndarray] = field(default_factory=dict)
    settled: dict[str, np.ndarray] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, k: int, n_ck: int, state: np.ndarray, final: np.ndarray) -> None:
        """Count one batch's clip states (0 none, 1 at zero, 2 at the top) at checkpoint k."""
        for d in (self.zero, self.top, self.settled):
            d.setdefault(name, np.zeros(n_ck, dtype=np.int64))
        self.zero[name][k] += int((state == 1).sum())
        self.top[name][k] += int((state == 2).sum())
        self.settled[name][k] += int(((state == final) & (state > 0)).sum())
        if k == n_ck - 1:
            self.total[name] = self.total.get(name, 0) + int(state.size)

    def to_dict(self) -> dict:
        """{tensor: {"zero": [...], "top": [...], "settled": [...], "total": n}} (fractions of total)."""
        return {n: {k: (getattr(self, k)[n] / max(t, 1)).round(6).tolist() for k in ("zero", "top", "settled")}
                | {"total": t} for n, t in self.total.items()}


def _clip_recorder(model: SCModel, backend: BitBackend, states: dict[str, np.ndarray]):
    """A run_graph recorder keeping the clip state of every unsigned conversion's input."""
    unsigned = {c.tensor: c for c in model.plan.conversions.values()
                if not c.signed and model.graph.by_name[c.tensor].op != "input"}

    def record(layer: Layer, value: object) -> None:
        conv = unsigned.get(layer.name)
        if conv is None or not isinstance(value, torch.Tensor):
            return
        w = backend.conv_cfg[conv.key].comparator_width
        t = comparator_levels(value.numpy(), conv.scale, w, 1.0, 0.0, backend.bipolar)
        lo = (1 << (w - 1)) if backend.bipolar else 0  # the level of 0
        states[layer.name] = np.where(t <= lo, 1, np.where(t >= (1 << w), 2, 0)).astype(np.int8)
    return record


class Progressive:
    """A bit-mode SCModel run at every checkpoint: `batch(x)` gives (K, B, classes) logits."""

    def __init__(self, model: SCModel, checkpoints: list[int]) -> None:
        if model.config.mode != "bit":
            raise InvalidInputError("progressive emulation needs a bit-true SCConfig (mode='bit').")
        self.model = model
        self.checkpoints = check_checkpoints(checkpoints, model.config.stream_length)
        self.backends = [prefix_backend(model.backend, k) for k in self.checkpoints]

    def batch(self, x: torch.Tensor, clips: ClipStats | None = None, errors: dict | None = None) -> torch.Tensor:
        """Logits (K, B, classes) of one checked batch; the full length runs first (through
        the model's own forward, which accumulates `errors`), so clip states compare to it."""
        return _batch(self.model, self.backends, x, clips, errors)


def progressive_logits(model: SCModel, x: object, checkpoints: list[int],
                       clips: ClipStats | None = None) -> torch.Tensor:
    """Logits (K, N, classes) of `model` (bit mode) on x at each checkpoint's prefix of the
    streams; with `clips`, count the stochastic ReLU's clipped outputs per checkpoint."""
    run = Progressive(model, checkpoints)
    x = _check_input(x, model.graph)
    return torch.cat([run.batch(b, clips) for b in model.batches(x)], dim=1)


def _batch(model: SCModel, backends: list[BitBackend], x: torch.Tensor, clips: ClipStats | None,
           errors: dict | None = None) -> torch.Tensor:
    """(K, B, classes) for one batch; the full length first, so clip states can be compared to it."""
    n = len(backends)
    out: list[torch.Tensor | None] = [None] * n
    final: dict[str, np.ndarray] = {}
    for k in reversed(range(n)):
        be = backends[k]
        states: dict[str, np.ndarray] = {}
        rec = _clip_recorder(model, be, states) if clips is not None else None
        if k == n - 1:  # the model's own forward: the bits of a plain run, and its error bookkeeping
            out[k] = model._forward(x, errors, rec)
        else:  # a prefix backend's cache is empty here: every use below ends in reset()
            out[k] = run_graph(model.graph, x, be, record=rec, skip=be.dead)
        be.reset()
        if clips is not None:
            if k == n - 1:
                final = states
            for name, st in states.items():
                clips.add(name, k, n, st, final[name])
    return torch.stack(out)
