"""The page's headline: the best design per objective and each model's accuracies, read from
the runs' results (plain data, so html.py only lays it out).

Designs come from estimate (one per accelerator), recast (each model on each preset), search
(the final network) and dse runs (ConfuciuX table rows, BatchDVFS picks, the Evolver policy).
A design over its budget (ConfuciuX `feasible: false`, a BatchDVFS cap nothing meets) is kept
for the tables but never ranked best. ConfuciuX gives latency in cycles, not seconds, so its
rows rank on energy only.
"""

from __future__ import annotations


import math
from dataclasses import dataclass, field

from reports.runs import Run, setting_key
from reports.tables import over_budget

__all__ = ["Design", "Accuracy", "ModelAccuracy", "OBJECTIVES", "designs", "best_designs", "model_accuracies"]

# (field of Design, what the page calls it, whether higher is better)
OBJECTIVES = (("latency_s", "lowest latency", False), ("energy_pj", "lowest energy", False),
              ("area_um2", "smallest area", False), ("accuracy", "highest accuracy", True))
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError)


@dataclass
class Design:
    """One design a run measured; None where the run does not give that number."""

    run: str
    kind: str
    model: str
    name: str
    latency_s: float | None = None
    energy_pj: float | None = None
    area_um2: float | None = None
    accuracy: float | None = None
    accuracy_kind: str = "float"  # or "SC bit-true"
    feasible: bool = True
    dataset: str = "-"  # the task the design was measured on ("-": a workload without data, e.g. estimate)


def _num(v: object) -> float | None:
    """v as a finite float, else None (a missing or malformed number is never ranked)."""
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    return float(v) if ok else None


def _estimate(run: Run) -> list[Design]:
    res = run.results
    return [Design(run.name, run.kind, res["model"], e["total"]["accel"], _num(e["total"]["latency_s"]),
                   _num(e["total"]["energy_pj"]), _num(e["total"]["area_um2"])) for e in res["estimates"]]


def _recast(run: Run) -> list[Design]:
    return [Design(run.name, run.kind, m["name"], f"{m['name']} on the {preset} preset", _num(lat),
                   _num(m.get("energy_pj", {}).get(preset)), accuracy=_num(m["accuracy"]),
                   dataset=str(run.results.get("dataset", "-")))
            for m in run.results["models"] for preset, lat in m["latency_s"].items()]


def _search(run: Run) -> list[Design]:
    res, f = run.results, run.results["final"]
    name = f"{res['method']} network (seed {res.get('seed', '-')}) on {res.get('accel', 'its accelerator')}"
    return [Design(run.name, run.kind, "searched network", name, _num(f["latency_s"]), _num(f.get("energy_pj")),
                   accuracy=_num(f["accuracy"]), dataset=str(res.get("dataset", "-")))]


def _dse(run: Run) -> list[Design]:
    res, model = run.results, run.results.get("model", "-")
    out = [Design(run.name, run.kind, r["model"], f"{r['platform']}: {r['method']}, {r.get('pes', '-')} PEs",
                  energy_pj=_num(r.get("energy_pj")), feasible=not over_budget(r))
           for r in res.get("table", [])]
    for r in res.get("batchdvfs", []):
        ok = r.get("batch") is not None and (_num(r.get("throughput")) or 0) > 0
        out.append(Design(run.name, run.kind, r["model"], f"{r['method']} under {r['power_cap_w']:g} W"
                          + (f", batch {r['batch']}" if ok else ""), r["batch"] / r["throughput"] if ok else None,
                          r["power_w"] / r["throughput"] * 1e12 if ok else None, feasible=ok))
    ev = res.get("evolver", {})
    if _num(ev.get("latency_s")) is not None:
        out.append(Design(run.name, run.kind, model, "Evolver policy", _num(ev["latency_s"]),
                          1e12 * ev["energy_j"], accuracy=_num(ev.get("bit_accuracy")), accuracy_kind="SC bit-true",
                          dataset=str(res.get("dataset", "-"))))
    return out


_DESIGNS = {"estimate": _estimate, "recast": _recast, "search": _search, "dse": _dse}


def designs(runs: list[Run]) -> tuple[list[Design], list[str]]:
    """Every design of the runs, and a warning for each run whose designs could not be read."""
    out, warnings = [], []
    for run in runs:
        if run.kind not in _DESIGNS:
            continue
        try:
            out += _DESIGNS[run.kind](run)
        except _MALFORMED as e:
            warnings.append(f"{run.path / 'results.json'}: its designs are left out of the headline "
                            f"({type(e).__name__}: {e}).")
    return out, warnings


def best_designs(found: list[Design]) -> list[tuple[str, str, str, Design]]:
    """(dataset, field, objective, the best feasible design) per dataset and objective: designs
    are ranked only against designs measured on the same task (a network for 8x8 digits is not
    a rival of one for 28x28 Fashion-MNIST). An objective no design of a dataset gives is left out."""
    out = []
    for dataset in dict.fromkeys(d.dataset for d in found):
        mine = [d for d in found if d.dataset == dataset and d.feasible]
        for key, what, higher in OBJECTIVES:
            ranked = [d for d in mine if getattr(d, key) is not None]
            if ranked:
                out.append((dataset, key, what, (max if higher else min)(ranked, key=lambda d: getattr(d, key))))
    return out


@dataclass
class Accuracy:
    """One accuracy column of a model: the values over seeds, the images each was measured on
    (None: not recorded) and what was measured ("8-bit", "L=256")."""

    values: list[float] = field(default_factory=list)
    n: int | None = None
    setting: str = ""


@dataclass
class ModelAccuracy:
    """A model's float, fixed-point and SC (bit-true) accuracy over the runs that measured it."""

    model: str
    dataset: str
    source: str  # the kind of run
    runs: list[str] = field(default_factory=list)
    float: Accuracy = field(default_factory=Accuracy)
    fixed: Accuracy = field(default_factory=Accuracy)
    sc: Accuracy = field(default_factory=Accuracy)


# One measurement: (value, images or None, setting).
_Point = tuple[float, "int | None", str]


def _emulate_acc(run: Run) -> list[tuple[str, str, dict[str, _Point]]]:
    res = run.results
    n = res.get("n_images")
    fx = res["fixed_point"]
    cols = {"float": (res["float_accuracy"], n, ""), "fixed": (fx["accuracy"], n, f"{fx['bits']}-bit")}
    bit = [s for s in res["settings"] if s["config"]["mode"] == "bit"]
    if bit:
        s = max(bit, key=lambda s: s["accuracy"])
        c = s["config"]
        cols["sc"] = (s["accuracy"], s.get("n_images", n), f"best: L={c['stream_length']}, {c['sng']}")
    return [(res["model"], res["dataset"], cols)]


def _length(sc: dict) -> str:
    """The stream length of a run's bit-true check, as a setting ("L=256"; "" when not recorded)."""
    return f"L={sc['stream_length']}" if "stream_length" in sc else ""


def _train_acc(run: Run) -> list[tuple[str, str, dict[str, _Point]]]:
    return [(run.results["model"], run.results["dataset"], {"float": (run.results["test_accuracy"], None, "")})]


def _recast_acc(run: Run) -> list[tuple[str, str, dict[str, _Point]]]:
    res = run.results
    sc = res.get("sc_emulation", {})
    out = []
    for m in res["models"]:
        cols = {"float": (m["accuracy"], None, "")}
        key = {"teacher": "teacher_accuracy", "student": "student_accuracy"}.get(m["role"])
        if _num(sc.get(key)) is not None:
            cols["sc"] = (sc[key], sc.get("images"), _length(sc))
        out.append((m["name"], res.get("dataset", "-"), cols))
    return out


def _search_acc(run: Run) -> list[tuple[str, str, dict[str, _Point]]]:
    res, f = run.results, run.results["final"]
    sc = res.get("sc_emulation", {})
    cols = {"float": (f["accuracy"], None, "")}
    if _num(f.get("sc_accuracy")) is not None:
        cols["sc"] = (f["sc_accuracy"], sc.get("images"), _length(sc))
    return [(f"{res['method']} network", res.get("dataset", "-"), cols)]


def _dse_acc(run: Run) -> list[tuple[str, str, dict[str, _Point]]]:
    res, ev = run.results, run.results.get("evolver", {})
    if _num(res.get("float_accuracy")) is None:
        return []
    cols = {"float": (res["float_accuracy"], run.config.get("eval_images"), "")}
    if _num(ev.get("bit_accuracy")) is not None:
        cols["sc"] = (ev["bit_accuracy"], run.config.get("final_images"), "Evolver policy")
    return [(res["model"], res.get("dataset", "-"), cols)]


def _finetune_acc(run: Run) -> list[tuple[str, str, dict[str, _Point]]]:
    res = run.results
    c, n = res["sc_config"], res.get("n_test_images")
    setting = f"L={c['stream_length']}, {c['sng']}, SC-aware ({res.get('mode', '?')})"
    return [(res["model"], res["dataset"], {"float": (res["float_accuracy_after"], n, "fine-tuned"),
                                            "sc": (res["bit_accuracy_after"], n, setting)})]


_ACCURACIES = {"finetune": _finetune_acc, "emulate": _emulate_acc, "train": _train_acc, "recast": _recast_acc, "search": _search_acc,
               "dse": _dse_acc}


def model_accuracies(runs: list[Run]) -> list[ModelAccuracy]:
    """One row per model, dataset, kind of run and setting; runs whose config.toml differs only
    in the seed share a row (a value per seed, for mean ± std; a second run of a seed already
    in the row, a rerun, is not counted twice). Rows in the order given."""
    rows: dict[tuple, ModelAccuracy] = {}
    seeds: dict[tuple, set] = {}
    for run in runs:
        try:
            found = _ACCURACIES[run.kind](run) if run.kind in _ACCURACIES else []
        except _MALFORMED:
            continue  # designs() names the run; the accuracy table just leaves it out
        for model, dataset, cols in found:
            cols = {k: v for k, v in cols.items() if _num(v[0]) is not None}
            key = (model, dataset, run.kind, setting_key(run), *((k, cols[k][2]) for k in sorted(cols)))
            seed = run.meta.get("seed")
            if seed is not None and seed in seeds.setdefault(key, set()):
                continue
            if seed is not None:
                seeds[key].add(seed)
            row = rows.setdefault(key, ModelAccuracy(model, dataset, run.kind))
            row.runs.append(run.name)
            for k, (value, n, setting) in cols.items():
                acc = getattr(row, k)
                acc.values.append(float(value))
                acc.n, acc.setting = (n if isinstance(n, int) and n > 0 else None), setting
    return list(rows.values())
