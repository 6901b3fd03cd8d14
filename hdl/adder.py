"""The AdderNet-style (L1) family: ``y = bias - sum_i |x_i - w_i|``.

Chen et al., "AdderNet: Do We Really Need Multiplications in Deep Learning?", CVPR 2020; a
further multiplier-free comparison point. Same ports as the MAC kernel (``x``, ``w``, ``bias``,
``y``); semantics in docs/semantics.md.
"""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..spec import KernelSpec, SpecError
from .cell import check_width
from .kernel import balanced_sum
from .layer import Layer
from .pipeline import Stager, reduce_level

__all__ = ["AdderCell", "AdderKernel", "AdderLayer"]


class AdderCell(wiring.Component):
    """One input of the adder neuron: ``r = |x - w|`` and ``y = -r``.

    ``x - w`` is ``W + 1`` bits, so it cannot overflow; its magnitude fits ``W`` bits unsigned.

    Attributes
    ----------
    x : In(signed(W))
    w : In(signed(W))
    y : Out(signed(W + 1))
        ``-|x - w|``, in ``[-(2**W - 1), 0]``.
    r : Out(unsigned(W))
        ``|x - w|``.
    """

    def __init__(self, *, width):
        self._width = check_width(width)
        super().__init__({
            "x": In(signed(width)),
            "w": In(signed(width)),
            "y": Out(signed(width + 1)),
            "r": Out(unsigned(width)),
        })

    @property
    def width(self):
        return self._width

    def elaborate(self, platform):
        m = Module()
        diff = Signal(signed(self._width + 1))
        m.d.comb += [
            diff.eq(self.x - self.w),
            self.r.eq(Mux(diff[-1], -diff, diff)),
            self.y.eq(-self.r),
        ]
        return m


class AdderKernel(wiring.Component):
    """One adder neuron: ``y = bias - sum_i |x_i - w_i|``.

    The magnitudes are added unsigned and subtracted from the bias once, so the tree carries no
    sign bits and no per-cell negation. ``spec.stages > 0`` registers the tree as
    :class:`~tn_hw.hdl.kernel.Kernel` does (:mod:`tn_hw.hdl.pipeline`).

    Parameters
    ----------
    spec : KernelSpec
        ``neuron="adder"``, ``outputs == 1``.

    Attributes
    ----------
    x, w : In(signed(W)).array(N)
    bias : In(signed(spec.bias_width))
    y : Out(signed(spec.output_width))
    """

    def __init__(self, spec):
        if not isinstance(spec, KernelSpec):
            raise TypeError(f"spec must be a KernelSpec, not {spec!r}")
        if spec.neuron != "adder":
            raise SpecError(f"an adder design needs neuron 'adder', not {spec.neuron!r}")
        if spec.outputs != 1:
            raise SpecError(f"an AdderKernel has one output; use AdderLayer for {spec.outputs}")
        self._spec = spec
        n, width = spec.n_inputs, spec.width
        super().__init__({
            "x": In(signed(width)).array(n),
            "w": In(signed(width)).array(n),
            "bias": In(signed(spec.bias_width)),
            "y": Out(signed(spec.output_width)),
        })

    @property
    def spec(self):
        return self._spec

    @property
    def has_polarity(self):
        return False

    def make_cell(self, index):
        """Build the cell for input ``index``; mutants override it."""
        return AdderCell(width=self._spec.width)

    def elaborate(self, platform):
        m = Module()
        magnitudes = []
        for i in range(self._spec.n_inputs):
            cell = m.submodules[f"cell{i}"] = self.make_cell(i)
            m.d.comb += [cell.x.eq(self.x[i]), cell.w.eq(self.w[i])]
            magnitudes.append(cell.r)
        if not self._spec.stages:
            m.d.comb += self.y.eq(self.bias - balanced_sum(magnitudes))
            return m
        stager = Stager(m, self._spec)
        values = stager.stage(1, {"sum": magnitudes, "bias": [self.bias]})
        for level in range(self._spec.tree_depth):
            values = stager.stage(level + 2, {"sum": reduce_level(values["sum"]),
                                              "bias": values["bias"]})
        m.d.comb += self.y.eq(values["bias"][0] - values["sum"][0])
        return m


class AdderLayer(Layer):
    """``spec.outputs`` adder neurons sharing one input vector (ports as :class:`Layer`)."""

    kernel_class = AdderKernel
