"""Hand-computed layers for every dataflow, and the estimator's invariants."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st

from sc_accel.hw import (ACCEL_FIELDS, LAYER_FIELDS, WorkLayer, evaluate, evaluate_pairs, pack_accels,
                         pack_allocations, pack_layers, sc_array, spatial, systolic, workload)
from sc_accel.hw.tables import DEFAULT_TABLE, mult_pj

BIG = dict(gbuf_kib=4096.0, dram_bytes_per_cycle=1e9, gbuf_bytes_per_cycle=1e9)  # compute-bound


def conv_layer() -> WorkLayer:
    """Conv 4 -> 10 channels, 3x3, 7x7 input, no padding: 5x5 outputs (M=25, Kw=36, N=10)."""
    return workload(nn.Conv2d(4, 10, 3), (1, 4, 7, 7))[0]


def one(layer: WorkLayer, accel) -> dict:
    r = evaluate_pairs([layer], [accel])
    return {k: v[0] for k, v in r.items()}


def test_packed_forms_have_named_fields():
    """The packed forms hold one array per named field (pack_accels and pack_allocations
    alike); a misspelt field is an AttributeError, not a silent miss."""
    accels = [systolic(8, 4, "ws"), sc_array(4, 4, "rs", stream_length=32)]
    acc, lay = pack_accels(accels), pack_layers([conv_layer()] * 3)
    alloc = pack_allocations(spatial(16, 16, "kcp"), np.array([8, 64]), np.array([1.0, 2.0]))
    assert tuple(vars(acc)) == tuple(vars(alloc)) == ACCEL_FIELDS and tuple(vars(lay)) == LAYER_FIELDS
    assert all(len(getattr(acc, f)) == 2 for f in ACCEL_FIELDS) and len(lay.take(np.array([0, 2]))) == 2
    with pytest.raises(AttributeError):
        acc.word_byte
    with pytest.raises(dataclasses.FrozenInstanceError):
        acc.rows = acc.cols


@pytest.mark.parametrize("df,cycles,in_reads,w_reads,out_writes", [
    # os: Sr=M=25, Sc=N=10, T=Kw=36 -> folds 4 x 3; no preload: (8 + 4 + 36 - 2) * 12
    ("os", 552, 36 * 25 * 3, 36 * 10 * 4, 250),
    # ws: Sr=Kw=36, Sc=10, T=M=25 -> folds 5 x 3; (16 + 4 + 25 - 2) * 15; weights read once
    ("ws", 645, 25 * 36 * 3, 360, 25 * 10 * 5),
    # is: Sr=36, Sc=M=25, T=N=10 -> folds 5 x 7; (16 + 4 + 10 - 2) * 35; inputs read once
    ("is", 980, 36 * 25, 10 * 36 * 7, 10 * 25 * 5),
])
def test_systolic_hand_computed(df, cycles, in_reads, w_reads, out_writes):
    from sc_accel.hw.dataflows import systolic as sys_model
    layer = conv_layer()
    acc = pack_accels([systolic(8, 4, df, **BIG)])
    r = sys_model(pack_layers([layer]), acc.rows, acc.cols, acc.df)
    assert (r["cycles"][0], r["in_reads"][0], r["w_reads"][0], r["out_writes"][0]) == \
        (cycles, in_reads, w_reads, out_writes)
    assert one(layer, systolic(8, 4, df, **BIG))["compute_cycles"] == cycles


def test_partial_fold_is_padded_to_the_full_array():
    # Linear 6 -> 3 on an 8x4 ws array: Sr=6, Sc=3, T=1 fill one partial fold, which SCALE-Sim
    # pads to the whole array: 2*8 + 4 + 1 - 2 = 19 cycles (not 2*6 + 3 + 1 - 2 = 14)
    layer = workload(nn.Linear(6, 3), (1, 6))[0]
    assert one(layer, systolic(8, 4, "ws", **BIG))["compute_cycles"] == 19
    # os: Sr=M=1, Sc=3, T=Kw=6: 8 + 4 + 6 - 2 = 16; is: Sr=6, Sc=M=1, T=N=3: 16 + 4 + 3 - 2 = 21
    assert one(layer, systolic(8, 4, "os", **BIG))["compute_cycles"] == 16
    assert one(layer, systolic(8, 4, "is", **BIG))["compute_cycles"] == 21


def test_depthwise_runs_groups_one_after_another():
    # 8 groups of a 1-filter GEMM: Sr=Kw=9, Sc=1, T=M=36 on 4x4 ws: folds 3 x 1,
    # per group (2*4 + 4 + 36 - 2) * 3 = 138 (the one used column padded to four)
    layer = workload(nn.Conv2d(8, 8, 3, groups=8), (1, 8, 8, 8))[0]
    assert layer.op == "dwconv"
    assert one(layer, systolic(4, 4, "ws", **BIG))["compute_cycles"] == 8 * 138
    # os: Sr=M=36, Sc=1, T=9: folds 9 x 1 of (4 + 4 + 9 - 2) = 15 -> 135 per group
    assert one(layer, systolic(4, 4, "os", **BIG))["compute_cycles"] == 8 * 135


@pytest.mark.parametrize("make,cycles", [
    # kcp 4x2: K folds ceil(10/4)=3, C folds ceil(4/2)=2, temporal B*P*Q*R*S = 225
    (lambda: spatial(4, 2, "kcp", **BIG), 3 * 2 * 225),
    # rs 6x2: filter rows R=3 replicated 2x over channels -> ceil(4/2)=2 passes, output rows
    # ceil(5/2)=3 folds, each PE N*Q*S = 10*5*3 cycles
    (lambda: spatial(6, 2, "rs", **BIG), 2 * 3 * 150),
    # os 4x2: output tiles ceil(5/4) x ceil(5/2) = 2 x 3, each N*C*R*S = 360 cycles
    (lambda: spatial(4, 2, "os", **BIG), 6 * 360),
    # SC kcp with L = 16: the binary schedule, bit-serial
    (lambda: sc_array(4, 2, "kcp", stream_length=16, **BIG), 16 * 1350),
])
def test_spatial_and_sc_hand_computed(make, cycles):
    assert one(conv_layer(), make())["compute_cycles"] == cycles


LAYER = st.builds(
    lambda c, k, g, hw, ksz, b: workload(nn.Conv2d(c * g, k * g, ksz, groups=g), (b, c * g, hw, hw))[0],
    st.integers(1, 12), st.integers(1, 12), st.sampled_from([1, 1, 2, 3]), st.integers(3, 12),
    st.sampled_from([1, 3]), st.integers(1, 2))
ACCEL = st.builds(
    lambda kind, df, r, c, gbuf, bw, L: (
        systolic(r, c, ["ws", "os", "is"][df], gbuf_kib=gbuf, dram_bytes_per_cycle=bw) if kind == 0 else
        spatial(r, c, ["kcp", "rs", "os"][df], gbuf_kib=gbuf, dram_bytes_per_cycle=bw) if kind == 1 else
        sc_array(r, c, ["kcp", "rs", "os"][df], stream_length=L, gbuf_kib=gbuf, dram_bytes_per_cycle=bw)),
    st.integers(0, 2), st.integers(0, 2), st.integers(1, 16), st.integers(1, 16),
    st.sampled_from([2.0, 16.0, 256.0]), st.sampled_from([1.0, 8.0, 64.0]), st.sampled_from([8, 64, 256]))


@settings(max_examples=150, deadline=None)
@given(LAYER, ACCEL)
def test_invariants(layer, accel):
    r = one(layer, accel)
    L = accel.sc.stream_length if accel.sc else 1
    # a layer never exceeds PEs MACs per cycle (bit-products for SC)
    assert r["compute_cycles"] * accel.pes >= layer.macs * L
    assert r["latency_cycles"] >= r["compute_cycles"]
    assert 0 < r["utilization"] <= 1
    # energy >= MACs x the arithmetic energy of one MAC
    per_mac = DEFAULT_TABLE.and_pj * L if accel.kind == "sc" else mult_pj(accel.word_bits) + DEFAULT_TABLE.add32_pj
    assert r["energy_pj"] >= layer.macs * per_mac
    # every operand crosses DRAM at least once
    assert r["dram_bytes"] >= layer.w_elems + layer.in_elems + layer.out_elems
    # more DRAM or buffer bandwidth is never slower
    faster = one(layer, accel.with_(memory__dram_bytes_per_cycle=accel.memory.dram_bytes_per_cycle * 4,
                                    memory__gbuf_bytes_per_cycle=accel.memory.gbuf_bytes_per_cycle * 4))
    assert faster["latency_cycles"] <= r["latency_cycles"]
    # a bigger buffer never adds DRAM traffic
    bigger = one(layer, accel.with_(memory__gbuf_kib=accel.memory.gbuf_kib * 8))
    assert bigger["dram_bytes"] <= r["dram_bytes"]


@settings(max_examples=100, deadline=None)
@given(LAYER, ACCEL, st.sampled_from(["rows", "cols"]))
def test_more_pes_never_slower_on_spatial_and_sc(layer, accel, dim):
    if accel.kind == "systolic":
        accel = spatial(accel.rows, accel.cols, "kcp", **BIG)
    grown = dataclasses.replace(accel, **{dim: getattr(accel, dim) * 2},
                                memory=dataclasses.replace(accel.memory, gbuf_kib=4096.0))
    assert one(layer, grown)["compute_cycles"] <= one(layer, accel)["compute_cycles"]


def test_systolic_fill_term():
    # os, Linear 64 -> 64: Sr=M=1, Sc=64, T=64. 16x16: 4 column folds x (16 + 16 + 64 - 2) = 376;
    # 128x128: one fold padded to the array, 128 + 128 + 64 - 2 = 318
    layer = workload(nn.Linear(64, 64), (1, 64))[0]
    assert one(layer, systolic(16, 16, "os", **BIG))["compute_cycles"] == 376
    assert one(layer, systolic(128, 128, "os", **BIG))["compute_cycles"] == 318
    # ws, Linear 24 -> 1: Sr=24, Sc=1, T=1. Rows 8: 3 folds x (16 + 1 + 1 - 2) = 48; rows 16:
    # 2 folds x (32 + 1 + 1 - 2) = 64, so the larger array is slower (SCALE-Sim's fill cost)
    layer = workload(nn.Linear(24, 1), (1, 24))[0]
    assert one(layer, systolic(8, 1, "ws", **BIG))["compute_cycles"] == 48
    assert one(layer, systolic(16, 1, "ws", **BIG))["compute_cycles"] == 64
    # ws, Linear 64 -> 10 on 8x8: 8 x 2 folds of (16 + 8 + 1 - 2) = 368; on 128x128 one padded
    # fold of 256 + 128 + 1 - 2 = 383
    layer = workload(nn.Linear(64, 10), (1, 64))[0]
    assert one(layer, systolic(8, 8, "ws", **BIG))["compute_cycles"] == 368
    assert one(layer, systolic(128, 128, "ws", **BIG))["compute_cycles"] == 383


@pytest.mark.parametrize("op_model,op", [(nn.MaxPool2d(2), "maxpool"), (nn.AvgPool2d(2), "avgpool")])
@pytest.mark.parametrize("accel", [systolic(8, 8, "ws"), spatial(8, 8, "rs"),
                                   sc_array(8, 8, stream_length=64, maxpool="binary")])
def test_zero_mac_layers_cost_only_traffic(op_model, op, accel):
    layer = workload(op_model, (1, 4, 8, 8))[0]
    assert layer.op == op and layer.macs == 0
    r = one(layer, accel)
    assert r["compute_cycles"] == 0
    m = accel.memory
    assert r["latency_cycles"] == pytest.approx(max(r["dram_bytes"] / m.dram_bytes_per_cycle,
                                                    r["sram_bytes"] / m.gbuf_bytes_per_cycle))
    assert r["energy_pj"] == pytest.approx(r["energy_sram_pj"] + r["energy_dram_pj"])
    assert r["dram_bytes"] == layer.in_elems + layer.out_elems  # 8-bit words


def test_stream_domain_max_pool_on_sc_costs_gates():
    layer = workload(nn.MaxPool2d(2), (1, 4, 8, 8))[0]
    r = one(layer, sc_array(8, 8, stream_length=64, maxpool="or"))
    # 64 outputs x 4-input OR windows = 256 ORs over 64 PEs = 4 binary cycles x L
    assert r["compute_cycles"] == 4 * 64
    assert r["energy_stream_pool_pj"] == pytest.approx(256 * 64 * DEFAULT_TABLE.or_pj)


def big_conv() -> WorkLayer:
    """Conv 64 -> 64, 3x3, padding 1, 32x32: W 36,864, I 65,536, O 65,536 bytes (8-bit words)."""
    return workload(nn.Conv2d(64, 64, 3, padding=1), (1, 64, 32, 32))[0]


# 48 KiB split 1:1:1 -> 16 KiB per operand, 8 KiB of it the working half
SMALL = dict(gbuf_kib=48.0, dram_bytes_per_cycle=1e9, gbuf_bytes_per_cycle=1e9)
W_, I_, O_ = 36864, 65536, 65536


@pytest.mark.parametrize("df,expected", [
    # ws on 8x8: Sr=Kw=576 (72 row folds), Sc=64 (8 column folds), T=M=1024. Weights once;
    # the 64 KiB ifmap misses its 8 KiB half and a row fold holds 8 of the 576 window taps, so
    # each of the 8 column-fold passes streams the unrolled input, Kw * M = 9 x 64 KiB. Partial sums of a column fold, 1024 x 8 x 4 B
    # = 32 KiB, exceed the 16 KiB ofmap part: 71 extra folds written and read back.
    ("ws", W_ + 72 * I_ + O_ + 2 * 71 * 65536 * 4),
    # os: the filter tile of a column fold (Kw x 8 = 4,608 B) fits its half: weights once;
    # the ifmap streams once per column fold (8); outputs stay in the array.
    ("os", W_ + 8 * I_ + O_),
    # is: all 36,864 B of weights are re-streamed per column fold (M=1024 / 8 = 128); inputs
    # once; partial sums of a fold, N x 8 x 4 B = 2 KiB, stay in the ofmap part.
    ("is", 128 * W_ + I_ + O_),
])
def test_systolic_dram_follows_loop_order(df, expected):
    assert one(big_conv(), systolic(8, 8, df, **SMALL))["dram_bytes"] == expected
    # a buffer that holds everything fetches every operand once
    assert one(big_conv(), systolic(8, 8, df, **BIG))["dram_bytes"] == W_ + I_ + O_


def test_buffer_split_decides_which_operand_fits():
    # os on 8x8 with 192 KiB: split 1:1:1 gives the ifmap 64 KiB, whose 32 KiB working half
    # misses the 64 KiB ifmap (one pass per column fold, 8); 14:1:1 gives it 168 KiB: one pass
    base = dict(dram_bytes_per_cycle=1e9, gbuf_bytes_per_cycle=1e9)
    r = one(big_conv(), systolic(8, 8, "os", gbuf_kib=192.0, split=(1.0, 1.0, 1.0), **base))
    assert r["dram_bytes"] == W_ + 8 * I_ + O_
    r = one(big_conv(), systolic(8, 8, "os", gbuf_kib=192.0, split=(14.0, 1.0, 1.0), **base))
    assert r["dram_bytes"] == W_ + I_ + O_


def test_projection_fetches_its_weights_once_on_ws():
    # ResNet-50's 1x1/2 projection, 1024 -> 2048 channels, 14x14 -> 7x7, with 4 KiB per operand:
    # ws keeps each weight tile in the array, so the 2 MiB of weights cross DRAM once (the old
    # tiling re-fetched them 33 times); the ifmap streams once per column fold (64), and only the
    # quarter of it that a 1x1 conv at stride 2 touches (1024 x 7 x 7 = 50,176 B)
    layer = workload(nn.Conv2d(1024, 2048, 1, 2), (1, 1024, 14, 14))[0]
    r = one(layer, systolic(32, 32, "ws", gbuf_kib=12.0, dram_bytes_per_cycle=1e9, gbuf_bytes_per_cycle=1e9))
    psum = 2 * (32 - 1) * layer.out_elems * 4  # 49 x 32 x 4 B = 6 KiB of partial sums > 4 KiB
    assert r["dram_bytes"] == layer.w_elems + 64 * 50176 + layer.out_elems + psum
    # with room for everything, the touched quarter is fetched once
    r = one(layer, systolic(32, 32, "ws", **BIG))
    assert r["dram_bytes"] == layer.w_elems + 50176 + layer.out_elems


def test_kcp_dram_refetch_and_psum_spill():
    # spatial kcp 4x4, 48 KiB split 1:1:1: weights stationary (once); the ifmap misses its 8 KiB
    # half and streams once per K fold (64 / 4 = 16); a K fold's partial sums, 1024 pixels x 4
    # filters x 4 B = 16 KiB, do not exceed the 16 KiB ofmap part: no spill.
    r = one(big_conv(), spatial(4, 4, "kcp", **SMALL))
    assert r["dram_bytes"] == W_ + 16 * I_ + O_
    # at 36 KiB (12 KiB parts) they do: 15 extra C folds (64 / 4 - 1) written and read back
    r = one(big_conv(), spatial(4, 4, "kcp", **{**SMALL, "gbuf_kib": 36.0}))
    assert r["dram_bytes"] == W_ + 16 * I_ + O_ + 2 * 15 * O_ * 4


def test_sos_refetches_weights_per_output_tile():
    # ShiDianNao-style os on 4x4: 8 x 8 output tiles, each re-streams all 36,864 B of weights
    # (they miss the 8 KiB half); inputs once
    r = one(big_conv(), spatial(4, 4, "os", **SMALL))
    assert r["dram_bytes"] == 64 * W_ + I_ + O_


def test_batch_rows_equal_scalar_calls():
    layers = [conv_layer(), workload(nn.Linear(30, 7), (2, 30))[0]]
    accels = [systolic(8, 8, "is"), sc_array(4, 4, "rs", stream_length=32, share=4)]
    pairs = [(layer, accel) for layer in layers for accel in accels]
    batch = evaluate(pack_layers([p[0] for p in pairs]), pack_accels([p[1] for p in pairs]))
    for i, (layer, accel) in enumerate(pairs):
        single = one(layer, accel)
        assert all(np.isclose(batch[k][i], single[k]) for k in single)
