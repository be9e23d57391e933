"""Public kernel entries check shapes, dtypes, lengths and indices before any jitted code runs:
bad arguments are the documented InvalidInputError, never a segfault or a heap overwrite."""

from __future__ import annotations

import numpy as np
import pytest

from sc_accel.errors import InvalidInputError
from sc_accel.kernels.conv import conv_counts, linear_counts
from sc_accel.kernels.pool import or_pool, selector_pool
from sc_accel.streams import encode
from sc_accel.streams.bank import build_bank, encode_thresholds


@pytest.fixture
def streams():
    rng = np.random.default_rng(0)
    return encode(rng.random((1, 2, 4, 4)), 128, seed=1)  # (1, 2, 4, 4, 2 words)


@pytest.mark.parametrize("length", [129, 10**6, 0, -5, 2.5])
def test_selector_pool_refuses_lengths_its_streams_do_not_hold(streams, length):
    with pytest.raises(InvalidInputError, match="selector length"):
        selector_pool(streams, 2, 2, length)


def test_selector_pool_full_length_is_deterministic(streams):
    a, b = selector_pool(streams, 2, 2, 128), selector_pool(streams, 2, 2, 128)
    assert np.array_equal(a, b) and a.shape == (1, 2, 2, 2, 2)


@pytest.mark.parametrize("bad", [np.zeros((1, 2, 4, 4, 2)), np.zeros((1, 2, 4, 4, 2), np.int64), [[1]]])
def test_pooling_refuses_non_stream_arrays(bad):
    for pool in (lambda x: or_pool(x, 2, 2), lambda x: selector_pool(x, 2, 2, 64)):
        with pytest.raises(InvalidInputError, match="packed np.uint64 streams"):
            pool(bad)


@pytest.mark.parametrize("kernel,stride", [(0, 1), (5, 1), (2, 0), (2.0, 2), (True, 1)])
def test_pooling_refuses_bad_windows(streams, kernel, stride):
    with pytest.raises(InvalidInputError):
        or_pool(streams, kernel, stride)


def test_encode_thresholds_checks_source_indices():
    bank, src = build_bank("lfsr", 128, 7, 0, np.arange(3), np.zeros(3))
    thr = np.array([10, 20, 30])
    assert encode_thresholds(thr, src, bank).shape == (3, 2)
    for bad in (np.array([], np.int64), np.array([0, 3]), np.array([-1]), np.array([10**12])):
        with pytest.raises(InvalidInputError, match=r"source indices in 0\.\.2"):
            encode_thresholds(thr, bad, bank)
    with pytest.raises(InvalidInputError, match="integer thresholds"):
        encode_thresholds(np.array([0.5]), src, bank)
    assert encode_thresholds(np.array([], np.int64), np.array([], np.int64), bank).shape == (0, 2)


def test_conv_and_linear_counts_check_operands():
    x = np.zeros((1, 2, 4, 4, 2), np.uint64)
    w = np.zeros((3, 2, 3, 3, 2), np.uint64)
    assert conv_counts(x, w).shape == (1, 3, 2, 2)
    with pytest.raises(InvalidInputError, match="packed np.uint64 streams for x"):
        conv_counts(x.astype(np.float64), w)
    with pytest.raises(InvalidInputError, match="cannot slide a 5x5 kernel"):
        conv_counts(x, np.zeros((3, 2, 5, 5, 2), np.uint64))
    with pytest.raises(InvalidInputError, match="cannot slide"):
        conv_counts(x, w, stride=(0, 1))
    with pytest.raises(InvalidInputError, match="do not split into 0 groups"):
        conv_counts(x, w, groups=0)
    with pytest.raises(InvalidInputError, match="packed np.uint64 streams for w"):
        linear_counts(np.zeros((1, 4, 2), np.uint64), np.zeros((3, 4, 2), np.float32))


@pytest.mark.parametrize("bad", [np.array([0.5 + 0.5j]), ["0.5"], np.array(["a"]), [None], [object()]])
def test_encode_refuses_complex_strings_and_objects(bad):
    with pytest.raises(InvalidInputError, match="cannot be encoded; give real numbers"):
        encode(bad, 64)


def test_encode_accepts_real_numbers_of_any_dtype():
    for v in ([True, False], np.array([0, 1], np.uint8), np.array([0.25, 1.0], np.float32)):
        assert encode(v, 64).shape == (2, 1)


def test_max_pool_thresholds_equals_torch_and_checks_its_window(rng):
    import torch
    import torch.nn.functional as F

    from sc_accel.kernels.pool import max_pool_thresholds

    t = rng.integers(0, 1025, (2, 3, 9, 8))
    want = F.max_pool2d(torch.as_tensor(t.astype(np.float64)), 2, 2).numpy().astype(np.int64)
    assert np.array_equal(max_pool_thresholds(t, 2), want)
    with pytest.raises(InvalidInputError, match="cannot max-pool thresholds"):
        max_pool_thresholds(t, 10)


@pytest.mark.parametrize("c,n,k,s,g,L,h", [(1, 6, 5, 1, 1, 1024, 12), (6, 16, 5, 1, 1, 1024, 9), (4, 8, 3, 2, 2, 2048, 9),
                                           (3, 5, 3, 1, 1, 4096, 7), (8, 8, 3, 1, 8, 1024, 6), (2, 3, 1, 1, 1, 2048, 5)])
def test_direct_and_unrolled_convolutions_count_the_same(monkeypatch, c, n, k, s, g, L, h):
    import sc_accel.kernels.conv as conv

    rng = np.random.default_rng(c * 100 + n)
    x = encode(rng.random((2, c, h, h)), L, "lfsr", seed=1)
    w = encode(rng.random((n, c // g, k, k)), L, "lfsr", seed=2)
    monkeypatch.setattr(conv, "DIRECT_MIN_WORDS", 10**9)
    unrolled = conv.conv_counts(x, w, (s, s), g)
    monkeypatch.setattr(conv, "DIRECT_MIN_WORDS", 0)
    monkeypatch.setattr(conv, "DIRECT_MAX_OUT", 10**9)
    assert np.array_equal(conv.conv_counts(x, w, (s, s), g), unrolled)
