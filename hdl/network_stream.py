"""A whole network as a clocked accelerator: one register stage per layer, valid/ready streams.

:class:`PipelinedNetwork` is the combinational :class:`~tn_hw.hdl.network.Network` with a
register after every linear or conv layer's requantization (flatten is wiring and adds no
stage): ``latency`` = the number of such layers (ball3-tn4: 4, digits-tmlp: 2), one inference
per clock (initiation interval 1; the network is fully unrolled, no neuron is shared between
cycles). Its datapath registers have no reset (as :mod:`tn_hw.hdl.pipeline`'s): the logits seen
between edges ``t + L - 1`` and ``t + L`` are those of the input applied before edge ``t``.

:class:`NetworkStream` puts that core behind ``amaranth.lib.stream`` ports exactly as
:class:`~tn_hw.hdl.stream.StreamDesign` does for kernels: ``x__payload`` carries the input
activations (input ``i`` at bits ``[i*W +: W]``, ``(C, H, W)`` row-major), ``y__payload`` the
logits (logit ``o`` at bits ``[o*B +: B]``); ``latency`` valid bits travel beside the data and
one global enable ``advance = ~y.valid | y.ready`` (``x.ready = advance``) moves every
register or holds them all, so nothing is lost or duplicated and back-to-back beats flow at
one per clock, beat ``k`` out at cycle ``k + latency``. ``rst`` (synchronous, active high)
clears the valid bits: beats in flight are dropped.

Parameters in ``ports`` mode (``l<i>_w``, ``l<i>_p``, ``l<i>_bias``) are configuration: each
layer reads them in the cycle its stage computes, so they are not carried along with a beat
(that would register every weight once per layer); change them only while no beat is in
flight, as the paper's FPGA system programs its thresholds once before streaming.
"""

from __future__ import annotations

import math

from amaranth.hdl import EnableInserter, Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .network import Network, top_name
from .stream import forward_ports, valid_chain

__all__ = ["NetworkStream", "PipelinedNetwork", "clocked_top_name"]


def clocked_top_name(net, mode: str, latency: int, *, stream: bool = True) -> str:
    """Verilog name of a clocked network, e.g. ``tn_net_ball3_tn4_baked_s4_stream``."""
    return f"{top_name(net, mode)}_s{latency}" + ("_stream" if stream else "")


class PipelinedNetwork(Network):
    """:class:`~tn_hw.hdl.network.Network` with a register stage after every layer
    (ports ``clk`` and ``rst`` of the ``sync`` domain; ``rst`` drives nothing in the plain
    core). Same parameters and ports as :class:`~tn_hw.hdl.network.Network`."""

    @property
    def latency(self) -> int:
        """Clock cycles from input to logits: one per linear or conv layer."""
        return sum(1 for stage in self.stages if stage.has_parameters)

    def stage_output(self, m, stage, acts):
        """Register ``stage``'s requantized outputs (no reset: data registers)."""
        regs = []
        for j, value in enumerate(acts):
            reg = Signal(value.shape(), name=f"l{stage.index}_q{j}", reset_less=True)
            m.d.sync += reg.eq(value)
            regs.append(reg)
        return regs


class NetworkStream(wiring.Component):
    """A network behind valid/ready streams (semantics in the module docstring).

    Parameters
    ----------
    net : tn_hw.netdesc.NetworkDesc, tn_hw.reference.network.Network or dict
    mode : str
        ``"baked"`` or ``"ports"``.

    Attributes
    ----------
    x : In(stream.Signature(data.ArrayLayout(signed(input width), inputs)))
    l<i>_w, l<i>_p, l<i>_bias
        Ports mode only: the core's parameter ports (configuration, see the module docstring).
    y : Out(stream.Signature(data.ArrayLayout(signed(output width), outputs)))
    """

    def __init__(self, net, *, mode="baked"):
        self._core = self.make_core(net, mode)
        core = self._core
        members = {"x": In(stream.Signature(data.ArrayLayout(
            signed(core.net.input_width), math.prod(core.input_shape))))}
        for name, member in core.signature.members.items():
            if name not in ("x", "y"):
                members[name] = member
        members["y"] = Out(stream.Signature(data.ArrayLayout(
            signed(core.output_width), math.prod(core.output_shape))))
        super().__init__(members)

    def make_core(self, net, mode):
        """The plain clocked core; mutation tests swap in a wrong one."""
        return PipelinedNetwork(net, mode=mode)

    # Facts the exporter and the manifest read, as on Network.
    @property
    def core(self) -> PipelinedNetwork:
        return self._core

    @property
    def net(self):
        return self._core.net

    @property
    def mode(self) -> str:
        return self._core.mode

    @property
    def stages(self):
        return self._core.stages

    @property
    def input_shape(self) -> tuple:
        return self._core.input_shape

    @property
    def output_shape(self) -> tuple:
        return self._core.output_shape

    @property
    def output_width(self) -> int:
        return self._core.output_width

    @property
    def latency(self) -> int:
        return self._core.latency

    def elaborate(self, platform):
        m = Module()
        core = self._core
        advance = Signal()
        m.submodules.core = EnableInserter(advance)(core)
        for i in range(len(core.x)):
            m.d.comb += core.x[i].eq(self.x.payload[i])
        for name in self.signature.members:
            if name not in ("x", "y"):
                forward_ports(m, getattr(self, name), getattr(core, name))
        for o in range(len(core.y)):
            m.d.comb += self.y.payload[o].eq(core.y[o])
        self.control(m, advance)
        return m

    def control(self, m, advance):
        """The valid bits and the global stall enable (as :class:`~tn_hw.hdl.stream.StreamDesign`);
        the mutation tests override it to plant a stale valid."""
        valid_chain(m, self.latency, self.x, self.y, advance)

