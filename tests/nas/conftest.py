"""Tiny data and settings for the nas tests: scikit-learn's digits (8x8) and a 2-stage space."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nas.genotype import Genotype, SearchSpace

TINY_OPS = ("none", "skip", "sep3", "max3", "conv3", "dwsep")


@pytest.fixture(scope="session")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """(x (1797, 1, 8, 8) float32, y (1797,)) in a fixed order."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images.astype(np.float32) / 16.0)[:, None], d.target.astype(np.int64)


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace((4, 8), 2, 2, TINY_OPS)


def random_genotype(space: SearchSpace, seed: int) -> Genotype:
    """A genotype with random ops, some edges dropped (every cell still runs)."""
    from nas.common import derive_cells

    g = torch.Generator().manual_seed(seed)
    shape = (space.cells_per_stage, len(space.edges), len(space.ops))
    return Genotype(space, tuple(derive_cells(torch.rand(shape, generator=g), space) for _ in space.channels))
