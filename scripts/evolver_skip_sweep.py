"""The Evolver search's outlier-skip rate over a sweep of thresholds (markdown table).

Usage: python scripts/evolver_skip_sweep.py [--dataset fashion-mnist] [--acc-drops 1,2,4]
       [--cost-ths 0.5,0.3,0.2,0.1] [--episodes 300] [--shapings 0,0.1] [--out runs/evolver-sweep.json]

Outlier skipping (sc_accel.dse.evolver) scores a policy whose estimated latency or energy
already breaks its threshold (L >= L_TH or E >= E_TH, normalised) with R = 0 and no accuracy
evaluation; the rule has no margin of its own, so the skip rate is set by L_TH and E_TH (swept
together as --cost-ths) and, through the path the learner takes, by the accuracy threshold
(float accuracy minus --acc-drops points). The paper skips about 37% of the policies it samples
on VGG-8 (Evolver, Tu et al., JSSC 2021, doi:10.1109/JSSC.2020.3021661), each skip saving a
retraining; here a skip saves one proxy evaluation.

Each row is one search exactly as `scnas dse evolver --acc-drop D --latency-th T --energy-th T
--shaping S` runs it (same problem, calibration, seed, learner and bit-true check of its five
best policies), sharing one problem so the calibration and the accuracy caches are computed
once (the caches hold values, not decisions, so every search takes the path it takes alone).
Columns: the thresholds, the skip rate, the distinct policies scored by the proxy and checked
bit-true, the chosen policy's bit-true accuracy (search images, first --final-images test
images) and energy, and "wrongly skipped": skipped policies whose estimated cost meets both
thresholds (0 by construction: the skip rule uses the estimator's own numbers, so what a
high skip rate costs is what the tight thresholds exclude, seen in the chosen policy).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from sc_accel.dse.evolver import LENGTHS, QLearner, Thresholds, evolve, verify
from scnas.accel import load_accel
from scnas.commands.teacher import resolve_teacher
from scnas.data import load_dataset
from scnas.dse_run import _evolver_problem

PAPER_SKIP_RATE = 0.37  # VGG-8, Evolver (Tu et al., JSSC 2021)


def sweep(model, ds, accel, acc_drops, cost_ths, episodes: int = 300, eval_images: int = 500,
          final_images: int = 2000, calib_images: int = 500, samples: int = 16, seed: int = 0,
          shapings: tuple = (0.0,), lengths: tuple = LENGTHS, progress=print) -> list[dict]:
    """One row per (shaping, acc_drop, cost threshold): the search's counts and its chosen policy."""
    p, float_acc = _evolver_problem(model, ds, accel, lengths, eval_images, calib_images,
                                    (acc_drops[0], cost_ths[0], cost_ths[0]), samples, seed, shapings[0])
    p.calibrate()
    x_test = torch.as_tensor(ds.x_test[:final_images]).double()
    y_test = np.asarray(ds.y_test[:final_images])
    proxy, rows = p.accuracy, []
    for shaping, drop, th in ((s, d, t) for s in shapings for d in acc_drops for t in cost_ths):
        p.th = Thresholds(max(0.0, float_acc - drop / 100.0), th, th, shaping=shaping)
        p.counts = dict.fromkeys(p.counts, 0)
        scored, skipped = set(), []

        def accuracy(lengths, scored=scored):
            scored.add(tuple(lengths))
            return proxy(lengths)

        p.accuracy = accuracy
        real_eval = type(p).evaluate

        def evaluate(policy, bit=False, skipped=skipped):
            out = real_eval(p, policy, bit)
            if out.skipped and not bit:
                skipped.append(tuple(policy))
            return out

        p.evaluate = evaluate
        ql = evolve(p, episodes, seed=seed, learner=QLearner.fresh(p, seed))
        best, ver = verify(p, ql.top)
        del p.evaluate, p.accuracy  # the class's own again
        wrong = [s for s in skipped if not p.th.breaks_cost(*p.normalised(s[:-1], s[-1]))]
        row = {"shaping": shaping, "acc_drop": drop, "accuracy_th": p.th.accuracy, "cost_th": th,
               "episodes": episodes,
               "skipped": p.counts["skipped"], "skip_rate": p.counts["skipped"] / episodes,
               "proxy_scored": len(scored), "bit_checked": len(ver), "wrongly_skipped": len(wrong),
               "best": None}
        if best:
            out = p.evaluate(best, bit=True)
            d = p.describe(best)
            row["best"] = {"stream_lengths": list(d["stream_lengths"].values()), "voltage_v": d["voltage_v"],
                           "bit_accuracy_search": out.accuracy, "energy_j": d["energy_j"],
                           "latency_s": d["latency_s"], "reward": out.reward,
                           "bit_accuracy_test": p.bit_accuracy(best[:-1], x_test, y_test)}
        rows.append(row)
        progress(table([row], final_images).splitlines()[-1])  # the row as soon as it is known
    return rows


def table(rows: list[dict], final_images: int) -> str:
    """The markdown table of a sweep."""
    out = ["| shaping | A_TH (float - drop) | L_TH = E_TH | skip rate | proxy-scored | bit-true checked | wrongly "
           f"skipped | chosen L per layer | search acc (%) | test acc (%, {final_images}) | energy (uJ) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        b = r["best"]
        tail = (["none met them", "-", "-", "-"] if b is None else
                [", ".join(map(str, b["stream_lengths"])), f"{100 * b['bit_accuracy_search']:.1f}",
                 f"{100 * b['bit_accuracy_test']:.2f}", f"{b['energy_j'] * 1e6:.1f}"])
        out.append(f"| {r['shaping']:g} | {100 * r['accuracy_th']:.1f}% (-{r['acc_drop']:g}) | {r['cost_th']:g} | "
                   f"{100 * r['skip_rate']:.1f}% ({r['skipped']}/{r['episodes']}) | {r['proxy_scored']} | "
                   f"{r['bit_checked']} | {r['wrongly_skipped']} | " + " | ".join(tail) + " |")
    return "\n".join(out)


def _floats(text: str, flag: str, lo: float, hi: float) -> list[float]:
    """A comma-separated list of numbers in [lo, hi]; anything else exits 2 with one sentence."""
    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        vals = []
    if not vals or any(not lo <= v <= hi for v in vals):  # nan fails both comparisons
        print(f"evolver_skip_sweep: {flag} {text!r} must be comma-separated numbers from {lo:g} to {hi:g}.",
              file=sys.stderr)
        raise SystemExit(2)
    return vals


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="lenet5")
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--accel", default="sc-64x64-L256")
    ap.add_argument("--acc-drops", default="1,2,4", help="accuracy thresholds: float accuracy minus these points")
    ap.add_argument("--cost-ths", default="0.5,0.3,0.2,0.1", help="L_TH = E_TH values (normalised)")
    ap.add_argument("--episodes", type=int, default=300)
    ap.add_argument("--eval-images", type=int, default=500)
    ap.add_argument("--final-images", type=int, default=2000)
    ap.add_argument("--calib", type=int, default=500)
    ap.add_argument("--shapings", default="0", help="rewards under A_TH: shaping x A (0: the paper's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    ap.add_argument("--teacher-dir")
    ap.add_argument("--data-dir")
    ap.add_argument("--out", help="also write the rows as JSON here")
    a = ap.parse_args(argv)
    drops = _floats(a.acc_drops, "--acc-drops", 0.0, 100.0)
    ths = _floats(a.cost_ths, "--cost-ths", 1e-6, 1.0)
    shapings = _floats(a.shapings, "--shapings", 0.0, 1.0)
    ds = load_dataset(a.dataset, a.data_dir)
    model, _ = resolve_teacher(a.model, ds, argparse.Namespace(out=None, teacher_dir=a.teacher_dir, epochs=20,
                                                               seed=a.seed))
    rows = sweep(model, ds, load_accel(a.accel), drops, ths, a.episodes,
                 a.eval_images, a.final_images, a.calib, seed=a.seed, shapings=shapings,
                 lengths=tuple(int(v) for v in a.lengths.split(",")),
                 progress=lambda s: print(s, file=sys.stderr, flush=True))
    print(table(rows, a.final_images))
    print(f"\npaper (Evolver, JSSC 2021): about {100 * PAPER_SKIP_RATE:.0f}% of policies skipped on VGG-8")
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(rows, indent=1))
    return 0


__all__ = ["sweep", "table", "main"]

if __name__ == "__main__":
    sys.exit(main())
