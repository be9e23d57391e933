"""scnas: the front door (CLI, datasets, model zoo, training, configs).

The `scnas` command is defined in scnas.cli; library users import sc_accel, recast,
nas and reports directly.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
