"""numba kernels over packed streams, each beside its binary twin (`sc_*` / `fxp_*`)."""

from sc_accel.kernels.convert import counts_to_values, quantize
from sc_accel.kernels.dot import fxp_dot, fxp_matmul, sc_dot, sc_matmul
from sc_accel.kernels.logic import (fxp_max, fxp_min, fxp_mul, fxp_mux_add, fxp_mux_sum, fxp_not,
                                    mux_select, sc_and_reduce, sc_mul, sc_mux_add, sc_mux_sum,
                                    sc_not, sc_or_reduce)

__all__ = [
    "counts_to_values", "quantize", "fxp_dot", "fxp_matmul", "sc_dot", "sc_matmul", "fxp_max",
    "fxp_min", "fxp_mul", "fxp_mux_add", "fxp_mux_sum", "fxp_not", "mux_select", "sc_and_reduce",
    "sc_mul", "sc_mux_add", "sc_mux_sum", "sc_not", "sc_or_reduce",
]
