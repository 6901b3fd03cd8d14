"""The AdderNet-style (L1) neuron: ``y = bias - sum_i |x_i - w_i|``."""

from __future__ import annotations

from . import DEFAULT_ARCH, DEFAULT_ARCHITECTURES, NeuronFamily, register

__all__ = ["FAMILY"]


def cell_range(lo: int, hi: int) -> tuple[int, int]:
    """``-|x - w|`` lies in ``[-(2**W - 1), 0]``."""
    return -(hi - lo), 0


def make_cell(width: int):
    from ..hdl.adder import AdderCell

    return AdderCell(width=width)


def make_kernel(spec):
    from ..hdl.adder import AdderKernel
    from ..hdl.arch import make_kernel

    return make_kernel(spec, AdderKernel)


def make_layer(spec):
    from ..hdl.adder import AdderKernel, AdderLayer
    from ..hdl.arch import make_layer

    return make_layer(spec, AdderLayer, AdderKernel)


def golden_cell(x, w, p=None):
    from ..reference import adder

    return adder.adder_cell(x, w)


def golden(spec, kind, t):
    from ..reference import adder

    if kind == "cell":
        return {"y": adder.adder_cell(t["x"], t["w"]), "r": adder.adder_magnitude(t["x"], t["w"])}
    if kind == "kernel":
        return {"y": adder.adder_kernel(t["x"], t["w"], t["bias"])}
    return {"y": adder.adder_layer(t["x"], t["w"], t["bias"])}


FAMILY = register(NeuronFamily(
    name="adder",
    summary="AdderNet-style L1 neuron (Chen et al., CVPR 2020)",
    cell_range=cell_range,
    make_cell=make_cell,
    make_kernel=make_kernel,
    make_layer=make_layer,
    golden_cell=golden_cell,
    golden=golden,
    meanings={
        "w": "weight, signed two's complement",
        "y": "output: bias - sum of |x - w|, signed, exact (cannot overflow)",
        "cell_y": "cell output -|x - w|, signed",
        "r": "cell magnitude |x - w|, unsigned",
    },
    cell_delay=lambda width: 2,  # subtract, then negate
    architectures={
        DEFAULT_ARCH: DEFAULT_ARCHITECTURES[DEFAULT_ARCH],
        "csa": "-|x - w| in one's-complement form, all terms in one carry-save compressor "
               "tree with one final adder",
    },
    # A network layer is bias + sum of golden_cell (tn_hw.reference.integer.cell).
    network=True,
))
