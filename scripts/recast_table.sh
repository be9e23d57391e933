#!/usr/bin/env bash
# The README's recasting table: ResNet-20 (3-epoch teacher) on Fashion-MNIST recast to plain,
# dwsep and 0.5x width, seeds 0..2, with the three baselines; then the mean +- std table.
# Usage: scripts/recast_table.sh [TRAIN_LIMIT] [RUNS_DIR]   (resumes: each run checkpoints)
set -euo pipefail
limit=${1:-10000}
runs=${2:-runs/recast-table}
py=${PYTHON:-.venv/bin/python}
scnas=${SCNAS:-.venv/bin/scnas}
for seed in 0 1 2; do
  for plan in plain dwsep half-width; do
    "$scnas" recast --teacher resnet20 --epochs 3 --dataset fashion-mnist --plan "$plan" \
      --seed "$seed" --train-limit "$limit" --baselines --out "$runs/$plan-s$seed"
  done
done
"$py" scripts/recast_table.py "$runs"/*-s*
