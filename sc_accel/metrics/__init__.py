"""Measurements on streams (not hardware): correlation and error against analytic values."""

from sc_accel.metrics.correlation import scc, scc_from_probs
from sc_accel.metrics.error import (abs_error, bernoulli_sd, low_discrepancy_bound, rmse,
                                    z_scores)

__all__ = ["scc", "scc_from_probs", "abs_error", "bernoulli_sd", "low_discrepancy_bound",
           "rmse", "z_scores"]
