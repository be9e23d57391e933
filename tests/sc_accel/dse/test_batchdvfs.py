"""BatchDVFS: batch and V/F point under a power cap, scored by the estimator."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sc_accel.dse.batchdvfs import (DVFSProblem, DVFSTask, batchdvfs_job, bayesian_dvfs, binary_search_dvfs,
                                    exhaustive_dvfs, tune_batch_dvfs)
from sc_accel.dse.space import DSEInputError
from sc_accel.hw import estimate
from sc_accel.hw.power import ALPHA, VTH_V, max_freq_mhz, operating_points, power_w, with_point
from sc_accel.hw.workload import with_batch, workload
from scnas.zoo import create_model


def test_with_batch_equals_tracing_at_that_batch():
    m = create_model("resnet20", 3, 10, 32)
    assert with_batch(workload(m, (1, 3, 32, 32)), 6) == workload(m, (6, 3, 32, 32))
    assert with_batch(workload(m, (3, 3, 32, 32)), 2) == workload(m, (2, 3, 32, 32))


def test_alpha_power_law_through_the_nominal_point(kcp):
    assert max_freq_mhz(kcp.op.voltage, kcp) == pytest.approx(kcp.op.freq_mhz)
    f = lambda v: (v - VTH_V) ** ALPHA / v  # noqa: E731
    assert max_freq_mhz(0.7, kcp) == pytest.approx(kcp.op.freq_mhz * f(0.7) / f(0.9))
    pts = operating_points(kcp)
    assert [p.voltage for p in pts] == sorted(p.voltage for p in pts)
    assert all(a.freq_mhz < b.freq_mhz for a, b in zip(pts, pts[1:]))


def test_power_rises_with_the_operating_point_and_splits_into_parts(lenet_layers, kcp):
    """At a fixed batch, a faster point draws more power (V^2 f for the dynamic part)."""
    watts = []
    for pt in operating_points(kcp):
        a = with_point(kcp, pt)
        tot = estimate(lenet_layers, None, a).total
        pw = power_w(tot, a)
        assert pw["power_w"] == pytest.approx(pw["dynamic_w"] + pw["leakage_w"])
        assert pw["dynamic_w"] == pytest.approx(tot["energy_pj"] * 1e-12 / tot["latency_s"])
        watts.append(pw["power_w"])
    assert np.all(np.diff(watts) > 0)


@pytest.mark.parametrize("cap", [0.3, 0.6, 1.0])
def test_searches_never_break_the_cap_and_exhaustive_is_best(lenet_layers, kcp, cap):
    res = tune_batch_dvfs(lenet_layers, kcp, cap, max_batch=16, trials=25, seed=0)
    ex = res["exhaustive"]
    assert ex.evaluations == 16 * len(operating_points(kcp))
    for c in res.values():
        if c.batch is not None:
            assert c.power_w <= cap
            assert c.throughput <= ex.throughput * (1 + 1e-12)
    assert res["bayesian (TPE)"].evaluations <= 25
    assert len(res["binary search"].trace) == res["binary search"].evaluations


def test_binary_search_is_exact_when_power_and_throughput_rise_with_the_batch(lenet_layers, kcp):
    """On a problem where the paper's assumption holds (power and throughput both rise with the
    batch), bisection finds the exhaustive optimum in O(points x log batch) evaluations."""
    p = DVFSProblem(lenet_layers, kcp, max_batch=128)
    p.score = lambda b, j: {"throughput": (j + 1) * math.sqrt(b), "power_w": 0.01 * (j + 1) ** 2 * b,
                            "latency_s": 1.0, "energy_pj": 1.0}
    for cap in (0.05, 0.4, 2.0):
        ex, bs = exhaustive_dvfs(p, cap), binary_search_dvfs(p, cap)
        assert (bs.batch, bs.point) == (ex.batch, ex.point)
        assert bs.evaluations <= len(p.points) * (math.ceil(math.log2(128)) + 2)


def test_bayesian_search_is_reproducible_from_its_seed(lenet_layers, kcp):
    p = DVFSProblem(lenet_layers, kcp, max_batch=32)
    a, b = bayesian_dvfs(p, 0.6, 20, seed=4), bayesian_dvfs(p, 0.6, 20, seed=4)
    assert a.trace == b.trace and (a.batch, a.point) == (b.batch, b.point)


def test_a_cap_below_every_point_finds_nothing(lenet_layers, kcp):
    res = tune_batch_dvfs(lenet_layers, kcp, 1e-6, max_batch=4, trials=5)
    assert all(c.batch is None and c.throughput == 0.0 for c in res.values())


@pytest.mark.parametrize("cap", [0.0, -1.0, float("nan")])
def test_bad_cap_is_refused(lenet_layers, kcp, cap):
    with pytest.raises(DSEInputError, match="must be a positive number of watts"):
        tune_batch_dvfs(lenet_layers, kcp, cap)


def test_job_rows_mark_the_optimal_picks(lenet_layers, kcp):
    out = batchdvfs_job(DVFSTask("lenet5", tuple(lenet_layers), kcp, cap_w=0.6, max_batch=8, trials=15, seed=0))
    rows = {r["method"]: r for r in out["rows"]}
    assert rows["exhaustive"]["optimal"] and rows["exhaustive"]["gap_pct"] == 0.0
    assert all(r["gap_pct"] >= 0 for r in rows.values())
    assert all(math.isfinite(h["value"]) for h in out["history"])
