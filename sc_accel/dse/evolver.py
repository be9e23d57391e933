"""Evolver-style quantization-voltage-frequency tuning by Q-learning (after Evolver, on-device
QVF tuning of SC/binary CNN accelerators), on the shared emulator and estimator.

The MDP has N states: states 1..N-1 pick the stream length of each MAC layer of an SC model
(the per-layer `SCConfig.layers` / `AccelConfig.precision`), state N picks a
voltage-frequency pair from `sc_accel.hw.power.operating_points`. A finished policy gets

    R = a A - b L - c E    (A accuracy, L latency, E energy, L and E normalised to [0, 1]
                            over the space: 0 = the fastest / least-energy corner)

when A > A_TH, L < L_TH and E < E_TH, and R = 0 otherwise, as in the paper (Evolver, JSSC
2021). Outlier skipping: a policy whose estimated L or E already breaks its threshold gets
R = 0 without an accuracy evaluation (the estimate costs microseconds, the accuracy a pass
over images). A policy evaluated but under A_TH gets R = `shaping` x A, with shaping 0 by
default (the paper's zero); shaping > 0 is an option, not the paper's: below every feasible
reward when a A_TH > b L_TH + c E_TH + shaping, yet rising with accuracy, so the learner is
led towards longer streams instead of facing a flat zero until it stumbles on a feasible
policy. The paper requantizes and retrains every policy it scores; this search post-trains
(converts the trained model) and leaves retraining to an optional fine-tune of the chosen
policy, outside this package (`scnas dse evolver --finetune-epochs`). Q-learning: one Q row
per state, epsilon-greedy with exponential decay (greedy ties broken at random, so rows
still all zero under the paper's reward do not all pick the shortest length), and after each episode the updates run in
reverse state order, Q(i, u) += alpha (R + gamma max Q(i + 1) - Q(i, u)) (max Q(N + 1) = 0).
The policy kept is the highest-reward one seen.

Accuracy during the search comes from the emulator's expected mode: the logits' mean and
variance (`SCModel.moments`), turned into the expected share of images classified right
by sampling Gaussian logits with a fixed seed (argmax of the mean alone would ignore the
stream noise that short streams add). The expected mode treats the errors of different
inputs as independent, which understates the noise of a real bit-true network (streams made
by shared generators and reused across outputs err together), so `calibrate` scales each
layer's own noise once per search: with that layer at the shortest length and the others at
the longest, it runs the network bit-true on the search images and picks the scale at which
the proxy gives the same accuracy (bisection; the proxy falls as the scale grows). Even so
the proxy misjudges some mixes of lengths, so the search keeps its TOP_K best feasible
policies and `verify` re-scores them with bit-true accuracy on the same search images,
keeping the best that still meets A_TH; the uniform-L baseline is chosen on bit-true
accuracy as well. Test images are used only for the final report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from sc_accel.dse.space import COMPUTE_OPS, DSEInputError, check_int, check_seed
from sc_accel.hw.config import AccelConfig, LayerPrecision, OperatingPoint, check_accel
from sc_accel.hw.estimate import check_layer_names, estimate
from sc_accel.hw.power import operating_points, power_w, with_point
from sc_accel.hw.workload import WorkLayer, check_layer_list
from sc_accel.nn import SCConfig, convert, fixed_point

__all__ = ["BIT_PAIRS", "Thresholds", "EvolverProblem", "QLearner", "evolve", "uniform_best", "exhaustive_policy",
           "verify",
           "LENGTHS", "TOP_K", "proxy_accuracy", "MAX_EPISODES", "MAX_SAMPLES", "MAX_CHOICES"]

LENGTHS = (16, 32, 64, 128, 256, 512, 1024)
BIT_PAIRS = ((4, 4), (6, 4), (4, 6), (6, 6), (8, 4), (8, 6), (6, 8), (8, 8))  # (activation, weight) bits
TOP_K = 5  # feasible policies kept for bit-true verification
# Limits checked before any work: episodes (each one at least an estimate; the default is
# 300), Gaussian draws per image (memory grows as draws x images x classes) and choices per
# layer (the space bounds estimate every uniform design at every V/F point).
MAX_EPISODES = 100_000
MAX_SAMPLES = 1024
MAX_CHOICES = 64


@dataclass(frozen=True)
class Thresholds:
    """Constraints and reward weights: A > accuracy, L < latency, E < energy (L and E
    normalised to [0, 1]); R = a A - b L - c E when all three hold, `shaping` x A when only the
    accuracy misses (0 by default, as in the paper), 0 for an outlier."""

    accuracy: float
    latency: float = 0.5
    energy: float = 0.5
    a: float = 1.0
    b: float = 0.5
    c: float = 0.5
    shaping: float = 0.0  # R = shaping x A under A_TH; 0: the paper's reward (Evolver, JSSC 2021)

    def breaks_cost(self, latency: float, energy: float) -> bool:
        """An outlier: its normalised latency or energy already breaks a threshold."""
        return latency >= self.latency or energy >= self.energy

    def meets(self, accuracy: float, latency: float, energy: float) -> bool:
        """Every constraint met: A > A_TH, L < L_TH, E < E_TH."""
        return accuracy > self.accuracy and not self.breaks_cost(latency, energy)

    def __post_init__(self) -> None:
        for name in ("accuracy", "latency", "energy", "shaping"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                what = name if name == "shaping" else f"threshold {name}"
                raise DSEInputError(f"{what}={v!r} must be a number in [0, 1].")


@dataclass
class Outcome:
    """One policy's scores: reward, accuracy (None when skipped), normalised L and E."""

    reward: float
    accuracy: float | None
    latency: float
    energy: float
    skipped: bool
    feasible: bool = False


def _check_lengths(lengths: tuple) -> tuple[int, ...]:
    if not lengths:
        raise DSEInputError("the list of stream lengths is empty; give at least one.")
    bad = [v for v in lengths if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= v <= 1 << 20]
    if bad:
        raise DSEInputError(f"stream lengths {bad} are not integers from 1 to 2^20; give lengths such as 16,64,256.")
    out = tuple(sorted(int(v) for v in set(lengths)))
    if len(out) > MAX_CHOICES:
        raise DSEInputError(f"{len(out)} stream lengths is more than {MAX_CHOICES} choices per layer; give fewer.")
    return out


def _check_pairs(pairs: tuple) -> tuple[tuple[int, int], ...]:
    if not pairs:
        raise DSEInputError("the list of bit pairs is empty; give at least one (activation, weight) pair.")
    out = []
    for pr in pairs:
        ok = isinstance(pr, (tuple, list)) and len(pr) == 2 and all(
            not isinstance(b, bool) and isinstance(b, (int, np.integer)) and 1 <= b <= 16 for b in pr)
        if not ok:
            raise DSEInputError(f"bit pair {pr!r} must be (activation, weight) bits from 1 to 16, e.g. 8/4.")
        out.append((int(pr[0]), int(pr[1])))
    return tuple(sorted(set(out), key=lambda t: (t[0] * t[1], t)))


def proxy_accuracy(mean: torch.Tensor, var: torch.Tensor, y: np.ndarray, samples: int = 16, seed: int = 0) -> float:
    """Expected share of images whose argmax is right when each logit is Gaussian with the
    emulator's mean and variance (independent logits; `samples` draws per image, seeded)."""
    g = torch.Generator().manual_seed(seed)
    std = var.clamp_min(0.0).sqrt()
    noise = torch.randn((samples,) + tuple(mean.shape), generator=g, dtype=mean.dtype)
    pred = (mean[None] + noise * std[None]).argmax(-1).numpy()
    return float((pred == np.asarray(y)[None]).mean())


def _scaled_moments(sc: object, base: dict[str, float], scale: dict[str, float], x: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Logit moments of an expected-mode model with each layer's variance factor set to its
    measured `base` value times `scale` (1 for layers not named)."""
    sc.backend.factor = {n: f * scale.get(n, 1.0) for n, f in base.items()}
    return sc.moments(x)


class EvolverProblem:
    """A model, its accelerator and images: scores policies (a choice index per MAC layer, then
    an operating-point index). On an SC array a layer's choice is its stream length
    (`lengths`); on a binary array an (activation, weight) bit pair (`bit_pairs`), scored by
    the fixed-point twin (exact binary arithmetic, so no proxy and no calibration) and by the
    estimator's per-layer word and weight bits. Estimates and accuracies are cached; `counts`
    says how many of each were computed and how many policies were skipped."""

    def __init__(self, model: torch.nn.Module, layers: list[WorkLayer], accel: AccelConfig, x_eval: torch.Tensor,
                 y_eval: np.ndarray, calib: torch.Tensor, thresholds: Thresholds, lengths: tuple[int, ...] = LENGTHS,
                 points: list[OperatingPoint] | None = None, base: SCConfig | None = None, samples: int = 16,
                 seed: int = 0, bit_pairs: tuple[tuple[int, int], ...] = BIT_PAIRS) -> None:
        check_layer_list(layers, empty_ok=False)
        check_layer_names(layers, check_accel(accel))
        check_int("samples=", samples, 1, MAX_SAMPLES, "Gaussian draws per image")
        check_seed(seed)
        self.binary = accel.kind != "sc"
        self.lengths = _check_lengths(lengths) if not self.binary else ()
        self.bit_pairs = _check_pairs(bit_pairs) if self.binary else ()
        self.choices = self.bit_pairs if self.binary else self.lengths
        self.model, self.accel, self.th = model, accel, thresholds
        self.work = layers
        self.names = [layer.name for layer in layers if layer.op in COMPUTE_OPS]
        self.points = points or operating_points(accel)
        self.x, self.y, self.calib = x_eval, np.asarray(y_eval), calib
        self.base = (base or SCConfig()).replace(mode="expected", seed=seed)
        self.samples, self.seed = samples, seed
        self.layer_scale = {n: 1.0 for n in self.names}  # noise scale per MAC layer (see calibrate)
        self._cost: dict[tuple, tuple[float, float]] = {}
        self._acc: dict[tuple, float] = {}
        self._bit: dict[tuple, float] = {}
        self.counts = {"estimates": 0, "accuracy_evaluations": 0, "skipped": 0, "policies": 0}
        self.bounds = self._bounds()

    @property
    def n_states(self) -> int:
        return len(self.names) + 1

    def actions(self, state: int) -> int:
        return len(self.points) if state == len(self.names) else len(self.choices)

    def config(self, lengths: tuple[int, ...], mode: str = "expected") -> SCConfig:
        """The SCConfig of a precision choice (length indices per MAC layer)."""
        return self.base.replace(mode=mode, layers={n: {"stream_length": self.lengths[i]}
                                                    for n, i in zip(self.names, lengths)})

    def accel_for(self, lengths: tuple[int, ...], point: int) -> AccelConfig:
        if self.binary:
            prec = {n: LayerPrecision(word_bits=self.bit_pairs[i][0], weight_bits=self.bit_pairs[i][1])
                    for n, i in zip(self.names, lengths)}
        else:
            prec = {n: LayerPrecision(stream_length=self.lengths[i]) for n, i in zip(self.names, lengths)}
        return with_point(self.accel.with_(precision=prec), self.points[point])

    def raw_cost(self, lengths: tuple[int, ...], point: int) -> tuple[float, float]:
        """(latency s, energy J with leakage) of one policy, from the shared estimator."""
        key = (tuple(lengths), point)
        if key not in self._cost:
            acc = self.accel_for(lengths, point)
            tot = estimate(self.work, None, acc).total
            self._cost[key] = (float(tot["latency_s"]), power_w(tot, acc)["energy_with_leakage_pj"] * 1e-12)
            self.counts["estimates"] += 1
        return self._cost[key]

    def _bounds(self) -> dict[str, tuple[float, float]]:
        """Min and max latency and energy over the space: a layer's cost is its own and grows
        with its precision, so the extremes are among the uniform designs (every choice, every
        V/F point)."""
        n, k = len(self.names), len(self.choices)
        costs = [self.raw_cost((i,) * n, p) for i in range(k) for p in range(len(self.points))]
        lat, en = [c[0] for c in costs], [c[1] for c in costs]
        return {"latency": (min(lat), max(lat)), "energy": (min(en), max(en))}

    def normalised(self, lengths: tuple[int, ...], point: int) -> tuple[float, float]:
        lat, en = self.raw_cost(lengths, point)
        (l0, l1), (e0, e1) = self.bounds["latency"], self.bounds["energy"]
        return (lat - l0) / (l1 - l0) if l1 > l0 else 0.0, (en - e0) / (e1 - e0) if e1 > e0 else 0.0

    def moments(self, lengths: tuple[int, ...], scale: dict[str, float] | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Expected-mode (mean, variance) of the logits on the search images, each layer's own
        noise scaled by `scale` (default: the calibrated `layer_scale`)."""
        sc = convert(self.model, self.config(tuple(lengths)), self.calib)
        return _scaled_moments(sc, dict(sc.backend.factor), scale or self.layer_scale, self.x)

    def accuracy(self, lengths: tuple[int, ...]) -> float:
        """Accuracy of a precision choice during the search (cached): the expected-mode proxy
        on SC arrays, the exact fixed-point twin on binary ones."""
        key = tuple(lengths)
        if key not in self._acc:
            if self.binary:
                self._acc[key] = self.bit_accuracy(key)
            else:
                mean, var = self.moments(key)
                self._acc[key] = proxy_accuracy(mean, var, self.y, self.samples, self.seed)
            self.counts["accuracy_evaluations"] += 1
        return self._acc[key]

    def twin(self, lengths: tuple[int, ...]) -> object:
        """The fixed-point twin of a bit-pair choice (binary arrays)."""
        pairs = {n: self.bit_pairs[i] for n, i in zip(self.names, lengths)}
        return fixed_point(self.model, self.calib, bits=8, layer_bits=pairs)

    def bit_accuracy(self, lengths: tuple[int, ...], x: torch.Tensor | None = None,
                     y: np.ndarray | None = None) -> float:
        """Bit-true accuracy of a precision choice (the fixed-point twin on binary arrays) on
        the search images (cached), or on (x, y)."""
        key = tuple(lengths)
        if x is None and key in self._bit:
            return self._bit[key]
        m = self.twin(key) if self.binary else convert(self.model, self.config(key, mode="bit"), self.calib)
        xs, ys = (self.x, self.y) if x is None else (x, y)
        acc = float((m(xs).argmax(1).numpy() == ys).mean())
        if x is None:
            self._bit[key] = acc
        return acc

    def calibrate(self, steps: int = 14) -> list[dict]:
        """Per-layer noise scales: for each MAC layer, the design with that layer at the
        shortest length and all others at the longest is run bit-true on the search images,
        and the layer's variance scale is bisected (log2 in [0, 16]) until the proxy gives the
        same accuracy; layers are calibrated in order, each with the earlier scales in force."""
        rows = []
        if self.binary:
            return rows  # the twin is exact: nothing to calibrate
        short, long = 0, len(self.lengths) - 1
        for i, name in enumerate(self.names):
            lengths = tuple(short if j == i else long for j in range(len(self.names)))
            target = self.bit_accuracy(lengths)
            sc = convert(self.model, self.config(lengths), self.calib)  # once: the bisection changes only scales
            base = dict(sc.backend.factor)

            def acc(log2k: float) -> float:
                m, v = _scaled_moments(sc, base, {**self.layer_scale, name: 2.0 ** log2k}, self.x)
                return proxy_accuracy(m, v, self.y, self.samples, self.seed)

            unscaled = acc(0.0)
            lo, hi = 0.0, (16.0 if unscaled > target else 0.0)
            for _ in range(steps if hi > 0 else 0):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if acc(mid) > target else (lo, mid)
            self.layer_scale[name] = 2.0 ** hi
            rows.append({"layer": name, "stream_length": self.lengths[short], "bit_accuracy": target,
                         "proxy_unscaled": unscaled, "variance_scale": self.layer_scale[name],
                         "proxy_scaled": acc(hi)})
        self._acc.clear()
        return rows

    def evaluate(self, policy: tuple[int, ...], bit: bool = False) -> Outcome:
        """Reward of a full policy (lengths..., point), skipping the accuracy of outliers;
        bit=True scores it with bit-true accuracy instead of the proxy (not counted as a
        search step)."""
        *lengths, point = policy
        lat, en = self.normalised(tuple(lengths), point)
        if not bit:
            self.counts["policies"] += 1
        if self.th.breaks_cost(lat, en):
            self.counts["skipped"] += 0 if bit else 1
            return Outcome(0.0, None, lat, en, True)
        a = self.bit_accuracy(tuple(lengths)) if bit else self.accuracy(tuple(lengths))
        if not self.th.meets(a, lat, en):
            return Outcome(self.th.shaping * a, a, lat, en, False)
        return Outcome(self.th.a * a - self.th.b * lat - self.th.c * en, a, lat, en, False, True)

    def scored(self) -> list[dict]:
        """Every (precision, V/F) design estimated so far whose accuracy is known: its accuracy,
        normalised latency and energy, and whether it meets every threshold (the Pareto plot)."""
        out = []
        for lengths, point in sorted(self._cost):
            if lengths in self._acc:
                lat, en = self.normalised(lengths, point)
                a = self._acc[lengths]
                out.append({"accuracy": a, "latency": lat, "energy": en, "feasible": self.th.meets(a, lat, en)})
        return out

    def cache_state(self) -> dict:
        """The search's caches and counts as plain data (a checkpoint), keys as "i,j,k" and
        "i,j,k|point"."""
        key = lambda t: ",".join(map(str, t))  # noqa: E731
        return {"counts": dict(self.counts), "accuracy_cache": {key(k): v for k, v in self._acc.items()},
                "cost_cache": {f"{key(k)}|{p}": list(v) for (k, p), v in self._cost.items()}}

    def load_cache_state(self, d: dict) -> None:
        """Inverse of cache_state: continue a search where its checkpoint left it. A state that
        does not fit this problem raises DSEInputError and changes nothing."""
        try:
            counts = {k: int(d["counts"][k]) for k in self.counts}
            acc = {self._choice_key(k): float(v) for k, v in d["accuracy_cache"].items()}
            cost = {}
            for k, v in d["cost_cache"].items():
                lengths, point = k.split("|")
                if not 0 <= int(point) < len(self.points) or len(v) != 2:
                    raise ValueError(k)
                cost[(self._choice_key(lengths), int(point))] = (float(v[0]), float(v[1]))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise DSEInputError(f"the checkpoint's caches do not fit this search ({type(e).__name__}: {e}); "
                                "delete the checkpoint to start over.") from None
        self.counts, self._acc = counts, acc
        self._cost.update(cost)

    def _choice_key(self, text: str) -> tuple[int, ...]:
        """"i,j,k" -> (i, j, k): a choice index per MAC layer, each checked against the menu."""
        key = tuple(int(i) for i in text.split(","))
        if len(key) != len(self.names) or not all(0 <= i < len(self.choices) for i in key):
            raise ValueError(f"policy {text!r} is not one of this search's")
        return key

    def describe(self, policy: tuple[int, ...]) -> dict:
        """A policy in plain terms: per-layer L, the V/F point, its estimate and scores."""
        *lengths, point = policy
        lat, en = self.raw_cost(tuple(lengths), point)
        p = self.points[point]
        choice = {n: self.choices[i] for n, i in zip(self.names, lengths)}
        return {("bits" if self.binary else "stream_lengths"): choice,
                "voltage_v": p.voltage, "frequency_hz": p.freq_mhz * 1e6, "latency_s": lat, "energy_j": en}


@dataclass
class QLearner:
    """Tabular Q-learning over the problem's states; its whole state is plain data, so a run
    checkpoints it (`to_dict` / `from_dict`) and resumes to the same result."""

    q: list[list[float]]
    episode: int = 0
    best_policy: list[int] | None = None  # the best feasible policy seen (None: none yet)
    best_reward: float = -math.inf
    history: list[dict] = field(default_factory=list)
    rng_state: dict | None = None
    top: list = field(default_factory=list)  # [[reward, policy], ...] best feasible first, TOP_K at most

    @classmethod
    def fresh(cls, p: EvolverProblem, seed: int) -> "QLearner":
        return cls([[0.0] * p.actions(i) for i in range(p.n_states)],
                   rng_state=np.random.default_rng(seed).bit_generator.state)

    def to_dict(self) -> dict:
        return {"q": self.q, "episode": self.episode, "best_policy": self.best_policy,
                "best_reward": self.best_reward, "history": self.history, "rng_state": self.rng_state,
                "top": self.top}

    @classmethod
    def from_dict(cls, d: dict) -> "QLearner":
        return cls(**d)

    def check(self, p: EvolverProblem, episodes: int) -> None:
        """Refuse (DSEInputError) a learner that cannot continue a search on `p` to `episodes`:
        a damaged or forged checkpoint, or one of another problem."""
        def policy_ok(pol: object) -> bool:
            return (isinstance(pol, list) and len(pol) == p.n_states
                    and all(_is_index(u, p.actions(i)) for i, u in enumerate(pol)))

        ok = (isinstance(self.q, list) and len(self.q) == p.n_states
              and all(isinstance(r, list) and len(r) == p.actions(i) and all(_is_num(v) for v in r)
                      for i, r in enumerate(self.q))
              and _is_index(self.episode, episodes + 1) and _is_num(self.best_reward)
              and (self.best_policy is None or policy_ok(self.best_policy))
              and isinstance(self.history, list) and len(self.history) == self.episode
              and all(isinstance(h, dict) and _is_num(h.get("best")) for h in self.history)
              and isinstance(self.top, list) and len(self.top) <= TOP_K
              and all(isinstance(t, list) and len(t) == 2 and _is_num(t[0]) and policy_ok(t[1]) for t in self.top))
        if not ok:
            raise DSEInputError("the checkpoint's learner does not fit this search; delete the checkpoint to start "
                                "over.")
        rng = np.random.default_rng()
        rng.bit_generator.state = self.rng_state  # raises on a state numpy does not accept


def _is_num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_index(v: object, n: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < n


def _epsilon(k: int, episodes: int, eps_min: float = 0.05) -> float:
    """Exploration at episode k: from 1 down to eps_min, exponentially over the run."""
    return eps_min + (1.0 - eps_min) * math.exp(-5.0 * k / max(episodes, 1))


def evolve(p: EvolverProblem, episodes: int = 300, alpha: float = 0.5, gamma: float = 0.9, seed: int = 0,
           learner: QLearner | None = None, on_step=None, every: int = 25) -> QLearner:
    """Run (or continue) Q-learning to `episodes` episodes; `on_step(learner)` is called every
    `every` episodes and at the end (the caller checkpoints there)."""
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise DSEInputError(f"episodes={episodes!r} must be a positive integer.")
    check_int("episodes=", episodes, 1, MAX_EPISODES, "each episode scores one policy; the default is 300")
    ql = learner or QLearner.fresh(p, seed)
    rng = np.random.default_rng()
    rng.bit_generator.state = ql.rng_state
    while ql.episode < episodes:
        eps = _epsilon(ql.episode, episodes)
        policy = []
        for i in range(p.n_states):
            row = np.asarray(ql.q[i])
            explore = rng.random() < eps
            best = np.flatnonzero(row == row.max())  # ties broken at random: an all-zero row (the paper's
            policy.append(int(rng.integers(len(row))) if explore else int(rng.choice(best)))  # 0 reward) explores
        out = p.evaluate(tuple(policy))
        for i in reversed(range(p.n_states)):
            nxt = max(ql.q[i + 1]) if i + 1 < p.n_states else 0.0
            u = policy[i]
            ql.q[i][u] += alpha * (out.reward + gamma * nxt - ql.q[i][u])
        if out.feasible and out.reward > ql.best_reward:
            ql.best_reward, ql.best_policy = out.reward, policy
        if out.feasible and all(t[1] != policy for t in ql.top):
            ql.top = sorted(ql.top + [[out.reward, policy]], key=lambda t: -t[0])[:TOP_K]
        ql.history.append({"episode": ql.episode, "reward": out.reward, "best": ql.best_reward,
                           "skipped": out.skipped, "epsilon": eps})
        ql.episode += 1
        ql.rng_state = rng.bit_generator.state
        if on_step is not None and (ql.episode % every == 0 or ql.episode == episodes):
            on_step(ql)
    return ql


def verify(p: EvolverProblem, top: list) -> tuple[tuple[int, ...] | None, list[dict]]:
    """Re-score the search's best policies with bit-true accuracy on the search images; the
    best one that still meets every threshold (None if none does) and a row per candidate."""
    rows, best, best_r = [], None, -math.inf
    for proxy_reward, policy in top:
        out = p.evaluate(tuple(policy), bit=True)
        rows.append({"policy": list(policy), "proxy_reward": proxy_reward, "bit_accuracy_search": out.accuracy,
                     "bit_reward": out.reward, "meets": out.feasible})
        if out.feasible and out.reward > best_r:
            best, best_r = tuple(policy), out.reward
    return best, rows


def uniform_best(p: EvolverProblem, bit: bool = True) -> tuple[tuple[int, ...] | None, Outcome | None]:
    """The best design with one stream length for every layer (any V/F point) that meets the
    same thresholds, judged bit-true on the search images (bit=False: on the proxy): the
    baseline a per-layer search must beat."""
    best, best_out = None, None
    for i in range(len(p.choices)):
        for point in range(len(p.points)):
            pol = (i,) * len(p.names) + (point,)
            out = p.evaluate(pol, bit=bit)
            if out.feasible and (best_out is None or out.reward > best_out.reward):
                best, best_out = pol, out
    return best, best_out


def exhaustive_policy(p: EvolverProblem) -> tuple[tuple[int, ...], Outcome]:
    """Every policy (small spaces only: tests check Q-learning against it)."""
    import itertools

    size = len(p.choices) ** len(p.names) * len(p.points)
    if size > 200_000:
        raise DSEInputError(f"the space holds {size} policies; exhaustive search is for spaces of 200,000 or fewer.")
    best, best_out = None, None
    for lengths in itertools.product(range(len(p.choices)), repeat=len(p.names)):
        for point in range(len(p.points)):
            out = p.evaluate(lengths + (point,))
            if out.feasible and (best_out is None or out.reward > best_out.reward):
                best, best_out = lengths + (point,), out
    return best, best_out
