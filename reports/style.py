"""One look for every report figure: readable fonts, a colour-blind-safe palette, grids.

The palette is Okabe & Ito's eight colours ("Color Universal Design", 2008), which stay
distinct under the common colour-vision deficiencies; markers and line styles cycle with
them so curves are told apart in greyscale print too.
"""

from __future__ import annotations

import colorsys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from cycler import cycler  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

from reports.units import number  # noqa: E402

__all__ = ["PALETTE", "MARKERS", "LINESTYLES", "STYLE", "color", "marker", "styled", "plain_log", "distinct_colors",
           "shades", "family_colors"]

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


def distinct_colors(n: int) -> list[str]:
    """n colours, no two alike, as "#rrggbb": Okabe-Ito's seven first (colour-blind safe), then
    hues spread by the golden angle at alternating lightness, so no colour means two series."""
    out = _unique(list(PALETTE[:min(n, len(PALETTE) - 1)]))
    i = 0
    while len(out) < n:
        hue = (0.11 + i * 0.618033988749895) % 1.0
        light = (0.38, 0.55, 0.3, 0.65)[i % 4]
        out = _unique(out + [_hex(colorsys.hls_to_rgb(hue, light, 0.7))])
        i += 1
    return out


def shades(base: str, n: int) -> list[str]:
    """n shades of one colour, light to dark (e.g. one accelerator family over its stream
    lengths, shortest lightest); the base colour itself when n is 1."""
    if n <= 1:
        return [base][:n]
    rgb = matplotlib.colors.to_rgb(base)
    out = []
    for i in range(n):
        t = -0.6 + 1.0 * i / (n - 1)  # < 0: towards white, > 0: towards black
        out.append(_hex(tuple(c + (1 - c) * -t if t < 0 else c * (1 - t) for c in rgb)))
    return _unique(out)


def family_colors(families: dict[str, list[str]]) -> dict[str, str]:
    """Series name -> colour: one hue per family (distinct_colors), its members shaded light to
    dark in the order given; every colour distinct even across families."""
    bases = distinct_colors(len(families))
    out: dict[str, str] = {}
    for base, members in zip(bases, families.values()):
        for m, c in zip(members, shades(base, len(members))):
            out[m] = c
    return dict(zip(out, _unique(list(out.values()))))


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(255 * min(1.0, max(0.0, c))):02x}" for c in rgb)


def _unique(colors: list[str]) -> list[str]:
    """The colours with any repeat nudged until it differs from all before it."""
    out: list[str] = []
    for c in colors:
        c = c.lower()
        while c in out:
            r, g, b = (int(c[k:k + 2], 16) for k in (1, 3, 5))
            c = f"#{(r + 17) % 256:02x}{(g + 29) % 256:02x}{(b + 43) % 256:02x}"
        out.append(c)
    return out


def marker(i: int) -> str:
    """The i-th marker, cycling."""
    return MARKERS[i % len(MARKERS)]


def styled():
    """Context manager: draw and save inside it so every figure gets the report style."""
    return plt.rc_context(STYLE)


def plain_log(ax, axis: str = "both") -> None:
    """Tick labels on log axes as plain numbers (300, 0.05, 10,000,000; reports.units.number)
    instead of 3x10^2: easier to read off a printed figure. Minor ticks labelled where the axis spans under a decade, and at
    2 and 5 under two decades."""
    fmt = FuncFormatter(lambda v, _: number(v))
    two_five = FuncFormatter(lambda v, _: number(v) if f"{v:.0e}"[0] in "25" else "")
    for name in ("x", "y") if axis == "both" else (axis,):
        a = getattr(ax, f"{name}axis")
        if a.get_scale() != "log":
            continue
        a.set_major_formatter(fmt)
        lo, hi = sorted(getattr(ax, f"get_{name}lim")())
        span = hi / lo if lo > 0 else float("inf")
        a.set_minor_formatter(fmt if span < 10 else two_five if span < 100 else NullFormatter())
