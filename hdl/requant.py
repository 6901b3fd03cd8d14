"""Requantization between layers: arithmetic shift right, round half up, saturate.

The rule (docs/semantics.md, and ``requantize`` in the golden model) for a shift ``s > 0`` is
``q = saturate((y + 2**(s-1)) >> s)``; for ``s == 0`` it is ``q = saturate(y)``. Saturation clamps
to the signed ``out_width`` range; ``out_width=None`` (the last layer) keeps full precision.
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..spec import MAX_WIDTH, MIN_WIDTH, SpecError, signed_width

__all__ = ["MAX_IN_WIDTH", "MAX_SHIFT", "Requant", "requant_width"]

#: Widest accumulator a requantization stage accepts (a layer's output width stays far below).
MAX_IN_WIDTH = 128
#: Largest shift; any shift at or beyond the input width already gives 0 or -1.
MAX_SHIFT = 128


def _check(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise SpecError(f"{name} must be an integer from {lo} to {hi}, not {value!r}")
    return value


def _rounded_range(in_width, shift):
    # Python's >> floors, as the hardware's arithmetic shift does.
    half = (1 << (shift - 1)) if shift else 0
    lo, hi = -(1 << (in_width - 1)), (1 << (in_width - 1)) - 1
    return (lo + half) >> shift, (hi + half) >> shift


def requant_width(*, in_width, shift, out_width=None) -> int:
    """Signed width of a requantization stage's output (:attr:`Requant.output_width`) without
    building the stage; parameters as for :class:`Requant`."""
    _check("requantization input width", in_width, 2, MAX_IN_WIDTH)
    _check("shift", shift, 0, MAX_SHIFT)
    if out_width is not None:
        return _check("output width", out_width, MIN_WIDTH, MAX_WIDTH)
    return signed_width(*_rounded_range(in_width, shift))


class Requant(wiring.Component):
    """Scale a layer output down by ``2**shift`` (round half up) and saturate it.

    Adding half and flooring equals flooring and then adding the last bit shifted out:
    ``(y + 2**(s-1)) >> s == (y >> s) + y[s-1]`` in two's complement, so the stage is an
    incrementer of ``in_width - shift`` bits with the dropped bit as carry-in, not a full adder.
    The saturation compares are built only when the rounded range can leave the output range.

    Parameters
    ----------
    in_width : int
        Signed width of the input ``x`` (a layer's accumulator), 2 to :data:`MAX_IN_WIDTH`.
    shift : int
        Right shift ``s``, 0 to :data:`MAX_SHIFT`.
    out_width : int or None
        Signed width to saturate to, 2 to 32; ``None`` keeps the full rounded range.
    relu : bool
        Clamp negative results to 0 after saturation (the ``"activation": "relu"`` of a
        conventional MAC layer; threshold networks need none): one sign-bit mux.

    Attributes
    ----------
    x : In(signed(in_width))
    y : Out(signed(output_width))

    Raises
    ------
    SpecError
        If a parameter is out of range.
    """

    def __init__(self, *, in_width, shift, out_width=None, relu=False):
        width = requant_width(in_width=in_width, shift=shift, out_width=out_width)
        self._in_width, self._shift, self._out_width = in_width, shift, out_width
        self._output_width = width
        self._relu = bool(relu)
        super().__init__({
            "x": In(signed(in_width)),
            "y": Out(signed(self.output_width)),
        })

    @property
    def in_width(self):
        return self._in_width

    @property
    def shift(self):
        return self._shift

    @property
    def out_width(self):
        """Saturation width, or ``None`` for full precision."""
        return self._out_width

    @property
    def relu(self):
        return self._relu

    @property
    def input_range(self):
        return -(1 << (self._in_width - 1)), (1 << (self._in_width - 1)) - 1

    @property
    def rounded_range(self):
        """Range of ``(x + 2**(s-1)) >> s`` over every input (Python's ``>>`` floors too)."""
        return _rounded_range(self._in_width, self._shift)

    @property
    def saturation_range(self):
        """``[-2**(ow-1), 2**(ow-1) - 1]``, or ``None`` without saturation."""
        if self._out_width is None:
            return None
        return -(1 << (self._out_width - 1)), (1 << (self._out_width - 1)) - 1

    @property
    def output_width(self):
        """``out_width``, or the width of :attr:`rounded_range` without saturation."""
        return self._output_width

    def elaborate(self, platform):
        m = Module()
        shift = self._shift
        lo, hi = self.rounded_range
        rounded = Signal(signed(signed_width(lo, hi)), name="rounded")
        if shift == 0:
            m.d.comb += rounded.eq(self.x)
        else:
            # The bit just below the cut is worth exactly half an output step: adding it rounds
            # ties (and everything above them) up, toward +inf. Beyond the input width the
            # dropped bit is a copy of the sign bit.
            dropped = self.x[min(shift, self._in_width) - 1]
            m.d.comb += rounded.eq(self.x.shift_right(shift) + dropped)
        value = rounded
        if self._out_width is not None:
            out_lo, out_hi = self.saturation_range
            if hi > out_hi:
                value = Mux(value > out_hi, out_hi, value)
            if lo < out_lo:
                value = Mux(rounded < out_lo, out_lo, value)
        if self._relu:
            value = Mux(rounded < 0, 0, value)
        m.d.comb += self.y.eq(value)
        return m
