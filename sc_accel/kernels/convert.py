"""Conversions between streams and binary numbers, with their binary twins.

stream -> binary is a counter (sc_accel.bits.stream_counts, popcount of the masked words);
binary -> stream is the comparator SNG in sc_accel.streams.encode. `quantize` is the binary
twin of encode: the fixed-point value a width-w comparator realises.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sc_accel.errors import InvalidInputError, is_int

__all__ = ["counts_to_values", "quantize", "as_int_array", "comparator_levels", "MAX_WIDTH"]

MAX_WIDTH = 16  # widest comparator (sc_accel.streams.lfsr.MAX_WIDTH; kernels do not import streams)
_INT64_MAX = np.iinfo(np.int64).max


def as_int_array(values: object, what: str) -> np.ndarray:
    """`values` as a C-contiguous int64 array; integer dtypes and whole-valued floats pass, anything
    else (fractions, NaN, bools, strings, values past int64) is refused instead of truncated."""
    try:
        a = np.asarray(values)
    except (ValueError, TypeError):  # ragged nesting
        raise InvalidInputError(f"{what} must be an array of integers, not {type(values).__name__} of ragged "
                                "shape; give whole numbers.") from None
    if a.size == 0:
        return np.zeros(a.shape, dtype=np.int64)
    if a.dtype.kind == "f":
        flat = a.reshape(-1)
        bad = ~np.isfinite(flat) | (flat != np.floor(flat)) | (np.abs(flat) >= 2.0**63)
        if bad.any():
            raise InvalidInputError(f"{what} must be integers, but {float(flat[bad.argmax()])!r} is not one below 2^63; "
                                    "give whole numbers.")
    elif a.dtype.kind not in "iu" or (a.dtype.kind == "u" and int(a.max()) > _INT64_MAX):
        raise InvalidInputError(f"{what} must be integers below 2^63, not an array of dtype {a.dtype}; give whole "
                                "numbers.")
    return np.ascontiguousarray(a, dtype=np.int64)


def counts_to_values(counts: np.ndarray, length: int) -> np.ndarray:
    """Counter value -> probability estimate (ones / length)."""
    return np.asarray(counts, dtype=np.float64) / float(length)


def quantize(values: np.ndarray, width: int) -> np.ndarray:
    """The value a width-bit comparator realises against a uniform full-period source
    (width 1..MAX_WIDTH, as encode; finite values)."""
    if not is_int(width) or not 1 <= width <= MAX_WIDTH:
        raise InvalidInputError(f"quantize width {width!r} is not supported; give an integer from 1 to {MAX_WIDTH}.")
    v = np.asarray(values, dtype=np.float64)
    if not np.isfinite(v).all():
        raise InvalidInputError("quantize got a NaN or infinite value; give finite numbers (values in [0, 1] "
                                "for a unipolar stream).")
    return np.ceil(v * (1 << int(width))) / float(1 << int(width))


@njit(parallel=True, cache=True)
def _levels(v, sign, scale, lo, offset, mult, out):
    for i in prange(v.shape[0]):
        x = min(max(sign * v[i] / scale, lo), 1.0)
        out[i] = np.int64(np.rint((x + offset) * mult))


def comparator_levels(values: np.ndarray, scale: float, width: int, sign: float = 1.0, lo: float = 0.0,
                      bipolar: bool = False) -> np.ndarray:
    """Comparator thresholds (int64, the shape of `values`) of sign * values / scale in one pass:
    unipolar T = round(clip(x, lo, 1) * 2^w), bipolar T = round((clip(x, lo, 1) + 1) * 2^(w-1));
    rounding half to even, as np.rint. For finite values."""
    v = np.ascontiguousarray(values, dtype=np.float64)
    out = np.empty(v.shape, dtype=np.int64)
    offset, mult = (1.0, float(1 << (width - 1))) if bipolar else (0.0, float(1 << width))
    if v.size:
        _levels(v.reshape(-1), float(sign), float(scale), float(lo), offset, mult, out.reshape(-1))
    return out
