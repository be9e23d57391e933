"""Voltage-frequency operating points and power, on top of the estimator's energy and latency.

The estimator scales dynamic energy by (V / 0.9 V)^2 and takes the clock as given; this
module ties the two together for DVFS searches:

- `max_freq_mhz(V)`: the fastest clock a supply allows, by the alpha-power law (Sakurai and
  Newton, "Alpha-power law MOSFET model and its applications to CMOS inverter delay and other
  formulas", IEEE JSSC 25(2), 1990): gate delay ~ V / (V - Vth)^alpha, so f_max ~ (V - Vth)^alpha / V,
  normalised so that the accelerator's own (voltage, clock) is on the curve. alpha = 1.3 (the
  paper's short-channel value); Vth = 0.35 V is an estimate for a 45 nm general-purpose process.
- `operating_points(accel)`: the DVFS table, supplies 0.6 .. 1.1 V in 50 mV steps at their
  f_max (the "operating points" the Evolver and BatchDVFS searches pick from).
- `power_w(total, accel)`: dynamic power (estimated energy / latency) plus leakage. Leakage
  density `LEAK_NW_PER_UM2` at 45 nm, 0.9 V is an estimate, scaled linearly with the supply
  (first-order: the leakage current is taken as constant). Its weight depends on the array:
  about 2% of the power of `spatial-16x16-kcp` running ResNet-20 (a small, busy array) and
  about 40% of `sc-64x64-L256` (a large array of cheap PEs, many idle).
"""

from __future__ import annotations

import numpy as np

from sc_accel.hw.config import AccelConfig, OperatingPoint
from sc_accel.hw.tables import V_NOM

__all__ = ["ALPHA", "VTH_V", "LEAK_NW_PER_UM2", "max_freq_mhz", "operating_points", "power_w", "with_point",
           "dynamic_w", "leakage_w"]

ALPHA = 1.3  # Sakurai and Newton, IEEE JSSC 1990: alpha ~ 1.3 for short-channel devices
VTH_V = 0.35  # threshold voltage, 45 nm general-purpose; estimate
LEAK_NW_PER_UM2 = 10.0  # leakage power density at 45 nm, 0.9 V; estimate (see module docstring)
SUPPLIES_V = tuple(round(0.6 + 0.05 * i, 2) for i in range(11))  # 0.6 .. 1.1 V


def max_freq_mhz(voltage: float | np.ndarray, accel: AccelConfig) -> np.ndarray:
    """Alpha-power-law clock limit at `voltage`, through the accelerator's own operating point."""
    v = np.asarray(voltage, dtype=np.float64)
    v0 = accel.op.voltage
    shape = lambda x: np.maximum(x - VTH_V, 1e-9) ** ALPHA / x  # noqa: E731
    return accel.op.freq_mhz * shape(v) / shape(v0)


def operating_points(accel: AccelConfig, supplies: tuple[float, ...] = SUPPLIES_V) -> list[OperatingPoint]:
    """The DVFS table: each supply with its fastest clock (alpha-power law), same node."""
    return [OperatingPoint(float(v), float(np.round(max_freq_mhz(v, accel), 3)), accel.op.node_nm) for v in supplies]


def with_point(accel: AccelConfig, point: OperatingPoint) -> AccelConfig:
    """The accelerator run at another operating point (name unchanged)."""
    return accel.with_(op=point)


def dynamic_w(energy_pj: np.ndarray, latency_cycles: np.ndarray, accel: AccelConfig) -> np.ndarray:
    """Dynamic power of runs (or layers) on `accel`: energy over latency at its clock."""
    return np.asarray(energy_pj) * 1e-12 * accel.op.freq_mhz * 1e6 / np.maximum(latency_cycles, 1e-30)


def leakage_w(area_um2: np.ndarray | float, accel: AccelConfig) -> np.ndarray:
    """Leakage of `area_um2` on `accel`: area x density x V / 0.9 V (the 45 nm density at any node)."""
    return np.asarray(area_um2) * LEAK_NW_PER_UM2 * 1e-9 * (accel.op.voltage / V_NOM)


def power_w(total: dict, accel: AccelConfig) -> dict[str, float]:
    """Average power of a run from an estimate's totals on `accel`: dynamic (energy / latency)
    and leakage (`leakage_w`), and the run's energy with its leakage."""
    t = float(total["latency_s"])
    dyn = float(total["energy_pj"]) * 1e-12 / t if t > 0 else 0.0
    leak = float(leakage_w(float(total["area_um2"]), accel))
    return {"dynamic_w": dyn, "leakage_w": leak, "power_w": dyn + leak,
            "energy_with_leakage_pj": float(total["energy_pj"]) + leak * t * 1e12}
