"""Per-op cost tables from the shared estimator (sc_accel.hw), for the hardware-aware penalty.

The estimator scores a network layer by layer, each layer on its own shapes, and sums them.
So the cost of a derived CellNet splits exactly into: the stem, each stage's transition conv
and the head (fixed), one entry per live edge (its op alone at the stage's shape), and one
`add` per extra input of a node. The tables hold those parts, estimated once per stage and
op; `network_cost` adds them up for a genotype (equal to estimating the network itself,
which the tests check) and `expected_cost` gives the differentiable relaxation under the
architecture weights. Every metric comes from the same `estimate` call: latency_s,
energy_pj, macs and memory bytes (DRAM + on-chip buffer traffic).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from nas.genotype import Genotype, SearchSpace, live_edges
from nas.network import downsample, head, stage_shapes, stem
from nas.ops import create_op
from sc_accel.errors import InvalidInputError
from sc_accel.hw import AccelConfig, estimate, presets
from sc_accel.seeds import seeded

__all__ = ["METRICS", "PENALTIES", "CostTables", "build_tables", "resolve_accel"]

METRICS = ("latency_s", "energy_pj", "macs", "memory_bytes")
PENALTIES = {"latency": "latency_s", "energy": "energy_pj", "flops": "macs"}


def resolve_accel(accel: AccelConfig | str) -> AccelConfig:
    """An AccelConfig, or a built-in preset by name (files are read by scnas)."""
    if isinstance(accel, AccelConfig):
        return accel
    table = presets()
    if accel not in table:
        raise InvalidInputError(f"unknown accelerator preset {accel!r}; choose one of {', '.join(table)}.")
    return table[accel]


class _Add(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + x


def _metrics(module: nn.Module, shape: tuple[int, ...], accel: AccelConfig) -> dict[str, float]:
    t = estimate(module.eval(), shape, accel).total
    return {"latency_s": t["latency_s"], "energy_pj": t["energy_pj"], "macs": float(t["macs"]),
            "memory_bytes": t["dram_bytes"] + t["sram_bytes"]}


@dataclass
class CostTables:
    """fixed: stem + transitions + head; op[s][name], add[s]: one edge's op / one add in stage s."""

    space: SearchSpace
    accel: str
    image_size: int
    fixed: dict[str, float]
    op: list[dict[str, dict[str, float]]]
    add: list[dict[str, float]]

    def network_cost(self, genotype: Genotype) -> dict[str, float]:
        """Every metric of the derived network of `genotype`, summed from the tables."""
        out = dict(self.fixed)
        for s, stage in enumerate(genotype.cells):
            for cell in stage:
                live = live_edges(cell, self.space.nodes)
                indeg = {j: sum(1 for _, jj, _ in live if jj == j) for _, j, _ in live}
                for m in METRICS:
                    out[m] += sum(self.op[s][op][m] for _, _, op in live)
                    out[m] += sum(n - 1 for n in indeg.values()) * self.add[s][m]
        return out

    def stage_matrix(self, s: int, metric: str) -> torch.Tensor:
        """(ops,) cost of one edge of stage s per op, an add included for every op but none."""
        return torch.tensor([self.op[s][n][metric] + (self.add[s][metric] if n != "none" else 0.0)
                             for n in self.space.ops], dtype=torch.float64)

    def expected_cost(self, s: int, weights: torch.Tensor, metric: str) -> torch.Tensor:
        """Differentiable expected cost of stage s's cells under (cells, edges, ops) weights (the
        adds counted per non-none edge, one per node too many: a constant offset)."""
        return (weights.double() * self.stage_matrix(s, metric)).sum()

    def to_dict(self) -> dict:
        """Plain dict (results.json)."""
        return {"accel": self.accel, "image_size": self.image_size, "fixed": self.fixed, "op": self.op,
                "add": self.add}


def build_tables(space: SearchSpace, in_ch: int, n_classes: int, image_size: int,
                 accel: AccelConfig | str) -> CostTables:
    """Estimate every op of every stage, the adds and the fixed layers on `accel`."""
    with seeded(0):  # the measured modules draw weights the costs never read; the caller's generator is kept
        return _tables(space, in_ch, n_classes, image_size, resolve_accel(accel))


def _tables(space: SearchSpace, in_ch: int, n_classes: int, image_size: int, a: AccelConfig) -> CostTables:
    shapes = stage_shapes(space, image_size)
    fixed = _metrics(stem(in_ch, space.channels[0]), (1, in_ch, image_size, image_size), a)
    for s in range(1, len(shapes)):
        part = _metrics(downsample(shapes[s - 1][0], shapes[s][0]), (1, shapes[s - 1][0], shapes[s - 1][1],
                                                                      shapes[s - 1][1]), a)
        fixed = {m: fixed[m] + part[m] for m in METRICS}
    c, side = shapes[-1]
    part = _metrics(head(c, n_classes), (1, c, side, side), a)
    fixed = {m: fixed[m] + part[m] for m in METRICS}
    ops, adds = [], []
    for c, side in shapes:
        shape = (1, c, side, side)
        ops.append({n: ({m: 0.0 for m in METRICS} if n == "none" else _metrics(create_op(n, c), shape, a))
                    for n in space.ops})
        adds.append(_metrics(_Add(), shape, a))
    return CostTables(space, a.name, image_size, fixed, ops, adds)
