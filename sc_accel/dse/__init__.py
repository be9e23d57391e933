"""Accelerator design-space searches on the shared estimator (`sc_accel.hw`).

- ConfuciuX-style per-layer resource assignment (`assign_resources`): REINFORCE with a
  recurrent policy, then GA fine-tuning, against an NVDLA-like fixed assignment, random
  search, GA and simulated annealing at equal evaluations, and the exact optimum (DP).
- BatchDVFS-style batch size and V/F point under a power cap (`tune_batch_dvfs`):
  exhaustive, the paper's binary search and Bayesian optimisation (Optuna TPE).
- Evolver-style Q-learning of per-layer stream lengths and a V/F point (`EvolverProblem`,
  `evolve`), with outlier skipping and bit-true verification.
Tasks run inline, in a local process pool or on Ray (`sc_accel.runner.run_tasks`).
"""

from sc_accel.dse.assign import METHODS, AssignResult, AssignTask, assign_job, assign_resources
from sc_accel.dse.batchdvfs import (DVFSChoice, DVFSProblem, DVFSTask, batchdvfs_job, bayesian_dvfs,
                                    binary_search_dvfs, exhaustive_dvfs, tune_batch_dvfs)
from sc_accel.dse.baselines import annealing, dla_baseline, exhaustive, genetic, optimum, random_search
from sc_accel.dse.evolver import EvolverProblem, QLearner, Thresholds, evolve, uniform_best, verify
from sc_accel.dse.confuciux import confuciux, reinforce
from sc_accel.dse.space import (DEPLOYMENTS, OBJECTIVES, PLATFORMS, AllocationProblem, DSEInputError, Platform, Trace,
                                improvements)

__all__ = ["assign_resources", "assign_job", "AssignTask", "AssignResult", "METHODS", "Trace", "dla_baseline",
           "random_search", "genetic", "annealing", "exhaustive", "optimum", "confuciux", "reinforce", "improvements",
           "AllocationProblem", "Platform", "PLATFORMS", "DSEInputError", "OBJECTIVES", "DEPLOYMENTS",
           "tune_batch_dvfs", "batchdvfs_job", "DVFSTask", "DVFSProblem", "DVFSChoice", "exhaustive_dvfs",
           "binary_search_dvfs", "bayesian_dvfs", "EvolverProblem", "QLearner", "Thresholds", "evolve", "uniform_best",
           "verify"]
