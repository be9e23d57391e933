"""ConfuciuX-style resource assignment: the table equals the estimator, the searches respect
the budget, RL+GA reaches the exhaustive optimum on a small space, the DP is exact."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sc_accel.dse import (PLATFORMS, AllocationProblem, DSEInputError, Platform, assign_resources, exhaustive,
                          optimum)
from sc_accel.dse.baselines import genetic
from sc_accel.dse.confuciux import Budget, Policy, layer_features
from sc_accel.hw import LayerResources, estimate, evaluate, pack_accels, pack_allocations, pack_layers, presets
from sc_accel.hw.workload import workload
from scnas.zoo import create_model

SMALL = Platform("small", 160, 2048, (8, 16, 32, 64), (128, 256, 512))


def test_pack_allocations_equals_per_layer_resources(lenet_layers, kcp):
    """One row per (layer, allocation) scored by pack_allocations equals the estimator's own
    per-layer resources path, for every figure."""
    conv = [l for l in lenet_layers if l.op in ("conv", "linear")]
    pes, kib = np.array([8, 32, 48, 256, 16]), np.array([0.5, 1.0, 2.0, 8.0, 0.25])
    fast = evaluate(pack_layers(conv), pack_allocations(kcp, pes, kib))
    accels = [kcp.with_(layers={l.name: LayerResources(int(p), float(k))}) for l, p, k in zip(conv, pes, kib)]
    slow = evaluate(pack_layers(conv), pack_accels(accels, [l.name for l in conv]))
    for key in ("latency_cycles", "energy_pj", "area_um2", "dram_bytes", "sram_bytes"):
        np.testing.assert_allclose(fast[key], slow[key], rtol=1e-12, err_msg=key)


@pytest.mark.parametrize("deployment", ["sequential", "pipelined"])
def test_score_equals_estimate_of_the_design(lenet_layers, kcp, deployment):
    """A design's table score equals sc_accel.hw.estimate on the AccelConfig it stands for."""
    p = AllocationProblem(lenet_layers, kcp, SMALL, deployment=deployment)
    d = p.values(np.array([[1, 1], [2, 0], [0, 2], [0, 0], [1, 1]]))
    s = p.score(d[None])
    est = estimate(lenet_layers, None, p.accel_for(d))
    lat = [r["latency_cycles"] for r in est.layers]
    want = sum(lat) if deployment == "sequential" else max(lat)
    assert s["latency_cycles"][0] == pytest.approx(want, rel=1e-12)
    assert s["energy_pj"][0] == pytest.approx(est.total["energy_pj"], rel=1e-12)
    assert s["pes"][0] == 16 + 32 + 8 + 8 + 16 and s["buffer_bytes"][0] == 256 + 128 + 512 + 128 + 256


@pytest.mark.parametrize("deployment", ["sequential", "pipelined"])
@pytest.mark.parametrize("objective", ["latency", "energy"])
def test_dp_optimum_equals_exhaustive(lenet_layers, kcp, deployment, objective):
    p = AllocationProblem(lenet_layers, kcp, SMALL, objective, deployment)
    ex, dp = exhaustive(p), optimum(p)
    assert ex.evaluations == 12 ** 5
    assert dp.best_value == pytest.approx(ex.best_value, rel=1e-12)
    assert p.score(dp.best[None])["feasible"][0]


@pytest.mark.parametrize("deployment", ["sequential", "pipelined"])
def test_rl_ga_reaches_the_exhaustive_optimum(lenet_layers, kcp, deployment):
    """On 12^5 designs, 1500 evaluations of RL+GA (seed 0) come within 1% of the optimum, and
    every method's best design is within the budget."""
    res = assign_resources(lenet_layers, None, kcp, SMALL, deployment=deployment, budget=1500, seed=0,
                           exhaustive=True)
    best = res.traces["exhaustive"].best_value
    assert res.traces["RL+GA"].best_value <= best * 1.01
    for name, t in res.traces.items():
        if name != "random":
            assert res.problem.score(t.best[None])["feasible"][0], name
    total = sum(x["pes"] for x in res.best)
    assert total <= SMALL.max_pes and sum(x["buffer_bytes"] for x in res.best) <= SMALL.max_buffer_bytes
    assert res.estimate.total["latency_cycles"] > 0


def test_masked_policy_never_breaks_the_budget(kcp):
    """Every design an untrained masked policy draws on resnet20/edge is within the caps and
    holds every layer's tile, although uniform choices would mostly overshoot."""
    layers = workload(create_model("resnet20", 3, 10, 32), (1, 3, 32, 32))
    p = AllocationProblem(layers, kcp, PLATFORMS["edge"])
    torch.manual_seed(0)
    pol = Policy(*p.n_choices)
    d, logp = pol.sample(layer_features(p), Budget.of(p), 256, torch.Generator().manual_seed(1))
    s = p.score(p.values(d.numpy()))
    assert s["feasible"].all()
    assert torch.isfinite(logp).all()
    uniform = np.random.default_rng(0).integers(0, 7, (256, p.n_layers))
    assert (np.array(p.platform.pe_menu)[uniform].sum(1) > p.platform.max_pes).mean() > 0.9


def test_searches_are_reproducible(lenet_layers, kcp):
    a = assign_resources(lenet_layers, None, kcp, SMALL, budget=300, seed=3)
    b = assign_resources(lenet_layers, None, kcp, SMALL, budget=300, seed=3)
    for k in a.traces:
        assert a.traces[k].values == b.traces[k].values, k
    evals = {k: t.evaluations for k, t in a.traces.items()}
    assert evals == {"baseline-dla": 1, "RL": 300, "RL+GA": 300, "RL (unmasked)": 300, "RL+GA (unmasked)": 300,
                     "random": 300, "GA": 300, "SA": 300}


def test_ga_repair_keeps_offspring_in_budget(lenet_layers, kcp):
    p = AllocationProblem(lenet_layers, kcp, SMALL)
    t = genetic(p, 400, seed=0)
    assert p.score(t.best[None])["feasible"][0]


def test_over_budget_fitness_grows_with_the_overshoot(lenet_layers, kcp):
    p = AllocationProblem(lenet_layers, kcp, SMALL)
    d = np.zeros((3, 5, 2), dtype=np.int64)
    d[1, :, 0] = 3  # 5 x 64 = 320 PEs: 100% over
    d[2, :, 0] = 3
    d[2, :, 1] = 2  # and 5 x 512 buffer bytes
    d[1, 0, 0] = 2  # 288 PEs: 80% over
    f = p.fitness(p.values(d))
    assert f[0] <= p.worst < f[1]  # the smallest design is the slowest: exactly the bound
    s = p.score(p.values(d))
    assert s["overshoot"][1] == pytest.approx(288 / 160 - 1)
    assert f[1] == pytest.approx(p.worst * (1 + 288 / 160 - 1))


@pytest.mark.parametrize("kw,match", [
    ({"pe_menu": ()}, "PE menu is empty"),
    ({"buffer_menu": ()}, "buffer menu is empty"),
    ({"pe_menu": (0, 8)}, "positive integers"),
])
def test_bad_menus_are_refused(kw, match):
    base = dict(name="p", max_pes=64, max_buffer_bytes=1024, pe_menu=(8,), buffer_menu=(128,))
    with pytest.raises(DSEInputError, match=match):
        Platform(**{**base, **kw})


def test_budget_below_the_smallest_design_is_refused(lenet_layers, kcp):
    tiny = Platform("tiny", 20, 2048, (8, 16), (128, 256))  # 5 layers x 8 PEs = 40 > 20
    with pytest.raises(DSEInputError, match="below the smallest design of 5 layers"):
        AllocationProblem(lenet_layers, kcp, tiny)


def test_systolic_array_is_refused(lenet_layers):
    with pytest.raises(DSEInputError, match="systolic array of one fixed shape"):
        AllocationProblem(lenet_layers, presets()["systolic-32x32-ws"], SMALL)


def test_an_area_cap_is_masked_by_rl_and_honoured_by_the_returned_design():
    """With the summed area capped at 60% of the fixed assignment's, every RL design stays
    within it (masking), the result is feasible, and a cap below the smallest design is one
    clear error."""
    import dataclasses

    from sc_accel.dse import PLATFORMS, AllocationProblem, DSEInputError, assign_resources, dla_baseline
    from sc_accel.hw import presets
    from sc_accel.hw.workload import workload
    from scnas.zoo import create_model

    layers = workload(create_model("lenet5", 1, 10, 28), (1, 1, 28, 28))
    accel = presets()["spatial-16x16-kcp"]
    free = AllocationProblem(layers, accel, PLATFORMS["edge"])
    dla_area = float(free.score(dla_baseline(free).best[None])["area_um2"][0])
    plat = dataclasses.replace(PLATFORMS["edge"], max_area_um2=0.6 * dla_area)
    res = assign_resources(layers, None, accel, plat, budget=160, seed=0)
    rl = res.traces["RL"]
    assert max(rl.values) < res.problem.worst  # no RL design was penalised: all within every cap
    best = res.problem.score(res.traces["RL+GA"].best[None])
    assert best["feasible"][0] and best["area_um2"][0] <= 0.6 * dla_area
    assert res.problem.score(res.traces["baseline-dla"].best[None])["feasible"][0]  # the largest uniform that fits
    assert res.optimum is None  # the DP does not cover an area cap
    with pytest.raises(DSEInputError, match="area cap"):
        AllocationProblem(layers, accel, dataclasses.replace(PLATFORMS["edge"], max_area_um2=1.0))
