"""BatchDVFS-style operating point under a power cap (after Nabavinejad et al., "Coordinated
Batching and DVFS for DNN Inference on GPU Accelerators", IEEE TPDS 2022): pick the batch size
and the voltage-frequency point that maximise throughput (images/s) while the average power
stays under a cap, every candidate scored by the shared estimator (`sc_accel.hw.estimate` at
that batch and operating point, power from `sc_accel.hw.power`).

Three searches, each counting the distinct (batch, V/F) pairs it had estimated:
- `exhaustive`: every pair (the reference);
- `binary_search`: the paper's: at each V/F point, binary search for the largest batch under
  the cap (it assumes power rises and throughput does not fall with the batch), then the
  point with the highest throughput;
- `bayesian`: Optuna's TPE sampler over (batch, point) with the cap as a constraint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sc_accel.dse.space import DSEInputError, check_int, check_seed, improvements
from sc_accel.hw.config import AccelConfig, OperatingPoint, check_accel
from sc_accel.hw.estimate import check_layer_names, estimate
from sc_accel.hw.power import operating_points, power_w, with_point
from sc_accel.hw.workload import WorkLayer, check_layer_list, with_batch

OPTIMAL_GAP_PCT = 0.1  # a pick within 0.1% of the exhaustive throughput counts as optimal (ties of batch sizes)
# Limits checked before any work. Exhaustive search estimates max_batch x 11 pairs per cap
# (about 2 minutes at 4,096 for ResNet-20); 4,096 is above the inference batch of any
# realistic platform. TPE's cost grows with the trials already run.
MAX_BATCH_SIZE = 4096
MAX_TRIALS = 10_000
MAX_CAPS = 64

__all__ = ["DVFSProblem", "DVFSChoice", "DVFSTask", "batchdvfs_job", "tune_batch_dvfs", "exhaustive_dvfs",
           "binary_search_dvfs", "bayesian_dvfs", "power_range", "default_caps", "check_max_batch", "check_trials",
           "check_caps", "MAX_BATCH_SIZE", "MAX_TRIALS", "MAX_CAPS"]


def check_max_batch(max_batch: object, name: str = "max_batch=") -> None:
    """The largest batch considered: an integer from 1 to MAX_BATCH_SIZE."""
    check_int(name, max_batch, 1, MAX_BATCH_SIZE, "above the inference batch of any realistic platform")


def check_trials(trials: object, name: str = "trials=") -> None:
    """Evaluations of the Bayesian optimiser per cap: an integer from 1 to MAX_TRIALS."""
    check_int(name, trials, 1, MAX_TRIALS, "TPE slows down with every trial; a few hundred are plenty")


def check_caps(caps: object) -> list[float]:
    """Power caps in W: 1 to MAX_CAPS positive finite numbers (as floats)."""
    if not isinstance(caps, (list, tuple)) or not 1 <= len(caps) <= MAX_CAPS:
        n = len(caps) if isinstance(caps, (list, tuple)) else type(caps).__name__
        raise DSEInputError(f"give 1 to {MAX_CAPS} power caps in a list, not {n}.")
    for c in caps:
        if isinstance(c, bool) or not (isinstance(c, (int, float)) and math.isfinite(c) and c > 0):
            raise DSEInputError(f"power cap {c!r} must be a positive number of watts.")
    return [float(c) for c in caps]


@dataclass
class DVFSChoice:
    """A search's pick under one cap (None fields when nothing met the cap), the number of
    distinct pairs it estimated, and its trace: 1 / throughput of each evaluation (inf when
    over the cap), lower is better."""

    method: str
    batch: int | None
    point: OperatingPoint | None
    throughput: float
    power_w: float
    evaluations: int
    trace: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"method": self.method, "batch": self.batch, "throughput": self.throughput, "power_w": self.power_w,
                "voltage_v": self.point.voltage if self.point else None,
                "frequency_hz": self.point.freq_mhz * 1e6 if self.point else None, "evaluations": self.evaluations}


class DVFSProblem:
    """One model on one accelerator: batch sizes 1..max_batch and the DVFS table. `score`
    estimates a (batch, point index) pair once and caches it; `counter()` counts the distinct
    pairs a search asked for."""

    def __init__(self, layers: list[WorkLayer], accel: AccelConfig, max_batch: int = 256,
                 points: list[OperatingPoint] | None = None) -> None:
        check_max_batch(max_batch)
        check_layer_list(layers, empty_ok=False)
        check_accel(accel)
        check_layer_names(layers, accel)
        self.layers, self.accel, self.max_batch = layers, accel, max_batch
        self.points = operating_points(accel) if points is None else list(points)
        if not self.points:
            raise DSEInputError("the list of operating points is empty; give at least one (voltage, clock).")
        self._cache: dict[tuple[int, int], dict] = {}

    def score(self, batch: int, point: int) -> dict:
        """{"throughput": images/s, "power_w", "latency_s", "energy_pj"} of one pair."""
        key = (int(batch), int(point))
        if key not in self._cache:
            accel = with_point(self.accel, self.points[key[1]])
            tot = estimate(with_batch(self.layers, key[0]), None, accel).total
            pw = power_w(tot, accel)
            self._cache[key] = {"throughput": key[0] / tot["latency_s"], "power_w": pw["power_w"],
                                "latency_s": tot["latency_s"], "energy_pj": pw["energy_with_leakage_pj"]}
        return self._cache[key]

    def counter(self) -> "_Counted":
        return _Counted(self)


class _Counted:
    """A view of a problem that records the distinct pairs asked for, in order."""

    def __init__(self, p: DVFSProblem) -> None:
        self.p, self.seen, self.trace = p, set(), []

    def __call__(self, batch: int, point: int, cap: float) -> dict:
        s = self.p.score(batch, point)
        if (batch, point) not in self.seen:
            self.seen.add((batch, point))
            self.trace.append(1.0 / s["throughput"] if s["power_w"] <= cap else math.inf)
        return s

    def choice(self, method: str, best: tuple[int, int] | None) -> DVFSChoice:
        if best is None:
            return DVFSChoice(method, None, None, 0.0, math.nan, len(self.seen), self.trace)
        s = self.p.score(*best)
        return DVFSChoice(method, best[0], self.p.points[best[1]], s["throughput"], s["power_w"], len(self.seen),
                          self.trace)


def _better(s: dict, best: dict | None) -> bool:
    return best is None or s["throughput"] > best["throughput"]


def exhaustive_dvfs(p: DVFSProblem, cap: float) -> DVFSChoice:
    """Every (batch, point) pair."""
    c, best, arg = p.counter(), None, None
    for j in range(len(p.points)):
        for b in range(1, p.max_batch + 1):
            s = c(b, j, cap)
            if s["power_w"] <= cap and _better(s, best):
                best, arg = s, (b, j)
    return c.choice("exhaustive", arg)


def binary_search_dvfs(p: DVFSProblem, cap: float) -> DVFSChoice:
    """Per point, the largest batch under the cap by bisection; then the best point."""
    c, best, arg = p.counter(), None, None
    for j in range(len(p.points)):
        if c(1, j, cap)["power_w"] > cap:
            continue
        lo, hi = 1, p.max_batch  # lo meets the cap
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if c(mid, j, cap)["power_w"] <= cap:
                lo = mid
            else:
                hi = mid - 1
        s = c(lo, j, cap)
        if _better(s, best):
            best, arg = s, (lo, j)
    return c.choice("binary search", arg)


def bayesian_dvfs(p: DVFSProblem, cap: float, trials: int = 60, seed: int = 0) -> DVFSChoice:
    """Optuna TPE over log-batch and point index, the power cap as a constraint."""
    import optuna

    check_trials(trials)
    check_seed(seed)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    c = p.counter()

    def objective(trial: "optuna.Trial") -> float:
        b = trial.suggest_int("batch", 1, p.max_batch, log=True)
        j = trial.suggest_int("point", 0, len(p.points) - 1)
        s = c(b, j, cap)
        trial.set_user_attr("excess_w", s["power_w"] - cap)
        trial.set_constraint("power_excess_w", s["power_w"] - cap)  # feasible when <= 0
        return s["throughput"]

    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=trials)
    ok = [t for t in study.trials if t.user_attrs["excess_w"] <= 0]
    best = max(ok, key=lambda t: (t.value, -t.number)) if ok else None
    return c.choice("bayesian (TPE)", (best.params["batch"], best.params["point"]) if best else None)


def power_range(p: DVFSProblem) -> tuple[float, float]:
    """Power at batch 1 on the slowest point and at the largest batch on the fastest: the span
    the caps worth asking about lie in (not counted as evaluations of any search)."""
    lo = min(p.score(1, j)["power_w"] for j in (0, len(p.points) - 1))
    hi = max(p.score(b, j)["power_w"] for b in (1, p.max_batch) for j in (0, len(p.points) - 1))
    return lo, hi


def default_caps(p: DVFSProblem, n: int = 4) -> list[float]:
    """`n` caps spread over the power range (rounded to 3 significant digits)."""
    lo, hi = power_range(p)
    return [float(f"{v:.3g}") for v in np.linspace(lo, hi, n + 2)[1:-1]]


def tune_batch_dvfs(layers: list[WorkLayer], accel: AccelConfig, cap: float, max_batch: int = 256,
                    trials: int = 60, seed: int = 0) -> dict[str, DVFSChoice]:
    """All three searches under one power cap (W): {"exhaustive", "binary search", "bayesian (TPE)"}."""
    check_caps([cap])
    check_trials(trials)
    check_seed(seed)
    p = DVFSProblem(layers, accel, max_batch)
    out = {c.method: c for c in (exhaustive_dvfs(p, cap), binary_search_dvfs(p, cap),
                                 bayesian_dvfs(p, cap, trials, seed))}
    return out


@dataclass(frozen=True)
class DVFSTask:
    """One power cap of `batchdvfs_job`: picklable (frozen dataclasses only), so it runs the
    same inline, in a process pool or on Ray."""

    model: str  # the model's name, carried into the rows
    layers: tuple[WorkLayer, ...]
    accel: AccelConfig
    cap_w: float  # power cap (W)
    max_batch: int = 256
    trials: int = 60  # Bayesian optimiser evaluations
    seed: int = 0


def batchdvfs_job(task: DVFSTask) -> dict:
    """One power cap (process pool / Ray). Returns the table rows (gap to the exhaustive
    throughput in %, optimal within OPTIMAL_GAP_PCT) and the convergence history (1 /
    throughput, over-cap evaluations left out), as plain data (a task file)."""
    res = tune_batch_dvfs(list(task.layers), task.accel, task.cap_w, task.max_batch, task.trials, task.seed)
    best = res["exhaustive"].throughput
    gap = lambda c: 100.0 * (best - c.throughput) / best if best > 0 else 0.0  # noqa: E731
    rows = [{"power_cap_w": task.cap_w, "model": task.model, **c.to_dict(), "gap_pct": gap(c),
             "optimal": bool(gap(c) <= OPTIMAL_GAP_PCT)} for c in res.values()]
    label = f"cap {task.cap_w:g} W: "
    hist = [h for c in res.values() for h in improvements(c.trace, label + c.method)]
    return {"cap_w": task.cap_w, "rows": rows, "history": hist}
