"""Bit-planes of many sources cut from a few shared sequences, word by word instead of cycle by cycle.

A bank has one source per (generator, wiring) pair, often tens of thousands at one SNG per
activation, but the sequences behind them are few:
- an LFSR with primitive polynomial p walks one cycle of all 2^w - 1 non-zero states, so a
  generator started at state s is that cycle read from the index k0 of s, and its numbers
  r_t = rotl(state_t, q) - 1 depend only on (p, q) and t + k0;
- a Sobol (or van der Corput) dimension's points are fixed, and a digital shift XORs a
  constant into every point.
A source's wiring (rotate by a, XOR m) only renames and inverts bits. So plane j of a source is
bit (j - a) mod w of its base sequence, read from bit k0, inverted where its constant has bit j
set: a shifted copy of L / 64 words per plane, where the cycle-by-cycle fill steps, rewires and
packs each of the L numbers. The bits are the same (tests).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sc_accel.bits import U0, U1, rewire, rotl
from sc_accel.streams import _sng_kernels as K

__all__ = ["periodic_planes"]


@njit(parallel=True, cache=True)
def _cut_planes(base, group, offset, code, shift, width, length, out):
    """out[p, j] = bits offset[p] .. offset[p] + length - 1 of base[group[p], (j - a) mod width],
    a = code[p]'s rotation, inverted where bit j of rewire(shift[p], code[p]) is set (the wiring
    applied to the source's digital shift), zeros past `length`."""
    nw = out.shape[2]
    rem = length - (nw - 1) * 64
    tail = ~U0 if rem == 64 else (U1 << np.uint64(rem)) - U1
    for p in prange(out.shape[0]):
        q = offset[p] >> 6
        r = np.uint64(offset[p] & 63)
        a = code[p] & 0xFF
        flip = rewire(shift[p], code[p], width)
        for j in range(width):
            src = base[group[p], (j - a) % width]
            inv = ~U0 if (flip >> np.uint64(j)) & U1 else U0
            for i in range(nw):
                word = src[q + i]
                if r != U0:
                    word = (word >> r) | (src[q + i + 1] << (np.uint64(64) - r))
                out[p, j, i] = word ^ inv
            out[p, j, nw - 1] &= tail


@njit(parallel=True, cache=True)
def _lfsr_base_planes(cycles, which, q, width, out):
    """out[g] = the packed bits of r_k = rotl(cycles[which[g], k mod period], q[g]) - 1 for every k
    it holds: the numbers of LFSR (taps, q) read around its cycle, repeated."""
    period = cycles.shape[1]
    for g in prange(out.shape[0]):
        vals = np.empty(out.shape[2] * 64, dtype=np.uint64)
        for k in range(vals.shape[0]):
            vals[k] = rotl(cycles[which[g], k % period], q[g], width) - U1
        K.pack_planes(vals, width, vals.shape[0], out[g])


def _lfsr_bases(params: np.ndarray, width: int, length: int):
    """(bases (G, width, words), group and start index per source) for LFSR params rows
    (state, taps, q); None when cutting is more work than filling (few sources per base), a
    polynomial does not walk all 2^w - 1 states, or a start state is not on its cycle (0)."""
    period = (1 << width) - 1
    taps, by_taps = np.unique(params[:, 1], return_inverse=True)
    keys, group = np.unique(by_taps.reshape(-1) * width + params[:, 2].astype(np.int64), return_inverse=True)
    if params.shape[0] * length < 4 * keys.size * (period + length):
        return None
    cycles = np.empty((taps.size, period), dtype=np.uint64)
    index = np.full((taps.size, period + 1), -1, dtype=np.int64)
    for i, t in enumerate(taps):
        K.lfsr_fill(t, np.uint64(1), width, cycles[i])
        index[i, cycles[i].astype(np.int64)] = np.arange(period)
    if (index[:, 1:] < 0).any():  # not primitive: the states do not form one cycle
        return None
    states = params[:, 0].astype(np.int64)
    if (states < 1).any() or (states > period).any():
        return None
    offset = index[by_taps.reshape(-1), states]
    words = (period + length) // 64 + 3  # a start index below the period, L bits, one word read ahead
    bases = np.empty((keys.size, width, words), dtype=np.uint64)
    _lfsr_base_planes(cycles, keys // width, keys % width, width, bases)
    return bases, group.reshape(-1), offset


def _sobol_bases(params: np.ndarray, width: int, length: int, dirs: np.ndarray, kind: int):
    """(bases, group, start index 0) for Sobol/VDC params rows (dimension, shift): each
    dimension's unshifted points once, the shift going into the flip constant; None when the
    dimensions serve fewer than 4 sources each on average (filling is then as cheap)."""
    keys, group = np.unique(params[:, 0], return_inverse=True)
    if params.shape[0] < 4 * keys.size:
        return None
    words = (length + 63) // 64
    bases = np.empty((keys.shape[0], width, words), dtype=np.uint64)
    seq = np.empty(length, dtype=np.uint64)
    for g, dim in enumerate(keys):
        K.fill_sequence(kind, width, np.array([dim, 0, 0], dtype=np.uint64), dirs, seq)
        K.pack_planes(seq, width, seq.shape[0], bases[g])
    return bases, group.reshape(-1), np.zeros(params.shape[0], dtype=np.int64)


def periodic_planes(kind: int, width: int, params: np.ndarray, dirs: np.ndarray, rot: np.ndarray,
                    length: int, out: np.ndarray) -> bool:
    """Fill out (P, width, W) as bank._fill_planes does, from shared base sequences, when that is
    less work (LFSR and Sobol/VDC generators, many sources per base); False (out untouched)
    otherwise. params are generator_params rows (an LFSR's start state 1 .. 2^w - 1: another
    falls back to the fill); rot[p] is a source's wiring code, rotation (low byte, below
    `width`) and XOR mask (above it), as build_bank reduces it."""
    if kind == K.LFSR:
        made = _lfsr_bases(params, width, length)
        shift = np.zeros(params.shape[0], dtype=np.uint64)
    elif kind in (K.SOBOL, K.VDC):
        made = _sobol_bases(params, width, length, dirs, kind)
        shift = params[:, 1] & np.uint64((1 << width) - 1)
    else:
        return False
    if made is None:
        return False
    bases, group, offset = made
    _cut_planes(bases, group.astype(np.int64), offset, rot.astype(np.int64), shift, width, length, out)
    return True
