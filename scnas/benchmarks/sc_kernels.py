"""AND + popcount kernel throughput against bool-per-bit and per-cycle float baselines.

Workload: a conv-sized dot product, 64 output channels x 576 inputs (3x3x64) at L = 1024,
over `positions` output pixels; rates are bit-MACs per second (one AND + one counter
increment per bit). Baselines, all in this process:
- numpy bool: one bool per bit, AND then count_nonzero (how bool-array simulators work);
- torch per-cycle: one float per bit and a Python loop over the L cycles, AND as a
  product and accumulation in float counters (how common PyTorch SC simulators work);
- roofline: the same AND + popcount tile on rows that sit in L1, all threads; the best
  this machine does with this instruction mix.
Baselines run on fewer positions/cycles (rates do not depend on it) and their counts are
checked against the packed kernel on the same slice.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

import numba
import numpy as np
from numba import njit, prange

from sc_accel.bits import U0, popcount64, unpack_bits
from sc_accel.kernels.dot import _and_count, sc_matmul, tile4x4
from sc_accel.kernels.window import window_tile
from sc_accel.streams import bank_cache, encode
from sc_accel.streams.bank import build_bank, encode_thresholds, role_generator_ids
from scnas.benchmarks.common import best_time, ceiling_checked, cpu_name, print_result, print_table, timed_rate

TARGETS = {"x_torch_per_cycle": 100.0, "x_numpy_bool": 10.0, "frac_roofline": 0.5,
           "batch1_thread_scaling": 0.75, "encode_public_vs_kernel": 0.25}


@njit(parallel=True, cache=True)
def _roof_tile(rows, span, reps, out):
    for th in prange(rows.shape[0]):
        acc = np.zeros((4, 4), dtype=np.uint64)
        r8 = rows[th]
        for r in range(reps):
            o = (r * 8) % (rows.shape[2] - span + 1)   # moving window: nothing to hoist
            tile4x4(r8[0, o:o + span], r8[1, o:o + span], r8[2, o:o + span], r8[3, o:o + span],
                    r8[4, o:o + span], r8[5, o:o + span], r8[6, o:o + span], r8[7, o:o + span], acc)
        out[th] = acc.sum()


@njit(parallel=True, cache=True)
def _roof_pair(rows, span, reps, out):
    for th in prange(rows.shape[0]):
        c = U0
        for r in range(reps):
            o = (r * 8) % (rows.shape[2] - span + 1)
            c += _and_count(rows[th, 0, o:o + span], rows[th, 1, o:o + span])
        out[th] = c


@njit(parallel=True, cache=True)
def _roof_window(rows, span, reps, out):
    """The conv kernel (window_tile): 4 x 4 products over WINDOW_ROWS rows of `span` words each."""
    for th in prange(rows.shape[0]):
        acc = np.zeros(16, dtype=np.uint64)
        flat = rows[th].reshape(-1)
        width = rows.shape[2]
        rowoff = np.arange(WINDOW_ROWS) * span
        pos, wofs = np.zeros(4, dtype=np.int64), np.zeros(4, dtype=np.int64)
        for r in range(reps):
            o = (r * 8) % (width - WINDOW_ROWS * span - 31)  # moving window: nothing to hoist
            for i in range(4):  # positions overlap, as neighbouring pixels do: all of it sits in L1
                pos[i] = o + 8 * i
                wofs[i] = (1 + i) * width + o
            window_tile(flat, rowoff, WINDOW_ROWS, pos, flat, wofs, 4, span, acc)
        out[th] = acc.sum()


WINDOW_ROWS = 3  # rows of the conv kernel's window in the ceiling: a 3 x 3 kernel's three kernel rows


def roofline_stats(min_seconds: float = 0.05, repeats: int = 7, span: int = 256) -> dict:
    """AND + popcount bit-MACs/s on L1-resident data, all threads, for the best of three
    microkernels over rows of `span` words: numba's 4 x 4 tile on one row, a pair on one row,
    and the conv kernel (window_tile) over a window of WINDOW_ROWS such rows, its counters
    summed once per window as in a conv. Every timed call lasts at least `min_seconds` (sized
    from a measured rate), and best / median / worst over `repeats` calls are returned (the
    ceiling is the best)."""
    threads = numba.get_num_threads()
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 2**63, (threads, 8, WINDOW_ROWS * span + 64), dtype=np.uint64)
    out = np.zeros(threads, dtype=np.uint64)
    stats = None
    for kernel, per_rep in ((_roof_tile, 16), (_roof_pair, 1), (_roof_window, 16 * WINDOW_ROWS)):
        kernel(rows, span, 1, out)
        s = timed_rate(lambda reps, k=kernel: k(rows, span, reps, out), threads * per_rep * span * 64,
                       min_seconds, repeats)
        if stats is None or s["best"] > stats["best"]:
            stats = s
    return stats


def kernel_path() -> str:
    """Which popcount the conv kernel (window_tile) and numba's tile compile to here, in words."""
    insn = popcount_instructions()
    window, tile = _path_words(insn, "window"), _path_words(insn, "tile")
    return window if window == tile else f"window kernel: {window}; numba tile: {tile}"


def popcount_instructions() -> dict:
    """Which popcount instructions LLVM emitted on this CPU for numba's tile kernel (tile_*) and
    for the conv and matmul kernel, window_tile (window_*)."""
    def probe(r, acc):
        tile4x4(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], acc)

    def window(flat, offs, acc):
        window_tile(flat, offs[:1], 1, offs, flat, offs, 4, 64, acc)

    def scalar(x):
        return popcount64(x)

    f = njit(probe)  # uncached twins so the assembly can be read
    f(np.zeros((8, 64), dtype=np.uint64), np.zeros((4, 4), dtype=np.uint64))
    h = njit(window)
    h(np.zeros(128, dtype=np.uint64), np.zeros(4, dtype=np.int64), np.zeros(16, dtype=np.uint64))
    g = njit(scalar)
    g(np.uint64(3))
    asm = "\n".join(f.inspect_asm().values())
    window_asm = "\n".join(h.inspect_asm().values())
    scalar_asm = "\n".join(g.inspect_asm().values())
    count = lambda op, text=asm: len(re.findall(rf"\b{op}[qlw]?\b", text))
    return {"scalar_popcnt": count("popcnt", scalar_asm), "tile_popcnt": count("popcnt"),
            "tile_vpopcntq": count("vpopcntq"),
            "tile_vpshufb_lookup": min(count("vpshufb"), count("vpsadbw")),
            "window_popcnt": count("popcnt", window_asm), "window_vpopcntq": count("vpopcntq", window_asm),
            "window_vpshufb_lookup": min(count("vpshufb", window_asm), count("vpsadbw", window_asm))}


def _path_words(insn: dict, kernel: str) -> str:
    if insn[f"{kernel}_vpopcntq"]:
        return "AVX-512 VPOPCNTQ (vector popcount)"
    if insn[f"{kernel}_vpshufb_lookup"]:
        return "vector nibble lookup (VPSHUFB + VPSADBW)"
    if insn[f"{kernel}_popcnt"]:
        return "scalar POPCNT"
    return "no popcount instruction found (bit-trick fallback)"


def _dropping(call: Callable[[int], object]) -> Callable[[int], None]:
    """fn(reps) that makes `reps` calls and keeps no result, as a loop over batches would: a timed
    call that kept every batch's streams would time fresh pages for each (page faults), not
    encoding."""
    def run(reps: int) -> None:
        for i in range(reps):
            call(i)
    return run


def _encode_rates(k: int, positions: int, length: int, quick: bool) -> dict:
    """Stream bits made per second by the public encode() (one private LFSR per value), batch
    after batch with the same seed (new values each call; its bank cache serves the generator
    outputs) and on a first call (nothing cached), and by an SNG bank's threshold table (what
    emulate() uses), on the benchmark's input streams."""

    rng = np.random.default_rng(1)
    batches = [rng.random((positions, k)) for _ in range(3)]  # new values each call, same generators
    v = batches[0]
    bits = v.size * length
    bank_cache.clear()
    cold = timed_rate(_dropping(lambda i: (bank_cache.clear(), encode(v, length, "lfsr", seed=2))), bits, 0.05,
                      3)["median"]
    public = timed_rate(_dropping(lambda i: encode(batches[i % 3], length, "lfsr", seed=2)), bits, 0.05,
                        3 if quick else 5)["median"]
    ids = role_generator_ids("lfsr", 10, 2, 0, k)
    bank, src = build_bank("lfsr", length, 10, 2, ids, np.zeros(k, np.int64))
    thr = np.rint(v * 1024).astype(np.int64).reshape(-1)
    srcs = np.tile(src, positions)
    bank_rate = timed_rate(_dropping(lambda i: encode_thresholds(thr, srcs, bank)), bits, 0.05,
                           3 if quick else 5)["median"]
    return {"public": public, "cold": cold, "bank": bank_rate}


def numpy_bool_counts(w_bool: np.ndarray, x_bool: np.ndarray) -> np.ndarray:
    """(M, K, L) x (P, K, L) bools -> (M, P) counts, one bool per bit."""
    out = np.empty((w_bool.shape[0], x_bool.shape[0]), dtype=np.int64)
    for p in range(x_bool.shape[0]):
        out[:, p] = np.count_nonzero(w_bool & x_bool[p], axis=(1, 2))
    return out


def torch_per_cycle_counts(w_bool: np.ndarray, x_bool: np.ndarray, cycles: int) -> np.ndarray:
    """Float per bit, loop over cycles: AND as product, float counters."""
    import torch

    w = torch.from_numpy(w_bool[..., :cycles].astype(np.float32))  # (M, K, T)
    x = torch.from_numpy(x_bool[..., :cycles].astype(np.float32))  # (P, K, T)
    acc = torch.zeros(w.shape[0], x.shape[0])
    for t in range(cycles):
        acc += (w[:, None, :, t] * x[None, :, :, t]).sum(-1)
    return acc.numpy().astype(np.int64)


def run(quick: bool = False) -> dict:
    """Measure everything, print the table and the JSON line; return the figures."""
    import torch

    torch.set_num_threads(numba.get_num_threads())
    m, k, length = 64, 576, 1024
    positions, sub_pos, sub_cycles = (32, 2, 64) if quick else (256, 8, 256)
    rng = np.random.default_rng(0)
    w = encode(rng.random((m, k)), length, "lfsr", seed=1)
    x = encode(rng.random((positions, k)), length, "lfsr", seed=2)
    counts = sc_matmul(w, x, length)
    packed_stats = timed_rate(lambda reps: [sc_matmul(w, x, length) for _ in range(reps)],
                              m * positions * k * length, 0.05, 5 if quick else 7)
    packed = packed_stats["median"]
    x1 = x[:1]
    sc_matmul(w, x1, length)
    batch1 = timed_rate(lambda reps: [sc_matmul(w, x1, length) for _ in range(reps)], m * k * length,
                        0.05, 5)["median"]
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    batch1_one = timed_rate(lambda reps: [sc_matmul(w, x1, length) for _ in range(reps)], m * k * length,
                            0.05, 5)["median"]
    numba.set_num_threads(threads)
    enc = _encode_rates(k, positions, length, quick)

    w_bool, x_bool = unpack_bits(w, length), unpack_bits(x[:sub_pos], length)
    ref = numpy_bool_counts(w_bool, x_bool)
    t_bool = best_time(lambda: numpy_bool_counts(w_bool, x_bool), 2)
    nbool = m * sub_pos * k * length / t_bool
    partial = sc_matmul(w[..., :sub_cycles // 64], x[:sub_pos, :, :sub_cycles // 64], sub_cycles)
    torch_counts = torch_per_cycle_counts(w_bool, x_bool, sub_cycles)
    t_torch = best_time(lambda: torch_per_cycle_counts(w_bool, x_bool, sub_cycles), 2)
    ntorch = m * sub_pos * k * sub_cycles / t_torch
    roof_stats = roofline_stats(0.05, 5 if quick else 7)
    roof = roof_stats["best"]
    agree = bool(np.array_equal(ref, counts[:, :sub_pos]) and np.array_equal(torch_counts, partial))
    insn = popcount_instructions()

    figures = {
        "packed_bitmacs_per_s": packed, "numpy_bool_bitmacs_per_s": nbool,
        "torch_per_cycle_bitmacs_per_s": ntorch, "roofline_bitmacs_per_s": roof,
        "x_torch_per_cycle": packed / ntorch, "x_numpy_bool": packed / nbool,
        "frac_roofline": packed / roof, "threads": numba.get_num_threads(),
        "packed_best_bitmacs_per_s": packed_stats["best"], "packed_worst_bitmacs_per_s": packed_stats["worst"],
        "batch1_bitmacs_per_s": batch1, "batch1_vs_batch": batch1 / packed,
        "batch1_thread_scaling": batch1 / batch1_one / threads,
        "encode_public_bits_per_s": enc["public"], "encode_bank_bits_per_s": enc["bank"],
        # time of the kernel that consumes the input streams / time to encode them (>= 0.25: encoding
        # the inputs costs at most 4x the products they feed)
        "encode_public_vs_kernel": m * enc["public"] / packed, "encode_bank_vs_kernel": m * enc["bank"] / packed,
        "encode_first_call_bits_per_s": enc["cold"], "encode_first_call_vs_kernel": m * enc["cold"] / packed,
        "roofline_median_bitmacs_per_s": roof_stats["median"], "roofline_worst_bitmacs_per_s": roof_stats["worst"],
        "roofline_seconds_per_call": roof_stats["seconds_per_call"], "cpu": cpu_name(), "kernel_path": kernel_path(),
        "counts_agree": agree, **{f"asm_{k_}": v for k_, v in insn.items()},
    }
    rows = [("packed AND+popcount (numba), median", f"{packed / 1e9:.2f}", "1.00"),
            ("  best / worst of the calls", f"{packed_stats['best'] / 1e9:.0f} / {packed_stats['worst'] / 1e9:.0f}",
             f"{packed_stats['seconds_per_call'] * 1e3:.0f} ms per call"),
            ("batch 1: one input against 64 weight rows", f"{batch1 / 1e9:.2f}",
             f"{batch1 / packed:.0%} of batch; {batch1 / batch1_one:.2f}x one thread"),
            ("encode(lfsr) of the inputs, public API, batch after batch", f"{enc['public'] / 1e9:.2f} Gbit/s",
             f"kernel/encode time {m * enc['public'] / packed:.2f}"),
            ("  first call with new generators (nothing cached)", f"{enc['cold'] / 1e9:.2f} Gbit/s",
             f"kernel/encode time {m * enc['cold'] / packed:.2f}"),
            ("encode of the inputs, SNG bank table", f"{enc['bank'] / 1e9:.2f} Gbit/s",
             f"kernel/encode time {m * enc['bank'] / packed:.2f}"),
            ("numpy bool per bit", f"{nbool / 1e9:.3f}", f"{packed / nbool:.0f}x"),
            ("torch float per bit, per cycle", f"{ntorch / 1e9:.4f}", f"{packed / ntorch:.0f}x"),
            ("roofline (L1-resident tile), best", f"{roof / 1e9:.2f}", f"{packed / roof:.0%} of it"),
            ("  median / worst of the calls", f"{roof_stats['median'] / 1e9:.0f} / {roof_stats['worst'] / 1e9:.0f}",
             f"{roof_stats['seconds_per_call'] * 1e3:.0f} ms per call")]
    print(f"CPU: {figures['cpu']}; kernel path: {figures['kernel_path']}")
    print(f"conv dot product: {m} outputs x {k} inputs x {positions} positions, L = {length}, "
          f"{figures['threads']} threads")
    print_table(rows, ("kernel", "G bit-MAC/s", "packed is"))
    print(f"counts agree across kernels: {agree}; popcount instructions in the tile kernel: {insn}")
    sane = ceiling_checked(figures["frac_roofline"], "the packed kernel")  # said whatever else failed
    met = sane and agree and all(figures[key] >= val for key, val in TARGETS.items())
    print_result("sc_kernels", figures, TARGETS, met)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: `python -m scnas.benchmarks.sc_kernels [--quick]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for smoke tests")
    run(parser.parse_args(argv).quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
