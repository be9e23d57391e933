"""Shared fixtures: deterministic RNGs and a thread-count switch for numba.

Hypothesis runs derandomized with no example database, so every property test draws the same
examples on every machine and a failure reproduces (the suite's seeds are all fixed).
"""

from __future__ import annotations

import contextlib

import numba
import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("scnas", derandomize=True, database=None)
settings.load_profile("scnas")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@contextlib.contextmanager
def numba_threads(n: int):
    """Run the block with `n` numba threads, then restore the previous count."""
    old = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(old)
