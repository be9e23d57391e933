"""The ConfuciuX resource-assignment search as one call: every method on one (model, platform)
at the same number of evaluations, the exact optimum where it can be computed, and the best
design's full estimate from `sc_accel.hw.estimate`.

    from sc_accel.dse import assign_resources, PLATFORMS
    res = assign_resources(model, (1, 3, 32, 32), accel, PLATFORMS["edge"], budget=2000, seed=0)
    res.best, res.estimate.total["latency_cycles"], res.traces["RL"].values
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as tnn

from sc_accel.dse import baselines as B
from sc_accel.dse.confuciux import confuciux, reinforce
from sc_accel.dse.space import AllocationProblem, DSEInputError, Platform, Trace, check_int, check_seed, improvements
from sc_accel.hw.config import AccelConfig
from sc_accel.hw.estimate import Estimate, estimate
from sc_accel.hw.workload import WorkLayer, as_layers

__all__ = ["AssignResult", "AssignTask", "assign_resources", "assign_job", "check_budget", "check_agents", "AGENTS",
           "METHODS", "MAX_BUDGET"]

AGENTS = ("masked", "unmasked")
METHODS = ("baseline-dla", "RL", "RL+GA", "RL (unmasked)", "RL+GA (unmasked)", "random", "GA", "SA")
MAX_BUDGET = 1_000_000  # evaluations per method: 500x the default; the searches converge within a few thousand


def check_budget(budget: object, name: str = "budget=") -> None:
    """Evaluations per method: an integer from 2 to MAX_BUDGET (checked before any work)."""
    check_int(name, budget, 2, MAX_BUDGET, "evaluations per method; 500 times the default 2,000, more than any "
              "search here needs")


def check_agents(agents: object) -> tuple[str, ...]:
    """The RL agents to run: a non-empty tuple of "masked" and/or "unmasked"."""
    if (not isinstance(agents, (tuple, list)) or not agents or len(set(agents)) != len(agents)
            or any(a not in AGENTS for a in agents)):
        raise DSEInputError(f"agents={agents!r} must name masked, unmasked or both, each once.")
    return tuple(a for a in AGENTS if a in agents)


@dataclass
class AssignResult:
    """Traces of every method, the exact optimum (None where the DP grid is too large), and
    the best design found by ConfuciuX (RL+GA, the first agent run) with its estimate."""

    problem: AllocationProblem
    traces: dict[str, Trace]
    optimum: Trace | None
    estimate: Estimate

    @property
    def best(self) -> list[dict]:
        """Per-layer allocation of the ConfuciuX (RL+GA) design."""
        return self.problem.design_dict(self.confuciux.best)

    @property
    def confuciux(self) -> Trace:
        """The RL+GA trace of the first agent run (masked, unless only unmasked was asked)."""
        return _confuciux(self.traces)


def assign_resources(model: tnn.Module | list[WorkLayer], input_shape: tuple[int, ...] | None, accel: AccelConfig,
                     platform: Platform, objective: str = "latency", deployment: str = "sequential",
                     budget: int = 2000, seed: int = 0, exhaustive: bool = False,
                     agents: tuple[str, ...] = AGENTS) -> AssignResult:
    """Run ConfuciuX for each agent in `agents` (masked, unmasked): RL alone on the whole
    budget (the reference's `--alg RL`) and RL+GA; and the baselines (the uniform
    NVDLA-like assignment, random, GA, simulated annealing), `budget` evaluations each;
    `exhaustive` also enumerates the space (small spaces only), whose best must equal the DP
    optimum."""
    check_budget(budget)
    check_seed(seed)
    agents = check_agents(agents)
    layers = as_layers(model, input_shape)
    p = AllocationProblem(layers, accel, platform, objective, deployment)
    traces = {"baseline-dla": B.dla_baseline(p)}
    for agent in agents:
        mask, suffix = agent == "masked", "" if agent == "masked" else " (unmasked)"
        traces["RL" + suffix] = reinforce(p, budget, seed, mask=mask)
        traces["RL+GA" + suffix] = confuciux(p, budget, seed, mask=mask).rl_ga
    traces |= {"random": B.random_search(p, budget, seed + 2), "GA": B.genetic(p, budget, seed + 3),
               "SA": B.annealing(p, budget, seed + 4)}
    if exhaustive:
        traces["exhaustive"] = B.exhaustive(p)
    best = _estimated(p, traces)
    est = estimate(layers, None, p.accel_for(best.best), p.table)
    return AssignResult(p, traces, B.optimum(p), est)


def _confuciux(traces: dict[str, Trace]) -> Trace:
    """The first RL+GA trace (the first agent's)."""
    return next(t for k, t in traces.items() if k.startswith("RL+GA"))


def _within(p: AllocationProblem, t: Trace) -> bool:
    """Whether a search's best design is within every cap."""
    return bool(np.isfinite(t.best_value) and p.score(t.best[None])["feasible"][0])


def _estimated(p: AllocationProblem, traces: dict[str, Trace]) -> Trace:
    """The design whose full estimate is reported: ConfuciuX's (the first RL+GA trace) when it
    is within the budget, else the best design within it (the uniform baseline always is:
    an unmasked agent may end over budget, and its rows are still reported)."""
    cx = _confuciux(traces)
    if _within(p, cx):
        return cx
    ok = [t for t in traces.values() if _within(p, t)]
    if not ok:
        raise DSEInputError(f"no search found a design within the {p.platform.name} budget; raise the budget "
                            "or give larger menus.")
    return min(ok, key=lambda t: t.best_value)


def _row(p: AllocationProblem, t: Trace, model: str, optimum: float | None) -> dict:
    s = {k: v[0].item() for k, v in p.score(t.best[None]).items()}
    return {"platform": p.platform.name, "model": model, "method": t.method, "pes": int(s["pes"]),
            "buffer_bytes": int(s["buffer_bytes"]), "latency_cycles": float(s["latency_cycles"]),
            "energy_pj": float(s["energy_pj"]), "power_w": float(s["power_w"]), "area_um2": float(s["area_um2"]),
            "feasible": bool(s["feasible"]), "value": t.best_value,
            "evaluations": t.evaluations,
            "evals_to_within_5pct": t.evals_to_within(optimum) if optimum is not None else None,
            "allocation": p.design_dict(t.best)}


@dataclass(frozen=True)
class AssignTask:
    """One (model, platform) search of `assign_job`: picklable (frozen dataclasses only), so
    it runs the same inline, in a process pool or on Ray."""

    model: str  # the model's name, carried into the rows and the task file's name
    layers: tuple[WorkLayer, ...]
    accel: AccelConfig
    platform: Platform
    objective: str = "latency"
    deployment: str = "sequential"
    budget: int = 2000
    seed: int = 0
    agents: tuple[str, ...] = AGENTS


def assign_job(task: AssignTask) -> dict:
    """One (model, platform) search, for a process pool or Ray. Returns the table rows, the
    convergence history and the best design's estimate totals (plain data: a task file)."""
    torch.set_num_threads(1)  # the same numbers in a pool, on Ray or inline
    res = assign_resources(list(task.layers), None, task.accel, task.platform, task.objective, task.deployment,
                           task.budget, task.seed, agents=task.agents)
    opt = res.optimum.best_value if res.optimum is not None and np.isfinite(res.optimum.best_value) else None
    rows = [_row(res.problem, t, task.model, opt) for t in res.traces.values()]
    if res.optimum is not None:
        exact = {"method": "optimum (DP)", "evals_to_within_5pct": None}  # the reference, not a search
        rows.append(_row(res.problem, res.optimum, task.model, opt) | exact)
    prefix = f"{task.platform.name}/{task.model}: "
    hist = [h for t in res.traces.values() if t.evaluations > 1 for h in improvements(t.values, prefix + t.method)]
    return {"platform": task.platform.name, "model": task.model, "rows": rows, "history": hist,
            "estimate": res.estimate.total, "optimum": opt}
