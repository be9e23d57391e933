"""Issue 24: the low-level API (streams, kernels, nn) refuses bad arguments with the documented
InvalidInputError (or its MemoryLimitError) and one sentence, before any jitted code or large
allocation; valid edge cases (empty operands, numpy inputs) give correct results."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from sc_accel.bits import MAX_STREAM_LENGTH
from sc_accel.errors import InvalidInputError
from sc_accel.graph import Layer, LayerGraph, trace
from sc_accel.kernels import fxp_dot, fxp_matmul, mux_select, quantize, sc_dot, sc_matmul, sc_mux_sum
from sc_accel.kernels.conv import linear_counts
from sc_accel.nn import SCConfig, emulate, fixed_point
from sc_accel.nn.config import MAX_SHARE
from sc_accel.streams import SharingMap, bank_cache, budget, encode, lfsr_sequence, sequence
from sc_accel.streams.bank import build_bank
from sc_accel.streams.generators import generator_params


def _one_sentence(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg and msg.endswith(".") and msg.replace("e.g. ", "").count(". ") == 0, msg
    return msg


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 5)).eval()


X = torch.rand(3, 1, 8, 8)
CFG = SCConfig(stream_length=32)


@pytest.fixture
def tiny_memory(monkeypatch):
    """1 MiB available: anything bigger than 0.6 MiB must be refused before it is allocated."""
    monkeypatch.setattr(budget, "available_bytes", lambda: 1 << 20)


# 1. stream lengths: a documented cap, and a memory check before allocating


@pytest.mark.parametrize("length", [1 << 36, MAX_STREAM_LENGTH + 1, 1 << 10**6], ids=["2^36", "cap+1", "2^1e6"])
def test_encode_refuses_lengths_past_the_cap(length):
    with pytest.raises(InvalidInputError, match="beyond the supported maximum of 2\\^32 bits") as e:
        encode([0.5], length)
    _one_sentence(e)


@pytest.mark.parametrize("sng", ["lfsr", "bernoulli", "sobol"])
def test_encode_refuses_streams_that_do_not_fit(tiny_memory, sng):
    with pytest.raises(budget.MemoryLimitError, match="needs about .* usable here; use a shorter stream") as e:
        encode(np.full(64, 0.5), 1 << 20, sng)
    _one_sentence(e)


def test_sequences_and_banks_refuse_what_does_not_fit(tiny_memory):
    with pytest.raises(budget.MemoryLimitError, match="a sequence of 1048576 numbers needs"):
        sequence("bernoulli", 1 << 20)
    with pytest.raises(budget.MemoryLimitError, match="MUX|sequence"):
        mux_select(4, sequence("bernoulli", 1 << 20, width=16))
    with pytest.raises(budget.MemoryLimitError, match="LFSR sequence"):
        lfsr_sequence(8, 1 << 20)
    with pytest.raises(budget.MemoryLimitError, match="SNG bank of 4 sources"):
        build_bank("sobol", 1 << 18, 10, 0, np.arange(4), np.zeros(4, np.int64))


def test_small_requests_still_fit(tiny_memory):
    assert encode(np.full(8, 0.5), 64).shape == (8, 1)


# 2. zero rows: an empty result, as the binary twin gives


@pytest.mark.parametrize("m,n", [(0, 3), (2, 0), (0, 0)])
def test_sc_matmul_with_no_rows_is_empty_like_its_twin(m, n):
    a, b = np.random.default_rng(0).random((m, 5)), np.random.default_rng(1).random((n, 5))
    got = sc_matmul(encode(a, 64, seed=1), encode(b, 64, seed=2), 64)
    want = fxp_matmul(a, b)
    assert got.shape == want.shape == (m, n) and got.dtype == np.int64


def test_sc_dot_and_linear_counts_with_no_rows():
    x, w = np.full(5, 0.5), np.zeros((0, 5))
    assert sc_dot(encode(x, 64), encode(w, 64), 64).shape == fxp_dot(x, w).shape == (0,)
    assert linear_counts(np.zeros((0, 5, 1), np.uint64), np.zeros((3, 5, 1), np.uint64)).shape == (0, 3)
    assert linear_counts(np.zeros((2, 5, 1), np.uint64), np.zeros((0, 5, 1), np.uint64)).shape == (2, 0)


# 3. MUX select counts


@pytest.mark.parametrize("n", [-3, 0, 2.5, True, "3", 1 << 40])
def test_mux_select_refuses_bad_input_counts(n):
    with pytest.raises(InvalidInputError, match="whole number of MUX inputs") as e:
        mux_select(n, sequence("bernoulli", 64, width=16))
    _one_sentence(e)


def test_mux_select_takes_numpy_ints():
    draws = sequence("bernoulli", 64, width=16, seed=3)
    assert np.array_equal(mux_select(np.int64(5), draws), mux_select(5, draws))


# 4. inputs to emulate: numpy arrays and float16 work, uint8 pixels are refused


def test_numpy_and_float16_inputs_give_the_bits_of_torch_inputs():
    x16 = X.half()
    want = emulate(_net(), x16.float(), CFG)
    assert torch.equal(emulate(_net(), x16, CFG), want)
    assert torch.equal(emulate(_net(), x16.float().numpy(), CFG), want)
    assert torch.equal(emulate(_net(), x16.float().numpy()[::-1].copy()[::-1], CFG), want)  # negative strides
    assert torch.equal(emulate(_net(), x16.float().requires_grad_(), CFG), want)


@pytest.mark.parametrize("x", [(X * 255).to(torch.uint8), (X * 255).to(torch.uint8).numpy()])
@pytest.mark.parametrize("mode", ["bit", "expected"])
def test_uint8_pixels_are_refused(x, mode):
    with pytest.raises(InvalidInputError, match=r"uint8 .* scale them to \[0, 1\] floats") as e:
        emulate(_net(), x, CFG.replace(mode=mode))
    _one_sentence(e)


def test_ragged_inputs_are_refused():
    with pytest.raises(InvalidInputError, match="ragged"):
        emulate(_net(), [[0.5], [0.5, 0.5]], CFG)


# 5. ids and selects must be integers, not truncated


@pytest.mark.parametrize("field", ["generator", "rotation", "mask"])
def test_sharing_map_refuses_fractional_values(field):
    args = {"generator": np.array([0, 1]), "rotation": np.array([0, 0]), "mask": np.array([0, 0])}
    args[field] = np.array([0.5, 1.7])
    with pytest.raises(InvalidInputError, match="must be integers, but 0.5 is not one") as e:
        SharingMap(**args)
    _one_sentence(e)


def test_sharing_map_takes_numpy_ints_and_whole_floats():
    want = SharingMap(np.array([0, 1]), np.array([0, 2]))
    assert SharingMap(np.array([0, 1], np.uint8), np.array([np.int32(0), np.int32(2)])) == want
    assert SharingMap(np.array([0.0, 1.0]), [0, 2]) == want
    with pytest.raises(InvalidInputError, match="whole number of streams"):
        SharingMap.shared(2.5, 2)


def test_mux_sum_refuses_fractional_selects():
    streams = encode(np.full((4, 3), 0.5), 64)
    assert sc_mux_sum(streams, np.full(64, 1), 64).shape == (4, 1)
    with pytest.raises(InvalidInputError, match="MUX select indices must be integers, but 1.5") as e:
        sc_mux_sum(streams, np.full(64, 1.5), 64)
    _one_sentence(e)


def test_generator_ids_and_wiring_must_be_integers():
    with pytest.raises(InvalidInputError, match="generator ids must be integers"):
        generator_params("lfsr", 8, 0, np.array([0.5]))
    with pytest.raises(InvalidInputError, match="generator id -1 is negative"):
        generator_params("lfsr", 8, 0, np.array([-1]))
    with pytest.raises(InvalidInputError, match="wiring codes must be integers"):
        build_bank("lfsr", 64, 6, 0, np.arange(2), np.array([0.5, 0.0]))
    with pytest.raises(InvalidInputError, match="one wiring code >= 0 per generator id"):
        build_bank("lfsr", 64, 6, 0, np.arange(2), np.zeros(3, np.int64))


# 6. widths and non-finite values


@pytest.mark.parametrize("sng", ["lfsr", "bernoulli"])
@pytest.mark.parametrize("width", [0, -1, 17, 8.0])
def test_build_bank_refuses_unsupported_widths(sng, width):
    with pytest.raises(InvalidInputError, match=f"width {width!r} is not supported for SNG") as e:
        build_bank(sng, 64, width, 0, np.arange(3), np.zeros(3, np.int64))
    _one_sentence(e)


@pytest.mark.parametrize("width", [0, -1, 17, 4.0, True])
def test_quantize_refuses_unsupported_widths(width):
    with pytest.raises(InvalidInputError, match="quantize width .* is not supported"):
        quantize(np.array([0.5]), width)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_quantize_refuses_non_finite_values(value):
    assert quantize(np.array([0.3]), 4).tolist() == [0.3125]
    with pytest.raises(InvalidInputError, match="NaN or infinite") as e:
        quantize(np.array([0.5, value]), 4)
    _one_sentence(e)


# 7. input shapes


@pytest.mark.parametrize("shape", [("1", 8, 8), (1.5, 8, 8), (0, 8, 8), (True, 8, 8), (), "1,8,8", None])
def test_layer_graph_refuses_bad_input_shapes(shape):
    with pytest.raises(InvalidInputError, match="must be a tuple of whole numbers >= 1") as e:
        LayerGraph([Layer("x", "input", [])], "x", shape)
    _one_sentence(e)


def test_layer_graph_takes_numpy_int_dims():
    assert LayerGraph([], "x", (np.int64(1), 8, 8)).input_shape == (1, 8, 8)


@pytest.mark.parametrize("example", [(1, 1, 8, 8), np.zeros((1, 1, 8, 8)), torch.zeros(8)])
def test_trace_needs_an_example_tensor(example):
    with pytest.raises(InvalidInputError, match=r"trace needs an example input tensor shaped \(batch, ...\)"):
        trace(_net(), example)


# 8. word sizes of the fixed-point twin


@pytest.mark.parametrize("bits", [10**6, 0, 17, 2.5, True])
def test_fixed_point_refuses_unsupported_bits(bits):
    with pytest.raises(InvalidInputError, match="fixed_point bits=.* is not supported; give a whole number") as e:
        fixed_point(_net(), X, bits=bits)
    _one_sentence(e)


# 9. SNG sharing: capped, and never allocating past the streams it shares across


@pytest.mark.parametrize("mode", ["bit", "expected"])
def test_absurd_share_is_refused_before_anything_runs(mode):
    with pytest.raises(InvalidInputError, match="SCConfig.share=1000000000 is beyond the largest sharing degree"):
        emulate(_net(), X, SCConfig(stream_length=32, share=10**9, mode=mode))


@pytest.mark.parametrize("decorrelate", ["xor", "rotate", "none"])
def test_a_group_wider_than_its_streams_is_the_group_of_all_of_them(decorrelate):
    wide = SharingMap.shared(5, 10**18, decorrelate)  # masks of 10^18 members would take exabytes
    assert wide == SharingMap.shared(5, 5, decorrelate)


def test_largest_share_runs_like_one_group_per_layer():
    # every conversion and weight set of this net has fewer than MAX_SHARE streams
    assert torch.equal(emulate(_net(), X, CFG.replace(share=MAX_SHARE)), emulate(_net(), X, CFG.replace(share=1280)))


def test_banks_too_big_to_keep_are_not_built(monkeypatch):
    bank_cache.clear()
    monkeypatch.setattr(bank_cache, "CACHE_BYTES", 0)
    built = []
    monkeypatch.setattr(bank_cache, "build_bank", lambda *a, **k: built.append(a) or build_bank(*a, **k))
    v = np.random.default_rng(0).random(50)
    got = [encode(v, 256, "sobol", seed=1) for _ in range(3)]
    assert not built and not bank_cache._banks
    bank_cache.clear()
    assert all(np.array_equal(g, encode(v, 256, "sobol", seed=1)) for g in got)
