"""SCConfig: every knob of the emulated SC accelerator, as plain data (round-trips via dict/JSON)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace

from sc_accel.bits import check_length
from sc_accel.errors import InvalidInputError, check_known
from sc_accel.streams.generators import SNG_KINDS, check_width, default_width
from sc_accel.streams.sharing import DECORRELATE

__all__ = ["SCConfig", "MODES", "MAXPOOL_MODES", "ENCODINGS", "MAX_SHARE"]

MODES = ("bit", "expected")
ENCODINGS = ("unipolar", "bipolar")
MAX_SEED = 1 << 32
MAX_SHARE = 1 << 16  # SNG fan-out: past 2^16 members a group's XOR masks repeat (rotations past the width)
MAXPOOL_MODES = ("or", "selector", "binary")


@dataclass(frozen=True)
class SCConfig:
    """How a network runs on the emulated SC accelerator.

    stream_length: bits per stream L. mode: "bit" (bit-true streams) or "expected"
    (analytic mean and variance, a fast proxy). encoding: "unipolar" (the thesis's choice:
    streams of |v|, sign-magnitude weights, AND gates, two counters, x+/x- passes for signed
    inputs) or "bipolar" (streams of (v + 1) / 2, XNOR gates, one counter; see backends).
    seed: all SNG parameters derive from it.
    sng / sng_weight: generator kind of the activation / weight SNGs (sng_weight None =
    same as sng; the two operands of every AND always come from unrelated generators).
    width: comparator bits (None = ceil(log2 L)). share: SNG sharing degree, the number of
    activation sites (and weight streams) one generator feeds, 1 to MAX_SHARE; decorrelate: how each
    consumer re-wires the shared numbers, "xor" (XOR mask: keeps a Sobol prefix stratified;
    the default), "rotate" (output rotation) or "none", see sc_accel.streams.sharing.
    upscale: scale each layer's weights and activations by a power of two so they fill
    [0, 1] (undone exactly after the counter); without it values are only scaled down
    when they exceed 1. maxpool: "or" (OR gate over streams from a shared
    generator), "selector" (segment-counter selector) or "binary" (max of counter values
    before conversion). selector_segment: bits per selector segment. calib_percentile:
    percentile of calibration activations mapped to 1. batch_size: images per batch.
    layers: per-layer precision, layer name -> {"stream_length": L, "width": w} (either
    key may be left out); a MAC layer runs its input conversion and weight streams at its
    own L, and `for_layer(name)` is the config it sees. Names are checked against the model
    when it is converted.
    """

    stream_length: int = 256
    mode: str = "bit"
    encoding: str = "unipolar"
    seed: int = 0
    sng: str = "lfsr"
    sng_weight: str | None = None
    width: int | None = None
    share: int = 1
    decorrelate: str = "xor"
    upscale: bool = True
    maxpool: str = "or"
    selector_segment: int = 16
    calib_percentile: float = 100.0
    batch_size: int = 250
    layers: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_length(self.stream_length)
        object.__setattr__(self, "layers", _check_layers(self.layers))
        _choice("mode", self.mode, MODES)
        _choice("encoding", self.encoding, ENCODINGS)
        _choice("sng", self.sng, tuple(SNG_KINDS))
        _choice("sng_weight", self.weight_sng, tuple(SNG_KINDS))
        _choice("maxpool", self.maxpool, MAXPOOL_MODES)
        _choice("decorrelate", self.decorrelate, DECORRELATE)
        for name in ("seed", "share", "selector_segment", "batch_size"):
            v = getattr(self, name)
            lo = 0 if name == "seed" else 1
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise InvalidInputError(f"SCConfig.{name}={v!r} must be an integer >= {lo}.")
        if self.seed >= MAX_SEED:
            raise InvalidInputError(f"SCConfig.seed={self.seed} must be below 2^32 (SNG seeds are 32-bit).")
        if self.share > MAX_SHARE:
            raise InvalidInputError(f"SCConfig.share={self.share} is beyond the largest sharing degree, 2^16 = "
                                    f"{MAX_SHARE} consumers per SNG; give a share from 1 to {MAX_SHARE}.")
        for w in [self.width] + [o.get("width") for o in self.layers.values()]:
            if w is not None:
                check_width(w, self.sng)
                check_width(w, self.weight_sng)
        if not isinstance(self.upscale, bool):
            raise InvalidInputError(f"SCConfig.upscale={self.upscale!r} must be true or false.")
        p = self.calib_percentile
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 50.0 <= p <= 100.0 or math.isnan(p):
            raise InvalidInputError(f"SCConfig.calib_percentile={p!r} must be a number from 50 to 100.")

    @property
    def weight_sng(self) -> str:
        """Generator kind of the weight SNGs."""
        return self.sng if self.sng_weight is None else self.sng_weight

    @property
    def comparator_width(self) -> int:
        """Comparator width in bits (the binary precision of every conversion)."""
        return default_width(self.stream_length) if self.width is None else int(self.width)

    def for_layer(self, name: str | None) -> "SCConfig":
        """The config layer `name` runs at: its stream length and width overrides applied
        (a length override without a width takes that length's default width)."""
        o = self.layers.get(name) if name is not None else None
        if not o:
            return self if not self.layers else replace(self, layers={})
        L = o.get("stream_length", self.stream_length)
        width = o.get("width", self.width if "stream_length" not in o else None)
        return replace(self, stream_length=L, width=width, layers={})

    @property
    def max_stream_length(self) -> int:
        """The longest stream any layer runs (what memory must hold)."""
        return max([self.stream_length] + [o.get("stream_length", 0) for o in self.layers.values()])

    def check_layers(self, names: object) -> None:
        """Refuse overrides naming layers that are not among `names` (the model's MAC layers)."""
        known = set(names)
        unknown = sorted(set(self.layers) - known)
        if unknown:
            raise InvalidInputError(f"SCConfig.layers names {unknown}, which the model does not have; its conv and "
                                    f"linear layers are {sorted(known)}.")

    def replace(self, **changes: object) -> "SCConfig":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON/TOML-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SCConfig":
        """Inverse of to_dict; unknown keys are an error."""
        check_known(d, (f.name for f in fields(cls)), "SCConfig field(s)")
        return cls(**d)


_LAYER_KEYS = ("stream_length", "width")


def _check_layers(layers: object) -> dict:
    """Per-layer overrides as a plain {name: {key: int}} dict, checked."""
    if not isinstance(layers, dict):
        raise InvalidInputError(f"SCConfig.layers must map layer names to tables, not {type(layers).__name__}.")
    out = {}
    for name, o in layers.items():
        if not isinstance(name, str) or not isinstance(o, dict):
            raise InvalidInputError(f"SCConfig.layers[{name!r}] must be a table such as {{stream_length = 64}}.")
        check_known(o, _LAYER_KEYS, f"SCConfig.layers[{name!r}] key(s)")
        for k, v in o.items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InvalidInputError(f"SCConfig.layers[{name!r}].{k}={v!r} must be a positive integer.")
        if "stream_length" in o:
            check_length(o["stream_length"])
        out[name] = {k: int(o[k]) for k in _LAYER_KEYS if k in o}
    return out


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidInputError(f"SCConfig.{name}={value!r} is not one of {', '.join(allowed)}.")
