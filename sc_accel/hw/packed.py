"""The estimator's packed forms: one numpy array per field, one row per (layer, accelerator) pair.

`cost.pack_layers` and `cost.pack_accels` / `cost.pack_allocations` build them; `cost.evaluate`
and the dataflow models read them as attributes, so a misspelt field is an AttributeError
where it is written, and the fields, their meanings and units are listed here once.
`LAYER_FIELDS` and `ACCEL_FIELDS` name the fields in order.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

__all__ = ["LayerArrays", "AccelArrays", "LAYER_FIELDS", "ACCEL_FIELDS"]


@dataclass(frozen=True)
class LayerArrays:
    """Layers in GEMM terms (int64 arrays, `WorkLayer`'s fields; counts cover the whole batch)."""

    op: np.ndarray  # operation, as dataflows.OP_CODES (conv, dwconv and linear share code 0)
    B: np.ndarray  # batch (images)
    C: np.ndarray  # input channels
    K: np.ndarray  # output channels (filters)
    G: np.ndarray  # groups (C for a depthwise conv)
    P: np.ndarray  # output rows (pixels)
    Q: np.ndarray  # output columns (pixels)
    R: np.ndarray  # kernel rows (taps)
    S: np.ndarray  # kernel columns (taps)
    stride: np.ndarray  # stride (pixels)
    in_elems: np.ndarray  # input elements, every input tensor (elements)
    out_elems: np.ndarray  # output elements (elements)
    w_elems: np.ndarray  # weight elements (elements)
    macs: np.ndarray  # multiply-accumulates

    def __len__(self) -> int:
        return len(self.op)

    def take(self, index: np.ndarray) -> LayerArrays:
        """The rows at `index` (repeats allowed), e.g. one row per (layer, allocation) pair."""
        return LayerArrays(**{f: getattr(self, f)[index] for f in LAYER_FIELDS})


@dataclass(frozen=True)
class AccelArrays:
    """Accelerators, one row each, with the per-layer resources and precision of the layer
    they run in that row already applied."""

    kind: np.ndarray  # array kind, as dataflows.KIND_CODES (systolic, spatial, sc)
    df: np.ndarray  # dataflow, as dataflows.DF_CODES ("sos": os on a spatial or SC array)
    rows: np.ndarray  # PE rows
    cols: np.ndarray  # PE columns
    gbuf_bytes: np.ndarray  # global buffer (bytes)
    i_buf_bytes: np.ndarray  # global buffer part for inputs (bytes)
    w_buf_bytes: np.ndarray  # global buffer part for weights (bytes)
    o_buf_bytes: np.ndarray  # global buffer part for outputs and partial sums (bytes)
    local_bytes: np.ndarray  # PE-local store per PE (bytes)
    local_words: np.ndarray  # PE-local store per PE (activation words)
    word_bits: np.ndarray  # activation word of the layer (bits)
    hw_word_bits: np.ndarray  # the array's multiplier width, whatever a layer uses (bits)
    w_word_bits: np.ndarray  # weight word of the layer (bits)
    w_word_bytes: np.ndarray  # weight word of the layer, rounded up (bytes)
    word_bytes: np.ndarray  # activation word of the layer, rounded up (bytes)
    acc_bytes: np.ndarray  # partial-sum accumulator word, rounded up (bytes)
    dram_bw: np.ndarray  # DRAM bandwidth (bytes per cycle)
    gbuf_bw: np.ndarray  # global buffer bandwidth (bytes per cycle)
    freq_hz: np.ndarray  # clock (Hz)
    voltage: np.ndarray  # supply (V)
    node_nm: np.ndarray  # process node (nm)
    L: np.ndarray  # SC stream length (bits; 1 on a binary array)
    share: np.ndarray  # SC lanes per SNG source under "lane" sharing (lanes)
    width: np.ndarray  # SNG comparator width (bits; the activation word on a binary array)
    sng: np.ndarray  # SNG source: 0 LFSR (or Bernoulli), 1 Sobol, 2 counter / van der Corput
    stream_pool: np.ndarray  # 1: SC max pooling in the stream domain (OR gates), else 0
    wstream: np.ndarray  # SC weight streams, as cost.WSTREAM_CODES (regen, buffer, broadcast)
    sng_share: np.ndarray  # SNG sharing scope, as cost.SNG_SHARE_CODES (lane, row, column, array)
    counter_bits: np.ndarray  # SC PE output counter (bits; 0 on a binary array)
    edt: np.ndarray  # early decision termination: fraction of the stream a conv runs (1.0: off)
    edt_net: np.ndarray  # 1: EDT decided on the network's output (no per-counter, per-cycle checks), else 0
    bipolar: np.ndarray  # 1: bipolar SC encoding (XNOR multipliers), else 0

    def __len__(self) -> int:
        return len(self.kind)


LAYER_FIELDS = tuple(f.name for f in fields(LayerArrays))
ACCEL_FIELDS = tuple(f.name for f in fields(AccelArrays))
