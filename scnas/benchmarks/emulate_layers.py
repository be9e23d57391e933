"""Bit-true emulation of a deep network, layer kind by layer kind: what limits it.

`scnas bench emulate --model resnet20 --stream-length 64,256,1024` prints, per stream length:
- per layer kind (conv k x k stride s, linear, and the binary ops): time, bit-MACs/s and the
  share of the tile ceiling measured at the same L in this process;
- where the time goes: stream generation (the comparator inside the fused conv kernel, timed
  by running it alone on the same inputs), AND + popcount tiles, value -> threshold, counter ->
  value (negative-tap correction, scale, bias), residual adds, ReLU, pooling, and what is left
  (batching, graph walk, Python);
- convert time (250 calibration images), the first batch after a convert against the steady
  state (after one whole batch at the same L from another convert: the process's first touch of
  a batch's memory, slow on a VM, is paid once per process, not per convert, and the bit
  backend keeps freed memory for reuse), three timed runs (median and spread), and batch 1
  (latency) on all threads against one.
A last block runs the whole 10,000-image test set once at L = 256 (convert + run).

The tile ceiling at L: the best of the suite's AND + popcount kernels on L1-resident rows of
the length a 3 x 3 kernel row over 16 channels has at L (3 * 16 * L / 64 words, the shortest
row ResNet-20's convs give; at most 256 words): numba's 4 x 4 tile and a pair on one row, and
the conv kernel (window_tile) over a window of three such rows, its counters summed once per
window as in a conv. Best of five calls measured just before each timed run
(scnas.benchmarks.sc_kernels.roofline_stats): a neighbour on a shared machine slows both alike.
Targets (issue "emulation as fast on deep networks"): at least 60% of it at L = 256 and 1024,
45% at L = 64; 10,000 images at L = 256 in under 40 s with under 4 GB; convert under 0.5 s; a
first batch at most 1.2x the steady state.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections import defaultdict

import numba
import torch

import sc_accel.nn.backends as backends
from sc_accel.graph import Layer
from sc_accel.nn import SCConfig, convert
from scnas.benchmarks.common import bit_macs, ceiling_checked, cpu_name, data, model_of, print_result, print_table
from scnas.benchmarks.sc_kernels import kernel_path, roofline_stats
from scnas.commands.common import BadArgument, parse_list

TARGETS = {"frac_ceiling_L64": 0.45, "frac_ceiling_L256": 0.60, "frac_ceiling_L1024": 0.60,
           "seconds_10k_L256_max": 40.0, "peak_rss_gb_max": 4.0, "convert_seconds_max": 0.5,
           "first_batch_vs_steady_max": 1.2}
RUNS = 3
CALIB = 250  # calibration images of the timed convert


def ceiling_span(length: int) -> int:
    """Words per tile row at the shortest kernel row ResNet-20 gives: 3 x 16 channels at L."""
    return int(min(256, 3 * 16 * ((length + 63) // 64)))


def layer_kind(layer: Layer) -> str:
    """'conv 3x3 s1', 'linear', or the op name of a binary layer."""
    if layer.op == "conv":
        kh, kw = layer.attrs["weight"].shape[2:]
        return f"conv {kh}x{kw} s{layer.attrs['stride'][0]}" + (" grouped" if layer.attrs["groups"] > 1 else "")
    return layer.op


class Profile:
    """Per-layer wall time (between the model's observe calls) and, inside MAC layers, the time
    of the fused kernel, of its encoding alone (a second call, taken off the clock), of the
    value -> threshold pass, of streams made whole (linear inputs, pooled conversions), of
    pooling in streams and of the linear kernel. Installed by patching the backend
    module's names for the duration of one profiled run."""

    def __init__(self) -> None:
        self.layers: dict[str, float] = defaultdict(float)
        self.parts: dict[str, float] = defaultdict(float)
        self.total = 0.0
        self._acc: dict[str, float] = defaultdict(float)
        self._last = 0.0
        self._extra = 0.0  # seconds of the encode-only calls, taken off every clock

    def _timed(self, key: str, fn):
        def wrapped(*a, **k):
            t = time.perf_counter()
            out = fn(*a, **k)
            self._acc[key] += time.perf_counter() - t
            if key == "kernel":  # the same streams once more, alone; off the layer's clock
                t1 = time.perf_counter()
                fn(*a, **k, convolve=False)
                dt = time.perf_counter() - t1
                self._acc["encode"] += dt
                self._last += dt
                self._extra += dt
            return out
        return wrapped

    def observe(self, layer: Layer, value: object) -> None:
        now = time.perf_counter()
        kind = layer_kind(layer)
        self.layers[kind] += now - self._last
        if layer.op in ("conv", "linear"):
            kernel = self._acc.pop("kernel", 0.0) + self._acc.pop("linear", 0.0)
            encode = self._acc.pop("encode", 0.0)
            levels = self._acc.pop("levels", 0.0)
            made = self._acc.pop("streams", 0.0)  # streams made whole (linear layers, pooled conversions)
            pooled = self._acc.pop("pool", 0.0)
            self.parts["stream generation (comparator)"] += encode + made
            self.parts["AND + popcount tiles"] += kernel - encode
            self.parts["value -> threshold"] += levels
            self.parts["pooling"] += pooled
            self.parts["counter -> value (correction, scale, bias)"] += ((now - self._last) - kernel - levels - made
                                                                         - pooled)
        else:
            self.parts[{"add": "residual adds", "relu": "ReLU", "maxpool": "pooling", "avgpool": "pooling",
                        "gap": "pooling"}.get(layer.op, "other binary ops")] += now - self._last
        self._last = time.perf_counter()

    def run(self, sc, x: torch.Tensor) -> None:
        """One profiled pass over x (batch by batch, as SCModel does)."""
        keys = {"conv_counts_bank": "kernel", "comparator_levels": "levels", "linear_counts": "linear",
                "encode_thresholds": "streams", "or_pool": "pool", "selector_pool": "pool"}
        saved = {n: getattr(backends, n) for n in keys}
        for name, key in keys.items():
            setattr(backends, name, self._timed(key, saved[name]))
        try:
            t0 = time.perf_counter()
            for b in sc.batches(x):
                self._last = time.perf_counter()
                sc._forward(b.detach().to(torch.float64), None, self.observe)
            self.total += time.perf_counter() - t0 - self._extra
        finally:
            for n, f in saved.items():
                setattr(backends, n, f)
        self.parts["batching, graph walk, Python"] = self.total - sum(self.layers.values())


def _steady(sc, x: torch.Tensor, span: int, runs: int = RUNS) -> tuple[list[float], list[float]]:
    """(seconds of each timed run, the tile ceiling measured just before it): on a shared machine a
    neighbour can take a share of the cores for a while, so each run is set against its own."""
    seconds, ceilings = [], []
    for _ in range(runs):
        ceilings.append(roofline_stats(0.05, 5, span)["best"])
        t = time.perf_counter()
        sc(x)
        seconds.append(time.perf_counter() - t)
    return seconds, ceilings


def _batch1(model, calib: torch.Tensor, x: torch.Tensor, length: int) -> dict:
    """Images/s one image at a time, every thread against one thread (same bits)."""
    sc = convert(model, SCConfig(stream_length=length, batch_size=1), calib)
    sc(x[:2])
    rates = {}
    threads = numba.get_num_threads()
    for n in (threads, 1):
        numba.set_num_threads(n)
        torch.set_num_threads(n)
        t = time.perf_counter()
        sc(x)
        rates[n] = len(x) / (time.perf_counter() - t)
    numba.set_num_threads(threads)
    torch.set_num_threads(threads)
    return {"threads": threads, "images_per_s": rates[threads], "images_per_s_one_thread": rates[1],
            "scaling": rates[threads] / rates[1] / threads}


def measure_length(model, length: int, x: torch.Tensor, calib: torch.Tensor, quick: bool) -> dict:
    """Everything printed for one stream length."""
    cfg = SCConfig(stream_length=length, sng="lfsr", batch_size=250)
    # compile, and a whole batch from another convert first: the process's first touch of a batch's
    # memory (slow on a VM) is paid once per process, and is not what a convert leaves cold
    convert(model, cfg, calib[:8])(x[:cfg.batch_size])
    t = time.perf_counter()
    sc = convert(model, cfg, calib)
    convert_s = time.perf_counter() - t
    first_n = min(len(x), cfg.batch_size)
    t = time.perf_counter()
    sc(x[:first_n])
    first_s = time.perf_counter() - t
    span = ceiling_span(length)
    runs, ceilings = _steady(sc, x, span, 1 if quick else RUNS)
    run_s = statistics.median(runs)
    prof = Profile()
    prof.run(sc, x)
    macs = {layer_kind(l): 0 for l in sc.graph.layers}
    for l in sc.graph.layers:
        macs[layer_kind(l)] += bit_macs(l, length) * len(x)
    roof = max(ceilings)
    total_macs = sum(macs.values())
    shares = sorted(total_macs / r / c for r, c in zip(runs, ceilings))
    kinds = {k: {"seconds": prof.layers[k], "bitmacs_per_s": macs[k] / prof.layers[k] if macs[k] else None,
                 "frac_ceiling": macs[k] / prof.layers[k] / roof if macs[k] else None}
             for k in prof.layers}
    return {"stream_length": length, "images": len(x), "convert_seconds": convert_s,
            "first_batch_vs_steady": first_s / (run_s * first_n / len(x)), "run_seconds": runs,
            "images_per_s": len(x) / run_s, "bitmacs_per_s": total_macs / run_s,
            "ceiling_bitmacs_per_s": roof, "ceiling_span_words": span, "frac_ceiling": statistics.median(shares),
            "frac_ceiling_best": shares[-1], "frac_ceiling_worst": shares[0],
            "kinds": kinds, "breakdown": dict(prof.parts), "profiled_seconds": prof.total,
            "batch1": _batch1(model, calib, x[:20 if not quick else 4], length)}


def full_test_set(model, length: int = 256) -> dict:
    """Convert + run all 10,000 test images once (wall seconds), with this process's peak RSS."""
    x, y, calib, _ = data(10000, CALIB)
    t = time.perf_counter()
    logits = convert(model, SCConfig(stream_length=length, sng="lfsr"), torch.as_tensor(calib))(torch.as_tensor(x))
    seconds = time.perf_counter() - t
    acc = float((logits.argmax(1).numpy() == y).mean()) if y is not None else None
    return {"images": len(x), "stream_length": length, "seconds": seconds, "accuracy": acc,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20}


def _print_length(r: dict) -> None:
    L = r["stream_length"]
    print(f"\nL = {L}: {r['images']} images, {r['images_per_s']:.0f} images/s (median of {len(r['run_seconds'])} runs: "
          + ", ".join(f"{s:.2f}" for s in r["run_seconds"]) + " s); "
          f"{r['frac_ceiling']:.0%} of the L = {L} tile ceiling (median run against the ceiling measured just before "
          f"it, best {r['ceiling_bitmacs_per_s'] / 1e9:.0f} G bit-MAC/s on {r['ceiling_span_words']}-word rows; runs "
          f"{r['frac_ceiling_worst']:.0%}-{r['frac_ceiling_best']:.0%})")
    rows = [(k, f"{v['seconds']:.3f}", "-" if v["bitmacs_per_s"] is None else f"{v['bitmacs_per_s'] / 1e9:.0f}",
             "-" if v["frac_ceiling"] is None else f"{v['frac_ceiling']:.0%}")
            for k, v in sorted(r["kinds"].items(), key=lambda kv: -kv[1]["seconds"])]
    print_table(rows, ("layer kind", "seconds", "G bit-MAC/s", "of ceiling"))
    total = r["profiled_seconds"]
    rows = [(k, f"{v:.3f}", f"{v / total:.0%}") for k, v in sorted(r["breakdown"].items(), key=lambda kv: -kv[1])]
    print_table(rows, ("where the time goes (profiled run)", "seconds", "share"))
    b = r["batch1"]
    print(f"convert {r['convert_seconds']:.2f} s ({CALIB} calibration images); first batch "
          f"{r['first_batch_vs_steady']:.2f}x the steady state; batch 1: {b['images_per_s']:.0f} images/s on "
          f"{b['threads']} threads, {b['images_per_s_one_thread']:.0f} on one ({b['scaling']:.0%} scaling)")


def main(argv: list[str] | None = None) -> int:
    """Print the tables and the JSON line; exit 0 (targets are reported, not enforced)."""
    p = argparse.ArgumentParser(prog="scnas bench emulate")
    p.add_argument("--model", default="resnet20")
    p.add_argument("--stream-length", default="64,256,1024")
    p.add_argument("--images", type=int, help="test images per timed run (default 1,000; at most the test set)")
    p.add_argument("--quick", action="store_true", help="100 images (unless --images), one run, no full test set")
    a = p.parse_args(argv)
    lengths = parse_list(a.stream_length, int, "stream-length")
    if (a.images is not None and a.images < 1) or any(L < 1 for L in lengths):
        raise BadArgument("--images and every --stream-length must be positive whole numbers.")
    model, kind = model_of(a.model)
    n = a.images if a.images is not None else (100 if a.quick else 1000)
    x, _, calib, source = data(n, CALIB)
    if len(x) < n:
        print(f"note: the test set has {len(x)} images; --images {n} runs those.")
    x, calib = torch.as_tensor(x).double(), torch.as_tensor(calib).double()
    print(f"CPU: {cpu_name()}; kernel path: {kernel_path()}; {numba.get_num_threads()} threads; "
          f"{kind} {a.model}; {source}")
    per_length = [measure_length(model, L, x, calib, a.quick) for L in lengths]
    for r in per_length:
        _print_length(r)
    full = None if a.quick or 256 not in lengths else full_test_set(model)
    figures = {"cpu": cpu_name(), "kernel_path": kernel_path(), "model": a.model, "model_kind": kind,
               "lengths": per_length, "full_test_set": full}
    met = all(r["frac_ceiling"] >= TARGETS.get(f"frac_ceiling_L{r['stream_length']}", 0)
              and r["convert_seconds"] <= TARGETS["convert_seconds_max"]
              and r["first_batch_vs_steady"] <= TARGETS["first_batch_vs_steady_max"] for r in per_length)
    if full is not None:
        print(f"\nall {full['images']} test images at L = 256: {full['seconds']:.1f} s (convert + run; target < "
              f"{TARGETS['seconds_10k_L256_max']:.0f} s), peak memory {full['peak_rss_gb']:.2f} GB, accuracy "
              + ("-" if full["accuracy"] is None else f"{100 * full['accuracy']:.2f}%"))
        met = met and full["seconds"] <= TARGETS["seconds_10k_L256_max"] and \
            full["peak_rss_gb"] <= TARGETS["peak_rss_gb_max"]
    sane = [ceiling_checked(r["frac_ceiling"], f"the median run at L = {r['stream_length']}") for r in per_length]
    print_result("emulate_layers", figures, TARGETS, met and all(sane))
    return 0
