"""Planted bugs: designs that are wrong in ways real RTL goes wrong, for the mutation tests.

Each mutant keeps the ports of the real design, so the regression runs on it unchanged and must
fail on every one of them (except the documented equivalent mutant).
"""

from amaranth.hdl import Module, Mux, Signal, signed

from tn_hw.generate import emit_design
from tn_hw.hdl import Kernel, ThresholdCell

__all__ = ["MUTANTS", "emit_mutant"]


def _cell(make_r, make_y=None):
    """A ThresholdCell whose magnitude (and optionally output) is built by the given functions."""

    class MutantCell(ThresholdCell):
        def elaborate(self, platform):
            m = Module()
            diff = Signal(signed(self.width + 1))
            m.d.comb += [
                diff.eq(self.x - self.w),
                self.r.eq(make_r(self, diff)),
                self.y.eq((make_y or (lambda c: Mux(c.p, -c.r, c.r)))(self)),
                # The kernel sums c = y - p and adds the p's back: the mutant's y reaches it.
                self.c.eq(self.y - self.p),
            ]
            return m

    return MutantCell


SwappedPolarityCell = _cell(lambda c, diff: Mux(diff[-1], 0, diff[:c.width]),
                            lambda c: Mux(c.p, c.r, -c.r))
UnsignedCompareCell = _cell(
    lambda c, diff: Mux(c.x.as_unsigned() > c.w.as_unsigned(), diff[:c.width], 0))
# Equivalent mutant: x - w is 0 at a tie, so treating x == w as x > w cannot change any output.
TieIsGreaterCell = _cell(
    lambda c, diff: Mux(c.x.as_signed() >= c.w.as_signed(), diff[:c.width], 0))
# Drops the top bit of the difference: wraps when x - w needs all W + 1 bits.
NarrowDifferenceCell = _cell(
    lambda c, diff: Mux(diff[-2] if c.width > 1 else diff[-1], 0, diff[:c.width]))


class NarrowAccumulatorKernel(Kernel):
    """Sums into an accumulator one bit narrower than the derived output width."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        narrow = Signal(signed(self.spec.output_width - 1))
        total = Signal(signed(self.spec.output_width))
        m.d.comb += [
            total.eq(self.bias + sum(m.submodules[f"cell{i}"].y
                                     for i in range(self.spec.n_inputs))),
            narrow.eq(total),
        ]
        # Replace the correct assignment: the last statement wins in Amaranth.
        m.d.comb += self.y.eq(narrow)
        return m


class UnsignedBiasKernel(Kernel):
    """Zero-extends the bias instead of sign-extending it."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.y.eq(self.bias.as_unsigned() + sum(
            m.submodules[f"cell{i}"].y for i in range(self.spec.n_inputs)))
        return m


class OnesComplementKernel(Kernel):
    """Negates inhibitory cells as ``~r`` and forgets to add the inhibitory count: off by one
    per inhibitory cell."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.y.eq(self.bias + sum(
            m.submodules[f"cell{i}"].c for i in range(self.spec.n_inputs)))
        return m


def _kernel_with(cell_class):
    class MutantKernel(Kernel):
        def make_cell(self, index):
            return cell_class(width=self.spec.width)

    return MutantKernel


#: name -> (kernel class, whether the regression must detect it)
MUTANTS = {
    "swapped-polarity": (_kernel_with(SwappedPolarityCell), True),
    "unsigned-compare": (_kernel_with(UnsignedCompareCell), True),
    "narrow-difference": (_kernel_with(NarrowDifferenceCell), True),
    "narrow-accumulator": (NarrowAccumulatorKernel, True),
    "unsigned-bias": (UnsignedBiasKernel, True),
    "ones-complement": (OnesComplementKernel, True),
    "tie-is-greater": (_kernel_with(TieIsGreaterCell), False),
}


def emit_mutant(name, spec):
    """Emit the mutant ``name`` with the ports and manifest of the real design of ``spec``."""
    kernel_class, _detectable = MUTANTS[name]
    return emit_design(kernel_class(spec), "kernel", spec, spec.top_name)
