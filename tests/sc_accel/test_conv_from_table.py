"""Convolution straight from SNG threshold tables, the one-pass comparator thresholds and
the binary ops a bit-true run skips: each against the path it replaces, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import sc_accel.nn.backends as backends
from sc_accel.errors import InvalidInputError
from sc_accel.kernels.conv import conv_counts, conv_counts_table
from sc_accel.kernels.convert import comparator_levels
from sc_accel.nn import SCConfig, convert
from sc_accel.nn.backends import bipolar_levels, dead_layers, levels
from sc_accel.streams.bank import build_bank, encode_thresholds, role_generator_ids

# (batch, channels, size, outputs, kernel, padding, stride, groups): the direct path (few
# outputs, long kernel rows), the patch path, half tiles (6 or 7 outputs), groups, depthwise
GEOMETRIES = [(5, 1, 12, 6, 5, 2, 1, 1), (4, 6, 9, 16, 5, 0, 1, 1), (3, 4, 9, 8, 3, 1, 2, 2),
              (3, 8, 7, 8, 3, 1, 1, 8), (4, 3, 11, 7, 3, 0, 2, 1), (2, 3, 12, 7, 3, 2, 3, 1)]


def _bank(length: int, width: int, n: int):
    ids = role_generator_ids("lfsr", width, 4, 0, n)
    return build_bank("lfsr", length, width, 4, ids, np.arange(n) % 3)


@pytest.mark.parametrize("geom", GEOMETRIES)
@pytest.mark.parametrize("length", [100, 256])
def test_conv_from_table_equals_encode_then_conv(geom, length, rng):
    b, c, h, n, k, pad, stride, groups = geom
    width = 7
    bank, src = _bank(length, width, c * h * h)
    thr = rng.integers(-5, (1 << width) + 6, (b, c, h, h))  # out-of-range thresholds clip, as in encode
    thr[rng.random(thr.shape) < 0.3] = 0  # zeros take the skip path
    words = encode_thresholds(thr.reshape(-1), src, bank).reshape(b, c, h, h, -1)
    xp = np.zeros((b, c, h + 2 * pad, h + 2 * pad, words.shape[-1]), np.uint64)
    xp[:, :, pad:pad + h, pad:pad + h] = words
    w = encode(rng.random((n, c // groups, k, k)), length)
    ref = conv_counts(xp, w, (stride, stride), groups)
    got = conv_counts_table(thr, src, bank.table, w, (stride, stride), (pad, pad), groups)
    assert got.dtype == np.int64 and np.array_equal(got, ref)
    as_float = conv_counts_table(thr, src, bank.table, w, (stride, stride), (pad, pad), groups, dtype=np.float64)
    assert as_float.dtype == np.float64 and np.array_equal(as_float, ref.astype(np.float64))


def encode(values: np.ndarray, length: int) -> np.ndarray:
    from sc_accel.streams import encode as public_encode
    return public_encode(values, length, "lfsr", seed=9)


def test_conv_from_table_refuses_bad_arguments(rng):
    bank, src = _bank(64, 6, 16)
    thr = rng.integers(0, 64, (2, 1, 4, 4))
    w = encode(rng.random((2, 1, 3, 3)), 64)
    with pytest.raises(InvalidInputError, match="source indices"):
        conv_counts_table(thr, src + 100, bank.table, w)
    with pytest.raises(InvalidInputError, match="src"):
        conv_counts_table(thr, src[:5], bank.table, w)
    with pytest.raises(InvalidInputError, match="int64 or float64"):
        conv_counts_table(thr, src, bank.table, w, dtype=np.float32)
    with pytest.raises(InvalidInputError, match="padding"):
        conv_counts_table(thr, src, bank.table, w, padding=(-1, 0))
    bad = bank.table.copy()
    bad[3, 0, 0] = 1
    with pytest.raises(InvalidInputError, match="all-zero"):
        conv_counts_table(thr, src, bad, w)
    with pytest.raises(InvalidInputError, match="uint64"):
        conv_counts_table(thr, src, bank.table.astype(np.int64), w)


def test_comparator_levels_equal_the_numpy_thresholds(rng):
    v = np.concatenate([rng.normal(0, 3, 20000), np.arange(-2048, 2048) / 512.0,
                        (np.arange(-4096, 4096) + 0.5) / 1024])  # exact ties round half to even
    for scale in (1.0, 4.0, 0.25):
        for sign in (1.0, -1.0):
            assert np.array_equal(comparator_levels(v, scale, 10, sign), levels(sign * v / scale, 10))
            for lo in (0.0, -1.0):
                assert np.array_equal(comparator_levels(v, scale, 10, sign, lo, True),
                                      bipolar_levels(sign * v / scale, 10, lo))
    assert comparator_levels(np.zeros((0, 3)), 1.0, 8).shape == (0, 3)


class _Net(nn.Module):
    """Padded, strided and grouped convs, a signed input, a max pool done on streams."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(2, 6, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.c2 = nn.Conv2d(6, 8, 3, stride=2, groups=2)
        self.c3 = nn.Conv2d(8, 7, 3, padding=1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(7 * 2 * 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.relu(self.c1(x)))
        x = self.relu(self.c2(x))
        return self.fc(self.relu(self.c3(x)).flatten(1))


@pytest.mark.parametrize("cfg", [SCConfig(stream_length=200, sng="lfsr", seed=3),
                                 SCConfig(stream_length=128, sng="sobol", share=4, seed=1),
                                 SCConfig(stream_length=96, encoding="bipolar", seed=2)])
def test_bit_true_logits_do_not_depend_on_the_conv_path(cfg, monkeypatch):
    torch.manual_seed(0)
    model = _Net().eval()
    x = torch.randn(9, 2, 12, 12)  # signed input: x+ and x- streams (one bipolar stream)
    sc = convert(model, cfg, x)
    assert all(bank.table is not None for bank, _, _ in sc.backend.banks.values())
    calls = []
    real = backends.conv_counts_table
    monkeypatch.setattr(backends, "conv_counts_table", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(backends, "FUSED_IMAGES_PER_THREAD", 0)  # every conv from the tables
    fused = sc(x)
    assert len(calls) >= 3
    monkeypatch.setattr(backends, "FUSED_IMAGES_PER_THREAD", 10 ** 9)  # every conv on materialised streams
    calls.clear()
    assert torch.equal(sc(x), fused) and not calls


def test_dead_layers_are_binary_ops_only_streams_replace():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 2)).eval()
    x = torch.rand(4, 1, 8, 8)
    sc = convert(model, SCConfig(stream_length=64), x)
    pool = next(l.name for l in sc.graph.layers if l.op == "maxpool")
    flat = next(l.name for l in sc.graph.layers if l.op == "flatten")
    assert dead_layers(sc.graph, sc.plan) == {pool, flat}
    binary = convert(model, SCConfig(stream_length=64, maxpool="binary"), x)
    assert dead_layers(binary.graph, binary.plan) == frozenset()


def test_a_pool_read_elsewhere_is_not_skipped():
    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c, self.c2 = nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 1)
            self.relu, self.pool = nn.ReLU(), nn.MaxPool2d(2)
            self.fc = nn.Linear(18, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            p = self.pool(self.relu(self.c(x)))  # read by c2 (through streams) and by the add (in binary)
            return self.fc((self.c2(p) + p).flatten(1))
    x = torch.rand(3, 1, 8, 8)
    sc = convert(Residual().eval(), SCConfig(stream_length=64), x)
    pool = next(l.name for l in sc.graph.layers if l.op == "maxpool")
    assert any(c.pool for c in sc.plan.conversions.values())  # c2 pools in streams
    assert pool not in sc.backend.dead
    assert sc(x).shape == (3, 2)
