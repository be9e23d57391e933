#!/usr/bin/env bash
# Ablation of the reference recasting procedure (docs/recasting.md, "Reference procedure and
# ablation"): ResNet-20 on Fashion-MNIST, plain plan, the older procedure, each of the reference
# code's three choices alone, and all three; with BASELINES=1 also the scratch / KD / pruned
# baselines once per seed, in the older run (they do not depend on these options). Then a
# markdown table of test accuracies.
# Usage: [BASELINES=1] scripts/recast_ablation.sh [TRAIN_LIMIT] [RUNS_DIR] [SEEDS] [TEACHER]
#   TEACHER: a model.pt (default: the cached 8-epoch resnet20 Fashion-MNIST teacher).
#   Scoring: accuracy on all 10,000 test images; bit-true SC on 50 of them (--sc-limit 50).
#   Each run checkpoints every epoch, so a rerun resumes; finished runs are skipped.
set -euo pipefail
limit=${1:-5000}
runs=${2:-runs/recast-ablation}
seeds=${3:-"0"}
teacher=${4:-${SCNAS_HOME:-$HOME/.cache/scnas}/teachers/resnet20-fashion-mnist/model.pt}
py=${PYTHON:-.venv/bin/python}
scnas=${SCNAS:-.venv/bin/scnas}
older="--reinit-next width-change --train-stem off --lr-schedule constant"
declare -A variant=(
  [older]="$older"
  [reinit]="--reinit-next always --train-stem off --lr-schedule constant"
  [stem]="--reinit-next width-change --train-stem on --lr-schedule constant"
  [step]="--reinit-next width-change --train-stem off --lr-schedule step"
  [reference]="--reinit-next always --train-stem on --lr-schedule step"
)
order="older reinit stem step reference"
run_order="reinit stem step reference older"  # the older run (with any baselines) last
mkdir -p "$runs"
for seed in $seeds; do
  for v in $run_order; do
    out="$runs/$v-s$seed"
    [ -f "$out/results.json" ] && continue
    extra=""
    [ "$v" = older ] && [ "${BASELINES:-0}" = 1 ] && extra="--baselines"  # once per seed
    # shellcheck disable=SC2086
    "$scnas" recast --teacher "$teacher" --dataset fashion-mnist --plan plain --seed "$seed" \
      --train-limit "$limit" --sc-limit 50 ${variant[$v]} $extra --out "$out" > "$out.log" 2>&1 \
      || { echo "run $out failed, see $out.log" >&2; exit 1; }
  done
done
"$py" - "$runs" $order <<'PY'
import json, statistics, sys
from pathlib import Path
runs, order = Path(sys.argv[1]), sys.argv[2:]
def acc(v, role):
    out = []
    for f in sorted(runs.glob(f"{v}-s*/results.json")):
        for m in json.loads(f.read_text())["models"]:
            if m.get("baseline", m["role"]) == role:
                out.append(100 * m["accuracy"])
    return out
def cell(xs):
    if not xs:
        return "-", 0
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.mean(xs):.2f} ± {sd:.2f}" if len(xs) > 1 else f"{xs[0]:.2f}", len(xs)
print("| variant | reinit_next | train_stem | lr_schedule | seeds | accuracy (%) |")
print("|---|---|---|---|---|---|")
flags = {"older": ("width-change", "off", "constant"), "reinit": ("always", "off", "constant"),
         "stem": ("width-change", "on", "constant"), "step": ("width-change", "off", "step"),
         "reference": ("always", "on", "step")}
for v in order:
    text, n = cell(acc(v, "student"))
    print(f"| {v} | {' | '.join(flags[v])} | {n} | {text} |")
for role in ("teacher", "scratch", "kd", "pruned"):
    text, n = cell(acc("older", role))
    print(f"| {role} | | | | {n} | {text} |")
PY
