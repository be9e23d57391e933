"""How much memory a bit-true run needs, checked before anything is allocated.

A bit-true model holds its weight streams and, per conversion, one generator sequence and
bit planes per SNG source; a batch adds the streams of every conversion of every image. All
grow with the stream length L, so a long L on a real network can need far more memory than
the machine has. `fit_batch` refuses a request whose fixed part cannot fit, naming the
figure, and otherwise picks the largest batch (up to the configured one) that fits; the
batch size never changes the bits, so results stay the same.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import os

import numpy as np

from sc_accel.bits import n_words
from sc_accel.nn.config import SCConfig
from sc_accel.graph import LayerGraph
from sc_accel.nn.plan import Plan
from sc_accel.streams.budget import USABLE_FRACTION, MemoryLimitError, available_bytes, format_bytes
from sc_accel.streams.generators import default_width

__all__ = ["MemoryLimitError", "available_bytes", "bit_memory", "fit_batch", "USABLE_FRACTION", "MAP_BYTES",
           "reuse_freed_memory", "KEEP_FREED_BYTES"]

# per stream site (activation site or weight) for its sharing map: generator id, rotation and mask,
# wiring code, source index, and the (id, wiring) pairs and sort of np.unique (int64 each)
MAP_BYTES = 8 * 8


def _sites(shape: tuple[int, ...], pool: tuple[int, int] | None) -> int:
    """SNG sites of a conversion: one per element, one per pooling window when pooled in streams."""
    if pool is None or len(shape) != 3:
        return math.prod(shape)
    c, h, w = shape
    k, s = pool
    return c * ((h - k) // s + 1) * ((w - k) // s + 1)


def bit_memory(graph: LayerGraph, plan: Plan, cfg: SCConfig) -> tuple[int, int]:
    """(bytes held whatever the batch, bytes per image in a batch) of a bit-true run.

    Every setting that allocates is covered: L and the comparator width (sequences, planes,
    streams), and `share`, whose sharing maps take MAP_BYTES per site and weight whatever the
    degree (a group is never wider than the sites it covers, see SharingMap.shared); sharing
    only merges sources, so one source per site is an upper bound at any `share`."""
    L = cfg.max_stream_length  # per-layer lengths: budget for the longest everywhere (an upper bound)
    width = max(cfg.comparator_width, default_width(L),
                max((cfg.for_layer(n).comparator_width for n in cfg.layers), default=0))
    words = n_words(L)
    weights = sum(int(np.asarray(graph.by_name[name].attrs["weight"]).size) for name in plan.macs)
    fixed = weights * (words * 8 * 2 + MAP_BYTES)  # streams, plus their sources while they are made
    per_image = 0
    for conv in plan.conversions.values():
        sources = _sites(conv.shape, conv.pool)
        fixed += sources * (L * 8 + width * words * 8)  # generator sequence and bit planes
        fixed += math.prod(conv.shape) * MAP_BYTES  # the sharing map and source index of every element
        parts = 2 if conv.signed else 1
        per_image += math.prod(conv.shape) * words * 8 * parts * 2  # streams and their padded copy
    return fixed, per_image


def fit_batch(graph: LayerGraph, plan: Plan, cfg: SCConfig, available: int | None = None) -> int:
    """The batch size to run `cfg` with: cfg.batch_size, or fewer images when that many would
    not fit; a MemoryLimitError when not even one image fits."""
    budget = int(USABLE_FRACTION * (available_bytes() if available is None else available))
    fixed, per_image = bit_memory(graph, plan, cfg)
    if fixed + per_image > budget:
        raise MemoryLimitError(
            f"a bit-true run at L={cfg.max_stream_length} needs about {format_bytes(fixed + per_image)} "
            f"({format_bytes(fixed)} for SNG sources and weight streams, {format_bytes(per_image)} per image) but "
            f"{format_bytes(budget)} is usable here; use a shorter stream, more SNG sharing or mode='expected'.")
    return max(1, min(cfg.batch_size, (budget - fixed) // max(per_image, 1)))


KEEP_FREED_BYTES = 1 << 30  # freed memory glibc keeps for reuse instead of returning it to the system
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
_MMAP_THRESHOLD_MAX = 32 << 20  # glibc's ceiling for M_MMAP_THRESHOLD on 64-bit


@functools.cache
def reuse_freed_memory() -> bool:
    """Ask glibc to serve a bit-true run's per-batch buffers from memory it already holds.

    Why: every batch allocates and frees tens of MB (thresholds, counts, stream buffers). By
    default glibc gives blocks above a moving threshold their own mapping and returns freed
    memory to the system, so each batch touches fresh pages, and a page fault per 4 KiB costs
    a third of the run time at L = 64-256 on a VM (measured on ResNet-20). Blocks up to 32 MB
    now come from the heap, and up to KEEP_FREED_BYTES of freed memory is kept: the peak is
    unchanged, the process just keeps it until it exits. Process-wide, done once, on Linux
    with glibc only; SC_ACCEL_MALLOC=default leaves the allocator alone. True if applied."""
    applied = False
    name = ctypes.util.find_library("c")
    if os.environ.get("SC_ACCEL_MALLOC", "") != "default" and name and "libc.so" in name:
        try:
            mallopt = ctypes.CDLL(name).mallopt
        except (OSError, AttributeError):  # not glibc (musl has no mallopt)
            mallopt = None
        if mallopt is not None:
            applied = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)) and bool(
                mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES))
    return applied
