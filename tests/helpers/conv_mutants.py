"""Planted bugs in the streaming conv layer, the way line buffers and stream logic go wrong.

Each mutant keeps the ports of :class:`~tn_hw.hdl.conv.ConvLayer` and overrides one of its hooks,
so the conv regression runs on it unchanged and must fail.
"""

from amaranth.hdl import Signal

from tn_hw.hdl.conv import ConvLayer

__all__ = ["CONV_MUTANTS"]


class LongLineBuffer(ConvLayer):
    """Each line buffer one pixel too long: rows of the window slide apart."""

    def line_length(self):
        return self.spec.line_length + 1


class ShortLineBuffer(ConvLayer):
    """Each line buffer one pixel too short."""

    def line_length(self):
        return self.spec.line_length - 1


class WrongStridePhase(ConvLayer):
    """Stride 2 keeps the windows of the other parity (starts one pixel late)."""

    def on_grid(self, position, side):
        return (position >= side - 1) & (position[0] == (side & 1))


class StalePadding(ConvLayer):
    """Padding repeats the last input pixel instead of shifting in zeros."""

    def padding_pixel(self, m, pixel_width):
        last = Signal(pixel_width, name="last_pixel")
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += last.eq(self.i.payload.as_value())
        return last


class OverwritesUnderBackpressure(ConvLayer):
    """Loads the next output pixel even when the last one was not taken."""

    def output_free(self):
        return 1


class ResetKeepsPosition(ConvLayer):
    """Reset clears the handshake state but not the raster counters."""

    def position_counters(self, height, width):
        return (Signal(range(height), name="row", reset_less=True),
                Signal(range(width), name="col", reset_less=True))


#: name -> (mutant class, ConvSpec keyword overrides that expose it, the test that must fail)
CONV_MUTANTS = {
    "line-buffer-long": (LongLineBuffer, {}, "full_rate"),
    "line-buffer-short": (ShortLineBuffer, {}, "full_rate"),
    "stride-phase": (WrongStridePhase, {"stride": 2}, "full_rate"),
    "padding-stale": (StalePadding, {"padding": 1}, "full_rate"),
    "overwrite-under-backpressure": (OverwritesUnderBackpressure, {}, "backpressure"),
    "reset-keeps-position": (ResetKeepsPosition, {}, "reset_mid_frame"),
}
