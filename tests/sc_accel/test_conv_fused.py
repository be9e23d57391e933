"""Convolution with its input streams made next to its tiles (kernels/fused.py), the one-pass
comparator thresholds and the binary ops a bit-true run skips: each against the path it
replaces, bit for bit."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import torch
from torch import nn

import sc_accel.kernels.fused as fused
import sc_accel.nn.backends as backends
from sc_accel.bits import stream_counts, tail_mask
from sc_accel.errors import InvalidInputError
from sc_accel.kernels.comparator import compare_images, compare_words
from sc_accel.kernels.conv import conv_counts
from sc_accel.kernels.convert import comparator_levels, signed_counts_to_output
from sc_accel.kernels.fused import conv_counts_bank
from sc_accel.nn import SCConfig, convert
from sc_accel.nn.backends import bipolar_levels, dead_layers, levels
from sc_accel.streams.bank import build_bank, encode_thresholds, role_generator_ids
from scnas.zoo import IMAGENET_SHAPED, MODELS, create_model

# (batch, channels, size, outputs, kernel, padding, stride, groups): the direct path (few
# outputs, long kernel rows), the patch path, half tiles (6 or 7 outputs), groups, depthwise,
# a 1 x 1 conv, channels innermost (ungrouped, long rows: the rolling row buffers), there with
# stride 2 (a row no output reads at the bottom, and rows read by two outputs) and a 5 x 5 kernel
GEOMETRIES = [(5, 1, 12, 6, 5, 2, 1, 1), (4, 6, 9, 16, 5, 0, 1, 1), (3, 4, 9, 8, 3, 1, 2, 2),
              (3, 8, 7, 8, 3, 1, 1, 8), (4, 3, 11, 7, 3, 0, 2, 1), (2, 3, 12, 7, 3, 2, 3, 1),
              (3, 16, 6, 12, 1, 0, 1, 1), (3, 16, 8, 16, 3, 1, 1, 1), (5, 16, 8, 10, 3, 0, 2, 1),
              (3, 16, 9, 8, 3, 1, 2, 1), (3, 8, 10, 6, 5, 2, 1, 1)]


def _bank(length: int, width: int, n: int):
    ids = role_generator_ids("lfsr", width, 4, 0, n)
    return build_bank("lfsr", length, width, 4, ids, np.arange(n) % 3, table_limit=0)


def encode(values: np.ndarray, length: int) -> np.ndarray:
    from sc_accel.streams import encode as public_encode
    return public_encode(values, length, "lfsr", seed=9)


def _materialised(thr, src, bank, w, stride, pad, groups):
    """The path the fused kernel replaces: encode every stream, pad, convolve; and popcounts."""
    b, c, h, wd = thr.shape
    words = encode_thresholds(thr.reshape(-1), src, bank).reshape(b, c, h, wd, -1)
    xp = np.zeros((b, c, h + 2 * pad, wd + 2 * pad, words.shape[-1]), np.uint64)
    xp[:, :, pad:pad + h, pad:pad + wd] = words
    return conv_counts(xp, w, (stride, stride), groups), stream_counts(words, bank.length).reshape(b, -1)


@pytest.mark.parametrize("geom", GEOMETRIES)
@pytest.mark.parametrize("length,width", [(8, 3), (64, 6), (100, 7), (256, 8), (1024, 10)])
@pytest.mark.parametrize("blocks", [True, False])
def test_fused_conv_equals_encode_then_conv(geom, length, width, blocks, rng, monkeypatch):
    """Every word count (1, 2, 4 and 16 words take the 1-, 4- and 8-word vector chunks, and the
    images packed into one vector), image blocks and the one-image (latency) split: same counts
    and popcounts."""
    b, c, h, n, k, pad, stride, groups = geom
    for name in ("MAX_BLOCK", "MAX_RING_BLOCK"):  # blocks of 2 images (and a last one of 1 when b is odd)
        monkeypatch.setattr(fused, name, 2)
    for name in ("BLOCK_BYTES", "RING_BYTES"):
        monkeypatch.setattr(fused, name, 1 << 40)
    monkeypatch.setattr(fused, "WEIGHT_CHUNK_BYTES", 8)  # weight rows 4 at a time over each block
    monkeypatch.setattr(fused, "blocks_pay", lambda n, block: blocks)
    thr = rng.integers(-5, (1 << width) + 6, (b, c, h, h))  # out-of-range thresholds clip, as in encode
    thr[rng.random(thr.shape) < 0.3] = 0
    thr[rng.random(thr.shape) < 0.1] = 1 << width  # the always-1 stream
    w = encode(rng.random((n, c // groups, k, k)), length)
    bank, src = _bank(length, width, c * h * h)
    ref, ref_pc = _materialised(thr, src, bank, w, stride, pad, groups)
    got, pc = conv_counts_bank(thr, src, bank.planes, width, tail_mask(length), w, (stride, stride), (pad, pad),
                               groups)
    assert got.dtype == np.float64 and np.array_equal(got, ref) and np.array_equal(pc.reshape(b, -1), ref_pc)


def test_fused_conv_takes_blocks_for_a_batch_and_the_latency_split_for_one_image(rng, monkeypatch):
    """Short kernel rows: image blocks; rows of 32 words or more (channels innermost): rolling
    row buffers; one image: the latency split."""
    calls = []
    for name in ("_conv_blocks", "_conv_rolling", "_conv_rows"):
        real = getattr(fused, name)
        monkeypatch.setattr(fused, name, lambda *a, _r=real, _n=name: calls.append(_n) or _r(*a))
    batch = 2 * fused.MAX_RING_BLOCK * numba.get_num_threads()
    for c in (4, 16):  # 3 x 4 words per kernel row, or 3 x 16
        bank, src = _bank(64, 6, c * 8 * 8)
        w = encode(rng.random((4, c, 3, 3)), 64)
        for b in (1, batch):
            conv_counts_bank(rng.integers(0, 65, (b, c, 8, 8)), src, bank.planes, 6, tail_mask(64), w)
    assert calls == ["_conv_rows", "_conv_blocks", "_conv_rows", "_conv_rolling"]


def test_fused_conv_refuses_bad_arguments(rng):
    bank, src = _bank(64, 6, 16)
    thr = rng.integers(0, 64, (2, 1, 4, 4))
    w = encode(rng.random((2, 1, 3, 3)), 64)
    args = (6, tail_mask(64), w)
    with pytest.raises(InvalidInputError, match="source indices"):
        conv_counts_bank(thr, src + 100, bank.planes, *args)
    with pytest.raises(InvalidInputError, match="src"):
        conv_counts_bank(thr, src[:5], bank.planes, *args)
    with pytest.raises(InvalidInputError, match="padding"):
        conv_counts_bank(thr, src, bank.planes, *args, padding=(-1, 0))
    with pytest.raises(InvalidInputError, match="source indices"):  # a NaN source is not cast to a wild index
        conv_counts_bank(thr, np.where(np.arange(16) == 3, np.nan, src), bank.planes, *args)
    with pytest.raises(InvalidInputError, match="no planes"):
        conv_counts_bank(thr, src, bank.planes[:0], *args)
    for bad in (-1, 2 ** 70, 0.5):
        with pytest.raises(InvalidInputError, match="mask"):
            conv_counts_bank(thr, src, bank.planes, 6, bad, w)
    for name, bad in (("stride", 1), ("stride", (1,)), ("padding", 1), ("padding", (1, 0.5))):
        with pytest.raises(InvalidInputError, match=name):
            conv_counts_bank(thr, src, bank.planes, *args, **{name: bad})
    with pytest.raises(InvalidInputError, match="thresholds"):
        conv_counts_bank(thr.astype(str), src, bank.planes, *args)
    assert np.array_equal(conv_counts_bank(thr.tolist(), src, bank.planes, *args)[0],
                          conv_counts_bank(thr, src, bank.planes, *args)[0])  # nested lists are arrays
    with pytest.raises(InvalidInputError, match="uint64"):
        conv_counts_bank(thr, src, bank.planes.astype(np.int64), *args)
    with pytest.raises(InvalidInputError, match="planes"):
        conv_counts_bank(thr, src, bank.planes[:, :, :0], *args)
    with pytest.raises(InvalidInputError, match="width"):
        conv_counts_bank(thr, src, bank.planes, 7, tail_mask(64), w)
    with pytest.raises(InvalidInputError, match="float32 or float64"):
        conv_counts_bank(thr, src, bank.planes, *args, pcs_dtype=np.int32)
    counts, pcs = conv_counts_bank(thr, src, bank.planes, *args, pcs_dtype=np.float32)
    assert pcs.dtype == np.float32 and np.array_equal(pcs, conv_counts_bank(thr, src, bank.planes, *args)[1])


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
    calls = []
    real = backends.conv_counts_bank
    monkeypatch.setattr(backends, "conv_counts_bank", lambda *a, **k: calls.append(1) or real(*a, **k))
    fused_logits = sc(x)
    assert len(calls) >= 3
    monkeypatch.setattr(backends, "FUSED_CONV", False)  # every conv on materialised streams
    calls.clear()
    assert torch.equal(sc(x), fused_logits) and not calls


@pytest.mark.parametrize("name", sorted(set(MODELS.names()) - set(IMAGENET_SHAPED)))  # shape-only workloads
def test_every_zoo_model_gives_the_same_bits_on_the_fused_and_the_materialised_path(name, monkeypatch):
    """The previous path (every conv from materialised streams) against the fused one, at a
    short, an off-word and a long stream, one image (latency split) and a batch (blocks)."""
    torch.manual_seed(1)
    model = create_model(name, 1, 10, 16).eval()
    x = torch.rand(9, 1, 16, 16)
    for length in (16, 100, 1024):
        sc = convert(model, SCConfig(stream_length=length, sng="sobol" if length == 100 else "lfsr", seed=5), x)
        monkeypatch.setattr(backends, "FUSED_CONV", False)
        ref = sc(x)
        monkeypatch.setattr(backends, "FUSED_CONV", True)
        for blocks in (True, False):  # image blocks (3 of 3 images), or one image over every thread
            monkeypatch.setattr(fused, "blocks_pay", lambda n, block, _b=blocks: _b)
            monkeypatch.setattr(fused, "MAX_BLOCK", 3)
            monkeypatch.setattr(fused, "MAX_RING_BLOCK", 2)  # rolling buffers: blocks of 2, 2, 2, 2 and 1
            assert torch.equal(sc(x), ref), (name, length, blocks)
        assert torch.equal(sc(x[:1]), ref[:1])


def test_signed_counts_to_output_is_one_pass_of_the_same_arithmetic_and_refuses_mismatches(rng):
    raw = rng.integers(0, 5000, (3, 4, 5, 6)).astype(np.float64)
    corr = rng.integers(0, 3000, (3, 5, 6, 4)).astype(np.float32).transpose(0, 3, 1, 2)  # any layout
    bias = rng.normal(size=4)
    ref = (raw - corr.astype(np.float64)) * 0.37 + bias[None, :, None, None]
    assert np.array_equal(signed_counts_to_output(raw, corr, 0.37, bias), ref)
    assert np.array_equal(signed_counts_to_output(raw[:, :, 0, 0], corr[:, :, 0, 0], 0.37, bias), ref[:, :, 0, 0])
    for args in ((raw, corr, 0.37, bias[:1]), (raw, corr, 0.37, np.ones(5)), (raw[0, 0, 0], corr[0, 0, 0], 1.0, bias),
                 (raw, corr[:, :2], 1.0, bias), (raw, corr, "x", bias)):
        with pytest.raises(InvalidInputError, match="signed_counts_to_output"):
            signed_counts_to_output(*args)


@pytest.mark.parametrize("name", ["resnet20", "lenet5"])
def test_one_pass_output_leaves_the_bits_alone(name, monkeypatch):
    """The one-pass counter -> value (reading channels-last popcounts) against the previous
    passes (torch's subtract, scale and bias)."""
    torch.manual_seed(2)
    model = create_model(name, 1, 10, 16).eval()
    x = torch.rand(5, 1, 16, 16)
    for length in (16, 100):
        sc = convert(model, SCConfig(stream_length=length, seed=3), x)
        new = sc(x)
        monkeypatch.setattr(backends, "ONE_PASS_OUTPUT", False)
        assert torch.equal(sc(x), new), (name, length)
        monkeypatch.undo()


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


@numba.njit
def _images_via_words(pf, base, tf, t0, t_step, n, width, nw, df, d0, d_step, pcf, p0, p_step, tail):
    """compare_images' reference: one compare_words per image on its clamped threshold, its
    count checked by recounting the stream."""
    top = np.int64(1) << width
    for i in range(n):
        t = min(max(tf[t0 + i * t_step], 0), top)
        o = d0 + i * d_step
        got = compare_words(pf, base, t, width, nw, df, o, tail)
        cnt = np.uint64(0)
        for k in range(nw):
            x = df[o + k]
            while x:
                x &= x - np.uint64(1)
                cnt += np.uint64(1)
        pcf[p0 + i * p_step] = got if cnt == got else 2 ** 40  # a disagreeing popcount fails the test


@numba.njit
def _images(pf, base, tf, t0, t_step, n, width, nw, df, d0, d_step, pcf, p0, p_step, tail):
    compare_images(pf, base, tf, t0, t_step, n, width, nw, df, d0, d_step, pcf, p0, p_step, tail)


@pytest.mark.parametrize("nw", [1, 2, 4, 8, 16, 24])
def test_compare_images_equals_one_comparator_per_image(nw, rng):
    """8 // nw images of one source in a vector (nw < 8), or four images' comparators in one
    plane loop (nw a multiple of 8): every count of images 1..8, widths 1..16, thresholds below
    0, from 0 (no ones) to 2^width (every valid bit) and past it, operands at any start and
    step, popcounts as uint64, float32 or float64; nothing written past n images."""
    for width in (1, 3, 8, 10, 16):
        for n in range(1, 9):
            pf = rng.integers(0, 2 ** 64, 40 * width * nw, dtype=np.uint64)
            t_step, t0 = int(rng.integers(1, 4)), int(rng.integers(0, 3))
            tf = rng.integers(-3, (1 << width) + 4, t0 + 8 * t_step + 2)
            tf[t0] = 1 << width
            d_step = nw * int(rng.integers(1, 3))
            d0 = int(rng.integers(0, 5))
            tail = np.uint64(rng.integers(1, 2 ** 63))
            base = int(rng.integers(0, 39)) * width * nw
            p_step, p0 = int(rng.integers(1, 3)), int(rng.integers(0, 2))
            for dtype in (np.uint64, np.float32, np.float64):
                got, ref = np.full(d0 + 9 * d_step, 7, np.uint64), np.full(d0 + 9 * d_step, 7, np.uint64)
                pg, pr = np.full(p0 + 9 * p_step, 5, dtype), np.full(p0 + 9 * p_step, 5, dtype)
                _images(pf, base, tf, t0, t_step, n, width, nw, got, d0, d_step, pg, p0, p_step, tail)
                _images_via_words(pf, base, tf, t0, t_step, n, width, nw, ref, d0, d_step, pr, p0, p_step, tail)
                assert np.array_equal(got, ref) and np.array_equal(pg, pr), (width, n, dtype)
