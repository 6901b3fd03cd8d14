"""Operand isolation in the threshold cell: an energy experiment (docs/results/energy.md).

The stock cell computes ``x - w`` once and uses its sign bit as the comparison, so the
subtractor switches whenever ``x`` does, even for the terms it then zeroes. Operand isolation
adds a separate comparator ``x > w`` and forces both subtractor operands to 0 unless it holds:
a zeroed term then leaves the subtractor still. The comparator switches with ``x`` too, so
whether this saves energy is a measurement, not a given (``tn-hw energy --isolation``).
The result is the same integer as the stock cell's (checked on every vector against the
golden model by :func:`tn_hw.synth.energy.proxy.kernel_energy`).
"""

from amaranth.hdl import Cat, Module, Mux, Signal, signed

from .cell import ThresholdCell
from .kernel import Kernel

__all__ = ["IsolatedCell", "IsolatedKernel"]


class IsolatedCell(ThresholdCell):
    """:class:`~tn_hw.hdl.cell.ThresholdCell` with its subtractor operands gated by ``x > w``."""

    def elaborate(self, platform):
        m = Module()
        width = self.width
        enable = Signal(name="enable")
        x_gated = Signal(signed(width), name="x_gated")
        w_gated = Signal(signed(width), name="w_gated")
        diff = Signal(signed(width + 1))
        m.d.comb += [
            enable.eq(self.x > self.w),
            x_gated.eq(Mux(enable, self.x, 0)),
            w_gated.eq(Mux(enable, self.w, 0)),
            diff.eq(x_gated - w_gated),
            self.r.eq(diff[:width]),  # 0 when isolated, x - w > 0 otherwise
            self.y.eq(Mux(self.p, -self.r, self.r)),
            self.c.eq(Cat(self.r ^ self.p.replicate(width), self.p)),
        ]
        return m


class IsolatedKernel(Kernel):
    """The threshold kernel built from :class:`IsolatedCell`."""

    tag = "isolated"

    def make_cell(self, index):
        return IsolatedCell(width=self._spec.width)
