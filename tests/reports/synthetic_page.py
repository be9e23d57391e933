"""Run directories for the report page's tests: every kind of run, the three dse searches with
designs over their budget, and two seeds of one emulate setting (built on synthetic.py)."""

from __future__ import annotations

from pathlib import Path

from tests.reports import synthetic as syn


def confuciux_with_budget() -> dict:
    """ConfuciuX results whose cheapest design (edge, rl) is over the platform budget."""
    res = syn.dse_confuciux()
    for i, row in enumerate(res["table"]):
        over = (row["platform"], row["method"]) == ("edge", "rl")
        row.update(energy_pj=1e3 if over else 5e6 + 1e6 * i, feasible=not over)
    return res


def batchdvfs() -> dict:
    """BatchDVFS results: two caps, the lower met by no batch."""
    rows = [{"power_cap_w": cap, "model": "lenet5", "method": m, "batch": b, "voltage_v": v, "frequency_hz": f,
             "throughput": tp, "power_w": p, "evaluations": ev, "gap_pct": 0.0, "optimal": b is not None}
            for cap, m, b, v, f, tp, p, ev in ((0.5, "batchdvfs", None, None, None, 0.0, 0.0, 60),
                                               (2.0, "batchdvfs", 32, 0.9, 6e8, 8000.0, 1.8, 60),
                                               (2.0, "exhaustive", 64, 0.9, 6e8, 8100.0, 1.9, 900))]
    hist = [{"method": "batchdvfs", "evaluation": e, "value": 1.0 / (1000 * e)} for e in range(1, 5)]
    return {"search": "batchdvfs", "model": "lenet5", "objective": "seconds per image (1 / throughput)",
            "accel": "systolic-32x32-ws", "history": hist, "batchdvfs": rows}


def evolver_scored() -> dict:
    """Evolver results with the chosen policy's estimate and bit-true accuracy."""
    res = syn.dse_evolver()
    res.update(dataset="digits", float_accuracy=0.9)
    res["evolver"].update(latency_s=2e-5, energy_j=3e-7, bit_accuracy=0.87)
    return res


def emulate_seed(seed: int) -> dict:
    """One emulate run of lenet5 at `seed`: the bit-true accuracy moves a little with it."""
    res = syn.emulate_results()
    res["n_images"] = 1000
    for s in res["settings"]:
        s["config"]["seed"], s["n_images"] = seed, 1000
        s["accuracy"] = round(s["accuracy"] - 0.01 * seed, 4)
    return res


def page_runs(root: Path) -> list[Path]:
    """Every kind of run the page shows: emulate (two seeds), estimate, train, recast, search
    and the three dse searches."""
    return [syn.write_run(root, "emu-s0", emulate_seed(0), "emulate", seed=0),
            syn.write_run(root, "emu-s1", emulate_seed(1), "emulate", seed=1),
            syn.write_run(root, "est", syn.estimate_results(), "estimate"),
            syn.write_run(root, "teacher", syn.train_results(), "train"),
            syn.write_run(root, "recast", syn.recast_results(0), "recast"),
            syn.write_run(root, "nas", syn.search_results(), "search"),
            syn.write_run(root, "cfx", confuciux_with_budget(), "dse"),
            syn.write_run(root, "dvfs", batchdvfs(), "dse"),
            syn.write_run(root, "evo", evolver_scored(), "dse")]
