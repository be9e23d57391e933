"""nas: InheritedNAS, fine-grained hardware-aware architecture search, and its baselines.

    from nas import search, SearchConfig
    res = search((x_train, y_train), SearchConfig(penalty="latency", lam=0.5), accel="systolic-32x32-ws")
    res.genotype, res.model, res.history

A coarse DARTS cell search gives the genotype every cell position inherits; each stage is
then searched on its own by two-point matching distillation from a teacher, pruning whole op
blocks, under a latency/energy/MACs penalty read from the shared estimator (sc_accel.hw).
"""

from nas.cost import CostTables, build_tables
from nas.genotype import Genotype, SearchSpace
from nas.network import CellNet, build_network
from nas.ops import OPS, create_op
from nas.search import METHODS, SearchConfig, SearchResult, search

__all__ = ["search", "SearchConfig", "SearchResult", "METHODS", "Genotype", "SearchSpace", "CellNet",
           "build_network", "CostTables", "build_tables", "OPS", "create_op"]
