"""Per-action energy and per-component area tables, each number with its source.

Reference point: 45 nm, 0.9 V (the node and supply of Horowitz, "Computing's energy
problem (and what we can do about it)", ISSCC 2014, which gives the arithmetic, SRAM and
DRAM numbers). Other operating points scale dynamic energy by (V / 0.9 V)^2 and, with the
technology knob, energy by (node / 45 nm) and area by (node / 45 nm)^2: a first-order
(Dennard-style) rule, stated as such in the README, not a process model.

SC cells are built from NanGate FreePDK45 Open Cell Library cells (areas from the
library's datasheet); their switching energies are C V^2 estimates from those cells'
input capacitances, marked "estimate" in their source. A user with synthesis numbers
replaces them with `dataclasses.replace(DEFAULT_TABLE, and_pj=...)`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from sc_accel.errors import check_known

__all__ = ["CostTable", "DEFAULT_TABLE", "SOURCES", "V_NOM", "NODE_NM", "sram_pj_per_byte",
           "mult_pj", "energy_scale", "area_scale"]

V_NOM = 0.9  # volts, Horowitz ISSCC 2014 reference supply
NODE_NM = 45.0

_H = "Horowitz, ISSCC 2014, 45 nm 0.9 V table"
_HAN = "Horowitz ISSCC 2014 as tabulated by Han et al., EIE, ISCA 2016, Table I (45 nm)"
_NAN = "NanGate FreePDK45 Open Cell Library datasheet (X1 cells)"

SOURCES: dict[str, str] = {
    "mult8_pj": f"8-bit integer multiply 0.2 pJ; {_H}",
    "add8_pj": f"8-bit integer add 0.03 pJ; {_H}",
    "add32_pj": f"32-bit integer add 0.1 pJ; {_H}",
    "rf_pj_per_byte": f"32-bit register-file access 1 pJ -> 0.25 pJ/byte; {_HAN}",
    "sram_pj_per_64b": f"64-bit SRAM read 10 / 20 / 100 pJ at 8 KB / 32 KB / 1 MB; {_H}",
    "dram_pj_per_byte": f"32-bit DRAM access 640 pJ -> 160 pJ/byte; {_HAN}",
    "mult8_um2": f"8-bit integer multiplier 282 um^2; {_H}",
    "add8_um2": f"8-bit integer adder 36 um^2; {_H}",
    "add32_um2": f"32-bit integer adder 137 um^2; {_H}",
    "sram_um2_per_bit": "45 nm 6T SRAM cell 0.346 um^2 (Mistry et al., IEDM 2007) / 0.7 array "
                        "efficiency (periphery) = 0.49 um^2 per bit; estimate",
    "rf_um2_per_bit": f"one DFF_X1 (4.522 um^2) per bit; {_NAN}",
    "and_um2": f"AND2_X1 1.064 um^2; {_NAN}",
    "or_um2": f"OR2_X1 1.064 um^2; {_NAN}",
    "dff_um2": f"DFF_X1 4.522 um^2; {_NAN}",
    "xor_um2": f"XOR2_X1 1.596 um^2; {_NAN}",
    "xnor_um2": f"XNOR2_X1 1.596 um^2 (the bipolar multiplier); {_NAN}",
    "ha_um2": f"HA_X1 (half adder) 2.660 um^2; {_NAN}",
    "and_pj": "AND2_X1 output switching, ~2 fF total load x (0.9 V)^2 x activity 1/2 ~ 0.001 pJ "
              "per bit-cycle; estimate from the NanGate 45 nm cell capacitances",
    "or_pj": "OR2_X1, as AND2_X1; estimate",
    "xnor_pj": "XNOR2_X1 ~1.5x the AND2_X1 switched capacitance (its area ratio, 1.596 / 1.064) ~ 0.0015 pJ "
               "per bit-cycle; estimate",
    "dff_pj": "DFF_X1 clock and data switching ~ 5 fJ per clocked bit at 0.9 V; estimate from the "
              "NanGate 45 nm cell (clock pin ~0.9 fF plus internal nodes)",
    "comparator8_pj": "8-bit magnitude comparator = an 8-bit subtractor: Horowitz's 8-bit add, 0.03 pJ "
                      "per comparison (scaled by width / 8); upper-bound estimate",
    "latch_um2": f"DLH_X1 (latch) 2.926 um^2 per stream-buffer bit; {_NAN}",
    "latch_pj": "one latch write ~ 3 fJ at 0.9 V; estimate from the NanGate 45 nm DLH_X1 cell",
    "sc_pe_extra_um2": "0 by default; `usystolic_calibrated()` sets it so the SC/binary PE area ratio "
                       "matches uSystolic's (Wu and San Miguel, HPCA 2022)",
    "sc_pe_extra_pj": "0 by default (per PE per active cycle); `usystolic_calibrated()` sets it so the "
                      "SC/binary PE energy-per-cycle ratio matches uSystolic's",
    "counter_pj": "one product bit into the counter: a full-adder slice of the parallel counter "
                  "(8-bit add / 8 = 0.00375 pJ) plus one flip-flop toggle (0.005 pJ); estimate",
}


@dataclass(frozen=True)
class CostTable:
    """Energy per action (pJ) and area per component (um^2) at 45 nm, 0.9 V."""

    mult8_pj: float = 0.2
    add8_pj: float = 0.03
    add32_pj: float = 0.1
    rf_pj_per_byte: float = 0.25
    sram_8k_pj_per_64b: float = 10.0
    sram_32k_pj_per_64b: float = 20.0
    sram_1m_pj_per_64b: float = 100.0
    dram_pj_per_byte: float = 160.0
    mult8_um2: float = 282.0
    add8_um2: float = 36.0
    add32_um2: float = 137.0
    sram_um2_per_bit: float = 0.49
    rf_um2_per_bit: float = 4.522
    and_um2: float = 1.064
    or_um2: float = 1.064
    dff_um2: float = 4.522
    xor_um2: float = 1.596
    xnor_um2: float = 1.596
    ha_um2: float = 2.660
    and_pj: float = 0.001
    or_pj: float = 0.001
    xnor_pj: float = 0.0015
    dff_pj: float = 0.005
    comparator8_pj: float = 0.03
    counter_pj: float = 0.00875
    latch_um2: float = 2.926
    latch_pj: float = 0.003
    sc_pe_extra_um2: float = 0.0
    sc_pe_extra_pj: float = 0.0

    def to_dict(self) -> dict:
        """Plain dict (for results files)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "CostTable":
        """Inverse of to_dict; unknown keys are an error."""
        check_known(d, (f.name for f in fields(cls)), "cost-table entries")
        return cls(**d)


DEFAULT_TABLE = CostTable()


def mult_pj(bits: np.ndarray | int, t: CostTable = DEFAULT_TABLE) -> np.ndarray:
    """Integer multiply energy: the 8-bit figure scaled by (bits / 8)^2 (array multiplier);
    gives 3.2 pJ at 32 bits against Horowitz's 3.1 pJ."""
    return t.mult8_pj * (np.asarray(bits, dtype=np.float64) / 8.0) ** 2


def sram_pj_per_byte(size_bytes: np.ndarray | float, t: CostTable = DEFAULT_TABLE) -> np.ndarray:
    """SRAM energy per byte, log-log interpolated between Horowitz's 8 KB, 32 KB and 1 MB points
    (extrapolated beyond them along the nearest segment)."""
    xs = np.log2([8 * 1024, 32 * 1024, 1024 * 1024])
    ys = np.log2([t.sram_8k_pj_per_64b, t.sram_32k_pj_per_64b, t.sram_1m_pj_per_64b])
    x = np.log2(np.maximum(np.asarray(size_bytes, dtype=np.float64), 1.0))
    lo = (ys[1] - ys[0]) / (xs[1] - xs[0])
    hi = (ys[2] - ys[1]) / (xs[2] - xs[1])
    y = np.where(x < xs[1], ys[1] + (x - xs[1]) * lo, ys[1] + (x - xs[1]) * hi)
    return 2.0 ** y / 8.0


def energy_scale(voltage: np.ndarray | float, node_nm: np.ndarray | float) -> np.ndarray:
    """Dynamic-energy factor against 45 nm, 0.9 V: (V / 0.9)^2 x (node / 45)."""
    v = np.asarray(voltage, dtype=np.float64)
    return (v / V_NOM) ** 2 * (np.asarray(node_nm, dtype=np.float64) / NODE_NM)


def area_scale(node_nm: np.ndarray | float) -> np.ndarray:
    """Area factor against 45 nm: (node / 45)^2."""
    return (np.asarray(node_nm, dtype=np.float64) / NODE_NM) ** 2
