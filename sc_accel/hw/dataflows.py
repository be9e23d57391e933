"""Compute cycles and global-buffer accesses of a conv/linear layer under each dataflow.

All functions take dicts of equal-length numpy arrays (one row per (layer, accelerator)
pair) so a search evaluates thousands of pairs in one call. Counts are in words and
cover all groups and the whole batch. A grouped conv runs its G groups one after the
other, each as its own GEMM: M = B*P*Q output pixels, Kw = (C/G)*R*S window, N = K/G
filters.

Systolic (SCALE-Sim, Samajdar et al., ISPASS 2020, Eq. 3 and Table I): with the operand
matrices of the dataflow (ws: Sr=Kw, Sc=N, T=M; os: Sr=M, Sc=N, T=Kw; is: Sr=Kw, Sc=M,
T=N), an R x C array takes (2R + C + T - 2) * ceil(Sr/R) * ceil(Sc/C) cycles when the
operands fold (Eq. 3) and 2Sr + Sc + T - 2 when they fit (Eq. 2); in general
(2 min(R, Sr) + min(C, Sc) + T - 2) * ceil(Sr/R) * ceil(Sc/C). The fill term means a
larger array can be slower on a small layer, as in SCALE-Sim. Buffer reads
follow SCALE-Sim's operand-matrix accounting: the stationary operand is read once
(Sr*Sc), the operand entering along the rows T*Sr*ceil(Sc/C) times, the one entering
along the columns T*Sc*ceil(Sr/R) times; ws/is write T*Sc*ceil(Sr/R) partial sums.

Spatial (loop-nest models in the spirit of MAESTRO's data-centric directives):
- kcp (NVDLA-like): K over rows, C over columns, weights stationary; one MAC per PE per
  cycle over the B*P*Q*R*S temporal loop; inputs multicast down the rows; partial sums
  leave once per C fold.
- rs (Eyeriss-like): filter rows over PE rows (replicated over input channels when R is
  short), output rows over columns; a PE runs a 1-D conv (S taps x Q outputs); inputs are
  re-read once per group of filters that fits the PE-local store.
- os (ShiDianNao-like): output pixels P x Q over the array, each PE accumulates one output
  over C*R*S cycles; weights broadcast every cycle, inputs shifted between neighbours.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DF_CODES", "KIND_CODES", "OP_CODES", "conv_dataflow"]

DF_CODES = {"ws": 0, "os": 1, "is": 2, "kcp": 3, "rs": 4, "sos": 5}
KIND_CODES = {"systolic": 0, "spatial": 1, "sc": 2}
OP_CODES = {"conv": 0, "dwconv": 0, "linear": 0, "maxpool": 1, "avgpool": 2, "add": 3,
            "concat": 4, "eltwise": 5}


def _cdiv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return -(-a // b)


def systolic(l: dict, rows: np.ndarray, cols: np.ndarray, df: np.ndarray) -> dict:
    """SCALE-Sim cycles and buffer reads/writes (words) for ws / os / is."""
    G, M = l["G"], l["B"] * l["P"] * l["Q"]
    Kw, N = (l["C"] // G) * l["R"] * l["S"], l["K"] // G
    os_, ws = df == DF_CODES["os"], df == DF_CODES["ws"]
    Sr = np.where(os_, M, Kw)
    Sc = np.where(df == DF_CODES["is"], M, N)
    T = np.where(os_, Kw, np.where(ws, M, N))
    fr, fc = _cdiv(Sr, rows), _cdiv(Sc, cols)
    # Eq. 2 when the operands fit the array (2Sr + Sc + T - 2), Eq. 3 when they fold
    cycles = G * (2 * np.minimum(rows, Sr) + np.minimum(cols, Sc) + T - 2) * fr * fc
    stationary = Sr * Sc
    row_stream = T * Sr * fc
    col_stream = T * Sc * fr
    # os: inputs along rows, weights along columns, outputs stay; ws: weights stay, inputs
    # along rows; is: inputs stay, weights along rows. ws/is spill partial sums per row fold.
    in_reads = np.where(df == DF_CODES["is"], stationary, row_stream)
    w_reads = np.where(os_, col_stream, np.where(ws, stationary, row_stream))
    out_writes = np.where(os_, Sr * Sc, col_stream)
    psum_reads = np.where(os_, 0, T * Sc * (fr - 1))
    return {"cycles": cycles, "in_reads": G * in_reads, "w_reads": G * w_reads,
            "out_writes": G * out_writes, "psum_reads": G * psum_reads}


def spatial(l: dict, rows: np.ndarray, cols: np.ndarray, df: np.ndarray, local_words: np.ndarray) -> dict:
    """Cycles and buffer reads/writes (words) for kcp / rs / os on a rows x cols PE array."""
    G, B, P, Q, R, S = l["G"], l["B"], l["P"], l["Q"], l["R"], l["S"]
    Cg, N = l["C"] // G, l["K"] // G
    outs = G * N * B * P * Q
    w_total = G * N * Cg * R * S
    # kcp
    fk, fcin = _cdiv(N, rows), _cdiv(Cg, cols)
    kcp = {"cycles": G * fk * fcin * B * P * Q * R * S, "w_reads": w_total,
           "in_reads": G * fk * Cg * B * P * Q * R * S, "out_writes": outs * fcin,
           "psum_reads": outs * (fcin - 1)}
    # rs
    rep = np.maximum(rows // R, 1)
    frow, fch, fp = _cdiv(R, rows), _cdiv(Cg, rep), _cdiv(P, cols)
    filters_local = np.clip(local_words // np.maximum(S, 1), 1, None)
    rs_passes = frow * fch
    rs = {"cycles": G * B * N * Q * S * rs_passes * fp, "w_reads": w_total * fp * B,
          "in_reads": l["in_elems"] * _cdiv(N, np.minimum(filters_local, N)),
          "out_writes": outs * rs_passes, "psum_reads": outs * (rs_passes - 1)}
    # os (ShiDianNao)
    fpp, fq = _cdiv(P, rows), _cdiv(Q, cols)
    sos = {"cycles": G * B * N * fpp * fq * Cg * R * S, "w_reads": w_total * B * fpp * fq,
           "in_reads": l["in_elems"] * N, "out_writes": outs, "psum_reads": 0 * outs}
    pick_kcp, pick_rs = df == DF_CODES["kcp"], df == DF_CODES["rs"]
    return {k: np.where(pick_kcp, kcp[k], np.where(pick_rs, rs[k], sos[k])) for k in kcp}


def sc_lanes(rows: np.ndarray, cols: np.ndarray, df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Binary-to-stochastic converters an SC array needs, (input lanes, weight lanes):
    kcp: one per column (inputs multicast down) and one per PE (stationary weight);
    rs: the diagonal ifmap feeds (rows + cols - 1) and one per PE (filter row);
    os: one per PE (inputs) and one broadcast weight stream."""
    pes = rows * cols
    kcp, rs = df == DF_CODES["kcp"], df == DF_CODES["rs"]
    in_lanes = np.where(kcp, cols, np.where(rs, rows + cols - 1, pes))
    w_lanes = np.where(kcp | rs, pes, 1)
    return in_lanes, w_lanes


def conv_dataflow(l: dict, a: dict) -> dict:
    """Dispatch on the accelerator kind: systolic arrays use SCALE-Sim, spatial and SC
    arrays the spatial loop nests (an SC array maps like its binary twin, bit-serially)."""
    sys_ = systolic(l, a["rows"], a["cols"], a["df"])
    spa = spatial(l, a["rows"], a["cols"], a["df"], a["local_words"])
    is_sys = a["kind"] == KIND_CODES["systolic"]
    return {k: np.where(is_sys, sys_[k], spa[k]) for k in sys_}
