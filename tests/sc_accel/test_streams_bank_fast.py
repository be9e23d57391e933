"""The bank's fast paths against the plain ones, bit for bit: planes cut from shared base sequences
(streams/periodic.py) against the cycle-by-cycle fill, and images encoded source by source
(compare_images) against one stream at a time."""

from __future__ import annotations

import numpy as np
import pytest

from sc_accel.streams import _sng_kernels as K
from sc_accel.streams import bank as bank_mod
from sc_accel.bits import tail_mask
from sc_accel.streams.bank import _distinct_pairs, _encode, _fill_planes, build_bank, encode_thresholds, kind_code
from sc_accel.streams.generators import _DIRS, generator_params
from sc_accel.streams.periodic import periodic_planes
from sc_accel.streams.sharing import SharingMap


def _planes_both_ways(sng: str, width: int, length: int, n: int, seed: int, rng) -> tuple:
    params = generator_params(sng, width, seed, rng.integers(0, 50_000, n))
    rot = (rng.integers(0, width, n) | (rng.integers(0, 1 << width, n) << 8)).astype(np.int64)
    ref = np.empty((n, width, (length + 63) // 64), dtype=np.uint64)
    _fill_planes(kind_code(sng), width, params, _DIRS, rot, length, ref)
    out = np.full_like(ref, 12345)
    used = periodic_planes(kind_code(sng), width, params, _DIRS, rot, length, out)
    return used, ref, out


@pytest.mark.parametrize("sng", ["lfsr", "sobol", "vdc"])
@pytest.mark.parametrize("width,length", [(3, 1), (3, 100), (6, 63), (6, 64), (6, 65), (8, 256), (10, 1000),
                                          (10, 1024), (12, 4096), (7, 3000)])
def test_cut_planes_equal_the_filled_ones_bit_for_bit(sng, width, length, rng):
    """Every start state, rotation and XOR mask; lengths below, at and past a period and a word."""
    n = 3000  # enough sources per base that cutting pays
    used, ref, out = _planes_both_ways(sng, width, length, n, 7, rng)
    assert used
    assert np.array_equal(out, ref)


@pytest.mark.parametrize("sng", ["lfsr", "sobol"])
def test_few_sources_per_base_are_filled_as_before(sng, rng):
    used, ref, out = _planes_both_ways(sng, 12, 64, 30, 1, rng)
    assert not used and (out == 12345).all()


def test_a_polynomial_without_one_full_cycle_is_filled_as_before(rng):
    """Taps x^4 + x^2 + 1 (not primitive) split the 15 states into several cycles."""
    n, width = 600, 4
    params = np.zeros((n, 3), dtype=np.uint64)
    params[:, 0] = rng.integers(1, 16, n)
    params[:, 1] = 0b1010
    out = np.full((n, width, 2), 7, dtype=np.uint64)
    assert not periodic_planes(K.LFSR, width, params, _DIRS, np.zeros(n, np.int64), 100, out)
    assert (out == 7).all()


def test_other_generators_are_not_cut(rng):
    params = generator_params("bernoulli", 8, 0, np.arange(600))
    out = np.zeros((600, 8, 4), dtype=np.uint64)
    assert not periodic_planes(kind_code("bernoulli"), 8, params, _DIRS, np.zeros(600, np.int64), 256, out)


def test_a_16_bit_lfsr_cut_from_near_its_cycle_end_equals_the_fill(rng):
    """One polynomial (65,535 states), start states at the cycle's last indices and random ones,
    every rotation and XOR mask, a stream crossing a word and wrapping past the period's end."""
    width, length, n = 16, 129, 4100
    params = generator_params("lfsr", width, 0, np.zeros(n, dtype=np.int64))
    cycle = np.empty((1 << width) - 1, dtype=np.uint64)
    K.lfsr_fill(params[0, 1], np.uint64(1), width, cycle)
    params[:140, 0] = cycle[-140:]
    params[140:, 0] = rng.integers(1, 1 << width, n - 140)
    rot = (rng.integers(0, width, n) | (rng.integers(0, 1 << width, n) << 8)).astype(np.int64)
    ref = np.empty((n, width, 3), dtype=np.uint64)
    _fill_planes(K.LFSR, width, params, _DIRS, rot, length, ref)
    out = np.empty_like(ref)
    assert periodic_planes(K.LFSR, width, params, _DIRS, rot, length, out)
    assert np.array_equal(out, ref)


def test_a_start_state_off_the_cycle_is_filled_as_before(rng):
    params = generator_params("lfsr", 6, 0, np.arange(700))
    params[3, 0] = 0  # the all-zero state: no index on the cycle
    out = np.full((700, 6, 1), 9, dtype=np.uint64)
    assert not periodic_planes(K.LFSR, 6, params, _DIRS, np.zeros(700, np.int64), 64, out)
    assert (out == 9).all()


@pytest.mark.parametrize("sng", ["lfsr", "sobol"])
def test_a_bank_is_the_same_with_and_without_cutting(sng, rng, monkeypatch):
    n, width, length = 3000, 8, 200
    smap = SharingMap.shared(n, 4)
    ids = bank_mod.role_generator_ids(sng, width, 2, 0, smap.n_generators)[smap.generator]
    cut = []
    real = bank_mod.periodic_planes
    monkeypatch.setattr(bank_mod, "periodic_planes", lambda *a: cut.append(real(*a)) or cut[-1])
    fast, src = build_bank(sng, length, width, 2, ids, smap.wiring(width), table_limit=0)
    assert cut == [True]
    monkeypatch.setattr(bank_mod, "periodic_planes", lambda *a: False)
    slow, src2 = build_bank(sng, length, width, 2, ids, smap.wiring(width), table_limit=0)
    assert np.array_equal(fast.planes, slow.planes) and np.array_equal(src, src2)


@pytest.mark.parametrize("big", [False, True])
def test_distinct_pairs_are_numpys_row_unique(big, rng):
    top = 1 << 50 if big else 1000  # past 2^38 the row-wise unique itself is used
    gen = rng.integers(0, top, 5000)
    gen[:2000] = gen[2000:4000]  # repeats
    rot = rng.integers(0, 1 << 24, 5000)
    rot[:2000] = rot[2000:4000]
    pairs, src = _distinct_pairs(gen, rot)
    ref_pairs, ref_src = np.unique(np.stack([gen, rot], axis=1), axis=0, return_inverse=True)
    assert np.array_equal(pairs, ref_pairs) and np.array_equal(src.reshape(-1), ref_src.reshape(-1))


@pytest.mark.parametrize("ids", [np.arange(500) % 37, np.array([0, 5, 5, 1 << 40]), np.zeros(0, np.int64)])
def test_n_generators_counts_distinct_ids(ids):
    smap = SharingMap(ids, np.zeros(ids.size, np.int64))
    assert smap.n_generators == np.unique(ids).size


@pytest.mark.parametrize("length", [1, 64, 100, 128, 200, 256, 512, 1024, 1100])
@pytest.mark.parametrize("sng", ["lfsr", "sobol", "bernoulli"])
def test_images_encoded_source_by_source_equal_one_stream_at_a_time(sng, length, rng, monkeypatch):
    """Streams of 1, 2, 4 or 8k words go through compare_images 8 images a time (counts of images
    not a multiple of 8, thresholds below 0 and past 2^width); other lengths keep _encode."""
    width = 7
    calls = []
    real = bank_mod._encode_by_source
    monkeypatch.setattr(bank_mod, "_encode_by_source", lambda *a: calls.append(1) or real(*a))
    for n_img, n_el in ((8, 1), (13, 5), (30, 40)):
        bank, src = build_bank(sng, length, width, 1, np.arange(n_el), rng.integers(0, width, n_el), table_limit=0)
        thr = rng.integers(-5, (1 << width) + 5, n_img * n_el)
        ref = np.empty((thr.size, (length + 63) // 64), dtype=np.uint64)
        _encode(thr, np.tile(src, n_img), bank.planes, width, tail_mask(length), ref)
        assert np.array_equal(encode_thresholds(thr, src, bank), ref), (n_img, n_el)
    words = (length + 63) // 64
    assert bool(calls) == (words in (1, 2, 4) or words % 8 == 0)


def test_fewer_than_8_images_are_encoded_one_stream_at_a_time(rng, monkeypatch):
    monkeypatch.setattr(bank_mod, "_encode_by_source", None)  # would raise if called
    bank, src = build_bank("lfsr", 64, 6, 1, np.arange(10), np.zeros(10, np.int64), table_limit=0)
    thr = rng.integers(0, 64, 70)
    ref = np.empty((70, 1), dtype=np.uint64)
    _encode(thr, np.tile(src, 7), bank.planes, 6, tail_mask(64), ref)
    assert np.array_equal(encode_thresholds(thr, src, bank), ref)


def test_a_bank_with_planes_in_another_layout_encodes_the_same(rng):
    bank, src = build_bank("sobol", 256, 7, 1, np.arange(20), np.zeros(20, np.int64), table_limit=0)
    fortran = bank_mod.SourceBank(np.asfortranarray(bank.planes), bank.width, bank.length)
    thr = rng.integers(0, 129, 20 * 9)
    assert np.array_equal(encode_thresholds(thr, src, fortran), encode_thresholds(thr, src, bank))
