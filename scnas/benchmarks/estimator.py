"""Estimator throughput: (layer, accelerator) evaluations per second in batch mode.

Target (issue "The shared hardware latency/energy/area estimator"): >= 100,000 layer
evaluations per second on this machine, so the estimator can sit inside a search loop
(the issue's reference point: MAESTRO, the common analytic model, takes about 1 ms per
layer in process). Baseline in the same process: the same pairs scored one call each
(`evaluate_pairs` with one pair), which is what a naive search loop would do.

Workload: the layers of ResNet-20, LeNet-5 and MobileNet crossed with random systolic,
spatial and SC configurations (PE shape, dataflow, buffer, bandwidth, stream length).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sc_accel.hw import evaluate, evaluate_pairs, pack_accels, pack_layers, sc_array, spatial, systolic, workload
from scnas.benchmarks.common import best_time, print_result, print_table
from scnas.zoo import create_model

TARGETS = {"evals_per_s_min": 500_000}


def _pairs(n: int, seed: int = 0) -> tuple[list, list]:
    layers = (workload(create_model("resnet20", 3, 10, 32), (1, 3, 32, 32))
              + workload(create_model("lenet5", 1, 10, 28), (1, 1, 28, 28))
              + workload(create_model("mobilenet", 3, 10, 32), (1, 3, 32, 32)))
    rng = np.random.default_rng(seed)
    accels = []
    for i in range(64):
        r, c = (int(x) for x in rng.choice([4, 8, 16, 32, 64], 2))
        mem = dict(gbuf_kib=float(rng.choice([32, 128, 512])), dram_bytes_per_cycle=float(rng.choice([4, 16, 64])))
        kind = i % 3
        df = i // 3 % 3
        # SC designs draw the cost options too: weight streams, SNG sharing scope, EDT
        sc_opts = dict(weight_stream=str(rng.choice(["regen", "buffer"])) if df < 2 else None,
                       sng_share=str(rng.choice(["lane", "row", "column", "array"])),
                       edt_fraction=float(rng.choice([1.0, 0.6])))
        accels.append(systolic(r, c, ["ws", "os", "is"][df], **mem) if kind == 0 else
                      spatial(r, c, ["kcp", "rs", "os"][df], **mem) if kind == 1 else
                      sc_array(r, c, ["kcp", "rs", "os"][df], stream_length=int(rng.choice([64, 256, 1024])),
                               share=int(rng.choice([1, 4, 16])), **sc_opts, **mem))
    idx_l = rng.integers(0, len(layers), n)
    idx_a = rng.integers(0, len(accels), n)
    return [layers[i] for i in idx_l], [accels[i] for i in idx_a]


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table and the JSON line; exit 0 whether or not targets are met."""
    ap = argparse.ArgumentParser(prog="scnas bench estimator")
    ap.add_argument("--quick", action="store_true", help="fewer pairs")
    args = ap.parse_args(argv)
    n = 20_000 if args.quick else 200_000
    layers, accels = _pairs(n)
    t0 = time.perf_counter()
    lay, acc = pack_layers(layers), pack_accels(accels, [layer.name for layer in layers])
    pack_s = time.perf_counter() - t0
    evaluate(lay, acc)  # warm-up
    eval_s = best_time(lambda: evaluate(lay, acc), repeats=3)
    n_single = 300 if args.quick else 2000
    single_s = best_time(lambda: [evaluate_pairs([layer], [accel])
                                  for layer, accel in zip(layers[:n_single], accels[:n_single])], 1)
    batch_rate = n / eval_s
    packed_rate = n / (eval_s + pack_s)
    single_rate = n_single / single_s
    print_table([
        ("pairs in the batch", f"{n:,}", ""),
        ("batch evaluate (packed arrays)", f"{batch_rate:,.0f} /s", f"{1e6 / batch_rate:.2f} us per layer"),
        ("batch incl. packing from objects", f"{packed_rate:,.0f} /s", f"packing {pack_s:.2f} s"),
        ("one pair per call (baseline)", f"{single_rate:,.0f} /s", f"{1e6 / single_rate:.0f} us per layer"),
        ("batch / one-per-call", f"{batch_rate / single_rate:.0f}x", ""),
        ("vs MAESTRO ~1 ms per layer", f"{batch_rate / 1000:.0f}x", "reference figure from the issue"),
    ], ("figure", "value", "note"))
    figures = {"pairs": n, "evals_per_s": batch_rate, "evals_per_s_with_packing": packed_rate,
               "single_call_evals_per_s": single_rate, "speedup_vs_single": batch_rate / single_rate}
    print_result("estimator", figures, TARGETS, batch_rate >= TARGETS["evals_per_s_min"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
