"""Small hand-written networks and planted bugs for the network hardware tests.

The networks are tiny on purpose (hundreds of cells, seconds to simulate) but exercise every
part of the hardware a real model uses: a strided, zero-padded convolution over two channels,
requantization with ties and saturation, flatten, and a full-precision last layer. Each mutant
keeps the ports of the real design and is wrong in one way real RTL goes wrong.
"""

import random

from amaranth.hdl import Const, Module, Mux, Signal, signed

from tn_hw.hdl.network import Network
from tn_hw.hdl.requant import Requant

__all__ = ["NET_MUTANTS", "NoSaturationRequant", "RoundHalfDownRequant", "tiny_net"]


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
    if relu:
        conv["activation"] = "relu"
    return {"format": "tn-hw-net", "version": 1, "name": f"tiny-{neuron}", "task": "random",
            "input": {"shape": [2, 4, 4], "width": 6, "frac_bits": 0},
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
