"""Ops and genotypes: the registry by name, the JSON round trip, live edges and the DAG."""

from __future__ import annotations

import json

import pytest
import torch

from nas.genotype import Genotype, SearchSpace, edge_list, live_edges
from nas.ops import DEFAULT_OPS, OPS, check_ops, create_op
from sc_accel.errors import InvalidInputError
from tests.nas.conftest import random_genotype


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_keeps_the_shape_and_names_itself(name):
    op = create_op(name, 6).eval()
    x = torch.rand(2, 6, 9, 9)
    y = op(x)
    assert y.shape == x.shape and op.op_name == name
    if name == "none":
        assert not y.any()
    if name == "skip":
        assert torch.equal(y, x)


def test_the_issue_ops_and_recast_blocks_are_registered():
    assert set(DEFAULT_OPS) == {"none", "skip", "sep3", "sep5", "dil3", "max3", "avg3"}
    assert {"mbconv", "dwsep", "basic", "plain"} <= set(OPS)


def test_unknown_and_repeated_ops_are_one_sentence():
    with pytest.raises(InvalidInputError, match="unknown op 'sep7'; choose one of"):
        check_ops(["skip", "sep7"])
    with pytest.raises(InvalidInputError, match="twice"):
        check_ops(["skip", "skip"])
    with pytest.raises(InvalidInputError, match="besides 'none'"):
        check_ops(["none"])
    with pytest.raises(InvalidInputError, match="unknown op"):
        create_op("conv9", 4)
    with pytest.raises(InvalidInputError, match="':'"):
        OPS.register("a:b", lambda c: torch.nn.Identity())


def test_registered_op_is_searchable():
    OPS.register("test_double", lambda c: torch.nn.Conv2d(c, c, 1))
    try:
        assert SearchSpace((4,), 1, 1, ("skip", "test_double")).ops[-1] == "test_double"
    finally:
        OPS.unregister("test_double")


def test_genotype_round_trips_through_json(space):
    for seed in range(5):
        g = random_genotype(space, seed)
        text = json.dumps(g.to_dict())
        back = Genotype.from_json(g.to_json())
        assert back == g and json.dumps(back.to_dict()) == text
        assert Genotype.from_dict(json.loads(text)).space == space


def test_space_round_trips_and_refuses_bad_values(space):
    assert SearchSpace.from_dict(space.to_dict()) == space
    with pytest.raises(InvalidInputError, match="nodes"):
        SearchSpace((4,), 1, 0)
    with pytest.raises(InvalidInputError, match="channels"):
        SearchSpace(())
    with pytest.raises(InvalidInputError, match="unknown op 'conv7x7'"):
        SearchSpace(ops=("skip", "conv7x7"))


def test_bad_genotypes_are_refused_by_name(space):
    cell = ((0, 1, "sep3"), (1, 2, "skip"))
    with pytest.raises(InvalidInputError, match="stages"):
        Genotype(space, ((cell, cell),))
    with pytest.raises(InvalidInputError, match=r"edge \(2, 3\)"):
        Genotype(space, ((((0, 1, "sep3"), (2, 3, "skip")), cell), (cell, cell)))
    with pytest.raises(InvalidInputError, match="no path"):
        Genotype.uniform(space, [(0, 1, "sep3")])  # node 2, the output, is never reached
    with pytest.raises(InvalidInputError, match="unknown op"):
        Genotype.uniform(space, [(0, 1, "sep3"), (1, 2, "bogus")])
    with pytest.raises(InvalidInputError, match="not a genotype"):
        Genotype.from_dict({"cells": []})


def test_live_edges_drop_dead_ends():
    # node 1 feeds nothing: its edge is dead; the output is reached through (0, 2)
    assert live_edges([(0, 1, "sep3"), (0, 2, "skip")], 2) == [(0, 2, "skip")]
    # node 2 is fed only from node 1, which has no input: nothing reaches node 3 through it
    assert live_edges([(1, 2, "sep3"), (0, 3, "skip")], 3) == [(0, 3, "skip")]
    assert edge_list(2) == [(0, 1), (0, 2), (1, 2)]


def test_stage_dag_chains_cells(space):
    g = Genotype.uniform(space, [(0, 1, "sep3"), (0, 2, "skip"), (1, 2, "conv3")])
    dag = g.stage_dag(0)
    assert set(dag.edges) == {("in", "c0.n1"), ("in", "c0.n2"), ("c0.n1", "c0.n2"), ("c0.n2", "c1.n1"),
                              ("c0.n2", "c1.n2"), ("c1.n1", "c1.n2")}
    assert dag.edges["in", "c0.n2"]["op"] == "skip"
    assert g.stage_ops(1) == ["sep3", "skip", "conv3"] * 2
