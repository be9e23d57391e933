"""ConfuciuX-style resource assignment (Kao, Jeong, Krishna, MICRO 2020): a recurrent policy
trained by REINFORCE picks each layer's PE count and buffer size from the menus, layer after
layer; a genetic algorithm then fine-tunes the best RL design at integer granularity, off the
menus, filling the budget the RL design left (`fine_genetic`, after the reference code,
github.com/maestro-project/confuciux, src/ConfX). The evaluations split as the reference
splits its epochs: 2/3 RL episodes, 1/3 GA generations (`reference_split`).

Two agents: masked (a choice that would break a cap has probability 0; this suite's
default) and unmasked, as the reference (`mask=False`: the choice is drawn, and the episode
ends on it with the reference's penalty, `step_rewards`).

The policy is an LSTM cell whose input at layer i is the layer's normalised shape, the
previous layer's action and the share of the budget already used; two heads give the PE and
buffer choice. One episode is one design (one evaluation of the estimator's table). The
episode's return is the design's fitness (`AllocationProblem.fitness`: the objective, or a
penalty growing with the overshoot for an over-budget design), normalised by the running
best; the baseline of REINFORCE is the batch mean. Everything is seeded: torch's generator
is local to the search, so a run is reproducible at any thread count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from sc_accel.dse.space import AllocationProblem, Trace
from sc_accel.seeds import seeded

__all__ = ["Policy", "reinforce", "fine_genetic", "reference_split", "confuciux", "ConfuciuxResult"]


def layer_features(p: AllocationProblem) -> torch.Tensor:
    """(layers, 8): log-scaled C, K, P, Q, R, S, stride and MACs of each layer, in [0, 1]."""
    f = np.array([[x.C, x.K, x.P, x.Q, x.R, x.S, x.stride, x.macs] for x in p.compute], dtype=np.float64)
    f = np.log2(np.maximum(f, 1))
    f = f / np.maximum(f.max(0), 1)
    return torch.tensor(f, dtype=torch.float32)


@dataclass
class Budget:
    """What the policy sees of the platform: menus, caps, which (PE, buffer) pairs hold their
    layer's tile, and per layer the least the later layers still need (smallest PE choice,
    smallest valid buffer), so a masked policy never paints itself into a corner."""

    menus: tuple[torch.Tensor, torch.Tensor]
    caps: tuple[float, float]
    valid: torch.Tensor  # (layers, n_pe, n_buf) bool
    reserve: torch.Tensor  # (layers, 2): PEs and bytes the layers after i need at least
    area: torch.Tensor | None = None  # (layers, n_pe, n_buf) um^2, when the platform caps the area or power
    area_cap: float = float("inf")
    area_reserve: torch.Tensor | None = None  # (layers,): least area the layers after i need
    power: torch.Tensor | None = None  # (layers, n_pe, n_buf) dynamic W, when a sequential design's power is capped
    power_cap: float = float("inf")  # W
    power_floor: float = 0.0  # W: the fixed (zero-MAC) layers' largest dynamic power
    leak_w_per_um2: float = 0.0

    @classmethod
    def of(cls, p: AllocationProblem) -> "Budget":
        pm = torch.tensor(p.platform.pe_menu, dtype=torch.float64)
        bm = torch.tensor(p.platform.buffer_menu, dtype=torch.float64)
        valid = torch.tensor(p.table_["valid"])
        least_buf = torch.tensor([float(bm[valid[i, 0]].min()) for i in range(p.n_layers)], dtype=torch.float64)
        after = torch.arange(p.n_layers - 1, -1, -1, dtype=torch.float64)
        rest_buf = torch.flip(torch.cumsum(torch.flip(least_buf, [0]), 0), [0]) - least_buf
        b = cls((pm, bm), (float(p.platform.max_pes), float(p.platform.max_buffer_bytes)), valid,
                torch.stack([after * pm[0], rest_buf], 1))
        power_capped = p.platform.max_power_w is not None and p.deployment == "sequential"
        if p.platform.max_area_um2 is not None or power_capped:
            area = torch.tensor(p.table_["area"], dtype=torch.float64)
            least = torch.where(valid, area, torch.tensor(float("inf"), dtype=torch.float64)).flatten(1).min(1).values
            b.area, b.area_cap = area, float(p.platform.max_area_um2 or float("inf"))
            b.area_reserve = torch.flip(torch.cumsum(torch.flip(least, [0]), 0), [0]) - least
        if power_capped:
            b.power = torch.tensor(p.table_["power"], dtype=torch.float64)
            b.power_cap = float(p.platform.max_power_w)
            b.leak_w_per_um2 = float(p.leakage_w(np.array(1.0)))
            b.power_floor = p.fixed_["max_power"]
        return b

    def allowed(self, i: int, used: torch.Tensor, used_area: torch.Tensor | None = None,
                used_power: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, n_pe) PE choices and (n, n_pe, n_buf) pairs that keep layer i and every later
        layer within the caps; used: (n, 2) PEs and bytes taken by layers before i, used_area
        (n,) their area and used_power (n,) their largest dynamic power (only with those caps;
        the power mask holds the leakage of the least area the later layers need)."""
        left = torch.tensor(self.caps, dtype=torch.float64) - used - self.reserve[i]  # (n, 2)
        pe_fits = self.menus[0][None] <= left[:, :1]
        pair = self.valid[i][None] & (self.menus[1][None, None] <= left[:, 1:, None]) & pe_fits[:, :, None]
        if self.area is not None and used_area is not None:
            left_area = self.area_cap - used_area - self.area_reserve[i]  # (n,)
            pair = pair & (self.area[i][None] <= left_area[:, None, None])
        if self.power is not None and used_area is not None and used_power is not None:
            area = used_area[:, None, None] + self.area[i][None] + self.area_reserve[i]
            dyn = torch.maximum(used_power[:, None, None], self.power[i][None])
            pair = pair & (dyn + area * self.leak_w_per_um2 <= self.power_cap)
        return pair.any(2), pair


class Policy(nn.Module):
    """LSTM cell over the layers; per layer two categorical heads (PE, buffer choice)."""

    def __init__(self, n_pe: int, n_buf: int, hidden: int = 64) -> None:
        super().__init__()
        self.n_pe, self.n_buf = n_pe, n_buf
        self.cell = nn.LSTMCell(8 + 2 + 2, hidden)
        self.pe_head = nn.Linear(hidden, n_pe)
        self.buf_head = nn.Linear(hidden, n_buf)

    def sample(self, feats: torch.Tensor, budget: Budget, n: int, gen: torch.Generator,
               mask: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """n episodes: designs (n, layers, 2) and each step's log-probability (n, layers).
        With `mask`, choices that would break a cap (or a buffer too small for the PEs' tile)
        get probability 0; without it they are drawn and penalised (`step_rewards`)."""
        h = torch.zeros(n, self.cell.hidden_size)
        c = torch.zeros_like(h)
        prev = torch.zeros(n, 2)
        used = torch.zeros(n, 2, dtype=torch.float64)
        used_area = torch.zeros(n, dtype=torch.float64)
        used_power = torch.full((n,), budget.power_floor, dtype=torch.float64)
        rows = torch.arange(n)
        acts, logp = [], []
        for i in range(feats.shape[0]):
            x = torch.cat([feats[i].expand(n, -1), prev, (used / torch.tensor(budget.caps)).float()], dim=1)
            h, c = self.cell(x, (h, c))
            pe_ok, pair = budget.allowed(i, used, used_area, used_power) if mask else (None, None)
            a_pe, lp_pe = _draw(self.pe_head(h), gen, pe_ok)
            a_buf, lp_buf = _draw(self.buf_head(h), gen, pair[rows, a_pe] if mask else None)
            logp.append(lp_pe + lp_buf)
            acts.append(torch.stack([a_pe, a_buf], 1))
            prev = torch.stack([a_pe / max(1, self.n_pe - 1), a_buf / max(1, self.n_buf - 1)], 1).float()
            used = used + torch.stack([budget.menus[0][a_pe], budget.menus[1][a_buf]], 1)
            if budget.area is not None:
                used_area = used_area + budget.area[i, a_pe, a_buf]
            if budget.power is not None:
                used_power = torch.maximum(used_power, budget.power[i, a_pe, a_buf])
        return torch.stack(acts, 1), torch.stack(logp, 1)


def _draw(logits: torch.Tensor, gen: torch.Generator,
          ok: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample one action per row with a local generator (only where `ok`); its log-probability."""
    if ok is not None:
        logits = logits.masked_fill(~ok, float("-inf"))
    logp = torch.log_softmax(logits, dim=1)
    a = torch.multinomial(logp.exp(), 1, generator=gen).squeeze(1)
    return a, logp.gather(1, a[:, None]).squeeze(1)


def _step_overshoot(p: AllocationProblem, d: np.ndarray) -> np.ndarray:
    """(n, layers): after each step, the largest relative excess of the running totals over
    a cap (PEs, bytes, area, and a sequential design's power), plus one where the buffer
    cannot hold the layer's tile."""
    rows = np.arange(d.shape[1])
    pl = p.platform
    pes = np.cumsum(np.array(pl.pe_menu)[d[..., 0]], axis=1) / pl.max_pes - 1
    buf = np.cumsum(np.array(pl.buffer_menu)[d[..., 1]], axis=1) / pl.max_buffer_bytes - 1
    over = np.maximum(0.0, np.maximum(pes, buf))
    area = np.cumsum(p.table_["area"][rows, d[..., 0], d[..., 1]], axis=1)
    if pl.max_area_um2 is not None:
        over = np.maximum(over, area / pl.max_area_um2 - 1)
    if pl.max_power_w is not None and p.deployment == "sequential":
        dyn = np.maximum(np.maximum.accumulate(p.table_["power"][rows, d[..., 0], d[..., 1]], axis=1),
                         p.fixed_["max_power"])
        over = np.maximum(over, (dyn + p.leakage_w(area)) / pl.max_power_w - 1)
    return over + ~p.table_["valid"][rows, d[..., 0], d[..., 1]]


def step_rewards(p: AllocationProblem, d: np.ndarray, scale: float,
                 shift: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-layer rewards of designs (n, layers, 2) of menu indices, and which steps were
    taken (n, layers).

    As in ConfuciuX, the reward of layer i is minus its cost (for a pipelined latency, minus
    the rise of the running maximum, so the rewards still sum to minus the objective), over
    `scale`; the episode ends at the first layer that takes the running total over a cap (or
    picks a buffer too small for its tile). Its reward is then a penalty:
    - masked (shift None): the worst design's cost times (1 + overshoot), below any design;
    - unmasked, the reference's (env_confx.py, `step`): rewards are shifted to be positive,
      (shift - cost) / scale with `shift` the largest per-layer cost seen so far, and the
      violating step's reward is minus the shifted rewards gathered before it, times the
      relative overshoot."""
    n, L = d.shape[:2]
    rows = np.arange(L)
    cost = p.table_[p.objective][rows, d[..., 0], d[..., 1]]  # (n, L)
    if p.objective == "latency" and p.deployment == "pipelined":
        run = np.maximum.accumulate(cost, axis=1)
        cost = np.diff(run, axis=1, prepend=0.0)
    over = _step_overshoot(p, d)
    bad = over > 0
    first = np.where(bad.any(1), bad.argmax(1), L)  # index of the violating step (L: none)
    taken = rows[None, :] <= np.minimum(first, L - 1)[:, None]
    r = np.where(taken, ((shift if shift is not None else 0.0) - cost) / scale, 0.0)
    hit = np.nonzero(first < L)[0]
    if shift is None:
        r[hit, first[hit]] = -p.worst * (1.0 + over[hit, first[hit]]) / scale
    else:
        gathered = np.where(rows[None, :] < first[:, None], r, 0.0).sum(1)
        r[hit, first[hit]] = -gathered[hit] * over[hit, first[hit]]
    return r, taken


def reinforce(p: AllocationProblem, budget: int, seed: int, batch: int = 16, lr: float = 1e-2,
              hidden: int = 64, mask: bool = True) -> Trace:
    """REINFORCE over `budget` episodes (designs), `batch` per policy update, with per-layer
    rewards (`step_rewards`), returns-to-go and a per-layer batch-mean baseline. `mask=False`
    is the reference's unmasked agent: a choice that breaks a cap ends its episode."""
    gen = torch.Generator().manual_seed(seed)
    with seeded(seed):
        policy = Policy(*p.n_choices, hidden=hidden)
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    feats = layer_features(p)
    caps = Budget.of(p)
    t = Trace.empty("RL" if mask else "RL (unmasked)", p)
    shift = 0.0
    while t.evaluations < budget:
        n = min(batch, budget - t.evaluations)
        designs, logp = policy.sample(feats, caps, n, gen, mask)
        d = designs.numpy().astype(np.int64)
        alloc = p.values(d)
        t.record(alloc, p.fitness(alloc))
        if not mask:
            shift = max(shift, float(p.table_[p.objective][np.arange(p.n_layers), d[..., 0], d[..., 1]].max()))
        r, taken = step_rewards(p, d, t.best_value, None if mask else shift)
        ret = np.flip(np.cumsum(np.flip(r, 1), 1), 1)  # returns-to-go (n, L)
        adv = ret - ret.mean(0, keepdims=True)
        sd = adv[taken].std() if taken.sum() > 1 else 0.0
        adv = np.where(taken, adv / (sd + 1e-8), 0.0)
        loss = -(torch.tensor(adv, dtype=torch.float32) * logp).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return t


def _fine_mutate(p: AllocationProblem, kids: np.ndarray, rng: np.random.Generator, alpha: float) -> np.ndarray:
    """One mutation try per design: a random layer's PEs or bytes move by
    int(U(-alpha, alpha) x max(1, bound // 2)), clipped to the menus' range; the move is kept
    only where the design stays within every cap (ga_confx.py, `mutation`)."""
    (pe_lo, pe_hi), (b_lo, b_hi) = p.platform.bounds
    lo, hi = np.array([pe_lo, b_lo]), np.array([pe_hi, b_hi])
    n = len(kids)
    i, j = rng.integers(0, p.n_layers, n), rng.integers(0, 2, n)
    step = np.trunc(rng.uniform(-alpha, alpha, n) * np.maximum(1, hi[j] // 2)).astype(np.int64)
    cand = kids.copy()
    cand[np.arange(n), i, j] = np.clip(kids[np.arange(n), i, j] + step, lo[j], hi[j])
    keep = p.score(cand)["feasible"]
    return np.where(keep[:, None, None], cand, kids)


def fine_genetic(p: AllocationProblem, generations: int, seed: int, init: np.ndarray, pop: int = 20,
                 parents: int = 8, alpha: float = 0.5, tries: int = 3, swap: float = 0.2) -> Trace:
    """ConfuciuX's second stage, after its reference code (main.py `genetic_search`,
    ga_confx.py): a population of copies of the RL design (values, not menu indices); each
    generation the best `parents` are kept, every offspring copies one and takes `tries`
    mutations of integer size, each kept only if the design stays within the budget (so
    values off the menus fill what the RL design left over); with probability `swap` an
    offspring swaps one resource between two layers; the best parent survives unchanged.
    `pop` evaluations per generation; `alpha` is the reference's `range_alpha` (its default
    resource ratio, 0.5)."""
    rng = np.random.default_rng(seed)
    t = Trace.empty("GA (fine)", p)
    popl = np.repeat(np.asarray(init, dtype=np.int64)[None], pop, 0)
    fit = p.fitness(popl)
    for _ in range(generations):
        order = np.argsort(fit, kind="stable")
        par = popl[order[:min(parents, pop)]]
        kids = par[np.arange(pop) % len(par)].copy()
        for _ in range(tries):
            kids = _fine_mutate(p, kids, rng, alpha)
        swapping = np.nonzero(rng.random(pop) < swap)[0]
        swapping = swapping[swapping > 0]
        a, b = rng.integers(0, p.n_layers, (2, len(swapping)))
        j = rng.integers(0, 2, len(swapping))
        kids[swapping, a, j], kids[swapping, b, j] = kids[swapping, b, j], kids[swapping, a, j]
        kids[0] = par[0]
        popl, fit = kids, p.fitness(kids)
        t.record(popl, fit)
    return t


@dataclass
class ConfuciuxResult:
    """RL then RL+GA traces (the GA's trace continues the RL's evaluation count)."""

    rl: Trace
    rl_ga: Trace


def reference_split(budget: int, pop: int = 20) -> tuple[int, int]:
    """(RL episodes, GA generations) for `budget` evaluations, split as the reference splits
    its epochs (main.py: 2/3 of them RL episodes of one evaluation, 1/3 GA generations of
    `pop` evaluations each)."""
    epochs = budget / (2 / 3 + pop / 3)
    gens = (budget - max(1, int(round(2 * epochs / 3)))) // pop  # the remainder goes to RL
    return budget - gens * pop, gens


def confuciux(p: AllocationProblem, budget: int, seed: int, batch: int = 16, mask: bool = True,
              pop: int = 20) -> ConfuciuxResult:
    """RL, then the fine-grained GA (`fine_genetic`) from the RL's best design, with the
    evaluations split as the reference splits its epochs (`reference_split`). The RL+GA trace
    holds all evaluations (RL's first), so it compares with the other searches at the same
    total."""
    n_rl, gens = reference_split(budget, pop)
    rl = reinforce(p, n_rl, seed, batch=batch, mask=mask)
    suffix = "" if mask else " (unmasked)"
    both = Trace.empty("RL+GA" + suffix, p)
    both.record(np.array([rl.best]), np.array([rl.best_value]))
    both.values = list(rl.values)
    if gens and np.isfinite(rl.best_value):
        ga = fine_genetic(p, gens, seed + 1, rl.best, pop=pop)
        both.values += ga.values
        if ga.best_value < both.best_value:
            both.best, both.best_value = ga.best.copy(), ga.best_value
    return ConfuciuxResult(rl, both)
