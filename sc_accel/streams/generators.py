"""Stochastic number generators by name, and their per-generator parameters.

An SNG is a random-number source r_t in [0, 2^width) plus a comparator
(bit_t = r_t < value * 2^width). Kinds:

| name        | source                                   | independent across seeds?          |
|-------------|------------------------------------------|------------------------------------|
| "lfsr"      | maximal-length LFSR (lfsr.py), state - 1 | yes: seed picks polynomial (of up to 16), state, output rotation |
| "sobol"     | Sobol, natural order (sobol.py)          | yes while seeds pick distinct dimensions (16 available) |
| "vdc"       | van der Corput base 2 (bit reversal)     | no: seeds only XOR-shift one sequence; pair it with "counter" or "sobol" |
| "counter"   | ramp t mod 2^width                       | no: seeds only offset the ramp; pair it with "vdc" |
| "bernoulli" | SplitMix64 of (seed, generator, t)       | yes |
"""

from __future__ import annotations

import math

import numpy as np

from sc_accel.bits import check_length
from sc_accel.errors import InvalidInputError, is_int
from sc_accel.kernels.convert import as_int_array
from sc_accel.streams import _sng_kernels as K
from sc_accel.streams.budget import check_fits
from sc_accel.streams.lfsr import MAX_WIDTH, MIN_WIDTH, poly_table
from sc_accel.streams.sobol import n_sobol_dims, sobol_directions

__all__ = ["SNG_KINDS", "default_width", "check_width", "check_generator_ids", "generator_params", "sequence"]

SNG_KINDS: dict[str, int] = {
    "lfsr": K.LFSR, "sobol": K.SOBOL, "vdc": K.VDC, "counter": K.COUNTER, "bernoulli": K.BERNOULLI,
}
_DIRS = sobol_directions()
_POLYS, _N_POLYS = poly_table()
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def kind_code(sng: str) -> int:
    """Integer code of a generator name, or a clear error listing the names."""
    if sng not in SNG_KINDS:
        raise InvalidInputError(f"unknown SNG {sng!r}; choose one of {', '.join(SNG_KINDS)}.")
    return SNG_KINDS[sng]


def default_width(length: int) -> int:
    """Comparator width for a stream of `length` bits: ceil(log2 L), clipped to 3..16.

    With L = 2^w a full LFSR period (2^w - 1 states) or a full low-discrepancy block fits
    the stream, so the value is resolved to about 1/L.
    """
    return int(min(MAX_WIDTH, max(MIN_WIDTH, math.ceil(math.log2(max(int(length), 2))))))


def check_width(width: object, sng: str) -> int:
    """Validate a comparator width for the given generator kind."""
    lo = MIN_WIDTH if sng == "lfsr" else 1
    if not is_int(width) or not lo <= int(width) <= MAX_WIDTH:
        raise InvalidInputError(
            f"width {width!r} is not supported for SNG {sng!r}; give an integer from {lo} to {MAX_WIDTH}.")
    return int(width)


def _check_seed(seed: object) -> int:
    if not is_int(seed) or int(seed) < 0:
        raise InvalidInputError(f"seed {seed!r} is not a non-negative integer; give e.g. seed=0.")
    if int(seed) >= 1 << 63:  # the kernels take it as int64
        raise InvalidInputError(f"seed {seed} is too large; give a seed below 2^63.")
    return int(seed)


def _mix(x: np.ndarray) -> np.ndarray:
    """Vectorised SplitMix64 (same function as sc_accel.bits.splitmix64)."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def check_generator_ids(gen_ids: object) -> np.ndarray:
    """Generator ids as a flat int64 array of whole numbers >= 0 (a float id is refused, not truncated)."""
    g = as_int_array(gen_ids, "generator ids").reshape(-1)
    if g.size and g.min() < 0:
        raise InvalidInputError(f"generator id {int(g.min())} is negative; give ids >= 0.")
    return g


def generator_params(sng: str, width: int, seed: int, gen_ids: np.ndarray) -> np.ndarray:
    """(G, 3) uint64 parameter rows for generators `gen_ids` under `seed` (see module table)."""
    code, seed = kind_code(sng), _check_seed(seed)
    width = check_width(width, sng)
    g = check_generator_ids(gen_ids).astype(np.uint64)
    with np.errstate(over="ignore"):
        key = _mix(_mix(np.array([seed], dtype=np.uint64)) + g)
        slot = np.uint64(seed) + g                      # seed + generator id
    p = np.zeros((g.size, 3), dtype=np.uint64)
    if code == K.LFSR:
        p[:, 0] = np.uint64(1) + key % np.uint64((1 << width) - 1)        # non-zero start state
        pick = (slot % np.uint64(_N_POLYS[width])).astype(np.int64)       # cyclic, as Sobol dims
        p[:, 1] = _POLYS[width][pick]                                     # primitive polynomial
        p[:, 2] = (key >> np.uint64(40)) % np.uint64(width)               # output rotation
    elif code == K.SOBOL:
        d = np.uint64(n_sobol_dims())
        p[:, 0] = slot % d
        p[:, 1] = np.where(slot < d, np.uint64(0), key)                   # digital shift past the table
    elif code in (K.VDC, K.COUNTER):
        p[:, 0 if code == K.COUNTER else 1] = np.where(slot == 0, np.uint64(0), key)
    else:
        p[:, 0] = key
    return p


def sequence(sng: str, length: int, width: int | None = None, seed: int = 0,
             generator: int = 0) -> np.ndarray:
    """The random numbers r_0..r_{L-1} of one generator (for inspection and tests)."""
    length = check_length(length)
    width = default_width(length) if width is None else check_width(width, sng)
    if not is_int(generator):
        raise InvalidInputError(f"generator {generator!r} is not a whole number; give a generator id >= 0.")
    params = generator_params(sng, width, seed, np.array([generator]))
    check_fits(8 * length, f"a sequence of {length} numbers", "give a shorter length")
    out = np.empty(length, dtype=np.uint64)
    K.fill_sequence(kind_code(sng), width, params[0], _DIRS, out)
    return out
