"""AND + popcount dot and matrix products with binary (counter) accumulation.

sc_matmul(a, b)[m, n] = sum_k popcount(a[m, k] & b[n, k]): the number of cycles in which
the AND gate of product (m, k, n) fired, summed over k by a counter. For independent
streams E[count / L] = sum_k a_mk * b_nk, the binary twin fxp_matmul.

The kernel works on rows flattened to K * W words (the masked tails are zero, so they
add nothing), computes 4 x 4 output tiles with 16 accumulators, and walks the reduction
in chunks of CHUNK_WORDS. LLVM vectorises the tile loop (AVX-512BW nibble-lookup
popcount where available) and uses POPCNT for scalar remainders.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from sc_accel.bits import U0, as_streams, popcount64
from sc_accel.errors import InvalidInputError
from sc_accel.kernels.window import window_tile

__all__ = ["words_matmul", "sc_matmul", "sc_dot", "fxp_matmul", "fxp_dot", "matmul_words", "tile4x4", "CHUNK_WORDS"]

CHUNK_WORDS = 512  # reduction chunk (words per row): 4 b-rows x 4 KiB sit in L1


@njit(inline="always", cache=True)
def tile4x4(a0, a1, a2, a3, b0, b1, b2, b3, acc):
    """acc (4, 4) += popcount(a_i & b_j) over equal-length word rows.

    Indices run from 0 over pre-sliced rows so numba can prove them non-negative;
    a variable start offset makes it emit wrap-around code that blocks vectorisation.
    """
    c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = U0
    c20 = c21 = c22 = c23 = c30 = c31 = c32 = c33 = U0
    for j in range(a0.shape[0]):
        x0 = a0[j]
        x1 = a1[j]
        x2 = a2[j]
        x3 = a3[j]
        y0 = b0[j]
        y1 = b1[j]
        y2 = b2[j]
        y3 = b3[j]
        c00 += popcount64(x0 & y0); c01 += popcount64(x0 & y1)
        c02 += popcount64(x0 & y2); c03 += popcount64(x0 & y3)
        c10 += popcount64(x1 & y0); c11 += popcount64(x1 & y1)
        c12 += popcount64(x1 & y2); c13 += popcount64(x1 & y3)
        c20 += popcount64(x2 & y0); c21 += popcount64(x2 & y1)
        c22 += popcount64(x2 & y2); c23 += popcount64(x2 & y3)
        c30 += popcount64(x3 & y0); c31 += popcount64(x3 & y1)
        c32 += popcount64(x3 & y2); c33 += popcount64(x3 & y3)
    acc[0, 0] += c00; acc[0, 1] += c01; acc[0, 2] += c02; acc[0, 3] += c03
    acc[1, 0] += c10; acc[1, 1] += c11; acc[1, 2] += c12; acc[1, 3] += c13
    acc[2, 0] += c20; acc[2, 1] += c21; acc[2, 2] += c22; acc[2, 3] += c23
    acc[3, 0] += c30; acc[3, 1] += c31; acc[3, 2] += c32; acc[3, 3] += c33


@njit(inline="always", cache=True)
def _and_count(x, y):
    c = U0
    for j in range(x.shape[0]):
        c += popcount64(x[j] & y[j])
    return c


@njit(inline="always", cache=True)
def _full_tile(a, b, m0, n0, acc):
    J = a.shape[1]
    acc[:] = 0
    for j0 in range(0, J, CHUNK_WORDS):
        j1 = min(j0 + CHUNK_WORDS, J)
        tile4x4(a[m0, j0:j1], a[m0 + 1, j0:j1], a[m0 + 2, j0:j1], a[m0 + 3, j0:j1],
                b[n0, j0:j1], b[n0 + 1, j0:j1], b[n0 + 2, j0:j1], b[n0 + 3, j0:j1], acc)


@njit(parallel=True, cache=True)
def matmul_words(a, b, out, block=4):
    """out (M, N) uint64 = sum over J of popcount(a (M, J) & b (N, J)).

    Parallel over blocks of `block` b-rows (a multiple of 4). Each thread walks the reduction
    in chunks, and within a chunk takes every a-row tile against all its b-rows, so each a
    chunk comes from memory once per block, not once per 4 b-rows; edges that do not fill a
    4 x 4 tile use the plain loop.
    """
    M, J = a.shape
    N = b.shape[0]
    mt = M - M % 4
    for nb in prange((N + block - 1) // block):
        n0b = nb * block
        n1b = min(n0b + block, N)
        nt = n1b - (n1b - n0b) % 4
        acc = np.zeros(16, dtype=np.uint64)
        sums = np.zeros((M, block), dtype=np.uint64)
        af, bf = a.reshape(-1), b.reshape(-1)
        rowoff = np.zeros(1, dtype=np.int64)  # one "window row": the chunk
        pos, wofs = np.zeros(4, dtype=np.int64), np.zeros(4, dtype=np.int64)
        for j0 in range(0, J, CHUNK_WORDS):
            j1 = min(j0 + CHUNK_WORDS, J)
            for m0 in range(0, mt, 4):
                for i in range(4):
                    pos[i] = (m0 + i) * J + j0
                for n0 in range(n0b, nt, 4):
                    for k in range(4):
                        wofs[k] = (n0 + k) * J + j0
                    acc[:] = 0
                    window_tile(af, rowoff, 1, pos, bf, wofs, 4, j1 - j0, acc)
                    for i in range(4):
                        for k in range(4):
                            sums[m0 + i, n0 - n0b + k] += acc[i * 4 + k]
        for m in range(M):
            for n in range(n0b, n1b):
                if m >= mt or n >= nt:
                    sums[m, n - n0b] = _and_count(a[m], b[n])
                out[m, n] = sums[m, n - n0b]


def _block(n_rows: int) -> int:
    """b-rows per thread task: 16 when that still gives every thread two tasks, else 4."""
    return 16 if n_rows >= 32 * numba.get_num_threads() else 4


def sc_matmul(a: np.ndarray, b: np.ndarray, length: int) -> np.ndarray:
    """Counts (M, N) int64 of AND + popcount over k for streams a (M, K, W) and b (N, K, W)."""
    a, b = as_streams(a, length), as_streams(b, length)
    if a.ndim != 3 or b.ndim != 3 or a.shape[1] != b.shape[1]:
        raise InvalidInputError(
            f"sc_matmul needs a (M, K, W) and b (N, K, W) with equal K; got {a.shape} and {b.shape}.")
    j = a.shape[1] * a.shape[2]  # explicit: reshape(0, -1) of an empty operand is ambiguous
    return words_matmul(a.reshape(a.shape[0], j), b.reshape(b.shape[0], j))


def words_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Counts (M, N) int64 of popcount(a (M, J) & b (N, J)) summed over J, on every thread:
    matmul_words runs its threads over blocks of 4 b-rows, so when b has too few rows to
    give each thread one (a batch of 1 against a weight matrix), the operands are swapped.
    No rows on either side: an empty (M, N) result, as fxp_matmul gives."""
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros((a.shape[0], b.shape[0]), dtype=np.int64)
    if b.shape[0] < 4 * numba.get_num_threads() and a.shape[0] > b.shape[0]:
        out = np.empty((b.shape[0], a.shape[0]), dtype=np.uint64)
        matmul_words(np.ascontiguousarray(b), np.ascontiguousarray(a), out, _block(a.shape[0]))
        return out.T.astype(np.int64)
    out = np.empty((a.shape[0], b.shape[0]), dtype=np.uint64)
    matmul_words(np.ascontiguousarray(a), np.ascontiguousarray(b), out, _block(b.shape[0]))
    return out.astype(np.int64)


def sc_dot(x: np.ndarray, w: np.ndarray, length: int) -> np.ndarray:
    """Counts (M,) of AND + popcount for an input x (K, W) against weights w (M, K, W)."""
    x = as_streams(x, length)
    if x.ndim != 2:
        raise InvalidInputError(f"sc_dot needs x of shape (K, W); got {x.shape}.")
    return sc_matmul(w, x[None], length)[:, 0]


def fxp_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Binary twin of sc_matmul on values: a (M, K) @ b (N, K).T (expected count / L)."""
    return np.asarray(a, dtype=np.float64) @ np.asarray(b, dtype=np.float64).T


def fxp_dot(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Binary twin of sc_dot on values: w (M, K) @ x (K,)."""
    return np.asarray(w, dtype=np.float64) @ np.asarray(x, dtype=np.float64)
