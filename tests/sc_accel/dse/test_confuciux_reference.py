"""ConfuciuX as its paper and reference code specify it: the uniform baseline-dla, the
fine-grained GA stage off the menus, the unmasked agent, the power cap, and the
ImageNet-shaped workloads."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from sc_accel.dse import PLATFORMS, AllocationProblem, Platform, dla_baseline
from sc_accel.dse.assign import assign_resources
from sc_accel.dse.confuciux import Budget, Policy, fine_genetic, layer_features, reference_split, step_rewards
from sc_accel.hw import estimate
from sc_accel.hw.workload import workload
from scnas.zoo import create_model


@pytest.fixture(scope="module")
def r20_layers():
    return workload(create_model("resnet20", 3, 10, 32), (1, 3, 32, 32))


@pytest.mark.parametrize("platform", ["cloud", "edge"])
def test_baseline_dla_uses_the_uniform_share_of_the_budget(r20_layers, kcp, platform):
    """Every layer gets the same PEs and bytes, floor(budget / layers) of each: all but less
    than one layer's share of both budgets, which is at least (1 - 1/layers) of it wherever the
    budget holds layers x (layers - 1) (the old menu-entry baseline left 31% of cloud's PEs
    unused)."""
    p = AllocationProblem(r20_layers, kcp, PLATFORMS[platform])
    d = dla_baseline(p).best
    assert (d == d[0]).all()
    s = p.score(d[None])
    assert s["feasible"][0]
    n = p.n_layers
    (_, pe_hi), (_, buf_hi) = p.platform.bounds
    for used, cap, hi in ((s["pes"][0], p.platform.max_pes, pe_hi),
                          (s["buffer_bytes"][0], p.platform.max_buffer_bytes, buf_hi)):
        assert min(cap - (n - 1), n * hi) <= used <= cap
        if cap >= n * (n - 1) and cap <= n * hi:
            assert used >= (1 - 1 / n) * cap


def test_baseline_dla_keeps_the_per_layer_limit(lenet_layers, kcp):
    """A budget larger than layers x the largest menu entry: every layer at that entry."""
    plat = dataclasses.replace(PLATFORMS["edge"], max_pes=2000)
    d = dla_baseline(AllocationProblem(lenet_layers, kcp, plat)).best
    assert (d[:, 0] == plat.pe_menu[-1]).all()


def test_baseline_dla_shrinks_to_fit_an_area_cap(lenet_layers, kcp):
    free = AllocationProblem(lenet_layers, kcp, PLATFORMS["edge"])
    area = float(free.score(dla_baseline(free).best[None])["area_um2"][0])
    p = AllocationProblem(lenet_layers, kcp, dataclasses.replace(PLATFORMS["edge"], max_area_um2=0.5 * area))
    s = p.score(dla_baseline(p).best[None])
    assert s["feasible"][0] and s["area_um2"][0] <= 0.5 * area
    assert s["area_um2"][0] >= 0.3 * area  # the estimator counts whole rows of 16 PEs: coarse steps


def test_off_menu_scores_equal_the_estimate(lenet_layers, kcp):
    """A design of values off the menus is scored by the estimator itself."""
    p = AllocationProblem(lenet_layers, kcp, PLATFORMS["edge"])
    d = np.array([[3, 200], [17, 333], [5, 129], [40, 1000], [9, 90]])
    s = p.score(d[None])
    est = estimate(lenet_layers, None, p.accel_for(d))
    assert s["latency_cycles"][0] == pytest.approx(est.total["latency_cycles"], rel=1e-12)
    assert s["energy_pj"][0] == pytest.approx(est.total["energy_pj"], rel=1e-12)


def test_fine_ga_leaves_the_menu_and_never_exceeds_the_budget(r20_layers, kcp, monkeypatch):
    """From a menu design, the GA stage reaches integer values off both menus, every design it
    scores keeps the summed PEs and bytes within the caps, and its best is no worse."""
    p = AllocationProblem(r20_layers, kcp, PLATFORMS["edge"])
    start = dla_baseline(AllocationProblem(r20_layers, kcp, PLATFORMS["edge"])).best
    start = np.minimum(start, [8, 128])  # a menu design that leaves budget over
    seen = []
    fitness = p.fitness
    monkeypatch.setattr(p, "fitness", lambda a: (seen.append(np.array(a)), fitness(a))[1])
    t = fine_genetic(p, 30, seed=0, init=start)
    alloc = np.concatenate(seen)
    assert (alloc[..., 0].sum(1) <= p.platform.max_pes).all()
    assert (alloc[..., 1].sum(1) <= p.platform.max_buffer_bytes).all()
    off = ~np.isin(alloc[..., 0], p.platform.pe_menu) | ~np.isin(alloc[..., 1], p.platform.buffer_menu)
    assert off.any()
    assert t.best_value <= float(fitness(start[None])[0])
    assert p.score(t.best[None])["feasible"][0]


def test_the_reference_split_gives_a_third_of_the_epochs_to_ga():
    rl, gens = reference_split(2000, pop=20)
    assert rl + 20 * gens == 2000
    assert 0 <= rl - 2 * gens <= 20 + 2  # RL episodes : GA generations = 2 : 1 (the rest of a generation to RL)


def test_the_unmasked_agent_ends_an_episode_on_a_violation(r20_layers, kcp):
    """Unmasked designs break the caps; no step after the first violation is taken, and the
    violating step's reward is minus the shifted rewards gathered before it times the
    overshoot (the reference's penalty)."""
    p = AllocationProblem(r20_layers, kcp, PLATFORMS["edge"])
    pol = Policy(*p.n_choices)
    d, _ = pol.sample(layer_features(p), Budget.of(p), 64, torch.Generator().manual_seed(0), mask=False)
    d = d.numpy()
    assert not p.score(p.values(d))["feasible"].all()
    shift = 1e6
    r, taken = step_rewards(p, d, 1.0, shift)
    for k in range(len(d)):
        pes = np.cumsum(np.array(p.platform.pe_menu)[d[k, :, 0]])
        buf = np.cumsum(np.array(p.platform.buffer_menu)[d[k, :, 1]])
        tile_ok = p.table_["valid"][np.arange(p.n_layers), d[k, :, 0], d[k, :, 1]]
        bad = (pes > p.platform.max_pes) | (buf > p.platform.max_buffer_bytes) | ~tile_ok
        if not bad.any():
            assert taken[k].all()
            continue
        first = int(np.argmax(bad))
        assert taken[k, :first + 1].all() and not taken[k, first + 1:].any()
        over = max(pes[first] / p.platform.max_pes - 1, buf[first] / p.platform.max_buffer_bytes - 1, 0)
        over += 0 if tile_ok[first] else 1
        assert r[k, first] == pytest.approx(-r[k, :first].sum() * over)


def test_sequential_power_is_the_largest_layers_not_the_sum(lenet_layers, kcp):
    """Checked against the estimator's per-layer rows of the design: leakage of the summed
    area plus the largest layer's energy / latency (pipelined: summed energy per interval)."""
    d = np.array([[16, 512], [32, 1024], [8, 256], [16, 512], [4, 256]])
    p = AllocationProblem(lenet_layers, kcp, PLATFORMS["edge"])
    est = estimate(lenet_layers, None, p.accel_for(d))
    f = kcp.op.freq_mhz * 1e6
    dyn = [r["energy_pj"] * 1e-12 * f / r["latency_cycles"] for r in est.layers]
    compute = {x.name for x in p.compute}
    area = sum(r["area_um2"] for r in est.layers if r["name"] in compute)
    leak = float(p.leakage_w(np.array(area)))
    got = float(p.score(d[None])["power_w"][0])
    assert got == pytest.approx(max(dyn) + leak, rel=1e-9)
    assert got < sum(dyn) + leak
    pipe = AllocationProblem(lenet_layers, kcp, PLATFORMS["edge"], deployment="pipelined")
    want = sum(dyn) + leak  # every stage at once: the sum of their powers
    assert float(pipe.score(d[None])["power_w"][0]) == pytest.approx(want, rel=1e-9)


def test_a_power_cap_is_masked_by_rl_and_honoured(lenet_layers, kcp):
    """A cap halfway between the pooling layers' power (a floor: they run on the whole array)
    and the uniform design's binds; RL never draws a design over it, and every result is under it."""
    free = AllocationProblem(lenet_layers, kcp, PLATFORMS["cloud"])
    power = float(free.score(dla_baseline(free).best[None])["power_w"][0])
    cap = (free.fixed_["max_power"] + power) / 2
    plat = dataclasses.replace(PLATFORMS["cloud"], max_power_w=cap)
    res = assign_resources(lenet_layers, None, kcp, plat, budget=200, seed=0, agents=("masked",))
    assert max(res.traces["RL"].values) < res.problem.worst  # every masked RL design within the cap
    for name in ("baseline-dla", "RL", "RL+GA"):
        s = res.problem.score(res.traces[name].best[None])
        assert s["feasible"][0] and s["power_w"][0] <= cap, name
    assert res.optimum is None


@pytest.mark.parametrize("name,params,macs", [("resnet50", 25_557_032, 4.09e9), ("mobilenet_v2", 3_504_872, 0.30e9)])
def test_imagenet_shaped_zoo_models_match_torchvision(name, params, macs):
    """Parameter counts equal torchvision's models (1000 classes), MACs at 224x224 its known
    4.09 G and 0.30 G."""
    m = create_model(name, 3, 1000, 224)
    assert sum(p.numel() for p in m.parameters()) == params
    layers = workload(m, (1, 3, 224, 224))
    assert sum(x.macs for x in layers if x.op in ("conv", "dwconv", "linear")) == pytest.approx(macs, rel=0.01)


def test_small_platform_is_refused_under_a_power_cap_below_the_smallest_design(lenet_layers, kcp):
    from sc_accel.dse import DSEInputError
    with pytest.raises(DSEInputError, match="power cap"):
        AllocationProblem(lenet_layers, kcp, Platform("p", 256, 4096, (1, 2), (64, 128), max_power_w=1e-9))


def test_an_over_budget_confuciux_result_is_reported_not_an_error(lenet_layers, kcp):
    """An unmasked RL+GA that ends over budget keeps its rows; the estimate is of the best design
    within the budget (here the uniform baseline)."""
    from sc_accel.dse.assign import _estimated
    from sc_accel.dse.space import Trace

    p = AllocationProblem(lenet_layers, kcp, PLATFORMS["edge"])
    over = Trace.empty("RL+GA (unmasked)", p)
    big = np.tile([64, 1024], (p.n_layers, 1))[None]  # 5 x 64 PEs > 256
    over.record(big, p.fitness(big))
    dla = dla_baseline(p)
    assert _estimated(p, {"baseline-dla": dla, "RL+GA (unmasked)": over}) is dla
