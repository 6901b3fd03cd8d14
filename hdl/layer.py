"""A layer: several kernels that share one input vector."""

import dataclasses

from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..spec import KernelSpec
from .kernel import Kernel

__all__ = ["Layer", "build_component"]


class Layer(wiring.Component):
    """A fully-connected layer ``spec.n_inputs -> spec.outputs``: one :class:`Kernel` per output.

    Parameters
    ----------
    spec : KernelSpec
        The design; ``spec.outputs`` kernels of ``spec.n_inputs`` inputs each.

    Attributes
    ----------
    x : In(signed(W)).array(N)
        Inputs, shared by every kernel.
    w : In(signed(W)).array(O, N)
        ``w[o][i]``: threshold or weight of input ``i`` in output ``o``.
    p : In(1).array(O, N)
        Polarities, threshold neuron only.
    bias : In(signed(spec.bias_width)).array(O)
    y : Out(signed(spec.output_width)).array(O)
    """

    kernel_class = Kernel

    def __init__(self, spec):
        if not isinstance(spec, KernelSpec):
            raise TypeError(f"spec must be a KernelSpec, not {spec!r}")
        self._spec = spec
        n, outputs, width = spec.n_inputs, spec.outputs, spec.width
        members = {
            "x": In(signed(width)).array(n),
            "w": In(signed(width)).array(outputs, n),
        }
        if spec.family.has_polarity:
            members["p"] = In(1).array(outputs, n)
        members["bias"] = In(signed(spec.bias_width)).array(outputs)
        members["y"] = Out(signed(spec.output_width)).array(outputs)
        super().__init__(members)

    @property
    def spec(self):
        return self._spec

    def elaborate(self, platform):
        m = Module()
        kernel_spec = dataclasses.replace(self._spec, outputs=1)
        for o in range(self._spec.outputs):
            kernel = m.submodules[f"kernel{o}"] = self.kernel_class(kernel_spec)
            m.d.comb += [
                kernel.bias.eq(self.bias[o]),
                self.y[o].eq(kernel.y),
            ]
            for i in range(self._spec.n_inputs):
                m.d.comb += [kernel.x[i].eq(self.x[i]), kernel.w[i].eq(self.w[o][i])]
                if kernel.has_polarity:
                    m.d.comb += kernel.p[i].eq(self.p[o][i])
        return m


def build_component(spec: KernelSpec):
    """The plain (port-per-value) kernel (``outputs == 1``) or layer of ``spec``: the family's
    own builder (:attr:`tn_hw.neurons.NeuronFamily.make_kernel` / ``make_layer``), or the
    generic :class:`~tn_hw.hdl.kernel.Kernel` / :class:`Layer` when the family has none."""
    family = spec.family
    if spec.outputs == 1:
        return family.make_kernel(spec) if family.make_kernel else Kernel(spec)
    return family.make_layer(spec) if family.make_layer else Layer(spec)
