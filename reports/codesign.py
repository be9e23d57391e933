"""The co-design answer: accuracy against cost for every SC and binary design of one model.

Joins, on the model's content hash (`model_sha256`, which emulate and estimate runs record
and finetune runs record for the model they started from and the one they wrote):
- costs from estimate runs: each accelerator's energy, latency and area per image, an SC
  preset once per stream length (its name carries "-L<n>");
- SC accuracy, bit-true: emulate runs (bit mode) and finetune runs (before and after
  SC-aware fine-tuning), paired with the SC presets estimated at the same stream length,
  generator kind and sharing degree; an emulate run of a fine-tuned model counts as
  "SC-aware" where it ran the configuration the model was trained for, and not at all
  elsewhere;
- binary accuracy: the emulate runs' fixed-point twin (the binary accelerators' arithmetic).
Seeds of one setting are averaged (mean ± std); every binary preset is paired with the
fixed-point accuracy.

Reads only result files (plain data).
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field

from reports.runs import Run

__all__ = ["Point", "CodesignSet", "codesign_sets", "pareto_indices", "headline", "EQUAL_ACCURACY"]

EQUAL_ACCURACY = 0.01  # "equal accuracy": within 1 point of the float model
STAGES = ("untuned", "SC-aware", "fixed point")
_TRAINED_FOR = (("stream_length", None), ("sng", None), ("seed", 0), ("share", 1),
                ("calib_percentile", 100.0))  # what a fine-tune fixes
_ENERGY_TERMS = ("energy_mac_pj", "energy_local_pj", "energy_sram_pj", "energy_dram_pj", "energy_sng_pj",
                 "energy_stream_buf_pj", "energy_edt_pj")


@dataclass
class Point:
    """One design: an accelerator preset with the accuracy measured for its arithmetic."""

    accel: str                 # preset (SC: without its -L<n>)
    family: str                # "sc" or "binary"
    stage: str                 # one of STAGES
    stream_length: int | None
    sng: str | None
    share: int                 # SNG sharing degree (SC)
    accuracy: float            # mean over seeds
    accuracy_std: float
    seeds: int
    n_images: int | None
    energy_pj: float
    latency_s: float
    area_um2: float
    terms: dict                # energy by component (pJ), from the estimate
    calib_percentile: float | None = 100.0  # SC: the calibration percentile of its activation scales;
    # None: chosen by each seed's fine-tune (--calib-percentile auto), so its seeds are one design

    @property
    def label(self) -> str:
        if self.family == "binary":
            return f"{self.accel} (fixed point)"
        share = f" share {self.share}" if self.share > 1 else ""
        clip = " p auto" if self.calib_percentile is None else \
            f" p{self.calib_percentile:g}" if self.calib_percentile != 100.0 else ""
        return f"{self.accel} L={self.stream_length} {self.sng}{share}{clip}, {self.stage}"


@dataclass
class CodesignSet:
    """The designs of one model (one content hash)."""

    model: str
    model_sha256: str
    dataset: str
    float_accuracy: float | None
    points: list[Point]
    binary_measured: bool = True     # an emulate run gave the fixed-point accuracy of the binary presets
    unpriced: list[str] = field(default_factory=list)  # SC settings no estimate priced (its generator, sharing)
    unestimated: list[str] = field(default_factory=list)  # SC settings at a stream length no estimate has


def _num(v: object) -> float | None:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    return float(v) if ok else None


def _costs(runs: list[Run]) -> dict[str, list[dict]]:
    """model hash -> the estimate totals of its runs, an SC accelerator's with the generator
    kind and sharing it was priced for (`sng`, `share`)."""
    out: dict[str, list[dict]] = {}
    for run in runs:
        h = run.config.get("model_sha256")
        if run.kind == "estimate" and isinstance(h, str):
            for e in run.results["estimates"]:
                sc = e.get("accel", {}).get("sc") or {}
                out.setdefault(h, []).append({**e["total"], "sng": sc.get("sng", "lfsr"), "share": sc.get("share", 1)})
    return {h: list({_design_key(t): t for t in totals}.values()) for h, totals in out.items()}


def _design_key(t: dict) -> tuple:
    """One design per accelerator (an SC one per length, generator and sharing): a binary preset
    in two estimate runs of the model is drawn once (the later run's numbers)."""
    if t.get("kind") == "sc":
        return t["accel"], t.get("stream_length"), t["sng"], t["share"]
    return (t["accel"],)


def _accuracies(runs: list[Run]) -> tuple[dict, dict, dict]:
    """(hash -> {(stage, L, sng, share, percentile): {seed: [(accuracy, n), ...]}}, hash -> fixed-point
    (accuracy, n, bits),
    hash -> (model, dataset, float accuracy)); fine-tuned models are folded onto their source."""
    tuned = {r.results.get("model_sha256"): (r.results.get("source_sha256"), r.results["sc_config"],
                                             _chose_percentile(r.results))
             for r in runs if r.kind == "finetune"  # a run that kept epoch 0 kept the source itself:
             and r.results.get("model_sha256") != r.results.get("source_sha256")}  # its emulate runs are untuned
    sc: dict = {}
    fixed: dict = {}
    info: dict = {}
    for run in runs:
        res = run.results
        if run.kind == "emulate":
            h = res.get("identity", {}).get("model_sha256")
            if not isinstance(h, str):
                continue
            stage = "SC-aware" if h in tuned else "untuned"
            trained = tuned[h][1] if h in tuned else None
            auto = h in tuned and tuned[h][2]  # emulated where it was tuned: one seed of the "p auto" design
            h = tuned[h][0] if h in tuned else h
            n = res.get("n_images")
            if stage == "untuned":
                info.setdefault(h, (res["model"], res["dataset"], _num(res.get("float_accuracy"))))
                fixed.setdefault(h, (res["fixed_point"]["accuracy"], n, res["fixed_point"]["bits"]))
            for s in res["settings"]:
                c = s["config"]
                if trained is not None and any(c.get(k, d) != trained.get(k, d) for k, d in _TRAINED_FOR):
                    continue  # a fine-tuned model on other hardware than it was trained for: neither point
                if c.get("mode") == "bit" and c.get("upscale", True):
                    key = (stage, int(c["stream_length"]), str(c["sng"]), int(c.get("share", 1)),
                           None if auto else float(c.get("calib_percentile", 100.0)))
                    sc.setdefault(h, {}).setdefault(key, {}).setdefault(c.get("seed", 0), []).append(
                        (s["accuracy"], s.get("n_images", n)))
        elif run.kind == "finetune":
            h, c, n = res.get("source_sha256"), res["sc_config"], res.get("n_test_images")
            if not isinstance(h, str):
                continue
            info.setdefault(h, (res["model"], res["dataset"], _num(res.get("source_float_accuracy"))))
            pct_before = res.get("calib_percentile_before", c.get("calib_percentile", 100.0))  # "before" ran at it
            auto = _chose_percentile(res)
            for stage, acc, pct in (("untuned", res["bit_accuracy_before"], pct_before),
                                    ("SC-aware", res["bit_accuracy_after"], c.get("calib_percentile", 100.0))):
                key = (stage, int(c["stream_length"]), str(c["sng"]), int(c.get("share", 1)),
                       None if auto else float(pct))
                sc.setdefault(h, {}).setdefault(key, {}).setdefault(c.get("seed", 0), []).append((acc, n))
    return sc, fixed, info


def _chose_percentile(finetune_results: dict) -> bool:
    """Whether a fine-tune chose its own percentile (auto): its seeds, each with the value it chose,
    are one design, not one design per value."""
    return "calib_search" in finetune_results


def _sort_key(item: tuple) -> tuple:
    """Keys in order, a percentile chosen per seed (None) after the fixed ones."""
    *head, pct = item[0]
    return (*head, pct is None, pct or 0.0)


def _base(accel: str, length: object) -> str:
    return re.sub(rf"-L{int(length)}$", "", accel) if isinstance(length, int) else accel


def _point(t: dict, family: str, stage: str, length, sng, accs: list[float], n, share: int = 1,
           pct: float | None = 100.0) -> Point:
    return Point(_base(t["accel"], length), family, stage, length, sng, share, statistics.fmean(accs),
                 statistics.stdev(accs) if len(accs) > 1 else 0.0, len(accs), n, float(t["energy_pj"]),
                 float(t["latency_s"]), float(t["area_um2"]), {k: float(t.get(k, 0.0)) for k in _ENERGY_TERMS}, pct)


def codesign_sets(runs: list[Run]) -> list[CodesignSet]:
    """One set per model that has both costs and accuracies."""
    costs = _costs(runs)
    sc, fixed, info = _accuracies(runs)
    out = []
    for h, totals in costs.items():
        if h not in info:
            continue
        points, unpriced, unestimated = [], [], []
        lengths = {t.get("stream_length") for t in totals if t.get("kind") == "sc"}
        for (stage, length, sng, share, pct), by_seed in sorted(sc.get(h, {}).items(), key=_sort_key):
            accs = [statistics.fmean(a for a, _ in found) for found in by_seed.values()]  # one value per seed
            n = next(iter(by_seed.values()))[0][1]
            priced = [_point(t, "sc", stage, length, sng, accs, n, share, pct) for t in totals
                      if t.get("kind") == "sc" and (t.get("stream_length"), t["sng"], t["share"]) == (length, sng, share)]
            points += priced
            if not priced:
                (unpriced if length in lengths else unestimated).append(
                    f"L={length} {sng}" + (f" share {share}" if share > 1 else ""))
        if h in fixed:
            acc, n, bits = fixed[h]
            points += [_point(t, "binary", "fixed point", None, None, [acc], n) for t in totals
                       if t.get("kind") != "sc"]
        if points:
            model, dataset, flt = info[h]
            out.append(CodesignSet(model, h, dataset, flt, points, h in fixed, sorted(set(unpriced)),
                                   sorted(set(unestimated))))
    return out


def pareto_indices(points: list[Point], cost: str = "energy_pj") -> set[int]:
    """Indices of the points no other point beats on both `cost` (lower) and accuracy (higher)."""
    order = sorted(range(len(points)), key=lambda i: (getattr(points[i], cost), -points[i].accuracy))
    front, best = set(), -math.inf
    for i in order:
        if points[i].accuracy > best:
            front.add(i)
            best = points[i].accuracy
    return front


def headline(cs: CodesignSet) -> dict:
    """The best SC and the best binary design at equal accuracy (within EQUAL_ACCURACY of float),
    by energy; when no SC design is that accurate or none beats binary, what keeps SC above
    binary: the energy term with the largest excess, and the longest L at which SC is still
    cheaper with the accuracy it has there."""
    floor = None if cs.float_accuracy is None else cs.float_accuracy - EQUAL_ACCURACY
    ok = [p for p in cs.points if floor is None or p.accuracy >= floor - 1e-12]
    best = {f: min((p for p in ok if p.family == f), key=lambda p: p.energy_pj, default=None)
            for f in ("sc", "binary")}
    out = {"float_accuracy": cs.float_accuracy, "floor": floor, "best_sc": best["sc"], "best_binary": best["binary"]}
    binary = best["binary"] or min((p for p in cs.points if p.family == "binary"), key=lambda p: p.energy_pj,
                                   default=None)
    sc_all = [p for p in cs.points if p.family == "sc"]
    if binary is not None and sc_all:
        cheaper = [p for p in sc_all if p.energy_pj < binary.energy_pj]
        out["cheaper_sc"] = max(cheaper, key=lambda p: (p.accuracy, -p.energy_pj), default=None)
        out["sc_wins"] = best["sc"] is not None and best["sc"].energy_pj < binary.energy_pj
        ref = best["sc"] or max(sc_all, key=lambda p: p.accuracy)
        if ref.energy_pj >= binary.energy_pj:
            excess = {k: ref.terms[k] - binary.terms.get(k, 0.0) for k in ref.terms}
            out["term"] = max(excess, key=excess.get)
            out["term_excess_pj"] = excess[out["term"]]
        out["reference_binary"] = binary
    return out
