"""A kernel: N cells of one family and a sum with bias."""

from amaranth.hdl import Cat, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..spec import KernelSpec, SpecError
from .pipeline import Stager, reduce_level

__all__ = ["Kernel", "balanced_sum"]


def balanced_sum(terms):
    """Sum a list of Amaranth values as a balanced binary tree (depth ``ceil(log2 n)``).

    The tree keeps the adder depth logarithmic when a tool maps it as written; Yosys may still
    merge it into one multi-operand adder, which is what we want for area.
    """
    terms = list(terms)
    if not terms:
        raise ValueError("balanced_sum needs at least one term")
    while len(terms) > 1:
        paired = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
        if len(terms) % 2:
            paired.append(terms[-1])
        terms = paired
    return terms[0]


class Kernel(wiring.Component):
    """One neuron of ``spec.n_inputs`` inputs: ``y = bias + sum_i cell(x[i], w[i], p[i])``.

    The cell is the same circuit instantiated N times, one per input (the paper's "one circuit
    prototype"). The kernel's output is exactly :attr:`KernelSpec.output_width` bits, which
    holds every reachable value, so nothing can overflow.

    The threshold kernel folds the polarity into the adder tree. Each cell offers its
    contribution in one's complement, ``c_i = y_i - p_i`` (``-r = ~r + 1``: the cell keeps the
    ``~``, the ``+ 1`` moves into the tree), so no cell builds a negator. The tree then adds
    ``c_i + 2**W`` (``c_i`` with its sign bit inverted: an unsigned number, so the tree needs no
    sign extension), the number of inhibitory cells ``sum_i p_i``, and the constant
    ``-N * 2**W`` once. The sum is the same integer; only the circuit is smaller (3x3, 8 bit:
    8198 -> 7014 transistors in the generic flow, docs/results/area.md).

    With ``spec.stages > 0`` the kernel is clocked (``sync`` domain: ports ``clk`` and ``rst``)
    and ``y`` shows the result of the inputs applied ``spec.latency`` cycles earlier (every input,
    bias and polarity included, travels through the same stages). The tree is then built level
    by level, the count of inhibitory cells in a tree of its own beside it, and registers go at
    the boundaries :func:`~tn_hw.hdl.pipeline.cut_points` chooses (the reasons are in
    :mod:`tn_hw.hdl.pipeline`). ``stages == 0`` builds exactly the combinational circuit above.

    Parameters
    ----------
    spec : KernelSpec
        The design; ``spec.outputs`` must be 1 (use :class:`~tn_hw.hdl.layer.Layer` for more).

    Attributes
    ----------
    x : In(signed(W)).array(N)
        Inputs, flattened as described in :class:`KernelSpec`.
    w : In(signed(W)).array(N)
        Thresholds (threshold neuron) or weights (MAC).
    p : In(1).array(N)
        Polarities, threshold neuron only: 0 excitatory, 1 inhibitory.
    bias : In(signed(spec.bias_width))
    y : Out(signed(spec.output_width))
    """

    #: Builds the register stages; mutation tests swap it for a wrong one.
    stager_class = Stager

    def __init__(self, spec):
        if not isinstance(spec, KernelSpec):
            raise TypeError(f"spec must be a KernelSpec, not {spec!r}")
        if spec.outputs != 1:
            raise SpecError(f"a Kernel has one output; use Layer for {spec.outputs} outputs")
        self._spec = spec
        n, width = spec.n_inputs, spec.width
        members = {
            "x": In(signed(width)).array(n),
            "w": In(signed(width)).array(n),
        }
        if self.has_polarity:
            members["p"] = In(1).array(n)
        members["bias"] = In(signed(spec.bias_width))
        members["y"] = Out(signed(spec.output_width))
        super().__init__(members)

    @property
    def spec(self):
        return self._spec

    @property
    def has_polarity(self):
        return self._spec.family.has_polarity

    def make_cell(self, index):
        """Build the cell for input ``index`` (the family's cell, :mod:`tn_hw.neurons`);
        subclasses override it to swap the cell."""
        return self._spec.family.make_cell(self._spec.width)

    def elaborate(self, platform):
        m = Module()
        n, width = self._spec.n_inputs, self._spec.width
        cells = []
        for i in range(n):
            cell = m.submodules[f"cell{i}"] = self.make_cell(i)
            m.d.comb += [cell.x.eq(self.x[i]), cell.w.eq(self.w[i])]
            if self.has_polarity:
                m.d.comb += cell.p.eq(self.p[i])
            cells.append(cell)
        if self._spec.stages:
            self._elaborate_stages(m, cells)
            return m
        if self.has_polarity:
            offset = [Cat(cell.c[:width], ~cell.c[width]) for cell in cells]  # c + 2**W
            inhibitory = Signal(range(n + 1))
            m.d.comb += inhibitory.eq(balanced_sum(list(self.p)))
            total = balanced_sum(offset + [inhibitory]) - n * (1 << width)
        else:
            total = balanced_sum(cell.y for cell in cells)
        m.d.comb += self.y.eq(self.bias + total)
        return m

    def _elaborate_stages(self, m, cells):
        spec = self._spec
        n, width = spec.n_inputs, spec.width
        stager = self.stager_class(m, spec)
        if self.has_polarity:
            values = {"sum": [Cat(cell.c[:width], ~cell.c[width]) for cell in cells],
                      "count": list(self.p), "bias": [self.bias]}
        else:
            values = {"sum": [cell.y for cell in cells], "bias": [self.bias]}
        values = stager.stage(1, values)
        for level in range(spec.tree_depth):
            values = {name: (terms if name == "bias" else reduce_level(terms))
                      for name, terms in values.items()}
            values = stager.stage(level + 2, values)
        (total,), (bias,) = values["sum"], values["bias"]
        if self.has_polarity:
            total = total + values["count"][0] - n * (1 << width)
        m.d.comb += self.y.eq(bias + total)
