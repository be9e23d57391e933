"""What each kind of results.json must hold before it is drawn, checked in one place so a
malformed file gets a warning that names the field ("settings[2].accuracy is 'high', not a
number") instead of a plotting error or, worse, a silently wrong figure.

A spec maps a dotted path to a type name; "[]" walks every item of a list, "{}" every value
of a mapping. Optional top-level parts are checked only when present.
"""

from __future__ import annotations

import math

__all__ = ["SPECS", "OPTIONAL", "problems"]

SPECS: dict[str, dict[str, str]] = {
    "train": {"model": "str", "dataset": "str", "test_accuracy": "num", "history": "list",
              "history[].epoch": "num", "history[].loss": "num", "history[].test_accuracy": "num"},
    "finetune": {"model": "str", "dataset": "str", "sc_config.stream_length": "num", "sc_config.sng": "str",
                 "bit_accuracy_before": "num", "bit_accuracy_after": "num", "float_accuracy_after": "num",
                 "n_test_images": "num", "history": "list", "history[].epoch": "num", "history[].loss": "num"},
    "emulate": {"model": "str", "dataset": "str", "float_accuracy": "num", "fixed_point.bits": "num",
                "fixed_point.accuracy": "num", "settings": "list", "settings[].config": "dict",
                "settings[].config.stream_length": "num", "settings[].config.sng": "str",
                "settings[].config.share": "num", "settings[].config.upscale": "bool",
                "settings[].config.maxpool": "str", "settings[].config.mode": "str",
                "settings[].accuracy": "num", "settings[].layer_error": "dict", "settings[].layer_error{}": "num"},
    "estimate": {"model": "str", "input_shape": "list", "estimates": "list", "estimates[].total.accel": "str",
                 "estimates[].total.dataflow": "str", "estimates[].total.latency_s": "num",
                 "estimates[].total.energy_pj": "num", "estimates[].total.area_um2": "num",
                 "estimates[].layers": "list", "estimates[].layers[].name": "str",
                 "estimates[].layers[].latency_s": "num", "estimates[].layers[].energy_pj": "num"},
    "recast": {"models": "list", "models[].name": "str", "models[].role": "str", "models[].accuracy": "num",
               "models[].params": "num", "models[].activation_bytes": "num", "models[].cpu_latency_s": "num",
               "models[].latency_s": "dict", "models[].latency_s{}": "num"},
    "search": {"method": "str", "final.accuracy": "num", "final.latency_s": "num"},
    "dse": {"search": "str", "history": "list", "history[].method": "str", "history[].evaluation": "num",
            "history[].value": "num"},
}
OPTIONAL: dict[str, dict[str, str]] = {
    "recast": {"block_history": "list", "block_history[].block": "num", "block_history[].epoch": "num",
               "block_history[].loss": "num"},
    "search": {"candidates": "list", "candidates[].accuracy": "num", "candidates[].latency_s": "num",
               "stages": "list", "stages[].name": "str", "stages[].ops": "list", "stages[].ops[]": "str"},
    "dse": {"table": "list", "table[].platform": "str", "table[].model": "str", "table[].method": "str",
            "table[].latency_cycles": "num", "evolver.policies": "num", "evolver.skipped": "num",
            "evolver.layers": "list", "evolver.layers[].layer": "str"},
}

_TYPES = {"str": (str,), "num": (int, float), "bool": (bool,), "list": (list,), "dict": (dict,)}


def problems(kind: str, results: dict, limit: int = 3) -> list[str]:
    """The first `limit` fields of `results` that are missing or of the wrong type for `kind`."""
    out: list[str] = []
    for path, want in SPECS.get(kind, {}).items():
        out += _check(results, _split(path), want, "")
    for path, want in OPTIONAL.get(kind, {}).items():
        if _split(path)[0] in results:
            out += _check(results, _split(path), want, "")
    if not out and kind in _RULES:
        out += _RULES[kind](results)
    return list(dict.fromkeys(out))[:limit]


def _recast_rules(results: dict) -> list[str]:
    roles = [m["role"] for m in results["models"]]
    bad = sorted({r for r in roles if r not in ("teacher", "student", "baseline")})
    out = [f"models hold role(s) {', '.join(bad)}; use teacher, student or baseline"] if bad else []
    if roles.count("teacher") != 1:
        out.append(f"models hold {roles.count('teacher')} teachers; the figures need exactly one per run")
    return out


def _finetune_rules(results: dict) -> list[str]:
    """Accuracies are shares in [0, 1] (NaN is not), the stream length and seed whole numbers."""
    out = [f"{k} {results[k]!r} is not a share from 0 to 1" for k in
           ("bit_accuracy_before", "bit_accuracy_after", "float_accuracy_after", "source_float_accuracy")
           if k in results and not (isinstance(results[k], (int, float)) and 0 <= results[k] <= 1)]
    c = results["sc_config"]
    for k in ("stream_length", "seed"):
        v = c.get(k, 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < (1 if k == "stream_length" else 0):
            out.append(f"sc_config.{k} {v!r} is not a whole number" + (" >= 1" if k == "stream_length" else ""))
    return out


def _dse_rules(results: dict) -> list[str]:
    ev = results.get("evolver")
    if ev and not 0 <= ev["skipped"] <= ev["policies"]:
        return [f"evolver.skipped {ev['skipped']} is outside 0..policies ({ev['policies']})"]
    return []


EDT_SPEC = {"checkpoints": "list", "checkpoints[]": "num", "fixed": "list", "fixed[].stream_length": "num",
            "fixed[].accuracy": "num", "fixed[].energy_pj": "num", "rules": "list", "rules[].label": "str",
            "rules[].accuracy": "num", "rules[].prefix_fraction": "num", "rules[].spent_fraction": "num",
            "rules[].energy_pj": "num", "curves": "dict", "curves{}": "list", "curves{}[].accuracy": "num",
            "curves{}[].prefix_fraction": "num", "curves{}[].energy_pj": "num", "relu_clipped": "dict",
            **{f"relu_clipped{{}}.{k}": "list" for k in ("zero", "top", "settled")},
            **{f"relu_clipped{{}}.{k}[]": "num" for k in ("zero", "top", "settled")}}
EDT_MAX_CHECKPOINTS, EDT_MAX_POINTS = 32, 256  # what scnas writes at most (a crafted file may not ask more)


def _emulate_rules(results: dict) -> list[str]:
    """A setting's optional early-termination entry (`scnas emulate --edt`), when present: its
    types, then whether its numbers can be what a run wrote."""
    out: list[str] = []
    for i, s in enumerate(results["settings"]):
        if isinstance(s, dict) and "edt" in s:
            where = f"settings[{i}].edt"
            found = [p for path, want in EDT_SPEC.items() for p in _check(s["edt"], _split(path), want, where)]
            out += found or _edt_values(s["edt"], s["config"]["stream_length"], where)
    return out


def _edt_values(e: dict, length: float, where: str) -> list[str]:
    """Checkpoints rising to L (at most 32), one fixed run and one ReLU share per checkpoint,
    accuracies and shares in [0, 1], fractions in (0, 64], energies positive, at most 256
    points per list."""
    ks, n = e["checkpoints"], len(e["checkpoints"])
    if not 1 <= n <= EDT_MAX_CHECKPOINTS or ks[-1] != length or any(b <= a for a, b in zip(ks, ks[1:])) or ks[0] < 1:
        return [f"{where}.checkpoints {_show(ks)} must rise from 1 or more to the stream length {length:g}, at most "
                f"{EDT_MAX_CHECKPOINTS} of them"]
    if [f["stream_length"] for f in e["fixed"]] != ks:
        return [f"{where}.fixed must hold one run per checkpoint"]
    points = e["rules"] + [p for c in e["curves"].values() for p in c]
    if len(e["rules"]) > EDT_MAX_POINTS or any(len(c) > EDT_MAX_POINTS for c in e["curves"].values()):
        return [f"{where} holds more than {EDT_MAX_POINTS} rules or curve points"]
    for p in e["fixed"] + points:
        if not (0 <= p["accuracy"] <= 1 and p["energy_pj"] > 0 and 0 < p.get("prefix_fraction", 1) <= 64
                and 0 < p.get("spent_fraction", 1) <= 64):
            return [f"{where} holds {_show(p)}: accuracy must be in [0, 1], energy positive, fractions in (0, 64]"]
    for name, c in e["relu_clipped"].items():
        lists = [c[k] for k in ("zero", "top", "settled")]
        if any(len(v) != n or not all(0 <= x <= 1 for x in v) for v in lists):
            return [f"{where}.relu_clipped[{name!r}] must hold one share in [0, 1] per checkpoint"]
    return []


_RULES = {"recast": _recast_rules, "dse": _dse_rules, "emulate": _emulate_rules, "finetune": _finetune_rules}


def _split(path: str) -> list[str]:
    return path.replace("[]", ".[]").replace("{}", ".{}").split(".")


def _check(value: object, parts: list[str], want: str, where: str) -> list[str]:
    if not parts:
        ok = isinstance(value, _TYPES[want]) and not (want == "num" and isinstance(value, bool))
        if want == "num" and ok and isinstance(value, float) and math.isinf(value):
            ok = False
        return [] if ok else [f"{where or 'the file'} is {_show(value)}, not a {_NAMES[want]}"]
    head, rest = parts[0], parts[1:]
    if head in ("[]", "{}"):
        kind = list if head == "[]" else dict
        if not isinstance(value, kind):
            return [f"{where} is {_show(value)}, not a {'list' if kind is list else 'mapping'}"]
        items = enumerate(value) if kind is list else value.items()
        return [p for k, v in items for p in _check(v, rest, want, f"{where}[{k!r}]" if kind is dict
                                                     else f"{where}[{k}]")]
    if not isinstance(value, dict):
        return [f"{where or 'the file'} is {_show(value)}, not a mapping"]
    if head not in value:
        return [f"{(where + '.' if where else '') + head} is missing"]
    return _check(value[head], rest, want, (where + "." if where else "") + head)


_NAMES = {"str": "string", "num": "finite number", "bool": "true/false", "list": "list", "dict": "mapping"}


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
