"""The vectorized cost model: (layer, accelerator) pairs -> cycles, traffic, energy, area.

`evaluate(layers, accels)` takes the packed forms of `sc_accel.hw.packed` (`LayerArrays` from
`pack_layers`, `AccelArrays` from `pack_accels`, rows of equal length) and returns one array
per figure; `estimate()` and the searches both call it, so a scalar estimate and a batch of
a million candidates use the same formulas.

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
from sc_accel.hw.packed import LAYER_FIELDS, AccelArrays, LayerArrays
from sc_accel.hw.tables import DEFAULT_TABLE, CostTable, area_scale, energy_scale, mult_pj, sram_pj_per_byte
from sc_accel.hw.workload import WorkLayer

__all__ = ["pack_layers", "pack_accels", "pack_allocations", "evaluate",
           "dram_parts", "binary_pe_um2", "binary_mac_pj", "sc_pe_um2", "ENERGY_PARTS", "AREA_PARTS",
           "WSTREAM_CODES", "SNG_SHARE_CODES"]

ENERGY_PARTS = ("mac", "local", "sram", "dram", "sng", "stream_buf", "edt", "stream_pool")
AREA_PARTS = ("pe", "local", "gbuf", "sng")
_SNG = {"lfsr": 0, "sobol": 1, "vdc": 2, "counter": 2, "bernoulli": 0}
WSTREAM_CODES = {"regen": 0, "buffer": 1, "broadcast": 2}
SNG_SHARE_CODES = {"lane": 0, "row": 1, "column": 2, "array": 3}


def pack_layers(layers: list[WorkLayer]) -> LayerArrays:
    """Structure-of-arrays view of the layers (int64)."""
    uniq: dict[int, int] = {}
    index = np.array([uniq.setdefault(id(layer), len(uniq)) for layer in layers], dtype=np.int64)
    firsts = list({id(layer): layer for layer in layers}.values())
    cols = {f: np.array([getattr(layer, f) for layer in firsts], dtype=np.int64)[index] for f in LAYER_FIELDS[1:]}
    return LayerArrays(op=np.array([OP_CODES[layer.op] for layer in firsts], dtype=np.int64)[index], **cols)


def _accel_row(accel: AccelConfig, layer: str | None) -> dict:
    """One accelerator's ACCEL_FIELDS as Python scalars, `layer`'s resources and precision applied."""
    rows, cols, gbuf = accel.rows, accel.cols, accel.memory.gbuf_kib
    res = accel.layers.get(layer) if layer is not None else None
    if res is not None:
        rows, cols = accel.shape_for(res.pes)
        gbuf = res.gbuf_kib or gbuf
    df = "sos" if accel.dataflow == "os" and accel.kind != "systolic" else accel.dataflow
    sc, word_bits = accel.layer_sc(layer), accel.layer_word_bits(layer)  # per-layer precision, if any
    w_bits = accel.layer_weight_bits(layer)
    wb = -(-word_bits // 8)
    mem = accel.memory
    return {"kind": KIND_CODES[accel.kind], "df": DF_CODES[df], "rows": rows, "cols": cols,
            "gbuf_bytes": gbuf * 1024.0, **_parts(mem.split, gbuf), "local_bytes": mem.local_bytes,
            "local_words": mem.local_bytes // wb, "word_bits": word_bits, "hw_word_bits": accel.word_bits,
            "w_word_bits": w_bits, "w_word_bytes": -(-w_bits // 8), "word_bytes": wb,
            "acc_bytes": -(-accel.acc_bits // 8),
            "dram_bw": mem.dram_bytes_per_cycle, "gbuf_bw": mem.gbuf_bytes_per_cycle,
            "freq_hz": accel.op.freq_mhz * 1e6, "voltage": accel.op.voltage, "node_nm": accel.op.node_nm,
            "L": sc.stream_length if sc else 1, "share": sc.share if sc else 1,
            "width": sc.width if sc else word_bits, "sng": _SNG[sc.sng] if sc else 0,
            "stream_pool": int(bool(sc) and sc.maxpool == "or"),
            "wstream": WSTREAM_CODES.get(accel.weight_stream, 0),
            "sng_share": SNG_SHARE_CODES[sc.sng_share] if sc else 0,
            "counter_bits": sc.counter_width if sc else 0, "edt": sc.edt_fraction if sc else 1.0,
            "edt_net": int(bool(sc) and sc.edt_checks is not None),
            "bipolar": int(bool(sc) and sc.encoding == "bipolar")}


def _parts(split: tuple[float, float, float], gbuf_kib: float | np.ndarray) -> dict:
    """The buffer's ifmap, filter and ofmap parts in bytes (`split` gives their relative sizes)."""
    total = sum(split)
    return {f"{k}_buf_bytes": gbuf_kib * 1024.0 * v / total for k, v in zip(("i", "w", "o"), split)}


def pack_accels(accels: list[AccelConfig], layer_names: list[str | None] | None = None) -> AccelArrays:
    """Structure-of-arrays view of accelerators, one row each; `layer_names[i]` applies that
    layer's per-layer resources of accels[i]."""
    names = layer_names if layer_names is not None else [None] * len(accels)
    keys = [(id(accel), n if (accel.layers or accel.precision) else None) for accel, n in zip(accels, names)]
    uniq: dict[tuple, int] = {}
    index = np.array([uniq.setdefault(k, len(uniq)) for k in keys], dtype=np.int64)
    first = {k: (accel, n) for k, accel, n in zip(keys, accels, names)}
    rows = [_accel_row(*first[k]) for k in uniq]
    return AccelArrays(**{k: np.array([r[k] for r in rows])[index] for k in rows[0]})  # a key amiss: TypeError


def pack_allocations(accel: AccelConfig, pes: np.ndarray, gbuf_kib: np.ndarray) -> AccelArrays:
    """Rows of `accel` that differ only in their PE count and buffer size, laid out as
    `LayerResources` are (rows of `accel.cols` PEs, `AccelConfig.shape_for`), so a search can
    score thousands of per-layer allocations in one `evaluate` call without building an
    AccelConfig for each. Row i equals `pack_accels` of `accel` with `layers={name:
    LayerResources(pes[i], gbuf_kib[i])}`; whether the buffer holds the dataflow's minimum
    tile is the caller's check (`min_gbuf_bytes`)."""
    pes = np.asarray(pes, dtype=np.int64)
    kib = np.asarray(gbuf_kib, dtype=np.float64)
    out = {k: np.full(len(pes), v) for k, v in _accel_row(accel, None).items()}
    out["cols"] = np.minimum(accel.cols, pes)
    out["rows"] = np.maximum(1, pes // out["cols"])
    out["gbuf_bytes"] = kib * 1024.0
    out.update(_parts(accel.memory.split, kib))
    return AccelArrays(**out)


def dram_parts(lay: LayerArrays, acc: AccelArrays, conv: dict, is_conv: np.ndarray) -> dict[str, np.ndarray]:
    """DRAM bytes of a layer by operand (weights, inputs, outputs, psum spills) under its
    dataflow's loop order (`dataflows` module docstring): an operand is re-fetched per pass
    unless its reused tile fits half of its buffer part; partial sums that do not fit the
    output part are written and read back per extra fold. Zero-MAC layers read their inputs
    and write their outputs once."""
    wb, wwb, ab, G = acc.word_bytes, acc.w_word_bytes, acc.acc_bytes, lay.G
    w_mult = np.where(conv["w_tile"] * wwb <= acc.w_buf_bytes / 2, 1, conv["w_passes"])
    i_fits = conv["i_tile"] * wb <= acc.i_buf_bytes / 2
    inputs = np.where(i_fits, touched_inputs(lay), conv["i_passes"] * conv["i_pass"] * G) * wb
    spill = (conv["psum_folds"] > 1) & (conv["psum_tile"] * ab > acc.o_buf_bytes)
    psum = np.where(spill, 2 * (conv["psum_folds"] - 1) * lay.out_elems * ab, 0)
    return {"weights": np.where(is_conv, lay.w_elems * wwb * w_mult, 0).astype(np.float64),
            "inputs": np.where(is_conv, inputs, lay.in_elems * wb).astype(np.float64),
            "outputs": (lay.out_elems * wb).astype(np.float64),
            "psum": np.where(is_conv, psum, 0).astype(np.float64)}


def _traffic(lay: LayerArrays, acc: AccelArrays, conv: dict, is_conv: np.ndarray) -> dict:
    wb, ab = acc.word_bytes, acc.acc_bytes
    dram = sum(dram_parts(lay, acc, conv, is_conv).values())
    in_r = np.where(is_conv, conv["in_reads"], lay.in_elems)
    w_r = np.where(is_conv, conv["w_reads"], 0)
    psum = np.where(is_conv, conv["out_writes"] - lay.out_elems + conv["psum_reads"], 0)
    sram = (in_r + lay.out_elems) * wb + w_r * acc.w_word_bytes + psum * ab + dram
    return {"dram_bytes": dram, "sram_bytes": sram.astype(np.float64)}


def _sc_sources(acc: AccelArrays, in_lanes: np.ndarray, w_lanes: np.ndarray) -> np.ndarray:
    """SNG sources: `share` lanes per source, one per PE row / column, or one per operand."""
    share = acc.sng_share
    lane = -(-in_lanes // acc.share) + -(-w_lanes // acc.share)
    row = np.minimum(in_lanes, acc.rows) + np.minimum(w_lanes, acc.rows)
    col = np.minimum(in_lanes, acc.cols) + np.minimum(w_lanes, acc.cols)
    return np.select([share == 0, share == 1, share == 2], [lane, row, col], 2 + 0 * lane)


def _sc_gates(lay: LayerArrays, acc: AccelArrays, conv: dict, is_conv: np.ndarray, pool_stream: np.ndarray) -> dict:
    """Bit-cycle counts of the SC datapath: AND gates, counter increments, comparator
    conversions, SNG source steps, stream-buffer writes/reads, EDT checks, OR gates."""
    L = acc.L
    pes = acc.rows * acc.cols
    # early decision termination: a conv layer runs ceil(edt * L) cycles of its stream
    L_run = np.where(is_conv, np.ceil(acc.edt * L), L).astype(np.int64)
    binary_cycles = np.where(is_conv, conv["cycles"], 0)
    # weights: regen re-streams the stationary weight for every product; buffer converts each
    # weight read once into the PE's stream buffer and replays it; broadcast converts each
    # weight read once and fans it out (os). The streamed operand is converted once per read.
    regen = acc.wstream == WSTREAM_CODES["regen"]
    buffered = acc.wstream == WSTREAM_CODES["buffer"]
    weight_streams = np.where(regen, lay.macs, conv["w_reads"])
    window = lay.R * lay.S
    pool_bits = np.where(pool_stream, lay.out_elems * window, 0)
    pool_cycles = np.where(pool_stream, -(-(lay.out_elems * window) // pes), 0)
    in_lanes, w_lanes = sc_lanes(acc.rows, acc.cols, acc.df)
    # buffer: one loading converter per column; regen on os: every PE regenerates its copy
    w_lanes = np.where(buffered, acc.cols, np.where(regen, np.maximum(w_lanes, pes), w_lanes))
    sources = _sc_sources(acc, in_lanes, w_lanes)
    compare_bits = np.where(is_conv, (conv["in_reads"] + weight_streams) * L_run, 0) + pool_bits * L
    fanout = (in_lanes + w_lanes) / sources  # comparators one source step feeds
    return {"cycles": binary_cycles * L_run + pool_cycles * L, "and_bits": lay.macs * L_run,
            "counter_bits": lay.macs * L_run + lay.out_elems * pool_stream * L,
            "compare_bits": compare_bits, "source_steps": np.ceil(compare_bits / fanout),
            "buf_write_bits": np.where(buffered & is_conv, conv["w_reads"] * L_run, 0),
            "buf_read_bits": np.where(buffered, lay.macs * L_run, 0),
            "edt_checks": np.where(is_conv & (acc.edt < 1.0) & (acc.edt_net == 0), lay.out_elems * L_run, 0),
            "or_bits": pool_bits * L, "converters": in_lanes + w_lanes, "sources": sources,
            "buffered": buffered}


def _sng_step_pj(acc: AccelArrays, t: CostTable) -> np.ndarray:
    """Energy of one SNG source step: an LFSR clocks `width` flip-flops and ~3 XORs; a Sobol
    source a counter plus a direction-vector register (2 x width flip-flops); a counter or
    van der Corput source `width` flip-flops."""
    w = acc.width
    dffs = np.where(acc.sng == 1, 2 * w, w)
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


def _sc_area_parts(acc: AccelArrays, gates: dict, t: CostTable) -> dict:
    """Per-PE area (AND gate, counter, stream buffer of L latches when buffered, calibration
    extra) and the converters' and sources' area."""
    w = acc.width
    pe = sc_pe_um2(acc.counter_bits, t, acc.bipolar) + np.where(gates["buffered"], acc.L * t.latch_um2, 0.0)
    comparator = t.add8_um2 * w / 8.0
    source = np.where(acc.sng == 1, 2 * w * t.dff_um2 + w * t.xor_um2, w * t.dff_um2 + 3 * t.xor_um2)
    return {"pe": pe, "sng": gates["converters"] * comparator + gates["sources"] * source}


def _sc_energy_parts(acc: AccelArrays, gates: dict, t: CostTable) -> dict:
    """SC energies (pJ at 45 nm, 0.9 V) by part. A stream-buffer read is a log2(L)-level
    multiplexer (one gate per level), a write one latch toggle; an EDT check compares the
    counter against the decision threshold (one gate per counter bit)."""
    gate_pj = np.where(acc.bipolar > 0, t.xnor_pj, t.and_pj)  # the multiplier: AND, or XNOR when bipolar
    mac = (gates["and_bits"] * gate_pj + gates["counter_bits"] * t.counter_pj
           + gates["and_bits"] * t.sc_pe_extra_pj)
    sng = gates["compare_bits"] * t.comparator8_pj * acc.width / 8.0 + gates["source_steps"] * _sng_step_pj(acc, t)
    buf = gates["buf_write_bits"] * t.latch_pj + gates["buf_read_bits"] * t.and_pj * acc.width
    return {"mac": mac, "sng": sng, "stream_buf": buf, "edt": gates["edt_checks"] * t.and_pj * acc.counter_bits,
            "stream_pool": gates["or_bits"] * t.or_pj}


def evaluate(lay: LayerArrays, acc: AccelArrays, table: CostTable = DEFAULT_TABLE) -> dict[str, np.ndarray]:
    """Cycles, traffic, energy (pJ, by part) and area (um^2, by part) of each (layer, accel) row."""
    t = table
    is_conv = lay.op == OP_CODES["conv"]
    is_sc = acc.kind == KIND_CODES["sc"]
    conv = conv_dataflow(lay, acc)
    pes = acc.rows * acc.cols
    pool_stream = is_sc & (acc.stream_pool == 1) & (lay.op == OP_CODES["maxpool"])
    gates = _sc_gates(lay, acc, conv, is_conv, pool_stream)
    compute = np.where(is_sc, gates["cycles"], np.where(is_conv, conv["cycles"], 0)).astype(np.float64)
    tr = _traffic(lay, acc, conv, is_conv)
    latency = np.maximum(compute, np.maximum(tr["dram_bytes"] / acc.dram_bw, tr["sram_bytes"] / acc.gbuf_bw))
    escale = energy_scale(acc.voltage, acc.node_nm)
    mac_bin = binary_mac_pj(np.sqrt(acc.word_bits * acc.w_word_bits), t)  # (act x weight bits) / 64
    sc_e = _sc_energy_parts(acc, gates, t)
    zero = np.zeros(len(is_sc))
    energy = {
        "mac": np.where(is_sc, sc_e["mac"], lay.macs * mac_bin) * escale,
        "local": np.where(is_sc, 0.0, lay.macs * (acc.word_bytes + acc.w_word_bytes + 2 * acc.acc_bytes)
                          * t.rf_pj_per_byte) * escale,
        "sram": tr["sram_bytes"] * sram_pj_per_byte(acc.gbuf_bytes, t) * escale,
        "dram": tr["dram_bytes"] * t.dram_pj_per_byte,
        **{k: np.where(is_sc, sc_e[k], zero) * escale for k in ("sng", "stream_buf", "edt", "stream_pool")},
    }
    ascale = area_scale(acc.node_nm)
    sc_area = _sc_area_parts(acc, gates, t)
    bin_pe = binary_pe_um2(acc.hw_word_bits, t)  # the array's multipliers, whatever a layer uses
    area = {
        "pe": pes * np.where(is_sc, sc_area["pe"], bin_pe) * ascale,
        "local": np.where(is_sc, 0.0, pes * acc.local_bytes * 8 * t.rf_um2_per_bit) * ascale,
        "gbuf": acc.gbuf_bytes * 8 * t.sram_um2_per_bit * ascale,
        "sng": np.where(is_sc, sc_area["sng"], 0.0) * ascale,
    }
    out = {"pes": pes, "compute_cycles": compute, "latency_cycles": latency, "latency_s": latency / acc.freq_hz,
           "dram_bytes": tr["dram_bytes"], "sram_bytes": tr["sram_bytes"],
           "utilization": np.where(compute > 0,
                                   np.where(is_sc, gates["and_bits"], lay.macs) / np.maximum(compute * pes, 1), 0.0),
           "energy_pj": sum(energy.values()), "area_um2": sum(area.values())}
    out.update({f"energy_{k}_pj": v for k, v in energy.items()})
    out.update({f"area_{k}_um2": v for k, v in area.items()})
    return out
