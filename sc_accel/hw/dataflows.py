"""Compute cycles and global-buffer accesses of a conv/linear layer under each dataflow.

All functions take the packed forms of `sc_accel.hw.packed` (equal-length numpy arrays, one
row per (layer, accelerator) pair) so a search evaluates thousands of pairs in one call.
Counts are in words and cover all groups and the whole batch. A grouped conv runs its G
groups one after the other, each as its own GEMM: M = B*P*Q output pixels, Kw = (C/G)*R*S
window, N = K/G filters.

Systolic: SCALE-Sim the tool (v3, compute/systolic_compute_{ws,os,is}.py), not only the
paper's Eq. 2-3 (Samajdar et al., ISPASS 2020). With the operand matrices of the dataflow
(ws: Sr=Kw, Sc=N, T=M; os: Sr=M, Sc=N, T=Kw; is: Sr=Kw, Sc=M, T=N) an R x C array runs
ceil(Sr/R) * ceil(Sc/C) folds, outer loop over column folds, inner over row folds. A fold
takes 2R + C + T - 2 cycles for ws and is (R cycles to preload the stationary operand, T
to stream, R + C - 2 of skew and drain) and R + C + T - 2 for os (nothing to preload).
SCALE-Sim pads a partial fold to the full array, so R and C appear whole even when the
operands fill only part of it (a larger array is then slower on a small layer). SCALE-Sim
reports the index of the last cycle, one less than this count, per simulated layer.
Buffer reads follow its operand-matrix accounting: the stationary operand is read once
(Sr*Sc), the operand entering along the rows T*Sr*ceil(Sc/C) times, the one entering
along the columns T*Sc*ceil(Sr/R) times; ws/is write T*Sc*ceil(Sr/R) partial sums.

DRAM reuse (`reuse` below) follows the same loop order: the operand kept across the inner
loop is fetched once when its tile fits its buffer half (double buffering), otherwise
once per inner iteration; the operand streamed in the inner loop is fetched once when
the whole of it fits, otherwise once per outer iteration (ws: when a row fold holds only
part of the window, each fold streams the input planes of the channels it covers, at
most its slice of the unrolled input, Kw * M words over a pass). Inputs a strided conv
skips are never fetched. Partial sums accumulated over row folds stay on chip when their
tile fits the output buffer and are otherwise written and read back once per extra fold.

Spatial (loop-nest models in the spirit of MAESTRO's data-centric directives):
- kcp (NVDLA-like): K over rows, C over columns, weights stationary; one MAC per PE per
  cycle over the B*P*Q*R*S temporal loop; inputs multicast down the rows; partial sums
  leave once per C fold.
- rs (Eyeriss-like): filter rows over PE rows (replicated over input channels when R is
  short), output rows over columns; a PE runs a 1-D conv (S taps x Q outputs); inputs are
  re-read once per group of filters that fits the PE-local store.
- os (ShiDianNao-like): output pixels P x Q over the array, each PE accumulates one output
  over C*R*S cycles; weights broadcast every cycle, inputs shifted between neighbours.
DRAM reuse of the spatial dataflows in the same terms: kcp keeps weights (once) and
re-streams the inputs per K fold, accumulating over C folds; rs re-streams weights per
output-row fold and inputs per filter group, accumulating over its passes; os keeps
outputs and re-streams weights per output tile.
"""

from __future__ import annotations

import numpy as np

from sc_accel.hw.packed import AccelArrays, LayerArrays

__all__ = ["DF_CODES", "KIND_CODES", "OP_CODES", "conv_dataflow", "systolic", "spatial", "sc_lanes", "touched_inputs"]

DF_CODES = {"ws": 0, "os": 1, "is": 2, "kcp": 3, "rs": 4, "sos": 5}
KIND_CODES = {"systolic": 0, "spatial": 1, "sc": 2}
OP_CODES = {"conv": 0, "dwconv": 0, "linear": 0, "maxpool": 1, "avgpool": 2, "add": 3,
            "concat": 4, "eltwise": 5}


def _cdiv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return -(-a // b)


def touched_inputs(lay: LayerArrays) -> np.ndarray:
    """Input elements a conv reads at all: a stride larger than the kernel skips pixels
    (a 1x1 conv at stride 2 touches a quarter of its input)."""
    s = np.maximum(lay.stride, 1)
    return lay.in_elems * np.minimum(lay.R, s) * np.minimum(lay.S, s) // (s * s)


def systolic(lay: LayerArrays, rows: np.ndarray, cols: np.ndarray, df: np.ndarray) -> dict:
    """SCALE-Sim cycles, buffer reads/writes (words) and DRAM reuse for ws / os / is."""
    G, M = lay.G, lay.B * lay.P * lay.Q
    Kw, N = (lay.C // G) * lay.R * lay.S, lay.K // G
    os_, ws, is_ = df == DF_CODES["os"], df == DF_CODES["ws"], df == DF_CODES["is"]
    Sr = np.where(os_, M, Kw)
    Sc = np.where(is_, M, N)
    T = np.where(os_, Kw, np.where(ws, M, N))
    fr, fc = _cdiv(Sr, rows), _cdiv(Sc, cols)
    fill = np.where(os_, rows + cols, 2 * rows + cols)  # full array: partial folds are padded
    cycles = G * (fill + T - 2) * fr * fc
    stationary = Sr * Sc
    row_stream = T * Sr * fc
    col_stream = T * Sc * fr
    # os: inputs along rows, weights along columns, outputs stay; ws: weights stay, inputs
    # along rows; is: inputs stay, weights along rows. ws/is spill partial sums per row fold.
    in_reads = np.where(is_, stationary, row_stream)
    w_reads = np.where(os_, col_stream, np.where(ws, stationary, row_stream))
    out_writes = np.where(os_, Sr * Sc, col_stream)
    psum_reads = np.where(os_, 0, T * Sc * (fr - 1))
    one = np.ones_like(fr)
    touched = touched_inputs(lay) // G
    Cg = lay.C // G
    # a ws row fold covers `rows` window columns (channel fastest): its distinct inputs are
    # the planes of the channels it covers, at most its slice of the unrolled input
    per_fold = np.minimum(rows * M, np.minimum(Cg, rows) * (touched // np.maximum(Cg, 1)))
    ws_pass = np.minimum(Kw * M, fr * per_fold)
    reuse = {  # per group; tiles in words
        "w_tile": np.where(ws, 0, np.where(is_, Kw * N, Kw * np.minimum(cols, N))),
        "w_passes": np.where(ws, one, np.where(is_, fc, fr)),
        "i_tile": np.where(is_, 0, touched),
        # ws: a row fold holding part of the window streams its slice of the unrolled input
        "i_pass": np.where(ws & (fr > 1), ws_pass, touched),
        "i_passes": np.where(is_, one, fc),
        "psum_tile": np.where(os_, 0, T * np.minimum(cols, Sc)),
        "psum_folds": np.where(os_, one, fr),
    }
    return {"cycles": cycles, "in_reads": G * in_reads, "w_reads": G * w_reads,
            "out_writes": G * out_writes, "psum_reads": G * psum_reads, **reuse}


def spatial(lay: LayerArrays, rows: np.ndarray, cols: np.ndarray, df: np.ndarray, local_words: np.ndarray) -> dict:
    """Cycles and buffer reads/writes (words) for kcp / rs / os on a rows x cols PE array."""
    G, B, P, Q, R, S = lay.G, lay.B, lay.P, lay.Q, lay.R, lay.S
    Cg, N = lay.C // G, lay.K // G
    outs = G * N * B * P * Q
    touched = touched_inputs(lay) // G
    w_total = G * N * Cg * R * S
    # kcp
    fk, fcin = _cdiv(N, rows), _cdiv(Cg, cols)
    kcp = {"cycles": G * fk * fcin * B * P * Q * R * S, "w_reads": w_total,
           "in_reads": G * fk * Cg * B * P * Q * R * S, "out_writes": outs * fcin,
           "psum_reads": outs * (fcin - 1),
           "w_tile": 0 * fk, "w_passes": 1 + 0 * fk, "i_tile": touched, "i_pass": touched,
           "i_passes": fk,
           "psum_tile": B * P * Q * np.minimum(rows, N), "psum_folds": fcin}
    # rs
    rep = np.maximum(rows // R, 1)
    frow, fch, fp = _cdiv(R, rows), _cdiv(Cg, rep), _cdiv(P, cols)
    filters_local = np.clip(local_words // np.maximum(S, 1), 1, None)
    rs_passes = frow * fch
    in_passes = _cdiv(N, np.minimum(filters_local, N))
    rs = {"cycles": G * B * N * Q * S * rs_passes * fp, "w_reads": w_total * fp * B,
          "in_reads": lay.in_elems * in_passes,
          "out_writes": outs * rs_passes, "psum_reads": outs * (rs_passes - 1),
          "w_tile": N * Cg * R * S, "w_passes": fp * B, "i_tile": touched, "i_pass": touched,
          "i_passes": in_passes,
          "psum_tile": N * B * P * Q, "psum_folds": rs_passes}
    # os (ShiDianNao)
    fpp, fq = _cdiv(P, rows), _cdiv(Q, cols)
    sos = {"cycles": G * B * N * fpp * fq * Cg * R * S, "w_reads": w_total * B * fpp * fq,
           "in_reads": lay.in_elems * N, "out_writes": outs, "psum_reads": 0 * outs,
           "w_tile": N * Cg * R * S, "w_passes": B * fpp * fq, "i_tile": 0 * fpp, "i_pass": touched,
           "i_passes": 1 + 0 * fpp,
           "psum_tile": 0 * fpp, "psum_folds": 1 + 0 * fpp}
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


def conv_dataflow(lay: LayerArrays, acc: AccelArrays) -> dict:
    """Dispatch on the accelerator kind: systolic arrays use SCALE-Sim, spatial and SC
    arrays the spatial loop nests (an SC array maps like its binary twin, bit-serially)."""
    sys_ = systolic(lay, acc.rows, acc.cols, acc.df)
    spa = spatial(lay, acc.rows, acc.cols, acc.df, acc.local_words)
    is_sys = acc.kind == KIND_CODES["systolic"]
    return {k: np.where(is_sys, sys_[k], spa[k]) for k in sys_}
