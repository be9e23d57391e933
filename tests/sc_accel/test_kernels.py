"""Packed kernels against bit-level references (exact) and their binary twins (statistical)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sc_accel.bits import pack_bits, stream_counts, unpack_bits
from sc_accel.errors import InvalidInputError
from sc_accel.kernels import (fxp_dot, fxp_matmul, fxp_max, fxp_min, fxp_mux_add, fxp_mux_sum,
                              fxp_not, mux_select, sc_and_reduce, sc_dot, sc_matmul, sc_mul,
                              sc_mux_add, sc_mux_sum, sc_not, sc_or_reduce)
from sc_accel.kernels.dot import CHUNK_WORDS
from sc_accel.kernels.reference import ref_counts, ref_matmul, ref_mux_sum
from sc_accel.metrics import bernoulli_sd
from sc_accel.streams import decode, encode, sequence
from tests.conftest import numba_threads


def random_bits(rng, shape, density=0.5):
    return rng.random(shape) < density


@given(st.integers(1, 300), st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_pack_unpack_round_trip(length, seed):
    bits = random_bits(np.random.default_rng(seed), (3, length))
    words = pack_bits(bits)
    assert words.shape == (3, (length + 63) // 64)
    assert np.array_equal(unpack_bits(words, length), bits)
    assert np.array_equal(stream_counts(words, length), ref_counts(bits))


@pytest.mark.parametrize("m,n,k,length", [(4, 4, 3, 64), (5, 7, 9, 100), (1, 1, 1, 1),
                                          (8, 12, 40, 64 * CHUNK_WORDS // 20 + 17), (13, 3, 2, 130)])
def test_matmul_equals_bit_reference(rng, m, n, k, length):
    a, b = random_bits(rng, (m, k, length), 0.3), random_bits(rng, (n, k, length), 0.6)
    got = sc_matmul(pack_bits(a), pack_bits(b), length)
    assert got.dtype == np.int64
    assert np.array_equal(got, ref_matmul(a, b))


def test_matmul_same_counts_at_one_and_two_threads(rng):
    a, b = pack_bits(random_bits(rng, (9, 30, 500))), pack_bits(random_bits(rng, (11, 30, 500)))
    with numba_threads(1):
        one = sc_matmul(a, b, 500)
    with numba_threads(2):
        two = sc_matmul(a, b, 500)
    assert np.array_equal(one, two)


def test_dot_matches_matmul_and_reference(rng):
    x, w = random_bits(rng, (20, 200)), random_bits(rng, (6, 20, 200))
    got = sc_dot(pack_bits(x), pack_bits(w), 200)
    assert np.array_equal(got, ref_matmul(w, x[None])[:, 0])


def test_matmul_approximates_its_binary_twin(rng):
    # count = sum over k of L Bernoulli(a_k b_k) bits: sd = sqrt(sum_k a_k b_k (1 - a_k b_k) L)
    length, k = 1024, 64
    a, b = rng.random((8, k)), rng.random((10, k))
    counts = sc_matmul(encode(a, length, "bernoulli", seed=1), encode(b, length, "bernoulli", seed=2),
                       length)
    expected = fxp_matmul(a, b)
    prod = a[:, None, :] * b[None, :, :]
    sd = np.sqrt((prod * (1 - prod)).sum(-1) / length)
    assert np.all(np.abs(counts / length - expected) <= 5 * sd + 2 * k / length)
    assert np.allclose(fxp_dot(b[0], a), expected[:, 0])


def test_mul_not_and_reductions_against_references(rng):
    length = 150
    a, b = random_bits(rng, (4, 5, length)), random_bits(rng, (4, 5, length))
    pa, pb = pack_bits(a), pack_bits(b)
    assert np.array_equal(unpack_bits(sc_mul(pa, pb, length), length), a & b)
    assert np.array_equal(unpack_bits(sc_not(pa, length), length), ~a)
    assert np.array_equal(sc_not(pa, length)[..., -1] >> np.uint64(length % 64), np.zeros((4, 5), np.uint64))
    assert np.array_equal(unpack_bits(sc_or_reduce(pa, length), length), a.any(axis=1))
    assert np.array_equal(unpack_bits(sc_and_reduce(pa, length), length), a.all(axis=1))


def test_mux_kernels_against_references_and_twins(rng):
    length = 4096
    bits = random_bits(rng, (3, 5, length))
    sel = mux_select(5, sequence("bernoulli", length, width=16, seed=3))
    out = sc_mux_sum(pack_bits(bits), sel, length)
    assert np.array_equal(unpack_bits(out, length), ref_mux_sum(bits, sel))
    # statistical: Bernoulli streams through a uniform MUX have mean = mean of inputs
    v = rng.random((200, 5))
    got = decode(sc_mux_sum(encode(v, length, "bernoulli", seed=1), sel, length), length)
    assert np.all(np.abs(got - fxp_mux_sum(v)) <= 5 * bernoulli_sd(fxp_mux_sum(v), length) + 1e-3)
    a, b = rng.random(300), rng.random(300)
    s = encode(np.full(300, 0.5), length, "bernoulli", seed=9)
    got = decode(sc_mux_add(encode(a, length, "lfsr", seed=1), encode(b, length, "lfsr", seed=2), s,
                            length), length)
    want = fxp_mux_add(a, b, 0.5)
    assert np.all(np.abs(got - want) <= 5 * bernoulli_sd(want, length) + 2.0 / length)


def test_mux_select_maps_16_bit_draws_to_inputs():
    # index = (draw * N) >> 16: quarters of 0..65535 pick inputs 0..3
    assert mux_select(4, np.array([0, 16383, 16384, 32768, 49151, 65535], np.uint64)).tolist() == [0, 0, 1, 2, 2, 3]
    for bad in (np.array([65536]), np.array([-1]), np.zeros((2, 2), np.int64)):
        with pytest.raises(InvalidInputError, match="MUX draws must be a 1-D array"):
            mux_select(4, bad)


def test_binary_twins():
    v = np.array([[0.2, 0.7, 0.5]])
    assert fxp_max(v)[0] == 0.7 and fxp_min(v)[0] == 0.2
    assert np.allclose(fxp_not(v), [[0.8, 0.3, 0.5]])


def test_kernel_input_errors(rng):
    a = pack_bits(random_bits(rng, (2, 3, 64)))
    with pytest.raises(InvalidInputError, match="equal K"):
        sc_matmul(a, pack_bits(random_bits(rng, (2, 4, 64))), 64)
    with pytest.raises(InvalidInputError, match="np.uint64"):
        sc_mul(a.astype(np.int64), a, 64)
    with pytest.raises(InvalidInputError, match="differ in shape"):
        sc_mul(a, a[:1], 64)
    with pytest.raises(InvalidInputError, match="select"):
        sc_mux_sum(a, np.full(64, 7), 64)


def test_batch_of_one_runs_on_the_wide_axis(monkeypatch):
    """matmul_words spreads blocks of 4 b-rows over the threads; one input against a weight
    matrix must put the weights on that axis, and the counts must not change."""
    import sc_accel.kernels.dot as dot
    from sc_accel.streams import encode as enc

    rng = np.random.default_rng(3)
    w = enc(rng.random((64, 40)), 300, "lfsr", seed=1)
    x = enc(rng.random((1, 40)), 300, "lfsr", seed=2)
    ref = np.array([[np.sum([bin(int(v)).count("1") for v in (w[m] & x[0]).ravel()])] for m in range(64)])
    calls = []
    real = dot.matmul_words
    monkeypatch.setattr(dot, "matmul_words",
                        lambda a, b, out, block=4: (calls.append(b.shape[0]), real(a, b, out, block)))
    assert np.array_equal(dot.sc_matmul(w, x, 300), ref)
    assert calls == [64]  # the 64 weight rows are the parallel axis, not the single input


@pytest.mark.parametrize("m,n,j", [(37, 50, 700), (4, 16, 513), (9, 3, 64), (1, 33, 1030)])
@pytest.mark.parametrize("block", [4, 16])
def test_matmul_words_blocks_give_the_same_counts(m, n, j, block):
    """Every b-row block size, with edges that fill no 4 x 4 tile and a reduction longer than a chunk."""
    from sc_accel.kernels.dot import matmul_words
    rng = np.random.default_rng(m * n + j)
    a = rng.integers(0, 2**63, (m, j), dtype=np.uint64)
    b = rng.integers(0, 2**63, (n, j), dtype=np.uint64)
    ref = np.array([[sum(bin(int(v)).count("1") for v in a[r] & b[c]) for c in range(n)] for r in range(m)])
    out = np.empty((m, n), np.uint64)
    matmul_words(a, b, out, block)
    assert np.array_equal(out.astype(np.int64), ref)
