"""Design parameters and the widths derived from them.

A :class:`KernelSpec` names one design (neuron family, kernel shape, channels, outputs, widths). It
is pure Python on purpose: the Amaranth hardware, the PyTorch golden model, the testbenches and the
reports all read the derived widths (cell range, accumulator width, latency) from the same object,
so they cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from . import neurons
from .errors import SpecError

__all__ = [
    "NEURONS",
    "MIN_WIDTH",
    "MAX_WIDTH",
    "MAX_KERNEL_SIDE",
    "MAX_CHANNELS",
    "MAX_OUTPUTS",
    "SpecError",
    "KernelSpec",
    "parse_kernel",
    "signed_width",
]

#: Built-in neuron families (:mod:`tn_hw.neurons`; a registered plugin family is valid too).
NEURONS = neurons.BUILTIN_NAMES

MIN_WIDTH = 2
MAX_WIDTH = 32
MAX_KERNEL_SIDE = 15
MAX_CHANNELS = 1024
MAX_OUTPUTS = 1024
MAX_BIAS_WIDTH = 64


def _check_mask(name, mask, outputs, n_inputs):
    """Normalize a keep mask to a tuple of tuples of 0/1 (hashable), or ``None`` if dense."""
    if mask is None:
        return None
    try:
        rows = [list(row) for row in mask]
    except TypeError:
        raise SpecError(f"{name} must be a list of {outputs} rows of {n_inputs} zeros and "
                        f"ones (outputs x inputs)") from None
    if len(rows) != outputs or any(len(row) != n_inputs for row in rows):
        got = f"{len(rows)} x {'/'.join(sorted({str(len(r)) for r in rows})) or 0}"
        raise SpecError(f"{name} must have {outputs} rows of {n_inputs} entries "
                        f"(outputs x inputs), not {got}")
    for o, row in enumerate(rows):
        for i, value in enumerate(row):
            if isinstance(value, bool) or value not in (0, 1) or not isinstance(value, int):
                raise SpecError(f"{name} entries must be 0 or 1, not {value!r} "
                                f"(output {o}, input {i})")
        if not any(row):
            side = "min" if name == "mask_min" else "max"
            raise SpecError(f"output {o} keeps no input on the {side} side: a SAM neuron needs "
                            f"at least one connection per side")
    normalized = tuple(tuple(row) for row in rows)
    return None if all(all(row) for row in normalized) else normalized


def signed_width(lo: int, hi: int) -> int:
    """Smallest two's-complement width that holds every integer in ``[lo, hi]``.

    >>> signed_width(-8, 7), signed_width(0, 8), signed_width(-9, 0)
    (4, 5, 5)
    """
    if lo > hi:
        raise ValueError(f"empty range [{lo}, {hi}]")
    width = 1
    while not (-(1 << (width - 1)) <= lo and hi <= (1 << (width - 1)) - 1):
        width += 1
    return width


def _check_int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise SpecError(f"{name} must be an integer from {lo} to {hi}, not {value!r}")
    return value


_KERNEL_RE = re.compile(r"^\s*(\d+)\s*[xX*]\s*(\d+)\s*$|^\s*(\d+)\s*$")


def parse_kernel(text: str) -> tuple[int, int]:
    """Parse ``"3x3"`` (or ``"3"``, meaning 3x3) into ``(rows, cols)``.

    Raises
    ------
    SpecError
        If the text is not of the form ``RxC`` with integer sides from 1 to
        :data:`MAX_KERNEL_SIDE`.
    """
    match = _KERNEL_RE.match(str(text))
    if not match:
        raise SpecError(f"kernel must look like 3x3 (rows x columns), not {text!r}")
    # A side of more than 4300 digits is a ValueError for int(); no side that long is legal.
    if any(len(group) > 9 for group in match.groups() if group):
        rows = cols = 0
    elif match.group(3) is not None:
        rows = cols = int(match.group(3))
    else:
        rows, cols = int(match.group(1)), int(match.group(2))
    for side in (rows, cols):
        if not 1 <= side <= MAX_KERNEL_SIDE:
            raise SpecError(
                f"kernel sides must be integers from 1 to {MAX_KERNEL_SIDE}, not {text!r}"
            )
    return rows, cols


@dataclass(frozen=True)
class KernelSpec:
    """One neuron design: a kernel (``outputs == 1``) or a layer of ``outputs`` kernels.

    Every kernel sees ``n_inputs = rows * cols * channels`` inputs; input ``i`` is the flattened
    index ``(c * rows + r) * cols + k`` of channel ``c``, row ``r``, column ``k``. A layer's
    kernels all share one input vector (a fully-connected layer ``n_inputs -> outputs``).

    Parameters
    ----------
    neuron : str
        ``"threshold"`` (compare-and-subtract with polarity), ``"mac"`` (multiply-accumulate
        baseline), ``"sam"`` (sum-and-max, no bias) or ``"adder"`` (``bias - sum |x - w|``).
    kernel : tuple of int
        ``(rows, cols)``, each from 1 to :data:`MAX_KERNEL_SIDE`.
    channels : int
        Input channels per kernel.
    outputs : int
        Kernels in the layer; 1 makes a single kernel.
    width : int
        Width ``W`` of inputs and thresholds/weights, signed two's complement, 2 to 32.
    bias_width : int or None
        Width of the signed bias. ``None`` picks :attr:`sum_width`, so that the bias can take any
        value the sum of the cells can. The SAM neuron has no bias (it stays ``None``).
    mask : sequence of sequences of 0/1, or None
        SAM only: keep mask of the max side, ``outputs`` rows of ``n_inputs`` entries; ``None``
        (or all ones) is dense. Stored as a tuple of tuples, so the spec stays hashable.
    mask_min : sequence of sequences of 0/1, or None
        SAM only: keep mask of the min side; ``None`` means the same as ``mask``.
    stages : int
        Register stages inserted in the summation tree, 0 (combinational) to
        :attr:`max_stages`; the design then has a clock and :attr:`latency` is ``stages``
        cycles. Where the registers go: :mod:`tn_hw.hdl.pipeline`.
    arch : str
        Micro-architecture of the kernel, one of the family's
        :attr:`~tn_hw.neurons.NeuronFamily.architectures`; default ``"tree"``
        (:data:`tn_hw.neurons.DEFAULT_ARCH`). Every architecture computes the same integers.
    cuts : tuple of int or None
        Explicit register boundaries (``stages`` of them, increasing, 1 to :attr:`max_stages`)
        instead of those of the unit-delay model (:func:`tn_hw.hdl.pipeline.cut_points`); e.g.
        from delays measured with the sky130 liberty (:mod:`tn_hw.synth.sky130.cuts`). ``None``
        (default) keeps the unit-delay placement; the top name gets ``_c<b1>_<b2>...`` otherwise.

    Raises
    ------
    SpecError
        If a parameter is out of range.
    """

    neuron: str = "threshold"
    kernel: tuple[int, int] = (3, 3)
    channels: int = 1
    outputs: int = 1
    width: int = 8
    bias_width: int | None = None
    mask: tuple | None = None
    mask_min: tuple | None = None
    stages: int = 0
    arch: str = neurons.DEFAULT_ARCH
    cuts: tuple | None = None

    def __post_init__(self):
        if not neurons.is_family(self.neuron):
            raise SpecError(
                f"neuron must be one of {', '.join(neurons.names())}, not {self.neuron!r}"
            )
        if (not isinstance(self.kernel, tuple) or len(self.kernel) != 2):
            raise SpecError(f"kernel must be a (rows, cols) tuple, not {self.kernel!r}")
        for side in self.kernel:
            _check_int("kernel sides", side, 1, MAX_KERNEL_SIDE)
        _check_int("channels", self.channels, 1, MAX_CHANNELS)
        _check_int("outputs", self.outputs, 1, MAX_OUTPUTS)
        _check_int("width", self.width, MIN_WIDTH, MAX_WIDTH)
        if not self.family.has_mask and (self.mask is not None or self.mask_min is not None):
            masked = " or ".join(n for n in neurons.names() if neurons.get(n).has_mask)
            raise SpecError(f"a keep mask is only supported by the {masked} neuron, not "
                            f"{self.neuron!r}")
        mask = _check_mask("mask", self.mask, self.outputs, self.n_inputs)
        mask_min = _check_mask("mask_min", self.mask_min, self.outputs, self.n_inputs)
        if self.mask_min is not None and mask_min is None and mask is not None:
            mask_min = tuple(tuple(1 for _ in range(self.n_inputs)) for _ in range(self.outputs))
        if mask_min == mask:
            mask_min = None
        object.__setattr__(self, "mask", mask)
        object.__setattr__(self, "mask_min", mask_min)
        _check_int("stages", self.stages, 0, self.max_stages)
        if self.arch not in self.family.architectures:
            raise SpecError(f"arch must be one of {', '.join(self.family.architectures)} for the "
                            f"{self.neuron} neuron, not {self.arch!r}")
        if self.cuts is not None:
            if self.arch != neurons.DEFAULT_ARCH:
                raise SpecError(f"cuts place registers between the operations of the "
                                f"{neurons.DEFAULT_ARCH} architecture; the {self.arch} "
                                f"architecture places its own")
            cuts = tuple(self.cuts)
            if (len(cuts) != self.stages or list(cuts) != sorted(set(cuts))
                    or any(isinstance(c, bool) or not isinstance(c, int)
                           or not 1 <= c <= self.max_stages for c in cuts)):
                raise SpecError(f"cuts must be {self.stages} increasing boundaries from 1 to "
                                f"{self.max_stages}, not {self.cuts!r}")
            object.__setattr__(self, "cuts", cuts)
        if not self.has_bias:
            if self.bias_width is not None:
                raise SpecError(f"the {self.neuron} neuron has no bias; leave bias width unset")
            return
        if self.bias_width is None:
            bias_width = self.sum_width
        else:
            bias_width = _check_int("bias width", self.bias_width, 1, MAX_BIAS_WIDTH)
        # Resolved once, so that every reader sees the same integer.
        object.__setattr__(self, "bias_width", bias_width)

    @classmethod
    def from_description(cls, params: dict) -> KernelSpec:
        """Rebuild a spec from :meth:`describe` output (e.g. a manifest's ``parameters``)."""
        return cls(neuron=params["neuron"], kernel=tuple(params["kernel"]),
                   channels=params["channels"], outputs=params["outputs"],
                   width=params["width"], bias_width=params["bias_width"],
                   mask=params.get("mask"), mask_min=params.get("mask_min"),
                   stages=params.get("stages", 0),
                   arch=params.get("arch", neurons.DEFAULT_ARCH),
                   cuts=None if params.get("cuts") is None else tuple(params["cuts"]))

    # -- names -------------------------------------------------------------------------------

    @property
    def family(self) -> neurons.NeuronFamily:
        """The neuron family's registry entry (:mod:`tn_hw.neurons`)."""
        return neurons.get(self.neuron)

    @property
    def kernel_text(self) -> str:
        """Kernel shape as the command line writes it, e.g. ``"3x3"``."""
        return f"{self.kernel[0]}x{self.kernel[1]}"

    @property
    def top_name(self) -> str:
        """Verilog name of the top module, unique per parameter set."""
        name = f"tn_{self.neuron}_k{self.kernel_text}"
        if self.channels > 1:
            name += f"x{self.channels}"
        if self.outputs > 1:
            name += f"_o{self.outputs}"
        name += f"_w{self.width}"
        if self.has_bias and self.bias_width != self.sum_width:
            name += f"_b{self.bias_width}"
        if self.is_sparse:
            text = json.dumps([self.mask, self.mask_min], separators=(",", ":"))
            name += "_m" + hashlib.sha256(text.encode()).hexdigest()[:8]
        if self.stages:
            name += f"_s{self.stages}"
        if self.arch != neurons.DEFAULT_ARCH:
            name += "_" + re.sub(r"\W", "_", self.arch)
        if self.cuts is not None:
            name += "_c" + "_".join(map(str, self.cuts))
        return name

    # -- pruning (SAM) -------------------------------------------------------------------------

    @property
    def has_bias(self) -> bool:
        """Whether the neuron has a bias port (every built-in family but SAM)."""
        return self.family.has_bias

    @property
    def is_sparse(self) -> bool:
        """Whether a mask prunes any connection."""
        return self.mask is not None or self.mask_min is not None

    def _keep(self, mask):
        if mask is None:
            return tuple(tuple(1 for _ in range(self.n_inputs)) for _ in range(self.outputs))
        return mask

    @property
    def keep_max(self) -> tuple:
        """Keep mask of the max side, ``outputs x n_inputs`` of 0/1, dense expanded."""
        return self._keep(self.mask)

    @property
    def keep_min(self) -> tuple:
        """Keep mask of the min side (``mask_min``, else ``mask``), dense expanded."""
        return self._keep(self.mask_min if self.mask_min is not None else self.mask)

    @property
    def connections_max(self) -> tuple:
        """Kept ``(output, input)`` pairs of the max side, row-major: ``wp[k]`` is pair ``k``."""
        return tuple((o, i) for o, row in enumerate(self.keep_max) for i, v in enumerate(row)
                     if v)

    @property
    def connections_min(self) -> tuple:
        """Kept ``(output, input)`` pairs of the min side, row-major: ``wm[k]`` is pair ``k``."""
        return tuple((o, i) for o, row in enumerate(self.keep_min) for i, v in enumerate(row)
                     if v)

    # -- derived sizes and ranges --------------------------------------------------------------

    @property
    def n_inputs(self) -> int:
        """Inputs (and cells) per kernel: ``rows * cols * channels``."""
        return self.kernel[0] * self.kernel[1] * self.channels

    @property
    def input_range(self) -> tuple[int, int]:
        """Range of an input ``x`` and of a threshold/weight ``w``."""
        return -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1

    @property
    def cell_range(self) -> tuple[int, int]:
        """Range of one cell's signed contribution to the sum.

        Threshold: ``r = x - w`` when ``x > w`` lies in ``[1, 2**W - 1]``, so ``+-r`` lies in
        ``[-(2**W - 1), 2**W - 1]``. MAC: the product of two ``W``-bit numbers lies in
        ``[-2**(W-1) * (2**(W-1) - 1), 2**(2W-2)]``. SAM: the sum ``x + w`` lies in
        ``[-2**W, 2**W - 2]``. Adder: ``-|x - w|`` lies in ``[-(2**W - 1), 0]``.
        """
        return self.family.cell_range(*self.input_range)

    @property
    def cell_width(self) -> int:
        """Signed width of one cell's output ``y``."""
        return signed_width(*self.cell_range)

    @property
    def sum_range(self) -> tuple[int, int]:
        """Range of the sum of all cells of one kernel, bias excluded (SAM: of ``max + min``)."""
        return self.family.sum_range(*self.cell_range, self.n_inputs)

    @property
    def sum_width(self) -> int:
        """Signed width of the sum of all cells of one kernel."""
        return signed_width(*self.sum_range)

    @property
    def bias_range(self) -> tuple[int, int]:
        """Range of the signed bias; ``(0, 0)`` for a neuron without one."""
        if not self.has_bias:
            return 0, 0
        return -(1 << (self.bias_width - 1)), (1 << (self.bias_width - 1)) - 1

    @property
    def output_range(self) -> tuple[int, int]:
        """Range of a kernel output ``y = bias + sum``: every value in it is reachable."""
        (slo, shi), (blo, bhi) = self.sum_range, self.bias_range
        return slo + blo, shi + bhi

    @property
    def output_width(self) -> int:
        """Signed width of the accumulator and of each output ``y``; no input overflows it."""
        return signed_width(*self.output_range)

    # -- pipelining -----------------------------------------------------------------------------

    @property
    def tree_leaves(self) -> int:
        """Terms at the bottom of the summation tree of one kernel: its ``n_inputs`` cells.

        SAM: the same count for both compare-and-select trees, pruned or not (a pruned tree
        passes its result through the levels it does not need), so a mask never changes the
        depth, the stages a design takes, or its latency.
        """
        return self.n_inputs

    @property
    def tree_depth(self) -> int:
        """Levels of two-input adders (SAM: compare-and-select) of the summation tree:
        ``ceil(log2(tree_leaves))``."""
        return (self.tree_leaves - 1).bit_length()

    @property
    def max_stages(self) -> int:
        """Most register stages a kernel takes: one per boundary between its operations.

        The datapath is ``tree_depth + 2`` operations in a row (the cells, each tree level, the
        final bias addition; SAM: ``max + min``), so it has ``tree_depth + 1`` boundaries.
        """
        return self.tree_depth + 1

    @property
    def latency(self) -> int:
        """Clock cycles from input to output: ``stages``; 0 means combinational."""
        return self.stages

    def describe(self) -> dict:
        """Parameters and derived widths as plain data (for manifests and reports)."""
        return {
            "neuron": self.neuron,
            "kernel": list(self.kernel),
            "channels": self.channels,
            "outputs": self.outputs,
            "width": self.width,
            "bias_width": self.bias_width,
            "n_inputs": self.n_inputs,
            "cell_width": self.cell_width,
            "cell_range": list(self.cell_range),
            "sum_width": self.sum_width,
            "output_width": self.output_width,
            "output_range": list(self.output_range),
            "stages": self.stages,
            "latency": self.latency,
            "arch": self.arch,
            **({"cuts": list(self.cuts)} if self.cuts is not None else {}),
        } | ({"mask": _as_lists(self.mask), "mask_min": _as_lists(self.mask_min),
              "kept_max": len(self.connections_max), "kept_min": len(self.connections_min)}
             if self.family.has_mask else {})


def _as_lists(mask):
    return None if mask is None else [list(row) for row in mask]
