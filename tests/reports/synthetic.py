"""Small hand-written result files of every run kind, as the scnas commands write them."""

from __future__ import annotations

import json
from pathlib import Path


def emulate_results(seeds: tuple[int, ...] = (0,), modules: bool = False) -> dict:
    """Two generators (LFSR, Sobol) at three lengths, once per seed (seed k adds 0.01 k to the
    accuracy); `modules`: with the graph-name -> module-path map newer runs write."""
    cfg = {"sng": "lfsr", "share": 1, "upscale": True, "maxpool": "or", "mode": "bit", "seed": 0}
    settings = []
    for seed in seeds:
        for sng, accs in (("lfsr", (0.50, 0.80, 0.88)), ("sobol", (0.70, 0.86, 0.89))):
            for L, a, e in zip((64, 256, 1024), accs, (0.2, 0.1, 0.05)):
                settings.append({"config": {**cfg, "sng": sng, "stream_length": L, "seed": seed},
                                 "accuracy": a + 0.01 * seed, "n_images": 100,
                                 "layer_error": {"conv1": e / 2, "features_3": e, "fc": 1.5 * e}})
    res = {"model": "lenet5", "dataset": "digits", "n_images": 100, "float_accuracy": 0.9,
           "fixed_point": {"bits": 8, "accuracy": 0.895}, "settings": settings}
    if modules:
        res["layer_modules"] = {"conv1": "conv1", "features_3": "features.3", "fc": "fc"}
    return res


def _total(accel: str, kind: str, lat: float, e: float, area: float, L: int | None = None, df: str = "ws") -> dict:
    t = {"accel": accel, "kind": kind, "dataflow": df, "latency_s": lat, "energy_pj": e, "area_um2": area,
         "dram_bytes": 1e4, "utilization": 0.5, "energy_mac_pj": 0.6 * e, "energy_dram_pj": 0.4 * e}
    if L is not None:
        t.update(stream_length=L, weight_stream="regen")
    return t


def estimate_results() -> dict:
    totals = [_total("systolic-32x32-ws", "systolic", 1e-4, 2e7, 4e6),
              _total("spatial-16x16-kcp", "spatial", 2e-4, 3e7, 2e6, df="kcp")]
    totals += [_total(f"sc-64x64-L{L}", "sc", 1e-4 * L, 1e7 * L / 32, 1.5e6, L, "kcp") for L in (32, 128, 512)]
    layers = ("conv1", "conv2", "fc")
    return {"model": "lenet5", "input_shape": [1, 1, 28, 28], "cost_table": "default",
            "estimates": [{"accel": {"name": t["accel"]}, "total": t,
                           "layers": [{"name": n, "latency_s": t["latency_s"] / 3, "energy_pj": t["energy_pj"] / 3}
                                      for n in layers]} for t in totals]}


def train_results() -> dict:
    return {"model": "lenet5", "dataset": "digits", "test_accuracy": 0.9,
            "history": [{"epoch": i, "loss": 1.0 / i, "test_accuracy": 0.8 + 0.03 * i, "seconds": 1.0}
                        for i in (1, 2, 3)]}


def recast_results(seed: int = 0) -> dict:
    def m(name, role, acc, params, act, cpu, lat):
        return {"name": name, "role": role, "accuracy": acc, "params": params, "macs": 10 * params,
                "activation_bytes": act, "cpu_latency_s": cpu, "latency_s": {"binary": lat, "sc": 50 * lat},
                "energy_pj": {"binary": 1e6, "sc": 2e6}}
    return {"teacher": "resnet20", "dataset": "fashion-mnist", "plan": "dwsep", "seed": seed,
            "models": [m("resnet20", "teacher", 0.92, 270_000, 400_000, 4e-3, 2e-4),
                       m("dwsep", "student", 0.915, 90_000, 300_000, 2e-3, 1e-4),
                       m("scratch", "baseline", 0.90, 90_000, 300_000, 2e-3, 1e-4),
                       m("pruned", "baseline", 0.91, 90_000, 400_000, 3.6e-3, 1.8e-4)],
            "block_history": [{"block": b, "epoch": e, "loss": 1.0 / (e + b)} for b in range(3) for e in (1, 2, 3)]}


def search_results(method: str = "inheritednas-latency", seed: int = 0) -> dict:
    cands = [{"accuracy": 0.80 + 0.01 * i, "latency_s": 1e-4 * (1 + i)} for i in range(5)]
    cands.append({"accuracy": 0.81, "latency_s": 4e-4})  # dominated
    return {"method": method, "seed": seed, "dataset": "fashion-mnist", "accel": "systolic-32x32-ws",
            "candidates": cands, "final": {"accuracy": 0.85 + 0.01 * seed, "latency_s": 3e-4, "params": 20_000 + seed,
                                           "macs": 9e6, "memory_bytes": 3e6, "energy_pj": 4e7,
                                           "sc_accuracy": 0.8},
            "search_seconds": 100.0 + 10 * seed,
            "stages": [{"name": "stage1", "ops": ["sep3", "skip", "sep3"],
                        "edges": [["in", "c0.n1", "sep3"], ["in", "c0.n2", "skip"], ["c0.n1", "c0.n2", "sep3"]]},
                       {"name": "stage2", "ops": ["sep5", "max3", "dil3"]}]}


def dse_confuciux() -> dict:
    """Two platforms, four methods; random search on the edge platform ends over its buffer
    budget (6,112 B against 4,096 B: feasible false), as real runs can."""
    hist = [{"method": f"{p}/resnet20: {m}", "evaluation": e, "value": v * (1 if p == "edge" else 0.5)}
            for p in ("edge", "cloud")
            for m, vals in (("rl", (9.0, 7.0, 8.0, 5.0)), ("random", (9.5, 9.0, 8.5, 8.8)))
            for e, v in enumerate(vals, 1)]
    table = [{"platform": p, "model": "resnet20", "method": m, "pes": 256, "buffer_bytes": 4096,
              "latency_cycles": c, "feasible": True, "value": c}
             for p in ("edge", "cloud") for m, c in (("baseline", 9e5), ("rl", 6e5), ("rl+ga", 5e5), ("random", 7e5))]
    table[3].update(buffer_bytes=6112, latency_cycles=1.55e7, feasible=False, value=3.1e7)
    return {"search": "confuciux", "model": "resnet20", "objective": "latency", "history": hist,
            "table": table}


def dse_batchdvfs() -> dict:
    """Two power caps, two methods; under the lower cap no batch fits (batch None)."""
    rows = [{"power_cap_w": cap, "model": "lenet5", "method": m, "batch": b, "voltage_v": 0.8, "frequency_hz": 4e8,
             "throughput": tp, "power_w": 0.9 * cap, "evaluations": ev, "gap_pct": 0.0, "optimal": True}
            for cap, b, tp in ((1.0, None, 0.0), (5.0, 64, 1.2e4)) for m, ev in (("exhaustive", 400), ("tpe", 60))]
    return {"search": "batchdvfs", "model": "lenet5", "objective": "seconds per image (1 / throughput)",
            "history": [{"method": f"{c:g} W: tpe", "evaluation": e, "value": 1e-3 / e} for c in (1.0, 5.0)
                        for e in range(1, 4)], "batchdvfs": rows}


def dse_evolver() -> dict:
    return {"search": "evolver", "model": "lenet5", "objective": "negative reward",
            "history": [{"method": "q-learning", "evaluation": e, "value": 1.0 / e} for e in range(1, 6)],
            "evolver": {"policies": 100, "skipped": 37,
                        "layers": [{"layer": "conv1", "stream_length": 256}, {"layer": "fc", "stream_length": 64}],
                        "operating_point": {"voltage_v": 0.8, "frequency_hz": 4e8}}}


def write_run(root: Path, name: str, results: dict, command: str | None = None, seed: int = 3,
              settings: dict | None = None) -> Path:
    """A run directory with results.json and, when command is given, a config.toml naming it, its
    seed and any other `settings` (integers or strings)."""
    run = root / name
    run.mkdir(parents=True, exist_ok=True)
    (run / "results.json").write_text(json.dumps(results))
    if command:
        extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in (settings or {}).items())
        (run / "config.toml").write_text(f'command = "{command}"\nseed = {seed}\n{extra}\n[run]\n'
                                         f'argv = "scnas {command} --out {name}"\nversion = "0.1.0"\n'
                                         'date = "2026-12-01 10:00 UTC"\n')
    return run
