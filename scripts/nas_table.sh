#!/usr/bin/env bash
# The README's architecture-search table: on Fashion-MNIST with the default budget, seeds 0..2,
# the coarse DARTS cell network, random search, InheritedNAS with the FLOPs (MACs) penalty and
# InheritedNAS with the estimator's latency penalty; the methods of one seed share the coarse
# search and the cell network (--coarse-dir). Each run checkpoints, so a rerun resumes.
# Usage: scripts/nas_table.sh [RUNS_DIR] [SEEDS]
set -euo pipefail
runs=${1:-runs/nas-table}
seeds=${2:-"0 1 2"}
py=${PYTHON:-.venv/bin/python}
scnas=${SCNAS:-.venv/bin/scnas}
for seed in $seeds; do
  for job in darts:latency random:latency inheritednas:flops inheritednas:latency; do
    method=${job%:*} penalty=${job#*:}
    label=$method; [ "$method" = inheritednas ] && label="$method-$penalty"
    if [ ! -f "$runs/$label-s$seed/results.json" ]; then
      "$scnas" search --dataset fashion-mnist --method "$method" --penalty "$penalty" --seed "$seed" \
        --coarse-dir "$runs/coarse-s$seed" --out "$runs/$label-s$seed"
    fi
  done
done
"$py" scripts/nas_table.py "$runs"/{darts,random,inheritednas-*}-s*
