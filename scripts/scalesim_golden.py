#!/usr/bin/env python3
"""Run SCALE-Sim 3 on every (layer, array, dataflow) pair and write the golden file.

Needs only the standard library and SCALE-Sim (PyPI `scalesim==3.0.0`, which needs
numpy < 2, so it lives in its own venv; `make scalesim-golden` builds that venv and runs
this). Input: the topology CSV that `sc_accel.hw.scalesim.write_topology` wrote for
`tests.sc_accel.scalesim_check.validation_layers()`. Rows named `<layer>__g<i>` are the groups of
one layer and are summed. Each pair runs in CALC (estimated-bandwidth, stall-free) mode
as its own job; finished pairs go to a JSONL checkpoint, so a killed run resumes.

    python scripts/scalesim_golden.py TOPOLOGY.csv OUT.json [--arrays 8,32,128] [--jobs 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import tempfile
from multiprocessing import Pool
from pathlib import Path

CONFIG = """[general]
run_name = golden

[architecture_presets]
ArrayHeight : {rows}
ArrayWidth : {cols}
IfmapSramSzkB : {ifmap_kb}
FilterSramSzkB : {filter_kb}
OfmapSramSzkB : {ofmap_kb}
IfmapOffset : 0
FilterOffset : 10000000
OfmapOffset : 20000000
Dataflow : {df}
Bandwidth : 10
ReadRequestBuffer : 32
WriteRequestBuffer : 32

[layout]
IfmapCustomLayout : False
IfmapSRAMBankBandwidth : 10
IfmapSRAMBankNum : 10
IfmapSRAMBankPort : 2
FilterCustomLayout : False
FilterSRAMBankBandwidth : 10
FilterSRAMBankNum : 10
FilterSRAMBankPort : 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth : CALC
UseRamulatorTrace : False
"""

FIELDS = ("cycles_reported", "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes",
          "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes")


def _layers(topology: Path) -> tuple[dict[str, list[str]], str]:
    """Layer name -> its topology rows (one per group), in file order; and the header line."""
    lines = topology.read_text().splitlines()
    out: dict[str, list[str]] = {}
    for line in lines[1:]:
        if line.strip():
            name = line.split(",")[0].strip()
            out.setdefault(re.sub(r"__g\d+$", "", name), []).append(line)
    return out, lines[0]


def _run(job: tuple) -> dict:
    """One (layer, rows, cols, df) pair through SCALE-Sim; sums the reports over its groups."""
    from scalesim.scale_sim import scalesim  # imported in the worker: SCALE-Sim prints on import

    layer, rows_txt, header, rows, cols, df, kb = job
    with tempfile.TemporaryDirectory() as tmp:
        topo = Path(tmp, "topo.csv")
        topo.write_text(header + "\n" + "\n".join(rows_txt) + "\n")
        cfg = Path(tmp, "golden.cfg")
        cfg.write_text(CONFIG.format(rows=rows, cols=cols, df=df, ifmap_kb=kb[0], filter_kb=kb[1], ofmap_kb=kb[2]))
        devnull = open(os.devnull, "w")
        old, sys.stdout = sys.stdout, devnull
        try:
            sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg), topology=str(topo),
                           layout=str(topo))
            sim.run_scale(top_path=tmp)
        finally:
            sys.stdout = old
            devnull.close()
        rep = Path(tmp, "golden")
        compute = list(csv.reader(rep.joinpath("COMPUTE_REPORT.csv").open()))[1:]
        detail = list(csv.reader(rep.joinpath("DETAILED_ACCESS_REPORT.csv").open()))[1:]
    res = {"layer": layer, "rows": rows, "cols": cols, "dataflow": df, "simulated_layers": len(compute),
           "buffer_kib": list(kb)}
    # COMPUTE_REPORT: LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, ...
    res["cycles_reported"] = sum(int(float(r[2])) for r in compute)
    res["stall_cycles"] = sum(int(float(r[3])) for r in compute)
    # DETAILED_ACCESS_REPORT: reads/writes are columns 3, 6, 9, 12, 15, 18
    for f, col in zip(FIELDS[1:], (3, 6, 9, 12, 15, 18)):
        res[f] = sum(int(float(r[col])) for r in detail)
    return res


def _resume(ckpt: Path) -> dict:
    """Finished pairs from the checkpoint; a line torn by a kill mid-write is dropped (rerun)."""
    done = {}
    if ckpt.exists():
        lines = ckpt.read_text().splitlines()
        good = []
        for line in lines:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            good.append(line)
            done[(r["layer"], r["rows"], r["dataflow"])] = r
        if len(good) != len(lines):
            ckpt.write_text("".join(g + "\n" for g in good))
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("topology", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--arrays", default="8,32,128")
    ap.add_argument("--dataflows", default="ws,os,is")
    ap.add_argument("--buffer-kib", default="64,64,64", help="ifmap, filter, ofmap SRAM sizes")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    try:
        layers, header = _layers(args.topology)
        kb = tuple(int(x) for x in args.buffer_kib.split(","))
        arrays = [int(x) for x in args.arrays.split(",")]
    except (OSError, ValueError) as e:
        print(f"scalesim_golden: error: {e}; give an existing topology CSV and comma-separated integers "
              "for --arrays and --buffer-kib.", file=sys.stderr)
        return 2
    dataflows = args.dataflows.split(",")
    if len(kb) != 3 or min(kb + tuple(arrays)) < 1 or not set(dataflows) <= {"ws", "os", "is"} or not layers:
        print("scalesim_golden: error: need three positive --buffer-kib sizes, positive --arrays, dataflows "
              "from ws,os,is and a topology with at least one layer.", file=sys.stderr)
        return 2
    ckpt = args.out.with_suffix(".partial.jsonl")
    done = _resume(ckpt)
    jobs = [(name, rows_txt, header, n, n, df, kb) for n in arrays
            for df in dataflows for name, rows_txt in layers.items()
            if (name, n, df) not in done]
    # biggest first, so the two workers finish together
    jobs.sort(key=lambda j: -len(j[1]) * (1 + 128 // j[3]))
    print(f"{len(done)} pairs done, {len(jobs)} to run", flush=True)
    with Pool(args.jobs) as pool, ckpt.open("a") as fh:
        for i, r in enumerate(pool.imap_unordered(_run, jobs), 1):
            fh.write(json.dumps(r) + "\n")
            fh.flush()
            done[(r["layer"], r["rows"], r["dataflow"])] = r
            print(f"[{i}/{len(jobs)}] {r['layer']} {r['rows']}x{r['cols']} {r['dataflow']}: "
                  f"{r['cycles_reported']} cycles", flush=True)
    order = {name: i for i, name in enumerate(layers)}
    pairs = sorted(done.values(), key=lambda r: (r["rows"], r["dataflow"], order.get(r["layer"], 1 << 30)))
    meta = {"tool": "SCALE-Sim 3.0.0 (PyPI scalesim), CALC bandwidth mode", "buffer_kib_ifmap_filter_ofmap": kb,
            "note": "cycles_reported is the sum over simulated layers of SCALE-Sim's 'Total Cycles', the "
                    "index of the last cycle (count - 1); groups are simulated as separate layers"}
    args.out.write_text(json.dumps({"meta": meta, "pairs": pairs}, indent=1) + "\n")
    ckpt.unlink()
    print(f"wrote {args.out} ({len(pairs)} pairs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
