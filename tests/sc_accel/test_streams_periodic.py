"""Bit-planes cut from shared base sequences (streams/periodic.py) against the cycle-by-cycle fill."""

from __future__ import annotations

import numpy as np
import pytest

from sc_accel.streams import _sng_kernels as K
from sc_accel.streams import bank as bank_mod
from sc_accel.streams.bank import _distinct_pairs, _fill_planes, build_bank, kind_code
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


@pytest.mark.parametrize("sng", ["lfsr", "sobol"])
def test_a_bank_is_the_same_with_and_without_cutting(sng, rng, monkeypatch):
    n, width, length = 3000, 8, 200
    smap = SharingMap.shared(n, 4)
    ids = bank_mod.role_generator_ids(sng, width, 2, 0, smap.n_generators)[smap.generator]
    fast, src = build_bank(sng, length, width, 2, ids, smap.wiring(width), table_limit=0)
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
