"""Bit primitives shared by every kernel: popcount, rotation, splitmix64.

All arithmetic stays in np.uint64 (mixing with int64 silently widens to int64 or
float). LLVM recognises the popcount bit trick below and emits the hardware POPCNT
instruction; benchmarks/sc_kernels.py checks the assembly and reports it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["popcount64", "rotl", "rewire", "splitmix64", "U0", "U1"]

U0 = np.uint64(0)
U1 = np.uint64(1)
_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_S56 = np.uint64(56)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(inline="always", cache=True)
def popcount64(x):
    """Number of set bits of a uint64 (SWAR bit trick; compiles to POPCNT)."""
    x = x - ((x >> U1) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return (x * _H01) >> _S56


@njit(inline="always", cache=True)
def rotl(x, r, width):
    """Rotate the low `width` bits of x left by r (0 <= r < width): a free re-wiring."""
    if r == 0:
        return x
    w = np.uint64(width)
    rr = np.uint64(r)
    mask = (U1 << w) - U1
    return ((x << rr) | (x >> (w - rr))) & mask


@njit(inline="always", cache=True)
def rewire(x, code, width):
    """A consumer's view of a shared generator's number: rotate the low `width` bits left by
    code & 0xFF, then XOR them with code >> 8 (both free wiring: crossed wires, inverters)."""
    c = np.uint64(code)
    return rotl(x, c & np.uint64(0xFF), width) ^ (c >> np.uint64(8))


@njit(inline="always", cache=True)
def splitmix64(x):
    """SplitMix64 output function (Steele, Lea, Flood, OOPSLA 2014): a counter-based hash."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))
