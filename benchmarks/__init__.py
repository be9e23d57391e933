"""Speed and memory measurements (not tests). Each prints a table and, last, one JSON line.

Run them with `scnas bench NAME`; BENCHMARKS maps names to modules.
"""

BENCHMARKS = {"kernels": "benchmarks.sc_kernels", "emulate": "benchmarks.emulate",
              "estimator": "benchmarks.estimator"}

__all__ = ["BENCHMARKS"]
