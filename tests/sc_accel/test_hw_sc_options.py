"""The SC array's design options (weight streams, SNG sharing scope, counter width, early
decision termination) and the uSystolic calibration, against hand counts."""

from __future__ import annotations

import math

import pytest
import torch.nn as nn

from sc_accel.hw import HardwareConfigError, evaluate_pairs, sc_array, workload
from sc_accel.hw.calibration import USYSTOLIC, pe_figures, usystolic_calibrated
from sc_accel.hw.tables import DEFAULT_TABLE as T

BIG = dict(gbuf_kib=4096.0, dram_bytes_per_cycle=1e9, gbuf_bytes_per_cycle=1e9)
# conv 4 -> 10, 3x3, 7x7 input: 25 output pixels, 250 outputs, 9,000 MACs, 360 weights.
# kcp on 4 x 2 PEs: K folds 3, C folds 2, 225 temporal steps -> 1,350 binary cycles;
# inputs read 3 (K folds) x 4 x 225 = 2,700 times, weights 360 times. L = 16 -> width 4.
MACS, IN_READS, W_READS, L = 9000, 2700, 360, 16


def layer():
    return workload(nn.Conv2d(4, 10, 3), (1, 4, 7, 7))[0]


def one(accel, table=T) -> dict:
    r = evaluate_pairs([layer()], [accel], table)
    return {k: v[0] for k, v in r.items()}


def sc(**kw):
    return sc_array(4, 2, kw.pop("dataflow", "kcp"), stream_length=L, **BIG, **kw)


def comparator_pj(bits: int) -> float:
    return bits * L * T.comparator8_pj * 4 / 8.0


def test_regen_restreams_every_product():
    r = one(sc(weight_stream="regen"))
    bits = IN_READS + MACS  # every product re-streams its weight
    steps = bits * L  # private sources: one comparator per source step
    step_pj = 4 * T.dff_pj + 3 * T.and_pj  # a 4-bit LFSR step
    assert r["energy_sng_pj"] == pytest.approx(comparator_pj(bits) + steps * step_pj)
    assert r["energy_stream_buf_pj"] == 0.0
    assert r["compute_cycles"] == 1350 * L


def test_buffer_converts_each_weight_once_and_replays_it():
    regen, buf = one(sc(weight_stream="regen")), one(sc(weight_stream="buffer"))
    bits = IN_READS + W_READS
    step_pj = 4 * T.dff_pj + 3 * T.and_pj
    assert buf["energy_sng_pj"] == pytest.approx(comparator_pj(bits) + bits * L * step_pj)
    # write L bits per weight load, read L bits (a 4-level multiplexer) per product
    assert buf["energy_stream_buf_pj"] == pytest.approx(W_READS * L * T.latch_pj + MACS * L * 4 * T.and_pj)
    # area: L latches per PE; converters 2 (inputs) + 2 (one loader per column) instead of 2 + 8
    pe_delta = 8 * L * T.latch_um2
    conv_delta = (2 + 2 - 10) * T.add8_um2 * 4 / 8.0
    source_delta = (4 - 10) * (4 * T.dff_um2 + 3 * T.xor_um2)  # private sources follow the lanes
    assert buf["area_pe_um2"] - regen["area_pe_um2"] == pytest.approx(pe_delta)
    assert buf["area_sng_um2"] - regen["area_sng_um2"] == pytest.approx(conv_delta + source_delta)
    assert buf["compute_cycles"] == regen["compute_cycles"]


def test_broadcast_needs_a_mapping_that_shares_weights():
    with pytest.raises(HardwareConfigError, match="broadcast"):
        sc(weight_stream="broadcast")
    # os (ShiDianNao-like) defaults to broadcast: one conversion per weight read, fanned out;
    # regen there gives every PE its own converter, which re-streams the weight per product
    from sc_accel.hw.cost import pack_accels, pack_layers
    from sc_accel.hw.dataflows import spatial
    bcast, regen = one(sc(dataflow="os")), one(sc(dataflow="os", weight_stream="regen"))
    acc = pack_accels([sc(dataflow="os")])
    w_reads = spatial(pack_layers([layer()]), acc.rows, acc.cols, acc.df, acc.local_words)["w_reads"][0]
    extra = (MACS - w_reads) * L  # private sources: one source step per conversion
    step_pj = 4 * T.dff_pj + 3 * T.and_pj
    assert regen["energy_sng_pj"] - bcast["energy_sng_pj"] == pytest.approx(
        extra * (T.comparator8_pj * 4 / 8.0 + step_pj))
    # converters: 8 input lanes + 1 broadcast weight lane, against 8 + 8
    comp, src = T.add8_um2 * 4 / 8.0, 4 * T.dff_um2 + 3 * T.xor_um2
    assert regen["area_sng_um2"] - bcast["area_sng_um2"] == pytest.approx(7 * (comp + src))


@pytest.mark.parametrize("scope,sources", [("lane", 10), ("row", 2 + 4), ("column", 2 + 2), ("array", 2)])
def test_sng_sharing_scope(scope, sources):
    # kcp 4 x 2: 2 input lanes (one per column), 8 weight lanes (one per PE)
    r = one(sc(sng_share=scope))
    src_um2 = 4 * T.dff_um2 + 3 * T.xor_um2
    comp_um2 = 10 * T.add8_um2 * 4 / 8.0
    assert r["area_sng_um2"] == pytest.approx(comp_um2 + sources * src_um2)
    # one source step feeds 10 / sources comparators
    bits = (IN_READS + MACS) * L
    step_pj = 4 * T.dff_pj + 3 * T.and_pj
    assert r["energy_sng_pj"] == pytest.approx(bits * T.comparator8_pj * 4 / 8.0
                                               + math.ceil(bits / (10 / sources)) * step_pj)


def test_counter_width_sets_pe_area():
    narrow, wide = one(sc(counter_bits=6)), one(sc(counter_bits=14))
    assert wide["area_pe_um2"] - narrow["area_pe_um2"] == pytest.approx(8 * 8 * (T.dff_um2 + T.ha_um2))
    assert one(sc())["area_pe_um2"] == pytest.approx(8 * (T.and_um2 + (4 + 4) * (T.dff_um2 + T.ha_um2)))


def test_early_decision_termination_runs_part_of_the_stream():
    full, half = one(sc()), one(sc(edt_fraction=0.5))
    assert half["compute_cycles"] == 1350 * 8
    assert half["energy_mac_pj"] == pytest.approx(full["energy_mac_pj"] / 2)
    # 250 output counters each checked on the 8 cycles run, one gate per counter bit (8)
    assert half["energy_edt_pj"] == pytest.approx(250 * 8 * T.and_pj * 8)
    assert full["energy_edt_pj"] == 0.0
    with pytest.raises(HardwareConfigError, match="edt_fraction"):
        sc(edt_fraction=0.0)


def test_usystolic_calibration_matches_its_ratios():
    cal = pe_figures(usystolic_calibrated())
    assert cal["sc_pe_um2"] / cal["binary_pe_um2"] == pytest.approx(USYSTOLIC["unary_pe_um2"] / USYSTOLIC["binary_pe_um2"])
    assert cal["sc_pe_pj_per_cycle"] / cal["binary_pe_pj_per_cycle"] == pytest.approx(
        USYSTOLIC["unary_pe_pj_per_cycle"] / USYSTOLIC["binary_pe_pj_per_cycle"])
    # the calibrated table charges the extra energy per AND-gate cycle and the area per PE
    base, calr = one(sc()), one(sc(), usystolic_calibrated())
    t = usystolic_calibrated()
    assert calr["energy_mac_pj"] - base["energy_mac_pj"] == pytest.approx(MACS * L * t.sc_pe_extra_pj)
    assert calr["area_pe_um2"] - base["area_pe_um2"] == pytest.approx(8 * t.sc_pe_extra_um2)


def test_bipolar_swaps_the_and_gate_for_an_xnor_and_nothing_else():
    uni, bip = one(sc()), one(sc(encoding="bipolar"))
    assert bip["area_pe_um2"] - uni["area_pe_um2"] == pytest.approx(8 * (T.xnor_um2 - T.and_um2))
    assert bip["energy_mac_pj"] - uni["energy_mac_pj"] == pytest.approx(MACS * L * (T.xnor_pj - T.and_pj))
    for key in ("latency_cycles", "energy_sng_pj", "energy_dram_pj", "area_sng_um2"):
        assert bip[key] == pytest.approx(uni[key]), key
    with pytest.raises(HardwareConfigError, match="encoding"):
        sc(encoding="ternary")


def test_sc_config_encoding_reaches_the_hardware():
    from sc_accel.hw.config import SCHardware
    from sc_accel.nn import SCConfig
    assert SCHardware.from_sc_config(SCConfig(encoding="bipolar")).encoding == "bipolar"
