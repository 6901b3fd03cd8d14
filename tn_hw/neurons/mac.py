"""The multiply-accumulate baseline: ``y = bias + sum_i x_i * w_i``."""

from __future__ import annotations

from . import DEFAULT_ARCH, NeuronFamily, register

__all__ = ["FAMILY"]


def cell_range(lo: int, hi: int) -> tuple[int, int]:
    """The product of two ``W``-bit numbers lies in ``[-2**(W-1) * (2**(W-1) - 1), 2**(2W-2)]``."""
    return lo * hi, lo * lo


def make_cell(width: int):
    from ..hdl.mac import MacCell

    return MacCell(width=width)


def make_kernel(spec):
    from ..hdl.arch import make_kernel

    return make_kernel(spec)


def make_layer(spec):
    from ..hdl.arch import make_layer

    return make_layer(spec)


def golden_cell(x, w, p=None):
    from .. import reference

    return reference.cell("mac", x, w, p)


def golden(spec, kind, t):
    from .. import reference

    x, w, p = t["x"], t["w"], t.get("p")
    if kind == "cell":
        return {"y": golden_cell(x, w, p)}
    if kind == "kernel":
        return {"y": reference.kernel("mac", x, w, p, t["bias"])}
    return {"y": reference.layer("mac", x, w, p, t["bias"])}


FAMILY = register(NeuronFamily(
    name="mac",
    summary="multiply-accumulate baseline",
    cell_range=cell_range,
    make_cell=make_cell,
    make_kernel=make_kernel,
    make_layer=make_layer,
    golden_cell=golden_cell,
    golden=golden,
    meanings={
        "w": "weight, signed two's complement",
        "y": "output: bias + sum of x * w, signed, exact (cannot overflow)",
        "cell_y": "product x * w, signed",
    },
    # A Booth multiplier reduces W / 2 partial products in a tree, then adds once.
    cell_delay=lambda width: (width - 1).bit_length() + 1,
    cost_weight=lambda width: width,
    conv=True,
    network=True,
    architectures={
        DEFAULT_ARCH: "x * w cells (synthesis builds the multipliers) summed by a balanced "
                      "binary tree of adders",
        "csa": "radix-4 Booth multipliers written out, each with its own compressor tree and "
               "adder; products and bias in one compressor tree",
        "merged": "all Booth partial products of all inputs and the bias in one compressor "
                  "tree with one final adder",
    },
))
