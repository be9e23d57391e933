"""Stochastic convolution: AND + popcount over (channel, ky, kx) with counter accumulation.

conv_counts(x, w)[b, n, oy, ox] = sum over (c, dy, dx) of popcount(x[b, c, oy*s+dy, ox*s+dx] & w[n, c, dy, dx]),
the binary counter of an SC neuron. Each image is unrolled into packed patch rows
(one thread per image and group) and multiplied against the flattened weight rows with
the 4 x 4 tile of dot.py, so the word loop is long and vectorised. The binary twin is
torch's conv2d on the stream values.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sc_accel.errors import InvalidInputError, is_int
from sc_accel.kernels.bitops import U0, popcount64
from sc_accel.kernels.dot import _full_tile, matmul_words, tile4x4

__all__ = ["conv_counts", "linear_counts", "pad_rows"]


def pad_rows(a: np.ndarray, multiple: int = 4) -> np.ndarray:
    """a with zero rows appended along axis -2 up to a multiple of `multiple`."""
    extra = (-a.shape[-2]) % multiple
    if extra == 0:
        return np.ascontiguousarray(a)
    pad = [(0, 0)] * a.ndim
    pad[-2] = (0, extra)
    return np.pad(a, pad)


@njit(inline="always", cache=True)
def _unroll(x, b, c0, cg, kh, kw, sh, sw, ow, nw, m0, m1, patches):
    """patches[m - m0] = concatenated words of the (cg, kh, kw) window of output position m."""
    run = kw * nw  # the kw inputs of one kernel row are adjacent in memory
    for m in range(m0, m1):
        oy = m // ow
        ox = m - oy * ow
        j = 0
        for c in range(cg):
            for dy in range(kh):
                patches[m - m0, j:j + run] = x[b, c0 + c, oy * sh + dy, ox * sw * nw:ox * sw * nw + run]
                j += run
    patches[m1 - m0:, :] = 0


@njit(parallel=True, cache=True)
def _conv(x, wf, kh, kw, sh, sw, rows, out):
    """x (B, C, Hp, Wp*W) padded streams; wf (G, Ngp, Cg*kh*kw*W) zero-padded rows; out (B, N, OH, OW).

    Patch rows are unrolled `rows` at a time (a multiple of 4) so the buffer stays in L2.
    """
    nb, c = x.shape[0], x.shape[1]
    groups, ngp, jlen = wf.shape
    nw = jlen // (c // groups * kh * kw)
    n, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    ng, cg = n // groups, c // groups
    npos = oh * ow
    for item in prange(nb * groups):
        b = item // groups
        g = item - b * groups
        patches = np.empty((rows, jlen), dtype=np.uint64)
        acc = np.zeros((4, 4), dtype=np.uint64)
        wg = wf[g]
        for r0 in range(0, npos, rows):
            r1 = min(r0 + rows, npos)
            _unroll(x, b, g * cg, cg, kh, kw, sh, sw, ow, nw, r0, r1, patches)
            for m0 in range(0, r1 - r0, 4):
                for n0 in range(0, ngp, 4):
                    if ng - n0 <= 2:  # the last 2 outputs of a group: half a tile
                        acc[:] = 0
                        _tile4x2s(patches[m0], patches[m0 + 1], patches[m0 + 2], patches[m0 + 3],
                                  wg[n0], wg[n0 + 1], acc)
                    else:
                        _full_tile(patches, wg, m0, n0, acc)
                    for i in range(4):
                        m = r0 + m0 + i
                        if m >= r1:
                            break
                        for k in range(4):
                            if n0 + k < ng:
                                out[b, g * ng + n0 + k, m // ow, m % ow] = np.int64(acc[i, k])


L2_BYTES = 512 << 10  # patch buffer budget per thread
DIRECT_MIN_WORDS = 32  # the direct (copy-free) path needs kernel rows of at least this many words
DIRECT_MAX_OUT = 8     # ... and at most this many outputs per group (more reuse pays for the patch copy)


@njit(inline="always", cache=True)
def _tile4x2s(a0, a1, a2, a3, b0, b1, acc):
    """acc[:, :2] += popcount(a_i & b_j) over equal-length rows (a 4 x 4 tile's half)."""
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = U0
    for j in range(a0.shape[0]):
        y0 = b0[j]
        y1 = b1[j]
        c00 += popcount64(a0[j] & y0); c01 += popcount64(a0[j] & y1)
        c10 += popcount64(a1[j] & y0); c11 += popcount64(a1[j] & y1)
        c20 += popcount64(a2[j] & y0); c21 += popcount64(a2[j] & y1)
        c30 += popcount64(a3[j] & y0); c31 += popcount64(a3[j] & y1)
    acc[0, 0] += c00; acc[0, 1] += c01; acc[1, 0] += c10; acc[1, 1] += c11
    acc[2, 0] += c20; acc[2, 1] += c21; acc[3, 0] += c30; acc[3, 1] += c31


@njit(parallel=True, cache=True)
def _conv_direct(x, wf, kh, kw, sh, sw, out):
    """Implicit GEMM, no patch copies: the kw inputs of one kernel row are adjacent words of
    an input row, so each (channel, dy) term of 4 output positions x 4 weights is one tile
    over slices of x and of the weight rows. x (B, C, Hp, Wp*W); wf (G, Ngp, Cg*kh*kw*W)."""
    nb, c = x.shape[0], x.shape[1]
    groups, ngp, jlen = wf.shape
    cg = c // groups
    nw = jlen // (cg * kh * kw)
    n, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    ng = n // groups
    seg = kw * nw
    for item in prange(nb * groups * oh):
        b = item // (groups * oh)
        rem = item - b * groups * oh
        g = rem // oh
        oy = rem - g * oh
        acc = np.zeros((4, 4), dtype=np.uint64)
        wg = wf[g]
        for ox0 in range(0, ow, 4):
            p0 = ox0 * sw * nw  # positions past the edge repeat the last one; their sums are dropped
            p1 = min(ox0 + 1, ow - 1) * sw * nw
            p2 = min(ox0 + 2, ow - 1) * sw * nw
            p3 = min(ox0 + 3, ow - 1) * sw * nw
            for n0 in range(0, ngp, 4):
                acc[:] = 0
                half = ng - n0 <= 2
                for ci in range(cg):
                    for dy in range(kh):
                        row = x[b, g * cg + ci, oy * sh + dy]
                        wo = (ci * kh + dy) * seg
                        if half:
                            _tile4x2s(row[p0:p0 + seg], row[p1:p1 + seg], row[p2:p2 + seg], row[p3:p3 + seg],
                                      wg[n0, wo:wo + seg], wg[n0 + 1, wo:wo + seg], acc)
                        else:
                            tile4x4(row[p0:p0 + seg], row[p1:p1 + seg], row[p2:p2 + seg], row[p3:p3 + seg],
                                    wg[n0, wo:wo + seg], wg[n0 + 1, wo:wo + seg], wg[n0 + 2, wo:wo + seg],
                                    wg[n0 + 3, wo:wo + seg], acc)
                for i in range(4):
                    if ox0 + i >= ow:
                        break
                    for k in range(4):
                        if n0 + k < ng:
                            out[b, g * ng + n0 + k, oy, ox0 + i] = np.int64(acc[i, k])


def _check_words(x: np.ndarray, w: np.ndarray, what: str) -> None:
    """Both operands must be packed uint64 streams (checked before the jitted kernels see them)."""
    for name, a in (("x", x), ("w", w)):
        if not isinstance(a, np.ndarray) or a.dtype != np.uint64:
            raise InvalidInputError(f"{what} needs packed np.uint64 streams for {name}, got "
                                    f"{getattr(a, 'dtype', type(a))}; use sc_accel.streams.encode.")


def conv_counts(x: np.ndarray, w: np.ndarray, stride: tuple[int, int] = (1, 1),
                groups: int = 1) -> np.ndarray:
    """Counter values (B, N, OH, OW) int64 for padded input streams x (B, C, Hp, Wp, W)
    and weight streams w (N, C/groups, kh, kw, W); padding must already be applied (zero words)."""
    _check_words(x, w, "conv_counts")
    if x.ndim != 5 or w.ndim != 5 or x.shape[-1] != w.shape[-1]:
        raise InvalidInputError(f"conv_counts needs x (B, C, H, W, words) and w (N, Cg, kh, kw, words) "
                                f"with equal words; got {x.shape} and {w.shape}.")
    nb, c, hp, wp, nw = x.shape
    n, cg, kh, kw, _ = w.shape
    if not is_int(groups) or groups < 1 or c != cg * groups or n % groups:
        raise InvalidInputError(f"{c} input and {n} output channels do not split into {groups} groups "
                                f"of {cg} input channels.")
    sh, sw = int(stride[0]), int(stride[1])
    if sh < 1 or sw < 1 or kh > hp or kw > wp or min(x.shape + w.shape) == 0:
        raise InvalidInputError(f"conv_counts cannot slide a {kh}x{kw} kernel with stride {stride} over a "
                                f"{hp}x{wp} input (shapes {x.shape}, {w.shape}).")
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    wf = pad_rows(w.reshape(groups, n // groups, cg * kh * kw * nw))
    out = np.empty((nb, n, oh, ow), dtype=np.int64)
    xr = np.ascontiguousarray(x).reshape(nb, c, hp, wp * nw)
    if kw * nw >= DIRECT_MIN_WORDS and n // groups <= DIRECT_MAX_OUT:
        # few outputs reuse each patch too little to pay for copying it: tiles straight off the input rows
        _conv_direct(xr, wf, kh, kw, sh, sw, out)
        return out
    rows = int(max(4, min(oh * ow + 3, L2_BYTES // (wf.shape[2] * 8))) // 4 * 4)
    _conv(xr, wf, kh, kw, sh, sw, rows, out)
    return out


def linear_counts(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Counter values (B, N) int64 for input streams x (B, K, W) and weight streams w (N, K, W)."""
    _check_words(x, w, "linear_counts")
    if x.ndim != 3 or w.ndim != 3 or x.shape[1:] != w.shape[1:] or min(x.shape[1:]) == 0:
        raise InvalidInputError(f"linear_counts needs x (B, K, W) and w (N, K, W); got {x.shape} and {w.shape}.")
    n = w.shape[0]
    wf = pad_rows(w.reshape(n, -1))
    out = np.empty((x.shape[0], wf.shape[0]), dtype=np.uint64)
    matmul_words(np.ascontiguousarray(x.reshape(x.shape[0], -1)), wf, out)
    return out[:, :n].astype(np.int64)
