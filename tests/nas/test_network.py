"""Supernets and derived networks: one-hot weights compute the derived network exactly, and
pruning deletes whole op blocks while the derived network still runs."""

from __future__ import annotations

import torch
import torch.nn as nn

from nas.genotype import Genotype
from nas.network import SuperStage, _key, build_network, stem
from nas.search import assemble
from nas.stages import FineStage
from nas.teacher import cut_teacher
from tests.nas.conftest import random_genotype


def _trained_bn(module: nn.Module, x: torch.Tensor, w: torch.Tensor) -> None:
    """Give every BN non-trivial running statistics, so eval mode is not an identity."""
    module.train()
    with torch.no_grad():
        for _ in range(3):
            module(x, torch.full_like(w, 1.0 / w.shape[-1]))
    module.eval()


def test_one_hot_supernet_equals_the_derived_stage(space):
    torch.manual_seed(0)
    for s in range(len(space.channels)):
        sup = SuperStage(space, s)
        cin = space.channels[s - 1] if s else space.channels[0]
        x = torch.rand(4, cin, 8 >> max(0, s - 1), 8 >> max(0, s - 1))
        for seed in range(4):
            g = random_genotype(space, 10 * s + seed)
            w = sup.one_hot(g.cells[s])
            if seed == 0:
                _trained_bn(sup, x, w)
            derived = nn.Sequential(*sup.derived_blocks(g.cells[s])).eval()
            with torch.no_grad():
                assert torch.allclose(sup(x, w), derived(x), atol=1e-6)


def test_assembled_network_is_a_plain_cellnet_with_the_supernets_weights(space):
    torch.manual_seed(1)
    teacher = build_network(random_genotype(space, 99), 1, 10)
    cut = cut_teacher(teacher, space, 1, 8)
    g = random_genotype(space, 5)
    stages = [SuperStage(space, s) for s in range(2)]
    x = torch.rand(6, 1, 8, 8)
    net, fitted = assemble(g, [st.derived_blocks(c) for st, c in zip(stages, g.cells)], cut, 1, 10)
    assert fitted and type(net).__name__ == "CellNet"
    with torch.no_grad():
        h = cut.stem(x)
        for st, c in zip(stages, g.cells):
            h = st.eval()(h, st.one_hot(c))
        assert torch.allclose(net(x), cut.head(h), atol=1e-6)
    rebuilt = build_network(g, 1, 10)
    rebuilt.load_state_dict(net.state_dict())  # model.pt rebuilds it from the genotype alone


def test_pruning_deletes_whole_blocks_and_the_derived_network_runs(space):
    torch.manual_seed(2)
    sup = SuperStage(space, 0)
    fs = FineStage(sup, random_genotype(space, 3).cells[0], strength=4.0)
    before = sum(p.numel() for p in fs.parameters())
    w = fs.weights().detach()
    gone = fs.prune(threshold=float(w[0, 0].sort().values[-2]) + 1e-9)  # above all of edge 0's but its best
    assert len([g for g in gone if g[:2] == (0, 0)]) == len(space.ops) - 1
    held = sup.held()
    assert bool(held.any(-1).all()), "every edge keeps at least one op"
    for k, e, name in gone:
        i, j = space.edges[e]
        assert name not in sup.cells[k][_key(i, j)].ops  # the module itself is gone
        assert not held[k, e, space.ops.index(name)]
    after = sum(p.numel() for p in fs.parameters())
    removed = sum(sum(p.numel() for p in type(sup)(space, 0).cells[k][_key(*space.edges[e])].ops[n].parameters())
                  for k, e, n in gone)
    assert before - after == removed > 0
    assert float(fs.weights().detach()[~held].abs().sum()) == 0.0  # pruned blocks weigh nothing
    cells = fs.cells()
    g = Genotype(space, (cells, random_genotype(space, 4).cells[1]))
    x = torch.rand(3, 4, 8, 8)
    derived = nn.Sequential(*sup.derived_blocks(cells)).eval()
    with torch.no_grad():
        assert derived(x).shape == (3, 4, 8, 8)
        assert build_network(g, 1, 10).eval()(torch.rand(2, 1, 8, 8)).shape == (2, 10)
        assert torch.allclose(sup.eval()(x, sup.one_hot(cells)), derived(x), atol=1e-6)


def test_stem_is_the_zoo_resnets_stem():
    from scnas.zoo import create_model

    stem(1, 16).load_state_dict(create_model("resnet20", 1, 10, 28).stem.state_dict())


def test_a_space_without_none_searches_and_derives(space):
    """Every edge must then keep an op; one_hot used to index "none" unconditionally."""
    from dataclasses import replace

    no_none = replace(space, ops=tuple(o for o in space.ops if o != "none"))
    sup = SuperStage(no_none, 0).eval()
    g = random_genotype(no_none, 1)
    assert all(len(c) == len(no_none.edges) for c in g.cells[0])  # no edge is dropped
    fs = FineStage(sup, g.cells[0], strength=1.0)
    x = torch.rand(2, 4, 8, 8)
    derived = nn.Sequential(*sup.derived_blocks(g.cells[0])).eval()
    with torch.no_grad():
        assert torch.allclose(sup(x, sup.one_hot(g.cells[0])), derived(x), atol=1e-6)
        assert fs(x).shape == x.shape


def test_teacher_maps_are_the_points_of_every_stage(space):
    torch.manual_seed(3)
    cut = cut_teacher(build_network(random_genotype(space, 2), 1, 10), space, 1, 8)
    x = torch.rand(5, 1, 8, 8)
    maps = cut.maps(x)
    assert len(maps) == len(space.channels) + 1
    for s in range(len(space.channels)):
        t_in, t_out = cut.points(x, s)
        assert torch.equal(maps[s], t_in) and torch.equal(maps[s + 1], t_out)
