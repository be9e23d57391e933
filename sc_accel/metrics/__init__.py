"""Measurements (not hardware): correlation and error of streams against analytic values, and
the top-1 accuracy of a float model."""

from sc_accel.metrics.accuracy import top1_accuracy
from sc_accel.metrics.correlation import scc, scc_from_probs
from sc_accel.metrics.error import (abs_error, bernoulli_sd, low_discrepancy_bound, rmse,
                                    z_scores)

__all__ = ["scc", "scc_from_probs", "abs_error", "bernoulli_sd", "low_discrepancy_bound",
           "rmse", "z_scores", "top1_accuracy"]
