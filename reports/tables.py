"""Tables from run directories' results.json: Markdown (for READMEs and papers) and the
headers and cells of the HTML page's tables (units for people, from reports.units)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Callable

from reports.stats import mean_std
from reports.units import Unit, method_name, number, unit_of

__all__ = ["column_header", "column_cell", "over_budget", "emulation_table", "estimate_table", "recast_rows", "recast_table", "nas_table", "table_main"]


_PERCENT = Unit("%", 100.0)
_PLAIN = {"seed", "seeds", "stream_length", "batch", "epoch", "block", "evaluation", "point", "bits", "pes"}
_UNIT_SUFFIXES = ("_s", "_pj", "_um2", "_cycles", "_bytes", "_w", "_hz", "_v")
_STATS = ("_mean", "_std")


def _split_column(col: str) -> tuple[str, str]:
    """("latency_sc_s_mean") -> ("latency_sc_s", "mean"): the raw key and a statistic."""
    stat = next((s for s in _STATS if col.endswith(s)), "")
    return (col[:-len(stat)], stat[1:]) if stat else (col, "")


def _unit(col: str) -> Unit:
    key = _split_column(col)[0]
    return _PERCENT if "accuracy" in key else unit_of(key)


def column_header(col: str) -> str:
    """A table header for people: "latency_s" -> "latency (µs)", "latency_sc_s_mean" ->
    "latency sc mean (µs)", "buffer_bytes" -> "buffer (B)"."""
    key, stat = _split_column(col)
    words = next((key[:-len(s)] for s in _UNIT_SUFFIXES if key.endswith(s) and len(key) > len(s)), key)
    return _unit(col).label(" ".join(filter(None, (words.replace("_", " "), stat))))


def column_cell(col: str, v: object) -> str:
    """A cell in the column's unit (see column_header), with thousands separators and no
    exponent in normal ranges; counts and settings (seed, L, batch) as written."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if not isinstance(v, (int, float)):
        return str(v)
    if _split_column(col)[0] in _PLAIN and float(v).is_integer():
        return str(int(v))
    return number(_unit(col)(v))


def over_budget(row: dict) -> bool:
    """Whether a DSE table row is a design over its budget: ConfuciuX `feasible: false`, or a
    BatchDVFS cap that no batch meets (batch None)."""
    return row.get("feasible") is False or ("power_cap_w" in row and "batch" in row and row["batch"] is None)


def emulation_table(results: str | Path | dict) -> str:
    """Rows: float, fixed point, then each setting; columns: setting, L, accuracy, vs float."""
    res = results if isinstance(results, dict) else json.loads(Path(results).read_text())
    fl, fx = res["float_accuracy"], res["fixed_point"]
    lines = ["| model | SNG | sharing | up-scaling | L | accuracy | vs float |", "|---|---|---|---|---|---|---|",
             f"| float | - | - | - | - | {100 * fl:.2f}% | - |",
             f"| fixed point {fx['bits']}-bit | - | - | yes | - | {100 * fx['accuracy']:.2f}% | "
             f"{100 * (fx['accuracy'] - fl):+.2f} |"]
    for s in sorted(res["settings"], key=lambda s: (s["config"]["sng"], s["config"]["share"],
                                                     not s["config"]["upscale"], s["config"]["stream_length"])):
        c = s["config"]
        share = "private" if c["share"] == 1 else f"{c['share']} per SNG, {c.get('decorrelate', 'rotate')}"
        enc = " bipolar" if c.get("encoding", "unipolar") == "bipolar" else ""
        lines.append(f"| SC {c['mode']}{enc} | {c['sng']} | {share} | {'yes' if c['upscale'] else 'no'} | "
                     f"{c['stream_length']} | {100 * s['accuracy']:.2f}% | {100 * (s['accuracy'] - fl):+.2f} |")
    return "\n".join(lines)


def estimate_table(results: str | Path | dict) -> str:
    """One row per accelerator of an `scnas estimate` run: latency, energy, area, traffic."""
    res = results if isinstance(results, dict) else json.loads(Path(results).read_text())
    lines = ["| accelerator | kind | dataflow | L | latency (us) | energy (uJ) | area (mm^2) | DRAM (kB) "
             "| utilization | EDP (uJ x us) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for e in res["estimates"]:
        t = e["total"]
        L = t["stream_length"] if t["kind"] == "sc" else "-"
        lines.append(f"| {t['accel']} | {t['kind']} | {t['dataflow']} | {L} | {1e6 * t['latency_s']:.1f} | "
                     f"{t['energy_pj'] / 1e6:.2f} | {t['area_um2'] / 1e6:.2f} | {t['dram_bytes'] / 1e3:.1f} | "
                     f"{100 * t['utilization']:.1f}% | {t['energy_pj'] / 1e6 * t['latency_s'] * 1e6:.3g} |")
    return "\n".join(lines)


_RECAST_ORDER = {"teacher": 0, "student": 1, "scratch": 2, "kd": 3, "pruned": 4}


def _mean_std(values: list[float], scale: float, fmt: str) -> str:
    """"m ± s" over seeds (sample std); one value prints alone."""
    m, sd = mean_std(values)
    if len(values) < 2:
        return format(m * scale, fmt)
    return f"{format(m * scale, fmt)} ± {format(sd * scale, fmt)}"


def recast_rows(results: list[dict]) -> list[dict]:
    """`scnas recast` results of several seeds grouped by (plan, model kind): teacher, recast
    student, and each baseline; every measured column as a list over the seeds."""
    groups: dict[tuple[str, str], dict] = {}
    for res in results:
        sc = res.get("sc_emulation", {})
        for m in res["models"]:
            kind = m.get("baseline", m["role"])
            g = groups.setdefault((res["plan"], kind), {"plan": res["plan"], "kind": kind, "name": m["name"],
                                                       "seeds": [], "columns": {}})
            g["seeds"].append(res.get("seed", 0))
            cols = {"accuracy": m["accuracy"], "params": m["params"], "macs": m["macs"],
                    "activation_bytes": m["activation_bytes"], "cpu_latency_s": m["cpu_latency_s"],
                    **{f"latency_{k}_s": v for k, v in m["latency_s"].items()},
                    **{f"energy_{k}_pj": v for k, v in m["energy_pj"].items()}}
            sc_key = {"teacher": "teacher_accuracy", "student": "student_accuracy"}.get(kind)
            if sc_key in sc:
                cols["sc_accuracy"] = sc[sc_key]
            for k, v in cols.items():
                g["columns"].setdefault(k, []).append(v)
    return sorted(groups.values(), key=lambda g: (g["plan"], _RECAST_ORDER.get(g["kind"], 9), g["kind"]))


def recast_table(results: list[str | Path | dict]) -> str:
    """Markdown, one row per (plan, model kind) over the given runs (e.g. 3 seeds of 3 plans):
    mean ± std of accuracy, size and the measured and estimated costs."""
    res = [r if isinstance(r, dict) else json.loads(Path(r).read_text()) for r in results]
    lines = ["| plan | model | seeds | accuracy (%) | params | MACs (M) | activations (KB) | CPU latency (ms) "
             "| binary latency (us) | binary energy (uJ) | SC latency (us) | SC energy (uJ) | bit-true SC (%) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for g in recast_rows(res):
        c = g["columns"]
        cell = {k: _mean_std(c[k], s, f) if k in c else "-" for k, s, f in (
            ("accuracy", 100, ".2f"), ("cpu_latency_s", 1e3, ".2f"), ("latency_binary_s", 1e6, ".0f"),
            ("energy_binary_pj", 1e-6, ".0f"), ("latency_sc_s", 1e6, ".0f"), ("energy_sc_pj", 1e-6, ".0f"),
            ("sc_accuracy", 100, ".1f"))}
        size = {k: statistics.fmean(c[k]) for k in ("params", "macs", "activation_bytes")}
        lines.append(f"| {g['plan']} | {g['kind']} | {len(g['seeds'])} | {cell['accuracy']} | {size['params']:,.0f} "
                     f"| {size['macs'] / 1e6:.2f} | {size['activation_bytes'] / 1024:.0f} | {cell['cpu_latency_s']} "
                     f"| {cell['latency_binary_s']} | {cell['energy_binary_pj']} | {cell['latency_sc_s']} "
                     f"| {cell['energy_sc_pj']} | {cell['sc_accuracy']} |")
    return "\n".join(lines)


_NAS_ORDER = {"darts": 0, "random": 1, "inheritednas-flops": 2, "inheritednas-energy": 3, "inheritednas-latency": 4}


def nas_table(results: list[str | Path | dict]) -> str:
    """Markdown, one row per method of `scnas search` runs (e.g. 3 seeds each): mean ± std of
    accuracy, size, memory traffic, estimated latency and energy, and search time; plus the
    ops each stage chose, per seed."""
    res = [r if isinstance(r, dict) else json.loads(Path(r).read_text()) for r in results]
    groups: dict[str, list[dict]] = {}
    for r in res:
        groups.setdefault(r["method"], []).append(r)
    accel = ", ".join(sorted({r["accel"] for r in res}))
    lines = ["| method | seeds | accuracy (%) | params | MACs (M) | memory traffic (MB) | latency (us) "
             "| energy (uJ) | search (s) | bit-true SC (%) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for m in sorted(groups, key=lambda m: (_NAS_ORDER.get(m, 9), m)):
        rs = groups[m]
        col = lambda k, scale, fmt: _mean_std([r["final"][k] for r in rs], scale, fmt)  # noqa: E731
        sc = [r["final"]["sc_accuracy"] for r in rs if r["final"].get("sc_accuracy") is not None]
        lines.append(f"| {method_name(m)} | {len(rs)} | {col('accuracy', 100, '.2f')} | {col('params', 1, ',.0f')} "
                     f"| {col('macs', 1e-6, '.2f')} | {col('memory_bytes', 1e-6, '.2f')} "
                     f"| {col('latency_s', 1e6, '.1f')} | {col('energy_pj', 1e-6, '.1f')} "
                     f"| {_mean_std([r['search_seconds'] for r in rs], 1, '.0f')} "
                     f"| {_mean_std(sc, 100, '.1f') if sc else '-'} |")
    lines += ["", f"Estimated on {accel}. Ops chosen per stage (live edges, cell by cell):", "",
              "| method | seed | " + " | ".join(s["name"] for s in res[0]["stages"]) + " |",
              "|---|---|" + "---|" * len(res[0]["stages"])]
    for m in sorted(groups, key=lambda m: (_NAS_ORDER.get(m, 9), m)):
        for r in sorted(groups[m], key=lambda r: r.get("seed", 0)):
            lines.append(f"| {method_name(m)} | {r.get('seed', 0)} | " + " | ".join(", ".join(s["ops"]) for s in r["stages"])
                         + " |")
    return "\n".join(lines)


def table_main(argv: list[str], table: Callable[[list], str], name: str) -> int:
    """The scripts' entry: print `table` over the results.json of the run directories in argv
    (those without one are named on stderr and skipped); 2 when none has one."""
    files = [Path(d) / "results.json" for d in argv]
    found = [f for f in files if f.is_file()]
    for f in sorted(set(files) - set(found)):
        print(f"skipped {f.parent}: no results.json yet", file=sys.stderr)
    if not found:
        print(f"{name}: no results.json in the given directories", file=sys.stderr)
        return 2
    print(table(found))
    return 0
