"""SNG banks, stochastic conv/linear counters and stream max pooling against bit-level references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sc_accel.bits import pack_bits, stream_counts, tail_mask, unpack_bits
from sc_accel.kernels.conv import conv_counts, linear_counts
from sc_accel.kernels.pool import or_pool, selector_pool
from sc_accel.kernels.reference import ref_matmul
from sc_accel.streams.bank import SourceBank, build_bank, encode_thresholds, role_generator_ids
from sc_accel.streams.coding import encode
from sc_accel.streams.generators import generator_params
from sc_accel.streams.sharing import SharingMap


@pytest.mark.parametrize("sng", ["lfsr", "sobol", "bernoulli", "vdc"])
@pytest.mark.parametrize("length,width", [(100, 7), (64, 6), (256, 8)])
@pytest.mark.parametrize("with_masks", [False, True])
def test_bank_matches_encode_by_table_and_by_planes(sng, length, width, rng, with_masks):
    ids = role_generator_ids(sng, width, 3, 1, 40)
    rot = np.arange(40) % 5
    mask = rng.integers(0, 1 << 16, 40) if with_masks else np.zeros(40, np.int64)
    smap = SharingMap(ids, rot, mask)
    bank, src = build_bank(sng, length, width, 3, ids, smap.wiring(width))
    assert bank.table is not None
    thr = rng.integers(-3, (1 << width) + 4, 400)  # out-of-range thresholds clip
    ref = encode((np.clip(thr, 0, 1 << width) / (1 << width)).reshape(10, 40), length, sng=sng, seed=3,
                 width=width, share=SharingMap(np.tile(ids, 10), np.tile(rot, 10), np.tile(mask, 10))
                 ).reshape(400, -1)
    assert np.array_equal(encode_thresholds(thr, src, bank), ref)
    planes_only = SourceBank(bank.planes, width, length)
    assert np.array_equal(encode_thresholds(thr, src, planes_only), ref)


@pytest.mark.parametrize("sng", ["lfsr", "sobol", "bernoulli", "counter"])
@pytest.mark.parametrize("n", [1, 3, 43, 130])
def test_planes_made_without_sequences_equal_the_table_paths(sng, n):
    """build_bank without a table makes each source's planes in a per-thread buffer (LFSRs four
    side by side, in chunks of 64 sources): the same planes as from the (P, L) sequences."""
    for length, width in ((100, 7), (1024, 10)):
        ids = role_generator_ids(sng, width, 5, 0, n)
        wiring = (np.arange(n) * 7) % (width * 3)
        with_table, src = build_bank(sng, length, width, 5, ids, wiring)
        planes_only, src2 = build_bank(sng, length, width, 5, ids, wiring, table_limit=0)
        assert planes_only.table is None and with_table.table is not None
        assert np.array_equal(planes_only.planes, with_table.planes) and np.array_equal(src, src2)


@pytest.mark.parametrize("sng,width,period", [("lfsr", 10, 16), ("lfsr", 4, 2), ("sobol", 10, 16)])
def test_roles_use_disjoint_generator_families(sng, width, period):
    fams = []
    for role in (0, 1):
        ids = role_generator_ids(sng, width, seed=5, role=role, n=50)
        p = generator_params(sng, width, 5, ids)
        col = 1 if sng == "lfsr" else 0  # polynomial / Sobol dimension
        fams.append(set(p[:, col].tolist()))
        assert len(fams[-1]) == max(period // 2, 1)
    assert not fams[0] & fams[1]


def _bits_conv(x, w, L, stride, groups):
    """Per-bit reference: torch conv on each cycle's 0/1 planes, summed over cycles."""
    xb = torch.tensor(unpack_bits(x, L).astype(np.float64))   # (B, C, H, W, L)
    wb = torch.tensor(unpack_bits(w, L).astype(np.float64))
    return sum(F.conv2d(xb[..., t], wb[..., t], stride=stride, groups=groups) for t in range(L)).numpy()


@pytest.mark.parametrize("shape", [(3, 4, 7, 6, 6, 3, 1, 1), (2, 4, 9, 9, 8, 3, 2, 2), (2, 6, 5, 5, 6, 3, 1, 6),
                                   (1, 2, 6, 6, 5, 1, 1, 1), (2, 3, 8, 8, 4, 5, 3, 1)])
def test_conv_counts_equal_bit_reference(shape, rng):
    B, C, H, W, N, k, s, g = shape
    L = 96
    x = pack_bits(rng.random((B, C, H, W, L)) < 0.5)
    w = pack_bits(rng.random((N, C // g, k, k, L)) < 0.5)
    out = conv_counts(x, w, (s, s), g)
    assert np.array_equal(out, _bits_conv(x, w, L, s, g).astype(np.int64))


def test_linear_counts_equal_bit_reference(rng):
    L = 130
    xb, wb = rng.random((5, 30, L)) < 0.4, rng.random((7, 30, L)) < 0.6
    assert np.array_equal(linear_counts(pack_bits(xb), pack_bits(wb)), ref_matmul(xb, wb))


def test_or_pool_of_one_unrotated_generator_is_the_max_stream(rng):
    L, width = 256, 8
    v = rng.integers(0, 257, (2, 3, 4, 4)) / 256.0
    single = SharingMap.single(v.size)
    s = encode(v, L, sng="lfsr", seed=1, width=width, share=single)
    pooled = or_pool(s, 2, 2)
    vmax = v.reshape(2, 3, 2, 2, 2, 2).max(axis=(3, 5))
    ref = encode(vmax, L, sng="lfsr", seed=1, width=width, share=SharingMap.single(vmax.size))
    assert np.array_equal(pooled, ref)


def _selector_ref(bits, segment):
    """Per-bit reference of the previous-segment argmax selector: bits (k, L) -> (L,)."""
    k, L = bits.shape
    out, sel = np.zeros(L, dtype=bool), 0
    for t0 in range(0, L, segment):
        out[t0:t0 + segment] = bits[sel, t0:t0 + segment]
        sel = int(np.argmax(bits[:, t0:t0 + segment].sum(axis=1)))
    return out


@pytest.mark.parametrize("segment,L", [(16, 200), (64, 256), (5, 64), (100, 300)])
def test_selector_pool_equals_per_bit_reference(segment, L, rng):
    p = rng.random((1, 2, 4, 4, 1))
    bits = rng.random((1, 2, 4, 4, L)) < p
    out = unpack_bits(selector_pool(pack_bits(bits), 2, 2, L, segment), L)
    for c in range(2):
        for oy in range(2):
            for ox in range(2):
                win = bits[0, c, 2 * oy:2 * oy + 2, 2 * ox:2 * ox + 2].reshape(4, L)
                assert np.array_equal(out[0, c, oy, ox], _selector_ref(win, segment))


def test_selector_tracks_the_max_within_the_bernoulli_bound(rng):
    L = 4096
    p = np.array([0.2, 0.7, 0.4, 0.1])
    x = (rng.random((4, L)) < p[:, None]).reshape(1, 1, 2, 2, L)
    est = unpack_bits(selector_pool(pack_bits(x), 2, 2, L, 32), L).mean()
    # It copies input 1 (p = 0.7) except after a segment where input 2 (p = 0.4) counted at
    # least as many ones: count difference mean 9.6, sd 3.8 over 32 bits, so <= 1% of
    # segments, each losing at most 0.7; hence the 0.007 allowance besides the Bernoulli term.
    assert abs(est - 0.7) <= 5 * np.sqrt(0.7 * 0.3 / L) + 0.007


def test_threshold_counts_equal_the_popcounts_of_the_encoded_streams(rng):
    from sc_accel.streams.bank import threshold_counts

    ids = role_generator_ids("sobol", 8, 3, 0, 30)
    bank, src = build_bank("sobol", 200, 8, 3, ids, np.arange(30) % 3)
    thr = rng.integers(-5, 300, 30 * 7)
    assert np.array_equal(threshold_counts(thr, src, bank), stream_counts(encode_thresholds(thr, src, bank), 200))
    assert threshold_counts(thr, src, SourceBank(bank.planes, 8, 200)) is None


@pytest.mark.parametrize("n_out,groups", [(1, 1), (2, 1), (3, 1), (5, 1), (6, 1), (7, 1), (8, 1), (12, 2), (6, 3)])
@pytest.mark.parametrize("direct", [True, False])
def test_every_tile_split_of_the_outputs_counts_right(n_out, groups, direct, rng, monkeypatch):
    """Outputs per group of 1..8 take 4-, 3- and 2-row tiles (6 as 3 + 3) on both conv paths,
    from materialised streams and made from an SNG bank's planes; all equal the per-bit reference."""
    from sc_accel.kernels import conv as conv_mod
    from sc_accel.kernels import fused
    from sc_accel.kernels.fused import conv_counts_bank

    for mod in (conv_mod, fused):
        monkeypatch.setattr(mod, "DIRECT_MIN_WORDS", 1 if direct else 10 ** 9)
    B, C, H, k, L = 2, 2 * groups, 7, 3, 96
    x = pack_bits(rng.random((B, C, H, H, L)) < 0.5)
    w = pack_bits(rng.random((n_out, C // groups, k, k, L)) < 0.5)
    ref = _bits_conv(x, w, L, 1, groups).astype(np.int64)
    assert np.array_equal(conv_counts(x, w, (1, 1), groups), ref)
    bank, src = build_bank("lfsr", L, 7, 1, np.arange(C * H * H), np.zeros(C * H * H, np.int64))
    thr = rng.integers(0, 129, (B, C, H, H))
    xs = bank.table[src, thr.reshape(B, -1)].reshape(B, C, H, H, -1)
    got, _ = conv_counts_bank(thr, src, bank.planes, 7, tail_mask(L), w, (1, 1), (0, 0), groups)
    assert np.array_equal(got, _bits_conv(xs, w, L, 1, groups))
