"""The resource-assignment problem of the ConfuciuX-style search, scored by the shared estimator.

Each compute layer (conv, depthwise conv, linear) of one model gets its own PE count and
buffer size from two discrete menus, on one accelerator kind and dataflow (the `accel`
given; `LayerResources` is how the estimator takes per-layer allocations). Every layer's
latency, energy and area depend only on its own allocation, so the whole space is scored
once, as a table (layer x PE choice x buffer choice), by one vectorized `sc_accel.hw.evaluate`
call; a design is then a row of choice indices and costs a table lookup.

Deployment (after ConfuciuX, Kao et al., MICRO 2020, and its reference code, which sums the
per-layer resources against the platform budget in both cases):
- "sequential": the layers run one after another, each on its own allocation; latency
  (or energy) is the sum over layers.
- "pipelined": every layer has its own sub-array and the layers form a pipeline; latency per
  image in steady state is the slowest stage (energy still sums).
The platform caps the sum of PEs and of buffer bytes over layers, and optionally the sum of
the estimated areas.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from sc_accel.errors import InvalidInputError, check_count, is_int
from sc_accel.hw.config import AccelConfig, LayerResources, check_accel, min_gbuf_bytes
from sc_accel.hw.cost import evaluate, pack_allocations, pack_layers
from sc_accel.hw.estimate import check_layer_names
from sc_accel.hw.tables import DEFAULT_TABLE, CostTable
from sc_accel.hw.workload import WorkLayer, check_layer_list

__all__ = ["DSEInputError", "Platform", "PLATFORMS", "AllocationProblem", "Trace", "improvements", "OBJECTIVES",
           "DEPLOYMENTS", "MAX_PES", "MAX_BUFFER_BYTES", "MAX_MENU", "MAX_SEED", "check_int", "check_seed"]

OBJECTIVES = ("latency", "energy")
DEPLOYMENTS = ("sequential", "pipelined")
COMPUTE_OPS = ("conv", "dwconv", "linear")
# Largest platform budgets accepted: 2^24 PEs (16.8 M, above any chip built: a wafer-scale
# engine has about 0.9 M cores) and 2^36 bytes (64 GiB of on-chip buffer, above its 44 GB).
MAX_PES = 1 << 24
MAX_BUFFER_BYTES = 1 << 36
MAX_MENU = 64  # choices per menu: the score table is layers x PE choices x buffer choices
MAX_SEED = (1 << 32) - 1  # numpy's legacy and Optuna's seeds are 32-bit


class DSEInputError(InvalidInputError):
    """A design-space search asked for something it cannot search (empty menu, impossible budget, ...)."""


def check_int(name: str, value: object, lo: int, hi: int, why: str = "") -> None:
    """sc_accel.errors.check_count, raising DSEInputError."""
    check_count(name, value, lo, hi, why, DSEInputError)


def check_seed(seed: object, name: str = "seed=") -> None:
    """A search seed: an integer from 0 to 2^32 - 1 (the seed of every generator a search uses)."""
    if not is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise DSEInputError(f"{name}{seed!r} must be an integer from 0 to 2^32 - 1.")


def _check_menu(platform: str, what: str, menu: object, hi: int) -> None:
    """A menu: 1 to MAX_MENU integers from 1 to `hi`."""
    if not isinstance(menu, (tuple, list)) or len(menu) == 0:
        raise DSEInputError(f"platform {platform}: the {what} menu is empty; give at least one choice.")
    if len(menu) > MAX_MENU:
        raise DSEInputError(f"platform {platform}: the {what} menu has {len(menu)} choices, more than {MAX_MENU}; "
                            "give fewer.")
    if any(not is_int(v) or not 1 <= v <= hi for v in menu):
        raise DSEInputError(f"platform {platform}: the {what} menu {list(menu)} must hold positive integers "
                            f"up to {hi:,}.")


@dataclass(frozen=True)
class Platform:
    """A platform budget: total PEs and buffer bytes over all layers (and, optionally, total
    area in um^2), with the menus each layer picks from. The cloud and edge caps follow the
    scale of ConfuciuX's platforms (MICRO 2020, Sec. VI)."""

    name: str
    max_pes: int
    max_buffer_bytes: int
    pe_menu: tuple[int, ...]
    buffer_menu: tuple[int, ...]  # bytes
    max_area_um2: float | None = None

    def __post_init__(self) -> None:
        for what, menu, hi in (("PE", self.pe_menu, MAX_PES), ("buffer", self.buffer_menu, MAX_BUFFER_BYTES)):
            _check_menu(self.name, what, menu, hi)
        object.__setattr__(self, "pe_menu", tuple(sorted({int(v) for v in self.pe_menu})))
        object.__setattr__(self, "buffer_menu", tuple(sorted({int(v) for v in self.buffer_menu})))
        check_int(f"platform {self.name}: max_pes=", self.max_pes, 1, MAX_PES, "2^24, above any chip built")
        check_int(f"platform {self.name}: max_buffer_bytes=", self.max_buffer_bytes, 1, MAX_BUFFER_BYTES,
                  "64 GiB, above any on-chip buffer built")
        a = self.max_area_um2
        if a is not None and (isinstance(a, bool) or not isinstance(a, (int, float, np.integer, np.floating))
                              or not math.isfinite(a) or not a > 0):
            raise DSEInputError(f"platform {self.name}: max_area_um2={a!r} must be a positive finite area in "
                                "um^2, or None for no area cap.")

    def to_dict(self) -> dict:
        """Plain dict (JSON/TOML)."""
        d = asdict(self)
        d["pe_menu"], d["buffer_menu"] = list(self.pe_menu), list(self.buffer_menu)
        return d


PLATFORMS = {
    "cloud": Platform("cloud", 4096, 8 * 1024, (16, 32, 64, 128, 256, 512, 1024),
                      (64, 128, 256, 512, 1024, 2048)),
    "edge": Platform("edge", 256, 4 * 1024, (1, 2, 4, 8, 16, 32, 64), (32, 64, 128, 256, 512, 1024)),
}


@dataclass
class AllocationProblem:
    """One model's compute layers on one accelerator under one platform budget.

    `table_` holds, per (layer, PE choice, buffer choice), the estimator's latency in cycles,
    energy in pJ, area in um^2 and whether the buffer holds the dataflow's minimum tile.
    The zero-MAC layers (pooling, add) cost the same on any allocation; their latency and
    energy on `accel` itself are added as a constant (`fixed_`)."""

    layers: list[WorkLayer]
    accel: AccelConfig
    platform: Platform
    objective: str = "latency"
    deployment: str = "sequential"
    table: CostTable = DEFAULT_TABLE
    table_: dict[str, np.ndarray] = field(init=False, repr=False)
    fixed_: dict[str, float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._check_inputs()
        if self.objective not in OBJECTIVES:
            raise DSEInputError(f"objective {self.objective!r} is unknown; use one of {OBJECTIVES}.")
        if self.deployment not in DEPLOYMENTS:
            raise DSEInputError(f"deployment {self.deployment!r} is unknown; use one of {DEPLOYMENTS}.")
        if self.accel.kind == "systolic":
            raise DSEInputError(f"{self.accel.name} is a systolic array of one fixed shape; per-layer resources "
                                "need a spatial or sc accelerator (e.g. spatial-16x16-kcp).")
        self.compute = [layer for layer in self.layers if layer.op in COMPUTE_OPS]
        if not self.compute:
            raise DSEInputError("the model has no conv or linear layer to allocate resources to.")
        self._score_table()
        self._check_budget()

    def _check_inputs(self) -> None:
        """Types first (a str accelerator or platform fails here with a sentence, not deep inside)."""
        check_layer_list(self.layers)
        check_accel(self.accel)
        if not isinstance(self.platform, Platform):
            raise DSEInputError(f"platform must be a Platform (e.g. sc_accel.dse.PLATFORMS['edge']), not a "
                                f"{type(self.platform).__name__}.")
        check_layer_names(self.layers, self.accel)

    @property
    def n_layers(self) -> int:
        return len(self.compute)

    @property
    def n_choices(self) -> tuple[int, int]:
        return len(self.platform.pe_menu), len(self.platform.buffer_menu)

    def _score_table(self) -> None:
        """One `evaluate` call over every (layer, PE, buffer) triple, plus the fixed layers."""
        n, (npe, nbuf) = self.n_layers, self.n_choices
        pes = np.array(self.platform.pe_menu, dtype=np.int64)
        buf = np.array(self.platform.buffer_menu, dtype=np.int64)
        li, pi, bi = (ix.ravel() for ix in np.meshgrid(np.arange(n), np.arange(npe), np.arange(nbuf), indexing="ij"))
        lay = pack_layers(self.compute).take(li)
        acc = pack_allocations(self.accel, pes[pi], buf[bi] / 1024.0)
        r = evaluate(lay, acc, self.table)
        shape = (n, npe, nbuf)
        need = min_gbuf_bytes(acc.rows, acc.cols, self.accel.word_bits)
        self.table_ = {"latency": r["latency_cycles"].reshape(shape), "energy": r["energy_pj"].reshape(shape),
                       "area": r["area_um2"].reshape(shape), "valid": (buf[bi] >= need).reshape(shape),
                       "pes": (acc.rows * acc.cols).reshape(shape)}
        rest = [layer for layer in self.layers if layer.op not in COMPUTE_OPS]
        self.fixed_ = {"latency": 0.0, "energy": 0.0, "max_latency": 0.0}
        if rest:
            f = evaluate(pack_layers(rest), pack_allocations(self.accel, np.full(len(rest), self.accel.pes),
                                                              np.full(len(rest), self.accel.memory.gbuf_kib)),
                         self.table)
            self.fixed_ = {"latency": float(f["latency_cycles"].sum()), "energy": float(f["energy_pj"].sum()),
                           "max_latency": float(f["latency_cycles"].max())}

    def _check_budget(self) -> None:
        """Refuse a budget that not even the smallest valid choice of every layer fits."""
        p = self.platform
        lo_pe = self.n_layers * p.pe_menu[0]
        valid = self.table_["valid"]
        smallest = [min((p.buffer_menu[b] for b in range(len(p.buffer_menu)) if valid[i, 0, b]), default=None)
                    for i in range(self.n_layers)]
        if any(s is None for s in smallest):
            raise DSEInputError(f"platform {p.name}: no buffer in the menu {list(p.buffer_menu)} holds the minimum "
                                f"tile of {p.pe_menu[0]} PEs; add larger buffer sizes.")
        if p.max_area_um2 is not None:
            area = np.where(valid, self.table_["area"], np.inf).reshape(self.n_layers, -1).min(1).sum()
            if area > p.max_area_um2:
                raise DSEInputError(f"platform {p.name}: the area cap ({p.max_area_um2:.4g} um^2) is below the "
                                    f"smallest design's area ({area:.4g} um^2); raise it.")
        if lo_pe > p.max_pes or sum(smallest) > p.max_buffer_bytes:
            raise DSEInputError(f"platform {p.name}: the budget ({p.max_pes} PEs, {p.max_buffer_bytes} bytes) is "
                                f"below the smallest design of {self.n_layers} layers ({lo_pe} PEs, {sum(smallest)} "
                                "bytes); raise the budget or shrink the menus.")

    def score(self, designs: np.ndarray) -> dict[str, np.ndarray]:
        """Designs (N, layers, 2) of (PE index, buffer index) -> objective value (lower is
        better), latency in cycles, energy in pJ, resources used, overshoot and feasibility.
        `overshoot` is the largest relative excess over a budget (0 when within all), plus one
        per layer whose buffer cannot hold its tile."""
        d = np.asarray(designs, dtype=np.int64).reshape(-1, self.n_layers, 2)
        rows = np.arange(self.n_layers)
        t = self.table_
        lat = t["latency"][rows, d[..., 0], d[..., 1]]  # (N, layers)
        lat_total = (lat.sum(1) + self.fixed_["latency"] if self.deployment == "sequential"
                     else np.maximum(lat.max(1), self.fixed_["max_latency"]))
        energy = t["energy"][rows, d[..., 0], d[..., 1]].sum(1) + self.fixed_["energy"]
        p = self.platform
        pes = np.array(p.pe_menu)[d[..., 0]].sum(1)
        buf = np.array(p.buffer_menu)[d[..., 1]].sum(1)
        area = t["area"][rows, d[..., 0], d[..., 1]].sum(1)
        over = np.maximum(0.0, np.maximum((pes - p.max_pes) / p.max_pes,
                                          (buf - p.max_buffer_bytes) / p.max_buffer_bytes))
        if p.max_area_um2 is not None:
            over = np.maximum(over, (area - p.max_area_um2) / p.max_area_um2)
        over = over + (~t["valid"][rows, d[..., 0], d[..., 1]]).sum(1)
        value = lat_total if self.objective == "latency" else energy
        return {"value": value.astype(np.float64), "latency_cycles": lat_total, "energy_pj": energy, "pes": pes,
                "buffer_bytes": buf, "area_um2": area, "overshoot": over, "feasible": over == 0}

    @property
    def worst(self) -> float:
        """An upper bound of the objective of any design (every layer at its worst choice)."""
        t = self.table_[self.objective]
        per = t.reshape(self.n_layers, -1).max(1)
        fixed = self.fixed_[self.objective]
        return float(per.sum() + fixed if self.objective == "energy" or self.deployment == "sequential"
                     else max(per.max(), self.fixed_["max_latency"]))

    def fitness(self, designs: np.ndarray) -> np.ndarray:
        """What the searches minimise: the objective of feasible designs; for over-budget ones
        `worst x (1 + overshoot)`, above every feasible design and growing with the excess."""
        s = self.score(designs)
        return np.where(s["feasible"], s["value"], self.worst * (1.0 + s["overshoot"]))

    def design_dict(self, design: np.ndarray) -> list[dict]:
        """Per-layer allocation of one design: layer name, PEs, buffer bytes."""
        d = np.asarray(design).reshape(self.n_layers, 2)
        pm, bm = self.platform.pe_menu, self.platform.buffer_menu
        return [{"layer": layer.name, "pes": int(pm[i]), "buffer_bytes": int(bm[j])}
                for layer, (i, j) in zip(self.compute, d)]

    def accel_for(self, design: np.ndarray) -> AccelConfig:
        """The design as an AccelConfig with per-layer resources, for `sc_accel.hw.estimate`."""
        res = {x["layer"]: LayerResources(x["pes"], x["buffer_bytes"] / 1024.0) for x in self.design_dict(design)}
        return self.accel.with_(layers=res, name=f"{self.accel.name}-{self.platform.name}")


@dataclass
class Trace:
    """A search's outcome: the best design (layers x (PE index, buffer index)), its fitness,
    and the fitness of every design evaluated, in order. Every search over an
    `AllocationProblem` (RL, GA, SA, random, exhaustive, DP) returns one."""

    method: str
    best: np.ndarray
    best_value: float
    values: list[float] = field(default_factory=list)

    @classmethod
    def empty(cls, method: str, p: AllocationProblem) -> Trace:
        """A trace with nothing evaluated yet: an all-zero design of infinite fitness."""
        return cls(method, np.zeros((p.n_layers, 2), dtype=np.int64), math.inf)

    @property
    def evaluations(self) -> int:
        return len(self.values)

    def record(self, designs: np.ndarray, fitness: np.ndarray) -> None:
        """Append evaluated designs; keep the best (the first of equals)."""
        self.values.extend(float(v) for v in fitness)
        i = int(np.argmin(fitness))
        if fitness[i] < self.best_value:
            self.best_value, self.best = float(fitness[i]), np.array(designs[i]).copy()

    def evals_to_within(self, target: float, rel: float = 0.05) -> int | None:
        """Evaluations until the best so far came within `rel` of `target` (None if never)."""
        best = np.minimum.accumulate(self.values) if self.values else np.array([])
        hit = np.nonzero(best <= target * (1 + rel))[0]
        return int(hit[0]) + 1 if len(hit) else None


def improvements(values: list[float], method: str) -> list[dict]:
    """History entries where the best so far improved, plus the last evaluation when finite:
    enough for a step plot of convergence (non-finite values, designs that broke a cap, are
    left out). Shared by every search's results (ConfuciuX, BatchDVFS, Evolver)."""
    out, best = [], math.inf
    for i, v in enumerate(values):
        if math.isfinite(v) and (v < best or i == len(values) - 1):
            best = min(best, v)
            out.append({"method": method, "evaluation": i + 1, "value": v})
    return out
