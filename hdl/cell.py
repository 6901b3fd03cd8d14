"""The threshold-neuron cell: one compare-and-subtract with a polarity port."""

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..spec import MAX_WIDTH, MIN_WIDTH, SpecError

__all__ = ["ThresholdCell", "check_width"]


def check_width(width):
    """Validate an input width; raise :class:`~tn_hw.spec.SpecError` with the user's wording."""
    if isinstance(width, bool) or not isinstance(width, int) or not MIN_WIDTH <= width <= MAX_WIDTH:
        raise SpecError(f"width must be an integer from {MIN_WIDTH} to {MAX_WIDTH}, not {width!r}")
    return width


class ThresholdCell(wiring.Component):
    """One threshold neuron input: ``y = +-(x - w)`` if ``x > w``, else 0.

    ``x - w`` is computed once, ``W + 1`` bits wide so that it cannot overflow. Its sign bit is
    the comparison: the difference is positive exactly when ``x > w``, and when ``x == w`` it is
    zero, so masking it with the sign bit alone gives formula (2) of the paper, tie included.
    No separate comparator is built.

    Besides the exact contribution ``y``, the cell offers ``c``, the same contribution in one's
    complement: ``r`` when ``p == 0`` and ``~r = -r - 1`` when ``p == 1``, so ``y = c + p``. A
    kernel sums the ``c`` of its cells and adds the count of inhibitory cells once, instead of
    building a negator per cell (:class:`~tn_hw.hdl.kernel.Kernel`). Synthesis removes whichever
    of ``y`` and ``c`` the design leaves unconnected.

    Parameters
    ----------
    width : int
        Width ``W`` of ``x`` and ``w``, signed, 2 to 32.

    Attributes
    ----------
    x : In(signed(W))
        Input activation.
    w : In(signed(W))
        Threshold.
    p : In(1)
        Polarity: 0 is excitatory (``+r``), 1 is inhibitory (``-r``).
    y : Out(signed(W + 1))
        Signed contribution, in ``[-(2**W - 1), 2**W - 1]``.
    r : Out(unsigned(W))
        Magnitude before polarity, ``max(x - w, 0)``, in ``[0, 2**W - 1]``.
    c : Out(signed(W + 1))
        One's-complement contribution ``y - p``: ``r`` ``^`` ``p`` replicated, sign bit ``p``.
    """

    def __init__(self, *, width):
        self._width = check_width(width)
        super().__init__({
            "x": In(signed(width)),
            "w": In(signed(width)),
            "p": In(1),
            "y": Out(signed(width + 1)),
            "r": Out(unsigned(width)),
            "c": Out(signed(width + 1)),
        })

    @property
    def width(self):
        return self._width

    def elaborate(self, platform):
        m = Module()
        width = self._width
        diff = Signal(signed(width + 1))  # W + 1 bits: never overflows
        m.d.comb += [
            diff.eq(self.x - self.w),
            self.r.eq(Mux(diff[-1], 0, diff[:width])),
            self.y.eq(Mux(self.p, -self.r, self.r)),
            self.c.eq(Cat(self.r ^ self.p.replicate(width), self.p)),
        ]
        return m
