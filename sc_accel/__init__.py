"""sc_accel: the stochastic-computing accelerator (streams, kernels, metrics, nn, hw, dse).

Sub-packages are imported on demand; `sc_accel.streams.encode` is the usual start.
"""

from sc_accel.errors import DataFileError, InvalidInputError, UserError

__all__ = ["UserError", "InvalidInputError", "DataFileError"]
