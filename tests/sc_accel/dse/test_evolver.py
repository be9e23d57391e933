"""Evolver-style Q-learning: it finds the exhaustive optimum of a small space, never returns a
design that breaks a threshold, skips exactly the outliers, resumes to the same result, and
its accuracy proxy behaves as the statistics say."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sc_accel.dse import DSEInputError
from sc_accel.dse.evolver import EvolverProblem, QLearner, Thresholds, evolve, exhaustive_policy, proxy_accuracy
from sc_accel.hw import presets
from sc_accel.hw.power import operating_points
from sc_accel.hw.workload import workload

LENGTHS = (16, 64, 256)


def _problem(tiny, th=Thresholds(0.6, 0.6, 0.6), points=3) -> EvolverProblem:
    m, x, y = tiny
    accel = presets()["sc-64x64-L256"]
    pts = operating_points(accel)[::5][:points]  # 0.6, 0.85, 1.1 V
    return EvolverProblem(m, workload(m, (1, 1, 8, 8)), accel, x, y, x, th, LENGTHS, points=pts, seed=0)


def test_q_learning_finds_the_exhaustive_optimum_of_a_small_space(tiny):
    best, out = exhaustive_policy(_problem(tiny))
    assert out.feasible
    p = _problem(tiny)
    ql = evolve(p, episodes=150, seed=0)
    assert ql.best_reward >= out.reward * 0.99
    assert ql.best_reward <= out.reward + 1e-12  # nothing beats the exhaustive optimum


def test_the_returned_policy_meets_every_threshold(tiny):
    th = Thresholds(0.8, 0.4, 0.4)
    p = _problem(tiny, th)
    ql = evolve(p, episodes=80, seed=1)
    assert ql.best_reward > 0
    o = p.evaluate(tuple(ql.best_policy))
    assert o.accuracy > th.accuracy and o.latency < th.latency and o.energy < th.energy


def test_outlier_skipping_skips_exactly_the_policies_that_break_latency_or_energy(tiny):
    th = Thresholds(0.5, 0.3, 0.35)
    p = _problem(tiny, th)
    asked = []
    real = p.accuracy
    p.accuracy = lambda lengths: asked.append(lengths) or real(lengths)
    n_skipped = 0
    for a in range(3):
        for b in range(3):
            for point in range(3):
                lat, en = p.normalised((a, b), point)
                breaks = lat >= th.latency or en >= th.energy
                before = len(asked)
                out = p.evaluate((a, b, point))
                assert out.skipped == breaks
                assert (len(asked) == before) == breaks  # no accuracy evaluation for an outlier
                assert (out.accuracy is None) == breaks and (out.reward == 0.0 if breaks else True)
                n_skipped += breaks
    assert 0 < n_skipped < 27 and p.counts["skipped"] == n_skipped and p.counts["policies"] == 27


def test_a_resumed_learner_ends_where_an_uninterrupted_one_does(tiny):
    whole = evolve(_problem(tiny), episodes=40, seed=3)
    saved = []
    evolve(_problem(tiny), episodes=40, seed=3, on_step=lambda ql: saved.append(QLearner.from_dict(
        __import__("copy").deepcopy(ql.to_dict()))) if ql.episode == 20 else None, every=20)
    resumed = evolve(_problem(tiny), episodes=40, seed=3, learner=saved[0])
    assert resumed.to_dict() == whole.to_dict()


def test_the_proxy_is_plain_accuracy_without_noise_and_chance_under_huge_noise():
    g = torch.Generator().manual_seed(0)
    mean = torch.randn(400, 5, generator=g, dtype=torch.float64)
    y = mean.argmax(1).numpy()
    y[:100] = (y[:100] + 1) % 5  # 75% right
    assert proxy_accuracy(mean, torch.zeros_like(mean), y) == pytest.approx(0.75)
    n = 400 * 64
    acc = proxy_accuracy(mean, torch.full_like(mean, 1e12), y, samples=64)
    assert abs(acc - 0.2) < 4.5 * math.sqrt(0.2 * 0.8 / n)  # 4.5 sigma of a binomial share


def test_calibration_brings_each_layers_proxy_down_to_its_bit_true_accuracy(tiny):
    p = _problem(tiny)
    rows = p.calibrate()
    assert [r["layer"] for r in rows] == p.names and all(r["stream_length"] == 16 for r in rows)
    for r in rows:
        k = p.layer_scale[r["layer"]]
        if r["proxy_unscaled"] > r["bit_accuracy"]:
            assert k > 1.0 and r["proxy_scaled"] <= r["proxy_unscaled"]
            assert abs(r["proxy_scaled"] - r["bit_accuracy"]) <= 3 / len(p.y)  # a step function of the scale
        else:
            assert k == 1.0


@pytest.mark.parametrize("accel, menu, match", [
    ("sc-64x64-L256", {"lengths": ()}, "empty"),
    ("sc-64x64-L256", {"lengths": (16, 0)}, r"stream lengths \[0\]"),
    ("systolic-32x32-ws", {"bit_pairs": ()}, "empty"),
    ("systolic-32x32-ws", {"bit_pairs": ((8, 0),)}, "bit pair"),
])
def test_bad_problems_are_refused(tiny, accel, menu, match):
    m, x, y = tiny
    with pytest.raises(DSEInputError, match=match):
        EvolverProblem(m, workload(m, (1, 1, 8, 8)), presets()[accel], x, y, x, Thresholds(0.5), **menu)


def _binary(tiny, th=Thresholds(0.6, 0.9, 0.9)) -> EvolverProblem:
    m, x, y = tiny
    accel = presets()["systolic-32x32-ws"]
    return EvolverProblem(m, workload(m, (1, 1, 8, 8)), accel, x, y, x, th, bit_pairs=((2, 2), (4, 4), (8, 8)),
                          points=operating_points(accel)[::5][:3], seed=0)


def test_on_a_binary_array_the_choices_are_bit_pairs_scored_by_the_exact_twin(tiny):
    p = _binary(tiny)
    assert p.binary and p.choices == ((2, 2), (4, 4), (8, 8)) and p.calibrate() == []
    m, x, y = tiny
    from sc_accel.nn import fixed_point
    twin = fixed_point(m, x, bits=8, layer_bits={"conv": (2, 2), "fc": (8, 8)})
    assert p.accuracy((0, 2)) == float((twin(x).argmax(1).numpy() == y).mean()) == p.bit_accuracy((0, 2))
    acc = p.accel_for((0, 2), 0)
    assert acc.precision["conv"].word_bits == 2 and acc.precision["fc"].weight_bits == 8
    best, out = exhaustive_policy(_binary(tiny))
    ql = evolve(_binary(tiny), episodes=120, seed=0)
    assert out.feasible and out.reward * 0.99 <= ql.best_reward <= out.reward + 1e-12


def test_bad_thresholds_and_episodes_are_refused(tiny):
    with pytest.raises(DSEInputError, match="in \\[0, 1\\]"):
        Thresholds(1.5)
    with pytest.raises(DSEInputError, match="positive integer"):
        evolve(_problem(tiny), episodes=0)


def test_the_space_bounds_normalise_the_corners_to_zero_and_one(tiny):
    p = _problem(tiny)
    costs = [p.normalised((a, b), q) for a in range(3) for b in range(3) for q in range(3)]
    lat, en = np.array(costs).T
    assert lat.min() == pytest.approx(0.0) and lat.max() == pytest.approx(1.0)
    assert en.min() == pytest.approx(0.0) and en.max() == pytest.approx(1.0)


def test_a_policy_under_the_accuracy_threshold_gets_exactly_zero_by_default_and_shaping_a_as_an_option(tiny):
    """The paper's reward under A_TH is 0; with shaping s it is s x A, the same policies either way."""
    assert Thresholds(0.9).shaping == 0.0
    zero = _problem(tiny, Thresholds(0.9, 0.6, 0.6))
    shaped = _problem(tiny, Thresholds(0.9, 0.6, 0.6, shaping=0.25))
    pols = [(a, b, q) for a in range(3) for b in range(3) for q in range(3)]
    low = [(pol, zero.evaluate(pol)) for pol in pols]
    low = [(pol, o) for pol, o in low if not o.skipped and not o.feasible and o.accuracy > 0]
    assert low  # some policies miss only the accuracy threshold
    for pol, o in low:
        assert o.reward == 0.0  # exactly, not approximately
        s = shaped.evaluate(pol)
        assert not s.feasible and s.accuracy == o.accuracy and s.reward == 0.25 * o.accuracy > 0
    with pytest.raises(DSEInputError, match=r"shaping=1.5 must be a number in \[0, 1\]"):
        Thresholds(0.9, shaping=1.5)


def test_a_policy_under_the_accuracy_threshold_is_ranked_below_every_feasible_one(tiny):
    """The shaping reward (shaping 0.1: 0.1 A) rises with accuracy but stays under the feasible rewards."""
    th = Thresholds(0.9, 0.6, 0.6, shaping=0.1)
    p = _problem(tiny, th)
    outs = [p.evaluate((a, b, q)) for a in range(3) for b in range(3) for q in range(3)]
    low = [o for o in outs if not o.skipped and not o.feasible]
    ok = [o for o in outs if o.feasible]
    assert low and ok
    assert all(o.reward == pytest.approx(th.shaping * o.accuracy) for o in low)
    assert max(o.reward for o in low) < min(o.reward for o in ok)
