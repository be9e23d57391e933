"""Progressive emulation and early decision termination: prefixes, rules, costs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from sc_accel.errors import InvalidInputError
from sc_accel.hw import estimate, sc_array
from sc_accel.hw.tables import DEFAULT_TABLE
from sc_accel.nn import SCConfig, convert
from sc_accel.hw.config import HardwareConfigError
from sc_accel.nn.edt import Evidence, Rule, decision_noise, evidence, outcome, parse_rules, stop_index
from sc_accel.nn.progressive import ClipStats, check_checkpoints, default_checkpoints, progressive_logits
from scnas.zoo import create_model


class _Residual(nn.Module):
    """conv -> relu -> (conv + skip) -> relu -> pool -> linear: a residual add between conversions."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
        self.pool, self.fc = nn.MaxPool2d(2), nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        h = torch.relu(self.a(x))
        h = torch.relu(self.b(h) + h)
        return self.fc(self.pool(h).flatten(1))


@pytest.fixture(scope="module")
def lenet():
    with torch.random.fork_rng():
        torch.manual_seed(3)
        return create_model("lenet5", 1, 10, 28).eval()


@pytest.mark.parametrize("sng,maxpool,encoding", [("lfsr", "or", "unipolar"), ("sobol", "selector", "bipolar"),
                                                  ("bernoulli", "binary", "unipolar"), ("sobol", "or", "unipolar")])
def test_each_checkpoint_equals_a_separate_run_on_prefix_streams(lenet, rng, sng, maxpool, encoding):
    x = torch.as_tensor(rng.uniform(0, 1, (10, 1, 28, 28)))
    cfg = SCConfig(stream_length=256, sng=sng, maxpool=maxpool, encoding=encoding, batch_size=4, seed=5)
    ks = [8, 40, 64, 100, 256]  # off word boundaries too
    got = progressive_logits(convert(lenet, cfg, x), x, ks)
    for i, k in enumerate(ks):
        # a run at L = k with the full run's comparator width uses the first k numbers of every source
        ref = convert(lenet, cfg.replace(stream_length=k, width=cfg.comparator_width), x)(x)
        assert torch.equal(got[i], ref), k


def test_prefixes_of_a_residual_network_and_the_full_length_is_the_plain_run(rng):
    torch.manual_seed(0)
    m = _Residual().eval()
    x = torch.as_tensor(rng.uniform(0, 1, (6, 1, 8, 8)))
    cfg = SCConfig(stream_length=128, sng="lfsr", batch_size=4)
    sc = convert(m, cfg, x)
    got = progressive_logits(sc, x, [16, 64])
    assert got.shape == (3, 6, 5)
    assert torch.equal(got[-1], sc(x))  # L itself is always the last checkpoint
    assert torch.equal(got[1], convert(m, cfg.replace(stream_length=64, width=7), x)(x))


def test_clip_stats_count_the_relu_outputs_clipped_at_each_checkpoint(lenet, rng):
    x = torch.as_tensor(rng.uniform(0, 1, (8, 1, 28, 28)))
    clips = ClipStats()
    progressive_logits(convert(lenet, SCConfig(stream_length=128, batch_size=4), x), x, [32, 128], clips)
    d = clips.to_dict()
    assert d and "x" not in d  # the image input is no ReLU
    for v in d.values():
        assert len(v["zero"]) == 2 and v["total"] > 0
        assert v["settled"][-1] == pytest.approx(v["zero"][-1] + v["top"][-1])  # at L every clip is settled
        assert all(s <= z + t + 1e-9 for s, z, t in zip(v["settled"], v["zero"], v["top"]))


@pytest.mark.parametrize("bad", [[0, 8], [16, 8], [8, 8], [8, 300], "8,16", [1.5], list(range(1, 40))])
def test_bad_checkpoints_are_refused(bad):
    with pytest.raises(InvalidInputError):
        check_checkpoints(bad, 256)


def test_default_checkpoints_double_up_to_l():
    assert default_checkpoints(1024) == [64, 128, 256, 512, 1024]
    assert default_checkpoints(64) == [4, 8, 16, 32, 64]
    assert default_checkpoints(8) == [1, 2, 4, 8] and default_checkpoints(1) == [1]
    assert check_checkpoints([16, 32], 64) == [16, 32, 64]


def _evidence(rng, n=400, k=5, classes=4) -> Evidence:
    logits = torch.as_tensor(rng.normal(0, 1, (k, n, classes)))
    return evidence(logits, rng.uniform(0.1, 1.0, k), [2 ** (i + 4) for i in range(k)])


@pytest.mark.parametrize("z", [0.0, 0.5, 1.0, 3.0])
def test_the_margin_rule_stops_an_image_only_once_its_margin_exceeds_the_threshold(rng, z):
    ev = _evidence(rng)
    stop = stop_index(Rule("margin", z), ev)
    for i, s in enumerate(stop):
        assert np.all(ev.margin_z[:s, i] <= z)  # never stopped while under the threshold
        if s < len(ev.checkpoints) - 1:
            assert ev.margin_z[s, i] > z


def test_margin_z_is_the_top_two_difference_over_the_checkpoints_noise():
    logits = torch.tensor([[[3.0, 1.0, 0.0]], [[0.0, 5.0, 1.0]]])
    ev = evidence(logits, np.array([0.5, 0.0]), [32, 64])
    assert ev.top1[:, 0].tolist() == [0, 1] and ev.margin_z[0, 0] == pytest.approx(2.0 / 0.5)
    assert ev.margin_z[1, 0] == np.inf  # no noise left at L: a positive margin is settled


def test_decision_noise_is_the_spread_of_a_logit_difference_around_the_full_length(rng):
    full = rng.normal(0, 1, (1, 500, 6))
    noise = [0.8, 0.3]
    lg = np.concatenate([full + rng.normal(0, s, full.shape) for s in noise] + [full])
    sigma = decision_noise(torch.as_tensor(lg))
    # sample std of 3,000 normal draws: within 4 standard errors (sigma / sqrt(2 n)) of the truth
    for got, s in zip(sigma[:2], noise):
        assert abs(got - np.sqrt(2) * s) <= 4 * np.sqrt(2) * s / np.sqrt(2 * 3000)
    assert sigma[-1] == 0.0


def test_the_stable_rule_waits_for_m_unchanged_checkpoints():
    top1 = np.array([[0, 1, 2], [1, 1, 2], [1, 1, 2], [1, 0, 2], [1, 0, 2]])  # (K=5, N=3)
    ev = Evidence([8, 16, 32, 64, 128], top1, np.zeros(top1.shape))
    assert stop_index(Rule("stable", 1), ev).tolist() == [2, 1, 1]
    assert stop_index(Rule("stable", 2), ev).tolist() == [3, 2, 2]
    assert stop_index(Rule("stable", 4), ev).tolist() == [4, 4, 4]


def test_an_infinite_threshold_reproduces_the_full_length_result(rng):
    ev = _evidence(rng)
    labels = rng.integers(0, 4, ev.top1.shape[1])
    full = float((ev.top1[-1] == labels).mean())
    for rule in (Rule("margin", math.inf), Rule("stable", math.inf)):
        o = outcome(rule, ev, labels)
        assert o["accuracy"] == full and o["prefix_fraction"] == 1.0
        assert o["stops"][-1] == len(labels) and o["checks"] == len(ev.checkpoints) - 1


def test_outcome_counts_cycles_used_and_spent():
    top1 = np.zeros((3, 2), dtype=np.int64)
    ev = Evidence([16, 32, 64], top1, np.array([[5.0, 0.0], [5.0, 0.0], [5.0, 0.0]]))
    o = outcome(Rule("margin", 1.0), ev, np.array([0, 0]))
    assert o["stops"] == [1, 0, 1]
    assert o["prefix_fraction"] == pytest.approx((16 / 64 + 1.0) / 2)
    assert o["spent_fraction"] == pytest.approx((16 / 64 + (16 + 32 + 64) / 64) / 2)
    assert o["checks"] == pytest.approx((1 + 2) / 2)


@pytest.mark.parametrize("words,message", [(["margin"], "RULE:VALUES"), (["margin:x"], "not a number"),
                                           (["tall:1"], "unknown"), (["stable:1.5"], "whole number"),
                                           (["margin:-1"], ">= 0"), (["margin:1,1"], "twice"),
                                           (["margin:nan"], "not a number"), (["margin:1_0"], "not a number"),
                                           (["margin:inf,-inf"], ">= 0")])
def test_bad_rules_are_one_sentence(words, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_rules(words)


def test_parse_rules_sweeps_values():
    assert [r.label for r in parse_rules(["margin:1,2.5,inf", "stable:2"])] == [
        "margin:1", "margin:2.5", "margin:inf", "stable:2"]


def test_network_level_edt_costs_the_measured_cycles_and_checks():
    m = create_model("lenet5", 1, 10, 28)
    base = estimate(m, (1, 1, 28, 28), sc_array(64, 64, stream_length=256)).total
    per_cycle = estimate(m, (1, 1, 28, 28), sc_array(64, 64, stream_length=256, edt_fraction=0.5)).total
    net = estimate(m, (1, 1, 28, 28), sc_array(64, 64, stream_length=256, edt_fraction=0.5, edt_checks=3.0)).total
    again = estimate(m, (1, 1, 28, 28), sc_array(64, 64, stream_length=256, edt_fraction=1.5, edt_checks=3.0)).total
    assert net["latency_cycles"] == per_cycle["latency_cycles"] < base["latency_cycles"]
    # per-cycle checks on every counter cost far more than three top-2 searches over 10 outputs
    assert 0 < net["energy_edt_pj"] < per_cycle["energy_edt_pj"]
    # three checks x (10 outputs + 1 threshold compare) x a 12-bit counter (8 + 4 headroom) x one gate per bit
    assert net["energy_edt_pj"] == pytest.approx(3.0 * 11 * 12 * DEFAULT_TABLE.and_pj)
    assert again["energy_pj"] > base["energy_pj"]  # re-running layers past L costs more than no EDT


def test_a_fraction_above_one_needs_a_network_level_decision():
    with pytest.raises(HardwareConfigError, match="edt_checks"):
        sc_array(64, 64, stream_length=256, edt_fraction=1.5)
    for bad in (-1.0, True, "3", 1e99):
        with pytest.raises(HardwareConfigError, match="edt_checks"):
            sc_array(64, 64, stream_length=256, edt_fraction=0.5, edt_checks=bad)
