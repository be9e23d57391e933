"""The penalty tables are the shared estimator: summed over a derived network they equal
`sc_accel.hw.estimate` on it, on binary and SC accelerators."""

from __future__ import annotations

import math

import pytest
import torch

from nas.cost import METRICS, build_tables, resolve_accel
from nas.genotype import Genotype, SearchSpace, live_edges
from nas.network import SuperStage, build_network
from sc_accel.errors import InvalidInputError
from sc_accel.hw import estimate, presets
from tests.nas.conftest import random_genotype

SPACE = SearchSpace((8, 16, 32), 2, 2, ("none", "skip", "sep3", "sep5", "dil3", "max3", "avg3", "conv3", "dwsep",
                                        "mbconv"))


def _measured(g: Genotype, accel: str, side: int) -> dict:
    t = estimate(build_network(g, 1, 10).eval(), (1, 1, side, side), presets()[accel]).total
    return {"latency_s": t["latency_s"], "energy_pj": t["energy_pj"], "macs": t["macs"],
            "memory_bytes": t["dram_bytes"] + t["sram_bytes"]}


@pytest.mark.parametrize("accel", ["systolic-32x32-ws", "spatial-16x16-rs", "sc-64x64-L256"])
def test_table_cost_equals_the_estimator_on_derived_networks(accel):
    tables = build_tables(SPACE, 1, 10, 20, accel)
    for seed in range(6):
        g = random_genotype(SPACE, seed)
        want, got = _measured(g, accel, 20), tables.network_cost(g)
        for m in METRICS:
            assert math.isclose(got[m], want[m], rel_tol=1e-9), (seed, m, got[m], want[m])


def test_memory_traffic_ranks_ops_differently_from_macs():
    """The reason for a memory-aware penalty: on the weight-stationary array a depthwise-separable
    op has a fraction of a 3x3 conv's MACs but takes longer."""
    t = build_tables(SPACE, 1, 10, 28, "systolic-32x32-ws")
    sep, conv = t.op[0]["sep3"], t.op[0]["conv3"]
    assert sep["macs"] < conv["macs"] / 4
    assert sep["latency_s"] > conv["latency_s"]


def test_expected_cost_under_one_hot_weights_is_the_derived_stage_cost():
    tables = build_tables(SPACE, 1, 10, 16, "systolic-32x32-ws")
    for seed in range(4):
        g = random_genotype(SPACE, seed)
        for s in range(3):
            w = SuperStage(SPACE, s).one_hot(g.cells[s])
            exact = offset = 0.0
            for cell in g.cells[s]:
                live = live_edges(cell, SPACE.nodes)
                nodes = {j for _, j, _ in live}
                exact += sum(tables.op[s][op]["latency_s"] for _, _, op in live)
                exact += (len(live) - len(nodes)) * tables.add[s]["latency_s"]
                offset += len(nodes) * tables.add[s]["latency_s"]  # the relaxation counts one add per edge
            got = float(tables.expected_cost(s, w, "latency_s"))
            assert math.isclose(got - offset, exact, rel_tol=1e-9, abs_tol=1e-15)


def test_expected_cost_is_differentiable_and_pushes_toward_cheap_ops():
    tables = build_tables(SPACE, 1, 10, 16, "systolic-32x32-ws")
    alpha = torch.zeros(2, 3, len(SPACE.ops), requires_grad=True)
    tables.expected_cost(0, torch.softmax(alpha, -1), "latency_s").backward()
    g = alpha.grad[0, 0]
    assert g[SPACE.ops.index("mbconv")] > 0 > g[SPACE.ops.index("skip")]


def test_unknown_preset_is_one_sentence():
    with pytest.raises(InvalidInputError, match="unknown accelerator preset 'tpu'"):
        resolve_accel("tpu")
