"""Low-discrepancy sequences: van der Corput (Sobol dimension 0) and Sobol.

Direction numbers: S. Joe and F. Y. Kuo, "Constructing Sobol sequences with better
two-dimensional projections", SIAM J. Sci. Comput. 30 (2008); the first rows of their
file new-joe-kuo-6.21201 (d, s, a, m_1..m_s). Dimension 0 is the van der Corput
sequence in base 2 (bit reversal of the index). The test suite compares every
dimension with scipy.stats.qmc.Sobol, which ships the same numbers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SOBOL_BITS", "JOE_KUO", "sobol_directions", "n_sobol_dims"]

SOBOL_BITS = 16  # widest comparator supported; narrower widths take the top bits

# source: Joe & Kuo (2008), new-joe-kuo-6.21201, dimensions 2..16: (s, a, m_1..m_s)
JOE_KUO: tuple[tuple[int, int, tuple[int, ...]], ...] = (
    (1, 0, (1,)),
    (2, 1, (1, 3)),
    (3, 1, (1, 3, 1)),
    (3, 2, (1, 1, 1)),
    (4, 1, (1, 1, 3, 3)),
    (4, 4, (1, 3, 5, 13)),
    (5, 2, (1, 1, 5, 5, 17)),
    (5, 4, (1, 1, 5, 5, 5)),
    (5, 7, (1, 1, 7, 11, 19)),
    (5, 11, (1, 1, 5, 1, 1)),
    (5, 13, (1, 1, 1, 3, 11)),
    (5, 14, (1, 3, 5, 5, 31)),
    (6, 1, (1, 3, 3, 9, 7, 49)),
    (6, 13, (1, 1, 1, 15, 21, 21)),
    (6, 16, (1, 3, 1, 13, 27, 49)),
)


def n_sobol_dims() -> int:
    """Number of Sobol dimensions available (van der Corput included)."""
    return len(JOE_KUO) + 1


def _direction_m(s: int, a: int, m_init: tuple[int, ...], bits: int) -> list[int]:
    m = list(m_init)
    for i in range(s, bits):
        new = m[i - s] ^ (m[i - s] << s)
        for k in range(1, s):
            if (a >> (s - 1 - k)) & 1:
                new ^= m[i - k] << k
        m.append(new)
    return m[:bits]


def sobol_directions(bits: int = SOBOL_BITS) -> np.ndarray:
    """(n_dims, bits) uint64 direction integers v_k = m_k << (bits - k), k = 1..bits.

    Point t of dimension d is the XOR of v_k over the set bits k-1 of t.
    """
    table = np.zeros((n_sobol_dims(), bits), dtype=np.uint64)
    for k in range(bits):                       # dimension 0: van der Corput
        table[0, k] = 1 << (bits - 1 - k)
    for d, (s, a, m_init) in enumerate(JOE_KUO, start=1):
        for k, m in enumerate(_direction_m(s, a, m_init, bits)):
            table[d, k] = m << (bits - 1 - k)
    return table
