"""Time per SC-aware fine-tuning step against a plain float training step of the same model.

Targets (issue "Networks that keep their accuracy on short streams"): an epoch in the
moments mode at most 3x a float epoch; a 3-epoch ResNet-20 fine-tune on 60,000 images
under 30 minutes on 2 cores. Steps are timed in one process (batch 128, AdamW, the same
images); an epoch is projected as ceil(60,000 / 128) steps plus the per-epoch work (the
scales re-derived, and in moments mode the noise scales fitted bit-true on 256 images),
measured once. The bit mode (bit-true forward, straight-through backward) is timed
beside it for information: it has no target.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F

from sc_accel.nn import SCConfig
from sc_accel.nn.surrogate import SCSurrogate
from scnas.benchmarks.common import cpu_name, print_result, print_table
from scnas.finetune import FinetuneConfig
from scnas.zoo import create_model

TARGETS = {"moments_epoch_over_float_max": 3.0, "resnet20_3_epochs_s_max": 1800.0}
TRAIN_IMAGES = 60_000


def _step_time(forward, params, x: torch.Tensor, y: torch.Tensor, batch: int) -> float:
    """Seconds per optimiser step, over the batches of x (after one warm-up step)."""
    opt = torch.optim.AdamW(params, 1e-6)

    def step(i: int) -> None:
        loss = F.cross_entropy(forward(x[i:i + batch]).float(), y[i:i + batch])
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(0)
    t0 = time.perf_counter()
    n = 0
    for i in range(0, len(x), batch):
        step(i)
        n += 1
    return (time.perf_counter() - t0) / n


def _measure(name: str, L: int, steps: int, bit_steps: int) -> dict:
    """Step times (float, moments, bit) and the per-epoch calibration time of one model."""
    torch.manual_seed(0)
    model = create_model(name, 1, 10, 28)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(128 * steps, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (128 * steps,), generator=g)
    calib = x[:256]
    model.train()
    float_s = _step_time(model, list(model.parameters()), x, y, 128)
    model.eval()
    cfg = SCConfig(stream_length=L)
    sur = SCSurrogate(model, cfg, calib, "moments")
    t0 = time.perf_counter()
    sur.recalibrate(calib)
    sur.calibrate_noise(calib, y[:256])
    epoch_extra_s = time.perf_counter() - t0
    moments_s = _step_time(sur, list(model.parameters()), x, y, 128)
    bit = SCSurrogate(model, cfg, calib, "bit")
    bit_s = _step_time(bit, list(model.parameters()), x[:128 * bit_steps], y[:128 * bit_steps], 128)
    per_epoch = math.ceil(TRAIN_IMAGES / FinetuneConfig.batch_size)
    return {"float_step_s": float_s, "moments_step_s": moments_s, "bit_step_s": bit_s,
            "epoch_extra_s": epoch_extra_s, "moments_over_float": (moments_s * per_epoch + epoch_extra_s)
            / (float_s * per_epoch), "bit_over_float": bit_s / float_s,
            "moments_3_epochs_s": 3 * (moments_s * per_epoch + epoch_extra_s),
            "bit_epoch_s": bit_s * per_epoch}


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table and the JSON line; exit 0 whether or not targets are met."""
    ap = argparse.ArgumentParser(prog="scnas bench finetune")
    ap.add_argument("--quick", action="store_true", help="fewer steps")
    args = ap.parse_args(argv)
    steps, bit_steps = (3, 1) if args.quick else (12, 3)
    print(f"CPU: {cpu_name()}; torch threads {torch.get_num_threads()}; L = 64 (LFSR); batch 128")
    res = {name: _measure(name, 64, steps, bit_steps) for name in ("lenet5", "resnet20")}
    print_table([(name, f"{r['float_step_s'] * 1e3:.0f} ms", f"{r['moments_step_s'] * 1e3:.0f} ms",
                  f"{r['epoch_extra_s']:.1f} s", f"{r['moments_over_float']:.2f}x", f"{r['bit_step_s'] * 1e3:.0f} ms",
                  f"{r['bit_over_float']:.1f}x", f"{r['moments_3_epochs_s'] / 60:.1f} min")
                 for name, r in res.items()],
                ("model", "float step", "moments step", "per-epoch calibration", "moments epoch / float",
                 "bit step", "bit / float", "3 moments epochs, 60k images"))
    figures = {f"{n}_{k}": v for n, r in res.items() for k, v in r.items()}
    met = (all(r["moments_over_float"] <= TARGETS["moments_epoch_over_float_max"] for r in res.values())
           and res["resnet20"]["moments_3_epochs_s"] <= TARGETS["resnet20_3_epochs_s_max"])
    print_result("finetune", figures, TARGETS, met)
    return 0
