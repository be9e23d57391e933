"""Derived networks and supernets of a SearchSpace.

CellNet is stem -> blocks -> head (the layout recast/ and the teacher cut read), where the
blocks are the cells in order and the first cell of stage s > 0 carries the stride-2 conv.
SuperStage holds every candidate op of every edge of one stage; it runs under a (cells,
edges, ops) weight tensor, so one-hot weights compute exactly the derived stage. Pruning
deletes whole op modules (`MixedOp.ops`), which then are neither run nor stored.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from nas.genotype import Edge, Genotype, SearchSpace, live_edges
from nas.ops import create_op

__all__ = ["stem", "head", "downsample", "Cell", "CellNet", "build_network", "MixedOp", "SuperStage",
           "stage_shapes"]


def stem(in_ch: int, c: int) -> nn.Sequential:
    """conv 3x3 - BN - ReLU, in_ch -> c (the zoo ResNets' stem, so their weights fit)."""
    return nn.Sequential(nn.Conv2d(in_ch, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())


def head(c: int, n_classes: int) -> nn.Sequential:
    """Global average pooling and a linear classifier (the zoo ResNets' head)."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, n_classes))


def downsample(cin: int, cout: int) -> nn.Sequential:
    """The fixed stage transition: conv 3x3 stride 2 - BN - ReLU."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


def stage_shapes(space: SearchSpace, image_size: int) -> list[tuple[int, int]]:
    """(channels, side) of each stage's cells."""
    return [(c, -(-image_size // (1 << s))) for s, c in enumerate(space.channels)]


def _key(i: int, j: int) -> str:
    return f"{i}_{j}"


class Cell(nn.Module):
    """A derived cell: only its live edges, each one op; node j sums its incoming edges."""

    def __init__(self, c: int, edges: tuple[Edge, ...], nodes: int) -> None:
        super().__init__()
        self.nodes = nodes
        self.edges = [(i, j) for i, j, _ in live_edges(edges, nodes)]
        self.ops = nn.ModuleDict({_key(i, j): create_op(op, c) for i, j, op in live_edges(edges, nodes)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states = {0: x}  # node -> (B, C, H, W)
        for j in range(1, self.nodes + 1):
            terms = [self.ops[_key(i, jj)](states[i]) for i, jj in self.edges if jj == j]
            if terms:
                out = terms[0]
                for t in terms[1:]:
                    out = out + t
                states[j] = out
        return states[self.nodes]


class CellNet(nn.Module):
    """stem -> cells -> head; `genotype` is kept for saving and drawing."""

    def __init__(self, genotype: Genotype, in_ch: int, n_classes: int) -> None:
        super().__init__()
        sp = genotype.space
        self.genotype = genotype
        self.stem = stem(in_ch, sp.channels[0])
        blocks: list[nn.Module] = []
        for s, c in enumerate(sp.channels):
            for k, edges in enumerate(genotype.cells[s]):
                cell = Cell(c, edges, sp.nodes)
                blocks.append(nn.Sequential(downsample(sp.channels[s - 1], c), cell) if s and not k else cell)
        self.blocks = nn.ModuleList(blocks)
        self.head = head(sp.channels[-1], n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for b in self.blocks:
            x = b(x)
        return self.head(x)


def build_network(genotype: Genotype, in_ch: int, n_classes: int) -> CellNet:
    """A fresh CellNet of `genotype`."""
    return CellNet(genotype, in_ch, n_classes)


class MixedOp(nn.Module):
    """Every candidate op of one edge; output = sum of weight x op(x) over the ops still held
    (an op whose weight is exactly 0 is not run)."""

    def __init__(self, c: int, names: tuple[str, ...]) -> None:
        super().__init__()
        self.names = names
        self.ops = nn.ModuleDict({n: create_op(n, c) for n in names})

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:  # w: (ops,)
        out = None
        for o, n in enumerate(self.names):
            if n not in self.ops or n == "none":  # pruned, or the zero op (adds nothing)
                continue
            if not w.requires_grad and float(w[o]) == 0.0:
                continue
            y = w[o] * self.ops[n](x)
            out = y if out is None else out + y
        return x * 0.0 if out is None else out

    def prune(self, name: str) -> None:
        """Delete op `name`'s module (its block) from this edge."""
        if name in self.ops:
            del self.ops[name]


class SuperStage(nn.Module):
    """One stage's supernet: the transition conv (stage s > 0), then cells of mixed edges."""

    def __init__(self, space: SearchSpace, s: int) -> None:
        super().__init__()
        self.space, self.s = space, s
        c = space.channels[s]
        self.pre = downsample(space.channels[s - 1], c) if s else nn.Identity()
        self.cells = nn.ModuleList(nn.ModuleDict({_key(i, j): MixedOp(c, space.ops) for i, j in space.edges})
                                   for _ in range(space.cells_per_stage))

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:  # weights: (cells, edges, ops)
        x = self.pre(x)
        for k, cell in enumerate(self.cells):
            states = {0: x}
            for e, (i, j) in enumerate(self.space.edges):
                y = cell[_key(i, j)](states[i], weights[k, e])
                states[j] = y if j not in states else states[j] + y
            x = states[self.space.nodes]
        return x

    def one_hot(self, cells: tuple[tuple[Edge, ...], ...]) -> torch.Tensor:
        """(cells, edges, ops) weights that select the given derived cells ("none" elsewhere)."""
        sp = self.space
        w = torch.zeros(sp.cells_per_stage, len(sp.edges), len(sp.ops))
        if "none" in sp.ops:  # a space without it leaves dropped edges all zero (MixedOp gives zeros)
            w[:, :, sp.ops.index("none")] = 1.0
        for k, cell in enumerate(cells):
            for i, j, op in live_edges(cell, sp.nodes):  # a dead edge's op would run on zeros
                e = sp.edges.index((i, j))
                w[k, e] = 0.0
                w[k, e, sp.ops.index(op)] = 1.0
        return w

    def derived_blocks(self, cells: tuple[tuple[Edge, ...], ...]) -> list[nn.Module]:
        """The derived stage's blocks (as CellNet holds them) with this supernet's weights for the
        chosen ops: inheritance."""
        sp, c = self.space, self.space.channels[self.s]
        out: list[nn.Module] = []
        for k, edges in enumerate(cells):
            cell = Cell(c, edges, sp.nodes)
            for key, op in cell.ops.items():
                op.load_state_dict(self.cells[k][key].ops[op.op_name].state_dict())
            if self.s and not k:
                pre = downsample(sp.channels[self.s - 1], c)
                pre.load_state_dict(self.pre.state_dict())
                cell = nn.Sequential(pre, cell)
            out.append(cell)
        return out

    def held(self) -> torch.Tensor:
        """(cells, edges, ops) bool: which op blocks are still held (not pruned)."""
        sp = self.space
        return torch.tensor([[[n in self.cells[k][_key(i, j)].ops for n in sp.ops] for i, j in sp.edges]
                             for k in range(sp.cells_per_stage)])

    def prune_to(self, held: torch.Tensor) -> list[tuple[int, int, str]]:
        """Delete every op block `held` marks False; returns (cell, edge, op) of those deleted now."""
        gone = []
        for k in range(self.space.cells_per_stage):
            for e, (i, j) in enumerate(self.space.edges):
                mixed = self.cells[k][_key(i, j)]
                for o, n in enumerate(self.space.ops):
                    if not bool(held[k, e, o]) and n in mixed.ops:
                        mixed.prune(n)
                        gone.append((k, e, n))
        return gone
