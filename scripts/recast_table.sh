#!/usr/bin/env bash
# The README's recasting table: ResNet-20 (3-epoch teacher) on Fashion-MNIST recast to plain,
# dwsep and 0.5x width, seeds 0..2, each with the three baselines; then the mean +- std table.
# Usage: scripts/recast_table.sh [TRAIN_LIMIT] [RUNS_DIR] [JOBS]
#   JOBS: space-separated PLAN:SEED (default all nine); run two lists side by side with
#   OMP_NUM_THREADS=1 to use two cores. Each run checkpoints, so a rerun resumes.
set -euo pipefail
limit=${1:-10000}
runs=${2:-runs/recast-table}
jobs=${3:-"plain:0 dwsep:0 half-width:0 plain:1 dwsep:1 half-width:1 plain:2 dwsep:2 half-width:2"}
py=${PYTHON:-.venv/bin/python}
scnas=${SCNAS:-.venv/bin/scnas}
for job in $jobs; do
  plan=${job%:*} seed=${job#*:}
  if [ ! -f "$runs/$plan-s$seed/results.json" ]; then
    "$scnas" recast --teacher resnet20 --epochs 3 --dataset fashion-mnist --plan "$plan" \
      --seed "$seed" --train-limit "$limit" --baselines --out "$runs/$plan-s$seed"
  fi
done
"$py" scripts/recast_table.py "$runs"/*-s*
