"""encode() calls that repeat a generator set reuse a cached SNG bank: same bits, bounded memory.
LFSR streams are computed bit-sliced and never cached."""

from __future__ import annotations

import numpy as np
import pytest

from sc_accel.streams import bank_cache, encode
from sc_accel.streams.sharing import SharingMap


@pytest.fixture(autouse=True)
def _fresh_cache():
    bank_cache.clear()
    yield
    bank_cache.clear()


@pytest.mark.parametrize("sng", ["sobol", "bernoulli", "vdc", "counter"])
@pytest.mark.parametrize("share", [None, 4, "xor"])
def test_cached_calls_give_the_bits_of_direct_calls(rng, sng, share):
    smap = SharingMap.shared(120, 4, "xor") if share == "xor" else share
    batches = [rng.random(120) for _ in range(4)]
    got = [encode(v, 300, sng, seed=3, share=smap) for v in batches]  # 1st direct, 2nd builds, then cached
    assert len(bank_cache._banks) == 1
    for v, g in zip(batches, got):
        bank_cache.clear()  # a direct encode of the same values
        assert np.array_equal(g, encode(v, 300, sng, seed=3, share=smap))


def test_other_generators_are_not_served_from_the_cache(rng):
    v = rng.random(50)
    for _ in range(3):
        encode(v, 128, "sobol", seed=1)
    other = encode(v, 128, "sobol", seed=2)
    bank_cache.clear()
    assert np.array_equal(other, encode(v, 128, "sobol", seed=2))
    assert not np.array_equal(other, encode(v, 128, "sobol", seed=1))


def test_cache_stays_within_its_budget(rng, monkeypatch):
    monkeypatch.setattr(bank_cache, "TABLE_BYTES", 0)        # bit-planes only: ~260 KB per bank here
    monkeypatch.setattr(bank_cache, "CACHE_BYTES", 600_000)
    for seed in range(6):
        for _ in range(2):
            encode(rng.random(200), 1024, "bernoulli", seed=seed)
    assert sum(v[2] for v in bank_cache._banks.values()) <= 600_000
    assert 0 < len(bank_cache._banks) < 6


def test_lfsr_streams_are_not_cached(rng):
    for _ in range(3):
        encode(rng.random(64), 256, "lfsr", seed=1)
    assert not bank_cache._banks
