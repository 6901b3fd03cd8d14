"""The multiply-accumulate baseline cell."""

from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .cell import check_width

__all__ = ["MacCell"]


class MacCell(wiring.Component):
    """One multiply-accumulate input: ``y = x * w``, full precision.

    The product is written as a plain ``*`` so that synthesis is free to pick its best multiplier
    (Yosys ``synth -booth`` builds a Booth-encoded one); a hand-built multiplier here would tie
    the baseline to our choice of architecture.

    Parameters
    ----------
    width : int
        Width ``W`` of ``x`` and ``w``, signed, 2 to 32.

    Attributes
    ----------
    x : In(signed(W))
        Input activation.
    w : In(signed(W))
        Weight.
    y : Out(signed(2 * W))
        Product; ``2 * W`` bits hold every product, ``(-2**(W-1))**2`` included.
    """

    def __init__(self, *, width):
        self._width = check_width(width)
        super().__init__({
            "x": In(signed(width)),
            "w": In(signed(width)),
            "y": Out(signed(2 * width)),
        })

    @property
    def width(self):
        return self._width

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.y.eq(self.x * self.w)
        return m
