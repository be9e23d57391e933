"""Bit-level reference implementations on unpacked bool arrays, for exactness tests.

They compute the same integers as the packed kernels, the slow and obvious way.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ref_counts", "ref_matmul", "ref_mux_sum"]


def ref_counts(bits: np.ndarray) -> np.ndarray:
    """Ones per stream of a (..., L) bool array."""
    return np.asarray(bits, dtype=bool).sum(axis=-1).astype(np.int64)


def ref_matmul(a_bits: np.ndarray, b_bits: np.ndarray) -> np.ndarray:
    """(M, K, L) x (N, K, L) bools -> (M, N) counts of a AND b."""
    return np.einsum("mkl,nkl->mn", a_bits.astype(np.int64), b_bits.astype(np.int64))


def ref_mux_sum(bits: np.ndarray, select: np.ndarray) -> np.ndarray:
    """(..., N, L) bools and (L,) indices -> (..., L) bools taken from input select[t]."""
    t = np.arange(bits.shape[-1])
    return bits[..., select, t]
