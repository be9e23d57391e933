"""Errors of stochastic estimates against their analytic values, and the expected bounds."""

from __future__ import annotations

import numpy as np

__all__ = ["abs_error", "rmse", "bernoulli_sd", "z_scores", "low_discrepancy_bound"]


def abs_error(estimate: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """|estimate - expected| elementwise."""
    return np.abs(np.asarray(estimate, dtype=np.float64) - np.asarray(expected, dtype=np.float64))


def rmse(estimate: np.ndarray, expected: np.ndarray) -> float:
    """Root-mean-square error."""
    return float(np.sqrt(np.mean(abs_error(estimate, expected) ** 2)))


def bernoulli_sd(p: np.ndarray, length: int) -> np.ndarray:
    """Standard deviation of the mean of `length` independent Bernoulli(p) bits."""
    p = np.asarray(p, dtype=np.float64)
    return np.sqrt(p * (1.0 - p) / float(length))


def z_scores(estimate: np.ndarray, expected: np.ndarray, length: int) -> np.ndarray:
    """Errors in units of the Bernoulli standard deviation (inf-safe: sd floored at 1/L^2)."""
    sd = np.maximum(bernoulli_sd(expected, length), 1.0 / float(length) ** 2)
    return abs_error(estimate, expected) / sd


def low_discrepancy_bound(length: int) -> float:
    """Error bound for a prefix of `length` base-2 van der Corput / Sobol points.

    Their star discrepancy is O(log N / N) (Niederreiter, "Random Number Generation and
    Quasi-Monte Carlo Methods", SIAM 1992, ch. 3). We use (log2 N + 2) / N, which also
    covers the comparator's 1/2^w rounding; the tests check it holds.
    """
    n = float(length)
    return (np.log2(max(n, 2.0)) + 2.0) / n
