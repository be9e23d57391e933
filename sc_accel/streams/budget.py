"""Memory budget of the stream core: a request whose arrays cannot fit is refused before anything
is allocated (numpy reserves lazily, so an oversized array is not a MemoryError but a process the
OS kills once the kernel writes to it)."""

from __future__ import annotations

import os

from sc_accel.errors import InvalidInputError

__all__ = ["MemoryLimitError", "USABLE_FRACTION", "available_bytes", "check_fits", "fits", "format_bytes",
           "usable_bytes"]

USABLE_FRACTION = 0.6  # of the memory available now; the rest is left to torch, numba and the OS


class MemoryLimitError(InvalidInputError):
    """The request cannot fit in this machine's memory; the message names the figures."""


def available_bytes() -> int:
    """Memory available to new allocations (MemAvailable on Linux, else physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def usable_bytes() -> int:
    """The part of the available memory one request may take."""
    return int(USABLE_FRACTION * available_bytes())


def fits(nbytes: int) -> bool:
    """Whether `nbytes` fit in the usable memory."""
    return nbytes <= usable_bytes()


def check_fits(nbytes: int, what: str, hint: str) -> None:
    """Raise MemoryLimitError (one sentence: `what` needs ..., `hint`) when `nbytes` do not fit."""
    budget = usable_bytes()
    if nbytes > budget:
        raise MemoryLimitError(f"{what} needs about {format_bytes(nbytes)} but {format_bytes(budget)} is usable "
                               f"here; {hint}.")


def format_bytes(n: int) -> str:
    """`n` bytes as GiB (from 0.25 GiB) or MiB."""
    return f"{n / 2**30:.2f} GiB" if n >= 2**28 else f"{n / 2**20:.1f} MiB"
