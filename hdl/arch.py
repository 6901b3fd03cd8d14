"""Kernel micro-architectures beside the default balanced adder tree (``KernelSpec.arch``).

Every architecture computes the same integers as the ``tree`` kernel
(:class:`~tn_hw.hdl.kernel.Kernel`, :class:`~tn_hw.hdl.adder.AdderKernel`); only the circuit
differs. Each one puts all of a kernel's terms, the bias and the constants into one
:class:`~tn_hw.hdl.compress.BitMatrix` (a Dadda tree of full and half adders, one final
carry-propagate adder):

threshold ``csa``
    today's cells (``x - w``, masked by its sign, one's complement for inhibitory inputs); the
    tree takes ``c_i + 2**W`` (``W + 1`` bits each), every polarity bit ``p_i`` in column 0 (the
    ``+ 1`` of the one's complement, no separate counter), the bias and ``-N * 2**W``.
threshold ``cmp-csa``
    no per-cell subtractor: a comparator ``g = x > w`` masks the two operands of the
    difference, which go into the tree as they are. With ``xu``, ``wu`` the inputs offset to
    unsigned (sign bit inverted) and ``P`` the polarity replicated, ``g & (xu ^ P)`` and
    ``g & ~(wu ^ P)`` (``W`` bits each), the carry-in ``g`` in column 0 and ``~g`` in column
    ``W`` with the constant ``-2**W`` give ``x - w`` (``p = 0``) or ``w - x`` (``p = 1``) when
    ``g`` and 0 otherwise.
mac ``csa``
    each multiplier built out: radix-4 Booth digits of ``w`` (:class:`BoothCell`), its
    ``ceil(W / 2)`` partial products reduced by a compressor tree of its own and a final adder
    per product; the products and the bias then reduced by a second tree and one final adder.
mac ``merged``
    all Booth partial products of all inputs and the bias in ONE compressor tree with one
    final adder (what a dot-product generator builds): no per-product carry chain.
adder ``csa``
    each cell ``d = x - w`` (``W + 1`` bits) and ``-|d| = (d ^ ~S) + ~s`` (``s`` the sign of
    ``d``, ``S`` it replicated): the top bit of ``d ^ ~S`` is always 1, so a cell offers its
    ``W`` low bits, the bit ``~s`` and the constant ``-2**W``.

With ``spec.stages > 0`` every bit of the tree (terms, bias, the carries and sums of a level)
is registered at ``spec.stages`` of the boundaries between the cells, the compressor levels and
the final adder (:class:`ColumnStager`), placed by
:func:`~tn_hw.hdl.pipeline.best_cuts` over a gate-delay model
(:meth:`CompressorKernel.op_delays`); the latency is ``spec.stages`` cycles as for ``tree``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..spec import KernelSpec, SpecError
from .cell import ThresholdCell, check_width
from .compress import BitMatrix
from .kernel import Kernel
from .layer import Layer
from .pipeline import best_cuts

__all__ = ["AdderCsaKernel", "BoothCell", "ColumnStager", "CompressorKernel", "ThresholdCmpCell",
           "ThresholdCmpCsaKernel", "ThresholdCsaKernel", "MacCsaKernel", "MacMergedKernel",
           "AdderNegCell", "booth_digits", "kernel_class", "make_kernel", "make_layer"]


def booth_digits(width: int) -> int:
    """Radix-4 Booth digits of a ``width``-bit signed multiplier: ``ceil(width / 2)``."""
    return (width + 1) // 2


class BoothCell(wiring.Component):
    """The partial products of ``x * w``, radix-4 Booth encoded on ``w``, written out.

    Digit ``j`` reads ``w[2j+1], w[2j], w[2j-1]`` (``w[-1] = 0``, ``w`` sign-extended by one
    bit when ``W`` is odd) and is ``-2 w[2j+1] + w[2j] + w[2j-1]`` in ``{-2, ..., 2}``; it is
    encoded as ``neg = w[2j+1]``, ``one = w[2j] ^ w[2j-1]`` and ``two`` (the digit is +-2).
    Row ``j`` selects ``x`` (one) or ``2 x`` (two), ``W + 1`` bits with sign extension, and
    inverts it when ``neg``: ``x * w = sum_j 4**j * (pp[j] read signed + neg[j])``. A digit
    ``-0`` (``w`` bits ``111``) gives ``pp = -1``, ``neg = 1``: 0, as it must.

    Attributes
    ----------
    x, w : In(signed(W))
    pp : Out(unsigned(W + 1)).array(D)
        Row ``j``, two's complement, ``D = ceil(W / 2)``.
    neg : Out(D)
        Bit ``j``: row ``j`` is inverted and needs its ``+ 1`` (weight ``4**j``).
    """

    def __init__(self, *, width):
        self._width = check_width(width)
        digits = booth_digits(width)
        super().__init__({
            "x": In(signed(width)),
            "w": In(signed(width)),
            "pp": Out(unsigned(width + 1)).array(digits),
            "neg": Out(digits),
        })

    @property
    def width(self):
        return self._width

    def elaborate(self, platform):
        m = Module()
        width = self._width
        wbit = [self.w[min(k, width - 1)] for k in range(2 * booth_digits(width))]
        xbit = [self.x[min(k, width - 1)] for k in range(width + 1)]  # sign-extended
        for j in range(booth_digits(width)):
            hi, mid = wbit[2 * j + 1], wbit[2 * j]
            lo = wbit[2 * j - 1] if j else Const(0, 1)
            neg = Signal(name=f"neg{j}")
            one = Signal(name=f"one{j}")
            two = Signal(name=f"two{j}")
            m.d.comb += [
                neg.eq(hi),
                one.eq(mid ^ lo),
                two.eq((hi & ~mid & ~lo) | (~hi & mid & lo)),
                self.neg[j].eq(neg),
            ]
            bits = []
            for k in range(width + 1):
                pick = one & xbit[k]
                if k:
                    pick = pick | (two & xbit[k - 1])
                bits.append(pick ^ neg)
            m.d.comb += self.pp[j].eq(Cat(*bits))
        return m


def add_booth_rows(matrix: BitMatrix, cell: BoothCell) -> None:
    """Put the rows of ``cell`` (``4**j * (pp[j] signed + neg[j])``) into ``matrix``."""
    for j in range(len(cell.pp)):
        matrix.add_signed(cell.pp[j], 2 * j)
        matrix.add_bit(cell.neg[j], 2 * j)


class ThresholdCmpCell(wiring.Component):
    """A threshold input without a subtractor: the comparison masks the difference's operands.

    ``g = x > w``; ``a = g & (xu ^ P)``, ``b = g & ~(wu ^ P)`` (``xu``, ``wu``: ``x``, ``w``
    with the sign bit inverted, i.e. plus ``2**(W-1)``, unsigned; ``P``: ``p`` replicated), so
    that ``a + b + g - g * 2**W`` is ``+-(x - w)`` if ``x > w``, else 0 (the ``+ g`` is the
    carry-in of ``xu + ~wu + 1``; with ``p = 1`` the operands swap to ``wu + ~xu + 1``).

    Attributes
    ----------
    x, w : In(signed(W))
    p : In(1)
    a, b : Out(unsigned(W))
    g : Out(1)
    """

    def __init__(self, *, width):
        self._width = check_width(width)
        super().__init__({
            "x": In(signed(width)),
            "w": In(signed(width)),
            "p": In(1),
            "a": Out(unsigned(width)),
            "b": Out(unsigned(width)),
            "g": Out(1),
        })

    @property
    def width(self):
        return self._width

    def elaborate(self, platform):
        m = Module()
        width = self._width
        top = 1 << (width - 1)
        xu = Signal(width)
        wu = Signal(width)
        flip = self.p.replicate(width)
        gate = self.g.replicate(width)
        m.d.comb += [
            xu.eq(self.x.as_unsigned() ^ top),
            wu.eq(self.w.as_unsigned() ^ top),
            self.g.eq(self.x > self.w),
            self.a.eq(gate & (xu ^ flip)),
            self.b.eq(gate & ~(wu ^ flip)),
        ]
        return m


class AdderNegCell(wiring.Component):
    """An adder-neuron input for a compressor tree: ``-|x - w| = t + n - 2**W``.

    ``d = x - w`` (``W + 1`` bits), ``s`` its sign: ``t = d[:W] ^ ~S`` (``S`` = ``s``
    replicated) and ``n = ~s``. For ``d < 0`` that is ``d``; else ``~d + 1 = -d``.

    Attributes
    ----------
    x, w : In(signed(W))
    t : Out(unsigned(W))
    n : Out(1)
    """

    def __init__(self, *, width):
        self._width = check_width(width)
        super().__init__({
            "x": In(signed(width)),
            "w": In(signed(width)),
            "t": Out(unsigned(width)),
            "n": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        width = self._width
        diff = Signal(signed(width + 1))
        m.d.comb += [
            diff.eq(self.x - self.w),
            self.n.eq(~diff[width]),
            self.t.eq(diff[:width] ^ self.n.replicate(width)),
        ]
        return m


class ColumnStager:
    """Registers every bit of a :class:`~tn_hw.hdl.compress.BitMatrix` at the chosen
    boundaries (constant bits stay constants); the ``stage`` callback of
    :meth:`~tn_hw.hdl.compress.BitMatrix.reduce`. Register ``i`` of column ``k`` at the
    ``j``-th cut is ``stage{j}_k{k}_{i}``, without reset (as :class:`~tn_hw.hdl.pipeline.Stager`).
    """

    def __init__(self, m, cuts):
        self._m = m
        self.cuts = tuple(cuts)

    def __call__(self, boundary, columns):
        if boundary not in self.cuts:
            return columns
        j = self.cuts.index(boundary) + 1
        staged = []
        for k, column in enumerate(columns):
            staged.append([])
            for i, bit in enumerate(column):
                if isinstance(bit, Const):
                    staged[-1].append(bit)
                    continue
                reg = Signal(name=f"stage{j}_k{k}_{i}", reset_less=True)
                self._m.d.sync += reg.eq(bit)
                staged[-1].append(reg)
        return staged


class CompressorKernel(Kernel):
    """A kernel whose terms, bias and constants are summed by one compressor tree.

    Ports as :class:`~tn_hw.hdl.kernel.Kernel`. Subclasses build the cells in
    :meth:`add_terms`; mutation tests swap :attr:`matrix_class` or a cell.
    """

    #: The compressor tree (mutation tests swap its adders).
    matrix_class = BitMatrix

    def add_terms(self, m, matrix):
        """Build the cells in ``m`` and add their terms and constants to ``matrix``."""
        raise NotImplementedError

    def cell_delay(self, matrix) -> int:
        """Delay of the cells in gate delays (:func:`op_delays`)."""
        return self.spec.width + 3  # a W + 1-bit subtraction, then a mask or an XOR

    def op_delays(self, matrix) -> list[int]:
        """Estimated delay of each operation in gate delays: the cells, ``matrix.levels``
        compressor levels of 2 (a full adder's sum is two XORs deep), and the final ripple
        adder of ``output_width + 1`` (a carry per bit, a last XOR)."""
        return ([self.cell_delay(matrix)] + [2] * matrix.levels
                + [self.spec.output_width + 1])

    def cuts(self, matrix) -> tuple[int, ...]:
        """The boundaries that get a register (:func:`~tn_hw.hdl.pipeline.best_cuts` over
        :meth:`op_delays`): boundary ``b`` lies before operation ``b``."""
        delays = self.op_delays(matrix)
        if self.spec.stages > len(delays) - 1:
            raise SpecError(f"the {self.spec.arch} architecture of this kernel has "
                            f"{len(delays) - 1} places for a register, not {self.spec.stages}")
        return best_cuts(delays, self.spec.stages)

    def elaborate(self, platform):
        m = Module()
        matrix = self.matrix_class(self.spec.output_width)
        self.add_terms(m, matrix)
        matrix.add_signed(self.bias)
        stage = ColumnStager(m, self.cuts(matrix)) if self.spec.stages else None
        total = matrix.reduce(m, "csa", stage)
        m.d.comb += self.y.eq(total.as_signed())
        return m

    def _cells(self, m, make):
        cells = []
        for i in range(self.spec.n_inputs):
            cell = m.submodules[f"cell{i}"] = make(i)
            m.d.comb += [cell.x.eq(self.x[i]), cell.w.eq(self.w[i])]
            if self.has_polarity:
                m.d.comb += cell.p.eq(self.p[i])
            cells.append(cell)
        return cells


class ThresholdCsaKernel(CompressorKernel):
    """Threshold ``csa``: today's cells, one compressor tree (module docstring)."""

    def make_cell(self, index):
        return ThresholdCell(width=self.spec.width)

    def add_terms(self, m, matrix):
        width = self.spec.width
        for cell in self._cells(m, self.make_cell):
            matrix.add_unsigned(Cat(cell.c[:width], ~cell.c[width]))  # c + 2**W
            matrix.add_bit(cell.p)
        matrix.add_constant(-self.spec.n_inputs << width)


class ThresholdCmpCsaKernel(CompressorKernel):
    """Threshold ``cmp-csa``: comparator-masked operands into one tree (module docstring)."""

    def cell_delay(self, matrix):
        return self.spec.width + 2  # the comparator's carry chain, then a mask and an XOR

    def make_cell(self, index):
        return ThresholdCmpCell(width=self.spec.width)

    def add_terms(self, m, matrix):
        width = self.spec.width
        for cell in self._cells(m, self.make_cell):
            matrix.add_unsigned(cell.a)
            matrix.add_unsigned(cell.b)
            matrix.add_bit(cell.g)
            matrix.add_bit(~cell.g, width)
        matrix.add_constant(-self.spec.n_inputs << width)


class MacCsaKernel(CompressorKernel):
    """MAC ``csa``: a Booth multiplier per input (own tree and adder), products in one tree."""

    def cell_delay(self, matrix):
        # Booth encoding and row selection, the multiplier's own levels, its 2W-bit adder.
        return 4 + 2 * self._product_levels + 2 * self.spec.width + 1

    def make_cell(self, index):
        return BoothCell(width=self.spec.width)

    def add_terms(self, m, matrix):
        width = self.spec.width
        for i, cell in enumerate(self._cells(m, self.make_cell)):
            product = BitMatrix(2 * width)
            product.full_adder = self.matrix_class.full_adder
            add_booth_rows(product, cell)
            self._product_levels = product.levels
            matrix.add_signed(product.reduce(m, f"mul{i}"))


class MacMergedKernel(CompressorKernel):
    """MAC ``merged``: every Booth partial product and the bias in one tree."""

    def cell_delay(self, matrix):
        return 4  # Booth encoding, then row selection and inversion

    def make_cell(self, index):
        return BoothCell(width=self.spec.width)

    def add_terms(self, m, matrix):
        for cell in self._cells(m, self.make_cell):
            add_booth_rows(matrix, cell)


class AdderCsaKernel(CompressorKernel):
    """Adder ``csa``: ``-|x - w|`` in one's-complement form into one tree."""

    def make_cell(self, index):
        return AdderNegCell(width=self.spec.width)

    def add_terms(self, m, matrix):
        width = self.spec.width
        for cell in self._cells(m, self.make_cell):
            matrix.add_unsigned(cell.t)
            matrix.add_bit(cell.n)
        matrix.add_constant(-self.spec.n_inputs << width)


_KERNELS = {
    ("threshold", "csa"): ThresholdCsaKernel,
    ("threshold", "cmp-csa"): ThresholdCmpCsaKernel,
    ("mac", "csa"): MacCsaKernel,
    ("mac", "merged"): MacMergedKernel,
    ("adder", "csa"): AdderCsaKernel,
}


def kernel_class(spec: KernelSpec, default):
    """The kernel class of ``spec.arch`` (``default`` for the family's ``tree``)."""
    if spec.arch == "tree":
        return default
    try:
        return _KERNELS[spec.neuron, spec.arch]
    except KeyError:
        raise SpecError(f"no {spec.arch!r} architecture for the {spec.neuron} neuron") from None


def make_kernel(spec: KernelSpec, default=Kernel):
    """The kernel of ``spec`` in its architecture."""
    return kernel_class(spec, default)(spec)


def make_layer(spec: KernelSpec, default=Layer, default_kernel=Kernel):
    """The layer of ``spec``: ``default`` with the architecture's kernel in every output."""
    layer = default(spec)
    layer.kernel_class = kernel_class(spec, default_kernel)
    return layer
