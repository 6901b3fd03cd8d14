"""The threshold neuron of arXiv 2412.13902: ``y = bias + sum_i +-max(x_i - w_i, 0)``."""

from __future__ import annotations

from . import DEFAULT_ARCH, DEFAULT_ARCHITECTURES, NeuronFamily, register

__all__ = ["FAMILY"]


def cell_range(lo: int, hi: int) -> tuple[int, int]:
    """``r = x - w`` when ``x > w`` lies in ``[1, 2**W - 1]``, so ``+-r`` lies in
    ``[-(2**W - 1), 2**W - 1]``."""
    top = hi - lo
    return -top, top


def make_cell(width: int):
    from ..hdl.cell import ThresholdCell

    return ThresholdCell(width=width)


def make_kernel(spec):
    from ..hdl.arch import make_kernel

    return make_kernel(spec)


def make_layer(spec):
    from ..hdl.arch import make_layer

    return make_layer(spec)


def golden_cell(x, w, p):
    from .. import reference

    return reference.cell("threshold", x, w, p)


def golden_cell_outputs(x, w, p):
    from .. import reference

    return {"r": reference.threshold_magnitude(x, w),
            "c": reference.threshold_ones_complement(x, w, p)}


def golden(spec, kind, t):
    from .. import reference

    x, w, p = t["x"], t["w"], t.get("p")
    if kind == "cell":
        return {"y": golden_cell(x, w, p)} | golden_cell_outputs(x, w, p)
    if kind == "kernel":
        return {"y": reference.kernel("threshold", x, w, p, t["bias"])}
    return {"y": reference.layer("threshold", x, w, p, t["bias"])}


FAMILY = register(NeuronFamily(
    name="threshold",
    summary="compare-and-subtract with polarity (arXiv 2412.13902)",
    cell_range=cell_range,
    make_cell=make_cell,
    make_kernel=make_kernel,
    make_layer=make_layer,
    golden_cell=golden_cell,
    golden_cell_outputs=golden_cell_outputs,
    golden=golden,
    meanings={
        "w": "threshold, signed two's complement",
        "y": "output: bias + sum of +-max(x - w, 0), signed, exact (cannot overflow)",
        "cell_y": "cell output +-max(x - w, 0), signed",
        "r": "cell magnitude max(x - w, 0), unsigned",
    },
    has_polarity=True,
    # x - w, then the sign select; the final addition adds three operands (tree, inhibitory
    # count, constant): two levels.
    cell_delay=lambda width: 1,
    final_delay=2,
    cost_weight=lambda width: 2,
    conv=True,
    network=True,
    weight_noun="threshold",
    architectures={
        DEFAULT_ARCH: DEFAULT_ARCHITECTURES[DEFAULT_ARCH],
        "csa": "subtract-and-mask cells, all terms in one carry-save (Dadda) compressor tree "
               "with one final adder",
        "cmp-csa": "comparator cells masking x and ~w (no per-cell subtractor), all operands "
                   "in one carry-save compressor tree",
    },
))
