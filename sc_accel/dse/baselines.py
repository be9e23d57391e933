"""Searches over an `AllocationProblem` other than RL: the NVDLA-like fixed assignment,
random search, a genetic algorithm, simulated annealing, exhaustive enumeration and the exact
optimum by dynamic programming. All take a budget in evaluations (designs scored) and a seed,
and return a `Trace`, so they compare at equal evaluations with the RL search.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from sc_accel.dse.space import AllocationProblem, DSEInputError, Trace
from sc_accel.hw.config import min_gbuf_bytes

__all__ = ["dla_baseline", "random_search", "genetic", "annealing", "exhaustive", "optimum", "EXHAUSTIVE_LIMIT"]

EXHAUSTIVE_LIMIT = 2_000_000  # designs; beyond it only the DP optimum is exact


def _random_designs(p: AllocationProblem, n: int, rng: np.random.Generator) -> np.ndarray:
    npe, nbuf = p.n_choices
    return np.stack([rng.integers(0, npe, (n, p.n_layers)), rng.integers(0, nbuf, (n, p.n_layers))], axis=-1)


def _record(t: Trace, p: AllocationProblem, designs: np.ndarray) -> np.ndarray:
    """Score menu-index designs once as values, record them in `t`; their fitness."""
    alloc = p.values(designs)
    fit = p.fitness(alloc)
    t.record(alloc, fit)
    return fit


def _tile_fits(p: AllocationProblem, pe: int, buf: int) -> bool:
    """Whether `buf` bytes hold the dataflow's minimum tile of `pe` PEs (rows of accel.cols)."""
    rows, cols = p.accel.shape_for(pe)
    return min_gbuf_bytes(rows, cols, p.accel.word_bits) <= buf


def _uniform(p: AllocationProblem, pe: int, buf: int) -> np.ndarray:
    """(1, layers, 2): every layer at `pe` PEs (fewer where `buf` bytes cannot hold the tile
    of `pe`: the most PEs whose tile it holds, by bisection, the tile growing with the PEs)
    and `buf` bytes."""
    pe, buf = max(1, pe), max(1, buf)
    if not _tile_fits(p, pe, buf):
        lo, hi = 1, pe  # the tile of lo fits or nothing does; that of hi does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if _tile_fits(p, mid, buf) else (lo, mid)
        pe = lo
    return np.tile([pe, buf], (p.n_layers, 1))[None]


def dla_baseline(p: AllocationProblem) -> Trace:
    """NVDLA-like fixed assignment (ConfuciuX's "Baseline-dla", MICRO 2020, Sec. VI): every
    layer gets the same resources, the largest equal share of the budget that fits,
    floor(budget / layers) PEs and bytes (not a menu entry; at most the menus' largest,
    the per-layer limit every search keeps). Where an area or power cap binds,
    both shares shrink by the largest common factor that fits (bisection)."""
    n, pl = p.n_layers, p.platform
    (_, pe_hi), (_, buf_hi) = pl.bounds  # no layer gets more than the menus' largest, as in every search
    share = lambda f: _uniform(p, min(pe_hi, int(pl.max_pes * f) // n),  # noqa: E731
                               min(buf_hi, int(pl.max_buffer_bytes * f) // n))
    design = share(1.0)
    if not p.score(design)["feasible"][0]:
        lo, hi = 0.0, 1.0
        for _ in range(40):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if p.score(share(mid))["feasible"][0] else (lo, mid)
        design = share(lo)
    t = Trace.empty("baseline-dla", p)
    t.record(design, p.fitness(design))
    return t


def random_search(p: AllocationProblem, budget: int, seed: int, batch: int = 256) -> Trace:
    """Uniform random designs."""
    rng = np.random.default_rng(seed)
    t = Trace.empty("random", p)
    while t.evaluations < budget:
        _record(t, p, _random_designs(p, min(batch, budget - t.evaluations), rng))
    return t


def _mutate(d: np.ndarray, rate: float, p: AllocationProblem, rng: np.random.Generator) -> np.ndarray:
    """Each gene moves one menu step up or down with probability `rate`; then, in half of the
    designs, one trade: a layer's PE (or buffer) choice one step up and another layer's one
    step down, a move that keeps a tight design near its budget."""
    out = d.copy()
    hit = rng.random(d.shape) < rate
    step = rng.choice([-1, 1], size=d.shape)
    hi = np.array(p.n_choices) - 1
    out[hit] = np.clip(out + step, 0, hi)[hit]
    n, L = d.shape[:2]
    trade = np.nonzero(rng.random(n) < 0.5)[0]
    up, down = rng.integers(0, L, (2, len(trade)))
    j = rng.integers(0, 2, len(trade))
    out[trade, up, j] = np.minimum(out[trade, up, j] + 1, hi[j])
    out[trade, down, j] = np.maximum(out[trade, down, j] - 1, 0)
    return out


def _repair(d: np.ndarray, p: AllocationProblem, rng: np.random.Generator) -> np.ndarray:
    """Bring over-budget designs back under the PE and buffer caps by stepping random layers'
    choices down one menu entry at a time (GA offspring of a tight design mostly overshoot)."""
    out = d.copy()
    pl = p.platform
    caps = ((np.array(pl.pe_menu), pl.max_pes), (np.array(pl.buffer_menu), pl.max_buffer_bytes))
    for j, (menu, cap) in enumerate(caps):
        for k in range(len(out)):
            while menu[out[k, :, j]].sum() > cap:
                down = np.nonzero(out[k, :, j] > 0)[0]
                if not len(down):
                    break
                out[k, rng.choice(down), j] -= 1
    return out


def genetic(p: AllocationProblem, budget: int, seed: int, pop: int = 32, elite: int = 4,
            rate: float | None = None, method: str = "GA", repair: bool = True) -> Trace:
    """Genetic algorithm on the menus, from a random population: tournament selection, uniform
    crossover per layer, step mutation, elitism; over-budget offspring are repaired
    (`_repair`) unless `repair=False`. (ConfuciuX's own GA stage, off the menus, is
    `confuciux.fine_genetic`.)"""
    rng = np.random.default_rng(seed)
    rate = 1.0 / p.n_layers if rate is None else rate
    t = Trace.empty(method, p)
    popl = _random_designs(p, pop, rng)
    pop_n = min(pop, budget)
    popl = popl[:pop_n]
    fit = _record(t, p, popl)
    while t.evaluations < budget:
        n = min(pop_n - elite, budget - t.evaluations)
        order = np.argsort(fit, kind="stable")
        a, b = rng.integers(0, pop_n, (2, n, 2))
        pa = np.where(fit[a[:, 0]] <= fit[a[:, 1]], a[:, 0], a[:, 1])
        pb = np.where(fit[b[:, 0]] <= fit[b[:, 1]], b[:, 0], b[:, 1])
        mask = rng.random((n, p.n_layers, 1)) < 0.5
        kids = _mutate(np.where(mask, popl[pa], popl[pb]), rate, p, rng)
        if repair:
            kids = _repair(kids, p, rng)
        kfit = _record(t, p, kids)
        keep = order[:pop_n - n]
        popl = np.concatenate([popl[keep], kids])
        fit = np.concatenate([fit[keep], kfit])
    return t


def annealing(p: AllocationProblem, budget: int, seed: int, t0: float = 0.2, t_end: float = 1e-3) -> Trace:
    """Simulated annealing on one design: a neighbour changes one layer's PE or buffer by one
    menu step; accepted with exp(-relative worsening / T), T decaying geometrically."""
    rng = np.random.default_rng(seed)
    t = Trace.empty("SA", p)
    cur = _random_designs(p, 1, rng)
    cur_f = _record(t, p, cur)
    hi = np.array(p.n_choices) - 1
    for k in range(1, budget):
        temp = t0 * (t_end / t0) ** (k / max(1, budget - 1))
        nb = cur.copy()
        i, j = rng.integers(p.n_layers), rng.integers(2)
        nb[0, i, j] = np.clip(nb[0, i, j] + rng.choice([-1, 1]), 0, hi[j])
        f = _record(t, p, nb)
        worse = (f[0] - cur_f[0]) / max(cur_f[0], 1e-30)
        if worse <= 0 or rng.random() < math.exp(-worse / temp):
            cur, cur_f = nb, f
    return t


def exhaustive(p: AllocationProblem, chunk: int = 65536) -> Trace:
    """Every design, in chunks (refused beyond EXHAUSTIVE_LIMIT designs)."""
    npe, nbuf = p.n_choices
    per = npe * nbuf
    total = per ** p.n_layers
    if total > EXHAUSTIVE_LIMIT:
        raise DSEInputError(f"exhaustive search of {total:.3g} designs is beyond {EXHAUSTIVE_LIMIT}; use optimum() "
                            "(dynamic programming) or fewer layers / menu entries.")
    t = Trace.empty("exhaustive", p)
    it = itertools.product(range(per), repeat=p.n_layers)
    while True:
        flat = np.array(list(itertools.islice(it, chunk)), dtype=np.int64)
        if not len(flat):
            return t
        _record(t, p, np.stack([flat // nbuf, flat % nbuf], axis=-1))


def optimum(p: AllocationProblem, max_states: int = 4_000_000) -> Trace | None:
    """The exact optimum by dynamic programming over the used (PE, buffer) budget: the cost of
    a design is a sum (sequential, or energy) or a max (pipelined latency) of per-layer terms,
    and the budget a sum of per-layer menu entries. None when the budget grid is too large or
    an area or power cap couples the layers in a third dimension (leakage sums the areas)."""
    pm, bm = np.array(p.platform.pe_menu), np.array(p.platform.buffer_menu)
    gp, gb = np.gcd.reduce(pm), np.gcd.reduce(bm)
    cap_p, cap_b = p.platform.max_pes // gp, p.platform.max_buffer_bytes // gb
    pl = p.platform
    if (cap_p + 1) * (cap_b + 1) * p.n_layers > max_states or pl.max_area_um2 is not None or pl.max_power_w is not None:
        return None
    use_max = p.objective == "latency" and p.deployment == "pipelined"
    cost = p.table_[p.objective]
    valid = p.table_["valid"]
    npe, nbuf = p.n_choices
    dp = np.full((cap_p + 1, cap_b + 1), -np.inf if use_max else 0.0)  # best value using at most (P, B)
    choice = np.zeros((p.n_layers, cap_p + 1, cap_b + 1), dtype=np.int32)
    for i in range(p.n_layers):
        new = np.full_like(dp, np.inf)
        for a, b in itertools.product(range(npe), range(nbuf)):
            if not valid[i, a, b]:
                continue
            cp, cb = pm[a] // gp, bm[b] // gb
            if cp > cap_p or cb > cap_b:
                continue
            prev = dp[:cap_p + 1 - cp, :cap_b + 1 - cb]
            cand = np.maximum(prev, cost[i, a, b]) if use_max else prev + cost[i, a, b]
            tgt = new[cp:, cb:]
            better = cand < tgt
            tgt[better] = cand[better]
            choice[i, cp:, cb:][better] = a * nbuf + b
        dp = new
    t = Trace.empty("optimum", p)
    if not np.isfinite(dp[cap_p, cap_b]):
        return t
    design = np.zeros((p.n_layers, 2), dtype=np.int64)
    P, B = cap_p, cap_b
    for i in range(p.n_layers - 1, -1, -1):
        c = int(choice[i, P, B])
        design[i] = (c // nbuf, c % nbuf)
        P, B = P - pm[c // nbuf] // gp, B - bm[c % nbuf] // gb
    _record(t, p, design[None])
    return t
