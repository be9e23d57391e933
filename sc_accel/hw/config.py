"""AccelConfig: the architecture input of the estimator, as plain data (dict/TOML/JSON).

Three kinds share one dataclass: "systolic" (SCALE-Sim-style array, dataflows ws/os/is),
"spatial" (MAESTRO/ConfuciuX-style PE array, dataflows kcp = NVDLA-like weight stationary,
rs = Eyeriss-like row stationary, os = ShiDianNao-like output stationary) and "sc" (AND-gate
multipliers and counters with the spatial dataflows, latency scaled by the stream length).
Per-layer PE counts and buffer sizes (`layers`) let the accelerator search allocate
resources layer by layer; PEs are then laid out in rows of `cols` (the cluster size).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace

from sc_accel.errors import InvalidInputError, check_known

__all__ = ["AccelConfig", "MemoryConfig", "OperatingPoint", "SCHardware", "LayerResources", "LayerPrecision",
           "HardwareConfigError", "DATAFLOWS", "KINDS", "systolic", "spatial", "sc_array",
           "min_gbuf_bytes", "presets", "check_accel"]

KINDS = ("systolic", "spatial", "sc")
DATAFLOWS = {"systolic": ("ws", "os", "is"), "spatial": ("kcp", "rs", "os"), "sc": ("kcp", "rs", "os")}
SC_SNGS = ("lfsr", "sobol", "vdc", "counter", "bernoulli")
SC_MAXPOOL = ("or", "selector", "binary")
WEIGHT_STREAMS = ("regen", "buffer", "broadcast")
SNG_SHARE = ("lane", "row", "column", "array")
SC_ENCODINGS = ("unipolar", "bipolar")


MAX_STREAM_LENGTH = 1 << 24  # bit-cycle counts (MACs x L) must stay inside int64


MAX_EDT_FRACTION = 64.0  # mean cycles run / L: a re-running decision can exceed 1
MAX_EDT_CHECKS = 1e6  # mean decision checks per image (one per checkpoint; scnas uses at most 32)


class HardwareConfigError(InvalidInputError):
    """An accelerator configuration that cannot describe real hardware."""


MAX_WORD_BITS = 64  # binary datapaths of real accelerators are 1 to 64 bits wide (accumulators up to 128)


def _at_most(where: str, name: str, value: object, limit: int) -> None:
    """Refuse a width beyond what any datapath has (it would size buffers and tables absurdly)."""
    if value is not None and value > limit:
        raise HardwareConfigError(f"{where}.{name}={value} is beyond the supported {limit} bits; give a datapath "
                                  f"width from 1 to {limit}.")


def _positive(owner: str, name: str, v: object, integer: bool = False) -> None:
    ok = isinstance(v, int) if integer else isinstance(v, (int, float)) and math.isfinite(v)
    if isinstance(v, bool) or not ok or v <= 0:
        kind = "a positive integer" if integer else "a positive finite number"
        raise HardwareConfigError(f"{owner}.{name}={v!r} must be {kind}.")


@dataclass(frozen=True)
class MemoryConfig:
    """Global buffer (SRAM) size and bandwidths; PE-local storage per PE; DRAM bandwidth.
    `split` gives the relative sizes of the buffer's ifmap, filter and ofmap parts (SCALE-Sim
    keeps three SRAMs); each input part is double-buffered, so half of it holds the working tile."""

    gbuf_kib: float = 256.0
    local_bytes: int = 64
    dram_bytes_per_cycle: float = 16.0
    gbuf_bytes_per_cycle: float = 128.0
    split: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name != "split":
                _positive("memory", f.name, getattr(self, f.name), f.name == "local_bytes")
        split = tuple(self.split) if isinstance(self.split, (list, tuple)) else ()
        if len(split) != 3 or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
                                  or v <= 0 for v in split):
            raise HardwareConfigError(f"memory.split={self.split!r} must be three positive numbers, the relative "
                                      "sizes of the ifmap, filter and ofmap buffers, e.g. [1, 1, 1].")
        object.__setattr__(self, "split", tuple(float(v) for v in split))


@dataclass(frozen=True)
class OperatingPoint:
    """Supply voltage, clock and technology node (energy ~ V^2 x node, area ~ node^2)."""

    voltage: float = 0.9
    freq_mhz: float = 500.0
    node_nm: float = 45.0

    def __post_init__(self) -> None:
        for f in fields(self):
            _positive("op", f.name, getattr(self, f.name))
        if not 0.3 <= self.voltage <= 1.5:
            raise HardwareConfigError(f"op.voltage={self.voltage} V is outside 0.3..1.5 V, where the "
                                      "V^2 energy rule is meaningless; give a supply in that range.")


@dataclass(frozen=True)
class SCHardware:
    """SC settings the hardware sees: stream length, SNG kind and sharing, comparator width,
    whether max pooling runs in the stream domain (OR gates) or the counter domain, and the
    design choices that decide SC's cost against binary (each costed in `cost`):

    - `weight_stream`: how a PE gets its weight's stream. "regen": the PE's comparator
      regenerates it for every product (the stationary weight stays binary); "buffer": it is
      generated once per weight load into an L-bit stream buffer in the PE and replayed;
      "broadcast": one stream per weight read, fanned out to every PE that uses it at once
      (only mappings that share a weight across PEs, i.e. os). None: the mapping's own
      choice, regen for kcp/rs, broadcast for os.
    - `sng_share`: which lanes one SNG source feeds: "lane" (`share` consecutive lanes),
      "row" / "column" (every lane of a PE row / column), "array" (one source per operand).
    - `counter_bits`: output counter width (None: comparator width + 4 bits of headroom).
    - `encoding`: "unipolar" (AND-gate multiplier; the thesis's sign-magnitude design) or
      "bipolar" (XNOR-gate multiplier on streams of (v + 1) / 2; same counters and SNGs).
    - `edt_fraction`: early decision termination (progressive precision, Kim et al., DAC
      2016): the mean fraction of the stream a layer runs before its result is decided
      (1.0 = off); each output counter then pays a decision check every cycle. Above 1 for
      a network-level decision whose continuing images re-run their layers at several
      checkpoints (at most MAX_EDT_FRACTION).
    - `edt_checks`: None for that per-counter, per-cycle decision; a number for a decision
      made on the network's output instead (`scnas emulate --edt` measures both numbers):
      the mean checks per image, each comparing the output layer's top-1 and runner-up
      counters (a top-2 search over its counters and one threshold compare); every MAC layer
      then runs `edt_fraction` of its stream and no per-cycle checks are paid.
    """

    stream_length: int = 256
    share: int = 1
    sng: str = "lfsr"
    width: int | None = None
    maxpool: str = "or"
    weight_stream: str | None = None
    sng_share: str = "lane"
    counter_bits: int | None = None
    edt_fraction: float = 1.0
    encoding: str = "unipolar"
    edt_checks: float | None = None

    @property
    def counter_width(self) -> int:
        """Output counter bits: `counter_bits`, or the comparator width plus 4 bits of headroom."""
        return self.counter_bits if self.counter_bits is not None else self.width + 4

    def __post_init__(self) -> None:
        if self.width is None:  # comparator bits to address every threshold of the stream
            object.__setattr__(self, "width", max(1, (int(self.stream_length) - 1).bit_length()))
        for name in ("stream_length", "share", "width"):
            _positive("sc", name, getattr(self, name), integer=True)
        if self.stream_length > MAX_STREAM_LENGTH or self.width > 32:
            raise HardwareConfigError(f"sc.stream_length={self.stream_length} (comparator width {self.width}) is "
                                      f"beyond the {MAX_STREAM_LENGTH} bits (2^24) the estimator's 64-bit "
                                      "bit-cycle counts hold; SC designs use far shorter streams.")
        if self.counter_bits is not None:
            _positive("sc", "counter_bits", self.counter_bits, integer=True)
        for name, allowed in (("sng", SC_SNGS), ("maxpool", SC_MAXPOOL), ("sng_share", SNG_SHARE),
                              ("encoding", SC_ENCODINGS)):
            if getattr(self, name) not in allowed:
                raise HardwareConfigError(f"sc.{name}={getattr(self, name)!r} is unknown; use one of {allowed}.")
        if self.weight_stream is not None and self.weight_stream not in WEIGHT_STREAMS:
            raise HardwareConfigError(f"sc.weight_stream={self.weight_stream!r} is unknown; use one of "
                                      f"{WEIGHT_STREAMS} (or leave it out for the mapping's own choice).")
        f = self.edt_fraction
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= MAX_EDT_FRACTION:
            raise HardwareConfigError(f"sc.edt_fraction={f!r} must be in (0, {MAX_EDT_FRACTION}]: the mean cycles "
                                      "run, as a fraction of the stream (1 = off; above 1 when a network-level "
                                      "decision re-runs its layers at several checkpoints).")
        c = self.edt_checks
        if c is not None and (isinstance(c, bool) or not isinstance(c, (int, float)) or not 0 <= c <= MAX_EDT_CHECKS):
            raise HardwareConfigError(f"sc.edt_checks={c!r} must be a number of decision checks per image from 0 to "
                                      f"{MAX_EDT_CHECKS:g} (or left out for per-counter checks every cycle).")
        if c is None and f > 1:
            raise HardwareConfigError(f"sc.edt_fraction={f!r} is above 1, which only a decision on the network's "
                                      "output can spend (its layers re-run at each checkpoint); set sc.edt_checks too, "
                                      "or give a fraction up to 1.")

    @classmethod
    def from_sc_config(cls, cfg: object, base: "SCHardware | None" = None) -> "SCHardware":
        """The hardware view of an `sc_accel.nn.SCConfig`; hardware-only choices come from `base`."""
        keep = {} if base is None else {k: getattr(base, k) for k in
                                        ("weight_stream", "sng_share", "counter_bits", "edt_fraction",
                                                            "edt_checks")}
        return cls(int(cfg.stream_length), int(cfg.share), cfg.sng, cfg.width, cfg.maxpool, **keep,
                   encoding=getattr(cfg, "encoding", "unipolar"))


@dataclass(frozen=True)
class LayerResources:
    """Per-layer allocation (spatial and SC kinds): PE count and, optionally, buffer size."""

    pes: int
    gbuf_kib: float | None = None

    def __post_init__(self) -> None:
        _positive("layers", "pes", self.pes, integer=True)
        if self.gbuf_kib is not None:
            _positive("layers", "gbuf_kib", self.gbuf_kib)


@dataclass(frozen=True)
class LayerPrecision:
    """Per-layer precision: the stream length of an SC layer (its comparator width follows,
    ceil(log2 L)), and/or the bits of a layer's activations (`word_bits`) and weights
    (`weight_bits`, default: word_bits). The multiplier energy scales with act x weight bits
    (a precision-scalable multiplier; the PE area stays that of the array's `word_bits`), and
    buffer and DRAM traffic with each operand's whole bytes (no sub-byte packing)."""

    stream_length: int | None = None
    word_bits: int | None = None
    weight_bits: int | None = None

    def __post_init__(self) -> None:
        if self.stream_length is None and self.word_bits is None and self.weight_bits is None:
            raise HardwareConfigError("a per-layer precision needs stream_length, word_bits or weight_bits.")
        for name in ("stream_length", "word_bits", "weight_bits"):
            if getattr(self, name) is not None:
                _positive("precision", name, getattr(self, name), integer=True)
        for name in ("word_bits", "weight_bits"):
            _at_most("precision", name, getattr(self, name), MAX_WORD_BITS)
        if self.stream_length is not None and self.stream_length > MAX_STREAM_LENGTH:
            raise HardwareConfigError(f"precision.stream_length={self.stream_length} is beyond the estimator's "
                                      f"{MAX_STREAM_LENGTH} bits (2^24).")

    def sc_for(self, sc: "SCHardware") -> "SCHardware":
        """The SC settings of a layer at this precision (the counter keeps its headroom)."""
        if self.stream_length is None:
            return sc
        return replace(sc, stream_length=self.stream_length, width=None)


@dataclass(frozen=True)
class AccelConfig:
    """One accelerator: kind, PE array (rows x cols), dataflow, word width, memory, operating
    point, SC settings (kind "sc" only) and optional per-layer resources."""

    name: str = "accel"
    kind: str = "systolic"
    rows: int = 32
    cols: int = 32
    dataflow: str = "ws"
    word_bits: int = 8
    acc_bits: int = 32
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    op: OperatingPoint = field(default_factory=OperatingPoint)
    sc: SCHardware | None = None
    layers: dict[str, LayerResources] = field(default_factory=dict)
    precision: dict[str, LayerPrecision] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise HardwareConfigError(f"kind={self.kind!r} is unknown; use one of {KINDS}.")
        for name in ("rows", "cols", "word_bits", "acc_bits"):
            _positive("AccelConfig", name, getattr(self, name), integer=True)
        _at_most("AccelConfig", "word_bits", self.word_bits, MAX_WORD_BITS)
        _at_most("AccelConfig", "acc_bits", self.acc_bits, 2 * MAX_WORD_BITS)
        if self.dataflow not in DATAFLOWS[self.kind]:
            raise HardwareConfigError(f"dataflow={self.dataflow!r} is unknown for a {self.kind} "
                                      f"array; use one of {DATAFLOWS[self.kind]}.")
        if self.kind == "sc" and self.sc is None:
            object.__setattr__(self, "sc", SCHardware())
        if self.kind == "sc" and self.sc.weight_stream == "broadcast" and self.dataflow != "os":
            raise HardwareConfigError(f"sc.weight_stream='broadcast' needs a mapping that uses one weight in "
                                      f"many PEs at once (dataflow 'os'); the {self.dataflow} mapping keeps a "
                                      "different weight in every PE, so use 'regen' or 'buffer'.")
        if self.kind != "sc" and self.sc is not None:
            raise HardwareConfigError(f"a {self.kind} array has no SC settings; use kind='sc'.")
        if self.layers and self.kind == "systolic":
            raise HardwareConfigError("per-layer resources need a spatial or sc array; a systolic "
                                      "array has one fixed shape.")
        if self.kind != "sc" and any(p.stream_length is not None for p in self.precision.values()):
            raise HardwareConfigError(f"a {self.kind} array has no streams; give its layers word_bits / weight_bits, "
                                      "or use kind='sc' for per-layer stream lengths.")
        self.check_buffer(self.memory.gbuf_kib, self.rows, self.cols, "memory.gbuf_kib")
        for lname, res in self.layers.items():
            r, c = self.shape_for(res.pes)
            self.check_buffer(res.gbuf_kib or self.memory.gbuf_kib, r, c, f"layers.{lname}")

    @property
    def weight_stream(self) -> str | None:
        """The SC weight-stream option in force: `sc.weight_stream`, else the mapping's own
        (broadcast for os, regen for kcp/rs); None for binary arrays."""
        if self.sc is None:
            return None
        return self.sc.weight_stream or ("broadcast" if self.dataflow == "os" else "regen")

    @property
    def pes(self) -> int:
        """Processing elements (MAC units, or AND-gate multipliers with counters)."""
        return self.rows * self.cols

    def shape_for(self, pes: int) -> tuple[int, int]:
        """rows x cols for a per-layer PE count: rows of `cols` PEs (fewer when pes < cols)."""
        cols = min(self.cols, pes)
        return max(1, pes // cols), cols

    def check_buffer(self, gbuf_kib: float, rows: int, cols: int, where: str) -> None:
        """Raise if the buffer cannot hold the dataflow's minimum tile."""
        need = min_gbuf_bytes(rows, cols, self.word_bits)
        if gbuf_kib * 1024 < need:
            raise HardwareConfigError(
                f"{where}: a {gbuf_kib:g} KiB buffer cannot hold the {self.dataflow} dataflow's minimum "
                f"tile on a {rows}x{cols} array ({need} bytes: one fold of the stationary operand plus "
                f"double-buffered edge vectors); give at least {need / 1024:.2f} KiB.")

    def layer_sc(self, layer: str | None) -> "SCHardware | None":
        """The SC settings one layer runs with (its precision override applied)."""
        p = self.precision.get(layer) if layer is not None else None
        return p.sc_for(self.sc) if p is not None and self.sc is not None else self.sc

    def layer_word_bits(self, layer: str | None) -> int:
        """The activation word width one layer runs with."""
        p = self.precision.get(layer) if layer is not None else None
        return p.word_bits if p is not None and p.word_bits is not None else self.word_bits

    def layer_weight_bits(self, layer: str | None) -> int:
        """The weight width one layer runs with (default: its activation width)."""
        p = self.precision.get(layer) if layer is not None else None
        return p.weight_bits if p is not None and p.weight_bits is not None else self.layer_word_bits(layer)

    def to_dict(self) -> dict:
        """Plain nested dict (layers as name -> [pes, gbuf_kib]; precision as name -> table)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)
             if f.name not in ("memory", "op", "sc", "layers", "precision")}
        d["memory"] = asdict(self.memory) | {"split": list(self.memory.split)}
        d["op"] = asdict(self.op)
        if self.sc is not None:
            d["sc"] = asdict(self.sc)
        if self.layers:
            d["layers"] = {k: [v.pes, v.gbuf_kib if v.gbuf_kib is not None else 0.0]
                           for k, v in self.layers.items()}
        if self.precision:
            d["precision"] = {k: {f: v for f, v in asdict(p).items() if v is not None}
                              for k, p in self.precision.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "AccelConfig":
        """Inverse of to_dict; unknown keys give a HardwareConfigError naming them."""
        if not isinstance(d, dict) or not d:
            what = "an empty file" if isinstance(d, dict) else f"a {type(d).__name__}"
            raise HardwareConfigError(f"an accelerator description must be a table of settings (kind, rows, "
                                      f"cols, dataflow, ...), not {what}; see configs/accel/*.toml.")
        d = dict(d)
        sub = {"memory": MemoryConfig, "op": OperatingPoint, "sc": SCHardware}
        kw: dict = {}
        for key, typ in sub.items():
            if key in d:
                kw[key] = _build(typ, d.pop(key), key)
        if "layers" in d:
            kw["layers"] = _layers(d.pop("layers"))
        if "precision" in d:
            kw["precision"] = _precision(d.pop("precision"))
        check_known(d, (f.name for f in fields(cls)), "accelerator settings", HardwareConfigError)
        return cls(**d, **kw)

    def with_(self, **changes: object) -> "AccelConfig":
        """Copy with top-level or sub-table fields changed (`memory__gbuf_kib=64` style)."""
        top = {k: v for k, v in changes.items() if "__" not in k}
        for k, v in changes.items():
            if "__" in k:
                part, name = k.split("__", 1)
                top[part] = replace(top.get(part, getattr(self, part)), **{name: v})
        return replace(self, **top)


def check_accel(accel: object) -> AccelConfig:
    """`accel` itself when it is an AccelConfig; else one sentence saying how to get one."""
    if not isinstance(accel, AccelConfig):
        raise HardwareConfigError(f"accel must be an AccelConfig (e.g. sc_accel.hw.presets()['spatial-16x16-kcp'] "
                                  f"or AccelConfig.from_dict(...)), not a {type(accel).__name__}.")
    return accel


def _layers(d: object) -> dict[str, LayerResources]:
    """[layers] as name -> [pes, gbuf_kib (0 = the array's)]."""
    try:
        return {str(k): LayerResources(int(v[0]), float(v[1]) or None) for k, v in d.items()}
    except (AttributeError, TypeError, ValueError, IndexError, OverflowError):
        raise HardwareConfigError(f"[layers] must map layer names to [pes, gbuf_kib] pairs, not {d!r}.") from None


def _precision(d: object) -> dict[str, LayerPrecision]:
    """[precision] as name -> {stream_length, word_bits}."""
    if not isinstance(d, dict):
        raise HardwareConfigError(f"[precision] must map layer names to tables such as {{stream_length = 64}}, "
                                  f"not {d!r}.")
    return {str(k): _build(LayerPrecision, v, f"precision.{k}") for k, v in d.items()}


def _build(typ: type, d: dict, where: str) -> object:
    if not isinstance(d, dict):
        raise HardwareConfigError(f"[{where}] must be a table of settings, not {d!r}.")
    check_known(d, (f.name for f in fields(typ)), f"{where} settings", HardwareConfigError)
    return typ(**d)


def min_gbuf_bytes(rows: int, cols: int, word_bits: int) -> int:
    """Smallest buffer a dataflow can run from: one rows x cols fold of the stationary operand
    plus double-buffered row and column edge vectors."""
    return -(-word_bits // 8) * (rows * cols + 2 * (rows + cols))


def _split(kw: dict) -> dict:
    """Route keyword arguments to the sub-configs by field name."""
    mem = {f.name for f in fields(MemoryConfig)}
    opp = {f.name for f in fields(OperatingPoint)}
    out: dict = {}
    m = {k: kw.pop(k) for k in list(kw) if k in mem}
    o = {k: kw.pop(k) for k in list(kw) if k in opp}
    if m:
        out["memory"] = MemoryConfig(**m)
    if o:
        out["op"] = OperatingPoint(**o)
    check_known(kw, (f.name for f in fields(AccelConfig)), "accelerator settings", HardwareConfigError,
                hint=f"memory settings are {sorted(mem)}, operating-point settings {sorted(opp)}")
    return {**kw, **out}


def systolic(rows: int = 32, cols: int = 32, dataflow: str = "ws", **kw: object) -> AccelConfig:
    """A SCALE-Sim-style systolic array; keywords: memory, operating-point or AccelConfig fields."""
    kw.setdefault("name", f"systolic-{rows}x{cols}-{dataflow}")
    return AccelConfig(kind="systolic", rows=rows, cols=cols, dataflow=dataflow, **_split(kw))


def spatial(rows: int = 16, cols: int = 16, dataflow: str = "kcp", **kw: object) -> AccelConfig:
    """A spatial PE array with a MAESTRO-family dataflow (kcp, rs, os)."""
    kw.setdefault("name", f"spatial-{rows}x{cols}-{dataflow}")
    return AccelConfig(kind="spatial", rows=rows, cols=cols, dataflow=dataflow, **_split(kw))


def sc_array(rows: int = 64, cols: int = 64, dataflow: str = "kcp", stream_length: int = 256,
             share: int = 1, sng: str = "lfsr", maxpool: str = "or", width: int | None = None,
             weight_stream: str | None = None, sng_share: str = "lane", counter_bits: int | None = None,
             edt_fraction: float = 1.0, sc_config: object = None, encoding: str = "unipolar",
             edt_checks: float | None = None, **kw: object) -> AccelConfig:
    """An SC PE array (AND gates, XNOR when bipolar, + counters); `sc_config` (an SCConfig)
    overrides the stream settings (length, SNG, sharing degree, width, max-pool domain, encoding)."""
    sc = SCHardware(stream_length, share, sng, width, maxpool, weight_stream, sng_share, counter_bits, edt_fraction,
                    encoding, edt_checks)
    if sc_config is not None:
        sc = SCHardware.from_sc_config(sc_config, base=sc)
        overrides = getattr(sc_config, "layers", {})  # the emulator's per-layer stream lengths
        kw.setdefault("precision", {n: LayerPrecision(stream_length=o["stream_length"])
                                    for n, o in overrides.items() if "stream_length" in o})
    kw.setdefault("name", f"sc-{rows}x{cols}-L{sc.stream_length}")
    return AccelConfig(kind="sc", rows=rows, cols=cols, dataflow=dataflow, sc=sc, **_split(kw))


def presets() -> dict[str, AccelConfig]:
    """The shipped presets (also written as configs/accel/NAME.toml)."""
    return {
        "systolic-32x32-ws": systolic(32, 32, "ws", name="systolic-32x32-ws"),
        "systolic-32x32-os": systolic(32, 32, "os", name="systolic-32x32-os"),
        "spatial-16x16-kcp": spatial(16, 16, "kcp", name="spatial-16x16-kcp"),
        "spatial-16x16-rs": spatial(16, 16, "rs", name="spatial-16x16-rs", local_bytes=512),
        "spatial-16x16-os": spatial(16, 16, "os", name="spatial-16x16-os"),
        "sc-64x64-L64": sc_array(64, 64, stream_length=64, name="sc-64x64-L64"),
        "sc-64x64-L256": sc_array(64, 64, stream_length=256, name="sc-64x64-L256"),
        "sc-64x64-L1024": sc_array(64, 64, stream_length=1024, name="sc-64x64-L1024"),
        "sc-64x64-buf-L256": sc_array(64, 64, stream_length=256, weight_stream="buffer", name="sc-64x64-buf-L256"),
        "sc-64x64-os-L256": sc_array(64, 64, "os", stream_length=256, name="sc-64x64-os-L256"),
    }
