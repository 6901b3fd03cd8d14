"""The Sum-and-Max (SAM) family: cell, kernel and layer, with pruning fixed at generation time.

``o = max_i(x_i + Wp_i) + min_i(x_i + Wm_i)`` (formula 5 of the SAM paper; semantics in
docs/semantics.md). A pruned connection is not built: no adder, no comparator input, no weight
port. Weight ports list only the kept connections, in the order of
:attr:`~tn_hw.spec.KernelSpec.connections_max` / ``connections_min``.
"""

import dataclasses

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..spec import KernelSpec, SpecError
from .cell import check_width
from .pipeline import Stager

__all__ = ["SamCell", "SamKernel", "SamLayer", "balanced_extreme"]


def balanced_extreme(m, terms, *, largest, name):
    """Max (``largest=True``) or min of Amaranth values as a balanced tree of compare-and-select.

    Every node is a named signal of the terms' shape, so the Verilog and waveforms stay readable;
    the depth is ``ceil(log2 n)`` comparators. On a tie either operand is the same value.

    Parameters
    ----------
    m : Module
        Module the comparators are added to (combinational domain).
    terms : list of Value
        At least one; all of one signed shape.
    largest : bool
        Maximum or minimum.
    name : str
        Prefix of the node names.
    """
    terms = list(terms)
    if not terms:
        raise ValueError("balanced_extreme needs at least one term")
    level = 0
    while len(terms) > 1:
        paired = []
        for k in range(0, len(terms) - 1, 2):
            a, b = terms[k], terms[k + 1]
            node = Signal(a.shape(), name=f"{name}_l{level}_{k // 2}")
            m.d.comb += node.eq(Mux(a > b if largest else a < b, a, b))
            paired.append(node)
        if len(terms) % 2:
            paired.append(terms[-1])
        terms = paired
        level += 1
    return terms[0]


def extreme_level(m, terms, *, largest, name):
    """One level of :func:`balanced_extreme`: pairs compared and selected into named nodes
    ``{name}_{k}``, an odd last term passed through (a lone term passes through unchanged)."""
    paired = []
    for k in range(0, len(terms) - 1, 2):
        a, b = terms[k], terms[k + 1]
        node = Signal(a.shape(), name=f"{name}_{k // 2}")
        m.d.comb += node.eq(Mux(a > b if largest else a < b, a, b))
        paired.append(node)
    if len(terms) % 2:
        paired.append(terms[-1])
    return paired


class SamCell(wiring.Component):
    """One SAM connection: ``s = x + w``, ``W + 1`` bits, exact.

    Parameters
    ----------
    width : int
        Width ``W`` of ``x`` and ``w``, signed, 2 to 32.

    Attributes
    ----------
    x : In(signed(W))
    w : In(signed(W))
        ``W+`` (max side) or ``W-`` (min side).
    s : Out(signed(W + 1))
        ``x + w``, in ``[-2**W, 2**W - 2]``.
    """

    def __init__(self, *, width):
        self._width = check_width(width)
        super().__init__({
            "x": In(signed(width)),
            "w": In(signed(width)),
            "s": Out(signed(width + 1)),
        })

    @property
    def width(self):
        return self._width

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.s.eq(self.x + self.w)
        return m


def _check_spec(spec):
    if not isinstance(spec, KernelSpec):
        raise TypeError(f"spec must be a KernelSpec, not {spec!r}")
    if spec.neuron != "sam":
        raise SpecError(f"a SAM design needs neuron 'sam', not {spec.neuron!r}")
    return spec


class SamKernel(wiring.Component):
    """One SAM neuron of ``spec.n_inputs`` inputs, pruned by ``spec.mask`` / ``spec.mask_min``.

    ``spec.stages > 0`` registers both compare-and-select trees level by level
    (:mod:`tn_hw.hdl.pipeline`); the tree depth is that of the unpruned kernel,
    ``ceil(log2 n_inputs)``, so that pruning never changes the latency.

    Parameters
    ----------
    spec : KernelSpec
        ``neuron="sam"``, ``outputs == 1``.

    Attributes
    ----------
    x : In(signed(W)).array(N)
        Inputs; an input pruned on both sides drives nothing.
    wp : In(signed(W)).array(K+)
        ``W+`` of the kept max-side inputs, in increasing input order.
    wm : In(signed(W)).array(K-)
        ``W-`` of the kept min-side inputs.
    y : Out(signed(W + 2))
        ``max + min``.
    """

    def __init__(self, spec):
        self._spec = _check_spec(spec)
        if spec.outputs != 1:
            raise SpecError(f"a SamKernel has one output; use SamLayer for {spec.outputs}")
        width = spec.width
        super().__init__({
            "x": In(signed(width)).array(spec.n_inputs),
            "wp": In(signed(width)).array(len(spec.connections_max)),
            "wm": In(signed(width)).array(len(spec.connections_min)),
            "y": Out(signed(spec.output_width)),
        })

    @property
    def spec(self):
        return self._spec

    def make_cell(self, side, index):
        """Build the cell of input ``index`` on ``side`` (``"p"`` or ``"m"``); mutants override."""
        return SamCell(width=self._spec.width)

    def _side(self, m, side, connections, weights):
        sums = []
        for k, (_, i) in enumerate(connections):
            cell = m.submodules[f"cell{side}{i}"] = self.make_cell(side, i)
            m.d.comb += [cell.x.eq(self.x[i]), cell.w.eq(weights[k])]
            sums.append(cell.s)
        return sums

    def elaborate(self, platform):
        m = Module()
        spec = self._spec
        plus = self._side(m, "p", spec.connections_max, self.wp)
        minus = self._side(m, "m", spec.connections_min, self.wm)
        if spec.stages:
            # Levels as in balanced_extreme; a pruned side has fewer terms and reaches one term
            # early, then passes it through the remaining levels (and their registers), so
            # every kernel of a layer has the layer's tree depth and latency.
            stager = Stager(m, spec)
            values = stager.stage(1, {"max": plus, "min": minus})
            for level in range(spec.tree_depth):
                values = {
                    "max": extreme_level(m, values["max"], largest=True, name=f"max_l{level}"),
                    "min": extreme_level(m, values["min"], largest=False, name=f"min_l{level}"),
                }
                values = stager.stage(level + 2, values)
            m.d.comb += self.y.eq(values["max"][0] + values["min"][0])
            return m
        high = balanced_extreme(m, plus, largest=True, name="max")
        low = balanced_extreme(m, minus, largest=False, name="min")
        m.d.comb += self.y.eq(high + low)
        return m


class SamLayer(wiring.Component):
    """``spec.outputs`` SAM neurons sharing one input vector, each pruned by its mask row.

    Attributes
    ----------
    x : In(signed(W)).array(N)
    wp : In(signed(W)).array(len(spec.connections_max))
        ``wp[k]`` belongs to the pair ``spec.connections_max[k] == (output, input)``.
    wm : In(signed(W)).array(len(spec.connections_min))
    y : Out(signed(W + 2)).array(O)
    """

    kernel_class = SamKernel

    def __init__(self, spec):
        self._spec = _check_spec(spec)
        width = spec.width
        super().__init__({
            "x": In(signed(width)).array(spec.n_inputs),
            "wp": In(signed(width)).array(len(spec.connections_max)),
            "wm": In(signed(width)).array(len(spec.connections_min)),
            "y": Out(signed(spec.output_width)).array(spec.outputs),
        })

    @property
    def spec(self):
        return self._spec

    def kernel_spec(self, output):
        """The one-output spec of neuron ``output`` (its mask rows)."""
        spec = self._spec
        return dataclasses.replace(spec, outputs=1, mask=(spec.keep_max[output],),
                                   mask_min=(spec.keep_min[output],))

    def elaborate(self, platform):
        m = Module()
        spec = self._spec
        flat = {"p": list(spec.connections_max), "m": list(spec.connections_min)}
        for o in range(spec.outputs):
            kernel = m.submodules[f"kernel{o}"] = self.kernel_class(self.kernel_spec(o))
            m.d.comb += self.y[o].eq(kernel.y)
            for i in range(spec.n_inputs):
                m.d.comb += kernel.x[i].eq(self.x[i])
            for side, ports, kports in (("p", self.wp, kernel.wp), ("m", self.wm, kernel.wm)):
                mine = [k for k, (out, _) in enumerate(flat[side]) if out == o]
                for j, k in enumerate(mine):
                    m.d.comb += kports[j].eq(ports[k])
        return m
