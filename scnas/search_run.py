"""`scnas search`: InheritedNAS (or a baseline) on a dataset, scored the way recast scores:
test accuracy, parameters, MACs, memory traffic, latency and energy from the shared
estimator on the search's accelerator, and bit-true SC accuracy from the emulator. Writes
RUN/model.pt (loadable like a train run's), RUN/genotype.json, RUN/results.json (the layout
reports/fig_nas.py reads) and the plots. Every search phase checkpoints every epoch in RUN,
so a killed run resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import torch

from nas import SearchConfig, search
from nas.cost import PENALTIES
from nas.genotype import Genotype
from nas.network import stage_shapes
from sc_accel.hw import AccelConfig
from scnas.config import claim_settings, write_json
from scnas.data import Dataset
from scnas.rundir import atomic_torch_save, claim_run_dir
from scnas.scoring import check_sc_run, sc_accuracy, score_model

__all__ = ["run_search", "method_label", "print_summary", "FINAL_SCORES"]

FINAL_SCORES = ("accuracy", "params", "macs", "memory_bytes", "dram_bytes", "latency_s", "energy_pj")  # "final" row


def method_label(cfg: SearchConfig) -> str:
    """The method as the report names it: inheritednas-latency, inheritednas-flops, random,
    darts; a lambda other than the default is added (inheritednas-latency-lambda2), so a
    sweep draws one front per value."""
    label = f"inheritednas-{cfg.penalty}" if cfg.method == "inheritednas" else cfg.method
    return label if cfg.method == "darts" or cfg.lam == SearchConfig().lam else f"{label}-lambda{cfg.lam:g}"


def _stages(g: Genotype, image_size: int) -> list[dict]:
    """Per stage: its name, the ops of its live edges and its DAG's edges (node names as drawn)."""
    return [{"name": f"stage {s + 1} ({c} ch, {side}x{side})", "ops": g.stage_ops(s),
             "edges": [[a, b, d["op"]] for a, b, d in g.stage_dag(s).edges(data=True)]}
            for s, (c, side) in enumerate(stage_shapes(g.space, image_size))]


def _claim_coarse(coarse_dir: str | Path | None, run: Path) -> contextlib.AbstractContextManager:
    """Hold the shared coarse directory like a run directory while the search uses it: another
    command's run directory, or one another search is writing to, is refused in one sentence."""
    if coarse_dir is None or Path(coarse_dir).resolve() == run.resolve():
        return contextlib.nullcontext()
    return claim_run_dir(coarse_dir, "search", flag="--coarse-dir", foreign_ok=True)  # it holds no config.toml


def run_search(ds: Dataset, cfg: SearchConfig, accel_name: str, accel: AccelConfig, out: str | Path,
               teacher: torch.nn.Module | None = None, teacher_ref: str | None = None, workers: int = 1,
               ray: str | None = None, sc_length: int = 256, sc_limit: int = 200, progress: bool = True,
               coarse_dir: str | Path | None = None) -> dict:
    """Search into `out` and score the result; returns results.json's content."""
    if sc_limit > 0:
        check_sc_run(teacher, ds, sc_length)  # an L that cannot run is refused before any training
    with claim_run_dir(out, "search") as run, _claim_coarse(coarse_dir, run):
        claim_settings(run, {"command": "search", "dataset": ds.name, "accel": accel_name,
                             "accel_config": json.dumps(accel.to_dict(), sort_keys=True), "teacher": teacher_ref or "",
                             "coarse_dir": str(coarse_dir or ""), "sc_length": sc_length, "sc_limit": sc_limit,
                             "method_label": method_label(cfg), **cfg.to_dict()})
        t0 = time.perf_counter()
        res = search((ds.x_train, ds.y_train), cfg, teacher=teacher, accel=accel, out=run, workers=workers,
                     ray=ray, progress=progress, coarse_dir=coarse_dir)
        wall = time.perf_counter() - t0
        c, side = int(ds.x_train.shape[1]), int(ds.x_train.shape[2])
        final = score_model(res.model, ds, accel, FINAL_SCORES)
        atomic_torch_save({"kind": "nas-model", "arch": f"nas-{method_label(cfg)}", "genotype": res.genotype.to_dict(),
                           "in_channels": c, "n_classes": len(ds.classes), "image_size": side, "dataset": ds.name,
                           "state_dict": res.model.state_dict(), "test_accuracy": final["accuracy"]},
                          run / "model.pt")
        write_json(res.genotype.to_dict(), run / "genotype.json")
        table = res.tables.network_cost(res.genotype)
        final["table_latency_s"] = table["latency_s"]
        limit = min(sc_limit, len(ds.x_test))
        final["sc_accuracy"] = sc_accuracy(res.model, ds, sc_length, limit) if sc_limit > 0 else None
        teacher_row = score_model(res.teacher, ds, accel, FINAL_SCORES) if cfg.method != "darts" else None
        metric = PENALTIES[cfg.penalty]
        results = {"method": method_label(cfg), "penalty": cfg.penalty, "lambda": cfg.lam, "seed": cfg.seed,
                   "dataset": ds.name, "accel": accel_name, "teacher": teacher_ref or "searched cell network",
                   "config": cfg.to_dict(), "genotype": res.genotype.to_dict(),
                   "coarse_genotype": res.coarse_genotype.to_dict(), "stages": _stages(res.genotype, side),
                   "final": final, "teacher_scores": teacher_row, "candidates": [
                       {k: v for k, v in cand.items() if k != "genotype"} | {"ops": _flat_ops(cand["genotype"])}
                       for cand in res.candidates],
                   "history": res.history, "seconds": res.seconds,
                   "search_seconds": _search_seconds(cfg, res.seconds), "wall_seconds_this_call": wall,
                   "sc_emulation": {"stream_length": sc_length, "images": limit},
                   "penalty_metric": metric, "notes": res.notes, "cost_tables": res.tables.to_dict()}
        write_json(results, run / "results.json")
    return results


def _flat_ops(g: dict) -> list[list[str]]:
    gen = Genotype.from_dict(g)
    return [gen.stage_ops(s) for s in range(len(gen.cells))]


def _search_seconds(cfg: SearchConfig, seconds: dict) -> float:
    """The method's own search time, summed over epochs: the coarse search (and, for darts, the
    cell network's training) plus the fine stages or the random candidates, and the retraining."""
    keys = {"darts": ("coarse", "teacher"), "inheritednas": ("coarse", "stages", "retrain"),
            "random": ("coarse", "random", "retrain")}[cfg.method]
    return float(sum(seconds.get(k, 0.0) for k in keys))


def print_summary(r: dict) -> None:
    """The result in one line, then the ops of each stage and the bit-true SC accuracy."""
    f = r["final"]
    print(f"{r['method']} on {r['dataset']} (seed {r['seed']}, {r['accel']}): accuracy {100 * f['accuracy']:.2f}%, "
          f"{f['params']:,} params, {f['macs']:,} MACs, {f['memory_bytes'] / 1e6:.2f} MB traffic, "
          f"{1e6 * f['latency_s']:.1f} us, {f['energy_pj'] / 1e6:.2f} uJ, search {r['search_seconds']:.0f} s")
    for s in r["stages"]:
        print(f"  {s['name']}: {', '.join(s['ops'])}")
    if f.get("sc_accuracy") is not None:
        print(f"  bit-true SC accuracy at L = {r['sc_emulation']['stream_length']} on {r['sc_emulation']['images']} "
              f"test images: {100 * f['sc_accuracy']:.2f}%")
