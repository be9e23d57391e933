"""The SC PE against a published unary PE: uSystolic (Wu and San Miguel, "uSystolic:
Byte-Crawling Unary Systolic Array", HPCA 2022).

uSystolic reports, per PE of an 8-bit weight-stationary systolic array, 1449 um^2 and
0.446 pJ per cycle for the binary parallel PE and 595 um^2 and 0.176 pJ per cycle for the
rate-coded unary PE (the figures as quoted in this project's issue 9 from that paper).
This model's PEs are leaner in absolute terms (no pipeline registers, no control), so
the comparison is made on ratios: `usystolic_calibrated` adds a per-PE area and a per-cycle
energy to the SC PE so that SC/binary matches uSystolic's 0.41 (area) and 0.39 (energy).
Remaining differences: uSystolic's absolute PEs include operand/pipeline registers and a
wider accumulator, its unary PE accumulates in binary each cycle, and its process and
synthesis flow are not those of the 45 nm Horowitz/NanGate numbers used here.
"""

from __future__ import annotations

from dataclasses import replace

from sc_accel.hw.cost import binary_mac_pj, binary_pe_um2, sc_pe_um2
from sc_accel.hw.tables import DEFAULT_TABLE, CostTable

__all__ = ["USYSTOLIC", "pe_figures", "usystolic_calibrated"]

USYSTOLIC = {
    "binary_pe_um2": 1449.0, "binary_pe_pj_per_cycle": 0.446,
    "unary_pe_um2": 595.0, "unary_pe_pj_per_cycle": 0.176,
    "source": "Wu and San Miguel, uSystolic, HPCA 2022: 8-bit binary parallel vs rate-coded unary PE "
              "(as quoted in issue 9)",
}


def pe_figures(table: CostTable = DEFAULT_TABLE, word_bits: int = 8, width: int = 8,
               counter_bits: int | None = None) -> dict:
    """Area (um^2) and energy per active cycle (pJ) of one binary PE (multiplier + 32-bit
    adder) and one SC PE as `cost` charges them (AND gate, counter, the weight comparator
    that regenerates its stream, calibration extras), at 45 nm and 0.9 V."""
    cbits = counter_bits if counter_bits is not None else width + 4
    t = table
    comparator_um2 = t.add8_um2 * width / 8.0
    return {
        "binary_pe_um2": float(binary_pe_um2(word_bits, t)),
        "binary_pe_pj_per_cycle": float(binary_mac_pj(word_bits, t)),
        "sc_pe_um2": float(sc_pe_um2(cbits, t)) + comparator_um2,
        "sc_pe_pj_per_cycle": t.and_pj + t.counter_pj + t.comparator8_pj * width / 8.0 + t.sc_pe_extra_pj,
    }


def usystolic_calibrated(table: CostTable = DEFAULT_TABLE, word_bits: int = 8, width: int = 8) -> CostTable:
    """A copy of `table` whose SC PE carries the extra area and per-cycle energy that make
    its SC/binary ratios equal uSystolic's."""
    base = pe_figures(replace(table, sc_pe_extra_um2=0.0, sc_pe_extra_pj=0.0), word_bits, width)
    u = USYSTOLIC
    area = base["binary_pe_um2"] * u["unary_pe_um2"] / u["binary_pe_um2"] - base["sc_pe_um2"]
    energy = (base["binary_pe_pj_per_cycle"] * u["unary_pe_pj_per_cycle"] / u["binary_pe_pj_per_cycle"]
              - base["sc_pe_pj_per_cycle"])
    return replace(table, sc_pe_extra_um2=max(area, 0.0), sc_pe_extra_pj=max(energy, 0.0))
