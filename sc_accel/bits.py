"""Ground floor for bits: uint64 primitives and the packed-stream layout every layer shares.

Bit primitives (popcount, rotation, splitmix64) are numba functions inlined into the
kernels of sc_accel.kernels and sc_accel.streams. All arithmetic stays in np.uint64
(mixing with int64 silently widens to int64 or float). LLVM recognises the popcount bit
trick below and emits the hardware POPCNT instruction; benchmarks/sc_kernels.py checks
the assembly and reports it.

Packing: bit t of a stream is bit (t % 64) of word t // 64, LSB first. The last word is
masked: bits at t >= length are always 0, so popcounts over whole words count only real
bits. `stream_counts` is the counter that reads a packed stream back.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sc_accel.errors import InvalidInputError, is_int

__all__ = ["popcount64", "rotl", "rewire", "splitmix64", "U0", "U1", "MAX_STREAM_LENGTH", "check_length",
           "n_words", "tail_mask", "pack_bits", "unpack_bits", "as_streams", "stream_counts"]

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

MAX_STREAM_LENGTH = 1 << 32  # bits per stream (512 MiB packed); far past any full SNG period (2^16)


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


def check_length(length: object) -> int:
    """Return `length` as an int from 1 to MAX_STREAM_LENGTH, or raise naming the bad value."""
    if not is_int(length):
        raise InvalidInputError(f"stream length {length!r} is not an integer; give an integer >= 1.")
    if int(length) < 1:
        raise InvalidInputError(f"stream length {int(length)} is too small; give an integer >= 1.")
    if int(length) > MAX_STREAM_LENGTH:
        shown = int(length) if int(length) < 1 << 64 else f"2^{int(length).bit_length() - 1} or more"
        raise InvalidInputError(f"stream length {shown} is beyond the supported maximum of 2^32 bits "
                                "(MAX_STREAM_LENGTH); give a shorter stream.")
    return int(length)


def n_words(length: int) -> int:
    """uint64 words needed for `length` bits."""
    return (check_length(length) + 63) // 64


def tail_mask(length: int) -> np.uint64:
    """Mask of the valid bits in the last word."""
    r = check_length(length) % 64
    return np.uint64(0xFFFFFFFFFFFFFFFF) if r == 0 else np.uint64((1 << r) - 1)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """(..., L) bool/0-1 array -> (..., ceil(L/64)) uint64 words."""
    bits = np.asarray(bits)
    length = check_length(bits.shape[-1])
    nw = n_words(length)
    padded = np.zeros(bits.shape[:-1] + (nw * 64,), dtype=np.uint8)
    padded[..., :length] = bits != 0
    by = np.packbits(padded, axis=-1, bitorder="little")        # (..., nw*8) uint8
    return np.ascontiguousarray(by).view("<u8").astype(np.uint64, copy=False)


def unpack_bits(words: np.ndarray, length: int) -> np.ndarray:
    """(..., W) uint64 words -> (..., L) bool array (inverse of pack_bits)."""
    words = np.ascontiguousarray(words, dtype=np.uint64)
    length = check_length(length)
    if words.shape[-1] != n_words(length):
        raise InvalidInputError(
            f"streams have {words.shape[-1]} words but length {length} needs {n_words(length)}; "
            "pass the length the streams were encoded with.")
    by = words.astype("<u8", copy=False).view(np.uint8)
    return np.unpackbits(by, axis=-1, bitorder="little")[..., :length].astype(bool)


def as_streams(bits: np.ndarray, length: int) -> np.ndarray:
    """Check that `bits` are packed streams of `length` bits; return them C-contiguous."""
    a = np.asarray(bits)
    if a.dtype != np.uint64:
        raise InvalidInputError(
            f"streams must be packed np.uint64 words, got dtype {a.dtype}; use sc_accel.streams.encode.")
    if a.ndim == 0 or a.shape[-1] != n_words(length):
        raise InvalidInputError(
            f"streams of length {length} need {n_words(length)} words on the last axis, got shape "
            f"{a.shape}; pass the length they were encoded with.")
    return np.ascontiguousarray(a)


@njit(parallel=True, cache=True)
def _counts(words, tail, out):
    nw = words.shape[1]
    for i in prange(words.shape[0]):
        c = U0
        for w in range(nw - 1):
            c += popcount64(words[i, w])
        c += popcount64(words[i, nw - 1] & tail)
        out[i] = np.int64(c)


def stream_counts(bits: np.ndarray, length: int) -> np.ndarray:
    """Number of ones in each stream (a binary counter): int64 array of shape bits.shape[:-1]."""
    a = as_streams(bits, length)
    flat = a.reshape(-1, a.shape[-1])
    out = np.empty(flat.shape[0], dtype=np.int64)
    _counts(flat, tail_mask(length), out)
    return out.reshape(a.shape[:-1])
