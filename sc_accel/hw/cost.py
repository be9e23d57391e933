"""The vectorized cost model: (layer, accelerator) pairs -> cycles, traffic, energy, area.

`evaluate(layers, accels)` takes two dicts of equal-length arrays (`pack_layers`,
`pack_accels`) and returns one array per figure; `estimate()` and the searches both call
it, so a scalar estimate and a batch of a million candidates use the same formulas.

Memory hierarchy, per layer (layer-by-layer execution, nothing fused across layers):
- DRAM: follows the dataflow's loop order and the buffer split into ifmap, filter and
  ofmap parts (`dataflows`): the stationary/outer operand is fetched once when its tile
  fits half its part, the streamed operand once when all of it fits, otherwise once per
  pass of the loop that re-reads it; partial sums that do not fit the ofmap part spill
  (written and read back once per extra accumulation fold); outputs are written once.
- global buffer: the dataflow's operand reads, output writes and partial-sum spills
  (`dataflows`), plus the DRAM fills and drains.
- PE-local: two operand reads and a partial-sum read-modify-write per MAC (binary PEs);
  SC PEs keep their partial sums in counters instead.
Latency: compute cycles bounded by each level's bandwidth (double buffering overlaps
them), latency = max(compute, DRAM bytes / DRAM bandwidth, buffer bytes / buffer
bandwidth). Zero-MAC layers (pooling, add, concat, eltwise) cost only their traffic,
except max pooling on an SC array in the stream domain (OR gates + counters).
"""

from __future__ import annotations

import numpy as np

from sc_accel.hw.config import AccelConfig
from sc_accel.hw.dataflows import DF_CODES, KIND_CODES, OP_CODES, conv_dataflow, sc_lanes, touched_inputs
from sc_accel.hw.tables import DEFAULT_TABLE, CostTable, area_scale, energy_scale, mult_pj, sram_pj_per_byte
from sc_accel.hw.workload import WorkLayer

__all__ = ["pack_layers", "pack_accels", "pack_allocations", "evaluate",
           "dram_parts", "binary_pe_um2", "binary_mac_pj", "sc_pe_um2", "ENERGY_PARTS", "AREA_PARTS", "LAYER_FIELDS"]

LAYER_FIELDS = ("op", "B", "C", "K", "G", "P", "Q", "R", "S", "stride", "in_elems", "out_elems", "w_elems", "macs")
ENERGY_PARTS = ("mac", "local", "sram", "dram", "sng", "stream_buf", "edt", "stream_pool")
AREA_PARTS = ("pe", "local", "gbuf", "sng")
_SNG = {"lfsr": 0, "sobol": 1, "vdc": 2, "counter": 2, "bernoulli": 0}
WSTREAM_CODES = {"regen": 0, "buffer": 1, "broadcast": 2}
SNG_SHARE_CODES = {"lane": 0, "row": 1, "column": 2, "array": 3}


def pack_layers(layers: list[WorkLayer]) -> dict[str, np.ndarray]:
    """Structure-of-arrays view of the layers (int64)."""
    uniq: dict[int, int] = {}
    index = np.array([uniq.setdefault(id(l), len(uniq)) for l in layers], dtype=np.int64)
    firsts = list({id(l): l for l in layers}.values())
    out = {f: np.array([getattr(l, f) for l in firsts], dtype=np.int64)[index] for f in LAYER_FIELDS[1:]}
    out["op"] = np.array([OP_CODES[l.op] for l in firsts], dtype=np.int64)[index]
    return out


def _accel_row(a: AccelConfig, layer: str | None) -> dict:
    rows, cols, gbuf = a.rows, a.cols, a.memory.gbuf_kib
    res = a.layers.get(layer) if layer is not None else None
    if res is not None:
        rows, cols = a.shape_for(res.pes)
        gbuf = res.gbuf_kib or gbuf
    df = "sos" if a.dataflow == "os" and a.kind != "systolic" else a.dataflow
    sc, word_bits = a.layer_sc(layer), a.layer_word_bits(layer)  # per-layer precision, if any
    w_bits = a.layer_weight_bits(layer)
    wb = -(-word_bits // 8)
    return {"kind": KIND_CODES[a.kind], "df": DF_CODES[df], "rows": rows, "cols": cols,
            "gbuf_bytes": gbuf * 1024.0, **_parts(a.memory.split, gbuf), "local_bytes": a.memory.local_bytes,
            "local_words": a.memory.local_bytes // wb, "word_bits": word_bits, "hw_word_bits": a.word_bits,
            "w_word_bits": w_bits, "w_word_bytes": -(-w_bits // 8), "word_bytes": wb, "acc_bytes": -(-a.acc_bits // 8),
            "dram_bw": a.memory.dram_bytes_per_cycle, "gbuf_bw": a.memory.gbuf_bytes_per_cycle,
            "freq_hz": a.op.freq_mhz * 1e6, "voltage": a.op.voltage, "node_nm": a.op.node_nm,
            "L": sc.stream_length if sc else 1, "share": sc.share if sc else 1,
            "width": sc.width if sc else word_bits, "sng": _SNG[sc.sng] if sc else 0,
            "stream_pool": int(bool(sc) and sc.maxpool == "or"),
            "wstream": WSTREAM_CODES.get(a.weight_stream, 0), "sng_share": SNG_SHARE_CODES[sc.sng_share] if sc else 0,
            "counter_bits": sc.counter_width if sc else 0, "edt": sc.edt_fraction if sc else 1.0,
            "bipolar": int(bool(sc) and sc.encoding == "bipolar")}


def _parts(split: tuple[float, float, float], gbuf_kib: float) -> dict:
    total = sum(split)
    return {f"{k}_buf_bytes": gbuf_kib * 1024.0 * v / total for k, v in zip(("i", "w", "o"), split)}


def pack_accels(accels: list[AccelConfig], layer_names: list[str | None] | None = None) -> dict[str, np.ndarray]:
    """Structure-of-arrays view of accelerators, one row each; `layer_names[i]` applies that
    layer's per-layer resources of accels[i]."""
    names = layer_names if layer_names is not None else [None] * len(accels)
    keys = [(id(a), n if (a.layers or a.precision) else None) for a, n in zip(accels, names)]
    uniq: dict[tuple, int] = {}
    index = np.array([uniq.setdefault(k, len(uniq)) for k in keys], dtype=np.int64)
    first = {k: (a, n) for k, a, n in zip(keys, accels, names)}
    rows = [_accel_row(*first[k]) for k in uniq]
    return {k: np.array([r[k] for r in rows])[index] for k in rows[0]}


def pack_allocations(accel: AccelConfig, pes: np.ndarray, gbuf_kib: np.ndarray) -> dict[str, np.ndarray]:
    """Rows of `accel` that differ only in their PE count and buffer size, laid out as
    `LayerResources` are (rows of `accel.cols` PEs, `AccelConfig.shape_for`), so a search can
    score thousands of per-layer allocations in one `evaluate` call without building an
    AccelConfig for each. Row i equals `pack_accels` of `accel` with `layers={name:
    LayerResources(pes[i], gbuf_kib[i])}`; whether the buffer holds the dataflow's minimum
    tile is the caller's check (`min_gbuf_bytes`)."""
    pes = np.asarray(pes, dtype=np.int64)
    kib = np.asarray(gbuf_kib, dtype=np.float64)
    base = _accel_row(accel, None)
    out = {k: np.full(len(pes), v) for k, v in base.items()}
    out["cols"] = np.minimum(accel.cols, pes)
    out["rows"] = np.maximum(1, pes // out["cols"])
    out["gbuf_bytes"] = kib * 1024.0
    total = sum(accel.memory.split)
    for k, v in zip(("i", "w", "o"), accel.memory.split):
        out[f"{k}_buf_bytes"] = kib * 1024.0 * v / total
    return out


def dram_parts(l: dict, a: dict, conv: dict, is_conv: np.ndarray) -> dict[str, np.ndarray]:
    """DRAM bytes of a layer by operand (weights, inputs, outputs, psum spills) under its
    dataflow's loop order (`dataflows` module docstring): an operand is re-fetched per pass
    unless its reused tile fits half of its buffer part; partial sums that do not fit the
    output part are written and read back per extra fold. Zero-MAC layers read their inputs
    and write their outputs once."""
    wb, wwb, ab, G = a["word_bytes"], a["w_word_bytes"], a["acc_bytes"], l["G"]
    w_mult = np.where(conv["w_tile"] * wwb <= a["w_buf_bytes"] / 2, 1, conv["w_passes"])
    i_fits = conv["i_tile"] * wb <= a["i_buf_bytes"] / 2
    inputs = np.where(i_fits, touched_inputs(l), conv["i_passes"] * conv["i_pass"] * G) * wb
    spill = (conv["psum_folds"] > 1) & (conv["psum_tile"] * ab > a["o_buf_bytes"])
    psum = np.where(spill, 2 * (conv["psum_folds"] - 1) * l["out_elems"] * ab, 0)
    return {"weights": np.where(is_conv, l["w_elems"] * wwb * w_mult, 0).astype(np.float64),
            "inputs": np.where(is_conv, inputs, l["in_elems"] * wb).astype(np.float64),
            "outputs": (l["out_elems"] * wb).astype(np.float64),
            "psum": np.where(is_conv, psum, 0).astype(np.float64)}


def _traffic(l: dict, a: dict, conv: dict, is_conv: np.ndarray) -> dict:
    wb, ab = a["word_bytes"], a["acc_bytes"]
    dram = sum(dram_parts(l, a, conv, is_conv).values())
    in_r = np.where(is_conv, conv["in_reads"], l["in_elems"])
    w_r = np.where(is_conv, conv["w_reads"], 0)
    psum = np.where(is_conv, conv["out_writes"] - l["out_elems"] + conv["psum_reads"], 0)
    sram = (in_r + l["out_elems"]) * wb + w_r * a["w_word_bytes"] + psum * ab + dram
    return {"dram_bytes": dram, "sram_bytes": sram.astype(np.float64)}


def _sc_sources(a: dict, in_lanes: np.ndarray, w_lanes: np.ndarray) -> np.ndarray:
    """SNG sources: `share` lanes per source, one per PE row / column, or one per operand."""
    share = a["sng_share"]
    lane = -(-in_lanes // a["share"]) + -(-w_lanes // a["share"])
    row = np.minimum(in_lanes, a["rows"]) + np.minimum(w_lanes, a["rows"])
    col = np.minimum(in_lanes, a["cols"]) + np.minimum(w_lanes, a["cols"])
    return np.select([share == 0, share == 1, share == 2], [lane, row, col], 2 + 0 * lane)


def _sc_gates(l: dict, a: dict, conv: dict, is_conv: np.ndarray, pool_stream: np.ndarray) -> dict:
    """Bit-cycle counts of the SC datapath: AND gates, counter increments, comparator
    conversions, SNG source steps, stream-buffer writes/reads, EDT checks, OR gates."""
    L = a["L"]
    pes = a["rows"] * a["cols"]
    # early decision termination: a conv layer runs ceil(edt * L) cycles of its stream
    L_run = np.where(is_conv, np.ceil(a["edt"] * L), L).astype(np.int64)
    binary_cycles = np.where(is_conv, conv["cycles"], 0)
    # weights: regen re-streams the stationary weight for every product; buffer converts each
    # weight read once into the PE's stream buffer and replays it; broadcast converts each
    # weight read once and fans it out (os). The streamed operand is converted once per read.
    regen = a["wstream"] == WSTREAM_CODES["regen"]
    buffered = a["wstream"] == WSTREAM_CODES["buffer"]
    weight_streams = np.where(regen, l["macs"], conv["w_reads"])
    window = l["R"] * l["S"]
    pool_bits = np.where(pool_stream, l["out_elems"] * window, 0)
    pool_cycles = np.where(pool_stream, -(-(l["out_elems"] * window) // pes), 0)
    in_lanes, w_lanes = sc_lanes(a["rows"], a["cols"], a["df"])
    # buffer: one loading converter per column; regen on os: every PE regenerates its copy
    w_lanes = np.where(buffered, a["cols"], np.where(regen, np.maximum(w_lanes, pes), w_lanes))
    sources = _sc_sources(a, in_lanes, w_lanes)
    compare_bits = np.where(is_conv, (conv["in_reads"] + weight_streams) * L_run, 0) + pool_bits * L
    fanout = (in_lanes + w_lanes) / sources  # comparators one source step feeds
    return {"cycles": binary_cycles * L_run + pool_cycles * L, "and_bits": l["macs"] * L_run,
            "counter_bits": l["macs"] * L_run + l["out_elems"] * pool_stream * L,
            "compare_bits": compare_bits, "source_steps": np.ceil(compare_bits / fanout),
            "buf_write_bits": np.where(buffered & is_conv, conv["w_reads"] * L_run, 0),
            "buf_read_bits": np.where(buffered, l["macs"] * L_run, 0),
            "edt_checks": np.where(is_conv & (a["edt"] < 1.0), l["out_elems"] * L_run, 0),
            "or_bits": pool_bits * L, "converters": in_lanes + w_lanes, "sources": sources,
            "buffered": buffered}


def _sng_step_pj(a: dict, t: CostTable) -> np.ndarray:
    """Energy of one SNG source step: an LFSR clocks `width` flip-flops and ~3 XORs; a Sobol
    source a counter plus a direction-vector register (2 x width flip-flops); a counter or
    van der Corput source `width` flip-flops."""
    w = a["width"]
    dffs = np.where(a["sng"] == 1, 2 * w, w)
    return dffs * t.dff_pj + 3 * t.and_pj


def binary_pe_um2(word_bits: np.ndarray | int, t: CostTable = DEFAULT_TABLE) -> np.ndarray:
    """One binary PE: multiplier (scaled by (bits / 8)^2) and 32-bit adder."""
    return t.mult8_um2 * (np.asarray(word_bits, dtype=np.float64) / 8.0) ** 2 + t.add32_um2


def binary_mac_pj(word_bits: np.ndarray | int, t: CostTable = DEFAULT_TABLE) -> np.ndarray:
    """One binary MAC: multiply and 32-bit add."""
    return mult_pj(word_bits, t) + t.add32_pj


def sc_pe_um2(counter_bits: np.ndarray | int, t: CostTable = DEFAULT_TABLE,
              bipolar: np.ndarray | int = 0) -> np.ndarray:
    """One SC PE without a stream buffer: AND gate (XNOR when bipolar), counter, calibration extra."""
    gate = np.where(np.asarray(bipolar) > 0, t.xnor_um2, t.and_um2)
    return gate + np.asarray(counter_bits) * (t.dff_um2 + t.ha_um2) + t.sc_pe_extra_um2


def _sc_area_parts(a: dict, gates: dict, t: CostTable) -> dict:
    """Per-PE area (AND gate, counter, stream buffer of L latches when buffered, calibration
    extra) and the converters' and sources' area."""
    w = a["width"]
    pe = sc_pe_um2(a["counter_bits"], t, a["bipolar"]) + np.where(gates["buffered"], a["L"] * t.latch_um2, 0.0)
    comparator = t.add8_um2 * w / 8.0
    source = np.where(a["sng"] == 1, 2 * w * t.dff_um2 + w * t.xor_um2, w * t.dff_um2 + 3 * t.xor_um2)
    return {"pe": pe, "sng": gates["converters"] * comparator + gates["sources"] * source}


def _sc_energy_parts(a: dict, gates: dict, t: CostTable) -> dict:
    """SC energies (pJ at 45 nm, 0.9 V) by part. A stream-buffer read is a log2(L)-level
    multiplexer (one gate per level), a write one latch toggle; an EDT check compares the
    counter against the decision threshold (one gate per counter bit)."""
    gate_pj = np.where(a["bipolar"] > 0, t.xnor_pj, t.and_pj)  # the multiplier: AND, or XNOR when bipolar
    mac = (gates["and_bits"] * gate_pj + gates["counter_bits"] * t.counter_pj
           + gates["and_bits"] * t.sc_pe_extra_pj)
    sng = gates["compare_bits"] * t.comparator8_pj * a["width"] / 8.0 + gates["source_steps"] * _sng_step_pj(a, t)
    buf = gates["buf_write_bits"] * t.latch_pj + gates["buf_read_bits"] * t.and_pj * a["width"]
    return {"mac": mac, "sng": sng, "stream_buf": buf, "edt": gates["edt_checks"] * t.and_pj * a["counter_bits"],
            "stream_pool": gates["or_bits"] * t.or_pj}


def evaluate(l: dict, a: dict, table: CostTable = DEFAULT_TABLE) -> dict[str, np.ndarray]:
    """Cycles, traffic, energy (pJ, by part) and area (um^2, by part) of each (layer, accel) row."""
    t = table
    is_conv = l["op"] == OP_CODES["conv"]
    is_sc = a["kind"] == KIND_CODES["sc"]
    conv = conv_dataflow(l, a)
    pes = a["rows"] * a["cols"]
    pool_stream = is_sc & (a["stream_pool"] == 1) & (l["op"] == OP_CODES["maxpool"])
    gates = _sc_gates(l, a, conv, is_conv, pool_stream)
    compute = np.where(is_sc, gates["cycles"], np.where(is_conv, conv["cycles"], 0)).astype(np.float64)
    tr = _traffic(l, a, conv, is_conv)
    latency = np.maximum(compute, np.maximum(tr["dram_bytes"] / a["dram_bw"], tr["sram_bytes"] / a["gbuf_bw"]))
    escale = energy_scale(a["voltage"], a["node_nm"])
    mac_bin = binary_mac_pj(np.sqrt(a["word_bits"] * a["w_word_bits"]), t)  # (act x weight bits) / 64
    sc_e = _sc_energy_parts(a, gates, t)
    zero = np.zeros(len(is_sc))
    energy = {
        "mac": np.where(is_sc, sc_e["mac"], l["macs"] * mac_bin) * escale,
        "local": np.where(is_sc, 0.0, l["macs"] * (a["word_bytes"] + a["w_word_bytes"] + 2 * a["acc_bytes"])
                          * t.rf_pj_per_byte) * escale,
        "sram": tr["sram_bytes"] * sram_pj_per_byte(a["gbuf_bytes"], t) * escale,
        "dram": tr["dram_bytes"] * t.dram_pj_per_byte,
        **{k: np.where(is_sc, sc_e[k], zero) * escale for k in ("sng", "stream_buf", "edt", "stream_pool")},
    }
    ascale = area_scale(a["node_nm"])
    sc_area = _sc_area_parts(a, gates, t)
    bin_pe = binary_pe_um2(a["hw_word_bits"], t)  # the array's multipliers, whatever a layer uses
    area = {
        "pe": pes * np.where(is_sc, sc_area["pe"], bin_pe) * ascale,
        "local": np.where(is_sc, 0.0, pes * a["local_bytes"] * 8 * t.rf_um2_per_bit) * ascale,
        "gbuf": a["gbuf_bytes"] * 8 * t.sram_um2_per_bit * ascale,
        "sng": np.where(is_sc, sc_area["sng"], 0.0) * ascale,
    }
    out = {"pes": pes, "compute_cycles": compute, "latency_cycles": latency, "latency_s": latency / a["freq_hz"],
           "dram_bytes": tr["dram_bytes"], "sram_bytes": tr["sram_bytes"],
           "utilization": np.where(compute > 0, np.where(is_sc, gates["and_bits"], l["macs"]) / np.maximum(compute * pes, 1),
                                   0.0),
           "energy_pj": sum(energy.values()), "area_um2": sum(area.values())}
    out.update({f"energy_{k}_pj": v for k, v in energy.items()})
    out.update({f"area_{k}_um2": v for k, v in area.items()})
    return out
