"""An emulate sweep split into tasks: (setting, block of test images), each a plain-data job
that converts the model for its setting, runs its images and returns sums.

Tasks run in this process, a local process pool (--workers N) or on Ray (--ray ADDRESS|local)
through sc_accel.runner, the runner the searches use. Each finished task is written at once,
atomically, to RUN/parts/, so a killed sweep redoes only the parts that are missing. A setting's
entry in results.json is merged from its parts in image order, so it does not depend on where
or in which order the parts ran: one process, a pool and Ray give the same file.

The bits of an image do not depend on the batch it runs in (SNGs restart for every image), so
the accuracy equals that of one pass over all images; per-layer error sums are added part by
part in a fixed order and kept to ERROR_DIGITS significant digits.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from sc_accel.errors import InvalidInputError
from sc_accel.graph import LayerGraph
from sc_accel.nn import LayerError, SCConfig, convert
from sc_accel.runner import run_tasks
from reports.plots import setting_label
from sc_accel.progress import bar as progress_bar, mode
from scnas.config import read_part, write_json

__all__ = ["DEFAULT_CHUNK", "emulate_task", "run_settings", "setting_key"]

DEFAULT_CHUNK = 1000  # test images per task: a few seconds of ResNet-20 at L = 256, minutes at most
# significant digits kept of a per-layer error: its float64 reference (torch's BLAS) rounds in the
# last bit differently from process to process (1e-16), which must not make two runs' files differ
ERROR_DIGITS = 10


def setting_key(config: dict) -> str:
    """Identity of a setting in results.json and in part names (its config dict, key order ignored)."""
    return json.dumps(config, sort_keys=True)


def _digest(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def emulate_task(task: dict) -> dict:
    """One part: convert task["graph"] for task["config"] on the calibration images and run the
    images; returns hits and per-layer error sums (plain data). Threads are set per task (and
    restored after), so tasks sharing a machine do not oversubscribe it; the bits do not depend
    on the count."""
    import numba
    import torch

    before = numba.get_num_threads(), torch.get_num_threads()
    threads = min(int(task["threads"]), numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(threads)
    torch.set_num_threads(threads)
    try:
        return _run_part(task)
    finally:
        numba.set_num_threads(before[0])
        torch.set_num_threads(before[1])


_CONVERTED: dict[tuple[str, str], object] = {}  # the last (identity, setting) converted in this process


def _converted(task: dict) -> object:
    """The SC model of the task's setting: converted once per process for consecutive parts of
    one setting (the parts of a run share model, calibration and setting, by their identity)."""
    import torch

    key = (task["ident"], task["key"])
    if key not in _CONVERTED:
        _CONVERTED.clear()  # one model at a time: a grid of settings must not pile up banks
        _CONVERTED[key] = convert(task["graph"], SCConfig.from_dict(task["config"]), torch.as_tensor(task["calib"]))
    return _CONVERTED[key]


def _run_part(task: dict) -> dict:
    """emulate_task's work, on the threads it set."""
    import torch

    t0 = time.perf_counter()
    sc = _converted(task)
    t1 = time.perf_counter()
    x, y = torch.as_tensor(task["x"]), np.asarray(task["y"])
    errors: dict[str, LayerError] = {}
    hits, done = 0, 0
    for b in sc.batches(x):
        logits = sc.forward_batch(b, errors)
        hits += int((logits.argmax(1).numpy() == y[done:done + len(b)]).sum())
        done += len(b)
    return {"ident": task["ident"], "key": task["key"], "start": task["start"], "stop": task["stop"], "hits": hits,
            "layers": {k: [e.sq_err, e.sq_ref, e.n] for k, e in errors.items()},
            "convert_seconds": t1 - t0, "run_seconds": time.perf_counter() - t1}


def _part_name(identity: str, key: str, start: int, stop: int) -> str:
    return f"{_digest([identity, key])[:16]}-{start}-{stop}.json"


def _count(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _seconds(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


def _part_problem(part: object, ident: str, key: str, start: int, stop: int) -> str | None:
    """Why a part file cannot stand for this part of this run (None: it can): it must be this
    run's (model, calibration, images), setting and block, with every sum of the right type and
    in range."""
    if not isinstance(part, dict) or (part.get("ident"), part.get("key"), part.get("start"),
                                      part.get("stop")) != (ident, key, start, stop):
        return "it is not this part of this run"
    if not (_count(part.get("hits")) and part["hits"] <= stop - start):
        return f"its hits are not a count from 0 to {stop - start}"
    if not (_seconds(part.get("convert_seconds")) and _seconds(part.get("run_seconds"))):
        return "its seconds are missing or not numbers >= 0"
    layers = part.get("layers")
    if not isinstance(layers, dict) or not all(isinstance(v, list) and len(v) == 3 and _seconds(v[0])
                                               and _seconds(v[1]) and _count(v[2]) for v in layers.values()):
        return "its per-layer sums are not [squared error, squared reference, count] numbers"
    return None


def _merge(cfg: SCConfig, parts: list[dict], n: int) -> dict:
    """The setting's results.json entry from its parts, summed in image order."""
    layers: dict[str, LayerError] = {}
    for p in parts:
        for name, (sq_err, sq_ref, count) in p["layers"].items():
            e = layers.setdefault(name, LayerError())
            e.sq_err += sq_err
            e.sq_ref += sq_ref
            e.n += count
    run_s = sum(p["run_seconds"] for p in parts)
    return {"config": cfg.to_dict(), "accuracy": sum(p["hits"] for p in parts) / n, "n_images": n,
            "layer_error": {k: float(f"{e.relative_rmse:.{ERROR_DIGITS}g}") for k, e in layers.items()},
            "convert_seconds": parts[0]["convert_seconds"], "run_seconds": run_s,
            "images_per_s": n / run_s if run_s > 0 else math.inf, "parts": len(parts)}


def _setting_line(entry: dict) -> None:
    """One line per finished setting when progress goes to a pipe or a file."""
    if mode() == "lines":
        c = entry["config"]
        print(f"L={c['stream_length']} {setting_label(c)}: {entry['parts']} parts, accuracy "
              f"{100 * entry['accuracy']:.2f}% ({entry['run_seconds']:.1f} s)", file=sys.stderr, flush=True)


def run_settings(graph: LayerGraph, configs: list[SCConfig], calib: np.ndarray, x: np.ndarray, y: np.ndarray,
                 run: Path, identity: dict, workers: int = 1, ray: str | None = None,
                 chunk: int = DEFAULT_CHUNK, on_setting=None) -> list[dict]:
    """Every setting's entry, from parts already in RUN/parts or computed now. `on_setting(entry)`
    is called as each setting's last part arrives (in the order they complete)."""
    parts_dir = run / "parts"
    if parts_dir.exists() and not parts_dir.is_dir():
        raise InvalidInputError(f"{parts_dir} is a file, where this run keeps its finished parts; move it away or "
                                "give another --out.")
    parts_dir.mkdir(exist_ok=True)
    ident = _digest(identity)
    n = len(x)
    spans = [(i, min(i + chunk, n)) for i in range(0, n, chunk)]
    found: dict[tuple[int, int], dict] = {}
    todo = []
    for ci, cfg in enumerate(configs):
        key = setting_key(cfg.to_dict())
        for si, (a, b) in enumerate(spans):
            path = parts_dir / _part_name(ident, key, a, b)
            part = read_part(path, lambda p, k=key, a=a, b=b: _part_problem(p, ident, k, a, b), "scnas emulate",
                             "part") if path.is_file() else None
            if part is not None:
                found[(ci, si)] = part
            else:
                todo.append({"ci": ci, "si": si, "ident": ident, "key": key, "start": a, "stop": b,
                             "config": cfg.to_dict(), "graph": graph, "calib": calib, "x": x[a:b], "y": y[a:b]})
    # in this process: every core on each task; a pool: the cores shared by the processes that run;
    # Ray: one CPU per task (the runner asks Ray for one)
    threads = 1 if ray is not None else max(1, (os.cpu_count() or 1) // max(1, min(workers, len(todo))))
    for t in todo:
        t["threads"] = threads
    entries: list[dict | None] = [None] * len(configs)
    bar = progress_bar(total=len(configs), desc="settings")

    def finish(ci: int) -> None:
        if all((ci, si) in found for si in range(len(spans))) and entries[ci] is None:
            entries[ci] = _merge(configs[ci], [found[(ci, si)] for si in range(len(spans))], n)
            _setting_line(entries[ci])
            bar.update(1)
            if on_setting is not None:
                on_setting(entries[ci])

    for ci in range(len(configs)):
        finish(ci)

    def done(j: int, res: dict) -> None:
        t = todo[j]
        write_json(res, parts_dir / _part_name(ident, t["key"], t["start"], t["stop"]))
        found[(t["ci"], t["si"])] = json.loads(json.dumps(res))  # as a resume reads it back
        if mode() == "bars":  # on a terminal, progress within a setting too
            bar.set_postfix(parts=f"{len(found)}/{len(configs) * len(spans)}")
        finish(t["ci"])

    if todo:  # nothing left to run starts no pool and no Ray
        try:
            run_tasks(emulate_task, [{k: v for k, v in t.items() if k not in ("ci", "si")} for t in todo],
                      workers=workers, ray=ray, on_done=done)
        finally:
            _CONVERTED.clear()  # the in-process cache: its banks are large
    bar.close()
    return entries  # type: ignore[return-value]
