"""SNG sharing maps: which generator feeds each stream, and how each consumer re-wires it.

A shared generator saves area (one LFSR for many comparators) but correlates the
streams it feeds. Two cheap decorrelations, both free wiring in front of a consumer's
comparator:

- "rotate": a circular rotation of the generator's output bits per consumer, after
  Ichihara et al., "Compact and accurate stochastic circuits with shared random number
  sources", ICCD 2014. It moves low bits to the top, so a low-discrepancy (Sobol) stream's
  prefixes short of a full 2^k block lose their stratification, and in a network the
  rotated members' errors do not average out: measured on LeNet-5 (README), 8-way sharing
  cost 10-15 points with Sobol at L = 1024, and 10x the logit error in the tests.
- "xor": a per-consumer XOR mask (inverters on some comparator inputs). XOR with a constant
  permutes the values bijectively and maps every dyadic interval onto one of the same size,
  so a Sobol prefix stays stratified (a digital shift keeps the net property) and an LFSR's
  full period still fires exactly T times for threshold T.

Rotation / mask 0 keeps streams maximally correlated (SCC = +1), which stochastic max/min need.

The same map is what the hardware estimator counts: `n_generators` SNGs and
`n_streams` comparators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sc_accel.errors import InvalidInputError, is_int
from sc_accel.kernels.convert import as_int_array

__all__ = ["SharingMap", "DECORRELATE", "member_masks"]

DECORRELATE = ("rotate", "xor", "none")


def member_masks(degree: int) -> np.ndarray:
    """16-bit XOR masks of the members of a sharing group: 0 for member 0, then SplitMix64
    hashes of the member index (fixed, so the same wiring serves every group)."""
    j = np.arange(degree, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = j + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    masks = (z >> np.uint64(48)).astype(np.int64)
    masks[0] = 0
    return masks


def _check_count(n: object) -> None:
    if not is_int(n) or n < 0:
        raise InvalidInputError(f"a sharing map needs a whole number of streams >= 0, not {n!r}.")


@dataclass(frozen=True, eq=False)
class SharingMap:
    """generator[i]: generator feeding stream i; rotation[i]: its output rotation (bits)."""

    generator: np.ndarray  # (n_streams,) int64, values 0..n_generators-1
    rotation: np.ndarray   # (n_streams,) int64, values >= 0 (taken modulo the width)
    mask: np.ndarray | None = None  # (n_streams,) int64 XOR masks (low `width` bits used); None = 0

    def __post_init__(self) -> None:
        gen = as_int_array(self.generator, "sharing map generator ids").reshape(-1)
        rot = as_int_array(self.rotation, "sharing map rotations").reshape(-1)
        mask = np.zeros_like(gen) if self.mask is None else as_int_array(self.mask, "sharing map masks").reshape(-1)
        if gen.shape != rot.shape or gen.shape != mask.shape:
            raise InvalidInputError(f"sharing map has {gen.size} generator ids, {rot.size} rotations and "
                                    f"{mask.size} masks; give one of each per stream.")
        if gen.size and (gen.min() < 0 or rot.min() < 0 or mask.min() < 0 or mask.max() >= 1 << 16):
            raise InvalidInputError("sharing map generator ids and rotations must be >= 0, masks 0..65535.")
        object.__setattr__(self, "generator", gen)
        object.__setattr__(self, "rotation", rot)
        object.__setattr__(self, "mask", mask)

    def wiring(self, width: int) -> np.ndarray:
        """Per-stream wiring codes for the kernels: rotation mod width in the low byte, the XOR
        mask (its low `width` bits) above it."""
        return (self.rotation % width) | ((self.mask & ((1 << width) - 1)) << 8)

    @property
    def n_streams(self) -> int:
        """Number of streams (comparators) the map feeds."""
        return int(self.generator.size)

    @property
    def n_generators(self) -> int:
        """Number of distinct generators (SNG instances) the map needs."""
        gen = self.generator
        if gen.size and gen.max() < 4 * gen.size + 1024:  # ids 0..n-1, as the maps here give: a count, no sort
            return int(np.count_nonzero(np.bincount(gen)))
        return int(np.unique(gen).size)

    @classmethod
    def private(cls, n: int) -> "SharingMap":
        """Every stream has its own generator (no sharing, most independent, most area)."""
        _check_count(n)
        return cls(np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64))

    @classmethod
    def shared(cls, n: int, degree: int, decorrelate: bool | str = True) -> "SharingMap":
        """Consecutive groups of `degree` streams share one generator.

        decorrelate: "rotate" (or True): member j sees the output rotated by j bits (members
        j and j + width coincide, so keep degree <= width); "xor": member j sees it XORed
        with a fixed pseudo-random 16-bit mask (member 0 unmasked); False / "none": all
        members see the same numbers.
        """
        _check_count(n)
        if not is_int(degree) or degree < 1:
            raise InvalidInputError(f"sharing degree {degree!r} must be a positive integer.")
        scheme = "rotate" if decorrelate is True else "none" if decorrelate is False else decorrelate
        if scheme not in DECORRELATE:
            raise InvalidInputError(f"decorrelate={decorrelate!r} is unknown; use one of {', '.join(DECORRELATE)}.")
        degree = int(min(degree, max(n, 1)))  # a group past the last stream: the same map, nothing allocated
        idx = np.arange(n, dtype=np.int64)
        member = idx % degree
        zeros = np.zeros(n, dtype=np.int64)
        if scheme == "xor":
            return cls(idx // degree, zeros, member_masks(degree)[member])
        return cls(idx // degree, member if scheme == "rotate" else zeros)

    @classmethod
    def single(cls, n: int) -> "SharingMap":
        """All streams compare against one generator, unrotated: pairwise SCC = +1."""
        _check_count(n)
        return cls.shared(n, max(int(n), 1), decorrelate=False)

    def check(self, n_streams: int) -> None:
        """Raise if the map does not cover exactly `n_streams` streams."""
        if self.n_streams != n_streams:
            raise InvalidInputError(
                f"sharing map covers {self.n_streams} streams but {n_streams} values were given; "
                "build the map for values.size streams.")

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"generator": self.generator.tolist(), "rotation": self.rotation.tolist(), "mask": self.mask.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "SharingMap":
        """Inverse of to_dict."""
        return cls(np.asarray(d["generator"]), np.asarray(d["rotation"]),
                   np.asarray(d["mask"]) if "mask" in d else None)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, SharingMap)
                and np.array_equal(self.generator, other.generator)
                and np.array_equal(self.rotation, other.rotation) and np.array_equal(self.mask, other.mask))
