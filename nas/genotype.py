"""Search space and genotypes as plain data (JSON round trip) and networkx DAGs (drawing).

The network: stem -> stages -> head. Stage s runs at 1 / 2^s of the stem's resolution with
channels[s]; its first cell (s > 0) is preceded by a fixed 3x3 stride-2 conv, so every cell
keeps its shape. A cell has `nodes` intermediate nodes: node 0 is the cell's input, node j is
the sum of one op per edge (i, j), i < j, and the last node is the cell's output. A genotype
lists, per stage and cell, the edges kept and their op ("none" edges are left out).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import networkx as nx

from nas.ops import DEFAULT_OPS, check_ops
from sc_accel.errors import InvalidInputError

__all__ = ["SearchSpace", "Genotype", "Edge", "edge_list", "live_edges"]

Edge = tuple[int, int, str]  # (source node, destination node, op)


def edge_list(nodes: int) -> list[tuple[int, int]]:
    """Every edge (i, j), 0 <= i < j <= nodes, in the order the supernet stores them."""
    return [(i, j) for j in range(1, nodes + 1) for i in range(j)]


def live_edges(edges: list[Edge] | tuple[Edge, ...], nodes: int) -> list[Edge]:
    """The edges on some path from the input (node 0) to the output (node `nodes`): the ones
    a derived cell computes. Edges into or out of a node cut off either way are dropped."""
    fed = {0}
    for i, j, _ in sorted(edges, key=lambda e: e[1]):
        if i in fed:
            fed.add(j)
    feeds = {nodes}
    for i, j, _ in sorted(edges, key=lambda e: -e[1]):
        if j in feeds:
            feeds.add(i)
    return [e for e in edges if e[0] in fed and e[1] in feeds and e[0] in feeds]


def _positive_int(name: str, v: object, low: int = 1, high: int = 1 << 16) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise InvalidInputError(f"{name}={v!r} must be an integer from {low} to {high}.")
    return v


@dataclass(frozen=True)
class SearchSpace:
    """The skeleton the search fills in: channels per stage, cells per stage, nodes per cell,
    and the candidate ops of every edge."""

    channels: tuple[int, ...] = (16, 32, 64)
    cells_per_stage: int = 2
    nodes: int = 2
    ops: tuple[str, ...] = DEFAULT_OPS

    def __post_init__(self) -> None:
        if not isinstance(self.channels, (tuple, list)) or not 1 <= len(self.channels) <= 6:
            raise InvalidInputError(f"channels={self.channels!r} must list 1 to 6 stage widths.")
        object.__setattr__(self, "channels", tuple(_positive_int("channels", c, 1, 4096) for c in self.channels))
        _positive_int("cells_per_stage", self.cells_per_stage, 1, 16)
        _positive_int("nodes", self.nodes, 1, 6)
        object.__setattr__(self, "ops", check_ops(self.ops))

    @property
    def edges(self) -> list[tuple[int, int]]:
        """The (i, j) edges of every cell."""
        return edge_list(self.nodes)

    def to_dict(self) -> dict:
        """Plain dict (JSON/TOML)."""
        return {"channels": list(self.channels), "cells_per_stage": self.cells_per_stage, "nodes": self.nodes,
                "ops": list(self.ops)}

    @classmethod
    def from_dict(cls, d: dict) -> "SearchSpace":
        """Inverse of to_dict."""
        return cls(tuple(d["channels"]), d["cells_per_stage"], d["nodes"], tuple(d["ops"]))


@dataclass(frozen=True)
class Genotype:
    """A derived network: `cells[s][k]` is the edge list of cell k of stage s."""

    space: SearchSpace
    cells: tuple[tuple[tuple[Edge, ...], ...], ...] = field(default=())

    def __post_init__(self) -> None:
        sp = self.space
        if len(self.cells) != len(sp.channels) or any(len(st) != sp.cells_per_stage for st in self.cells):
            raise InvalidInputError(f"a genotype needs {len(sp.channels)} stages of {sp.cells_per_stage} cells, "
                                    f"got {[len(st) for st in self.cells]}.")
        cells = tuple(tuple(self._check_cell(c) for c in st) for st in self.cells)
        object.__setattr__(self, "cells", cells)

    def _check_cell(self, cell: object) -> tuple[Edge, ...]:
        edges = tuple((int(i), int(j), str(op)) for i, j, op in cell)
        allowed = set(self.space.edges)
        for i, j, op in edges:
            if op != "none":
                check_ops([op])
            if (i, j) not in allowed:
                raise InvalidInputError(f"edge ({i}, {j}) is not in a cell of {self.space.nodes} nodes.")
            if op == "none":
                raise InvalidInputError(f"edge ({i}, {j}) has op 'none'; leave dropped edges out of a genotype.")
        if len({(i, j) for i, j, _ in edges}) != len(edges):
            raise InvalidInputError(f"cell {list(edges)} names an edge twice.")
        if not live_edges(edges, self.space.nodes):
            raise InvalidInputError(f"cell {list(edges)} has no path from its input to its output node.")
        return tuple(sorted(edges, key=lambda e: (e[1], e[0])))

    @classmethod
    def uniform(cls, space: SearchSpace, cell: list[Edge]) -> "Genotype":
        """The cell-based network: one cell copied to every position (what DARTS derives)."""
        return cls(space, tuple(tuple(tuple(cell) for _ in range(space.cells_per_stage)) for _ in space.channels))

    def stage_ops(self, s: int) -> list[str]:
        """The ops stage s computes (live edges only), in cell and edge order."""
        return [op for c in self.cells[s] for _, _, op in live_edges(c, self.space.nodes)]

    def to_dict(self) -> dict:
        """Plain dict: {"space": ..., "cells": [[[[i, j, op], ...], ...], ...]}."""
        return {"space": self.space.to_dict(), "cells": [[[list(e) for e in c] for c in st] for st in self.cells]}

    @classmethod
    def from_dict(cls, d: dict) -> "Genotype":
        """Inverse of to_dict; a malformed dict raises one sentence."""
        try:
            return cls(SearchSpace.from_dict(d["space"]), tuple(tuple(tuple(tuple(e) for e in c) for c in st)
                                                                 for st in d["cells"]))
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, InvalidInputError):
                raise
            raise InvalidInputError(f"not a genotype ({type(e).__name__}: {e}); write it with Genotype.to_dict."
                                    ) from None

    def to_json(self) -> str:
        """JSON text of to_dict."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "Genotype":
        """Inverse of to_json."""
        return cls.from_dict(json.loads(text))

    def stage_dag(self, s: int) -> nx.DiGraph:
        """Stage s as a DAG: nodes "cK.nJ" (cell K, node J; a cell's node 0 is the previous
        cell's output node), edges labelled with their op; only live edges."""
        g = nx.DiGraph()
        n = self.space.nodes
        name = lambda k, j: "in" if k == 0 and j == 0 else (f"c{k - 1}.n{n}" if j == 0 else f"c{k}.n{j}")  # noqa
        g.add_node("in")
        for k, cell in enumerate(self.cells[s]):
            for i, j, op in live_edges(cell, n):
                g.add_edge(name(k, i), name(k, j), op=op)
        return g
