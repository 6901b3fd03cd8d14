"""A streaming convolution layer: line buffers, a window, and folded kernels."""

import dataclasses

from amaranth.hdl import Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..conv import ConvSpec
from .kernel import Kernel

__all__ = ["ConvLayer"]


class ConvLayer(wiring.Component):
    """A convolution layer over a feature map streamed one pixel (all channels) per beat.

    The layer walks the padded raster ``(H + 2P) x (W + 2P)`` with two counters. At a padding
    position it shifts a zero pixel into the window on its own; at an interior position it takes
    the next input beat. Each pixel shifts through a ``kh x kw`` window of registers and
    ``kh - 1`` line buffers of :attr:`ConvSpec.line_length` pixels, so that the window always
    holds the ``kh x kw`` padded pixels ending at the newest one. When the newest pixel
    completes a window on the stride grid, ``ceil(C_out / R)`` combinational
    :class:`~tn_hw.hdl.kernel.Kernel` instances compute the window's C_out outputs in ``R``
    phases (output ``o = phase * instances + g`` in kernel ``g``); the last phase loads all
    C_out outputs into the output register. The window holds still during the phases, so the
    input stalls for ``R - 1`` cycles after each pixel that completes a window.

    Frames follow back to back: the counters wrap at the end of the padded raster, and a window
    only counts when it lies inside the current frame, so no flush is needed. A synchronous
    reset clears the counters, the folding phase and the output valid; the line buffers and
    window keep stale pixels that no output reads, and the next input beat is the first pixel
    of a new frame.

    Parameters
    ----------
    spec : ConvSpec

    Attributes
    ----------
    i : In(stream.Signature(ArrayLayout(signed(W), C_in)))
        Input pixels in raster order.
    o : Out(stream.Signature(ArrayLayout(signed(spec.kernel.output_width), C_out)))
        Output pixels in raster order: the raw kernel outputs ``bias + sum``, as
        :class:`~tn_hw.hdl.layer.Layer` computes them.
    w : In(signed(W)).array(C_out, N)
        ``w[o][i]``: threshold or weight of kernel input ``i`` in output ``o``.
    p : In(1).array(C_out, N)
        Polarities, threshold neuron only.
    bias : In(signed(bias_width)).array(C_out)
    """

    kernel_class = Kernel

    def __init__(self, spec):
        if not isinstance(spec, ConvSpec):
            raise TypeError(f"spec must be a ConvSpec, not {spec!r}")
        self._spec = spec
        k = spec.kernel
        n, outputs, width = k.n_inputs, k.outputs, k.width
        members = {
            "i": In(stream.Signature(data.ArrayLayout(signed(width), k.channels))),
            "o": Out(stream.Signature(data.ArrayLayout(signed(k.output_width), outputs))),
            "w": In(signed(width)).array(outputs, n),
        }
        if k.family.has_polarity:
            members["p"] = In(1).array(outputs, n)
        members["bias"] = In(signed(k.bias_width)).array(outputs)
        super().__init__(members)

    @property
    def spec(self):
        return self._spec

    # Hooks the mutation tests override to plant the bugs real line buffers have.

    def line_length(self):
        """Pixels per line buffer."""
        return self._spec.line_length

    def on_grid(self, position, side):
        """Whether a window whose newest pixel sits at ``position`` (row or column of the
        padded raster) is complete and on the stride grid."""
        complete = position >= side - 1
        if self._spec.stride == 1:
            return complete
        # (position - (side - 1)) even; the sum has the same parity and at least one bit.
        return complete & ~(position + (side - 1) + 2)[0]

    def padding_pixel(self, m, pixel_width):
        """The value shifted in at a padding position."""
        return Const(0, pixel_width)

    def position_counters(self, height, width):
        """Row and column counters of the padded raster (cleared by reset)."""
        return Signal(range(height), name="row"), Signal(range(width), name="col")

    def output_free(self):
        """Whether the output register may load this cycle."""
        return ~self.o.valid | self.o.ready

    def elaborate(self, platform):
        m = Module()
        spec, k = self._spec, self._spec.kernel
        (kh, kw), (h, w), pad = k.kernel, spec.image, spec.padding
        hp, wp = spec.padded_image
        reuse, groups = spec.reuse, spec.instances
        pixel_width = k.channels * k.width

        # -- where in the padded raster the next pixel belongs ----------------------------------
        row, col = self.position_counters(hp, wp)
        interior = Signal()
        m.d.comb += interior.eq((row >= pad) & (row < pad + h) & (col >= pad) & (col < pad + w))
        pixel = Signal(pixel_width)
        m.d.comb += pixel.eq(Mux(interior, self.i.payload.as_value(),
                                 self.padding_pixel(m, pixel_width)))

        # -- handshake --------------------------------------------------------------------------
        busy = Signal()            # the window is on the grid and its outputs are not all out
        phase = Signal(range(reuse))
        last_phase = (phase == reuse - 1) if reuse > 1 else Const(1)
        fire = Signal()            # last phase: all C_out outputs go to the output register
        shift = Signal()           # the pixel enters the window
        m.d.comb += [
            fire.eq(busy & last_phase & self.output_free()),
            shift.eq((~busy | fire) & (~interior | self.i.valid)),
            self.i.ready.eq((~busy | fire) & interior),
        ]

        with m.If(busy & ~last_phase):
            m.d.sync += phase.eq(phase + 1)
        with m.If(fire):
            m.d.sync += busy.eq(0)
        with m.If(shift):
            m.d.sync += [
                busy.eq(self.on_grid(row, kh) & self.on_grid(col, kw)),
                phase.eq(0),
                col.eq(Mux(col == wp - 1, 0, col + 1)),
            ]
            with m.If(col == wp - 1):
                m.d.sync += row.eq(Mux(row == hp - 1, 0, row + 1))

        # -- window and line buffers (no reset: a stale pixel is never read) --------------------
        window = [[Signal(pixel_width, name=f"win{r}_{c}", reset_less=True) for c in range(kw)]
                  for r in range(kh)]
        length = self.line_length()
        for r in range(kh):
            for c in range(kw - 1):
                with m.If(shift):
                    m.d.sync += window[r][c].eq(window[r][c + 1])
            if r == kh - 1:
                entering = pixel
            else:
                line = [Signal(pixel_width, name=f"line{r}_{j}", reset_less=True)
                        for j in range(length)]
                feed = window[r + 1][0]
                with m.If(shift):
                    for j, stage in enumerate(line):
                        m.d.sync += stage.eq(line[j + 1] if j + 1 < length else feed)
                entering = line[0] if line else feed
            with m.If(shift):
                m.d.sync += window[r][kw - 1].eq(entering)

        # -- folded kernels ---------------------------------------------------------------------
        kernel_spec = dataclasses.replace(k, outputs=1)
        x = [window[r][c][ch * k.width:(ch + 1) * k.width]
             for ch in range(k.channels) for r in range(kh) for c in range(kw)]
        kernels = []
        for g in range(groups):
            kernel = m.submodules[f"kernel{g}"] = self.kernel_class(kernel_spec)
            kernels.append(kernel)
            for i in range(k.n_inputs):
                m.d.comb += kernel.x[i].eq(x[i])
            with m.Switch(phase):
                for j in range(reuse):
                    o = j * groups + g
                    if o >= k.outputs:
                        continue  # the last phase may leave a kernel idle
                    with m.Case(j):
                        m.d.comb += kernel.bias.eq(self.bias[o])
                        for i in range(k.n_inputs):
                            m.d.comb += kernel.w[i].eq(self.w[o][i])
                            if kernel.has_polarity:
                                m.d.comb += kernel.p[i].eq(self.p[o][i])

        # Outputs of the phases before the last wait here; the last phase goes straight out.
        last = (reuse - 1) * groups
        held = [Signal(signed(k.output_width), name=f"held{o}", reset_less=True)
                for o in range(last)]
        for o, reg in enumerate(held):
            with m.If(busy & (phase == o // groups)):
                m.d.sync += reg.eq(kernels[o % groups].y)

        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(fire):
            m.d.sync += self.o.valid.eq(1)
            for o in range(k.outputs):
                value = held[o] if o < last else kernels[o - last].y
                m.d.sync += self.o.payload[o].eq(value)
        return m
