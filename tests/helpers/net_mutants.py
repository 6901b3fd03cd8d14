"""Small hand-written networks and planted bugs for the network hardware tests.

The networks are tiny on purpose (hundreds of cells, seconds to simulate) but exercise every
part of the hardware a real model uses: a strided, zero-padded convolution over two channels,
requantization with ties and saturation, flatten, and a full-precision last layer. Each mutant
keeps the ports of the real design and is wrong in one way real RTL goes wrong.
"""

import random

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed

from helpers.mutants_sam import SwappedMaxMinKernel
from tn_hw.hdl.network import Network
from tn_hw.hdl.network_stream import FoldedNetwork, NetworkStream, PipelinedNetwork, phase_is
from tn_hw.hdl.requant import Requant
from tn_hw.hdl.sam import SamLayer

__all__ = ["CLOCKED_MUTANTS", "FOLDED_MUTANTS", "NET_MUTANTS", "SAM_NET_MUTANTS", "STAGE_MUTANTS",
           "NoSaturationRequant", "RoundHalfDownRequant", "SkippedStage",
           "SwappedWeightSetsStream", "micro_net", "tiny_net", "tiny_sam_net"]


def tiny_net(seed=0, neuron="threshold", relu=False):
    """conv2d 2x4x4 -> 3x2x2 (3x3 kernel, stride 2, padding 1, shift 3, saturate to 5 bits),
    flatten, linear 12 -> 4 (shift 1, full precision), as a tn-hw-net dict."""
    rng = random.Random(seed)

    def matrix(rows, cols, lo, hi):
        return [[rng.randint(lo, hi) for _ in range(cols)] for _ in range(rows)]

    conv = {"type": "conv2d", "neuron": neuron, "in_channels": 2, "out_channels": 3,
            "kernel": [3, 3], "stride": 2, "padding": 1, "width": 6,
            "w": matrix(3, 18, -32, 31) if neuron == "threshold" else matrix(3, 18, -8, 7),
            "bias": [rng.randint(-50, 50) for _ in range(3)], "shift": 3, "out_width": 5}
    linear = {"type": "linear", "neuron": neuron, "in_features": 12, "out_features": 4,
              "width": 5, "w": matrix(4, 12, -16, 15),
              "bias": [rng.randint(-20, 20) for _ in range(4)], "shift": 1, "out_width": None}
    if neuron == "threshold":
        conv["p"] = matrix(3, 18, 0, 1)
        linear["p"] = matrix(4, 12, 0, 1)
    if neuron == "adder":
        # bias - sum |x - w| sits far below zero: centre it on the mean sum of random inputs
        # (18 * ~16 and 12 * ~10), so requantization neither saturates nor clips everything.
        conv["bias"] = [b + 300 for b in conv["bias"]]
        linear["bias"] = [b + 125 for b in linear["bias"]]
    if neuron == "sam":
        # Two weight sets over the full input range, no bias (docs/network-format.md).
        for layer, (n_out, n_in, lo, hi) in ((conv, (3, 18, -32, 31)), (linear, (4, 12, -16, 15))):
            del layer["w"], layer["bias"]
            layer["wp"], layer["wm"] = matrix(n_out, n_in, lo, hi), matrix(n_out, n_in, lo, hi)
    if relu:
        conv["activation"] = "relu"
    return {"format": "tn-hw-net", "version": 1, "name": f"tiny-{neuron}", "task": "random",
            "input": {"shape": [2, 4, 4], "width": 6, "frac_bits": 0},
            "layers": [conv, {"type": "flatten"}, linear]}


def micro_net(seed=0):
    """The smallest threshold network with every part tiny_net has: conv2d 2x3x3 -> 2x2x2 (2x2
    kernel, stride 2, padding 1 on every side, shift 2, saturate to 5 bits), flatten, linear
    8 -> 3 (shift 1, full precision): 88 cells against tiny_net's 264, for the default tier's
    network mutants and simulator agreement (a third of the elaboration and compile time)."""
    rng = random.Random(seed)

    def matrix(rows, cols, lo, hi):
        return [[rng.randint(lo, hi) for _ in range(cols)] for _ in range(rows)]

    conv = {"type": "conv2d", "neuron": "threshold", "in_channels": 2, "out_channels": 2,
            "kernel": [2, 2], "stride": 2, "padding": 1, "width": 6,
            "w": matrix(2, 8, -32, 31), "p": matrix(2, 8, 0, 1),
            "bias": [rng.randint(-30, 30) for _ in range(2)], "shift": 2, "out_width": 5}
    linear = {"type": "linear", "neuron": "threshold", "in_features": 8, "out_features": 3,
              "width": 5, "w": matrix(3, 8, -16, 15), "p": matrix(3, 8, 0, 1),
              "bias": [rng.randint(-20, 20) for _ in range(3)], "shift": 1, "out_width": None}
    return {"format": "tn-hw-net", "version": 1, "name": "micro-threshold", "task": "random",
            "input": {"shape": [2, 3, 3], "width": 6, "frac_bits": 0},
            "layers": [conv, {"type": "flatten"}, linear]}


class RoundHalfDownRequant(Requant):
    """Rounds ties toward -inf: ``(y + 2**(s-1) - 1) >> s``."""

    def elaborate(self, platform):
        m = Module()
        rounded = Signal(signed(self.in_width + 1))
        half = (1 << (self.shift - 1)) - 1 if self.shift else 0
        m.d.comb += rounded.eq((self.x + half).shift_right(self.shift))
        value = rounded
        if self.out_width is not None:
            out_lo, out_hi = self.saturation_range
            value = Mux(rounded > out_hi, out_hi, Mux(rounded < out_lo, out_lo, rounded))
        m.d.comb += self.y.eq(Mux(rounded < 0, 0, value) if self.relu else value)
        return m


class NoSaturationRequant(Requant):
    """Truncates to the output width instead of clamping (wraps around on overflow)."""

    def elaborate(self, platform):
        m = Module()
        half = (1 << (self.shift - 1)) if self.shift else 0
        rounded = Signal(signed(self.in_width + 1))
        m.d.comb += [rounded.eq((self.x + half).shift_right(self.shift)),
                     self.y.eq(rounded)]
        return m


class _RequantMutant(Network):
    requant_class = Requant

    def make_requant(self, stage, output):
        return self.requant_class(in_width=stage.spec.output_width, shift=stage.shift,
                                  out_width=stage.out_width, relu=stage.relu)


class RoundHalfDownNetwork(_RequantMutant):
    requant_class = RoundHalfDownRequant


class NoSaturationNetwork(_RequantMutant):
    requant_class = NoSaturationRequant


class ChannelsLastFlattenNetwork(Network):
    """Flattens (C, H, W) in (H, W, C) order, as a channels-last export would."""

    def flatten(self, acts, shape):
        if len(shape) != 3:
            return list(acts)
        c, h, w = shape
        return [acts[(k * h + y) * w + x] for y in range(h) for x in range(w) for k in range(c)]


class PadWithMinusOneNetwork(Network):
    """Pads with -1 (all ones) instead of 0."""

    def conv_window(self, acts, stage, oy, ox):
        window = super().conv_window(acts, stage, oy, ox)
        minus_one = Const(-1, signed(stage.spec.width))
        return [minus_one if isinstance(v, Const) else v for v in window]


class PadOneSideNetwork(Network):
    """Puts all the padding after the image (windows start at row/column 0, not -padding)."""

    def conv_window(self, acts, stage, oy, ox):
        c_in, height, width = stage.in_shape
        kh, kw = stage.spec.kernel
        zero = Const(0, signed(stage.spec.width))
        window = []
        for c in range(c_in):
            for r in range(kh):
                for k in range(kw):
                    iy, ix = oy * stage.stride + r, ox * stage.stride + k
                    inside = iy < height and ix < width
                    window.append(acts[(c * height + iy) * width + ix] if inside else zero)
        return window


#: name -> Network subclass with the planted bug
NET_MUTANTS = {
    "round-half-down": RoundHalfDownNetwork,
    "no-saturation": NoSaturationNetwork,
    "channels-last-flatten": ChannelsLastFlattenNetwork,
    "pad-with-minus-one": PadWithMinusOneNetwork,
    "pad-one-side": PadOneSideNetwork,
}


# -- the clocked network (hdl/network_stream.py) ---------------------------------------------


class SkippedStage(PipelinedNetwork):
    """The register after layer 1 bypassed: the data arrive one cycle before their valid bit
    (the manifest still says one stage per layer)."""

    def stage_output(self, m, stage, acts):
        if stage.index == 1:
            return acts
        return super().stage_output(m, stage, acts)


class UnregisteredStages(PipelinedNetwork):
    """No register after any layer (every stage skipped) while the latency still counts one
    per layer: the formal check of a one-layer stage (tn_hw.testbench.net_equiv) must refute
    it."""

    def stage_output(self, m, stage, acts):
        # A register nobody reads keeps clk and rst among the ports, as the manifest says.
        idle = Signal(name=f"l{stage.index}_idle")
        m.d.sync += idle.eq(~idle)
        return acts


class DoubleRegisteredStages(PipelinedNetwork):
    """Two registers after every layer, the latency still one per layer: the data arrive a
    cycle after their valid bit would (a stale stage)."""

    def stage_output(self, m, stage, acts):
        first = super().stage_output(m, stage, acts)
        regs = []
        for j, value in enumerate(first):
            reg = Signal(value.shape(), name=f"l{stage.index}_again{j}", reset_less=True)
            m.d.sync += reg.eq(value)
            regs.append(reg)
        return regs


class SkippedStageStream(NetworkStream):
    def make_core(self, net, mode):
        return SkippedStage(net, mode=mode)


class ValidWithoutReset(NetworkStream):
    """The valid bits keep their value through ``rst``: beats in flight at a reset come out
    after it (stale valid)."""

    def control(self, m, advance):
        valid = Signal(self.latency, reset_less=True)
        m.d.comb += [advance.eq(~valid[-1] | self.y.ready), self.x.ready.eq(advance),
                     self.y.valid.eq(valid[-1])]
        with m.If(advance):
            m.d.sync += valid.eq(Cat(self.x.valid, valid[:-1]))


class ValidIgnoresStall(NetworkStream):
    """The valid bits shift every cycle while the data registers hold on a stall."""

    def control(self, m, advance):
        valid = Signal(self.latency)
        m.d.comb += [advance.eq(~valid[-1] | self.y.ready), self.x.ready.eq(advance),
                     self.y.valid.eq(valid[-1])]
        m.d.sync += valid.eq(Cat(self.x.valid & advance, valid[:-1]))


#: name -> clocked core with a planted bug in its register stages; the per-layer formal check
#: must refute each (tests/testbench/test_network_equiv.py).
STAGE_MUTANTS = {"unregistered": UnregisteredStages, "double_registered": DoubleRegisteredStages}

#: name -> NetworkStream subclass (reuse 1) with a planted bug; each must fail the stream
#: regression (tests/testbench/test_clocked_network.py).
CLOCKED_MUTANTS = {"skipped_stage": SkippedStageStream, "valid_without_reset": ValidWithoutReset,
                   "valid_ignores_stall": ValidIgnoresStall}


# -- the folded network (--reuse) --------------------------------------------------------------


class WrongSelectNetwork(FoldedNetwork):
    """In phase 1 of the first layer, kernel 0 computes output ``o + 1`` instead of ``o``
    (a neuron select one off on one cycle): that output's weights land on its neighbour."""

    def fold_output(self, stage, phase, kernel):
        o = super().fold_output(stage, phase, kernel)
        first = next(s.index for s in self.stages if s.has_parameters)
        if stage.index == first and phase == 1 and kernel == 0 and o + 1 < stage.spec.outputs:
            return o + 1
        return o


class WrongSelectStream(NetworkStream):
    def make_core(self, net, mode):
        return WrongSelectNetwork(net, mode=mode, reuse=self.reuse)


class ValidKeptOnTake(NetworkStream):
    """The last valid bit clears only at a commit, not when ``y`` is taken between commits:
    a beat taken early in a round is offered again (a stale valid)."""

    def fold_control(self, m):
        self.control_state = _fold_control_without_take_clear(
            m, self.reuse, self.layers, self.x, self.y, self.core.phase, self.core.load)


def _fold_control_without_take_clear(m, reuse, layers, x, y, phase, load):
    """:func:`tn_hw.hdl.network_stream.fold_control` without ``valid[-1]`` clearing when
    ``y`` is taken between commits."""
    count = Signal(range(reuse), name="round_phase")
    take = Signal()
    valid = Signal(layers)
    active = Signal()
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
        m.d.sync += [take.eq(0), valid.eq(Cat(x.valid & take, valid[:-1]))]
    return {"count": count, "take": take, "valid": valid, "active": active}


#: name -> NetworkStream subclass for reuse > 1 with a planted bug; each must fail the stream
#: regression (tests/testbench/test_network_reuse.py).
FOLDED_MUTANTS = {"wrong_select": WrongSelectStream, "valid_kept_on_take": ValidKeptOnTake}


# -- Sum-and-Max networks (docs/network-format.md, "neuron": "sam") ------------------------------


def tiny_sam_net(seed=0):
    """The smallest SAM network that shows the planted SAM bugs: linear 4 -> 3 (shift 1,
    saturate to 5 bits), linear 3 -> 2 (full precision), 5-bit inputs, as a tn-hw-net dict."""
    rng = random.Random(seed)

    def matrix(rows, cols, lo, hi):
        return [[rng.randint(lo, hi) for _ in range(cols)] for _ in range(rows)]

    first = {"type": "linear", "neuron": "sam", "in_features": 4, "out_features": 3, "width": 5,
             "wp": matrix(3, 4, -16, 15), "wm": matrix(3, 4, -16, 15), "shift": 1,
             "out_width": 5}
    second = {"type": "linear", "neuron": "sam", "in_features": 3, "out_features": 2,
              "width": 5, "wp": matrix(2, 3, -16, 15), "wm": matrix(2, 3, -16, 15), "shift": 0,
              "out_width": None}
    return {"format": "tn-hw-net", "version": 1, "name": "tiny-sam2", "task": "random",
            "input": {"shape": [4], "width": 5, "frac_bits": 0}, "layers": [first, second]}


class SwappedMaxMinLayer(SamLayer):
    """A SAM layer whose kernels take the min of the ``W+`` sums and the max of the ``W-``
    sums (max swapped for min)."""

    kernel_class = SwappedMaxMinKernel


class SwappedMaxMinNetwork(Network):
    """Every SAM layer built with max and min swapped."""

    def make_layer(self, stage, spec):
        return SwappedMaxMinLayer(spec) if spec.neuron == "sam" else super().make_layer(stage,
                                                                                        spec)


def _swap_weight_sets(params):
    """``W+`` driven into the min side and ``W-`` into the max side."""
    if "wp" in params:
        params = dict(params, wp=params["wm"], wm=params["wp"])
    return params


class SwappedWeightSetsNetwork(Network):
    """``W-`` wired to the max side and ``W+`` to the min side (the two weight sets of the
    file confused)."""

    def stage_parameters(self, stage):
        return _swap_weight_sets(super().stage_parameters(stage))


class SwappedWeightSetsPipelined(PipelinedNetwork):
    def stage_parameters(self, stage):
        return _swap_weight_sets(super().stage_parameters(stage))


class SwappedWeightSetsFolded(FoldedNetwork):
    def stage_parameters(self, stage):
        return _swap_weight_sets(super().stage_parameters(stage))


class SwappedWeightSetsStream(NetworkStream):
    def make_core(self, net, mode):
        if self.reuse > 1:
            return SwappedWeightSetsFolded(net, mode=mode, reuse=self.reuse)
        return SwappedWeightSetsPipelined(net, mode=mode)


#: name -> combinational Network subclass with a SAM-specific planted bug; each must fail the
#: network regression (tests/testbench/test_network_sam.py).
SAM_NET_MUTANTS = {"swapped_max_min": SwappedMaxMinNetwork,
                   "swapped_weight_sets": SwappedWeightSetsNetwork}
