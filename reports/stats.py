"""Uncertainty shown on the page: Wilson intervals for one accuracy, mean ± std over seeds.

An accuracy of k hits in n images is a binomial proportion; its Wilson score interval
(Wilson, JASA 1927) stays inside [0, 1] and keeps its coverage at small n and near 0 or 1,
where the normal approximation p ± z sqrt(p(1-p)/n) does not. z = 1.96 gives 95%.
"""

from __future__ import annotations

import math
import statistics

__all__ = ["wilson", "mean_std", "Z95"]

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """(low, high) of the Wilson score interval of a proportion p measured on n trials;
    (p, p) when n is 0 or unknown."""
    if not n or n <= 0:
        return p, p
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    if not values:
        raise ValueError("mean_std needs at least one value")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)
