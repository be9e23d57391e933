"""reports: read run directories (JSON/CSV) and draw plots, tables and an HTML report.

It imports none of the simulator (sc_accel), recast or nas: everything comes from files.
"""

from reports.fig_dse import plot_dse
from reports.fig_emulation import plot_emulation
from reports.fig_estimate import plot_estimate
from reports.fig_nas import plot_search
from reports.fig_recast import plot_recast
from reports.plots import curves
from reports.tables import emulation_table, estimate_table

__all__ = ["plot_emulation", "curves", "emulation_table", "plot_estimate", "estimate_table", "plot_recast", "plot_dse",
           "plot_search"]
