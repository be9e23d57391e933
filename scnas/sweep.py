"""`scnas emulate`: accuracy of a trained model on the emulated SC accelerator over a grid of settings.

Results go to RUN/results.json after every setting (a rerun skips finished settings, so an
interrupted sweep resumes), per-layer errors to RUN/layer_errors.csv, plots via reports/.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import time
from pathlib import Path

import numpy as np
import torch

from reports.plots import setting_label
from reports.schema import problems
from sc_accel.errors import InvalidInputError, is_int
from sc_accel.graph import fx_graph
from sc_accel.metrics import top1_accuracy
from sc_accel.nn import LayerError, SCConfig, check_fits, convert, fixed_point, trace
from sc_accel.progress import bar as progress_bar
from sc_accel.runner import check_ray
from scnas.config import read_json, run_meta, write_json, write_toml
from scnas.data import Dataset
from scnas.edt_run import EDTRecorder, EDTSpec, checkpoints_for, edt_results
from scnas.rundir import claim_run_dir
from scnas.sweep_tasks import DEFAULT_CHUNK, run_settings, setting_key

MAX_WORKERS = 256  # local processes of --workers (each holds torch and a converted model: ~0.5 GB)

__all__ = ["settings_grid", "run_sweep", "check_scale_out", "setting_label", "print_table", "model_hash"]


def settings_grid(lengths: list[int], sngs: list[str], shares: list[int], upscales: list[bool],
                  maxpools: list[str], modes: list[str], seed: int, batch_size: int = 250,
                  decorrelates: list[str] | None = None, encodings: list[str] | None = None,
                  percentiles: list[float] | None = None) -> list[SCConfig]:
    """Every combination, stream length varying fastest; private SNGs (share 1) once, since
    decorrelation only re-wires shared ones."""
    decs, encs, pcts = decorrelates or ["xor"], encodings or ["unipolar"], percentiles or [100.0]
    return [SCConfig(stream_length=L, sng=g, share=s, decorrelate=d, upscale=u, maxpool=p, mode=m, seed=seed,
                     batch_size=batch_size, encoding=e, calib_percentile=q)
            for e, q, g, s, d, u, p, m, L in itertools.product(encs, pcts, sngs, shares, decs, upscales, maxpools,
                                                               modes, lengths)
            if s > 1 or d == decs[0]]


def _evaluate(model: torch.nn.Module, cfg: SCConfig, calib: torch.Tensor, x: torch.Tensor,
              y: np.ndarray, edt: EDTSpec | None = None) -> dict:
    """One setting's accuracy, per-layer error and speed; with `edt` (bit mode), run every
    EDT checkpoint too and add the "edt" entry (the full-length bits are the plain run's)."""
    t0 = time.perf_counter()
    sc = convert(model, cfg, calib)
    t1 = time.perf_counter()
    rec = EDTRecorder(sc, checkpoints_for(edt, cfg.stream_length)) if edt and cfg.mode == "bit" else None
    errors: dict[str, LayerError] = {}
    hits = 0
    batches = list(sc.batches(x))
    done = 0
    for b in progress_bar(batches, desc=f"L={cfg.stream_length} {setting_label(cfg.to_dict())}", leave=False):
        logits = sc.forward_batch(b, errors) if rec is None else rec.batch(b, errors)
        hits += int((logits.argmax(1).numpy() == y[done:done + len(b)]).sum())
        done += len(b)
    t2 = time.perf_counter()
    out = {"config": cfg.to_dict(), "accuracy": hits / len(y), "n_images": int(len(y)),
           "layer_error": {k: e.relative_rmse for k, e in errors.items()},
           "convert_seconds": t1 - t0, "run_seconds": t2 - t1, "images_per_s": len(y) / (t2 - t1)}
    if rec is not None:
        out["edt"] = edt_results(rec, edt, model, calib, x, y)
    return out


def model_hash(model: torch.nn.Module) -> str:
    """SHA-256 of the model's parameters and buffers (names, dtypes, shapes and values): the
    identity a resumed sweep is checked against, so a retrained model is never mixed in. Keys
    are hashed under the names in the model's `state_key_aliases` (plain data a zoo ResNet
    carries), so a model hashes as it did before its modules were renamed."""
    aliases = getattr(model, "state_key_aliases", {})
    h = hashlib.sha256()
    for name, t in sorted(((aliases.get(k, k), v) for k, v in model.state_dict().items()), key=lambda kv: kv[0]):
        a = t.detach().cpu().contiguous().numpy()
        h.update(f"{name}:{a.dtype}:{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def run_sweep(model: torch.nn.Module, model_name: str, ds: Dataset, configs: list[SCConfig],
              out: str | Path, limit: int | None = None, calib_n: int = 1000, fxp_bits: int = 8,
              edt: EDTSpec | None = None, workers: int = 1, ray: str | None = None,
              chunk: int = DEFAULT_CHUNK) -> dict:
    """Evaluate every config on the test set (first `limit` images), resuming from out/results.json.
    A resumed run must hold results of the same model (by content), data, calibration and EDT
    rules. With `edt`, bit-mode settings also measure early decision termination (in this
    process); the other settings run as tasks of `chunk` images (sweep_tasks), in this process,
    a pool of `workers` processes or on Ray (`ray`: "local" or a cluster address)."""
    check_scale_out(workers, ray, chunk)
    if not is_int(calib_n) or calib_n < 1:
        raise InvalidInputError(f"--calib {calib_n!r} must be a positive number of training images.")
    if limit is not None and (not is_int(limit) or limit < 1):
        raise InvalidInputError(f"--limit {limit!r} must be a positive number of test images.")
    _check_configs_fit(model, configs, ds)
    if edt is not None and any(c.layers for c in configs):
        raise InvalidInputError("--edt needs one stream length for every layer; drop the per-layer overrides.")
    if edt is not None and configs and not any(c.mode == "bit" for c in configs):
        raise InvalidInputError("--edt measures bit-true streams; add --mode bit (expected-mode settings have no "
                                "streams to stop).")
    if edt is not None:
        edt.check_lengths([c.stream_length for c in configs if c.mode == "bit"])
    with claim_run_dir(out, "emulate") as out:
        return _sweep(model, model_name, ds, configs, out, limit, calib_n, fxp_bits, edt, workers, ray, chunk)


def check_scale_out(workers: int, ray: str | None, chunk: int) -> None:
    """Refuse, before any work, task options that cannot run: --workers outside 1..MAX_WORKERS,
    --workers with --ray, a --ray address Ray cannot reach, --chunk below 1."""
    if not is_int(workers) or not 1 <= workers <= MAX_WORKERS:
        raise InvalidInputError(f"--workers {workers!r} must be a positive number of processes, at most "
                                f"{MAX_WORKERS} (a cluster is reached with --ray).")
    if ray is not None and workers > 1:
        raise InvalidInputError("give --workers N (local processes) or --ray ADDRESS (a Ray cluster), not both.")
    if not is_int(chunk) or chunk < 1:
        raise InvalidInputError(f"--chunk {chunk!r} must be a positive number of test images per task.")
    if ray is not None:
        check_ray(ray)


def _check_configs_fit(model: torch.nn.Module, configs: list[SCConfig], ds: Dataset) -> None:
    """Refuse a setting that cannot fit in memory before the run directory is touched, so a
    refused sweep writes nothing (the figures depend on shapes only: one trace serves all)."""
    calib = torch.as_tensor(ds.x_train[:2]).double()
    graph = trace(model, calib)
    for cfg in configs:
        check_fits(graph, cfg, calib)


def _sweep(model, model_name: str, ds: Dataset, configs: list[SCConfig], out: Path, limit: int | None,
           calib_n: int, fxp_bits: int, edt: EDTSpec | None = None, workers: int = 1, ray: str | None = None,
           chunk: int = DEFAULT_CHUNK) -> dict:
    n = len(ds.x_test) if limit is None else min(limit, len(ds.x_test))
    x, y = torch.as_tensor(ds.x_test[:n]).double(), ds.y_test[:n]
    calib = torch.as_tensor(ds.x_train[:calib_n]).double()
    identity = {"model": model_name, "model_sha256": model_hash(model), "dataset": ds.name, "n_images": n,
                "calib_images": int(calib.shape[0]), "fxp_bits": fxp_bits}
    if edt is not None:
        identity["edt"] = edt.identity()
    path = out / "results.json"
    res = _resume(path, identity)
    done = {setting_key(s["config"]) for s in res["settings"]}
    lengths = [s["config"]["stream_length"] for s in res["settings"]]  # what results.json holds, then adds
    lengths += [c.stream_length for c in configs if setting_key(c.to_dict()) not in done]
    write_toml({"command": "emulate", **identity, "seed": configs[0].seed if configs else None,
                "settings": lengths, "run": run_meta()}, out / "config.toml")
    res.setdefault("layer_modules", layer_modules(model))
    if "float_accuracy" not in res:
        fx = fixed_point(model, calib, fxp_bits)
        res["float_accuracy"] = top1_accuracy(model, x, y)
        res["fixed_point"] = {"bits": fxp_bits, "accuracy": float((fx(x).argmax(1).numpy() == y).mean())}
        write_json(res, path)
    grid = [setting_key(c.to_dict()) for c in configs]
    pending = [c for c, k in zip(configs, grid) if k not in done]
    by_key = {setting_key(s["config"]): s for s in res["settings"]}
    in_grid = set(grid)
    earlier = [s for k, s in by_key.items() if k not in in_grid]  # settings of earlier grids, in saved order

    def finished(entry: dict) -> None:
        """results.json after every setting: earlier grids' settings, then this grid's in grid order,
        so the file does not depend on which setting finished first (or before a kill)."""
        by_key[setting_key(entry["config"])] = entry
        res["settings"] = earlier + [by_key[k] for k in grid if k in by_key]
        write_json(res, path)

    tasked = [c for c in pending if edt is None or c.mode != "bit"]
    if tasked:
        run_settings(trace(model, calib[:2].float()), tasked, calib.numpy(), x.numpy(), y, out, identity,
                     workers=workers, ray=ray, chunk=chunk, on_setting=finished)
    inline = [c for c in pending if c not in tasked]
    for cfg in progress_bar(inline, desc="EDT settings", disable=not inline):
        finished(_evaluate(model, cfg, calib, x, y, edt))
    _write_layer_csv(res, out / "layer_errors.csv")
    return res


def layer_modules(model: torch.nn.Module) -> dict[str, str]:
    """Layer name (the fx node name the emulator reports errors under) -> module path, for every
    layer that is a module call: the report names layers by path ("features.0"), which a node
    name ("features_0") does not give back unambiguously."""
    return {n.name: str(n.target) for n in fx_graph(model).graph.nodes if n.op == "call_module"}


def _resume(path: Path, identity: dict) -> dict:
    """The results to extend: a new dict, or the saved ones when they were made with the same
    identity; otherwise one sentence naming what changed (nothing saved is dropped)."""
    fresh = {**{k: identity[k] for k in ("model", "dataset", "n_images")}, "identity": identity, "settings": []}
    if not path.exists():
        return fresh
    res = read_json(path)
    if not isinstance(res, dict) or not isinstance(res.get("settings"), list):
        raise InvalidInputError(f"{path} is not a results file of scnas emulate; delete it or give another --out.")
    saved = res.get("identity") or {k: res.get(k) for k in ("model", "dataset", "n_images")}
    keys = list(saved) + (["edt"] if "edt" in identity and "edt" not in saved else [])  # EDT asked of a plain run
    changed = [f"{k} {saved.get(k)!r} -> {identity.get(k)!r}" for k in keys if saved.get(k) != identity.get(k)]
    if changed and res["settings"]:
        raise InvalidInputError(f"{path.parent} holds results of another model or setup ({'; '.join(changed)}); "
                                "give another --out, or delete its results.json to recompute.")
    if changed:  # another setup, but no setting finished yet: start over
        return fresh
    damaged = problems("emulate", res, limit=1) if res["settings"] else []
    if damaged:  # a hand-edited or truncated file: extend nothing we cannot read back
        raise InvalidInputError(f"{path} cannot be resumed: {damaged[0]}; restore it, or give another --out.")
    if "identity" not in res:  # written before identities were kept: adopt its settings
        return {**fresh, "settings": res["settings"]}
    return res


def _write_layer_csv(res: dict, path: Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["setting", "stream_length", "layer", "relative_rmse", "module"])
        modules = res.get("layer_modules", {})
        for s in res["settings"]:
            for layer, e in s["layer_error"].items():
                w.writerow([setting_label(s["config"]), s["config"]["stream_length"], layer, f"{e:.6g}",
                            modules.get(layer, "")])


def print_table(res: dict) -> None:
    """Accuracy per setting against float and fixed point."""
    fl, fx = res["float_accuracy"], res["fixed_point"]
    print(f"{res['model']} on {res['dataset']} ({res['n_images']} test images): float {100 * fl:.2f}%, "
          f"fixed point {fx['bits']}-bit {100 * fx['accuracy']:.2f}%")
    print(f"{'setting':<44} {'L':>5} {'accuracy':>9} {'vs float':>9} {'img/s':>8}")
    for s in res["settings"]:
        c = s["config"]
        print(f"{setting_label(c):<44} {c['stream_length']:>5} {100 * s['accuracy']:>8.2f}% "
              f"{100 * (s['accuracy'] - fl):>+8.2f} {s['images_per_s']:>8.0f}")
