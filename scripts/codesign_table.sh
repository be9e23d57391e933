#!/usr/bin/env bash
# The README's co-design table: a trained model (zoo name; its teacher is trained once and cached)
# fine-tuned SC-aware on Fashion-MNIST at each stream length with LFSR and Sobol generators, seeds
# given (each a run, RUNS/MODEL/SNG-L<L>/seed-N, scored bit-true on all 10,000 test images before
# and after), the estimator on the same model file (SC presets at every L priced with each
# generator kind, binary presets), the teacher emulated once (the fixed-point accuracy), then
# the table (scripts/codesign_table.py) and the report with the co-design figure. Every run
# checkpoints per epoch, so a rerun resumes.
# Usage: scripts/codesign_table.sh MODEL [RUNS_DIR] [LENGTHS] [SNGS] [SEEDS] [FINETUNE FLAGS...]
set -euo pipefail
model=${1:-lenet5}
runs=${2:-runs/codesign}
lengths=${3:-"16 32 64 128 256"}
sngs=${4:-"lfsr sobol"}
seeds=${5:-"0,1,2"}
shift $(( $# < 5 ? $# : 5 ))
py=${PYTHON:-.venv/bin/python}
scnas=${SCNAS:-.venv/bin/scnas}
teacher=$("$py" -c "from scnas.commands.teacher import cached_teacher; print(cached_teacher('$model', 'fashion-mnist'))")
for sng in $sngs; do
  for L in $lengths; do
    "$scnas" --quiet finetune --model "$model" --dataset fashion-mnist --stream-length "$L" --sng "$sng" \
      --seed "$seeds" "$@" --out "$runs/$model/$sng-L$L"
  done
done
csv=$(echo $lengths | tr ' ' ',')
for sng in $sngs; do  # the SC presets priced with each generator kind (SNG energy and area differ)
  echo "sng = \"$sng\"" > "$runs/$model/sc-$sng.toml"
  "$scnas" --quiet estimate --model "$teacher" --compare sc-64x64-L256 sc-64x64-buf-L256 sc-64x64-os-L256 \
    systolic-32x32-ws systolic-32x32-os spatial-16x16-kcp spatial-16x16-rs --stream-length "$csv" \
    --sc-config "$runs/$model/sc-$sng.toml" --out "$runs/$model/estimate-$sng" > /dev/null
done
if [ ! -f "$runs/$model/emulate/results.json" ]; then  # the binary presets' fixed-point accuracy
  "$scnas" --quiet emulate --model "$teacher" --dataset fashion-mnist --stream-length 1024 --out "$runs/$model/emulate" > /dev/null
fi
"$py" scripts/codesign_table.py "$runs/$model"
"$scnas" --quiet report "$runs/$model" \
  --out "$runs/$model/report" > /dev/null
echo "report: $runs/$model/report/index.html"
