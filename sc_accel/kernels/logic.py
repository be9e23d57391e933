"""Gate-level stream kernels (AND multiply, OR / AND over streams, NOT, MUX add).

Each kernel works on packed uint64 words; its binary twin `fxp_*` gives the value the
gate computes on independent (AND, MUX) or fully correlated (OR/AND over streams from
one unrotated generator: max/min) inputs. Inputs must share their length; NOT masks
the tail so bits past the length stay 0.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sc_accel.bits import as_streams, tail_mask
from sc_accel.errors import InvalidInputError, is_int
from sc_accel.kernels.convert import as_int_array

__all__ = ["sc_mul", "sc_not", "sc_or_reduce", "sc_and_reduce", "sc_mux_add", "sc_mux_sum",
           "mux_select", "fxp_mul", "fxp_not", "fxp_max", "fxp_min", "fxp_mux_add", "fxp_mux_sum",
           "MAX_MUX_INPUTS"]

MAX_MUX_INPUTS = 1 << 32  # select = (16-bit draw * n_inputs) >> 16 must stay inside 64 bits
_DRAW_BITS = 16


def _same(a: np.ndarray, b: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    a, b = as_streams(a, length), as_streams(b, length)
    if a.shape != b.shape:
        raise InvalidInputError(f"stream arrays differ in shape: {a.shape} vs {b.shape}; broadcast them first.")
    return a, b


@njit(parallel=True, cache=True)
def _and(a, b, out):
    for i in prange(a.shape[0]):
        out[i] = a[i] & b[i]


def sc_mul(a: np.ndarray, b: np.ndarray, length: int) -> np.ndarray:
    """AND-gate multiply: E[out] = a * b for independent unipolar streams."""
    a, b = _same(a, b, length)
    out = np.empty_like(a)
    _and(a.reshape(-1), b.reshape(-1), out.reshape(-1))
    return out


def sc_not(a: np.ndarray, length: int) -> np.ndarray:
    """NOT gate: 1 - a (tail bits stay 0)."""
    out = ~as_streams(a, length)
    out[..., -1] &= tail_mask(length)
    return out


@njit(parallel=True, cache=True)
def _reduce(x, use_or, out):
    n_in = x.shape[1]
    for i in prange(x.shape[0]):
        for w in range(x.shape[2]):
            acc = x[i, 0, w]
            for k in range(1, n_in):
                acc = (acc | x[i, k, w]) if use_or else (acc & x[i, k, w])
            out[i, w] = acc


def _reduce_streams(streams: np.ndarray, length: int, use_or: bool) -> np.ndarray:
    s = as_streams(streams, length)
    if s.ndim < 2 or s.shape[-2] == 0:
        raise InvalidInputError("reduction needs streams of shape (..., N, words) with N >= 1.")
    flat = s.reshape((-1,) + s.shape[-2:])
    out = np.empty((flat.shape[0], s.shape[-1]), dtype=np.uint64)
    _reduce(flat, use_or, out)
    return out.reshape(s.shape[:-2] + (s.shape[-1],))


def sc_or_reduce(streams: np.ndarray, length: int) -> np.ndarray:
    """OR over axis -2: the maximum when the streams share an unrotated generator (SCC = +1)."""
    return _reduce_streams(streams, length, True)


def sc_and_reduce(streams: np.ndarray, length: int) -> np.ndarray:
    """AND over axis -2: the minimum for SCC = +1 streams, the product for independent ones."""
    return _reduce_streams(streams, length, False)


def sc_mux_add(a: np.ndarray, b: np.ndarray, select: np.ndarray, length: int) -> np.ndarray:
    """2-input MUX: out = select ? b : a, so E[out] = (1 - s) a + s b (s = 0.5: scaled add)."""
    a, b = _same(a, b, length)
    sel = as_streams(select, length)
    return (a & ~sel) | (b & sel)


@njit(parallel=True, cache=True)
def _mux_sum(x, sel, out):
    for i in prange(x.shape[0]):
        for w in range(x.shape[2]):
            word = np.uint64(0)
            for b in range(64):
                t = w * 64 + b
                if t >= sel.shape[0]:
                    break
                word |= x[i, sel[t], w] & (np.uint64(1) << np.uint64(b))
            out[i, w] = word


def mux_select(n_inputs: int, draws: np.ndarray) -> np.ndarray:
    """Select indices for an N-input MUX (1 <= N <= MAX_MUX_INPUTS), one per cycle, from one
    uniform 16-bit draw per cycle: index = (draw * N) >> 16. The draws come from an SNG, e.g.
    sc_accel.streams.sequence("bernoulli", length, width=16, seed=seed)."""
    if not is_int(n_inputs) or not 1 <= n_inputs <= MAX_MUX_INPUTS:
        raise InvalidInputError(f"mux_select needs a whole number of MUX inputs from 1 to 2^32, not {n_inputs!r}.")
    r = as_int_array(draws, "MUX draws")
    if r.ndim != 1 or (r.size and (r.min() < 0 or r.max() >= 1 << _DRAW_BITS)):
        raise InvalidInputError(
            f"MUX draws must be a 1-D array of numbers from 0 to 65535 (one 16-bit draw per cycle), got shape "
            f"{r.shape}; make them with sc_accel.streams.sequence(\"bernoulli\", length, width=16, seed=seed).")
    return ((r.astype(np.uint64) * np.uint64(n_inputs)) >> np.uint64(_DRAW_BITS)).astype(np.int64)


def sc_mux_sum(streams: np.ndarray, select: np.ndarray, length: int) -> np.ndarray:
    """N-input MUX over axis -2: bit t comes from input select[t]; E[out] = mean of inputs."""
    s = as_streams(streams, length)
    sel = as_int_array(select, "MUX select indices")
    if s.ndim < 2 or sel.shape != (length,) or sel.min() < 0 or sel.max() >= s.shape[-2]:
        raise InvalidInputError(
            f"select must hold {length} indices in [0, {s.shape[-2] if s.ndim >= 2 else 0}); "
            "make it with mux_select(n_inputs, draws).")
    flat = s.reshape((-1,) + s.shape[-2:])
    out = np.empty((flat.shape[0], s.shape[-1]), dtype=np.uint64)
    _mux_sum(flat, sel, out)
    return out.reshape(s.shape[:-2] + (s.shape[-1],))


def fxp_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Binary twin of sc_mul."""
    return np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64)


def fxp_not(a: np.ndarray) -> np.ndarray:
    """Binary twin of sc_not."""
    return 1.0 - np.asarray(a, dtype=np.float64)


def fxp_max(values: np.ndarray) -> np.ndarray:
    """Binary twin of sc_or_reduce on SCC = +1 streams (max over axis -1)."""
    return np.max(np.asarray(values, dtype=np.float64), axis=-1)


def fxp_min(values: np.ndarray) -> np.ndarray:
    """Binary twin of sc_and_reduce on SCC = +1 streams (min over axis -1)."""
    return np.min(np.asarray(values, dtype=np.float64), axis=-1)


def fxp_mux_add(a: np.ndarray, b: np.ndarray, s: float | np.ndarray) -> np.ndarray:
    """Binary twin of sc_mux_add."""
    s = np.asarray(s, dtype=np.float64)
    return (1.0 - s) * np.asarray(a, dtype=np.float64) + s * np.asarray(b, dtype=np.float64)


def fxp_mux_sum(values: np.ndarray) -> np.ndarray:
    """Binary twin of sc_mux_sum (mean over axis -1)."""
    return np.mean(np.asarray(values, dtype=np.float64), axis=-1)
