"""Binary -> stochastic (encode) and stochastic -> binary (decode) conversion."""

from __future__ import annotations

import numpy as np
from numba import get_num_threads

from sc_accel.bits import check_length, n_words, stream_counts
from sc_accel.errors import InvalidInputError, is_int
from sc_accel.streams import _sng_kernels as K
from sc_accel.streams.budget import check_fits
from sc_accel.streams.generators import (_DIRS, _check_seed, check_width, default_width,
                                         generator_params, kind_code)
from sc_accel.streams.bank import encode_thresholds
from sc_accel.streams.bank_cache import cached_bank
from sc_accel.streams.lfsr_sliced import encode_lfsr_sliced, fits as sliced_fits
from sc_accel.streams.sharing import SharingMap

__all__ = ["encode", "decode", "thresholds"]

PRECOMPUTE_LIMIT = 1 << 22  # generator-sequence entries below which sequences are precomputed


def _check_values(values: object) -> np.ndarray:
    raw = np.asarray(values)
    if raw.dtype.kind not in "biuf":  # complex parts, strings and objects are not probabilities
        raise InvalidInputError(f"values of dtype {raw.dtype} cannot be encoded; give real numbers in [0, 1].")
    v = raw.astype(np.float64, copy=False)
    bad = ~np.isfinite(v) | (v < 0.0) | (v > 1.0)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidInputError(
            f"value {v[idx]!r} at index {idx} is outside [0, 1]; unipolar streams encode "
            "probabilities, so scale the data into [0, 1] first.")
    return v


def thresholds(values: np.ndarray, width: int) -> np.ndarray:
    """Comparator thresholds: r < value * 2^w  <=>  r < ceil(value * 2^w) for integer r."""
    return np.ceil(values.reshape(-1) * float(1 << width)).astype(np.uint64)


def _as_map(share: SharingMap | int | None, n: int) -> SharingMap:
    if share is None:
        return SharingMap.private(n)
    if isinstance(share, SharingMap):
        share.check(n)
        return share
    if is_int(share):
        return SharingMap.shared(n, int(share))
    raise InvalidInputError(f"share={share!r} is not a SharingMap or a sharing degree; give either.")


def encode_bytes(n_values: int, length: int, width: int, code: int) -> int:
    """Peak memory of encode: the streams, plus one generator sequence per thread when the streams
    are not computed bit-sliced (the precomputed sequences stay under PRECOMPUTE_LIMIT entries)."""
    out = n_values * n_words(length) * 8
    if code == K.LFSR and sliced_fits(width, length):
        return out
    return out + min(n_values, get_num_threads()) * length * 8 + 8 * PRECOMPUTE_LIMIT


def encode(values: object, length: int, sng: str = "lfsr", seed: int = 0,
           width: int | None = None, share: SharingMap | int | None = None) -> np.ndarray:
    """Unipolar streams for `values` in [0, 1]: uint64 array of shape values.shape + (ceil(L/64),).

    Each stream's generator comes from `share` (None: one private generator per value;
    an int d: groups of d consecutive values share a generator, rotated per member; or a
    SharingMap). Bits depend only on (sng, width, seed, generator id, t): reproducible
    at any thread count. LFSR streams are computed bit-sliced from one m-sequence per
    polynomial (lfsr_sliced), nothing stored per generator; for the other kinds, calls that
    repeat a generator set (batch after batch with one seed) reuse its generator outputs from
    a small cache (bank_cache). The bits are the same either way.
    """
    length = check_length(length)
    code = kind_code(sng)
    width = default_width(length) if width is None else check_width(width, sng)
    v = _check_values(values)
    smap = _as_map(share, v.size)
    shape = v.shape + (n_words(length),)
    check_fits(encode_bytes(v.size, length, width, code), f"encoding {v.size} value(s) at L={length}",
               "use a shorter stream or fewer values per call")
    if v.size == 0:
        return np.zeros(shape, dtype=np.uint64)
    thr = thresholds(v, width)
    wiring = smap.wiring(width)
    if code == K.LFSR and sliced_fits(width, length):
        return encode_lfsr_sliced(thr, smap.generator, wiring, _check_seed(seed), width, length).reshape(shape)
    cached = cached_bank(sng, length, width, seed, smap.generator, wiring)
    if cached is not None:  # the same generators as an earlier call: comparator only
        bank, src = cached
        return encode_thresholds(thr.astype(np.int64), src, bank).reshape(shape)
    out = np.zeros((v.size, n_words(length)), dtype=np.uint64)
    ids, local = np.unique(smap.generator, return_inverse=True)
    params = generator_params(sng, width, seed, ids)
    if ids.size * length <= PRECOMPUTE_LIMIT:
        seqs = np.empty((ids.size, length), dtype=np.uint64)
        K.fill_sequences(code, width, params, _DIRS, seqs)
        K.encode_from_sequences(thr, wiring, local.astype(np.int64), seqs, width, out)
    else:
        order = np.argsort(local, kind="stable").astype(np.int64)
        starts = np.searchsorted(local[order], np.arange(ids.size + 1)).astype(np.int64)
        K.encode_grouped(thr, wiring, order, starts, code, width, params, _DIRS, length, out)
    return out.reshape(shape)


def decode(bits: np.ndarray, length: int) -> np.ndarray:
    """Stream values: ones / length over the last axis (bits past `length` are ignored)."""
    return stream_counts(bits, length).astype(np.float64) / float(check_length(length))
