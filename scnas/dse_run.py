"""`scnas dse confuciux|batchdvfs`: the accelerator searches as run directories. ConfuciuX runs
one task per (platform, model), BatchDVFS one per power cap; tasks run inline, in a process
pool or on Ray.

Each finished task is written at once to RUN/tasks/PLATFORM-MODEL.json, so a killed run
loses at most the tasks that were running (seconds each) and a rerun does only the rest.
RUN/results.json (the layout reports/fig_dse.py reads) is rebuilt from the task files.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from sc_accel.dse.assign import AGENTS, AssignTask, assign_job, check_agents, check_budget
from sc_accel.dse.batchdvfs import (DVFSProblem, DVFSTask, batchdvfs_job, check_caps, check_max_batch, check_trials,
                                    default_caps)
from sc_accel.dse.evolver import (MAX_EPISODES, MAX_SAMPLES, EvolverProblem, QLearner, Thresholds, evolve,
                                  uniform_best, verify)
from sc_accel.dse.space import (PLATFORMS, AllocationProblem, DSEInputError, Platform, check_int, check_seed,
                                improvements)
from sc_accel.hw.config import AccelConfig, check_accel
from sc_accel.hw.workload import workload
from sc_accel.progress import bar as progress_bar
from sc_accel.runner import run_tasks
from sc_accel.metrics import top1_accuracy
from scnas.config import read_part, read_toml, run_meta, write_json, write_toml
from scnas.rundir import RunDirError, claim_run_dir

__all__ = ["run_confuciux", "run_batchdvfs", "run_evolver", "check_shaping", "confuciux_table", "batchdvfs_table",
           "evolver_table", "platform_from"]


def platform_from(name: str, pe_menu: list[int] | None = None, buffer_menu: list[int] | None = None,
                  max_pes: int | None = None, max_buffer_bytes: int | None = None,
                  max_area_um2: float | None = None, max_power_w: float | None = None) -> Platform:
    """A named platform (cloud, edge) with any of its menus or caps replaced (and optional caps
    on the sum of the layers' estimated areas and on the chip's power)."""
    if name not in PLATFORMS:
        raise DSEInputError(f"unknown platform {name!r}; use one of {sorted(PLATFORMS)}.")
    p = PLATFORMS[name]
    return Platform(p.name, p.max_pes if max_pes is None else max_pes,
                    p.max_buffer_bytes if max_buffer_bytes is None else max_buffer_bytes,
                    tuple(pe_menu) if pe_menu is not None else p.pe_menu,
                    tuple(buffer_menu) if buffer_menu is not None else p.buffer_menu, max_area_um2, max_power_w)


def _tasks(models: dict[str, tuple], accel: AccelConfig, platforms: list[Platform], objective: str,
           deployment: str, budget: int, seed: int, agents: tuple[str, ...] = AGENTS) -> list[AssignTask]:
    """One task per (platform, model); the problems are built here first, so a bad budget
    fails before any work."""
    check_budget(budget)
    check_seed(seed)
    agents = check_agents(agents)
    out = []
    for plat in platforms:
        for name, (model, shape) in models.items():
            layers = workload(model, shape)
            AllocationProblem(layers, accel, plat, objective, deployment)  # raises on an impossible budget
            out.append(AssignTask(name, tuple(layers), accel, plat, objective, deployment, budget, seed, agents))
    return out


def _settings(tasks: list[AssignTask]) -> dict:
    """The search's settings as config.toml holds them (a resumed run must ask for the same)."""
    t = tasks[0]
    platforms = dict.fromkeys(json.dumps(x.platform.to_dict(), sort_keys=True) for x in tasks)
    shapes = {x.model: hashlib.sha256(repr(x.layers).encode()).hexdigest()[:16] for x in tasks}
    return {"command": "dse", "search": "confuciux", "models": sorted({x.model for x in tasks}),
            "workloads": json.dumps(dict(sorted(shapes.items()))),  # layer shapes: another input shape or file differs
            "platforms": [json.dumps(p) for p in platforms], "accel": t.accel.name, "objective": t.objective,
            "deployment": t.deployment, "budget": t.budget, "seed": t.seed, "agents": list(t.agents)}


def _check_same(run: Path, settings: dict) -> None:
    """A rerun must ask for the same search as the run it resumes."""
    cfg = run / "config.toml"
    if not cfg.is_file():
        return
    old = {k: v for k, v in read_toml(cfg).items() if k != "run" and k != "accel_config"}
    diff = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
    if diff:
        kind = str(old.get("search", "dse"))
        raise RunDirError(f"{run} holds {'an' if kind[:1] in 'aeiou' else 'a'} {kind} search with other settings "
                          f"({', '.join(diff)}); rerun with "
                          "the same ones to resume, or give another --out.")


_NUM = (int, float)
_OPT_INT = (int, type(None))
_OPT_NUM = (int, float, type(None))
_HISTORY = {"method": str, "evaluation": int, "value": _NUM}
_ALLOCATION = {"layer": str, "pes": int, "buffer_bytes": int}
_ROWS = {  # what results.json and the tables read from each row of a task file
    "confuciux": {"platform": str, "model": str, "method": str, "pes": int, "buffer_bytes": int,
                  "latency_cycles": _NUM, "energy_pj": _NUM, "feasible": bool, "value": _NUM, "evaluations": int,
                  "evals_to_within_5pct": _OPT_INT, "allocation": list},
    "batchdvfs": {"power_cap_w": _NUM, "model": str, "method": str, "batch": _OPT_INT, "throughput": _NUM,
                  "power_w": _NUM, "voltage_v": _OPT_NUM, "frequency_hz": _OPT_NUM, "evaluations": int,
                  "gap_pct": _NUM, "optimal": bool},
}


def _bad_fields(d: object, spec: dict, where: str) -> str | None:
    """The first field of `d` missing or of the wrong type under `spec` (bool is not a number)."""
    if not isinstance(d, dict):
        return f"{where} is not a mapping"
    for k, want in spec.items():
        types = want if isinstance(want, tuple) else (want,)
        v = d.get(k, ...)  # Ellipsis: missing, never one of the types
        if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
            return f"{where}.{k} is missing or of the wrong type"
    return None


def _part_problem(part: object, task: AssignTask | DVFSTask) -> str | None:
    """Why a task file cannot stand for `task` (None: it can): every field the results read,
    with its type, and the platform / model / power cap it belongs to."""
    kind = "batchdvfs" if isinstance(task, DVFSTask) else "confuciux"
    own = {"cap_w": task.cap_w} if kind == "batchdvfs" else {"platform": task.platform.name, "model": task.model}
    if not isinstance(part, dict) or any(part.get(k) != v for k, v in own.items()):
        return f"it does not hold the result of the task {own}"
    rows, hist = part.get("rows"), part.get("history")
    if not isinstance(rows, list) or not rows or not isinstance(hist, list):
        return "its rows or history are missing"
    if kind == "confuciux" and not isinstance(part.get("estimate"), dict):
        return "its estimate is missing"
    row_own = {"power_cap_w": task.cap_w, "model": task.model} if kind == "batchdvfs" else own
    for i, h in enumerate(hist):
        if why := _bad_fields(h, _HISTORY, f"history[{i}]"):
            return why
    for i, r in enumerate(rows):
        if why := _bad_fields(r, _ROWS[kind], f"rows[{i}]") or _allocation_problem(r, f"rows[{i}]"):
            return why
        if any(r.get(k) != v for k, v in row_own.items()):
            return f"rows[{i}] belongs to another task"
    return None


def _allocation_problem(row: dict, where: str) -> str | None:
    """The first bad per-layer entry of a ConfuciuX row's allocation (None for BatchDVFS rows)."""
    for j, a in enumerate(row.get("allocation", [])):
        if why := _bad_fields(a, _ALLOCATION, f"{where}.allocation[{j}]"):
            return why
    return None


def _read_part(f: Path, task: AssignTask | DVFSTask) -> dict | None:
    """A finished task's result from its file; None (and a note on stderr) when the file is
    damaged or does not belong to the task, so it is recomputed (tasks are deterministic)."""
    return read_part(f, lambda part: _part_problem(part, task), "scnas dse")


def _execute(run: Path, names: list[str], tasks: list[AssignTask] | list[DVFSTask],
             job: Callable[[AssignTask | DVFSTask], dict], workers: int, ray: str | None, desc: str,
             progress: bool) -> list[dict]:
    """Run the tasks whose RUN/tasks/NAME.json is missing or damaged, writing each as it
    finishes; return all task results in order."""
    (run / "tasks").mkdir(exist_ok=True)
    files = [run / "tasks" / f"{n}.json" for n in names]
    parts = [_read_part(f, t) if f.is_file() else None for f, t in zip(files, tasks)]
    todo = [i for i, p in enumerate(parts) if p is None]
    bar = progress_bar(total=len(tasks), initial=len(tasks) - len(todo), desc=desc, disable=not progress)

    def done(j: int, res: dict) -> None:
        write_json(res, files[todo[j]])
        parts[todo[j]] = json.loads(json.dumps(res))  # as a resume would read it back
        bar.update(1)

    run_tasks(job, [tasks[i] for i in todo], workers=workers, ray=ray, on_done=done)
    bar.close()
    return parts  # type: ignore[return-value]


def run_confuciux(models: dict[str, tuple], accel: AccelConfig, platforms: list[Platform], out: str | Path,
                  objective: str = "latency", deployment: str = "sequential", budget: int = 2000, seed: int = 0,
                  workers: int = 1, ray: str | None = None, progress: bool = True,
                  agents: tuple[str, ...] = AGENTS) -> dict:
    """models: name -> (torch model, input shape); agents: the RL agents run (masked,
    unmasked). Returns results.json's content."""
    tasks = _tasks(models, accel, platforms, objective, deployment, budget, seed, agents)
    settings = _settings(tasks)
    with claim_run_dir(out, "dse") as run:
        _check_same(run, settings)
        write_toml({**settings, "accel_config": json.dumps(accel.to_dict()), "run": run_meta()}, run / "config.toml")
        names = [f"{t.platform.name}-{t.model}" for t in tasks]
        parts = _execute(run, names, tasks, assign_job, workers, ray, "confuciux tasks", progress)
        results = {"search": "confuciux", "model": ", ".join(settings["models"]), "objective": objective,
                   "deployment": deployment, "accel": accel.name, "budget": budget, "seed": seed,
                   "agents": list(tasks[0].agents),
                   "history": [h for r in parts for h in r["history"]],
                   "table": [{k: v for k, v in row.items() if k != "allocation"} for r in parts for row in r["rows"]],
                   "allocations": [{"platform": r["platform"], "model": r["model"], "method": row["method"],
                                    "layers": row["allocation"]} for r in parts for row in r["rows"]],
                   "estimates": [{"platform": r["platform"], "model": r["model"], **r["estimate"]} for r in parts]}
        write_json(results, run / "results.json")
    return results


def run_batchdvfs(model: tuple, name: str, accel: AccelConfig, caps: list[float] | None, out: str | Path,
                  max_batch: int = 256, trials: int = 60, seed: int = 0, workers: int = 1, ray: str | None = None,
                  progress: bool = True) -> dict:
    """Batch size and V/F point per power cap (W; None: four caps spread over the model's power
    range). model: (torch model, input shape). Returns results.json's content."""
    check_max_batch(max_batch)  # every limit before any work, and before anything is written
    check_trials(trials)
    check_seed(seed)
    caps = None if caps is None else check_caps(caps)
    if not isinstance(model, tuple) or len(model) != 2:
        raise DSEInputError(f"model must be a (torch model, input shape) pair, not a {type(model).__name__}.")
    layers = workload(*model)
    problem = DVFSProblem(layers, accel, max_batch)
    caps = default_caps(problem) if caps is None else caps
    tasks = [DVFSTask(name, tuple(layers), accel, float(c), max_batch, trials, seed) for c in caps]
    settings = {"command": "dse", "search": "batchdvfs", "models": [name], "accel": accel.name,
                "caps_w": [float(c) for c in caps], "max_batch": max_batch, "trials": trials, "seed": seed}
    with claim_run_dir(out, "dse") as run:
        _check_same(run, settings)
        write_toml({**settings, "accel_config": json.dumps(accel.to_dict()), "run": run_meta()}, run / "config.toml")
        parts = _execute(run, [f"cap-{c:g}W" for c in caps], tasks, batchdvfs_job, workers, ray,
                         "power caps", progress)
        points = [{"voltage_v": p.voltage, "frequency_hz": p.freq_mhz * 1e6} for p in problem.points]
        results = {"search": "batchdvfs", "model": name, "objective": "seconds per image (1 / throughput)",
                   "accel": accel.name, "max_batch": max_batch, "trials": trials, "seed": seed,
                   "operating_points": points, "history": [h for r in parts for h in r["history"]],
                   "batchdvfs": [row for r in parts for row in r["rows"]]}
        write_json(results, run / "results.json")
    return results


def confuciux_table(results: dict) -> str:
    """The ConfuciuX table as text: per platform and model, each method's PEs, buffer and
    latency (cycles), its ratio to the optimum and evaluations to within 5% of it."""
    head = f"{'platform':8s} {'model':12s} {'method':18s} {'PEs':>6s} {'buffer B':>9s} {'cycles':>12s} " \
           f"{'x opt':>6s} {'evals to 5%':>11s}"
    lines = [head, "-" * len(head)]
    opt = {(r["platform"], r["model"]): r["value"] for r in results["table"] if r["method"] == "optimum (DP)"}
    for r in results["table"]:
        o = opt.get((r["platform"], r["model"]))
        ratio = f"{r['value'] / o:.3f}" if o and r["feasible"] else ("over" if not r["feasible"] else "-")
        hit = r["evals_to_within_5pct"]
        lines.append(f"{r['platform']:8s} {r['model']:12s} {r['method']:18s} {r['pes']:6d} {r['buffer_bytes']:9d} "
                     f"{r['latency_cycles']:12.0f} {ratio:>6s} {hit if hit is not None else '-':>11}")
    return "\n".join(lines)


def batchdvfs_table(results: dict) -> str:
    """Per power cap and search: batch, V/F point, throughput, power, evaluations."""
    head = f"{'cap W':>7s} {'method':16s} {'batch':>5s} {'V':>5s} {'MHz':>7s} {'images/s':>9s} {'power W':>8s} " \
           f"{'evals':>6s} {'gap %':>6s}"
    lines = [head, "-" * len(head)]
    for r in results["batchdvfs"]:
        if r["batch"] is None:
            lines.append(f"{r['power_cap_w']:7.3g} {r['method']:16s} nothing meets the cap ({r['evaluations']} evals)")
            continue
        lines.append(f"{r['power_cap_w']:7.3g} {r['method']:16s} {r['batch']:5d} {r['voltage_v']:5.2f} "
                     f"{r['frequency_hz'] / 1e6:7.1f} {r['throughput']:9.1f} {r['power_w']:8.3f} {r['evaluations']:6d} "
                     f"{r['gap_pct']:6.2f}")
    return "\n".join(lines)


def _policy_row(p, policy: tuple[int, ...], bit_acc: float) -> dict:
    """A chosen policy for results.json: per-layer L, V/F point, estimate, proxy and bit-true
    scores on the search images, and `bit_accuracy` on the test images."""
    proxy, out = p.evaluate(tuple(policy)), p.evaluate(tuple(policy), bit=True)
    d = p.describe(tuple(policy))
    layers = ([{"layer": n, "bits": a, "weight_bits": w} for n, (a, w) in d["bits"].items()] if p.binary
              else [{"layer": n, "stream_length": L} for n, L in d["stream_lengths"].items()])
    return {"layers": layers,
            "operating_point": {"voltage_v": d["voltage_v"], "frequency_hz": d["frequency_hz"]},
            "latency_s": d["latency_s"], "energy_j": d["energy_j"], "latency_norm": out.latency,
            "energy_norm": out.energy, "proxy_accuracy": proxy.accuracy, "proxy_reward": proxy.reward,
            "bit_accuracy_search": out.accuracy, "bit_accuracy": bit_acc, "reward": out.reward, "policy": list(policy)}


def run_evolver(model, name: str, ds, accel: AccelConfig, out: str | Path, lengths: tuple,
                episodes: int = 300, eval_images: int = 500, final_images: int = 2000, calib_images: int = 500,
                acc_drop: float = 2.0, latency_th: float = 0.5, energy_th: float = 0.5, samples: int = 16,
                seed: int = 0, progress: bool = True, shaping: float = 0.0) -> dict:
    """Evolver-style Q-learning of per-layer precision (stream lengths on an SC array; on a
    binary array `lengths` holds (activation, weight) bit pairs) and a V/F point on `ds`: the
    search on the last `eval_images` training images (expected-mode proxy), the
    chosen policy and the best uniform-L design bit-true on the first `final_images` test
    images. A policy under the accuracy threshold gets R = shaping x A (0: the paper's reward).
    Checkpoints the learner and its caches every 25 episodes; a rerun resumes."""
    _check_evolver(accel, episodes, eval_images, final_images, calib_images, samples, acc_drop, seed, shaping)
    p, float_acc = _evolver_problem(model, ds, accel, lengths, eval_images, calib_images,
                                    (acc_drop, latency_th, energy_th), samples, seed, shaping)
    settings = {"command": "dse", "search": "evolver", "model": name, "dataset": ds.name, "accel": accel.name,
                "choices": [list(c) if p.binary else c for c in p.choices], "episodes": episodes,
                "eval_images": eval_images,
                "final_images": final_images, "calib_images": calib_images, "acc_drop": acc_drop,
                "latency_th": latency_th, "energy_th": energy_th, "shaping": shaping, "samples": samples, "seed": seed}
    with claim_run_dir(out, "dse") as run:
        _check_same(run, settings)
        write_toml({**settings, "accel_config": json.dumps(accel.to_dict()), "run": run_meta()}, run / "config.toml")
        calibration = p.calibrate()  # deterministic: redone on resume (one bit-true pass per layer)
        ql = _learn(p, run / "checkpoint.json", episodes, seed, progress)
        results = {"search": "evolver", "model": name, "dataset": ds.name, "accel": accel.name,
                   "objective": "1 - reward (R = a A - b L - c E)", "seed": seed,
                   "thresholds": {"accuracy": p.th.accuracy, "latency": p.th.latency, "energy": p.th.energy,
                                  "a": p.th.a, "b": p.th.b, "c": p.th.c, "shaping": p.th.shaping},
                   "float_accuracy": float_acc, "proxy_calibration": calibration,
                   **_evolver_outcome(p, ql, ds, final_images, episodes)}
        write_json(results, run / "results.json")
    return results


def _check_evolver(accel: AccelConfig, episodes: int, eval_images: int, final_images: int, calib_images: int,
                   samples: int, acc_drop: float, seed: int, shaping: float = 0.0) -> None:
    """One sentence for the first bad setting of an Evolver run."""
    for what, v in (("episodes", episodes), ("eval-images", eval_images), ("final-images", final_images),
                    ("calib-images", calib_images), ("samples", samples)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise DSEInputError(f"--{what} {v!r} must be a positive integer.")
    check_int("--episodes ", episodes, 1, MAX_EPISODES, "each scores one policy; the default is 300")
    check_int("--samples ", samples, 1, MAX_SAMPLES, "Gaussian draws per image")
    check_seed(seed)
    check_accel(accel)
    if not 0.0 <= acc_drop <= 100.0:
        raise DSEInputError(f"--acc-drop {acc_drop!r} must be a number of percentage points in [0, 100].")
    check_shaping(shaping)


def check_shaping(shaping: object) -> None:
    """The reward factor under the accuracy threshold: a number in [0, 1] (NaN fails too)."""
    if isinstance(shaping, bool) or not isinstance(shaping, (int, float)) or not 0.0 <= shaping <= 1.0:
        raise DSEInputError(f"--shaping {shaping!r} must be a number in [0, 1] (the reward under the accuracy "
                            "threshold is shaping x A; 0 is the paper's).")


def _evolver_problem(model, ds, accel: AccelConfig, lengths: tuple, eval_images: int, calib_images: int,
                     thresholds: tuple[float, float, float], samples: int, seed: int, shaping: float = 0.0) -> tuple:
    """The Evolver problem on the last `eval_images` training images, its accuracy threshold
    `acc_drop` points under the float model's accuracy there; returns (problem, float accuracy)."""
    acc_drop, latency_th, energy_th = thresholds
    x_eval = torch.as_tensor(ds.x_train[-eval_images:]).double()
    y_eval = np.asarray(ds.y_train[-eval_images:])
    calib = torch.as_tensor(ds.x_train[:calib_images]).double()
    float_acc = top1_accuracy(model, x_eval, y_eval)
    th = Thresholds(max(0.0, float_acc - acc_drop / 100.0), latency_th, energy_th, shaping=shaping)
    layers = workload(model, (1,) + tuple(ds.input_shape))
    menu = {"bit_pairs": tuple(lengths)} if accel.kind != "sc" else {"lengths": tuple(lengths)}
    return EvolverProblem(model, layers, accel, x_eval, y_eval, calib, th, samples=samples, seed=seed,
                          **menu), float_acc


def _learn(p, ck: Path, episodes: int, seed: int, progress: bool):
    """Q-learning over `episodes`, resumed from checkpoint `ck` when there is one, saved there
    (learner and caches) at every checkpoint step."""
    learner = _resume_learner(ck, p, episodes) if ck.is_file() else None
    bar = progress_bar(total=episodes, initial=learner.episode if learner else 0, desc="evolver episodes",
                       disable=not progress)

    def save(ql) -> None:
        bar.update(ql.episode - bar.n)
        write_json({"learner": ql.to_dict(), **p.cache_state()}, ck)

    ql = evolve(p, episodes, seed=seed, learner=learner, on_step=save)
    bar.close()
    return ql


def _evolver_outcome(p, ql, ds, final_images: int, episodes: int) -> dict:
    """The search's history and counts, its verified policy and the best uniform design, both
    bit-true on the first `final_images` test images."""
    search_counts = dict(p.counts)
    x_test = torch.as_tensor(ds.x_test[:final_images]).double()
    y_test = np.asarray(ds.y_test[:final_images])
    evaluated = p.scored()
    best, verification = verify(p, ql.top)
    chosen = _policy_row(p, best, p.bit_accuracy(best[:-1], x_test, y_test)) if best else None
    if chosen and not p.binary:  # the SCConfig it was scored with (`scnas finetune --sc-config` reads it)
        chosen["sc_config"] = p.config(best[:-1], mode="bit").to_dict()
    u_policy, _ = uniform_best(p)
    uniform = _policy_row(p, u_policy, p.bit_accuracy(u_policy[:-1], x_test, y_test)) if u_policy else None
    values = [1.0 - h["best"] if math.isfinite(h["best"]) else 1.0 for h in ql.history]
    return {"history": improvements(values, "Q-learning"),
            "evolver": {"policies": search_counts["policies"], "skipped": search_counts["skipped"],
                        "accuracy_evaluations": search_counts["accuracy_evaluations"],
                        "estimates": search_counts["estimates"], "episodes": episodes,
                        "verification": verification, "evaluated": evaluated,
                        **(chosen or {"layers": [], "operating_point": {}})},
            "uniform": uniform}


def _resume_learner(ck: Path, p, episodes: int):
    """The Q-learner of a checkpoint, its caches loaded into `p`; None (with a note on stderr,
    `p` unchanged) when the file is damaged: the search then starts over, which gives the same
    results (it is seeded)."""
    try:
        saved = json.loads(ck.read_bytes().decode("utf-8"))
        learner = QLearner.from_dict(saved["learner"])
        learner.check(p, episodes)
        p.load_cache_state(saved)  # all or nothing
        return learner
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, IndexError, AttributeError,
            RecursionError) as e:
        print(f"scnas dse: warning: {ck} is damaged ({type(e).__name__}); the search starts over.", file=sys.stderr)
        return None


def evolver_table(results: dict) -> str:
    """The chosen per-layer policy against the best uniform-L design."""
    lines = []
    ev, un = results["evolver"], results.get("uniform")
    th = results["thresholds"]
    for c in results.get("proxy_calibration", []):
        lines.append(f"proxy calibration {c['layer']} at L = {c['stream_length']}: bit-true "
                     f"{100 * c['bit_accuracy']:.2f}%, unscaled proxy {100 * c['proxy_unscaled']:.2f}%, "
                     f"variance x {c['variance_scale']:.3g}")
    lines.append(f"thresholds: accuracy > {100 * th['accuracy']:.2f}%, latency < {th['latency']}, energy < "
                 f"{th['energy']} (normalised); policies {ev['policies']}, skipped {ev['skipped']} "
                 f"({100 * ev['skipped'] / max(ev['policies'], 1):.1f}%), accuracy evaluations "
                 f"{ev['accuracy_evaluations']}")
    ver = ev.get("verification", [])
    lines.append(f"bit-true check of the search's best {len(ver)} policies on the search images: "
                 f"{sum(v['meets'] for v in ver)} still meet the thresholds")
    head = f"{'design':10s} {'per-layer precision':28s} {'V':>5s} {'MHz':>6s} {'test bit %':>10s} " \
           f"{'search bit %':>12s} " \
           f"{'proxy %':>7s} {'latency us':>10s} {'energy uJ':>9s} {'reward':>7s}"
    lines += [head, "-" * len(head)]
    for label, r in (("Q-learning", ev if ev.get("layers") else None), ("uniform", un)):
        if not r:
            lines.append(f"{label:10s} no design met the thresholds")
            continue
        ls = ",".join(str(x["stream_length"]) if "stream_length" in x else f"{x['bits']}/{x['weight_bits']}"
                      for x in r["layers"])
        op = r["operating_point"]
        lines.append(f"{label:10s} {ls:28s} {op['voltage_v']:5.2f} {op['frequency_hz'] / 1e6:6.1f} "
                     f"{100 * r['bit_accuracy']:10.2f} {100 * r['bit_accuracy_search']:12.2f} "
                     f"{100 * r['proxy_accuracy']:7.2f} {r['latency_s'] * 1e6:10.1f} {r['energy_j'] * 1e6:9.2f} "
                     f"{r['reward']:7.4f}")
    return "\n".join(lines)
