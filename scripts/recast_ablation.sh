#!/usr/bin/env bash
# Ablation of the reference recasting procedure (docs/recasting.md, "Reference procedure and
# ablation"): ResNet-20 on Fashion-MNIST, plain plan, the older procedure, each of the reference
# code's three choices alone, and all three; with BASELINES=1 also the scratch / KD / pruned
# baselines once per seed, in the older run (they do not depend on these options). Then a
# markdown table of test accuracies.
# Usage: [BASELINES=1] [VARIANTS="older reference"] [DATASET=digits] [EXTRA="--epochs-per-block 2"] \
#          scripts/recast_ablation.sh [TRAIN_LIMIT] [RUNS_DIR] [SEEDS] [TEACHER]
#   TEACHER: a model.pt (default: the cached 8-epoch resnet20 Fashion-MNIST teacher); DATASET
#   (default fashion-mnist) must be the one it was trained on; EXTRA: more `scnas recast` flags.
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
run_order=${VARIANTS:-"reinit stem step reference older"}  # the older run (with any baselines) last
mkdir -p "$runs"
for seed in $seeds; do
  for v in $run_order; do
    out="$runs/$v-s$seed"
    [ -f "$out/results.json" ] && continue
    extra=""
    [ "$v" = older ] && [ "${BASELINES:-0}" = 1 ] && extra="--baselines"  # once per seed
    # shellcheck disable=SC2086
    "$scnas" recast --teacher "$teacher" --dataset "${DATASET:-fashion-mnist}" --plan plain --seed "$seed" \
      --train-limit "$limit" --sc-limit 50 ${variant[$v]} ${EXTRA:-} $extra --out "$out" > "$out.log" 2>&1 \
      || { echo "run $out failed, see $out.log" >&2; exit 1; }
  done
done
"$py" - "$runs" $order <<'PY'
import json, statistics, sys
from pathlib import Path
runs, order = Path(sys.argv[1]), sys.argv[2:]
flags = {"older": ("width-change", "off", "constant"), "reinit": ("always", "off", "constant"),
         "stem": ("width-change", "on", "constant"), "step": ("width-change", "off", "step"),
         "reference": ("always", "on", "step")}
def accs(v, role):
    """{seed: test accuracy (%)} of `role` (student, teacher or a baseline) in runs/v-sSEED."""
    out = {}
    for f in runs.glob(f"{v}-s*/results.json"):
        for m in json.loads(f.read_text())["models"]:
            if m.get("baseline", m["role"]) == role:
                out[int(f.parent.name.rsplit("-s", 1)[1])] = 100 * m["accuracy"]
    return out
rows = [(v, *flags[v], accs(v, "student")) for v in order]
rows += [(role, "", "", "", accs("older", role)) for role in ("teacher", "scratch", "kd", "pruned")]
seeds = sorted({s for r in rows for s in r[-1]})
print("| variant | reinit_next | train_stem | lr_schedule | " + " | ".join(f"seed {s} (%)" for s in seeds)
      + " | mean (%) |")
print("|---|---|---|---|" + "---|" * (len(seeds) + 1))
for *name, acc in rows:
    if acc:
        cells = [f"{acc[s]:.2f}" if s in acc else "-" for s in seeds]
        print(f"| {' | '.join(name)} | {' | '.join(cells)} | {statistics.mean(acc.values()):.2f} |")
PY
