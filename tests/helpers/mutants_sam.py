"""Planted bugs in the SAM and adder designs, for the mutation tests of their regression.

Each mutant keeps the real design's ports and manifest, so the regression runs on it unchanged.
"""

from amaranth.hdl import Module, Mux, Signal, signed

from tn_hw.generate import emit_design
from tn_hw.hdl.adder import AdderCell, AdderKernel
from tn_hw.hdl.sam import SamCell, SamKernel, balanced_extreme

__all__ = ["ADDER_MUTANTS", "SAM_MUTANTS", "emit_adder_mutant", "emit_sam_mutant"]


class SwappedMaxMinKernel(SamKernel):
    """min over the W+ sums and max over the W- sums."""

    def elaborate(self, platform):
        m = Module()
        spec = self.spec
        plus = self._side(m, "p", spec.connections_max, self.wp)
        minus = self._side(m, "m", spec.connections_min, self.wm)
        m.d.comb += self.y.eq(balanced_extreme(m, plus, largest=False, name="max")
                              + balanced_extreme(m, minus, largest=True, name="min"))
        return m


class PrunedStillConnectedKernel(SamKernel):
    """The first input pruned on the max side still enters the max (with the weight of the
    first kept connection): the bug the mask exists to rule out."""

    def elaborate(self, platform):
        m = Module()
        spec = self.spec
        plus = self._side(m, "p", spec.connections_max, self.wp)
        minus = self._side(m, "m", spec.connections_min, self.wm)
        kept = {i for _, i in spec.connections_max}
        pruned = [i for i in range(spec.n_inputs) if i not in kept]
        if pruned:
            leak = Signal(signed(spec.width + 1), name="leak")
            m.d.comb += leak.eq(self.x[pruned[0]] + self.wp[0])
            plus.append(leak)
        m.d.comb += self.y.eq(balanced_extreme(m, plus, largest=True, name="max")
                              + balanced_extreme(m, minus, largest=False, name="min"))
        return m


class NarrowSumCell(SamCell):
    """``x + w`` in ``W`` bits: wraps when the sum needs the extra bit."""

    def elaborate(self, platform):
        m = Module()
        narrow = Signal(signed(self.width))
        m.d.comb += [narrow.eq(self.x + self.w), self.s.eq(narrow)]
        return m


class NarrowSumKernel(SamKernel):
    def make_cell(self, side, index):
        return NarrowSumCell(width=self.spec.width)


class TieTakesSecondKernel(SamKernel):
    """``>=`` / ``<=`` in the compare-and-select: picks the other operand on a tie, which has
    the same value. Equivalent mutant: no output can differ."""

    def elaborate(self, platform):
        m = Module()
        spec = self.spec
        plus = self._side(m, "p", spec.connections_max, self.wp)
        minus = self._side(m, "m", spec.connections_min, self.wm)

        def reduce(terms, largest):
            terms = list(terms)
            while len(terms) > 1:
                a, b = terms.pop(), terms.pop()
                terms.insert(0, Mux(a >= b if largest else a <= b, a, b))
            return terms[0]

        m.d.comb += self.y.eq(reduce(plus, True) + reduce(minus, False))
        return m


class OnesComplementCell(AdderCell):
    """``|d|`` as ``~d`` for negative ``d``: off by one below the diagonal."""

    def elaborate(self, platform):
        m = Module()
        diff = Signal(signed(self.width + 1))
        m.d.comb += [diff.eq(self.x - self.w),
                     self.r.eq(Mux(diff[-1], ~diff, diff)),
                     self.y.eq(-self.r)]
        return m


class OnesComplementKernel(AdderKernel):
    def make_cell(self, index):
        return OnesComplementCell(width=self.spec.width)


class AddedNotSubtractedKernel(AdderKernel):
    """``bias + sum |x - w|``: the sign of the L1 term dropped."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.y.eq(self.bias + sum(m.submodules[f"cell{i}"].r
                                              for i in range(self.spec.n_inputs)))
        return m


#: name -> (kernel class, whether the regression must detect it)
SAM_MUTANTS = {
    "swapped-max-min": (SwappedMaxMinKernel, True),
    "pruned-still-connected": (PrunedStillConnectedKernel, True),
    "narrow-sum": (NarrowSumKernel, True),
    "tie-takes-second": (TieTakesSecondKernel, False),
}
ADDER_MUTANTS = {
    "ones-complement-abs": (OnesComplementKernel, True),
    "added-not-subtracted": (AddedNotSubtractedKernel, True),
}


def emit_sam_mutant(name, spec):
    """Emit SAM mutant ``name`` with the ports and manifest of the real design of ``spec``."""
    return emit_design(SAM_MUTANTS[name][0](spec), "kernel", spec, spec.top_name)


def emit_adder_mutant(name, spec):
    """Emit adder mutant ``name`` with the ports and manifest of the real design of ``spec``."""
    return emit_design(ADDER_MUTANTS[name][0](spec), "kernel", spec, spec.top_name)
