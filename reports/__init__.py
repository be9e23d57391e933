"""reports: read run directories (JSON/CSV) and draw plots; imports none of the simulator."""

from reports.hw_plots import plot_estimate
from reports.plots import curves, plot_emulation
from reports.tables import emulation_table, estimate_table

__all__ = ["plot_emulation", "curves", "emulation_table", "plot_estimate", "estimate_table"]
