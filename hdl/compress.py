"""Carry-save compressor trees: many operands summed by full and half adders, one final adder.

A :class:`BitMatrix` collects the operands of a sum as bit columns (column ``k`` holds the bits
of weight ``2**k``) plus one integer constant, all modulo ``2**width``: the caller picks a
``width`` that holds the exact sum, so the modular sum is the exact one. Signed operands go in
with the sign-extension trick: a ``k``-bit two's-complement value ``v`` equals its bits with the
sign bit inverted, read unsigned, minus ``2**(k - 1)``; the inverted sign bit goes into its
column and the ``-2**(k - 1)`` into the constant, so no column holds a replicated sign bit.
:meth:`BitMatrix.reduce` adds the constant's set bits as ``1`` bits, reduces the columns to
height two with Dadda's schedule (heights 2, 3, 4, 6, 9, 13, ... each stage reduces to the
next lower one, using the fewest adders), and adds the two rows in one carry-propagate adder.

The 3:2 full adders and 2:2 half adders are written as bitwise XOR and majority on named
one-bit signals (``<name>_l<level>_k<column>_fa<j>_s`` / ``_c``), so the emitted Verilog shows
every compressor; synthesis may still restructure them. Mutation tests swap
:attr:`BitMatrix.full_adder` for a wrong one.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Signal

__all__ = ["BitMatrix", "dadda_heights", "full_adder", "half_adder"]


def full_adder(a, b, c):
    """A 3:2 compressor: ``(a ^ b ^ c, majority(a, b, c))``, sum and carry (weight 2)."""
    return a ^ b ^ c, (a & b) | (a & c) | (b & c)


def half_adder(a, b):
    """A 2:2 compressor: ``(a ^ b, a & b)``."""
    return a ^ b, a & b


def dadda_heights(height: int) -> list[int]:
    """Dadda's column-height targets below ``height``, largest first, ending with 2.

    ``d_1 = 2``, ``d_{j+1} = floor(1.5 d_j)``: 2, 3, 4, 6, 9, 13, 19, 28, 42, 63, ...
    """
    heights = [2]
    while heights[-1] * 3 // 2 < height:
        heights.append(heights[-1] * 3 // 2)
    return [d for d in reversed(heights) if d < height] or [2]


class BitMatrix:
    """The operands of one sum as bit columns and a constant, modulo ``2**width``.

    Parameters
    ----------
    width : int
        Width of the result; bits of weight ``2**width`` and above are dropped.

    Attributes
    ----------
    columns : list of list
        ``columns[k]``: one-bit Amaranth values of weight ``2**k``.
    constant : int
        Sum of the constant operands (any integer; reduced modulo ``2**width`` at the end).
    """

    #: The 3:2 compressor; mutation tests swap it.
    full_adder = staticmethod(full_adder)
    #: The 2:2 compressor.
    half_adder = staticmethod(half_adder)

    def __init__(self, width: int):
        if width < 1:
            raise ValueError(f"a BitMatrix needs a width of at least 1, not {width}")
        self.width = width
        self.columns = [[] for _ in range(width)]
        self.constant = 0

    def add_bit(self, bit, weight: int = 0) -> None:
        """Add one bit of weight ``2**weight`` (dropped if ``weight >= width``)."""
        if weight < self.width:
            self.columns[weight].append(bit)

    def add_unsigned(self, value, shift: int = 0) -> None:
        """Add every bit of ``value`` read unsigned, times ``2**shift``."""
        for k in range(len(value)):
            self.add_bit(value[k], shift + k)

    def add_signed(self, value, shift: int = 0) -> None:
        """Add ``value`` read as two's complement, times ``2**shift`` (sign-extension trick)."""
        top = len(value) - 1
        for k in range(top):
            self.add_bit(value[k], shift + k)
        self.add_bit(~value[top], shift + top)
        self.constant -= 1 << (shift + top)

    def add_constant(self, value: int) -> None:
        """Add an integer constant."""
        self.constant += value

    @property
    def height(self) -> int:
        """Bits in the tallest column (the constant's bits not counted)."""
        return max(len(column) for column in self.columns)

    def _with_constant(self):
        columns = [list(column) for column in self.columns]
        constant = self.constant % (1 << self.width)
        for k in range(self.width):
            if constant >> k & 1:
                columns[k].append(Const(1, 1))
        return columns

    @property
    def levels(self) -> int:
        """Compressor levels :meth:`reduce` builds (Dadda stages down to height 2)."""
        height = max(len(column) for column in self._with_constant())
        return len(dadda_heights(height)) if height > 2 else 0

    def reduce(self, m, name: str = "csa", stage=None):
        """Build the compressor tree and the final adder in ``m``; return the sum, ``width``
        bits unsigned (the caller reads it signed where the sum is signed).

        Adds the constant's set bits as ``1`` bits first; a ``1`` entering a compressor is
        simplified away by synthesis. ``stage(boundary, columns) -> columns``, if given, is
        called before compressor level ``boundary - 1`` and, with ``boundary == levels + 1``,
        before the final adder; it may return registered copies of the bits (pipelining).
        """
        columns = self._with_constant()
        height = max(len(column) for column in columns)
        level = 0
        for target in (dadda_heights(height) if height > 2 else []):
            if stage is not None:
                columns = stage(level + 1, columns)
            columns = self._reduce_to(m, columns, target, f"{name}_l{level}")
            level += 1
        if stage is not None:
            columns = stage(level + 1, columns)
        rows = [[], []]
        for k, column in enumerate(columns):
            assert len(column) <= 2, (k, len(column))
            for r in range(2):
                rows[r].append(column[r] if r < len(column) else Const(0, 1))
        total = Signal(self.width, name=f"{name}_sum")
        m.d.comb += total.eq(Cat(*rows[0]) + Cat(*rows[1]))
        return total

    def _reduce_to(self, m, columns, target, prefix):
        """One Dadda stage: every column to at most ``target`` bits."""
        out = [[] for _ in columns]
        carries = 0  # carries entering column k from column k - 1 in this stage
        for k, column in enumerate(columns):
            bits = list(column)
            height = len(bits) + carries  # this column's height after the stage, so far
            j = 0
            next_carries = 0
            while height > target and len(bits) >= 2:
                if height - target >= 2 and len(bits) >= 3:
                    s, c = self.full_adder(bits[0], bits[1], bits[2])
                    bits = bits[3:]
                    kind = "fa"
                    height -= 2
                else:
                    s, c = self.half_adder(bits[0], bits[1])
                    bits = bits[2:]
                    kind = "ha"
                    height -= 1
                s_sig = Signal(name=f"{prefix}_k{k}_{kind}{j}_s")
                c_sig = Signal(name=f"{prefix}_k{k}_{kind}{j}_c")
                m.d.comb += [s_sig.eq(s), c_sig.eq(c)]
                out[k].append(s_sig)
                if k + 1 < len(columns):
                    out[k + 1].append(c_sig)
                    next_carries += 1
                j += 1
            out[k].extend(bits)
            carries = next_carries
        return out
