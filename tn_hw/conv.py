"""Streaming convolution layers: parameters and derived figures.

A :class:`ConvSpec` names one streaming convolution layer (the hardware is
:class:`tn_hw.hdl.conv.ConvLayer`, emitted by :func:`tn_hw.generate.generate_conv`; the prose
is the "Streaming convolution" section of docs/semantics.md). Like
:class:`~tn_hw.spec.KernelSpec` it is pure Python, so the hardware, the golden model, the
testbench and the manifest read the same derived figures (output image, kernel instances,
cycles per frame, latency) from one object.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from . import neurons
from .spec import KernelSpec, SpecError

__all__ = [
    "CONV_NEURONS",
    "conv_neurons",
    "MAX_IMAGE_SIDE",
    "ConvSpec",
    "parse_image",
]

def conv_neurons() -> tuple[str, ...]:
    """Neuron families a convolution layer can be built from (their registry entries say
    ``conv``: the golden conv knows them)."""
    return tuple(name for name in neurons.names() if neurons.get(name).conv)


#: The built-in families a convolution layer can be built from (:func:`conv_neurons`).
CONV_NEURONS = conv_neurons()
MAX_IMAGE_SIDE = 1024
STRIDES = (1, 2)

_IMAGE_RE = re.compile(r"^\s*(\d+)\s*[xX*]\s*(\d+)\s*$|^\s*(\d+)\s*$")


def parse_image(text: str) -> tuple[int, int]:
    """Parse ``"8x8"`` (or ``"8"``) into ``(height, width)``.

    Raises
    ------
    SpecError
        If the text is not of the form ``HxW`` with sides from 1 to :data:`MAX_IMAGE_SIDE`.
    """
    match = _IMAGE_RE.match(str(text))
    if not match:
        raise SpecError(f"image must look like 8x8 (height x width), not {text!r}")
    # A side of more than 4300 digits is a ValueError for int(); no side that long is legal.
    if any(len(group) > 9 for group in match.groups() if group):
        h = w = 0
    elif match.group(3) is not None:
        h = w = int(match.group(3))
    else:
        h, w = int(match.group(1)), int(match.group(2))
    if not (1 <= h <= MAX_IMAGE_SIDE and 1 <= w <= MAX_IMAGE_SIDE):
        raise SpecError(f"image sides must be integers from 1 to {MAX_IMAGE_SIDE}, not {text!r}")
    return h, w


def _check_int(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise SpecError(f"{name} must be an integer from {lo} to {hi}, not {value!r}")
    return value


@dataclass(frozen=True)
class ConvSpec:
    """One streaming convolution layer ``H x W x C_in -> H_out x W_out x C_out``.

    Parameters
    ----------
    kernel : KernelSpec
        The kernel of one output position: ``neuron`` (threshold or mac), ``kernel`` (kh, kw),
        ``channels`` (C_in), ``outputs`` (C_out), ``width``, ``bias_width``. Input ``i`` of a
        kernel is ``(c * kh + r) * kw + k``, as everywhere in tn-hw.
    image : tuple of int
        ``(H, W)`` of the input feature map, each at least the kernel side.
    stride : int
        1 or 2 (stride 2 stands in for pooling, paper section 3.3.3).
    padding : int
        Zero rows/columns added on every side, from 0 to ``min(kh, kw) - 1``.
    reuse : int
        Reuse factor ``R`` from 1 to C_out: ``ceil(C_out / R)`` kernel instances compute the C_out
        outputs of a pixel in ``R`` cycles.

    Raises
    ------
    SpecError
        If a parameter is out of range.
    """

    kernel: KernelSpec
    image: tuple[int, int] = (8, 8)
    stride: int = 1
    padding: int = 0
    reuse: int = 1

    def __post_init__(self):
        spec = self.kernel
        if not isinstance(spec, KernelSpec):
            raise SpecError(f"kernel must be a KernelSpec, not {spec!r}")
        if spec.neuron not in conv_neurons():
            raise SpecError(f"a convolution layer is built from the {' or '.join(conv_neurons())} "
                            f"neuron, not {spec.neuron!r}")
        if spec.stages:
            # The layer registers its window and output itself around combinational kernels.
            raise SpecError(f"a convolution layer is built from combinational kernels: leave "
                            f"stages at 0, not {spec.stages}")
        if not isinstance(self.image, tuple) or len(self.image) != 2:
            raise SpecError(f"image must be a (height, width) tuple, not {self.image!r}")
        for side in self.image:
            _check_int("image sides", side, 1, MAX_IMAGE_SIDE)
        (kh, kw), (h, w) = spec.kernel, self.image
        if h < kh or w < kw:
            raise SpecError(f"image {h}x{w} is smaller than the kernel {spec.kernel_text}")
        if self.stride not in STRIDES or isinstance(self.stride, bool):
            raise SpecError(f"stride must be 1 or 2, not {self.stride!r}")
        _check_int("padding", self.padding, 0, min(kh, kw) - 1)
        _check_int("reuse", self.reuse, 1, spec.outputs)
        phases = math.ceil(spec.outputs / self.instances)
        if phases != self.reuse:
            # e.g. 4 outputs, reuse 3: 2 kernels finish in 2 cycles; a third would idle.
            raise SpecError(f"reuse {self.reuse} with {spec.outputs} outputs needs "
                            f"{self.instances} kernels, which finish in {phases} cycles: "
                            f"use reuse {phases}")

    @classmethod
    def from_description(cls, params: dict) -> ConvSpec:
        """Rebuild a spec from :meth:`describe` output (a manifest's ``parameters``)."""
        return cls(kernel=KernelSpec.from_description(params), image=tuple(params["image"]),
                   stride=params["stride"], padding=params["padding"], reuse=params["reuse"])

    # -- derived figures ---------------------------------------------------------------------

    @property
    def neuron(self) -> str:
        return self.kernel.neuron

    @property
    def padded_image(self) -> tuple[int, int]:
        """``(H + 2P, W + 2P)``: the raster the layer walks, padding included."""
        return self.image[0] + 2 * self.padding, self.image[1] + 2 * self.padding

    @property
    def out_image(self) -> tuple[int, int]:
        """``(H_out, W_out) = ((H + 2P - kh) // s + 1, (W + 2P - kw) // s + 1)``."""
        (hp, wp), (kh, kw), s = self.padded_image, self.kernel.kernel, self.stride
        return (hp - kh) // s + 1, (wp - kw) // s + 1

    @property
    def instances(self) -> int:
        """Kernel instances in the hardware: ``ceil(C_out / R)``."""
        return math.ceil(self.kernel.outputs / self.reuse)

    @property
    def line_length(self) -> int:
        """Pixels in each of the ``kh - 1`` line buffers: ``W + 2P - kw`` (the window holds the
        other ``kw`` pixels of a padded row)."""
        return self.padded_image[1] - self.kernel.kernel[1]

    @property
    def cycles_per_frame(self) -> int:
        """Clock cycles per frame at full rate (input always valid, output always ready).

        Every padded pixel takes one cycle; a pixel that completes an output window holds the
        window for ``R`` cycles: ``(H + 2P) (W + 2P) + (R - 1) H_out W_out``.
        """
        (hp, wp), (ho, wo) = self.padded_image, self.out_image
        return hp * wp + (self.reuse - 1) * ho * wo

    @property
    def pixels_per_cycle(self) -> float:
        """Input pixels accepted per cycle at full rate: ``H W / cycles_per_frame``."""
        return self.image[0] * self.image[1] / self.cycles_per_frame

    @property
    def latency(self) -> int:
        """Cycles from the beat that completes a window (input or padding) to its output being
        valid: ``R + 1`` (one cycle into the window registers, ``R`` folding phases, the last one
        loading the output register)."""
        return self.reuse + 1

    @property
    def top_name(self) -> str:
        """Verilog name of the top module, unique per parameter set."""
        k = self.kernel
        name = f"tn_conv_{k.neuron}_k{k.kernel_text}x{k.channels}_o{k.outputs}_w{k.width}"
        if k.bias_width != k.sum_width:
            name += f"_b{k.bias_width}"
        return name + (f"_i{self.image[0]}x{self.image[1]}_s{self.stride}_p{self.padding}"
                       f"_r{self.reuse}")

    def describe(self) -> dict:
        """Parameters and derived figures as plain data (for manifests and reports)."""
        return self.kernel.describe() | {
            "image": list(self.image),
            "stride": self.stride,
            "padding": self.padding,
            "reuse": self.reuse,
            "padded_image": list(self.padded_image),
            "out_image": list(self.out_image),
            "instances": self.instances,
            "line_buffers": self.kernel.kernel[0] - 1,
            "line_length": self.line_length,
            "cycles_per_frame": self.cycles_per_frame,
            "pixels_per_cycle": round(self.pixels_per_cycle, 6),
            "latency": self.latency,
        }
