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

import numba
import numpy as np
from numba import njit, prange

from benchmarks.common import best_time, print_result, print_table
from sc_accel.kernels.bitops import U0, popcount64
from sc_accel.kernels.dot import _and_count, sc_matmul, tile4x4
from sc_accel.streams import encode, unpack_bits

TARGETS = {"x_torch_per_cycle": 100.0, "x_numpy_bool": 10.0, "frac_roofline": 0.5}


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


def roofline(seconds: float = 0.5) -> float:
    """Peak AND + popcount bit-MACs/s on L1-resident data, max over two microkernels."""
    threads = numba.get_num_threads()
    rng = np.random.default_rng(0)
    span = 256
    rows = rng.integers(0, 2**63, (threads, 8, span + 64), dtype=np.uint64)
    out = np.zeros(threads, dtype=np.uint64)
    best = 0.0
    for kernel, per_rep in ((_roof_tile, 16), (_roof_pair, 1)):
        kernel(rows, span, 1, out)
        reps = max(1, int(seconds * 1e9 / (per_rep * span * 64)))
        dt = best_time(lambda: kernel(rows, span, reps, out), 5)
        best = max(best, threads * reps * per_rep * span * 64 / dt)
    return best


def popcount_instructions() -> dict:
    """Which popcount instructions LLVM emitted for the tile kernel on this CPU."""
    def probe(r, acc):
        tile4x4(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], acc)

    def scalar(x):
        return popcount64(x)

    f = njit(probe)  # uncached twins so the assembly can be read
    f(np.zeros((8, 64), dtype=np.uint64), np.zeros((4, 4), dtype=np.uint64))
    g = njit(scalar)
    g(np.uint64(3))
    asm = "\n".join(f.inspect_asm().values())
    scalar_asm = "\n".join(g.inspect_asm().values())
    count = lambda op, text=asm: len(re.findall(rf"\b{op}[qlw]?\b", text))
    return {"scalar_popcnt": count("popcnt", scalar_asm), "tile_popcnt": count("popcnt"),
            "tile_vpopcntq": count("vpopcntq"),
            "tile_vpshufb_lookup": min(count("vpshufb"), count("vpsadbw"))}


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
    t_packed = best_time(lambda: sc_matmul(w, x, length), 7)
    packed = m * positions * k * length / t_packed

    w_bool, x_bool = unpack_bits(w, length), unpack_bits(x[:sub_pos], length)
    ref = numpy_bool_counts(w_bool, x_bool)
    t_bool = best_time(lambda: numpy_bool_counts(w_bool, x_bool), 2)
    nbool = m * sub_pos * k * length / t_bool
    partial = sc_matmul(w[..., :sub_cycles // 64], x[:sub_pos, :, :sub_cycles // 64], sub_cycles)
    torch_counts = torch_per_cycle_counts(w_bool, x_bool, sub_cycles)
    t_torch = best_time(lambda: torch_per_cycle_counts(w_bool, x_bool, sub_cycles), 2)
    ntorch = m * sub_pos * k * sub_cycles / t_torch
    roof = roofline(0.2 if quick else 0.5)
    agree = bool(np.array_equal(ref, counts[:, :sub_pos]) and np.array_equal(torch_counts, partial))
    insn = popcount_instructions()

    figures = {
        "packed_bitmacs_per_s": packed, "numpy_bool_bitmacs_per_s": nbool,
        "torch_per_cycle_bitmacs_per_s": ntorch, "roofline_bitmacs_per_s": roof,
        "x_torch_per_cycle": packed / ntorch, "x_numpy_bool": packed / nbool,
        "frac_roofline": packed / roof, "threads": numba.get_num_threads(),
        "counts_agree": agree, **{f"asm_{k_}": v for k_, v in insn.items()},
    }
    rows = [("packed AND+popcount (numba)", f"{packed / 1e9:.2f}", "1.00"),
            ("numpy bool per bit", f"{nbool / 1e9:.3f}", f"{packed / nbool:.0f}x"),
            ("torch float per bit, per cycle", f"{ntorch / 1e9:.4f}", f"{packed / ntorch:.0f}x"),
            ("roofline (L1-resident tile)", f"{roof / 1e9:.2f}", f"{packed / roof:.0%} of it")]
    print(f"conv dot product: {m} outputs x {k} inputs x {positions} positions, L = {length}, "
          f"{figures['threads']} threads")
    print_table(rows, ("kernel", "G bit-MAC/s", "packed is"))
    print(f"counts agree across kernels: {agree}; popcount instructions in the tile kernel: {insn}")
    met = agree and all(figures[key] >= val for key, val in TARGETS.items())
    print_result("sc_kernels", figures, TARGETS, met)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: `python -m benchmarks.sc_kernels [--quick]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for smoke tests")
    run(parser.parse_args(argv).quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
