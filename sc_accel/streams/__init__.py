"""Stochastic number generators, SNG sharing maps and packed unipolar streams.

A stream of length L is packed 64 bits to a np.uint64 word, LSB first; the last word
is masked (the layout and its helpers live in sc_accel.bits). `encode` turns values in
[0, 1] into streams, `decode` counts them back.
"""

from sc_accel.streams.coding import decode, encode, thresholds
from sc_accel.streams.generators import SNG_KINDS, default_width, generator_params, sequence
from sc_accel.streams.lfsr import LFSR_TAPS, lfsr_sequence, tap_mask
from sc_accel.streams.sharing import SharingMap
from sc_accel.streams.sobol import n_sobol_dims, sobol_directions

__all__ = [
    "encode", "decode", "thresholds", "SNG_KINDS", "default_width", "generator_params",
    "sequence", "LFSR_TAPS", "lfsr_sequence", "tap_mask", "SharingMap", "n_sobol_dims",
    "sobol_directions",
]
