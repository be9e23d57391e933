"""Stochastic max pooling on packed streams.

- or_pool: OR over the window. For streams compared against one generator without
  rotation (SCC = +1) the streams are nested, so OR is exactly the max stream; for
  independent streams it over-estimates (1 - prod(1 - p_i)).
- selector_pool: the counter-based selector of SC-DCNN (Ren et al., ASPLOS 2017): the
  stream is cut into segments; during segment s the output copies the input whose
  counter was largest in segment s - 1 (input 0 in the first segment). Works for any
  correlation, at the cost of one small counter per input.
Both take (B, C, H, W, words) and return (B, C, OH, OW, words); windows have no padding.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sc_accel.bits import U0, U1, popcount64
from sc_accel.errors import InvalidInputError, is_int

__all__ = ["or_pool", "selector_pool", "pool_windows", "max_pool_thresholds"]


def _pooled_size(x: np.ndarray, kernel: int, stride: int) -> tuple[int, int]:
    """(OH, OW) of pooling x (B, C, H, W, words) without padding; raises on a bad window or
    on anything but packed uint64 streams (checked here, before any jitted code sees them)."""
    if not isinstance(x, np.ndarray) or x.dtype != np.uint64:
        raise InvalidInputError(f"pooling needs packed np.uint64 streams, got {getattr(x, 'dtype', type(x))}; "
                                "use sc_accel.streams.encode.")
    for name, v in (("kernel", kernel), ("stride", stride)):
        if not is_int(v):
            raise InvalidInputError(f"pooling {name} {v!r} must be an integer.")
    if x.ndim != 5 or x.shape[4] == 0 or kernel < 1 or stride < 1 or kernel > min(x.shape[2], x.shape[3]):
        raise InvalidInputError(f"cannot pool streams of shape {x.shape} with kernel {kernel} "
                                f"and stride {stride}.")
    return (x.shape[2] - kernel) // stride + 1, (x.shape[3] - kernel) // stride + 1


def pool_windows(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """(B, C, OH, OW, k*k, words) view-copy of the pooling windows of x (B, C, H, W, words)."""
    oh, ow = _pooled_size(x, kernel, stride)
    parts = [x[:, :, dy:dy + stride * (oh - 1) + 1:stride, dx:dx + stride * (ow - 1) + 1:stride]
             for dy in range(kernel) for dx in range(kernel)]
    return np.stack(parts, axis=4)


@njit(parallel=True, cache=True)
def _or_pool(x, k, s, out):
    nb, c, oh, ow, nw = out.shape
    for item in prange(nb * c):
        b = item // c
        ch = item - b * c
        for oy in range(oh):
            for ox in range(ow):
                row = out[b, ch, oy, ox]
                row[:] = U0
                for dy in range(k):
                    for dx in range(k):
                        src = x[b, ch, oy * s + dy, ox * s + dx]
                        for w in range(nw):
                            row[w] |= src[w]


def or_pool(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """Max pooling by an OR gate over each window's streams."""
    oh, ow = _pooled_size(x, kernel, stride)
    out = np.empty(x.shape[:2] + (oh, ow, x.shape[4]), dtype=np.uint64)
    _or_pool(np.ascontiguousarray(x), int(kernel), int(stride), out)
    return out


@njit(inline="always", cache=True)
def _range_mask(a, b):
    """Bits a..b-1 (0 <= a < b <= 64) of one word."""
    hi = ~U0 if b == 64 else (U1 << np.uint64(b)) - U1
    return hi & ~((U1 << np.uint64(a)) - U1)


@njit(parallel=True, cache=True)
def _selector(win, length, segment, out):
    """win (n, k, W) -> out (n, W) by the previous-segment argmax rule."""
    n, k = win.shape[0], win.shape[1]
    for i in prange(n):
        out[i, :] = U0
        sel = 0
        t0 = 0
        while t0 < length:
            t1 = min(t0 + segment, length)
            best = -1
            nxt = 0
            for j in range(k):
                cnt = 0
                t = t0
                while t < t1:
                    w = t >> 6
                    e = min(t1 - (w << 6), 64)
                    m = _range_mask(t - (w << 6), e)
                    word = win[i, j, w] & m
                    cnt += popcount64(word)
                    if j == sel:
                        out[i, w] |= word
                    t = (w << 6) + e
                if cnt > best:
                    best = cnt
                    nxt = j
            sel = nxt
            t0 = t1


def selector_pool(x: np.ndarray, kernel: int, stride: int, length: int, segment: int = 16) -> np.ndarray:
    """Max pooling by the segment-counter selector (see module docstring)."""
    if not is_int(segment) or segment < 1:
        raise InvalidInputError(f"selector segment {segment!r} must be a positive number of bits.")
    win = pool_windows(x, kernel, stride)
    if not is_int(length) or not 1 <= length <= 64 * x.shape[4]:
        raise InvalidInputError(f"selector length {length!r} must be from 1 to the {64 * x.shape[4]} bits "
                                f"the streams' {x.shape[4]} words hold.")
    shape = win.shape
    flat = np.ascontiguousarray(win.reshape(-1, shape[4], shape[5]))
    out = np.empty((flat.shape[0], shape[5]), dtype=np.uint64)
    _selector(flat, int(length), int(segment), out)
    return out.reshape(shape[:4] + (shape[5],))


@njit(parallel=True, cache=True)
def _max_pool_int(t, k, out):
    nb, c, oh, ow = out.shape
    for item in prange(nb * c):
        b = item // c
        ch = item - b * c
        for oy in range(oh):
            for ox in range(ow):
                m = t[b, ch, oy * k, ox * k]
                for dy in range(k):
                    for dx in range(k):
                        m = max(m, t[b, ch, oy * k + dy, ox * k + dx])
                out[b, ch, oy, ox] = m


def max_pool_thresholds(t: np.ndarray, kernel: int) -> np.ndarray:
    """Non-overlapping k x k max of integer thresholds t (B, C, H, W): the threshold whose
    stream equals the OR of the window's streams when they share one source."""
    t = np.ascontiguousarray(t, dtype=np.int64)
    if t.ndim != 4 or not is_int(kernel) or not 1 <= kernel <= min(t.shape[2], t.shape[3]):
        raise InvalidInputError(f"cannot max-pool thresholds of shape {t.shape} with kernel {kernel!r}.")
    out = np.empty(t.shape[:2] + (t.shape[2] // kernel, t.shape[3] // kernel), dtype=np.int64)
    _max_pool_int(t, int(kernel), out)
    return out
