"""The units people read in the report, chosen once for figures and tables alike.

results.json holds SI-ish raw values (latency in s, energy in pJ, area in um^2); a reader
wants microseconds, microjoules and square millimetres, with thousands separators and no
scientific notation in normal ranges. Every axis label and table header takes its unit from
here, so a figure and the table beside it always agree:

    UNITS["latency_s"].label("latency")  -> "latency (µs)"
    UNITS["latency_s"].show(1.55e-2)     -> "15,500 µs"
    number(15523.4)                      -> "15,523";  number(0.01234) -> "0.0123"

The API (Unit, UNITS, unit_of, number, label, show, tick_formatter) is stable: the tables
(reports/tables.py) use it too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from matplotlib.ticker import FuncFormatter

__all__ = ["Unit", "UNITS", "unit_of", "number", "label", "show", "tick_formatter", "method_name", "REDUCED_DARTS"]

# The `darts` search baseline is DARTS reduced to the CPU (first-order, one shared 2-node cell,
# arch lr 100x the paper's, 2 epochs; docs/search.md): every table and legend names it so.
REDUCED_DARTS = "reduced DARTS"


def method_name(method: str) -> str:
    """A search method as tables and legends show it ("darts" -> "reduced DARTS")."""
    return REDUCED_DARTS if method == "darts" else method


@dataclass(frozen=True)
class Unit:
    """How one kind of raw value is shown: value_in_unit = raw * scale."""

    symbol: str    # "µs"; "" for a plain count or ratio
    scale: float   # raw value times scale = value in `symbol`

    def __call__(self, raw: float) -> float:
        """The raw value in this unit."""
        return raw * self.scale

    def label(self, what: str) -> str:
        """An axis label or table header: "latency (µs)"; `what` alone without a symbol."""
        return f"{what} ({self.symbol})" if self.symbol else what

    def show(self, raw: float, digits: int = 3) -> str:
        """The raw value in this unit for people: "15,500 µs"."""
        text = number(self(raw), digits)
        return f"{text} {self.symbol}" if self.symbol else text


# results.json key (or its suffix) -> how people read it
UNITS: dict[str, Unit] = {
    "latency_s": Unit("µs", 1e6),
    "energy_pj": Unit("µJ", 1e-6),
    "area_um2": Unit("mm²", 1e-6),
    "cpu_latency_s": Unit("ms", 1e3),
    "latency_cycles": Unit("cycles", 1.0),
    "buffer_bytes": Unit("B", 1.0),
    "dram_bytes": Unit("kB", 1e-3),
    "power_w": Unit("W", 1.0),
    "frequency_hz": Unit("MHz", 1e-6),
    "voltage_v": Unit("V", 1.0),
    "throughput": Unit("images/s", 1.0),
    "accuracy": Unit("%", 100.0),
    "utilization": Unit("%", 100.0),
}
_SUFFIXES = (("_s", "latency_s"), ("_pj", "energy_pj"), ("_um2", "area_um2"), ("_cycles", "latency_cycles"),
             ("_bytes", "buffer_bytes"), ("_w", "power_w"), ("_hz", "frequency_hz"))


def unit_of(key: str) -> Unit:
    """The unit of a results.json key: by name ("energy_pj"), else by its suffix
    ("energy_sc_pj" -> µJ); a key of neither is a plain number."""
    if key in UNITS:
        return UNITS[key]
    return next((UNITS[k] for suffix, k in _SUFFIXES if key.endswith(suffix)), Unit("", 1.0))


def label(key: str, what: str) -> str:
    """Axis label of a results.json key: label("latency_s", "latency") -> "latency (µs)"."""
    return unit_of(key).label(what)


def show(key: str, raw: float, digits: int = 3) -> str:
    """A raw value of a results.json key for people: show("energy_pj", 1.5e7) -> "15 µJ"."""
    return unit_of(key).show(raw, digits)


def number(v: float, digits: int = 3) -> str:
    """`digits` significant digits with thousands separators and no exponent between 0.001
    and 10^9 ("15,523", "14.5", "0.0123"); an exponent outside ("1.2e-05"). NaN/inf as "-"."""
    if v is None or not math.isfinite(v):
        return "-"
    if v == 0:
        return "0"
    mag = math.floor(math.log10(abs(v)))
    if not -3 <= mag < 9:
        return f"{v:.{max(0, digits - 1)}e}"
    decimals = max(0, digits - 1 - mag)
    text = f"{round(v, decimals):,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def tick_formatter(digits: int = 3) -> FuncFormatter:
    """Matplotlib tick labels written by `number` (plain, with thousands separators)."""
    return FuncFormatter(lambda v, _: number(v, digits))
