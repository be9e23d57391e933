"""The shared hardware estimator: workload graph, PE arrays, dataflows, memory, energy/area.

    from sc_accel.hw import estimate, systolic, sc_array
    est = estimate(model, (1, 3, 32, 32), systolic(32, 32, "ws"))
    est.total["latency_s"], est.layers[0]["energy_pj"]
"""

from sc_accel.hw.config import (DATAFLOWS, KINDS, AccelConfig, HardwareConfigError, LayerResources, MemoryConfig,
                                OperatingPoint, SCHardware, min_gbuf_bytes, presets, sc_array, spatial, systolic)
from sc_accel.hw.cost import evaluate, pack_accels, pack_allocations, pack_layers
from sc_accel.hw.estimate import RECORD_FIELDS, Estimate, estimate, evaluate_pairs
from sc_accel.hw.packed import ACCEL_FIELDS, LAYER_FIELDS, AccelArrays, LayerArrays
from sc_accel.hw.tables import DEFAULT_TABLE, SOURCES, CostTable
from sc_accel.hw.workload import OPS, WorkLayer, workload, workload_graph

__all__ = ["AccelConfig", "MemoryConfig", "OperatingPoint", "SCHardware", "LayerResources", "HardwareConfigError",
           "DATAFLOWS", "KINDS", "systolic", "spatial", "sc_array", "presets", "min_gbuf_bytes",
           "evaluate", "pack_layers", "pack_accels", "pack_allocations", "LayerArrays", "AccelArrays", "LAYER_FIELDS",
           "ACCEL_FIELDS", "Estimate", "estimate", "evaluate_pairs", "RECORD_FIELDS",
           "CostTable", "DEFAULT_TABLE", "SOURCES", "WorkLayer", "workload", "workload_graph", "OPS"]
