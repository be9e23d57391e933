"""Packing of streams: bit t of a stream is bit (t % 64) of word t // 64, LSB first.

The last word is masked: bits at t >= length are always 0, so popcounts over whole
words count only real bits.
"""

from __future__ import annotations

import numpy as np

from sc_accel.errors import InvalidInputError, is_int

__all__ = ["n_words", "check_length", "pack_bits", "unpack_bits", "tail_mask", "MAX_STREAM_LENGTH"]

MAX_STREAM_LENGTH = 1 << 32  # bits per stream (512 MiB packed); far past any full SNG period (2^16)


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
