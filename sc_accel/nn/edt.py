"""Early decision termination (EDT): per-image stopping rules over a progressive run.

A progressive run (`sc_accel.nn.progressive`) gives every image's logits at checkpoints
L_1 < ... < L_K = L. A rule reads them in order and stops an image at the first checkpoint
where its decision is settled; the image's class is then the top-1 at that checkpoint.

- margin:Z stops when the top-1 logit's margin over the runner-up exceeds Z sigma_k, with
  sigma_k the standard deviation of a logit difference's stream noise at L_k, measured
  bit-true on calibration images (`decision_noise`: how far the logits at L_k lie from
  those at L). Z sigma_k is one constant per checkpoint, so the hardware's check is what the
  estimator costs: a top-2 search over the output counters and one compare;
- stable:M stops when the top-1 class is the same at the last M + 1 checkpoints (it has
  not changed over the last M), so it never stops at the first M checkpoints.

Z or M = inf never stops early, which reproduces the full-length run. The DAC 2016 paper
that introduced EDT for SC networks (Kim et al.) is cited for the idea only: its text was
not available here (only its abstract, which does not state the stopping rule), so neither
rule claims to be its rule.

Two cycle counts per image stopped at checkpoint k: `prefix` = L_k / L, what a design whose
layers stream into each other spends, and `spent` = (L_1 + ... + L_k) / L, what this
accelerator spends, since its layers read counter values back into binary and a continuing
image runs every checkpoint afresh. The estimator is given `spent`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import torch

from sc_accel.errors import InvalidInputError

__all__ = ["RULES", "Rule", "parse_rules", "Evidence", "decision_noise", "evidence", "stop_index", "outcome",
           "curve", "CURVE_THRESHOLDS"]

RULES = ("margin", "stable")
CURVE_THRESHOLDS = {"margin": [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, math.inf],
                    "stable": [1, 2, 3, 4, 5, 6, 8, math.inf]}


@dataclass(frozen=True)
class Rule:
    """One stopping rule: `kind` (margin or stable) and its threshold (Z, or M checkpoints)."""

    kind: str
    threshold: float

    def __post_init__(self) -> None:
        if self.kind not in RULES:
            raise InvalidInputError(f"EDT rule {self.kind!r} is unknown; use margin:Z or stable:M.")
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or math.isnan(t) or t < 0:
            raise InvalidInputError(f"EDT threshold {t!r} of {self.kind} must be a number >= 0 (inf: never stop "
                                    "early).")
        if self.kind == "stable" and not (math.isinf(t) or (float(t).is_integer() and t >= 1)):
            raise InvalidInputError(f"EDT stable:{t:g} must be a whole number of checkpoints >= 1 (or inf).")

    @property
    def label(self) -> str:
        """margin:2 / stable:3 / margin:inf."""
        t = self.threshold
        return f"{self.kind}:{'inf' if math.isinf(t) else f'{t:g}'}"


_NUMBER = re.compile(r"^\s*(inf|[0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$")


def parse_rules(specs: list[str]) -> list[Rule]:
    """Rules from CLI words such as "margin:1,2,4" or "stable:2" (several values sweep)."""
    rules: list[Rule] = []
    for spec in specs:
        kind, sep, values = str(spec).partition(":")
        if not sep or not values.strip(","):
            raise InvalidInputError(f"--edt {spec!r} must be RULE:VALUES, such as margin:1,2,4 or stable:2,3.")
        for v in values.split(","):
            if v.strip().startswith("-"):
                raise InvalidInputError(f"--edt {spec!r}: thresholds must be >= 0, not {v.strip()}.")
            if not _NUMBER.match(v):
                raise InvalidInputError(f"--edt {spec!r}: {v!r} is not a number (give digits, or inf).")
            rules.append(Rule(kind.strip(), float(v)))
    labels = [r.label for r in rules]
    if len(set(labels)) != len(labels):
        raise InvalidInputError(f"--edt names a rule twice ({', '.join(labels)}); give each once.")
    return rules


@dataclass
class Evidence:
    """What the rules read, per checkpoint k and image i: top-1 class and margin / sigma_k."""

    checkpoints: list[int]
    top1: np.ndarray      # (K, N) int64
    margin_z: np.ndarray  # (K, N) float64: (top-1 - runner-up) / sigma_k


def decision_noise(logits: torch.Tensor) -> np.ndarray:
    """sigma_k (K,): the standard deviation of a difference of two logits' stream noise at each
    checkpoint, from progressive logits (K, N, C) of calibration images: sqrt(2 mean (y_k -
    y_L)^2) over images and classes (the noise of one logit, for two; 0 at L itself)."""
    lg = logits.double().numpy()
    if lg.ndim != 3 or lg.shape[1] == 0:
        raise InvalidInputError(f"decision_noise needs (checkpoints, images, classes) logits; got {lg.shape}.")
    return np.sqrt(2.0 * ((lg - lg[-1:]) ** 2).mean(axis=(1, 2)))


def evidence(logits: torch.Tensor, sigma: np.ndarray, checkpoints: list[int]) -> Evidence:
    """Evidence from progressive logits (K, N, C) and each checkpoint's noise sigma_k (K,)."""
    lg, sd = logits.double().numpy(), np.asarray(sigma, dtype=np.float64)
    if lg.ndim != 3 or lg.shape[0] != len(checkpoints) or lg.shape[2] < 2 or sd.shape != (len(checkpoints),):
        raise InvalidInputError(f"EDT needs (checkpoints, images, classes >= 2) logits and one noise figure per "
                                f"checkpoint; got {lg.shape} and {sd.shape}.")
    order = np.argsort(-lg, axis=2, kind="stable")[..., :2]
    top = np.take_along_axis(lg, order, 2)
    margin = top[..., 0] - top[..., 1]
    sd = sd[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, margin / np.where(sd > 0, sd, 1.0), np.where(margin > 0, np.inf, 0.0))
    return Evidence(list(checkpoints), order[..., 0].astype(np.int64), z)


def stop_index(rule: Rule, ev: Evidence) -> np.ndarray:
    """Checkpoint index at which each image stops (K - 1 when the rule never fires)."""
    n_ck = len(ev.checkpoints)
    fired = np.zeros(ev.top1.shape, dtype=bool)
    if rule.kind == "margin":
        fired = ev.margin_z > rule.threshold
    elif not math.isinf(rule.threshold):
        m = int(rule.threshold)
        for k in range(m, n_ck):
            fired[k] = np.all(ev.top1[k - m:k + 1] == ev.top1[k], axis=0)
    fired[-1] = True
    return np.argmax(fired, axis=0)


def outcome(rule: Rule, ev: Evidence, labels: np.ndarray) -> dict:
    """Accuracy, mean prefix and spent cycle fractions, mean decision checks, and the number
    of images stopping at each checkpoint."""
    stop = stop_index(rule, ev)
    pred = ev.top1[stop, np.arange(stop.size)]
    ks = np.asarray(ev.checkpoints, dtype=np.float64)
    L = ks[-1]
    spent = np.cumsum(ks) / L
    return {"rule": rule.kind, "threshold": rule.threshold if not math.isinf(rule.threshold) else "inf",
            "label": rule.label, "accuracy": float((pred == np.asarray(labels)).mean()),
            "prefix_fraction": float((ks[stop] / L).mean()), "spent_fraction": float(spent[stop].mean()),
            "checks": float(np.minimum(stop + 1, len(ks) - 1).mean()),
            "stops": np.bincount(stop, minlength=len(ks)).tolist()}


def curve(kind: str, ev: Evidence, labels: np.ndarray, thresholds: list[float] | None = None) -> list[dict]:
    """Outcomes of one rule kind over a sweep of thresholds (accuracy against cycles)."""
    return [outcome(Rule(kind, t), ev, labels) for t in (thresholds or CURVE_THRESHOLDS[kind])]
