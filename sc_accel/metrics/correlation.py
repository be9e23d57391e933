"""Stochastic cross-correlation (SCC) of stream pairs.

Definition: A. Alaghi and J. P. Hayes, "Exploiting correlation in stochastic circuit
design", ICCD 2013. SCC = +1 for maximally overlapping streams (AND gives min, OR max),
0 for independent ones (AND gives the product), -1 for minimally overlapping ones.
"""

from __future__ import annotations

import numpy as np

from sc_accel.bits import stream_counts
from sc_accel.kernels.logic import sc_mul

__all__ = ["scc", "scc_from_probs"]


def scc_from_probs(pa: np.ndarray, pb: np.ndarray, pab: np.ndarray) -> np.ndarray:
    """SCC from the one-probabilities of a, b and a AND b (0 where undefined)."""
    pa, pb, pab = (np.asarray(x, dtype=np.float64) for x in (pa, pb, pab))
    delta = pab - pa * pb
    pos = np.minimum(pa, pb) - pa * pb
    neg = pa * pb - np.maximum(pa + pb - 1.0, 0.0)
    denom = np.where(delta > 0, pos, neg)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(denom > 0, delta / np.where(denom > 0, denom, 1.0), 0.0)
    return out


def scc(a: np.ndarray, b: np.ndarray, length: int) -> np.ndarray:
    """SCC of packed streams a and b (same shape), over the last axis."""
    n = float(length)
    pa = stream_counts(a, length) / n
    pb = stream_counts(b, length) / n
    pab = stream_counts(sc_mul(a, b, length), length) / n
    return scc_from_probs(pa, pb, pab)
