"""A whole network in hardware: layers of kernels chained with requantization stages.

Built from a ``tn-hw-net`` (read by :mod:`tn_hw.netdesc`, so building hardware never imports
torch; a network loaded by :mod:`tn_hw.reference.network` works as well):

* ``linear`` is one layer of ``in_features`` inputs and ``out_features`` kernels: the
  family's own layer (:func:`network_layer`: :class:`~tn_hw.hdl.layer.Layer`, or e.g.
  :class:`~tn_hw.hdl.sam.SamLayer` for a Sum-and-Max layer);
* ``conv2d`` is an unrolled array of Layers, one per output position, each seeing the
  ``(channel, row, column)`` window of the input that KernelSpec's input order names, with zero
  padding (a constant 0 input) and a stride;
* ``flatten`` is wiring only: activations are kept in ``(C, H, W)`` row-major order throughout,
  as ``torch.flatten`` numbers them;
* a :class:`~tn_hw.hdl.requant.Requant` stage follows every linear and conv layer (with the
  layer's optional ``"activation": "relu"`` as a sign-bit mux after saturation).

The whole network is combinational (latency 0), as the layers are.

Two modes set where the parameters come from. ``baked``: thresholds/weights, polarities and
biases are constants driven into the Layers' parameter ports, so synthesis folds them into the
logic (a constant threshold makes ``x - w`` an add-constant, a constant polarity removes the
negation mux). ``ports``: they are top-level input ports (``l<i>_w``, ``l<i>_p``, ``l<i>_bias``
for the ``i``-th layer of the file; a Sum-and-Max layer has ``l<i>_wp`` and ``l<i>_wm``, its
``W+`` and ``W-``), programmable as in the paper's FPGA design; a conv layer's ports are shared by
all its output positions.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass, replace

from amaranth.hdl import Const, Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..netdesc import read_network
from ..spec import KernelSpec, SpecError
from .layer import Layer
from .requant import Requant, requant_width

__all__ = ["MODES", "Network", "NetworkNeuron", "Stage", "drive_parameters", "layer_parameter",
           "network_layer", "neuron_parts", "output_spec", "parameter_member",
           "parameter_values",
           "plan_network", "top_name"]

#: Where the parameters come from: constants folded by synthesis, or programmable ports.
MODES = ("baked", "ports")


@dataclass(frozen=True)
class Stage:
    """One layer of the network as the hardware builds it.

    Attributes
    ----------
    index : int
        Position of the layer in the file's ``layers`` list (names the ports and submodules).
    type : str
        ``"linear"``, ``"conv2d"`` or ``"flatten"``.
    in_shape, out_shape : tuple of int
        Activation shapes before and after the layer (``(N,)`` or ``(C, H, W)``).
    spec : KernelSpec or None
        One position's Layer (``outputs`` kernels); ``None`` for flatten.
    stride, padding : int
        Convolution only (1 and 0 otherwise).
    shift : int
    out_width : int or None
    relu : bool
        Requantization after the layer (and its optional ReLU activation).
    w, p, bias : tuple
        The layer's parameters (``p`` is ``None`` without polarity). A Sum-and-Max layer:
        ``w`` is ``W+``, ``p`` and ``bias`` are ``None``.
    wm : tuple or None
        ``W-`` of a Sum-and-Max layer; ``None`` for every other family.
    """

    index: int
    type: str
    in_shape: tuple
    out_shape: tuple
    spec: KernelSpec | None = None
    stride: int = 1
    padding: int = 0
    shift: int = 0
    out_width: int | None = None
    w: tuple = ()
    p: tuple | None = None
    bias: tuple | None = ()
    relu: bool = False
    wm: tuple | None = None

    @property
    def has_parameters(self) -> bool:
        return self.spec is not None

    @property
    def parameter_families(self) -> tuple:
        """The layer's parameter port families in port order: ``("w", "p", "bias")``,
        ``("w", "bias")`` without polarity, SAM's ``("wp", "wm")``; ``()`` for flatten."""
        if not self.has_parameters:
            return ()
        if self.wm is not None:
            return ("wp", "wm")
        return ("w",) + (("p",) if self.p is not None else ()) + ("bias",)

    def parameter(self, family: str):
        """The values of one parameter family: ``O`` rows of ``N`` (``bias``: ``O`` values)."""
        return {"w": self.w, "wp": self.w, "wm": self.wm, "p": self.p,
                "bias": self.bias}[family]

    @property
    def positions(self) -> int:
        """Unrolled output positions: ``H_out * W_out`` for a conv, 1 for a linear layer."""
        return self.out_shape[1] * self.out_shape[2] if self.type == "conv2d" else 1

    def requant(self) -> Requant:
        """A requantization stage for one output of this layer."""
        return Requant(in_width=self.spec.output_width, shift=self.shift,
                       out_width=self.out_width, relu=self.relu)

    @property
    def activation_width(self) -> int:
        """Signed width of this layer's requantized outputs."""
        return requant_width(in_width=self.spec.output_width, shift=self.shift,
                             out_width=self.out_width)


def _values(values):
    """Plain ints from a tuple (:mod:`tn_hw.netdesc`) or a tensor (:mod:`tn_hw.reference`)."""
    return values.tolist() if hasattr(values, "tolist") else values


def _rows(matrix):
    return tuple(tuple(int(v) for v in row) for row in _values(matrix))


def plan_network(net) -> list[Stage]:
    """Turn a loaded network into :class:`Stage` objects with their derived widths.

    Parameters
    ----------
    net : tn_hw.netdesc.NetworkDesc, tn_hw.reference.network.Network or dict
        A network from :func:`tn_hw.netdesc.read_network` (or
        :func:`tn_hw.reference.network.load_network`); a dict is validated by
        :func:`~tn_hw.netdesc.read_network` first, so the hardware never sees an unchecked file.

    Raises
    ------
    tn_hw.netdesc.NetworkError
        If a dict is not a valid tn-hw-net.
    """
    if isinstance(net, dict):
        net = read_network(net)
    stages = []
    for index, layer in enumerate(net.layers):
        in_shape, out_shape = tuple(net.shapes[index]), tuple(net.shapes[index + 1])
        if layer.type == "flatten":
            stages.append(Stage(index, "flatten", in_shape, out_shape))
            continue
        conv = layer.type == "conv2d"
        stage = Stage(index, layer.type, in_shape, out_shape, layer.spec,
                      layer.stride if conv else 1, layer.padding if conv else 0,
                      layer.shift, layer.out_width, _rows(layer.w),
                      None if layer.p is None else _rows(layer.p),
                      None if layer.bias is None else tuple(int(v) for v in _values(layer.bias)),
                      getattr(layer, "activation", None) == "relu",
                      None if getattr(layer, "wm", None) is None else _rows(layer.wm))
        stage.activation_width  # noqa: B018 -- validates shift and out_width for the hardware
        stages.append(stage)
    return stages


def parameter_values(stages) -> dict:
    """``{port family: nested list}``: the values the network gives each parameter port of
    ports mode (what a host programs once before streaming inputs).

    Parameters
    ----------
    stages : list of Stage
        From :func:`plan_network`.
    """
    values = {}
    for stage in stages:
        for family in stage.parameter_families:
            value = stage.parameter(family)
            values[f"l{stage.index}_{family}"] = [list(row) for row in value] \
                if family != "bias" else list(value)
    return values


def top_name(net, mode: str) -> str:
    """Verilog name of a network's top module, e.g. ``tn_net_digits_tmlp_baked``."""
    name = re.sub(r"[^0-9A-Za-z]+", "_", str(net.name or "network")).strip("_").lower()
    return f"tn_net_{name or 'network'}_{mode}"


class Network(wiring.Component):
    """A ``tn-hw-net`` as one combinational circuit, from input activations to logits.

    Parameters
    ----------
    net : tn_hw.netdesc.NetworkDesc, tn_hw.reference.network.Network or dict
        A network from :func:`tn_hw.netdesc.read_network` or
        :func:`tn_hw.reference.network.load_network` (a dict is read, and so validated, by
        :func:`~tn_hw.netdesc.read_network`).
    mode : str
        ``"baked"`` (parameters are constants) or ``"ports"`` (programmable inputs).

    Attributes
    ----------
    x : In(signed(input width)).array(prod(input shape))
        Input activations, ``(C, H, W)`` row-major for an image.
    l<i>_w : In(signed(W)).array(O, N)
        Ports mode only, per linear/conv layer ``i``: thresholds or weights, ``N`` in
        KernelSpec input order (``(c * kh + r) * kw + k`` for a conv).
    l<i>_p : In(1).array(O, N)
        Ports mode, threshold layers: polarities.
    l<i>_bias : In(signed(bias width)).array(O)
        Ports mode: biases.
    l<i>_wp, l<i>_wm : In(signed(W)).array(O, N)
        Ports mode, Sum-and-Max layers (instead of ``w``, ``p``, ``bias``): ``W+`` and ``W-``.
    y : Out(signed(output width)).array(outputs)
        Logits: the last layer's requantized (usually full-precision) outputs.

    Raises
    ------
    SpecError
        If ``mode`` is unknown.
    tn_hw.netdesc.NetworkError
        If a dict is not a valid tn-hw-net.
    """

    def __init__(self, net, *, mode="baked"):
        if mode not in MODES:
            raise SpecError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self._mode = mode
        if isinstance(net, dict):
            net = read_network(net)
        self._net = net
        self._stages = plan_network(net)
        members = {"x": In(signed(net.input_width)).array(math.prod(self.input_shape))}
        if mode == "ports":
            for stage in self._stages:
                if not stage.has_parameters:
                    continue
                for family in stage.parameter_families:
                    members[f"l{stage.index}_{family}"] = parameter_member(stage.spec, family)
        members.update(self.control_members())
        members["y"] = Out(signed(self.output_width)).array(math.prod(self.output_shape))
        super().__init__(members)

    # -- derived facts (read by the exporter, the manifest and the tests) ---------------------

    @property
    def net(self):
        return self._net

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def stages(self) -> list[Stage]:
        return list(self._stages)

    @property
    def input_shape(self) -> tuple:
        return tuple(self._net.input_shape)

    @property
    def output_shape(self) -> tuple:
        return self._stages[-1].out_shape

    @property
    def output_width(self) -> int:
        last = [s for s in self._stages if s.has_parameters][-1]
        return last.activation_width

    @property
    def latency(self) -> int:
        """Clock cycles from input to logits; 0: the network is combinational."""
        return 0

    def parameter_values(self) -> dict:
        """See :func:`parameter_values`."""
        return parameter_values(self._stages)

    def control_members(self) -> dict:
        """Extra input ports between the parameters and ``y``: none here; the folded core
        (:class:`~tn_hw.hdl.network_stream.FoldedNetwork`) adds its phase and load."""
        return {}

    # -- hooks (the mutation tests override these to plant bugs) -----------------------------

    def flatten(self, acts, shape):
        """Reorder activations of ``shape`` into the flat vector; row-major is the identity."""
        return list(acts)

    def conv_window(self, acts, stage, oy, ox):
        """The ``C * kh * kw`` inputs of output position ``(oy, ox)`` in KernelSpec order;
        positions in the zero padding are the constant 0."""
        zero = Const(0, signed(stage.spec.width))
        return [zero if index is None else acts[index]
                for index in window_indices(stage, oy, ox)]

    def make_layer(self, stage, spec):
        """The layer component of one position of ``stage`` (``spec``: the stage's, or a
        folded network's fewer kernels): :func:`network_layer`."""
        return network_layer(spec)

    def make_requant(self, stage, output):
        """The requantization stage of one output of ``stage``."""
        return stage.requant()

    def stage_output(self, m, stage, acts):
        """The activations the next layer sees from ``stage``'s requantized outputs ``acts``:
        the same wires here (combinational); a register stage in
        :class:`~tn_hw.hdl.network_stream.PipelinedNetwork`."""
        return acts

    # -- elaboration ----------------------------------------------------------------------------

    def stage_parameters(self, stage) -> dict:
        """``{family: values}`` of ``stage`` (:attr:`Stage.parameter_families`): its
        ``l<i>_*`` ports in ports mode, else its constants."""
        if self._mode == "ports":
            return {family: getattr(self, f"l{stage.index}_{family}")
                    for family in stage.parameter_families}
        return {family: stage.parameter(family) for family in stage.parameter_families}

    def _layer(self, m, stage, name, inputs):
        layer = m.submodules[name] = self.make_layer(stage, stage.spec)
        spec = stage.spec
        for i in range(spec.n_inputs):
            m.d.comb += layer.x[i].eq(inputs[i])
        params = self.stage_parameters(stage)
        for o in range(spec.outputs):
            drive_parameters(m, layer, stage, o,
                             lambda family, i, o=o: params[family][o] if i is None
                             else params[family][o][i])
        return layer

    def elaborate(self, platform):
        m = Module()
        acts = list(self.x)
        for stage in self._stages:
            if stage.type == "flatten":
                acts = self.flatten(acts, stage.in_shape)
                continue
            if stage.type == "linear":
                layer = self._layer(m, stage, f"layer{stage.index}", acts)
                raw = list(layer.y)
            else:
                _, h_out, w_out = stage.out_shape
                raw = [None] * math.prod(stage.out_shape)
                for oy in range(h_out):
                    for ox in range(w_out):
                        layer = self._layer(m, stage, f"layer{stage.index}_y{oy}_x{ox}",
                                            self.conv_window(acts, stage, oy, ox))
                        for k in range(stage.spec.outputs):
                            raw[(k * h_out + oy) * w_out + ox] = layer.y[k]
            acts = []
            for j, value in enumerate(raw):
                requant = m.submodules[f"requant{stage.index}_{j}"] = \
                    self.make_requant(stage, j)
                m.d.comb += requant.x.eq(value)
                acts.append(requant.y)
            acts = self.stage_output(m, stage, acts)
        for j, value in enumerate(acts):
            m.d.comb += self.y[j].eq(value)
        return m


def parameter_member(spec, family: str):
    """The ``l<i>_<family>`` port of a ports-mode network layer of ``spec``: ``O x N``
    weights (``w``, ``wp``, ``wm``: signed ``W``; ``p``: one bit), or ``O`` biases."""
    if family == "bias":
        return In(signed(spec.bias_width)).array(spec.outputs)
    shape = 1 if family == "p" else signed(spec.width)
    return In(shape).array(spec.outputs, spec.n_inputs)


def layer_parameter(layer, stage, family: str, output: int, index: int | None = None):
    """Parameter input ``family`` of kernel ``output`` (input ``index``; ``None`` for the bias)
    of a layer component built by :func:`network_layer` for ``stage``.

    A SAM layer's ``wp``/``wm`` ports list the kept connections, row-major (output first;
    :attr:`~tn_hw.spec.KernelSpec.connections_max` / ``connections_min`` of the layer's spec):
    in a dense layer pair ``(output, index)`` is port ``output * N + index``; a pair its mask
    leaves out has no port, and the result is ``None``.
    """
    port = getattr(layer, family)
    if family in ("wp", "wm"):
        spec = layer.spec
        if not spec.is_sparse:
            return port[output * spec.n_inputs + index]
        k = _connection_ports(spec, family).get((output, index))
        return None if k is None else port[k]
    return port[output] if index is None else port[output][index]


@functools.lru_cache(maxsize=64)
def _connection_ports(spec, family: str) -> dict:
    """``{(output, input): port index}`` of the kept connections of one side of a SAM spec."""
    pairs = spec.connections_max if family == "wp" else spec.connections_min
    return {pair: k for k, pair in enumerate(pairs)}


def drive_parameters(m, layer, stage, output: int, value) -> None:
    """Drive every parameter input of kernel ``output`` of ``layer`` with ``value(family,
    index)`` (``index`` ``None`` for the bias): the bias first, then input by input each
    weight family (the order fixes the emitted Verilog, which is hashed)."""
    families = stage.parameter_families
    for family in families:
        if family == "bias":
            m.d.comb += layer_parameter(layer, stage, family, output).eq(value(family, None))
    for i in range(stage.spec.n_inputs):
        for family in families:
            if family != "bias":
                port = layer_parameter(layer, stage, family, output, i)
                if port is not None:        # None: a connection the SAM mask leaves out
                    m.d.comb += port.eq(value(family, i))


def output_spec(spec, output: int):
    """The one-output spec of kernel ``output`` of a layer of ``spec`` (a masked SAM layer's
    with that output's mask rows)."""
    if not spec.is_sparse:
        return replace(spec, outputs=1)
    return replace(spec, outputs=1, mask=(spec.keep_max[output],),
                   mask_min=(spec.keep_min[output],))


def network_layer(spec):
    """The layer component a network builds for ``spec``: the family's own layer builder
    (:attr:`tn_hw.neurons.NeuronFamily.make_layer`) when it has one, else the generic
    :class:`~tn_hw.hdl.layer.Layer` (ports ``x``, ``w``, ``p``, ``bias``, ``y`` either way)."""
    family = spec.family
    return family.make_layer(spec) if family.make_layer else Layer(spec)


def window_indices(stage, oy: int, ox: int) -> list:
    """The flat input index of each of the ``C * kh * kw`` inputs of output position
    ``(oy, ox)`` of a conv ``stage``, in KernelSpec order; ``None`` where it is zero padding."""
    c_in, height, width = stage.in_shape
    kh, kw = stage.spec.kernel
    indices = []
    for c in range(c_in):
        for r in range(kh):
            for k in range(kw):
                iy = oy * stage.stride + r - stage.padding
                ix = ox * stage.stride + k - stage.padding
                inside = 0 <= iy < height and 0 <= ix < width
                indices.append((c * height + iy) * width + ix if inside else None)
    return indices


def window_inside(stage, oy: int, ox: int) -> tuple:
    """Per input of output position ``(oy, ox)`` (KernelSpec order): whether it reads the
    input (``True``) or the zero padding (``False``). All ``True`` for a linear stage."""
    if stage.type != "conv2d":
        return (True,) * stage.spec.n_inputs
    return tuple(index is not None for index in window_indices(stage, oy, ox))


class NetworkNeuron(wiring.Component):
    """One output of one layer of a network, with its requantization stage: the unit that
    split synthesis (:mod:`tn_hw.synth.area.split`) builds alone and sums.

    The neuron is exactly the logic :class:`Network` builds for that output (one
    :class:`~tn_hw.hdl.kernel.Kernel` of the layer's spec, the constant 0 for inputs in the
    zero padding, the layer's :class:`~tn_hw.hdl.requant.Requant`), cut out of the network: its
    inputs become ports. What a split sum leaves out is sharing between neurons, which the
    whole network's synthesis could find (equal ``x - w`` or ``x * w`` terms of two neurons).

    Parameters
    ----------
    stage : Stage
        A linear or conv stage from :func:`plan_network`.
    output : int
        Which kernel (output channel) of the stage.
    inside : tuple of bool
        From :func:`window_inside`: which inputs are real (ports) and which are padding.
    mode : str
        ``"baked"``: the neuron's parameters are constants; ``"ports"``: inputs.

    Attributes
    ----------
    x : In(signed(W)).array(number of real inputs)
    w, p, bias : ports mode only, as one row of :class:`Network`'s ``l<i>_*`` ports
        (a SAM layer: ``wp``, ``wm``).
    y : Out(signed(stage.activation_width))
    """

    def __init__(self, stage, output, inside, *, mode="baked"):
        if mode not in MODES:
            raise SpecError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if not stage.has_parameters:
            raise SpecError(f"layer {stage.index} ({stage.type}) has no neurons")
        self._stage, self._output, self._mode = stage, output, mode
        self._inside = tuple(bool(v) for v in inside)
        spec = stage.spec
        if len(self._inside) != spec.n_inputs:
            raise SpecError(f"inside has {len(self._inside)} entries, the layer's kernels "
                            f"have {spec.n_inputs} inputs")
        members = {"x": In(signed(spec.width)).array(sum(self._inside))}
        if mode == "ports":
            for family in stage.parameter_families:
                if family == "bias":
                    members["bias"] = In(signed(spec.bias_width))
                else:
                    members[family] = In(1 if family == "p" else signed(spec.width)).array(
                        spec.n_inputs)
        members["y"] = Out(signed(stage.activation_width))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        stage, o = self._stage, self._output
        layer = m.submodules.layer = network_layer(output_spec(stage.spec, o))
        real = iter(self.x)
        zero = Const(0, signed(stage.spec.width))
        for i, inside in enumerate(self._inside):
            m.d.comb += layer.x[i].eq(next(real) if inside else zero)
        if self._mode == "ports":
            params = {family: getattr(self, family) for family in stage.parameter_families}
        else:
            params = {family: stage.parameter(family)[o] for family in stage.parameter_families}
        drive_parameters(m, layer, stage, 0,
                         lambda family, i: params[family] if i is None else params[family][i])
        requant = m.submodules.requant = stage.requant()
        m.d.comb += [requant.x.eq(layer.y[0]), self.y.eq(requant.y)]
        return m


def neuron_parts(net, mode: str = "baked") -> list[tuple]:
    """The network as its neurons: ``[(stage, output, inside, count), ...]``, one entry per
    distinct :class:`NetworkNeuron`, ``count`` the number of places the network builds it.

    Baked conv neurons of one output channel share their constants, so they differ only in
    where the padding falls; in ports mode every neuron of a layer with the same padding is
    the same circuit. Counts add up to the network's number of neurons.
    """
    if mode not in MODES:
        raise SpecError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    parts = []
    for stage in plan_network(net):
        if not stage.has_parameters:
            continue
        h_out, w_out = (stage.out_shape[1], stage.out_shape[2]) if stage.type == "conv2d" \
            else (1, 1)
        windows = Counter(window_inside(stage, oy, ox) for oy in range(h_out)
                          for ox in range(w_out))
        # A masked SAM layer's outputs differ in their connections even with ports.
        alike = mode == "ports" and not stage.spec.is_sparse
        outputs = [0] if alike else range(stage.spec.outputs)
        repeat = stage.spec.outputs if alike else 1
        for o in outputs:
            for inside, count in windows.items():
                parts.append((stage, o, inside, count * repeat))
    return parts
