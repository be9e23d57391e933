"""SC neural-network emulation: converter from torch models, SC layers, emulate()."""

from sc_accel.nn.config import SCConfig
from sc_accel.nn.emulate import LayerError, SCModel, check_fits, convert, emulate, fixed_point, variance_factor
from sc_accel.graph import LayerGraph, UnsupportedOpError, trace

__all__ = ["SCConfig", "SCModel", "LayerGraph", "LayerError", "UnsupportedOpError", "check_fits", "convert", "emulate",
           "fixed_point", "trace", "variance_factor"]
