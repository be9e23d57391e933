"""`scnas recast`: recast a trained teacher block by block, then score teacher and student the
same way (test accuracy, parameters, MACs, activation bytes, measured CPU latency, latency and
energy on one binary and one SC preset of the shared estimator, bit-true SC accuracy), and
write RUN/student.pt, RUN/results.json (the layout reports/fig_recast.py reads) and the plots.

The recasting itself checkpoints every epoch in RUN/checkpoint.pt, so a killed run resumes
where it stopped; the scoring is short and is redone.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch

from recast import RecastConfig, block_type_of, recast, resolve_plan, split_model
from recast.baselines import fresh_copy, params, prune_filters, train_baseline
from recast.named import recastable
from recast.plan import BlockPlan, plan_modules
from sc_accel.errors import InvalidInputError
from scnas.accel import load_accel
from scnas.config import claim_settings, read_config, write_json
from scnas.data import Dataset
from scnas.rundir import atomic_torch_save, claim_run_dir
from scnas.scoring import check_sc_run, sc_accuracy, score_model
from scnas.train import load_model

__all__ = ["run_recast", "cpu_latency", "cpu_latencies", "run_models", "remeasure_cpu_latency", "BINARY_PRESET",
           "SC_PRESET", "MODEL_SCORES"]

BINARY_PRESET = "systolic-32x32-ws"
SC_PRESET = "sc-64x64-L256"
LATENCY_REPEATS = 30
MODEL_SCORES = ("accuracy", "params", "macs", "activation_bytes", "latency_s", "energy_pj")  # per entry of "models"


def cpu_latency(model: torch.nn.Module, shape: tuple[int, ...], repeats: int = LATENCY_REPEATS) -> float:
    """Median seconds of one forward pass on a batch of `shape` (after 3 warm-up passes)."""
    return cpu_latencies([model], shape, repeats)[0]


def cpu_latencies(models: list[torch.nn.Module], shape: tuple[int, ...], repeats: int = LATENCY_REPEATS) -> list[float]:
    """Median seconds of one forward pass of each model on a batch of `shape`, the models
    timed in turn within each repeat (3 warm-up rounds first), so a slow spell of the machine
    falls on all of them alike instead of on whichever was being timed."""
    x = torch.zeros(shape)
    times: list[list[float]] = [[] for _ in models]
    with torch.no_grad():
        for m in models:
            m.eval()
        for r in range(repeats + 3):
            for m, t in zip(models, times):
                t0 = time.perf_counter()
                m(x)
                if r >= 3:
                    t.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def _model_row(model: torch.nn.Module, name: str, role: str, ds: Dataset, accels: dict) -> dict:
    """One entry of results.json "models": accuracy, size and estimated cost on each of `accels`
    (the CPU latency is added by _with_latency, which times a run's models together)."""
    return {"name": name, "role": role, **score_model(model, ds, accels, MODEL_SCORES)}


def _plan_name(spec: object, plan: list[BlockPlan]) -> str:
    """A preset's name, a plan file's stem, or the blocks spelled out."""
    if isinstance(spec, (str, Path)):
        return Path(spec).stem if str(spec).endswith(".toml") else str(spec)
    return "+".join(f"{b.type}:{b.width:g}" for b in plan)


def _baselines(teacher: torch.nn.Module, student: torch.nn.Module, data: tuple, cfg: RecastConfig, n_blocks: int,
               run: Path, progress: bool = True) -> list[tuple[str, torch.nn.Module, dict]]:
    """(name, model, extra fields) of the scratch, KD and pruned baselines at the recasting's
    total epochs, each checkpointed per epoch in run/baseline-NAME.pt."""
    epochs = n_blocks * cfg.epochs_per_block + cfg.finetune_epochs
    out = []
    for kind, kd in (("scratch", None), ("kd", teacher)):
        model, hist = train_baseline(fresh_copy(student, cfg.seed + 1), data, epochs, cfg, teacher=kd,
                                     ckpt=run / f"baseline-{kind}.pt", desc=f"baseline {kind}" if progress else "")
        out.append((kind, model, {"epochs": epochs, "history": hist}))
    pruned, kept = prune_filters(teacher, params(student))
    model, hist = train_baseline(pruned, data, epochs, cfg, ckpt=run / "baseline-pruned.pt",
                                 desc="baseline pruned" if progress else "")
    out.append(("pruned", model, {"epochs": epochs, "history": hist, "kept_filter_fraction": kept}))
    return out


def run_recast(teacher: torch.nn.Module, teacher_name: str, teacher_ref: str, ds: Dataset, plan_spec: object,
               cfg: RecastConfig, out: str | Path, sc_length: int = 256, sc_limit: int = 500,
               train_limit: int | None = None, progress: bool = True, baselines: bool = False) -> dict:
    """Recast `teacher` (trained on ds; `teacher_ref` is the model.pt it was loaded from) with
    `plan_spec` into `out`; returns the results. The plan is checked before anything is written."""
    modules = plan_modules(plan_spec)
    cut = recastable(teacher, modules)  # the teacher as stem/blocks/head
    plan = resolve_plan(plan_spec, [block_type_of(b) for b in split_model(cut)[1]])
    name = _plan_name(plan_spec, plan)
    n = len(ds.x_train) if train_limit is None else min(train_limit, len(ds.x_train))
    check_sc_run(teacher, ds, sc_length)  # an L that cannot run is refused before any training
    with claim_run_dir(out, "recast") as run:
        claim_settings(run, {"command": "recast", "teacher": teacher_ref, "dataset": ds.name, "plan": name,
                             "blocks": [f"{b.type}:{b.width:g}" for b in plan], "train_images": n,
                             "baselines": baselines, "sc_length": sc_length, "sc_limit": sc_limit, **cfg.to_dict()})
        res = recast(cut, plan, (ds.x_train[:n], ds.y_train[:n]), cfg, out=run, progress=progress)
        atomic_torch_save({"kind": "recast-student", "teacher": teacher_ref, "arch": f"{teacher_name}-{name}",
                           "dataset": ds.name, "spec": res.spec, "head_in": res.head_in, "modules": modules,
                           "state_dict": res.student.state_dict()}, run / "student.pt")
        accels = {"binary": load_accel(BINARY_PRESET), "sc": load_accel(SC_PRESET)}
        scored = [(teacher, _model_row(teacher, teacher_name, "teacher", ds, accels)),
                  (res.student, _model_row(res.student, f"{teacher_name} -> {name}", "student", ds, accels))]
        if baselines:
            data = (ds.x_train[:n], ds.y_train[:n])
            for kind, model, extra in _baselines(cut, res.student, data, cfg, len(res.spec), run, progress):
                label = f"pruned {teacher_name}" if kind == "pruned" else f"{name} {kind}"
                scored.append((model, {**_model_row(model, label, "baseline", ds, accels), "baseline": kind,
                                       **extra}))
        models = _with_latency(scored, ds)
        limit = min(sc_limit, len(ds.x_test))
        results = {"teacher": teacher_name, "dataset": ds.name, "plan": name, "seed": cfg.seed,
                   "config": cfg.to_dict(), "train_images": n, "models": models,
                   "block_history": res.history, "finetune_history": res.finetune_history,
                   "presets": {"binary": BINARY_PRESET, "sc": SC_PRESET},
                   "sc_emulation": {"stream_length": sc_length, "images": limit,
                                    "teacher_accuracy": sc_accuracy(teacher, ds, sc_length, limit),
                                    "student_accuracy": sc_accuracy(res.student, ds, sc_length, limit)}}
        write_json(results, run / "results.json")
    return results


def _with_latency(scored: list[tuple[torch.nn.Module, dict]], ds: Dataset) -> list[dict]:
    """The rows with their CPU latencies, all models timed in one interleaved pass."""
    shape = (1,) + tuple(ds.x_test.shape[1:])
    lat = cpu_latencies([m for m, _ in scored], shape)
    return [{**row, "cpu_latency_s": t} for (_, row), t in zip(scored, lat)]


def run_models(run: str | Path) -> tuple[list[torch.nn.Module], tuple[int, ...]]:
    """(the models of a finished recast run in the order of its results.json, the batch-1 input
    shape): the teacher, the student and the baselines rebuilt from their checkpoints (nothing
    is trained)."""
    return _rebuild(Path(run), json.loads((Path(run) / "results.json").read_text()))


def _rebuild(run: Path, res: dict) -> tuple[list[torch.nn.Module], tuple[int, ...]]:
    """run_models on a results.json already read."""
    conf = read_config(run / "config.toml")
    cfg = RecastConfig.from_dict(res["config"])
    teacher, _ = load_model(conf["teacher"])
    student, meta = load_model(run)
    out = []
    for m in res["models"]:
        kind = m.get("baseline", m["role"])
        if kind in ("teacher", "student"):
            out.append(teacher if kind == "teacher" else student)
            continue
        model = (prune_filters(recastable(teacher, meta.get("modules")), params(student))[0] if kind == "pruned"
                 else fresh_copy(student, cfg.seed + 1))
        out.append(train_baseline(model, None, m["epochs"], cfg, ckpt=run / f"baseline-{kind}.pt")[0])
    return out, (1, int(meta["in_channels"]), int(meta["image_size"]), int(meta["image_size"]))


def remeasure_cpu_latency(runs: list[str | Path], repeats: int = LATENCY_REPEATS) -> list[dict]:
    """Time every model of every given run in one interleaved pass and write the latencies
    into each results.json ("cpu_latency" says how): one quiet process, so that runs made
    side by side on a busy machine compare fairly. Returns the updated results."""
    runs = [Path(r) for r in runs]
    results = [json.loads((r / "results.json").read_text()) for r in runs]
    loaded = [_rebuild(r, res) for r, res in zip(runs, results)]
    if len({shape for _, shape in loaded}) != 1:
        raise InvalidInputError("the runs' models take inputs of different shapes; time each dataset apart.")
    flat = cpu_latencies([m for ms, _ in loaded for m in ms], loaded[0][1], repeats)
    k = 0
    for r, res in zip(runs, results):
        for row in res["models"]:
            row["cpu_latency_s"] = flat[k]
            k += 1
        res["cpu_latency"] = {"repeats": repeats, "threads": torch.get_num_threads(), "batch": 1,
                              "interleaved_runs": len(runs)}
        write_json(res, r / "results.json")
    return results


def print_summary(results: dict) -> None:
    """The models side by side, one line each."""
    print(f"{'model':<28} {'acc %':>6} {'params':>9} {'MACs':>11} {'act KB':>8} {'cpu ms':>7} "
          f"{'bin us':>8} {'sc us':>8}")
    for m in results["models"]:
        print(f"{m['name']:<28} {100 * m['accuracy']:6.2f} {m['params']:9d} {m['macs']:11d} "
              f"{m['activation_bytes'] / 1024:8.1f} {1e3 * m['cpu_latency_s']:7.2f} "
              f"{1e6 * m['latency_s']['binary']:8.1f} {1e6 * m['latency_s']['sc']:8.1f}")
    sc = results["sc_emulation"]
    print(f"bit-true SC accuracy at L = {sc['stream_length']} on {sc['images']} test images: teacher "
          f"{100 * sc['teacher_accuracy']:.2f}%, student {100 * sc['student_accuracy']:.2f}%")


