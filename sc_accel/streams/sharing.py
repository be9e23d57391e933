"""SNG sharing maps: which generator feeds each stream, and how each consumer re-wires it.

A shared generator saves area (one LFSR for many comparators) but correlates the
streams it feeds. The cheap decorrelation is a circular rotation of the generator's
output bits per consumer, after Ichihara et al., "Compact and accurate stochastic
circuits with shared random number sources", ICCD 2014. Rotation 0 keeps streams
maximally correlated (SCC = +1), which stochastic max/min need.

The same map is what the hardware estimator counts: `n_generators` SNGs and
`n_streams` comparators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sc_accel.errors import InvalidInputError

__all__ = ["SharingMap"]


@dataclass(frozen=True, eq=False)
class SharingMap:
    """generator[i]: generator feeding stream i; rotation[i]: its output rotation (bits)."""

    generator: np.ndarray  # (n_streams,) int64, values 0..n_generators-1
    rotation: np.ndarray   # (n_streams,) int64, values >= 0 (taken modulo the width)

    def __post_init__(self) -> None:
        gen = np.ascontiguousarray(self.generator, dtype=np.int64).reshape(-1)
        rot = np.ascontiguousarray(self.rotation, dtype=np.int64).reshape(-1)
        if gen.shape != rot.shape:
            raise InvalidInputError(
                f"sharing map has {gen.size} generator ids but {rot.size} rotations; give one of each per stream.")
        if gen.size and (gen.min() < 0 or rot.min() < 0):
            raise InvalidInputError("sharing map generator ids and rotations must be >= 0.")
        object.__setattr__(self, "generator", gen)
        object.__setattr__(self, "rotation", rot)

    @property
    def n_streams(self) -> int:
        """Number of streams (comparators) the map feeds."""
        return int(self.generator.size)

    @property
    def n_generators(self) -> int:
        """Number of distinct generators (SNG instances) the map needs."""
        return int(np.unique(self.generator).size)

    @classmethod
    def private(cls, n: int) -> "SharingMap":
        """Every stream has its own generator (no sharing, most independent, most area)."""
        return cls(np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64))

    @classmethod
    def shared(cls, n: int, degree: int, decorrelate: bool = True) -> "SharingMap":
        """Consecutive groups of `degree` streams share one generator.

        With `decorrelate`, member j of a group sees the output rotated by j bits;
        members j and j + width then coincide, so keep degree <= width for distinct streams.
        """
        if int(degree) < 1:
            raise InvalidInputError(f"sharing degree {degree!r} must be a positive integer.")
        idx = np.arange(n, dtype=np.int64)
        rot = idx % degree if decorrelate else np.zeros(n, dtype=np.int64)
        return cls(idx // degree, rot)

    @classmethod
    def single(cls, n: int) -> "SharingMap":
        """All streams compare against one generator, unrotated: pairwise SCC = +1."""
        return cls.shared(n, max(int(n), 1), decorrelate=False)

    def check(self, n_streams: int) -> None:
        """Raise if the map does not cover exactly `n_streams` streams."""
        if self.n_streams != n_streams:
            raise InvalidInputError(
                f"sharing map covers {self.n_streams} streams but {n_streams} values were given; "
                "build the map for values.size streams.")

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"generator": self.generator.tolist(), "rotation": self.rotation.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "SharingMap":
        """Inverse of to_dict."""
        return cls(np.asarray(d["generator"]), np.asarray(d["rotation"]))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, SharingMap)
                and np.array_equal(self.generator, other.generator)
                and np.array_equal(self.rotation, other.rotation))
