"""Seeds for the whole suite (ground floor): one way to derive them, and no global reseeding.

`derive_seed(seed, phase, stage, epoch, ...)` turns a tuple of integers into one 63-bit seed
(FNV-1a over 32-bit parts), so every phase, stage and epoch of a run draws from its own
stream and a resumed run draws the same numbers. `seeded(seed)` runs a block (typically the
construction of a model, whose layers initialise from torch's global generator) under that
seed and then puts the caller's generator state back: library code never reseeds the
caller's torch generator.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["derive_seed", "seeded", "generator"]

_FNV_OFFSET = 1469598103934665603
_FNV_PRIME = 1099511628211


def derive_seed(*parts: int) -> int:
    """One 63-bit seed from a tuple of integers (run seed, phase, stage, epoch, ...)."""
    h = _FNV_OFFSET
    for p in parts:
        h = ((h ^ (int(p) & 0xFFFFFFFF)) * _FNV_PRIME) % (1 << 63)
    return h


def generator(*parts: int) -> torch.Generator:
    """A private CPU generator seeded with derive_seed(*parts) (for shuffles and draws)."""
    return torch.Generator().manual_seed(derive_seed(*parts))


@contextmanager
def seeded(*parts: int) -> Iterator[None]:
    """Run the block with torch's CPU generator seeded by derive_seed(*parts) when several
    parts are given, or by the one integer given; restore the caller's generator after."""
    seed = int(parts[0]) if len(parts) == 1 else derive_seed(*parts)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
