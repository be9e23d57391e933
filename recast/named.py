"""Recasting any model: cut it at block modules named by path ("layer1.0", "features.3").

A model without `stem`, `blocks` and `head` is traced with torch.fx (the shared tracer,
sc_accel.graph) keeping the named modules whole. The named blocks must form a chain: each
block's only input is the previous block's output, and nothing computed before a block is
read after it (no shortcut around a block). Everything before the first block becomes the
stem and everything after the last the head, each a GraphModule holding the model's own
submodules, so the result is a `RecastNet` the procedure treats like a zoo ResNet.
"""

from __future__ import annotations

import torch.nn as nn
from torch.fx import Graph, GraphModule, Node

from sc_accel.errors import InvalidInputError
from sc_accel.graph import fx_graph
from recast.net import RecastNet

__all__ = ["split_named", "recastable"]


def _block_nodes(gm: GraphModule, names: list[str], model: nn.Module) -> list[Node]:
    """The call node of each named block, in the model's order; refuses missing or repeated ones."""
    have = dict(model.named_modules())
    for n in names:
        if n not in have or n == "":
            raise InvalidInputError(f"the plan names module {n!r}, which {type(model).__name__} does not have.")
    if len(set(names)) != len(names):
        raise InvalidInputError("the plan names a block module twice.")
    calls = [n for n in gm.graph.nodes if n.op == "call_module" and n.target in names]
    order = [n.target for n in calls]
    for n in names:
        if order.count(n) != 1:
            raise InvalidInputError(f"block module {n!r} is called {order.count(n)} times in the forward pass; a "
                                    "recast block must run exactly once.")
    if order != names:
        raise InvalidInputError(f"the plan names the blocks in another order than the forward pass runs them "
                                f"({', '.join(order)}).")
    return calls


def _check_chain(nodes: list[Node], calls: list[Node]) -> None:
    """Each block reads only the previous one's output; no value crosses a block boundary."""
    pos = {n: i for i, n in enumerate(nodes)}
    first, last = pos[calls[0]], pos[calls[-1]]
    for n in nodes[:first]:
        if n.op != "get_attr" and any(pos[u] > first for u in n.users):
            raise InvalidInputError(f"{n.name!r}, computed before block {calls[0].target!r}, is read after it; the "
                                    "blocks must cut the model in two.")
    for n in nodes[last + 1:]:
        for a in n.all_input_nodes:
            if a.op not in ("get_attr",) and pos[a] < last:
                raise InvalidInputError(f"{n.name!r}, after block {calls[-1].target!r}, reads {a.name!r} from "
                                        "before it; the blocks must cut the model in two.")
    for k, c in enumerate(calls):
        ins = [a for a in c.all_input_nodes if a.op != "get_attr"]
        if len(ins) != 1 or len(c.args) != 1 or c.kwargs:
            raise InvalidInputError(f"block {c.target!r} must take one tensor; it takes {len(c.args)} arguments.")
        if k and ins[0] is not calls[k - 1]:
            raise InvalidInputError(f"between blocks {calls[k - 1].target!r} and {c.target!r} the model computes "
                                    f"{ins[0].name!r}; name blocks whose outputs feed each other directly.")
        if k + 1 < len(calls) and len(c.users) != 1:
            raise InvalidInputError(f"the output of block {c.target!r} is read outside the next block (a shortcut "
                                    "around it); name blocks that enclose their shortcuts.")


def _subgraph(gm: GraphModule, nodes: list[Node], start: Node | None, end: Node) -> GraphModule:
    """GraphModule of `nodes` (in order) whose input is `start` (None: the model's own inputs)
    and whose output is `end`."""
    g, env = Graph(), {}
    if start is not None:
        env[start] = g.placeholder("x")

    def arg(a: Node) -> Node:
        if a not in env:  # a parameter fetched earlier in the original graph
            env[a] = g.node_copy(a, arg)
        return env[a]

    for n in nodes:
        if n.op == "output" or n in env:
            continue
        env[n] = g.node_copy(n, arg)
    g.output(env[end])
    return GraphModule(gm, g)


def split_named(model: nn.Module, names: list[str]) -> tuple[GraphModule, list[nn.Module], GraphModule]:
    """(stem, blocks, head) of `model` cut at the block modules `names` (dotted paths, in the
    order the forward pass runs them). The blocks are the model's own modules."""
    if not names:
        raise InvalidInputError("the plan's `modules` list is empty; name the block modules to recast.")
    gm = fx_graph(model, names)
    nodes = list(gm.graph.nodes)
    calls = _block_nodes(gm, list(names), model)
    _check_chain(nodes, calls)
    first, last = nodes.index(calls[0]), nodes.index(calls[-1])
    stem = _subgraph(gm, nodes[:first], None, calls[0].args[0])
    out = next(n for n in nodes if n.op == "output").args[0]
    if not isinstance(out, Node):
        raise InvalidInputError(f"{type(model).__name__} must return one tensor to be recast.")
    head = _subgraph(gm, nodes[last + 1:], calls[-1], out)
    blocks = [model.get_submodule(n) for n in names]
    return stem, blocks, head


def recastable(model: nn.Module, modules: list[str] | None) -> nn.Module:
    """`model` as stem/blocks/head: cut at `modules` when the plan names them, else as it is
    (split_model then checks that it has the three parts)."""
    if not modules:
        return model
    stem, blocks, head = split_named(model, list(modules))
    return RecastNet(stem, blocks, head).eval()
