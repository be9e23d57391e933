"""Conversions between streams and binary numbers, with their binary twins.

stream -> binary is a counter (sc_accel.bits.stream_counts, popcount of the masked words);
binary -> stream is the comparator SNG in sc_accel.streams.encode. `quantize` is the binary
twin of encode: the fixed-point value a width-w comparator realises.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sc_accel.errors import InvalidInputError, is_int

__all__ = ["counts_to_values", "quantize", "as_int_array", "comparator_levels", "signed_counts_to_output",
           "MAX_WIDTH"]

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


@njit(parallel=True, cache=True)
def _signed_output(raw, corr, k, bias, out):
    nb, n, oh, ow = raw.shape
    for item in prange(nb * n):
        b = item // n
        ch = item - b * n
        for y in range(oh):
            for x in range(ow):
                out[b, ch, y, x] = (raw[b, ch, y, x] - np.float64(corr[b, ch, y, x])) * k + bias[ch]


def signed_counts_to_output(raw: np.ndarray, corr: np.ndarray, k: float, bias: np.ndarray) -> np.ndarray:
    """(raw - corr) * k + bias[n] in one pass over (B, N, ...) counts: a MAC layer's C+ - C- (the
    unsigned pass minus the complemented taps' popcounts) scaled to the output and biased.
    The same float64 operations, in the same order, as three separate passes (the subtraction
    is exact: both are integers below 2^53), at a third of the memory traffic. corr may lie in
    any layout (a channels-last correction conv's output is read in place)."""
    raw, corr = np.asarray(raw), np.asarray(corr)
    bias = np.ascontiguousarray(bias, dtype=np.float64).reshape(-1)
    shape = raw.shape
    if not 2 <= raw.ndim <= 4 or corr.shape != shape or bias.size != shape[1]:
        raise InvalidInputError(f"signed_counts_to_output needs counts and corrections of one shape (B, N[, H, W]) "
                                f"and N biases; got {shape}, {corr.shape} and {bias.size} biases.")
    if not isinstance(k, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"signed_counts_to_output needs a number for the scale, not {k!r}.")
    four = (shape[0], shape[1], shape[2] if raw.ndim > 2 else 1, shape[3] if raw.ndim > 3 else 1)
    c = corr if corr.dtype in (np.float32, np.float64) else corr.astype(np.float64)
    out = np.empty(four, dtype=np.float64)
    _signed_output(np.ascontiguousarray(raw, dtype=np.float64).reshape(four), c.reshape(four) if c.ndim < 4 else c,
                   float(k), bias, out)
    return out.reshape(shape)
