"""The bit-sliced LFSR encoder gives the bits of generating each register's sequence and
comparing it, for every width, wiring, threshold edge and stream length."""

from __future__ import annotations

import numpy as np
import pytest

from sc_accel.bits import n_words
from sc_accel.streams import _sng_kernels as K
from sc_accel.streams import encode
from sc_accel.streams.generators import _DIRS, generator_params
from sc_accel.streams.lfsr import LFSR_POLYS
from sc_accel.streams.lfsr_sliced import encode_lfsr_sliced, msequence_tables


def _reference(thr, gen, wiring, seed, width, length):
    """Fill every generator's sequence, then compare and pack (the sequential definition)."""
    params = generator_params("lfsr", width, seed, gen)
    seqs = np.empty((gen.size, length), dtype=np.uint64)
    K.fill_sequences(K.LFSR, width, params, _DIRS, seqs)
    out = np.zeros((gen.size, n_words(length)), dtype=np.uint64)
    K.encode_from_sequences(thr, wiring, np.arange(gen.size, dtype=np.int64), seqs, width, out)
    return out


def _thresholds(rng, width, n):
    """Random thresholds plus every edge: 0, 1, 2^w - 1 (always 1 after the decrement), 2^w."""
    top = 1 << width
    edges = np.array([0, 1, top - 2, top - 1, top], dtype=np.uint64)
    return np.concatenate([edges, rng.integers(0, top + 1, n - edges.size).astype(np.uint64)])


@pytest.mark.parametrize("width", sorted(LFSR_POLYS))
@pytest.mark.parametrize("wired", [False, True])
def test_sliced_bits_equal_the_sequential_lfsr(rng, width, wired):
    n = 120
    length = int(rng.integers(1, 3 * 64 + 5))
    gen = rng.integers(0, 1 << 40, n)
    wiring = np.zeros(n, dtype=np.int64)
    if wired:  # rotation in the low byte, XOR mask above it (SharingMap.wiring)
        wiring = rng.integers(0, width, n) | (rng.integers(0, 1 << width, n) << 8)
    thr = _thresholds(rng, width, n)
    for seed in (0, 11):
        got = encode_lfsr_sliced(thr, gen, wiring, seed, width, length)
        assert np.array_equal(got, _reference(thr, gen, wiring, seed, width, length))


@pytest.mark.parametrize("length", [64, 1000, 1024, 4096])
def test_streams_longer_than_the_period_wrap_like_the_register(rng, length):
    """A 4-bit register repeats every 15 cycles; the sliced reads must wrap the same way."""
    gen = np.arange(40)
    thr = _thresholds(rng, 4, 40)
    wiring = np.zeros(40, dtype=np.int64)
    got = encode_lfsr_sliced(thr, gen, wiring, 5, 4, length)
    assert np.array_equal(got, _reference(thr, gen, wiring, 5, 4, length))


@pytest.mark.parametrize("width", [3, 7, 10])
def test_msequence_tables_cover_every_state_once(width):
    useq, phase = msequence_tables(width, 256)
    period = (1 << width) - 1
    for p in range(useq.shape[0]):
        assert sorted(phase[p, 1:]) == list(range(period))  # a bijection: states <-> cycles
        bits = (useq[p, :, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
        bits = bits.reshape(-1)
        assert np.array_equal(bits[period:2 * period], bits[:period])  # periodic
        assert bits[:period].sum() == 1 << (width - 1)  # an m-sequence has 2^(w-1) ones


def test_public_encode_takes_the_sliced_path_with_sharing(rng):
    """encode() with shared, rotated and XOR-wired LFSRs equals the sequential definition."""
    from sc_accel.streams.sharing import SharingMap

    v = rng.random(96)
    for share in (None, 4, SharingMap.shared(96, 8, "xor")):
        smap = SharingMap.private(96) if share is None else (
            share if isinstance(share, SharingMap) else SharingMap.shared(96, share))
        got = encode(v, 500, "lfsr", seed=4, share=share)
        thr = np.ceil(v * 512).astype(np.uint64)
        ref = _reference(thr, smap.generator, smap.wiring(9), 4, 9, 500)
        assert np.array_equal(got, ref)


def test_lengths_past_the_table_budget_take_the_sequential_path_with_the_same_bits(rng, monkeypatch):
    from sc_accel.streams import lfsr_sliced

    v = rng.random(30)
    sliced = encode(v, 700, "lfsr", seed=2, share=3)
    assert lfsr_sliced.fits(10, 700)
    monkeypatch.setattr(lfsr_sliced, "TABLE_LIMIT_BYTES", 1000)
    assert not lfsr_sliced.fits(10, 700)
    assert np.array_equal(encode(v, 700, "lfsr", seed=2, share=3), sliced)
