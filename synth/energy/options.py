"""The energy proxy's names and choices, without its heavy imports.

``tn-hw --help`` builds every command's parser; the energy command's choices and its error
class live here so that building the parser does not import torch (which the proxy needs for
the digits stimulus and the golden model). :mod:`.proxy` re-exports them.
"""

from __future__ import annotations

from ...errors import TnHwError

__all__ = ["COMPARED_NEURONS", "PAPER_FPGA_POWER", "PAPER_POWER_BAND", "STIMULI", "WEIGHTINGS",
           "EnergyError"]

#: The paper's kernel-level power savings (Fig. 10b; Synopsys DC, TSMC 28 nm, 50 MHz).
PAPER_POWER_BAND = (7.51, 8.19)
#: The paper's system-level FPGA power saving (Fig. 11b, PYNQ-Z2, Vivado).
PAPER_FPGA_POWER = 2.52

#: The pair every energy run compares (threshold against the MAC baseline); not
#: :data:`tn_hw.spec.NEURONS`, which lists every family.
COMPARED_NEURONS = ("threshold", "mac")
STIMULI = ("random", "digits")

#: Switched-capacitance weight of one output toggle, per weighting: name -> where it comes from.
WEIGHTINGS = {
    "toggles": "1 per gate-output toggle (the plain toggle count)",
    "transistors": "transistors of the toggling gate, Yosys `stat -tech cmos` table "
                   "(NOT 2, NAND/NOR 4, AOI3/OAI3 6, AOI4/OAI4 8, NMUX 10, MUX/XOR/XNOR 12)",
    "pins": "input pins of the toggling gate (NOT 1, NAND/NOR/XOR/XNOR 2, AOI3/OAI3/MUX/NMUX "
            "3, AOI4/OAI4 4)",
    "fanout": "load on the toggling net: 1 for the driver's own output + 1 per gate input pin "
              "(or output-port bit) it drives; primary-input toggles count their pin load too",
}


class EnergyError(TnHwError):
    """Bad energy parameters, a missing model, or a gate-level output that differs from the
    golden model. The message stands on its own."""
