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

from sc_accel.bits import U0, popcount64
from sc_accel.errors import InvalidInputError, is_int
from sc_accel.kernels.dot import _block, _full_tile, matmul_words
from sc_accel.kernels.window import window_tile

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


@njit(inline="always", cache=True)
def _group_geometry(x, wf, kh, kw, out):
    """(input channels per group, words per stream, outputs per group) of a conv whose padded
    input is x (B, C, Hp, Wp*W), weight rows wf (G, Ngp, Cg*kh*kw*W) and output out (B, N, OH, OW)."""
    groups, jlen = wf.shape[0], wf.shape[2]
    cg = x.shape[1] // groups
    return cg, jlen // (cg * kh * kw), out.shape[1] // groups


@njit(cache=True)
def _patch_block(x, xi, wf, g, kh, kw, sh, sw, r0, r1, patches, acc, out, ob):
    """Output positions r0..r1 (at most patches.shape[0], a multiple of 4, so the buffer
    stays in L2) of one (image, group) on the im2col path: image xi of x (B, C, Hp, Wp*W)
    against the group's weight rows wf[g]; writes out[ob]."""
    cg, nw, ng = _group_geometry(x, wf, kh, kw, out)
    ow = out.shape[3]
    wg = wf[g]
    _unroll(x, xi, g * cg, cg, kh, kw, sh, sw, ow, nw, r0, r1, patches)
    for m0 in range(0, r1 - r0, 4):
        n0 = 0
        while n0 < ng:
            span = _tile_span(ng - n0)
            acc[:] = 0
            if span == 2:
                _tile4x2s(patches[m0], patches[m0 + 1], patches[m0 + 2], patches[m0 + 3], wg[n0], wg[n0 + 1], acc)
            elif span == 3:
                _tile4x3(patches[m0], patches[m0 + 1], patches[m0 + 2], patches[m0 + 3], wg[n0], wg[n0 + 1],
                         wg[n0 + 2], acc)
            else:
                _full_tile(patches, wg, m0, n0, acc)
            for i in range(4):
                m = r0 + m0 + i
                if m >= r1:
                    break
                for k in range(min(span, ng - n0)):
                    out[ob, g * ng + n0 + k, m // ow, m % ow] = acc[i, k]
            n0 += span


@njit(parallel=True, cache=True)
def _conv(x, wf, kh, kw, sh, sw, rows, out):
    """x (B, C, Hp, Wp*W) padded streams; wf (G, Ngp, Cg*kh*kw*W) zero-padded rows; out (B, N, OH, OW)."""
    groups = wf.shape[0]
    npos = out.shape[2] * out.shape[3]
    for item in prange(x.shape[0] * groups):
        b = item // groups
        patches = np.empty((rows, wf.shape[2]), dtype=np.uint64)
        acc = np.zeros((4, 4), dtype=np.uint64)
        for r0 in range(0, npos, rows):
            _patch_block(x, b, wf, item - b * groups, kh, kw, sh, sw, r0, min(r0 + rows, npos), patches, acc,
                         out, b)


L2_BYTES = 512 << 10  # patch buffer budget per thread
DIRECT_MIN_WORDS = 32  # the direct (copy-free) path needs kernel rows of at least this many words
DIRECT_MAX_OUT = 8     # ... and at most this many outputs per group (more reuse pays for the patch copy)
TILE_PATCH_ROWS = 4    # per-image convs (fused.py) unroll one tile's rows at a time: they stay in L1 beside the image


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


@njit(inline="always", cache=True)
def _tile4x3(a0, a1, a2, a3, b0, b1, b2, acc):
    """acc[:, :3] += popcount(a_i & b_j) over equal-length rows: 12 counters, so 6 outputs are
    two full-use tiles instead of a 4 x 4 tile and a half one (6 of 8 counters used)."""
    c00 = c01 = c02 = c10 = c11 = c12 = c20 = c21 = c22 = c30 = c31 = c32 = U0
    for j in range(a0.shape[0]):
        y0 = b0[j]
        y1 = b1[j]
        y2 = b2[j]
        x0 = a0[j]
        x1 = a1[j]
        x2 = a2[j]
        x3 = a3[j]
        c00 += popcount64(x0 & y0); c01 += popcount64(x0 & y1); c02 += popcount64(x0 & y2)
        c10 += popcount64(x1 & y0); c11 += popcount64(x1 & y1); c12 += popcount64(x1 & y2)
        c20 += popcount64(x2 & y0); c21 += popcount64(x2 & y1); c22 += popcount64(x2 & y2)
        c30 += popcount64(x3 & y0); c31 += popcount64(x3 & y1); c32 += popcount64(x3 & y2)
    acc[0, 0] += c00; acc[0, 1] += c01; acc[0, 2] += c02
    acc[1, 0] += c10; acc[1, 1] += c11; acc[1, 2] += c12
    acc[2, 0] += c20; acc[2, 1] += c21; acc[2, 2] += c22
    acc[3, 0] += c30; acc[3, 1] += c31; acc[3, 2] += c32


@njit(inline="always", cache=True)
def _tile_span(rest):
    """Weight rows the next tile spans when `rest` outputs of a group remain: 4, but 3 + 3 for
    the last 6 and 3 for the last 3 (every counter used), and a half tile (2 rows, of which only
    `rest` are real outputs) for the last 1 or 2."""
    if rest == 6 or rest == 3:
        return 3
    return 2 if rest <= 2 else 4


@njit(cache=True)
def _direct_row(x, xi, wf, g, oy, kh, kw, sh, sw, acc, out, ob, n_lo=0, n_hi=-1, ring=0):
    """Implicit GEMM for output row oy of group g of image xi, no patch copies: the kw inputs
    of one kernel row are adjacent words of an input row, so 4 output positions x up to 4
    weights over the whole (channel, dy) window are one window_tile over offsets into x and
    the weight rows. x (B, C, Hp, Wp*W), C-contiguous; wf (G, Ngp, Cg*kh*kw*W); writes out[ob]
    for the group's outputs n_lo..n_hi (n_hi = -1: to the last; n_lo a multiple of 4).
    ring > 0: x holds only `ring` rows, padded row y in slot y % ring (fused.py's rolling
    buffers)."""
    cg, nw, ng = _group_geometry(x, wf, kh, kw, out)
    ow = out.shape[3]
    seg = kw * nw
    n_end = ng if n_hi < 0 else min(n_hi, ng)
    hp, wrow = x.shape[2], x.shape[3]
    xf, wfl, acc16 = x.reshape(-1), wf.reshape(-1), acc.reshape(-1)
    rowoff = np.empty(cg * kh, dtype=np.int64)
    for ci in range(cg):
        for dy in range(kh):
            yy = oy * sh + dy
            rowoff[ci * kh + dy] = ((xi * x.shape[1] + g * cg + ci) * hp + (yy % ring if ring > 0 else yy)) * wrow
    pos = np.empty(4, dtype=np.int64)
    wofs = np.zeros(4, dtype=np.int64)
    for ox0 in range(0, ow, 4):
        for i in range(4):  # positions past the edge repeat the last one; their sums are dropped
            pos[i] = min(ox0 + i, ow - 1) * sw * nw
        for n0 in range(n_lo, n_end, 4):
            nj = min(4, n_end - n0)
            for j in range(nj):
                wofs[j] = (g * wf.shape[1] + n0 + j) * wf.shape[2]
            acc[:] = 0
            window_tile(xf, rowoff, cg * kh, pos, wfl, wofs, nj, seg, acc16)
            for i in range(min(4, ow - ox0)):
                for k in range(nj):
                    out[ob, g * ng + n0 + k, oy, ox0 + i] = acc[i, k]


@njit(parallel=True, cache=True)
def _conv_direct(x, wf, kh, kw, sh, sw, out):
    """The direct path over every (image, group, output row); shapes as in _direct_row."""
    groups = wf.shape[0]
    oh = out.shape[2]
    for item in prange(x.shape[0] * groups * oh):
        b = item // (groups * oh)
        rem = item - b * groups * oh
        acc = np.zeros((4, 4), dtype=np.uint64)
        _direct_row(x, b, wf, rem // oh, rem - (rem // oh) * oh, kh, kw, sh, sw, acc, out, b)


def _check_words(x: np.ndarray, w: np.ndarray, what: str) -> None:
    """Both operands must be packed uint64 streams (checked before the jitted kernels see them)."""
    for name, a in (("x", x), ("w", w)):
        if not isinstance(a, np.ndarray) or a.dtype != np.uint64:
            raise InvalidInputError(f"{what} needs packed np.uint64 streams for {name}, got "
                                    f"{getattr(a, 'dtype', type(a))}; use sc_accel.streams.encode.")


def _weight_rows(w: np.ndarray, c: int, hp: int, wp: int, stride: tuple[int, int], groups: int,
                 x_shape: tuple, channels_last: bool = False) -> tuple[np.ndarray, int, int, bool, int]:
    """Checked geometry of a conv over a padded (C, hp, wp) input: (weight rows (G, Ngp, J),
    OH, OW, whether the direct path fits, patch rows per unroll). `channels_last` (one group)
    orders each row (kh, kw, C) for an HWC input, which always takes the direct path."""
    n, cg, kh, kw, nw = w.shape
    if not is_int(groups) or groups < 1 or c != cg * groups or n % groups:
        raise InvalidInputError(f"{c} input and {n} output channels do not split into {groups} groups "
                                f"of {cg} input channels.")
    sh, sw = int(stride[0]), int(stride[1])
    if sh < 1 or sw < 1 or kh > hp or kw > wp or min(tuple(x_shape) + w.shape) == 0:
        raise InvalidInputError(f"conv_counts cannot slide a {kh}x{kw} kernel with stride {stride} over a "
                                f"{hp}x{wp} input (shapes {tuple(x_shape)}, {w.shape}).")
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    wf = pad_rows((w.transpose(0, 2, 3, 1, 4) if channels_last else w).reshape(groups, n // groups, -1))
    # few outputs reuse each patch too little to pay for copying it: tiles straight off the input rows
    direct = channels_last or (kw * nw >= DIRECT_MIN_WORDS and n // groups <= DIRECT_MAX_OUT)
    rows = int(max(4, min(oh * ow + 3, L2_BYTES // (wf.shape[2] * 8))) // 4 * 4)
    return wf, oh, ow, direct, rows


def conv_counts(x: np.ndarray, w: np.ndarray, stride: tuple[int, int] = (1, 1),
                groups: int = 1) -> np.ndarray:
    """Counter values (B, N, OH, OW) int64 for padded input streams x (B, C, Hp, Wp, W)
    and weight streams w (N, C/groups, kh, kw, W); padding must already be applied (zero words)."""
    _check_words(x, w, "conv_counts")
    if x.ndim != 5 or w.ndim != 5 or x.shape[-1] != w.shape[-1]:
        raise InvalidInputError(f"conv_counts needs x (B, C, H, W, words) and w (N, Cg, kh, kw, words) "
                                f"with equal words; got {x.shape} and {w.shape}.")
    nb, c, hp, wp, nw = x.shape
    wf, oh, ow, direct, rows = _weight_rows(w, c, hp, wp, stride, groups, x.shape)
    out = np.empty((nb, w.shape[0], oh, ow), dtype=np.int64)
    xr = np.ascontiguousarray(x).reshape(nb, c, hp, wp * nw)
    kh, kw = w.shape[2:4]
    if direct:
        _conv_direct(xr, wf, kh, kw, int(stride[0]), int(stride[1]), out)
    else:
        _conv(xr, wf, kh, kw, int(stride[0]), int(stride[1]), rows, out)
    return out


def linear_counts(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Counter values (B, N) int64 for input streams x (B, K, W) and weight streams w (N, K, W)."""
    _check_words(x, w, "linear_counts")
    if x.ndim != 3 or w.ndim != 3 or x.shape[1:] != w.shape[1:] or min(x.shape[1:]) == 0:
        raise InvalidInputError(f"linear_counts needs x (B, K, W) and w (N, K, W); got {x.shape} and {w.shape}.")
    n, j = w.shape[0], w.shape[1] * w.shape[2]
    if n == 0 or x.shape[0] == 0:  # no outputs or no inputs: an empty result, as F.linear gives
        return np.zeros((x.shape[0], n), dtype=np.int64)
    wf = pad_rows(w.reshape(n, j))
    out = np.empty((x.shape[0], wf.shape[0]), dtype=np.uint64)
    matmul_words(np.ascontiguousarray(x.reshape(x.shape[0], j)), wf, out, _block(wf.shape[0]))
    return out[:, :n].astype(np.int64)
