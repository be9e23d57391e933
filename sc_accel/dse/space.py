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
the estimated areas and the chip's power (`power_w` below).

A design is an array (layers, 2) of each layer's PE count and buffer bytes, the values
themselves: the menu searches (RL, GA, SA, random, DP) draw them from the menus (`values`
maps menu indices to values, and a menu design costs a table lookup), while ConfuciuX's
fine-grained GA stage and the uniform baseline set integers off the menus, which the
estimator scores on demand (`_layer_costs`).

Power (`score(...)["power_w"]`, the peak the chip must supply, from the estimator's energy
and latency as in `sc_accel.hw.power`): every layer's sub-array leaks all the time (leakage
of the summed area); the dynamic power of a layer is its energy over its latency.
Sequential: one layer runs at a time, so the chip's dynamic power is the largest layer's,
not the sum. Pipelined: every stage starts at each interval and runs at once, so it is the
sum of the stages' powers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from sc_accel.errors import InvalidInputError, check_count, is_int
from sc_accel.hw.config import AccelConfig, LayerResources, check_accel, min_gbuf_bytes
from sc_accel.hw.cost import evaluate, pack_allocations, pack_layers
from sc_accel.hw.estimate import check_layer_names
from sc_accel.hw.power import dynamic_w, leakage_w
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
    max_power_w: float | None = None

    def __post_init__(self) -> None:
        for what, menu, hi in (("PE", self.pe_menu, MAX_PES), ("buffer", self.buffer_menu, MAX_BUFFER_BYTES)):
            _check_menu(self.name, what, menu, hi)
        object.__setattr__(self, "pe_menu", tuple(sorted({int(v) for v in self.pe_menu})))
        object.__setattr__(self, "buffer_menu", tuple(sorted({int(v) for v in self.buffer_menu})))
        check_int(f"platform {self.name}: max_pes=", self.max_pes, 1, MAX_PES, "2^24, above any chip built")
        check_int(f"platform {self.name}: max_buffer_bytes=", self.max_buffer_bytes, 1, MAX_BUFFER_BYTES,
                  "64 GiB, above any on-chip buffer built")
        for what, a, unit in (("max_area_um2", self.max_area_um2, "area in um^2"),
                              ("max_power_w", self.max_power_w, "power in W")):
            if a is not None and (isinstance(a, bool) or not isinstance(a, (int, float, np.integer, np.floating))
                                  or not math.isfinite(a) or not a > 0):
                raise DSEInputError(f"platform {self.name}: {what}={a!r} must be a positive finite {unit}, or "
                                    "None for no cap.")

    @property
    def bounds(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """(lowest, highest) per-layer PEs and buffer bytes: the menus' ends, the range the
        fine-grained GA moves in (as the reference's action bottom and bound)."""
        return (self.pe_menu[0], self.pe_menu[-1]), (self.buffer_menu[0], self.buffer_menu[-1])

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

    def _evaluate(self, li: np.ndarray, pes: np.ndarray, buf: np.ndarray) -> dict[str, np.ndarray]:
        """The estimator on rows (compute layer index, PEs, buffer bytes): latency in cycles,
        energy in pJ, area in um^2, dynamic power in W and whether the buffer holds the tile."""
        acc = pack_allocations(self.accel, pes, buf / 1024.0)
        r = evaluate(pack_layers(self.compute).take(li), acc, self.table)
        lat, energy = r["latency_cycles"], r["energy_pj"]
        return {"latency": lat, "energy": energy, "area": r["area_um2"], "power": dynamic_w(energy, lat, self.accel),
                "valid": buf >= min_gbuf_bytes(acc.rows, acc.cols, self.accel.word_bits)}

    def _score_table(self) -> None:
        """One `evaluate` call over every (layer, PE, buffer) triple, plus the fixed layers."""
        n, (npe, nbuf) = self.n_layers, self.n_choices
        pes = np.array(self.platform.pe_menu, dtype=np.int64)
        buf = np.array(self.platform.buffer_menu, dtype=np.int64)
        li, pi, bi = (ix.ravel() for ix in np.meshgrid(np.arange(n), np.arange(npe), np.arange(nbuf), indexing="ij"))
        self.table_ = {k: v.reshape(n, npe, nbuf) for k, v in self._evaluate(li, pes[pi], buf[bi]).items()}
        rest = [layer for layer in self.layers if layer.op not in COMPUTE_OPS]
        self.fixed_ = {"latency": 0.0, "energy": 0.0, "max_latency": 0.0, "max_power": 0.0, "sum_power": 0.0}
        if rest:
            f = evaluate(pack_layers(rest), pack_allocations(self.accel, np.full(len(rest), self.accel.pes),
                                                              np.full(len(rest), self.accel.memory.gbuf_kib)),
                         self.table)
            lat = f["latency_cycles"]
            power = dynamic_w(f["energy_pj"], lat, self.accel)
            self.fixed_ = {"latency": float(lat.sum()), "energy": float(f["energy_pj"].sum()),
                           "max_latency": float(lat.max()), "max_power": float(power.max()),
                           "sum_power": float(power.sum())}

    def values(self, designs: np.ndarray) -> np.ndarray:
        """Menu-index designs (..., layers, 2) -> the designs' PE counts and buffer bytes."""
        d = np.asarray(designs, dtype=np.int64)
        pm, bm = np.array(self.platform.pe_menu), np.array(self.platform.buffer_menu)
        return np.stack([pm[d[..., 0]], bm[d[..., 1]]], axis=-1)

    def _layer_costs(self, alloc: np.ndarray) -> dict[str, np.ndarray]:
        """Per-layer latency, energy, area, power and tile validity (N, layers) of designs given
        as values: menu values by table lookup, the others by the estimator (each distinct
        (layer, PEs, bytes) once)."""
        pm, bm = np.array(self.platform.pe_menu), np.array(self.platform.buffer_menu)
        pes, buf = alloc[..., 0], alloc[..., 1]
        pi = np.minimum(np.searchsorted(pm, pes), len(pm) - 1)
        bi = np.minimum(np.searchsorted(bm, buf), len(bm) - 1)
        on = (pm[pi] == pes) & (bm[bi] == buf)
        rows = np.broadcast_to(np.arange(self.n_layers), pes.shape)
        out = {k: v[rows, pi, bi] for k, v in self.table_.items()}
        if not on.all():
            trip, inv = np.unique(np.stack([rows[~on], pes[~on], buf[~on]], 1), axis=0, return_inverse=True)
            new = self._evaluate(trip[:, 0], trip[:, 1], trip[:, 2])
            for k, v in new.items():
                out[k][~on] = v[inv.ravel()]
        return out

    def leakage_w(self, area_um2: np.ndarray) -> np.ndarray:
        """Leakage of the allocated arrays (`sc_accel.hw.power.leakage_w` on the accel)."""
        return leakage_w(area_um2, self.accel)

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
        if p.max_power_w is not None:
            low = np.array([[p.pe_menu[0], s] for s in smallest])
            power = float(self.score(low[None])["power_w"][0])
            if power > p.max_power_w:
                raise DSEInputError(f"platform {p.name}: the power cap ({p.max_power_w:.4g} W) is below the "
                                    f"smallest design's power ({power:.4g} W); raise it.")
        if lo_pe > p.max_pes or sum(smallest) > p.max_buffer_bytes:
            raise DSEInputError(f"platform {p.name}: the budget ({p.max_pes} PEs, {p.max_buffer_bytes} bytes) is "
                                f"below the smallest design of {self.n_layers} layers ({lo_pe} PEs, {sum(smallest)} "
                                "bytes); raise the budget or shrink the menus.")

    def score(self, alloc: np.ndarray) -> dict[str, np.ndarray]:
        """Designs (N, layers, 2) of (PEs, buffer bytes) -> objective value (lower is better),
        latency in cycles, energy in pJ, power in W, resources used, overshoot and feasibility.
        `overshoot` is the largest relative excess over a budget (0 when within all), plus one
        per layer whose buffer cannot hold its tile."""
        a = np.asarray(alloc, dtype=np.int64).reshape(-1, self.n_layers, 2)
        c = self._layer_costs(a)
        seq = self.deployment == "sequential"
        lat_total = (c["latency"].sum(1) + self.fixed_["latency"] if seq
                     else np.maximum(c["latency"].max(1), self.fixed_["max_latency"]))
        energy = c["energy"].sum(1) + self.fixed_["energy"]
        area = c["area"].sum(1)
        dynamic = (np.maximum(c["power"].max(1), self.fixed_["max_power"]) if seq
                   else c["power"].sum(1) + self.fixed_["sum_power"])
        power = dynamic + self.leakage_w(area)
        p = self.platform
        pes, buf = a[..., 0].sum(1), a[..., 1].sum(1)
        over = np.maximum(0.0, np.maximum((pes - p.max_pes) / p.max_pes,
                                          (buf - p.max_buffer_bytes) / p.max_buffer_bytes))
        for cap, used in ((p.max_area_um2, area), (p.max_power_w, power)):
            if cap is not None:
                over = np.maximum(over, (used - cap) / cap)
        over = over + (~c["valid"]).sum(1)
        value = lat_total if self.objective == "latency" else energy
        return {"value": value.astype(np.float64), "latency_cycles": lat_total, "energy_pj": energy,
                "power_w": power, "pes": pes, "buffer_bytes": buf, "area_um2": area, "overshoot": over,
                "feasible": over == 0}

    @property
    def worst(self) -> float:
        """An upper bound of the objective of any design (every layer at its worst choice)."""
        t = self.table_[self.objective]
        per = t.reshape(self.n_layers, -1).max(1)
        fixed = self.fixed_[self.objective]
        return float(per.sum() + fixed if self.objective == "energy" or self.deployment == "sequential"
                     else max(per.max(), self.fixed_["max_latency"]))

    def fitness(self, alloc: np.ndarray) -> np.ndarray:
        """What the searches minimise: the objective of feasible designs (given as values); for
        over-budget ones `worst x (1 + overshoot)`, above every feasible design and growing
        with the excess."""
        s = self.score(alloc)
        return np.where(s["feasible"], s["value"], self.worst * (1.0 + s["overshoot"]))

    def design_dict(self, alloc: np.ndarray) -> list[dict]:
        """Per-layer allocation of one design (values): layer name, PEs, buffer bytes."""
        a = np.asarray(alloc).reshape(self.n_layers, 2)
        return [{"layer": layer.name, "pes": int(pe), "buffer_bytes": int(b)}
                for layer, (pe, b) in zip(self.compute, a)]

    def accel_for(self, alloc: np.ndarray) -> AccelConfig:
        """The design as an AccelConfig with per-layer resources, for `sc_accel.hw.estimate`."""
        res = {x["layer"]: LayerResources(x["pes"], x["buffer_bytes"] / 1024.0) for x in self.design_dict(alloc)}
        return self.accel.with_(layers=res, name=f"{self.accel.name}-{self.platform.name}")


@dataclass
class Trace:
    """A search's outcome: the best design (layers x (PEs, buffer bytes)), its fitness,
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
