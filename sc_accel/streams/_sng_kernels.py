"""numba kernels behind the SNGs: fill random-number sequences, compare and pack.

Generator kinds are small integers so one kernel serves all of them. Per-generator
parameters (a row of three uint64) are derived in Python, so the kernels are pure
functions of arrays and every bit depends only on (seed, generator, t).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sc_accel.bits import U0, U1, popcount64, rewire, rotl, splitmix64

LFSR, SOBOL, VDC, COUNTER, BERNOULLI = 0, 1, 2, 3, 4
SOBOL_BITS = 16


@njit(inline="always", cache=True)
def _lfsr_step(state, taps, mask):
    """The next state: shift left, parity of the tapped bits fed back."""
    return ((state << U1) | (popcount64(state & taps) & U1)) & mask


@njit(cache=True)
def lfsr_fill(taps, state, width, out):
    """Write successive Fibonacci-LFSR states (shift left, parity feedback) into out."""
    mask = (U1 << np.uint64(width)) - U1
    for t in range(out.shape[0]):
        out[t] = state
        state = _lfsr_step(state, taps, mask)


@njit(inline="always", cache=True)
def _lfsr_numbers(states, rot, width):
    """LFSR states -> numbers, in place: r_t = rotl(state_t) - 1, so the 2^w - 1 non-zero states
    become 0 .. 2^w - 2 and a full period fires the comparator exactly T times for every
    threshold T < 2^w."""
    for t in range(states.shape[0]):
        states[t] = rotl(states[t], rot, width) - U1


@njit(cache=True)
def lfsr_fill4(params, first, count, width, out):
    """The sequences fill_sequence gives of LFSR generators params[first .. first + count - 1]
    (count <= 4) into out[0 .. count - 1] (4, L): four register chains in one loop, whose
    latencies (a popcount and three logic ops a step) overlap instead of adding up."""
    mask = (U1 << np.uint64(width)) - U1
    last = first + count - 1
    s0, t0 = params[first, 0], params[first, 1]
    s1, t1 = params[min(first + 1, last), 0], params[min(first + 1, last), 1]
    s2, t2 = params[min(first + 2, last), 0], params[min(first + 2, last), 1]
    s3, t3 = params[min(first + 3, last), 0], params[min(first + 3, last), 1]
    for t in range(out.shape[1]):
        out[0, t] = s0
        out[1, t] = s1
        out[2, t] = s2
        out[3, t] = s3
        s0 = _lfsr_step(s0, t0, mask)
        s1 = _lfsr_step(s1, t1, mask)
        s2 = _lfsr_step(s2, t2, mask)
        s3 = _lfsr_step(s3, t3, mask)
    for k in range(count):
        _lfsr_numbers(out[k], params[first + k, 2], width)


@njit(cache=True)
def _ctz(x):
    n = 0
    while (x & U1) == U0:
        x >>= U1
        n += 1
    return n


@njit(cache=True)
def _sobol_fill(dirs_row, shift, width, out):
    """Natural-order Sobol points (x_t = XOR of v_k over set bits of t mod 2^width)."""
    cum = np.empty(width, dtype=np.uint64)
    acc = U0
    for k in range(width):
        acc ^= dirs_row[k]
        cum[k] = acc
    mask = (U1 << np.uint64(width)) - U1
    down = np.uint64(SOBOL_BITS - width)
    x = U0
    for t in range(out.shape[0]):
        tt = np.uint64(t) & mask
        if tt == U0:
            x = U0
        else:
            x ^= cum[_ctz(tt)]
        out[t] = (x >> down) ^ shift


@njit(cache=True)
def fill_sequence(kind, width, p, dirs, out):
    """One generator's random numbers r_t in [0, 2^width) for t < len(out)."""
    mask = (U1 << np.uint64(width)) - U1
    n = out.shape[0]
    if kind == LFSR:
        lfsr_fill(p[1], p[0], width, out)
        _lfsr_numbers(out, p[2], width)
    elif kind == SOBOL or kind == VDC:
        _sobol_fill(dirs[p[0]], p[1] & mask, width, out)
    elif kind == COUNTER:
        for t in range(n):
            out[t] = (np.uint64(t) + p[0]) & mask
    else:  # BERNOULLI: counter-based, r_t = hash(key + t)
        down = np.uint64(64 - width)
        for t in range(n):
            out[t] = splitmix64(p[0] + np.uint64(t)) >> down


@njit(inline="always", cache=True)
def pack_planes(r, width, length, out):
    """out[j] = packed bit j of the numbers r (one source's planes, (width, W))."""
    for w in range(out.shape[1]):
        s = r[w * 64:min(w * 64 + 64, length)]  # sliced so the bit loop vectorises
        for j in range(width):
            word = U0
            for b in range(s.shape[0]):
                word |= ((s[b] >> np.uint64(j)) & U1) << np.uint64(b)
            out[j, w] = word


@njit(inline="always", cache=True)
def compare_pack(seq, rot, width, thr, row):
    """Comparator SNG: bit_t = rewire(r_t, rot) < thr, packed LSB-first into row.

    Each word's 64 inputs are sliced first so the inner index starts at 0 (numba then
    skips wrap-around code and LLVM vectorises the compare); rot == 0 is its own loop.
    """
    n = seq.shape[0]
    for w in range(row.shape[0]):
        s = seq[w * 64:min(w * 64 + 64, n)]
        word = U0
        if rot == 0:
            for b in range(s.shape[0]):
                word |= np.uint64(s[b] < thr) << np.uint64(b)
        else:
            for b in range(s.shape[0]):
                word |= np.uint64(rewire(s[b], rot, width) < thr) << np.uint64(b)
        row[w] = word


@njit(parallel=True, cache=True)
def fill_sequences(kind, width, params, dirs, seqs):
    """seqs[g] = sequence of generator g; (G, L)."""
    for g in prange(seqs.shape[0]):
        fill_sequence(kind, width, params[g], dirs, seqs[g])


@njit(parallel=True, cache=True)
def encode_from_sequences(thr, rot, gen, seqs, width, out):
    """Streams whose generators were precomputed: out[s] from seqs[gen[s]]."""
    for s in prange(out.shape[0]):
        compare_pack(seqs[gen[s]], rot[s], width, thr[s], out[s])


@njit(parallel=True, cache=True)
def encode_grouped(thr, rot, order, starts, kind, width, params, dirs, length, out):
    """Many generators: each thread builds one generator's sequence, feeds its consumers."""
    for g in prange(starts.shape[0] - 1):
        seq = np.empty(length, dtype=np.uint64)
        fill_sequence(kind, width, params[g], dirs, seq)
        for j in range(starts[g], starts[g + 1]):
            s = order[j]
            compare_pack(seq, rot[s], width, thr[s], out[s])
