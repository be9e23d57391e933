"""Maximal-length Fibonacci LFSRs, widths 3..16.

Tap table: Xilinx application note XAPP052, "Efficient Shift Registers, LFSR
Counters, and Long Pseudo-Random Sequence Generators" (P. Alfke, 1996), Table 3.
Taps are 1-indexed bit positions of the n-bit register; each row is a primitive
polynomial x^n + ... + 1 over GF(2), so the register visits all 2^n - 1 non-zero
states. The reciprocal polynomial of a primitive one is primitive too, which gives
a second, differently ordered generator per width. tests/sc_accel/test_streams_lfsr.py
checks the full period of every row and of its reciprocal.
"""

from __future__ import annotations

import numpy as np

from sc_accel.errors import InvalidInputError, is_int
from sc_accel.streams._sng_kernels import lfsr_fill
from sc_accel.streams.budget import check_fits

__all__ = ["LFSR_TAPS", "LFSR_POLYS", "MIN_WIDTH", "MAX_WIDTH", "tap_mask", "poly_table",
           "lfsr_sequence"]

MIN_WIDTH = 3
MAX_WIDTH = 16

# source: XAPP052 (Alfke 1996), Table 3, n = 3..16.
LFSR_TAPS: dict[int, tuple[int, ...]] = {
    3: (3, 2),
    4: (4, 3),
    5: (5, 3),
    6: (6, 5),
    7: (7, 6),
    8: (8, 6, 5, 4),
    9: (9, 5),
    10: (10, 7),
    11: (11, 9),
    12: (12, 6, 4, 1),
    13: (13, 4, 3, 1),
    14: (14, 5, 3, 1),
    15: (15, 14),
    16: (16, 15, 13, 4),
}


def _check_width(width: int) -> None:
    if not is_int(width) or width not in LFSR_TAPS:
        raise InvalidInputError(
            f"LFSR width {width!r} is not supported; choose a width from "
            f"{MIN_WIDTH} to {MAX_WIDTH}.")


def tap_mask(width: int, reciprocal: bool = False) -> int:
    """Bit mask of the feedback taps (bit p-1 for tap p); `reciprocal` mirrors them."""
    _check_width(width)
    taps = LFSR_TAPS[width]
    if reciprocal:
        taps = (width,) + tuple(width - p for p in taps if p != width)
    mask = 0
    for p in taps:
        mask |= 1 << (p - 1)
    return mask


# Tap masks of up to 16 primitive polynomials per width, for independent generators:
# [0] is XAPP052's row, [1] its reciprocal, the rest the lowest further masks whose
# register has period 2^n - 1, found by exhaustive period search (the tests re-check
# every one). Streams multiplied by an AND gate should come from different rows:
# two phases of one m-sequence can be strongly correlated.
LFSR_POLYS: dict[int, tuple[int, ...]] = {
    3: (0x6, 0x5),
    4: (0xc, 0x9),
    5: (0x14, 0x12, 0x17, 0x1b, 0x1d, 0x1e),
    6: (0x30, 0x21, 0x2d, 0x33, 0x36, 0x39),
    7: (0x60, 0x41, 0x44, 0x47, 0x48, 0x4e, 0x53, 0x55, 0x5c, 0x5f, 0x65, 0x69, 0x6a, 0x72, 0x77, 0x78),
    8: (0xb8, 0x8e, 0x95, 0x96, 0xa6, 0xaf, 0xb1, 0xb2, 0xb4, 0xc3, 0xc6, 0xd4, 0xe1, 0xe7, 0xf3, 0xfa),
    9: (0x110, 0x108, 0x10d, 0x116, 0x119, 0x12c, 0x12f, 0x134, 0x137, 0x13b, 0x13e, 0x143, 0x14a, 0x151, 0x152, 0x157),
    10: (0x240, 0x204, 0x20d, 0x213, 0x216, 0x232, 0x237, 0x245, 0x262, 0x26b, 0x273, 0x279, 0x27f, 0x286, 0x28c, 0x291),
    11: (0x500, 0x402, 0x40b, 0x415, 0x416, 0x423, 0x431, 0x432, 0x438, 0x43d, 0x446, 0x44a, 0x44f, 0x454, 0x458, 0x467),
    12: (0x829, 0xca0, 0x834, 0x83d, 0x83e, 0x84c, 0x868, 0x875, 0x883, 0x88f, 0x891, 0x89d, 0x8a7, 0x8ab, 0x8b0, 0x8b5),
    13: (0x100d, 0x1b00, 0x1013, 0x101a, 0x1029, 0x1032, 0x1037, 0x1045, 0x1046, 0x104f, 0x1052, 0x1057, 0x105d, 0x105e, 0x1061, 0x1064),
    14: (0x2015, 0x3500, 0x201c, 0x2029, 0x202f, 0x203d, 0x2054, 0x2057, 0x205d, 0x205e, 0x2067, 0x2075, 0x2079, 0x2086, 0x2089, 0x209d),
    15: (0x6000, 0x4001, 0x4008, 0x400b, 0x4016, 0x401a, 0x402f, 0x403b, 0x4040, 0x4043, 0x4049, 0x4052, 0x4061, 0x4067, 0x406e, 0x4073),
    16: (0xd008, 0x8805, 0x8016, 0x801c, 0x801f, 0x8029, 0x805e, 0x806b, 0x8097, 0x809e, 0x80a7, 0x80ae, 0x80cb, 0x80d0, 0x80d6, 0x80df),
}


def poly_table() -> tuple[np.ndarray, np.ndarray]:
    """(MAX_WIDTH + 1, 16) uint64 tap masks and (MAX_WIDTH + 1,) counts, for kernels."""
    table = np.zeros((MAX_WIDTH + 1, 16), dtype=np.uint64)
    counts = np.zeros(MAX_WIDTH + 1, dtype=np.int64)
    for w, masks in LFSR_POLYS.items():
        table[w, :len(masks)] = masks
        counts[w] = len(masks)
    return table, counts


def lfsr_sequence(width: int, length: int, state: int = 1,
                  reciprocal: bool = False) -> np.ndarray:
    """The first `length` register states of a width-`width` LFSR started at `state`.

    `state` is the hardware seed: any non-zero value below 2^width. The returned
    uint64 values are what a comparator SNG compares against.
    """
    _check_width(width)
    if not is_int(state) or not 0 < int(state) < (1 << width):
        raise InvalidInputError(
            f"LFSR seed {state!r} is not a non-zero {width}-bit state; use 1..{(1 << width) - 1}.")
    if not is_int(length) or int(length) < 0:
        raise InvalidInputError(f"sequence length {length!r} is not a whole number >= 0; use e.g. {(1 << width) - 1}.")
    check_fits(8 * int(length), f"an LFSR sequence of {int(length)} states", "give a shorter length")
    out = np.empty(int(length), dtype=np.uint64)
    lfsr_fill(np.uint64(tap_mask(width, reciprocal)), np.uint64(state), width, out)
    return out
