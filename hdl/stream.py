"""Stream interfaces (``amaranth.lib.stream``) on kernels and layers.

The input stream carries the vector ``x``, the output stream carries ``y``; thresholds or weights,
polarities and bias stay plain configuration ports, exactly as on the combinational design.

Handshake
---------
A beat moves when ``valid & ready`` is high at a rising clock edge (``amaranth.lib.stream``
rules: ``valid`` never waits for ``ready``; once ``y.valid`` is high, ``y.valid`` and
``y.payload`` hold until the beat is taken). The configuration ports are sampled with the beat
they belong to: they travel through the pipeline beside ``x`` (the bias and the polarity counts
are registered like the sums, :mod:`tn_hw.hdl.pipeline`), so changing a threshold between two
beats is safe; holding them constant is the usual use.

Stall: one global enable, no skid buffers
-----------------------------------------
``stages`` valid bits travel beside the data. Every register (data and valid) advances when

    advance = ~y.valid | y.ready

that is, when the last stage is empty or its beat leaves in this cycle; otherwise the whole
pipeline holds. ``x.ready = advance``. Nothing is lost (a held stage is not overwritten) and
nothing is duplicated (a beat leaves the last stage only on ``y.valid & y.ready``, and the
stage then takes the next beat or a bubble). Back-to-back beats flow at one per cycle while
``y.ready`` stays high. Bubbles inside the pipeline are not squeezed out while the output is
stalled: a stall freezes them too, which costs throughput only when the consumer stalls and
the producer has gaps at the same time.

Cost: ``stages`` flip-flops for the valid bits, one OR gate, and an enable on every data
register (free on FPGA flip-flops with a clock enable; a multiplexer per bit in a generic
cell library). The price of the simplicity is a combinational path from ``y.ready`` to
``x.ready`` and a fanout of ``advance`` to every register. Skid buffers (a second register per
stage, or one at the output) would cut that path and let bubbles be squeezed out, for about
twice the pipeline's flip-flops; at the depths here (a few stages of a few dozen bits) the
enable is the cheaper choice, and a skid buffer can be added outside the design.

Reset (``rst``, synchronous, active high) clears the valid bits: beats in flight are dropped
and the first beat after reset is the first beat accepted after it. The datapath registers
keep no reset. With ``stages == 0`` the design is combinational: ``y.valid = x.valid``,
``x.ready = y.ready`` and ``y.payload`` is the kernel's output, with no clock.
"""

from amaranth.hdl import Cat, EnableInserter, Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..spec import KernelSpec
from .layer import build_component

__all__ = ["StreamDesign", "design_class", "forward_ports", "valid_chain"]


def design_class(spec: KernelSpec):
    """The plain (port-per-value) component builder of a spec: the family's kernel or layer
    (:mod:`tn_hw.neurons`); called with the spec, it returns the component."""
    return build_component


class StreamDesign(wiring.Component):
    """A kernel or layer behind a valid/ready stream (semantics in the module docstring).

    Parameters
    ----------
    spec : KernelSpec
        The design; ``spec.stages`` register stages, latency ``spec.latency`` cycles from the
        handshake of a beat on ``x`` to its ``y.valid``, when ``y`` is not stalled.

    Attributes
    ----------
    x : In(stream.Signature(data.ArrayLayout(signed(W), N)))
        Input vectors; element ``i`` is input ``i`` (bits ``[i*W +: W]`` of ``x__payload``).
    y : Out(stream.Signature(signed(spec.output_width)))
        Output of a kernel; a layer's payload is ``data.ArrayLayout(signed(...), O)``.
    w, p, bias, wp, wm
        The configuration ports of the plain design, unchanged.
    """

    def __init__(self, spec):
        if not isinstance(spec, KernelSpec):
            raise TypeError(f"spec must be a KernelSpec, not {spec!r}")
        self._spec = spec
        self._core = self.make_core(spec)
        members = {"x": In(stream.Signature(data.ArrayLayout(signed(spec.width),
                                                             spec.n_inputs)))}
        for name, member in self._core.signature.members.items():
            if name not in ("x", "y"):
                members[name] = member
        out = signed(spec.output_width)
        if spec.outputs > 1:
            out = data.ArrayLayout(out, spec.outputs)
        members["y"] = Out(stream.Signature(out))
        super().__init__(members)

    @property
    def spec(self):
        return self._spec

    def make_core(self, spec):
        """The plain kernel or layer inside; mutation tests swap it for a wrong one."""
        return design_class(spec)(spec)

    def elaborate(self, platform):
        m = Module()
        spec, core = self._spec, self._core
        advance = Signal()
        if spec.latency:
            m.submodules.core = EnableInserter(advance)(core)
        else:
            m.submodules.core = core
        for i in range(spec.n_inputs):
            m.d.comb += core.x[i].eq(self.x.payload[i])
        for name in self.signature.members:
            if name not in ("x", "y"):
                forward_ports(m, getattr(self, name), getattr(core, name))
        if spec.outputs > 1:
            for o in range(spec.outputs):
                m.d.comb += self.y.payload[o].eq(core.y[o])
        else:
            m.d.comb += self.y.payload.eq(core.y)
        if spec.latency:
            self.control(m, advance)
        else:
            m.d.comb += [self.y.valid.eq(self.x.valid), self.x.ready.eq(self.y.ready)]
        return m

    def control(self, m, advance):
        """The valid bits and the global stall enable ``advance`` (see the module docstring)."""
        valid_chain(m, self._spec.latency, self.x, self.y, advance)


def valid_chain(m, latency, x, y, advance):
    """The valid bits of a ``latency``-deep pipeline between streams ``x`` and ``y`` and the
    global stall enable ``advance``: the pipeline moves unless its last stage holds a beat
    that ``y`` does not take."""
    valid = Signal(latency)  # valid[k]: stage k + 1 holds a beat; rst clears it
    m.d.comb += [
        advance.eq(~valid[-1] | y.ready),
        x.ready.eq(advance),
        y.valid.eq(valid[-1]),
    ]
    with m.If(advance):
        m.d.sync += valid.eq(Cat(x.valid, valid[:-1]))


def forward_ports(m, outer, inner):
    """Drive a configuration port (a signal, or nested lists of them) into the core."""
    if isinstance(outer, list):
        for a, b in zip(outer, inner, strict=True):
            forward_ports(m, a, b)
    else:
        m.d.comb += inner.eq(outer)
