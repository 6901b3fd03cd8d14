"""Planted bugs in the compressor-tree architectures (tn_hw.hdl.arch, tn_hw.hdl.compress).

Each mutant keeps the ports and manifest of the real design of its spec, so the cocotb
regression runs on it unchanged and must fail (except the documented equivalent mutant).
"""

from amaranth.hdl import Cat, Const, Module, Signal

from tn_hw.generate import emit_design
from tn_hw.hdl.arch import (
    AdderCsaKernel,
    BoothCell,
    MacCsaKernel,
    MacMergedKernel,
    ThresholdCmpCell,
    ThresholdCmpCsaKernel,
    ThresholdCsaKernel,
)
from tn_hw.hdl.compress import BitMatrix

__all__ = ["ARCH_MUTANTS", "emit_arch_mutant"]


class ShortMajorityMatrix(BitMatrix):
    """Every full adder's carry misses the ``a & c`` term of the majority."""

    full_adder = staticmethod(lambda a, b, c: (a ^ b ^ c, (a & b) | (b & c)))


class ThresholdCsaShortMajority(ThresholdCsaKernel):
    matrix_class = ShortMajorityMatrix


class NoCarryInKernel(ThresholdCmpCsaKernel):
    """Forgets the ``+ 1`` of ``xu + ~wu + 1``: off by one for every input with ``x > w``."""

    def add_terms(self, m, matrix):
        width = self.spec.width
        for cell in self._cells(m, self.make_cell):
            matrix.add_unsigned(cell.a)
            matrix.add_unsigned(cell.b)
            matrix.add_bit(~cell.g, width)
        matrix.add_constant(-self.spec.n_inputs << width)


class TieIsGreaterCmpCell(ThresholdCmpCell):
    """Compares ``x >= w``: at a tie the operands give ``x - w = 0``, so nothing changes."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.g.eq(self.x >= self.w)
        return m


class TieIsGreaterKernel(ThresholdCmpCsaKernel):
    def make_cell(self, index):
        return TieIsGreaterCmpCell(width=self.spec.width)


class NoBoothTwoCell(BoothCell):
    """Booth encoder that never selects ``2 x`` for the digit ``+2`` (bits ``011``)."""

    def elaborate(self, platform):
        m = Module()
        width = self.width
        digits = len(self.pp)
        wbit = [self.w[min(k, width - 1)] for k in range(2 * digits)]
        xbit = [self.x[min(k, width - 1)] for k in range(width + 1)]
        for j in range(digits):
            hi, mid = wbit[2 * j + 1], wbit[2 * j]
            lo = wbit[2 * j - 1] if j else Const(0, 1)
            neg, one, two = Signal(name=f"neg{j}"), Signal(name=f"one{j}"), Signal(name=f"two{j}")
            m.d.comb += [neg.eq(hi), one.eq(mid ^ lo), two.eq(hi & ~mid & ~lo),
                         self.neg[j].eq(neg)]
            bits = []
            for k in range(width + 1):
                pick = one & xbit[k]
                if k:
                    pick = pick | (two & xbit[k - 1])
                bits.append(pick ^ neg)
            m.d.comb += self.pp[j].eq(Cat(*bits))
        return m


class MacCsaNoBoothTwo(MacCsaKernel):
    def make_cell(self, index):
        return NoBoothTwoCell(width=self.spec.width)


class MergedSignNotInverted(MacMergedKernel):
    """Sign-extension trick half done: the constant is added, the rows' sign bits are not
    inverted."""

    def add_terms(self, m, matrix):
        width = self.spec.width
        for cell in self._cells(m, self.make_cell):
            for j in range(len(cell.pp)):
                matrix.add_unsigned(cell.pp[j], 2 * j)
                matrix.add_constant(-1 << (2 * j + width))
                matrix.add_bit(cell.neg[j], 2 * j)


class AdderNoCorrection(AdderCsaKernel):
    """Drops the ``+ 1`` of ``-d = ~d + 1``: off by one for every input with ``x >= w``."""

    def add_terms(self, m, matrix):
        width = self.spec.width
        for cell in self._cells(m, self.make_cell):
            matrix.add_unsigned(cell.t)
        matrix.add_constant(-self.spec.n_inputs << width)


#: name -> (kernel class, neuron, arch, whether the regression must detect it)
ARCH_MUTANTS = {
    "csa-short-majority": (ThresholdCsaShortMajority, "threshold", "csa", True),
    "cmp-csa-no-carry-in": (NoCarryInKernel, "threshold", "cmp-csa", True),
    "cmp-csa-tie-is-greater": (TieIsGreaterKernel, "threshold", "cmp-csa", False),
    "mac-csa-no-booth-two": (MacCsaNoBoothTwo, "mac", "csa", True),
    "mac-merged-sign-not-inverted": (MergedSignNotInverted, "mac", "merged", True),
    "adder-csa-no-correction": (AdderNoCorrection, "adder", "csa", True),
}


def emit_arch_mutant(name, spec):
    """Emit mutant ``name`` with the ports and manifest of the real design of ``spec``."""
    kernel_class, neuron, arch, _detectable = ARCH_MUTANTS[name]
    assert (spec.neuron, spec.arch) == (neuron, arch), (spec, name)
    return emit_design(kernel_class(spec), "kernel", spec, spec.top_name)
