"""reports: read run directories (JSON/CSV) and draw plots; imports none of the simulator."""

from reports.plots import curves, plot_emulation

__all__ = ["plot_emulation", "curves"]
