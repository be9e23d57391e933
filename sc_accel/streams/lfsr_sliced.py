"""Bit-sliced LFSR encoding: the streams of any number of LFSRs, 64 cycles per word operation,
with nothing stored per generator.

A Fibonacci LFSR shifts left and feeds the parity of its taps into bit 0, so bit i of its
state at cycle t is bit 0 at cycle t - i: every bit-plane of the register is one m-sequence u
(period P = 2^w - 1), shifted. Registers on the same polynomial differ only in phase. So the
planes of any generator at any cycle are shifted reads of u, packed (a few hundred bytes per
polynomial at w = 10, cache-resident), and the comparator runs bit-sliced on them:

    lt = 0, eq = all ones; for bit j from the MSB: m = all ones if T has bit j
    lt |= eq & ~plane_j & m;  eq &= ~(plane_j ^ m)

A generator's number is r_t = rotl(state_t) - 1, then the consumer's wiring (rotation, XOR
mask). Unwired, r < T is rotl(state) < T + 1, compared on the state's planes directly; wired,
the decrement runs as a bit-sliced borrow chain first and the wiring permutes and complements
planes. The per-generator parameters (start state, polynomial, output rotation) are derived in
the kernel by the same hash as generators.generator_params, so the bits equal
fill_sequence + compare_pack for the same generator ids (tests check). The old paths read
1.3 KB of stored planes or a whole sequence per generator; this reads none.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sc_accel.bits import U0, U1, n_words, splitmix64, tail_mask
from sc_accel.errors import InvalidInputError
from sc_accel.streams.lfsr import poly_table

__all__ = ["encode_lfsr_sliced", "msequence_tables", "fits", "TABLE_LIMIT_BYTES"]

_POLYS, _N_POLYS = poly_table()
_TABLES: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
STREAMS_PER_TASK = 64  # streams one parallel task encodes, sharing its scratch planes
TABLE_LIMIT_BYTES = 64 << 20  # m-sequence tables grow with L; longer streams use the sequential path


def _table_words(width: int, length: int) -> int:
    return (2 * ((1 << width) - 1) + n_words(length) * 64 + 127) // 64


def fits(width: int, length: int) -> bool:
    """Whether the m-sequence tables for (width, length) stay within TABLE_LIMIT_BYTES (every
    stream length a network uses does: 16 polynomials x 4 MB at L = 2^25)."""
    n_polys = int(_N_POLYS[width])
    return n_polys * (_table_words(width, length) * 8 + (8 << width)) <= TABLE_LIMIT_BYTES


@njit(cache=True)
def _fill_tables(polys, width, useq, phase):
    """useq[p] = packed u_{n mod P} of polynomial p's register started at 1, for every bit n the
    array holds; phase[p, s] = the cycle at which that register holds state s."""
    mask = (U1 << np.uint64(width)) - U1
    period = (1 << width) - 1
    nbits = useq.shape[1] * 64
    for p in range(polys.shape[0]):
        taps = polys[p]
        state = U1
        bits = np.empty(period, dtype=np.uint64)
        for t in range(period):
            phase[p, np.int64(state)] = t
            bits[t] = state & U1
            fb = U0
            x = state & taps
            while x != U0:  # parity of the taps
                fb ^= U1
                x &= x - U1
            state = ((state << U1) | fb) & mask
        row = useq[p]
        row[:] = U0
        for n in range(nbits):
            row[n >> 6] |= bits[n % period] << np.uint64(n & 63)


def msequence_tables(width: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(useq, phase) for every polynomial of `width`: useq (n_polys, words) holds the m-sequence
    over 2P + L + 64 bits (any phase minus any plane offset, plus a stream, plus the next word
    a shifted read touches); phase (n_polys, 2^w) int64 maps a state to its cycle. Cached."""
    words = _table_words(width, length)
    key = (int(width), int(words))
    if key not in _TABLES:
        polys = _POLYS[width, :_N_POLYS[width]].copy()
        useq = np.empty((polys.size, words), dtype=np.uint64)
        phase = np.zeros((polys.size, 1 << width), dtype=np.int64)
        _fill_tables(polys, width, useq, phase)
        _TABLES[key] = (useq, phase)
    return _TABLES[key]


@njit(inline="always", cache=True)
def _shifted(u, start, dst):
    """dst[w] = 64 bits of u from bit start + 64 w (an unaligned read; the double shift keeps
    the high part 0 when the offset is 0 instead of shifting by 64)."""
    q = start >> 6
    sh = np.uint64(start & 63)
    back = np.uint64(63) - sh
    a = u[q:q + dst.shape[0] + 1]  # sliced so the loop starts at 0 and vectorises
    for w in range(dst.shape[0]):
        dst[w] = (a[w] >> sh) | ((a[w + 1] << U1) << back)


@njit(inline="always", cache=True)
def _compare_state(u, phase0, prot, t, width, period, lt, eq):
    """lt = packed (rotl(state) < t) with the state's planes read straight from u: fused, so
    each plane is read once and never stored."""
    nw = lt.shape[0]
    lt[:] = U0
    eq[:] = ~U0
    for j in range(width - 1, -1, -1):
        start = phase0 - (j - prot) % width + period  # bit j of rotl(state) is state bit j - prot
        q = start >> 6
        sh = np.uint64(start & 63)
        back = np.uint64(63) - sh
        m = U0 - ((t >> np.uint64(j)) & U1)
        a = u[q:q + nw + 1]
        for w in range(nw):
            p = (a[w] >> sh) | ((a[w + 1] << U1) << back)
            lt[w] |= eq[w] & ~p & m
            eq[w] &= ~(p ^ m)


@njit(inline="always", cache=True)
def _compare_wired(u, phase0, prot, wire, t, width, period, planes, lt, eq, borrow):
    """lt = packed (rewire(rotl(state) - 1) < t): the decrement as a borrow chain over the
    planes (LSB first), then the wiring's rotation and XOR mask applied while comparing."""
    nw = lt.shape[0]
    borrow[:] = ~U0
    for j in range(width):
        x = planes[width]
        _shifted(u, phase0 - (j - prot) % width + period, x)
        r = planes[j]
        for w in range(nw):
            r[w] = x[w] ^ borrow[w]
            borrow[w] &= ~x[w]
    rot = np.int64(wire & np.uint64(0xFF))
    flip = wire >> np.uint64(8)
    lt[:] = U0
    eq[:] = ~U0
    for j in range(width - 1, -1, -1):
        m = U0 - ((t >> np.uint64(j)) & U1)
        f = U0 - ((flip >> np.uint64(j)) & U1)
        pj = planes[(j - rot) % width]
        for w in range(nw):
            p = pj[w] ^ f
            lt[w] |= eq[w] & ~p & m
            eq[w] &= ~(p ^ m)


@njit(parallel=True, cache=True)
def _encode(thr, gen, wire, seed, width, tail, polys, useq, phase, out):
    """out[s] = stream of generator gen[s] under `seed` through wiring wire[s] at threshold thr[s];
    tasks of STREAMS_PER_TASK streams share one set of scratch rows."""
    n, nw = out.shape[0], out.shape[1]
    period = (1 << width) - 1
    top = U1 << np.uint64(width)
    seedkey = splitmix64(np.uint64(seed))
    npoly = np.uint64(polys.shape[0])
    for c in prange((n + STREAMS_PER_TASK - 1) // STREAMS_PER_TASK):
        planes = np.empty((width + 1, nw), dtype=np.uint64)
        lt = np.empty(nw, dtype=np.uint64)
        eq = np.empty(nw, dtype=np.uint64)
        borrow = np.empty(nw, dtype=np.uint64)
        for s in range(c * STREAMS_PER_TASK, min(c * STREAMS_PER_TASK + STREAMS_PER_TASK, n)):
            row = out[s]
            t = thr[s]
            if t == U0 or t >= top:
                row[:] = U0 if t == U0 else ~U0
                row[nw - 1] &= tail
                continue
            g = np.uint64(gen[s])
            key = splitmix64(seedkey + g)  # generator_params: start state, polynomial, rotation
            state = U1 + key % np.uint64(period)
            pick = np.int64((np.uint64(seed) + g) % npoly)
            prot = np.int64((key >> np.uint64(40)) % np.uint64(width))
            u, phase0, code = useq[pick], phase[pick, np.int64(state)], np.uint64(wire[s])
            if code != U0:
                _compare_wired(u, phase0, prot, code, t, width, period, planes, lt, eq, borrow)
            elif t + U1 == top:  # r < t  <=>  rotl(state) < t + 1, always true here
                lt[:] = ~U0
            else:
                _compare_state(u, phase0, prot, t + U1, width, period, lt, eq)
            row[:] = lt
            row[nw - 1] &= tail


def encode_lfsr_sliced(thr: np.ndarray, gen: np.ndarray, wiring: np.ndarray, seed: int, width: int,
                       length: int) -> np.ndarray:
    """Streams (len(thr), ceil(L/64)) of comparator thresholds `thr` (uint64, 0..2^w) against LFSR
    generators `gen` (ids as generator_params takes them) under `seed`, seen through `wiring`
    (SharingMap.wiring codes). Callers check the arguments (coding.encode does)."""
    useq, phase = msequence_tables(width, length)
    thr = np.ascontiguousarray(thr, dtype=np.uint64).reshape(-1)
    gen = np.ascontiguousarray(gen, dtype=np.int64).reshape(-1)
    wiring = np.ascontiguousarray(wiring, dtype=np.int64).reshape(-1)
    if not thr.size == gen.size == wiring.size:
        raise InvalidInputError("encode_lfsr_sliced needs one generator and one wiring code per threshold.")
    polys = _POLYS[width, :_N_POLYS[width]].copy()
    out = np.empty((thr.size, n_words(length)), dtype=np.uint64)
    if thr.size:
        _encode(thr, gen, wiring, np.int64(seed), width, tail_mask(length), polys, useq, phase, out)
    return out
