"""LFSR and low-discrepancy generators: full periods, golden values, documented errors."""

import numpy as np
import pytest
from scipy.stats import qmc

from sc_accel.errors import InvalidInputError
from sc_accel.streams._sng_kernels import lfsr_fill
from sc_accel.streams import LFSR_TAPS, lfsr_sequence, sequence, sobol_directions, tap_mask
from sc_accel.streams.lfsr import LFSR_POLYS


@pytest.mark.parametrize("width", sorted(LFSR_POLYS))
def test_every_lfsr_polynomial_has_maximal_period(width):
    period = (1 << width) - 1
    for mask in LFSR_POLYS[width]:
        seq = np.empty(period + 1, dtype=np.uint64)
        lfsr_fill(np.uint64(mask), np.uint64(1), width, seq)
        assert len(np.unique(seq[:period])) == period, hex(mask)
        assert seq[period] == seq[0]  # and then it repeats


def test_xapp052_rows_are_first_in_the_polynomial_table():
    for width in LFSR_TAPS:
        assert LFSR_POLYS[width][0] == tap_mask(width)
        assert LFSR_POLYS[width][1] == tap_mask(width, reciprocal=True)


def test_lfsr_golden_states_width4():
    # x^4 + x^3 + 1, shift left, feedback = parity(state & 0b1100), from state 1
    assert lfsr_sequence(4, 8, state=1).tolist() == [1, 2, 4, 9, 3, 6, 13, 10]


def test_lfsr_any_nonzero_seed_is_a_phase_of_the_same_cycle():
    base = lfsr_sequence(8, 255, state=1).tolist()
    other = lfsr_sequence(8, 255, state=77).tolist()
    k = base.index(77)
    assert other == base[k:] + base[:k]


@pytest.mark.parametrize("state", [0, 256, -1])
def test_lfsr_rejects_zero_or_too_wide_seed(state):
    with pytest.raises(InvalidInputError, match="non-zero"):
        lfsr_sequence(8, 10, state=state)


@pytest.mark.parametrize("width", [2, 17])
def test_lfsr_rejects_unsupported_width(width):
    with pytest.raises(InvalidInputError, match="width"):
        lfsr_sequence(width, 10)


def test_sobol_dimensions_match_scipy():
    bits, n = 16, 1024
    ref = (qmc.Sobol(d=16, scramble=False, bits=bits).random(n) * (1 << bits)).astype(np.uint64)
    dirs = sobol_directions(bits)
    t = np.arange(n, dtype=np.uint64)
    for d in range(16):
        mine = np.zeros(n, dtype=np.uint64)
        for k in range(bits):
            mine ^= np.where((t >> np.uint64(k)) & np.uint64(1), dirs[d, k], np.uint64(0))
        assert set(mine.tolist()) == set(ref[:, d].tolist()), d  # scipy uses Gray-code order


def test_vdc_is_bit_reversal_of_the_counter():
    w = 6
    seq = sequence("vdc", 64, width=w, seed=0)
    rev = [int(format(t, f"0{w}b")[::-1], 2) for t in range(64)]
    assert seq.tolist() == rev


def test_sobol_sequence_kernel_matches_direction_table():
    seq = sequence("sobol", 256, width=8, seed=1)       # seed 1 -> dimension 1
    dirs = sobol_directions(16)[1]
    ref = []
    for t in range(256):
        x = 0
        for k in range(8):
            if (t >> k) & 1:
                x ^= int(dirs[k])
        ref.append(x >> 8)
    assert seq.tolist() == ref


def test_counter_and_full_period_sequences_cover_every_value_once():
    assert sorted(sequence("counter", 128, width=7).tolist()) == list(range(128))
    assert sorted(sequence("sobol", 128, width=7, seed=5).tolist()) == list(range(128))
    assert sorted(sequence("lfsr", 127, width=7, seed=9).tolist()) == list(range(127))


def test_bernoulli_sequence_is_counter_based():
    a = sequence("bernoulli", 500, width=16, seed=4)
    b = sequence("bernoulli", 1000, width=16, seed=4)
    assert np.array_equal(a, b[:500])                    # prefix-stable: r_t depends on t only
    assert not np.array_equal(a, sequence("bernoulli", 500, width=16, seed=5))
    # uniform on [0, 2^16): the mean of 1000 draws is within 5 sd of 2^15
    sd = (1 << 16) / np.sqrt(12 * 1000)
    assert abs(b.astype(float).mean() - (1 << 15)) < 5 * sd


def test_vectorised_key_mixer_is_the_kernel_splitmix64():
    from numba import njit

    from sc_accel.bits import splitmix64
    from sc_accel.streams.generators import _mix

    xs = np.array([0, 1, 12345, 2**63 + 7, 2**64 - 1], dtype=np.uint64)
    scalar = njit(lambda x: splitmix64(x))
    assert _mix(xs).tolist() == [int(scalar(x)) for x in xs]
