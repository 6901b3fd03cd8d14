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

Reuse factor
------------
``reuse = R > 1`` folds every layer as the streaming conv layer (:mod:`tn_hw.hdl.conv`) folds
its kernels: a layer of ``O`` outputs per position builds ``G = ceil(O / R)`` kernels (and
requantizers) per position and computes its outputs in ``R`` phases, output
``o = phase * G + g`` in kernel ``g`` (the last phase may leave kernels idle);
:class:`FoldedNetwork` keeps the requantized outputs of phases ``0 .. R-2`` in registers and
loads the whole layer's register from them and the last phase's outputs. A masked SAM layer's
kernel serves outputs with different masks: it is built over the union of their masks
(:class:`GatedSamLayer`) and each connection one of them leaves out is gated by the phase
(:meth:`FoldedNetwork.fold_gate`). All layers step
through the same phase counter in lock step: a *round* is ``R`` cycles, every layer computes one
beat per round from its input register (layer 0 from ``x__payload``, which the stream rules
hold still while ``x__valid`` waits for ``x__ready``), and at the round's last phase, when the
output is free (``~y.valid | y.ready``), every layer register loads at once (*commit*).

The stream control (:func:`fold_control`) runs the phase counter only while a round carries
a beat (one taken at its phase 0, or one in a layer register); a round with none restarts at
phase 0, so an idle accelerator starts a round the cycle a beat arrives. A beat is accepted at
a commit (``x.ready`` is high only then) when ``x.valid`` was already high at the round's
phase 0, so every phase of layer 0 saw its payload; a beat offered later in a round waits for
the next one. The last valid bit also clears when ``y`` is taken between commits. Back to
back from idle, beat ``k`` is offered from cycle ``k * R`` and leaves at cycle
``k * R + L * R``: latency ``L * R`` cycles (``L`` layers), initiation interval ``R``. With
``R = 1`` the design is :class:`PipelinedNetwork` and :func:`~tn_hw.hdl.stream.valid_chain`
unchanged.
"""

from __future__ import annotations

import math
from dataclasses import replace

from amaranth.hdl import Cat, EnableInserter, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..spec import SpecError
from .network import Network, drive_parameters, plan_network, top_name
from .sam import SamKernel, SamLayer
from .stream import forward_ports, valid_chain

__all__ = ["FoldedNetwork", "GatedSamKernel", "GatedSamLayer", "NetworkStream",
           "PipelinedNetwork", "check_reuse", "clocked_top_name", "fold_control", "fold_kernels",
           "fold_served", "phase_is", "union_masks"]


def clocked_top_name(net, mode: str, latency: int, *, stream: bool = True,
                     reuse: int = 1) -> str:
    """Verilog name of a clocked network, e.g. ``tn_net_ball3_tn4_baked_s4_stream``, or
    ``tn_net_ball3_tn4_baked_s8_r2_stream`` with reuse 2."""
    return (f"{top_name(net, mode)}_s{latency}" + (f"_r{reuse}" if reuse > 1 else "")
            + ("_stream" if stream else ""))


def check_reuse(net, reuse) -> int:
    """Validate a reuse factor for ``net``: an integer from 1 to the widest layer's outputs
    per position (a larger one would only add idle phases).

    Raises
    ------
    SpecError
        With the one-line message the command line prints.
    """
    widest = max(stage.spec.outputs for stage in plan_network(net) if stage.has_parameters)
    if isinstance(reuse, bool) or not isinstance(reuse, int) or not 1 <= reuse <= widest:
        raise SpecError(f"reuse must be an integer from 1 to {widest} (the widest layer's "
                        f"outputs), not {reuse!r}")
    return reuse


def fold_kernels(outputs: int, reuse: int) -> int:
    """Kernels a layer of ``outputs`` outputs per position builds with reuse ``reuse``."""
    return -(-outputs // reuse)


def fold_served(outputs: int, reuse: int, kernel: int) -> list[int]:
    """The output folded kernel ``kernel`` computes in each phase (phase ``p``: output
    ``p * G + kernel``); where the last phase leaves it idle, its phase-0 output (nothing
    reads it)."""
    outs = [phase * fold_kernels(outputs, reuse) + kernel for phase in range(reuse)]
    return [o if o < outputs else outs[0] for o in outs]


def union_masks(spec, served) -> dict:
    """Keep masks (``"max"``, ``"min"``) of the folded kernels of a masked SAM layer of
    ``spec``: kernel ``g`` keeps input ``i`` on a side if an output of ``served[g]`` does."""
    return {side: tuple(tuple(int(any(keep[o][i] for o in outs)) for i in range(spec.n_inputs))
                        for outs in served)
            for side, keep in (("max", spec.keep_max), ("min", spec.keep_min))}


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


    @property
    def initiation_interval(self) -> int:
        """Clock cycles between inferences: 1, fully unrolled."""
        return 1

    @property
    def reuse(self) -> int:
        return 1


class FoldedNetwork(PipelinedNetwork):
    """:class:`PipelinedNetwork` with every layer folded ``reuse`` times (see the module
    docstring, "Reuse factor"): ``ceil(O / reuse)`` kernels per position compute a layer's
    ``O`` outputs in ``reuse`` phases.

    Parameters
    ----------
    net, mode
        As :class:`~tn_hw.hdl.network.Network`.
    reuse : int
        From 2 to the widest layer's outputs (:func:`check_reuse`).

    Attributes
    ----------
    phase : In(range(reuse))
        The phase of the round, from the stream control.
    load : In(1)
        Commit: every layer register loads at the next rising edge.
    x, l<i>_*, y
        As :class:`~tn_hw.hdl.network.Network`.
    """

    def __init__(self, net, *, mode="baked", reuse=2):
        if isinstance(reuse, int) and not isinstance(reuse, bool) and reuse == 1:
            raise SpecError("a FoldedNetwork needs reuse of 2 or more; reuse 1 is "
                            "PipelinedNetwork")
        self._reuse = self.check_reuse(net, reuse)
        super().__init__(net, mode=mode)

    def check_reuse(self, net, reuse) -> int:
        """Validate ``reuse`` (:func:`check_reuse`); the formal check of one layer cut out of
        a network (:mod:`tn_hw.testbench.net_equiv`) overrides it, as the cut layer may have
        fewer outputs than the reuse of the whole network."""
        return check_reuse(net, reuse)

    def control_members(self) -> dict:
        return {"phase": In(range(self._reuse)), "load": In(1)}

    @property
    def reuse(self) -> int:
        return self._reuse

    @property
    def latency(self) -> int:
        """Clock cycles from the first cycle a beat is offered to the cycle it leaves, back to
        back: ``reuse`` per linear or conv layer."""
        return self._reuse * super().latency

    @property
    def initiation_interval(self) -> int:
        """Clock cycles between inferences: ``reuse``."""
        return self._reuse

    # -- hook the mutation tests override to plant a wrong neuron select ---------------------

    def fold_output(self, stage, phase: int, kernel: int) -> int:
        """Which output of ``stage`` kernel ``kernel`` computes in phase ``phase``."""
        return phase * fold_kernels(stage.spec.outputs, self._reuse) + kernel

    def fold_gate(self, keeps):
        """The gate of one connection of a folded masked SAM kernel: ``keeps[phase]``, the
        mask bit of the output it computes in that phase."""
        return self._by_phase(keeps)

    # -- elaboration ------------------------------------------------------------------------

    def _by_phase(self, values):
        """``values[phase]`` as a chain of multiplexers: continuous assignments in the
        Verilog, which every simulator evaluates at time 0 (a ``case`` on the phase over
        constants would not run before the phase first changes)."""
        result = values[-1]
        for phase in reversed(range(len(values) - 1)):
            if not _same(values[phase], result):
                result = Mux(phase_is(self.phase, phase), values[phase], result)
        return result

    def _served(self, stage, g):
        """The output kernel ``g`` of ``stage`` computes in each phase; where the last phase
        leaves it idle, it repeats its phase-0 output (nothing reads it), which saves a
        multiplexer."""
        outs = [self.fold_output(stage, phase, g) for phase in range(self._reuse)]
        return [o if o < stage.spec.outputs else outs[0] for o in outs]

    def _folded_layer(self, m, stage, name):
        """The ``G`` kernels of one position; a masked SAM layer's are
        :class:`GatedSamLayer` kernels over the union of the masks of the outputs each
        serves, each connection gated by phase (module docstring)."""
        spec = stage.spec
        groups = fold_kernels(spec.outputs, self._reuse)
        if not spec.is_sparse:
            layer = m.submodules[name] = self.make_layer(stage, replace(spec, outputs=groups))
            return layer
        served = [self._served(stage, g) for g in range(groups)]
        union = union_masks(spec, served)
        layer = m.submodules[name] = GatedSamLayer(replace(
            spec, outputs=groups, mask=union["max"], mask_min=union["min"]))
        for family, keep, gates in (("wp", spec.keep_max, layer.kp),
                                    ("wm", spec.keep_min, layer.km)):
            pairs = layer.spec.connections_max if family == "wp" else \
                layer.spec.connections_min
            for k, (g, i) in enumerate(pairs):
                m.d.comb += gates[k].eq(self.fold_gate([keep[o][i] for o in served[g]]))
        return layer

    def _folded_position(self, m, stage, name, inputs):
        """One position's ``G`` kernels with their phase-selected parameters and requantizers;
        returns the requantized value of every output after the last phase, in output order
        (held registers for the phases before the last)."""
        spec, reuse = stage.spec, self._reuse
        groups = fold_kernels(spec.outputs, reuse)
        layer = self._folded_layer(m, stage, name)
        for i in range(spec.n_inputs):
            m.d.comb += layer.x[i].eq(inputs[i])
        params = self.stage_parameters(stage)
        for g in range(groups):
            outs = self._served(stage, g)
            drive_parameters(
                m, layer, stage, g,
                lambda family, i, outs=outs: self._by_phase(
                    [params[family][o] if i is None else params[family][o][i] for o in outs]))
        values = [None] * spec.outputs
        for g in range(groups):
            requant = m.submodules[f"{name}_requant{g}"] = self.make_requant(stage, g)
            m.d.comb += requant.x.eq(layer.y[g])
            for phase in range(reuse):
                o = phase * groups + g
                if o >= spec.outputs:
                    continue
                if phase == reuse - 1:
                    values[o] = requant.y
                    continue
                held = Signal(requant.y.shape(), name=f"{name}_held{o}", reset_less=True)
                with m.If(phase_is(self.phase, phase)):
                    m.d.sync += held.eq(requant.y)
                values[o] = held
        return values

    def stage_output(self, m, stage, acts):
        """Register ``stage``'s outputs at a commit (no reset: data registers)."""
        regs = []
        for j, value in enumerate(acts):
            reg = Signal(value.shape(), name=f"l{stage.index}_q{j}", reset_less=True)
            with m.If(self.load):
                m.d.sync += reg.eq(value)
            regs.append(reg)
        return regs

    def elaborate(self, platform):
        m = Module()
        acts = list(self.x)
        for stage in self.stages:
            if stage.type == "flatten":
                acts = self.flatten(acts, stage.in_shape)
                continue
            if stage.type == "linear":
                values = self._folded_position(m, stage, f"layer{stage.index}", acts)
            else:
                _, h_out, w_out = stage.out_shape
                values = [None] * math.prod(stage.out_shape)
                for oy in range(h_out):
                    for ox in range(w_out):
                        out = self._folded_position(m, stage, f"layer{stage.index}_y{oy}_x{ox}",
                                                    self.conv_window(acts, stage, oy, ox))
                        for k in range(stage.spec.outputs):
                            values[(k * h_out + oy) * w_out + ox] = out[k]
            acts = self.stage_output(m, stage, values)
        for j, value in enumerate(acts):
            m.d.comb += self.y[j].eq(value)
        return m


def _gated_members(spec, y) -> dict:
    """Signature members of a gated SAM kernel or layer: ``x``, the kept weights ``wp``/``wm``,
    one gate per kept connection ``kp``/``km``, and the output member ``y``."""
    width = spec.width
    return {
        "x": In(signed(width)).array(spec.n_inputs),
        "wp": In(signed(width)).array(len(spec.connections_max)),
        "wm": In(signed(width)).array(len(spec.connections_min)),
        "kp": In(1).array(len(spec.connections_max)),
        "km": In(1).array(len(spec.connections_min)),
        "y": y,
    }


class GatedSamKernel(SamKernel):
    """:class:`~tn_hw.hdl.sam.SamKernel` with a gate on every kept connection: ``kp[k]``
    (``km[k]``) low leaves connection ``k`` of the max (min) side out, its sum replaced by a
    value no kept sum beats (``-2**W`` on the max side, ``2**W - 1`` on the min side; a sum is
    in ``[-2**W, 2**W - 2]``). The folded kernel of a masked SAM layer serves outputs with
    different masks, one per phase; its gates are their masks, selected by the phase."""

    def __init__(self, spec):
        self._spec = spec
        wiring.Component.__init__(self, _gated_members(spec, Out(signed(spec.output_width))))

    def _side(self, m, side, connections, weights):
        sums = super()._side(m, side, connections, weights)
        gates, width = (self.kp if side == "p" else self.km), self._spec.width
        neutral = -(1 << width) if side == "p" else (1 << width) - 1
        gated = []
        for k, value in enumerate(sums):
            node = Signal(signed(width + 1), name=f"gated{side}{connections[k][1]}")
            m.d.comb += node.eq(Mux(gates[k], value, neutral))
            gated.append(node)
        return gated


class GatedSamLayer(SamLayer):
    """:class:`~tn_hw.hdl.sam.SamLayer` of :class:`GatedSamKernel` kernels, with the gates
    ``kp`` / ``km`` as ports beside ``wp`` / ``wm`` (one per kept connection, same order)."""

    kernel_class = GatedSamKernel

    def __init__(self, spec):
        self._spec = spec
        wiring.Component.__init__(
            self, _gated_members(spec, Out(signed(spec.output_width)).array(spec.outputs)))

    def elaborate(self, platform):
        m = super().elaborate(platform)
        spec = self._spec
        for side, pairs, ports in (("kp", spec.connections_max, self.kp),
                                   ("km", spec.connections_min, self.km)):
            for o in range(spec.outputs):
                kernel = m.submodules[f"kernel{o}"]
                mine = [k for k, (out, _) in enumerate(pairs) if out == o]
                for j, k in enumerate(mine):
                    m.d.comb += getattr(kernel, side)[j].eq(ports[k])
        return m


def phase_is(phase, value: int):
    """``phase == value``; for 0 as ``~|phase`` (a comparison with 0 is emitted as a logical
    NOT of the whole vector, which Verilator's lint refuses as a truncation)."""
    return ~phase.any() if value == 0 else phase == value


def _same(a, b) -> bool:
    """Whether two parameter values are the same constant (a baked multiplexer not needed)."""
    return isinstance(a, int) and isinstance(b, int) and a == b


def fold_control(m, reuse, layers, x, y, phase, load) -> dict:
    """The phase counter, the valid bits and the commit of a folded network (module
    docstring, "Reuse factor"), ``layers`` register stages (one valid bit each).

    Returns
    -------
    dict
        The control state, for the formal check of the folded stream
        (:mod:`tn_hw.testbench.net_equiv`): ``count``, ``take``, ``valid``, ``active``.
    """
    count = Signal(range(reuse), name="round_phase")
    take = Signal()             # x.valid was high at phase 0: this round computes that beat
    valid = Signal(layers)      # valid[k]: layer k's register holds a beat; rst clears it
    active = Signal()           # the round carries a beat; else it restarts at phase 0
    last = Signal()
    commit = Signal()
    m.d.comb += [
        active.eq(take | valid.any()),
        phase.eq(Mux(active, count, 0)),
        last.eq(phase == reuse - 1),
        commit.eq(last & (~valid[-1] | y.ready)),
        load.eq(commit),
        x.ready.eq(commit & take),
        y.valid.eq(valid[-1]),
    ]
    with m.If(commit | ~(active | x.valid)):
        m.d.sync += count.eq(0)
    with m.Elif(~last):
        m.d.sync += count.eq(phase + 1)
    with m.If(phase_is(phase, 0)):
        m.d.sync += take.eq(x.valid)
    with m.If(commit):
        m.d.sync += take.eq(0)
    with m.If(y.valid & y.ready):
        m.d.sync += valid[-1].eq(0)
    with m.If(commit):
        m.d.sync += valid.eq(Cat(x.valid & take, valid[:-1]))
    return {"count": count, "take": take, "valid": valid, "active": active}


class NetworkStream(wiring.Component):
    """A network behind valid/ready streams (semantics in the module docstring).

    Parameters
    ----------
    net : tn_hw.netdesc.NetworkDesc, tn_hw.reference.network.Network or dict
    mode : str
        ``"baked"`` or ``"ports"``.
    reuse : int
        Reuse factor (module docstring): 1, fully unrolled (default), or up to the widest
        layer's outputs.

    Attributes
    ----------
    x : In(stream.Signature(data.ArrayLayout(signed(input width), inputs)))
    l<i>_w, l<i>_p, l<i>_bias
        Ports mode only: the core's parameter ports (configuration, see the module docstring).
    y : Out(stream.Signature(data.ArrayLayout(signed(output width), outputs)))
    """

    def __init__(self, net, *, mode="baked", reuse=1):
        self._reuse = check_reuse(net, reuse)
        self._core = self.make_core(net, mode)
        core = self._core
        members = {"x": In(stream.Signature(data.ArrayLayout(
            signed(core.net.input_width), math.prod(core.input_shape))))}
        for name, member in core.signature.members.items():
            if name not in ("x", "y", "phase", "load"):
                members[name] = member
        members["y"] = Out(stream.Signature(data.ArrayLayout(
            signed(core.output_width), math.prod(core.output_shape))))
        super().__init__(members)

    def make_core(self, net, mode):
        """The plain clocked core; mutation tests swap in a wrong one."""
        if self._reuse > 1:
            return FoldedNetwork(net, mode=mode, reuse=self._reuse)
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

    @property
    def initiation_interval(self) -> int:
        return self._core.initiation_interval

    @property
    def reuse(self) -> int:
        return self._reuse

    @property
    def layers(self) -> int:
        """Register stages: one per linear or conv layer."""
        return sum(1 for stage in self.stages if stage.has_parameters)

    def elaborate(self, platform):
        m = Module()
        core = self._core
        advance = Signal()
        if self._reuse > 1:
            m.submodules.core = core
        else:
            m.submodules.core = EnableInserter(advance)(core)
        for i in range(len(core.x)):
            m.d.comb += core.x[i].eq(self.x.payload[i])
        for name in self.signature.members:
            if name not in ("x", "y"):
                forward_ports(m, getattr(self, name), getattr(core, name))
        for o in range(len(core.y)):
            m.d.comb += self.y.payload[o].eq(core.y[o])
        if self._reuse > 1:
            self.fold_control(m)
        else:
            self.control(m, advance)
        return m

    def control(self, m, advance):
        """The valid bits and the global stall enable (as :class:`~tn_hw.hdl.stream.StreamDesign`);
        the mutation tests override it to plant a stale valid."""
        valid_chain(m, self.latency, self.x, self.y, advance)

    def fold_control(self, m):
        """The control of a folded core (:func:`fold_control`); mutation tests override it.
        Keeps the control state in ``self.control_state`` (for the formal check)."""
        self.control_state = fold_control(m, self._reuse, self.layers, self.x, self.y,
                                          self._core.phase, self._core.load)

