"""One look for every report figure: readable fonts, a colour-blind-safe palette, grids.

The palette is Okabe & Ito's eight colours ("Color Universal Design", 2008), which stay
distinct under the common colour-vision deficiencies; markers and line styles cycle with
them so curves are told apart in greyscale print too.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from cycler import cycler  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

__all__ = ["PALETTE", "MARKERS", "LINESTYLES", "STYLE", "color", "marker", "styled", "plain_log"]

# Okabe-Ito, black last (kept for reference lines).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")

STYLE = {
    "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "legend.fontsize": 8, "legend.handlelength": 3.5,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.grid": True, "grid.alpha": 0.3,
    "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100,
    "savefig.bbox": "tight", "svg.fonttype": "none", "pdf.fonttype": 42,
    "axes.prop_cycle": cycler(color=PALETTE[:7]) + cycler(marker=MARKERS[:7]),
}


def color(i: int) -> str:
    """The i-th palette colour (black excluded), cycling."""
    return PALETTE[i % (len(PALETTE) - 1)]


def marker(i: int) -> str:
    """The i-th marker, cycling."""
    return MARKERS[i % len(MARKERS)]


def styled():
    """Context manager: draw and save inside it so every figure gets the report style."""
    return plt.rc_context(STYLE)


def plain_log(ax, axis: str = "both") -> None:
    """Tick labels on log axes as plain numbers (300, 0.05) instead of 3x10^2: easier to read
    off a printed figure. Minor ticks labelled where the axis spans under a decade, and at
    2 and 5 under two decades."""
    fmt = FuncFormatter(lambda v, _: f"{v:g}")
    two_five = FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "25" else "")
    for name in ("x", "y") if axis == "both" else (axis,):
        a = getattr(ax, f"{name}axis")
        if a.get_scale() != "log":
            continue
        a.set_major_formatter(fmt)
        lo, hi = sorted(getattr(ax, f"get_{name}lim")())
        span = hi / lo if lo > 0 else float("inf")
        a.set_minor_formatter(fmt if span < 10 else two_five if span < 100 else NullFormatter())
