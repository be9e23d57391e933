"""`scnas emulate --edt`: early decision termination measured bit-true, costed by the estimator.

Each bit-mode setting runs progressively (`sc_accel.nn.progressive`): every test image's
logits at the checkpoints L_1 < ... < L. The stopping rules (`sc_accel.nn.edt`) read them
afterwards, so one run gives every rule and threshold. The measured mean cycles and
decision checks go into the shared estimator (`sc_accel.hw.estimate`, network-level EDT)
for energy and latency per image, beside the fixed-length runs at each checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sc_accel.errors import InvalidInputError, is_int
from sc_accel.hw import estimate, sc_array
from sc_accel.hw.workload import as_layers
from sc_accel.nn import SCConfig
from sc_accel.nn.edt import CURVE_THRESHOLDS, RULES, Rule, curve, decision_noise, evidence, outcome, parse_rules
from sc_accel.nn.progressive import (MAX_CHECKPOINTS, ClipStats, Progressive, check_checkpoints, default_checkpoints,
                                     prefix_config)

__all__ = ["EDTSpec", "EDT_ARRAY", "checkpoints_for", "edt_results", "EDTRecorder", "print_edt"]

EDT_ARRAY = (64, 64, "kcp")  # the array of the shipped SC presets (sc-64x64-*): where energy is estimated
EDT_CALIB_IMAGES = 250  # calibration images whose bit-true runs measure each checkpoint's decision noise


@dataclass(frozen=True)
class EDTSpec:
    """What `--edt` asks for: the rules reported, and the checkpoints (None: default per L)."""

    rules: tuple[Rule, ...]
    checkpoints: tuple[int, ...] | None = None

    @classmethod
    def parse(cls, words: list[str] | None, checkpoints: list[int] | None) -> "EDTSpec | None":
        """From the CLI words (None: no EDT) and the optional checkpoint lengths."""
        if not words:
            if checkpoints:
                raise InvalidInputError("--edt-checkpoints needs --edt RULE:VALUES (such as margin:2 stable:2).")
            return None
        if checkpoints is not None:
            if not checkpoints or any(not is_int(k) or k < 1 for k in checkpoints):
                raise InvalidInputError(f"--edt-checkpoints {checkpoints} must be positive stream lengths, such as "
                                        "64,128,256,512.")
            if any(b <= a for a, b in zip(checkpoints, checkpoints[1:])):
                raise InvalidInputError(f"--edt-checkpoints {checkpoints} must rise strictly, each length once.")
            if len(checkpoints) >= MAX_CHECKPOINTS:
                raise InvalidInputError(f"--edt-checkpoints takes fewer than {MAX_CHECKPOINTS} lengths (L is added); "
                                        f"{len(checkpoints)} were given.")
        return cls(tuple(parse_rules(words)), tuple(checkpoints) if checkpoints else None)

    def identity(self) -> dict:
        """The part of a run's identity a resume must match (the rules as a set)."""
        return {"rules": sorted(r.label for r in self.rules),
                "checkpoints": list(self.checkpoints) if self.checkpoints else "default",
                "noise_calib_images": EDT_CALIB_IMAGES}

    def check_lengths(self, lengths: list[int]) -> None:
        """Refuse a stream length that leaves no checkpoint below it (EDT could never stop early)."""
        for L in lengths:
            if len(checkpoints_for(self, L)) < 2:
                given = "the default checkpoints start at L/16" if self.checkpoints is None else \
                    f"--edt-checkpoints {','.join(map(str, self.checkpoints))} has no length below it"
                raise InvalidInputError(f"--edt at L={L} could never stop early ({given}); give checkpoints below "
                                        "every --stream-length, or a longer stream.")


def checkpoints_for(spec: EDTSpec, length: int) -> list[int]:
    """The checkpoints of one stream length: the given ones below L (default: powers of two
    from L/16), then L."""
    if spec.checkpoints is None:
        return default_checkpoints(length)
    return check_checkpoints([k for k in spec.checkpoints if k < length] + [length], length)


class EDTRecorder:
    """Runs the batches of one setting progressively, keeping what the rules and report need."""

    def __init__(self, sc, checkpoints: list[int]) -> None:
        self.run = Progressive(sc, checkpoints)
        self.clips = ClipStats()
        self.logits: list[torch.Tensor] = []

    def batch(self, x: torch.Tensor, errors: dict) -> torch.Tensor:
        """The full-length logits of a batch (the plain run's bits); every checkpoint's kept."""
        lg = self.run.batch(x, self.clips, errors)
        self.logits.append(lg)
        return lg[-1]


def edt_results(rec: EDTRecorder, spec: EDTSpec, model: torch.nn.Module, calib: torch.Tensor, x: torch.Tensor,
                y: np.ndarray) -> dict:
    """The setting's "edt" entry: accuracy of each fixed checkpoint length, each rule's outcome,
    threshold curves of both rule kinds, ReLU clipping per checkpoint, and estimated costs."""
    sc, ks = rec.run.model, rec.run.checkpoints
    logits = torch.cat(rec.logits, dim=1)
    cal = calib[:EDT_CALIB_IMAGES]  # training images: the test set never sets a threshold
    sigma = decision_noise(torch.cat([rec.run.batch(b) for b in sc.batches(cal)], dim=1))
    ev = evidence(logits, sigma, ks)
    layers = as_layers(model, (1,) + tuple(x.shape[1:]))
    cost = _Costs(layers, sc.config)
    fixed = [{"stream_length": k, "accuracy": float((ev.top1[i] == y).mean()), **cost.fixed(k)}
             for i, k in enumerate(ks)]
    with_cost = lambda o: o | cost.edt(o)  # noqa: E731
    return {"checkpoints": ks, "fixed": fixed,
            "rules": [with_cost(outcome(r, ev, y)) for r in spec.rules],
            "curves": {kind: [with_cost(o) for o in curve(kind, ev, y, CURVE_THRESHOLDS[kind])] for kind in RULES},
            "relu_clipped": rec.clips.to_dict(),
            "accel": f"sc-{EDT_ARRAY[0]}x{EDT_ARRAY[1]}-{EDT_ARRAY[2]} (the shipped SC presets' array), the "
                     "setting's stream settings",
            "decision_noise": sigma.tolist(),
            "decision_noise_from": f"bit-true logits of the first {int(cal.shape[0])} calibration (training) images "
                                   "at each checkpoint against those at L"}


class _Costs:
    """Energy and latency per image from the shared estimator, fixed-length or with EDT."""

    def __init__(self, layers: list, cfg: SCConfig) -> None:
        self.layers, self.cfg = layers, cfg

    def _estimate(self, length: int, **edt: float) -> dict:
        cfg = prefix_config(self.cfg, length)
        accel = sc_array(EDT_ARRAY[0], EDT_ARRAY[1], EDT_ARRAY[2], sc_config=cfg, name=f"sc-edt-L{length}", **edt)
        t = estimate(self.layers, None, accel).total
        return {"energy_pj": t["energy_pj"], "latency_s": t["latency_s"], "energy_edt_pj": t["energy_edt_pj"]}

    def fixed(self, length: int) -> dict:
        """A run stopped at `length` for every image (no decision checks)."""
        return self._estimate(length)

    def edt(self, o: dict) -> dict:
        """A rule's outcome: every MAC layer runs the measured spent fraction of L, and the
        output pays the measured mean decision checks."""
        return self._estimate(self.cfg.stream_length, edt_fraction=o["spent_fraction"], edt_checks=o["checks"])


def print_edt(res: dict) -> None:
    """Each EDT rule beside the fixed-length runs, per bit-mode setting that measured it."""
    for s in res["settings"]:
        e = s.get("edt")
        if not e:
            continue
        c = s["config"]
        print(f"\nearly decision termination, {c['sng']} L={c['stream_length']} (checkpoints {e['checkpoints']}; "
              f"energy per image on {e['accel'].split(' ')[0]}; the img/s above include every checkpoint)")
        print(f"{'run':<16} {'accuracy':>9} {'used (of L)':>12} {'spent (of L)':>13} {'energy uJ':>10}   "
              "(energy from the cycles spent, checks included)")
        for f in e["fixed"]:
            frac = f["stream_length"] / c["stream_length"]
            print(f"{'fixed L=' + str(f['stream_length']):<16} {100 * f['accuracy']:>8.2f}% {frac:>12.3f} "
                  f"{frac:>13.3f} {f['energy_pj'] / 1e6:>10.3f}")
        for o in e["rules"]:
            print(f"{o['label']:<16} {100 * o['accuracy']:>8.2f}% {o['prefix_fraction']:>12.3f} "
                  f"{o['spent_fraction']:>13.3f} {o['energy_pj'] / 1e6:>10.3f}")
